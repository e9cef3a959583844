//! The demo app served by `porta serve --demo`: a tiny relying party on Porta itself that
//! signs in through the hosted pages and shows the verified id token and userinfo. It talks
//! to Porta over real HTTP, exactly as an outside app would.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::JwkSet;
use josekit::jws::RS256;
use sha2::{Digest, Sha256};

use crate::clients::{self, store::ClientRow};
use crate::crypto;
use crate::db::{self, DbPool};
use crate::state::AppState;
use crate::web::{self as pweb, PageError};

/// The seeded demo client and person.
pub const DEMO_CLIENT_ID: &str = "porta-demo";
pub const DEMO_EMAIL: &str = "demo@porta.test";
pub const DEMO_PASSWORD: &str = "porta-demo-password";

/// The demo client's credentials (the secret is made anew at every start).
#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub client_id: String,
    pub client_secret: String,
}

/// Creates (or refreshes) the demo person and client.
pub async fn seed(pool: &DbPool, issuer: &str) -> Result<DemoConfig, String> {
    match crate::accounts::create_user(
        pool,
        DEMO_EMAIL,
        Some("Demo Person".into()),
        Some(DEMO_PASSWORD.into()),
    )
    .await
    {
        Ok(_) | Err(crate::accounts::AccountError::EmailTaken) => {}
        Err(e) => return Err(e.to_string()),
    }
    let secret = crypto::random_token(32);
    let row = ClientRow {
        id: DEMO_CLIENT_ID.into(),
        name: "Porta demo app".into(),
        secret_hash: Some(crypto::hash_secret(&secret)),
        redirect_uris: serde_json::to_string(&[format!("{issuer}/demo/callback")])
            .unwrap_or_default(),
        post_logout_redirect_uris: serde_json::to_string(&[format!("{issuer}/demo")])
            .unwrap_or_default(),
        grant_types: "authorization_code refresh_token".into(),
        scopes: "openid profile email phone offline_access".into(),
        skip_consent: false,
        created_at: crate::time::now(),
        audiences: String::new(),
        web_origins: String::new(),
        access_token_ttl: None,
        id_token_ttl: None,
        refresh_token_ttl: None,
        refresh_id_token: true,
        access_token_format: "jwt".into(),
        previous_secret_hash: None,
        previous_secret_expires_at: None,
        disabled_at: None,
    };
    db::run(pool, move |conn| Ok(clients::store::replace(conn, &row)?))
        .await
        .map_err(|e| e.to_string())?;
    Ok(DemoConfig {
        client_id: DEMO_CLIENT_ID.into(),
        client_secret: secret,
    })
}

/// What `porta demo remove` took away.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub accounts: usize,
    pub clients: usize,
}

/// Whether the demo's person or client (with its published password) is in the database.
pub async fn present(pool: &DbPool) -> Result<bool, crate::db::DbError> {
    db::run(pool, |conn| {
        Ok(
            crate::accounts::store::find_by_email(conn, DEMO_EMAIL)?.is_some()
                || clients::store::find(conn, DEMO_CLIENT_ID)?.is_some(),
        )
    })
    .await
}

/// `porta demo remove`: deletes what `serve --demo` seeded (the person `DEMO_EMAIL`, whose
/// password is published, and the client `DEMO_CLIENT_ID`), ending their sessions and
/// revoking their grants first, in one transaction.
pub async fn remove(pool: &DbPool) -> Result<Removed, crate::db::DbError> {
    db::run(pool, |conn| {
        Ok(crate::db::transaction(conn, |conn| {
            let mut removed = Removed::default();
            if let Some(user) = crate::accounts::store::find_by_email(conn, DEMO_EMAIL)? {
                removed.accounts = crate::accounts::delete(conn, &user.id)?;
            }
            crate::grants::store::revoke_families_of_client(conn, DEMO_CLIENT_ID)?;
            removed.clients = clients::store::delete(conn, DEMO_CLIENT_ID)?;
            diesel::QueryResult::Ok(removed)
        })?)
    })
    .await
}

/// Whether the demo runs (`serve --demo`), and its client when it does.
#[derive(Clone)]
struct Switch(Option<Arc<DemoConfig>>);

/// Mounts the demo routes; without `demo` they answer that the demo is not enabled.
pub fn configure(cfg: &mut web::ServiceConfig, demo: Option<Arc<DemoConfig>>) {
    let switch = web::Data::new(Switch(demo));
    for (path, handler) in [
        ("/demo", web::get().to(index)),
        ("/demo/start", web::get().to(start)),
        ("/demo/callback", web::get().to(callback)),
    ] {
        // GET only; other methods fall through to the not-found page, as elsewhere.
        cfg.service(
            web::resource(path)
                .guard(actix_web::guard::Get())
                .app_data(switch.clone())
                .route(handler),
        );
    }
}

#[derive(Template)]
#[template(path = "demo/index.html")]
struct IndexPage {
    email: &'static str,
    password: &'static str,
}

#[derive(Template)]
#[template(path = "demo/result.html")]
struct ResultPage {
    id_token_claims: String,
    userinfo: String,
    logout_url: String,
}

fn demo(switch: &Switch) -> Result<&DemoConfig, PageError> {
    switch
        .0
        .as_deref()
        .ok_or_else(|| PageError::NotFound(crate::i18n::t("demo-off")))
}

async fn index(switch: web::Data<Switch>) -> Result<HttpResponse, PageError> {
    demo(&switch)?;
    Ok(pweb::render(
        StatusCode::OK,
        &IndexPage {
            email: DEMO_EMAIL,
            password: DEMO_PASSWORD,
        },
    ))
}

const COOKIE: &str = "porta_demo";

/// Starts a sign-in: state, nonce and a PKCE verifier kept in the demo's own cookie.
async fn start(
    switch: web::Data<Switch>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let cfg = demo(&switch)?;
    let (st, nonce, verifier) = (
        crypto::random_token(16),
        crypto::random_token(16),
        crypto::random_token(32),
    );
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", &cfg.client_id)
        .append_pair("redirect_uri", &state.url("/demo/callback"))
        .append_pair("scope", "openid profile email phone offline_access")
        .append_pair("state", &st)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    let mut resp = pweb::found(&format!("/authorize?{query}"));
    let cookie = Cookie::build(COOKIE, format!("{st}.{nonce}.{verifier}"))
        .path("/demo")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies())
        .finish();
    let _ = resp.add_cookie(&cookie);
    Ok(resp)
}

async fn callback(
    switch: web::Data<Switch>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let cfg = demo(&switch)?;
    if let Some(error) = query.get("error") {
        return Err(PageError::BadRequest(crate::i18n::t1(
            "demo-porta-answered",
            "error",
            error,
        )));
    }
    let cookie = req
        .cookie(COOKIE)
        .ok_or_else(|| PageError::BadRequest(crate::i18n::t("demo-not-started")))?;
    let parts: Vec<&str> = cookie.value().split('.').collect();
    let [st, nonce, verifier] = parts.as_slice() else {
        return Err(PageError::BadRequest(crate::i18n::t("demo-cookie")));
    };
    if query.get("state").map(String::as_str) != Some(*st) {
        return Err(PageError::BadRequest(crate::i18n::t("demo-state")));
    }
    if query.get("iss").map(String::as_str) != Some(state.settings.server.issuer.as_str()) {
        return Err(PageError::BadRequest(crate::i18n::t("demo-iss")));
    }
    let code = query
        .get("code")
        .ok_or_else(|| PageError::BadRequest(crate::i18n::t("demo-no-code")))?;
    let http = reqwest::Client::new();
    let fail = |e: reqwest::Error| PageError::Internal(format!("demo HTTP call failed: {e}"));
    let tokens: serde_json::Value = http
        .post(state.url("/token"))
        .basic_auth(&cfg.client_id, Some(&cfg.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &state.url("/demo/callback")),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
    let id_token = tokens["id_token"].as_str().ok_or_else(|| {
        PageError::BadRequest(crate::i18n::t1("demo-token-answered", "answer", &tokens))
    })?;
    let access_token = tokens["access_token"].as_str().unwrap_or_default();
    let jwks: serde_json::Value = http
        .get(state.url("/jwks"))
        .send()
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
    let claims = verify_id_token(&state, &jwks, id_token, &cfg.client_id, nonce)
        .map_err(|m| PageError::BadRequest(crate::i18n::t1("demo-id-token-invalid", "why", m)))?;
    let userinfo: serde_json::Value = http
        .get(state.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
    let logout_url = format!(
        "/logout?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id_token_hint", id_token)
            .append_pair("post_logout_redirect_uri", &state.url("/demo"))
            .finish()
    );
    let page = ResultPage {
        id_token_claims: serde_json::to_string_pretty(&claims).unwrap_or_default(),
        userinfo: serde_json::to_string_pretty(&userinfo).unwrap_or_default(),
        logout_url,
    };
    let mut resp = pweb::render(StatusCode::OK, &page);
    let mut gone = Cookie::build(COOKIE, "").path("/demo").finish();
    gone.make_removal();
    let _ = resp.add_cookie(&gone);
    Ok(resp)
}

/// Checks the id token as a relying party must (OIDC Core 3.1.3.7).
fn verify_id_token(
    state: &AppState,
    jwks: &serde_json::Value,
    token: &str,
    client_id: &str,
    nonce: &str,
) -> Result<serde_json::Value, String> {
    let set = JwkSet::from_bytes(jwks.to_string().as_bytes()).map_err(|e| e.to_string())?;
    let header = josekit::jwt::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header
        .claim("kid")
        .and_then(|v| v.as_str())
        .ok_or("no kid")?;
    let jwk = set.get(kid).into_iter().next().ok_or("unknown kid")?;
    let verifier = RS256.verifier_from_jwk(jwk).map_err(|e| e.to_string())?;
    let (payload, _) =
        josekit::jwt::decode_with_verifier(token, &verifier).map_err(|e| e.to_string())?;
    let claims = serde_json::Value::Object(payload.claims_set().clone());
    if claims["iss"] != state.settings.server.issuer.as_str() {
        return Err("wrong issuer".into());
    }
    if claims["aud"] != client_id {
        return Err("wrong audience".into());
    }
    if claims["nonce"] != nonce {
        return Err("wrong nonce".into());
    }
    if claims["exp"].as_i64().unwrap_or(0) <= crate::time::now() {
        return Err("expired".into());
    }
    Ok(claims)
}
