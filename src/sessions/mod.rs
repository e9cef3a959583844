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
    let Some(cookie) = SessionCookie::of(req, secure) else {
        return Ok(None);
    };
    db::run(pool, move |conn| Ok(cookie.read(conn)?)).await
}

/// The SHA-256 of cookie `name`'s value, as the tables keep it.
fn hashed_cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name).map(|c| crypto::hash_secret(c.value()))
}

/// The session cookie a request carries, to be read inside a caller's database call
/// (with other reads, in one trip).
#[derive(Debug)]
pub struct SessionCookie {
    hash: String,
}

impl SessionCookie {
    /// The request's session cookie, if it has one.
    pub fn of(req: &HttpRequest, secure: bool) -> Option<SessionCookie> {
        hashed_cookie(req, session_cookie_name(secure)).map(|hash| SessionCookie { hash })
    }

    /// Its session, if still valid; "last seen" is written at most once a minute.
    pub fn read(&self, conn: &mut crate::db::DbConn) -> diesel::QueryResult<Option<Session>> {
        let now = crate::time::now();
        let found = store::find_valid(conn, &self.hash, now)?;
        if let Some(s) = &found {
            // "Last seen" for the session list, written at most once a minute.
            if now - s.last_seen_at >= 60 {
                crate::db::write(conn, |conn| store::touch(conn, &self.hash, now))?;
            }
        }
        Ok(found)
    }
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
    let (start, token) = Start::new(user_id, amr, ttl, origin, previous);
    let auth_time = start.auth_time();
    db::run_write(pool, move |conn| Ok(start.write(conn)?)).await?;
    Ok((token, auth_time))
}

/// A session to start, made ready (its cookie value drawn) before the database call
/// that writes it, so that call can write other things too.
#[derive(Debug)]
pub struct Start {
    session: Session,
    previous: Option<String>,
}

impl Start {
    /// The session (signed in now) and the cookie value that names it.
    pub fn new(
        user_id: String,
        amr: Vec<String>,
        ttl: i64,
        origin: &crate::audit::Origin,
        previous: Option<String>,
    ) -> (Start, String) {
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
        (Start { session, previous }, token)
    }

    /// When the person signed in (the session's `auth_time`).
    pub fn auth_time(&self) -> i64 {
        self.session.auth_time
    }

    /// The session's authentication methods (`amr`), space-separated.
    pub fn amr(&self) -> &str {
        &self.session.amr
    }

    /// One more authentication method (`amr`) for the session.
    pub fn with_method(&mut self, method: &str) {
        self.session.amr.push(' ');
        self.session.amr.push_str(method);
    }

    /// Writes the session and ends the previous one.
    pub fn write(self, conn: &mut crate::db::DbConn) -> diesel::QueryResult<()> {
        if let Some(prev) = self.previous {
            store::delete(conn, &crypto::hash_secret(&prev))?;
        }
        store::insert(conn, &self.session).map(|_| ())
    }
}

/// Ends the session whose cookie value is `token`.
pub async fn end(pool: &DbPool, token: String) -> Result<(), DbError> {
    db::run_write(pool, move |conn| {
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

/// A browser to remember for a person after a second factor, made ready (its secret
/// drawn, its cookie built) before the database call that writes it.
#[derive(Debug)]
pub struct Remember {
    hash: String,
    user_id: String,
    created_at: i64,
    expires_at: i64,
    user_agent: String,
    cookie: Cookie<'static>,
}

impl Remember {
    /// Remembers this browser for `user_id` for `days` (the cookie's value is the secret,
    /// the row keeps only its hash).
    pub fn new(user_id: String, days: i64, user_agent: &str, secure: bool) -> Remember {
        let token = crypto::random_token(32);
        let now = crate::time::now();
        Remember {
            hash: crypto::hash_secret(&token),
            user_id,
            created_at: now,
            expires_at: now + days * 86_400,
            user_agent: user_agent.chars().take(200).collect(),
            cookie: Cookie::build(remember_cookie_name(secure), token)
                .path("/")
                .http_only(true)
                .secure(secure)
                .same_site(SameSite::Lax)
                .max_age(actix_web::cookie::time::Duration::days(days))
                .finish(),
        }
    }

    /// Writes the row inside the caller's database call and transaction.
    pub fn write(&self, conn: &mut crate::db::DbConn) -> diesel::QueryResult<()> {
        store::remember_browser(
            conn,
            &self.hash,
            &self.user_id,
            self.created_at,
            self.expires_at,
            &self.user_agent,
        )
        .map(|_| ())
    }

    /// The cookie to set once the row is committed.
    pub fn cookie(self) -> Cookie<'static> {
        self.cookie
    }
}

/// The remembered-browser cookie a request carries, to be checked inside a caller's
/// database call.
#[derive(Debug)]
pub struct RememberCookie {
    hash: String,
}

impl RememberCookie {
    /// The request's remembered-browser cookie, if it has one.
    pub fn of(req: &HttpRequest, secure: bool) -> Option<RememberCookie> {
        hashed_cookie(req, remember_cookie_name(secure)).map(|hash| RememberCookie { hash })
    }

    /// Whether it remembers this browser for `user_id` (and has not expired).
    pub fn remembers(
        &self,
        conn: &mut crate::db::DbConn,
        user_id: &str,
    ) -> diesel::QueryResult<bool> {
        store::is_remembered(conn, &self.hash, user_id, crate::time::now())
    }
}

#[cfg(test)]
mod tests {
    /// Signing out while another write holds SQLite's lock waits its turn at the write
    /// gate: outside it (busy timeout off) the session would outlive the sign-out.
    #[actix_web::test]
    async fn a_sign_out_waits_its_turn_behind_a_writer_that_holds_the_lock() {
        let (_dir, pool) = crate::db::impatient_pool();
        let holder = crate::db::hold_the_gate(&pool, std::time::Duration::from_millis(300));
        super::end(&pool, "a cookie value".into())
            .await
            .expect("signed out in its turn");
        holder.released();
    }
}
