//! Browser sessions: server-side rows keyed by the SHA-256 of a random cookie value.

pub mod store;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;

use crate::crypto;
use crate::db::{self, DbError, DbPool};

pub use store::Session;

/// Cookie names; `__Host-` (Secure, host-only, path /) when the issuer is https.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-porta_session"
    } else {
        "porta_session"
    }
}

/// Builds the session cookie: HttpOnly, SameSite=Lax, Secure on https.
pub fn session_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(session_cookie_name(secure), value)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish()
}

/// A cookie that deletes the session cookie.
pub fn clear_session_cookie(secure: bool) -> Cookie<'static> {
    let mut c = session_cookie(String::new(), secure);
    c.make_removal();
    c
}

/// Loads the browser's current session, if any and still valid.
pub async fn current(
    pool: &DbPool,
    req: &HttpRequest,
    secure: bool,
) -> Result<Option<Session>, DbError> {
    let Some(cookie) = req.cookie(session_cookie_name(secure)) else {
        return Ok(None);
    };
    let hash = crypto::hash_secret(cookie.value());
    db::run(pool, move |conn| {
        let now = crate::time::now();
        let found = store::find_valid(conn, &hash, now)?;
        if let Some(s) = &found {
            // "Last seen" for the session list, written at most once a minute.
            if now - s.last_seen_at >= 60 {
                store::touch(conn, &hash, now)?;
            }
        }
        Ok(found)
    })
    .await
}

/// Starts a new session for `user_id` (a fresh id at every sign-in, so a planted cookie
/// is never promoted) and ends `previous` if there was one. Returns the cookie value and
/// the sign-in time.
pub async fn start(
    pool: &DbPool,
    user_id: String,
    amr: Vec<String>,
    ttl: i64,
    origin: &crate::audit::Origin,
    previous: Option<String>,
) -> Result<(String, i64), DbError> {
    let token = crypto::random_token(32);
    let now = crate::time::now();
    let session = Session {
        id_hash: crypto::hash_secret(&token),
        user_id,
        auth_time: now,
        amr: amr.join(" "),
        created_at: now,
        last_seen_at: now,
        expires_at: now + ttl,
        user_agent: origin.user_agent.clone(),
        ip: origin.ip.clone(),
    };
    db::run(pool, move |conn| {
        if let Some(prev) = previous {
            store::delete(conn, &crypto::hash_secret(&prev))?;
        }
        store::insert(conn, &session)?;
        Ok(())
    })
    .await?;
    Ok((token, now))
}

/// Ends the session whose cookie value is `token`.
pub async fn end(pool: &DbPool, token: String) -> Result<(), DbError> {
    db::run(pool, move |conn| {
        store::delete(conn, &crypto::hash_secret(&token))?;
        Ok(())
    })
    .await
}

/// The cookie of a browser remembered after a second factor (`__Host-` on https).
pub fn remember_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-porta_remember"
    } else {
        "porta_remember"
    }
}

/// Remembers this browser for `user_id` for `days`; the cookie to set (its value is the
/// secret, the row keeps only its hash).
pub async fn remember_browser(
    pool: &DbPool,
    user_id: String,
    days: i64,
    user_agent: String,
    secure: bool,
) -> Result<Cookie<'static>, DbError> {
    let token = crypto::random_token(32);
    let hash = crypto::hash_secret(&token);
    let now = crate::time::now();
    let ua: String = user_agent.chars().take(200).collect();
    db::run(pool, move |conn| {
        store::remember_browser(conn, &hash, &user_id, now, now + days * 86_400, &ua)?;
        Ok(())
    })
    .await?;
    Ok(Cookie::build(remember_cookie_name(secure), token)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(days))
        .finish())
}

/// Whether `req` comes from a browser remembered for `user_id`.
pub async fn is_remembered(
    pool: &DbPool,
    req: &HttpRequest,
    secure: bool,
    user_id: &str,
) -> Result<bool, DbError> {
    let Some(cookie) = req.cookie(remember_cookie_name(secure)) else {
        return Ok(false);
    };
    let hash = crypto::hash_secret(cookie.value());
    let (user_id, now) = (user_id.to_string(), crate::time::now());
    db::run(pool, move |conn| {
        Ok(store::is_remembered(conn, &hash, &user_id, now)?)
    })
    .await
}
