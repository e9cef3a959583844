//! The authorization endpoint (RFC 6749 4.1, OIDC Core 3.1.2): validates the request,
//! sends the person through sign-in and consent, and answers the client with a code.

use std::borrow::Cow;

use actix_web::{web, HttpRequest, HttpResponse};
use oxide_auth::code_grant::extensions::Pkce;
use serde::{Deserialize, Serialize};

use super::registrar;
use crate::clients::Client;
use crate::crypto;
use crate::db::{self, DbError};
use crate::grants::store;
use crate::sessions::{self, Session};
use crate::state::AppState;
use crate::web::Params;
use crate::web::{self as page, csrf, PageError};

/// A validated authorization request, kept while the person signs in and consents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The PKCE challenge as oxide-auth encodes it.
    pub pkce: Option<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub id_token_hint_sub: Option<String>,
    pub login_hint: Option<String>,
    /// Hash of the browser's CSRF cookie: the request only goes on in that browser.
    pub browser: String,
    /// Whether the request carried `redirect_uri` (then the token request must repeat it).
    #[serde(default)]
    pub redirect_uri_sent: bool,
    /// Set when the person signed in for this request (satisfies `prompt=login`).
    pub signed_in_at: Option<i64>,
    /// `acr_values` asked for two factors only: a one-factor session must sign in again.
    #[serde(default)]
    pub require_mfa: bool,
}

impl AuthRequest {
    fn has_prompt(&self, p: &str) -> bool {
        self.prompt.iter().any(|x| x == p)
    }
}

/// Where a request goes next.
pub enum Outcome {
    /// Back to the client (success or error), with `iss` (RFC 9207).
    ToClient(String),
    /// To one of Porta's pages (sign-in or consent).
    ToPage(String),
}

/// Errors raised before the redirect URI is trusted are pages; after, they go to the client.
enum Refusal {
    Page(PageError),
    Client(String),
}

impl From<DbError> for Refusal {
    fn from(e: DbError) -> Self {
        Refusal::Page(e.into())
    }
}

/// Builds the client redirect: the registered URI plus our parameters, appended without
/// re-serialising the URI (it must stay exactly as registered).
pub fn client_redirect(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{sep}{}", ser.finish())
}

fn error_redirect(
    state: &AppState,
    req: &AuthRequestRef,
    error: &str,
    description: &str,
) -> String {
    let description = super::error::description_charset(description);
    let mut pairs = vec![
        ("error", error),
        ("error_description", description.as_str()),
    ];
    if let Some(s) = req.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", state.settings.server.issuer.as_str()));
    client_redirect(req.redirect_uri, &pairs)
}

/// The bits of a request needed to answer the client.
struct AuthRequestRef<'a> {
    redirect_uri: &'a str,
    state: Option<&'a str>,
}

/// `GET /authorize` and `POST /authorize` (form body).
#[tracing::instrument(skip_all)]
pub async fn authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    if req.method() == actix_web::http::Method::POST {
        return post_to_get(&req, &body);
    }
    let (params, repeated) = Params::parse_lenient(req.query_string().as_bytes())
        .map_err(|e| PageError::BadRequest(format!("Invalid authorization request: {e}.")))?;
    if repeated
        .iter()
        .any(|k| k == "client_id" || k == "redirect_uri")
    {
        return Err(PageError::BadRequest(
            "Invalid authorization request: client_id or redirect_uri is repeated.".into(),
        ));
    }
    let (browser_token, new_cookie) = csrf::token(&req, state.secure_cookies());
    let auth = match validate(
        &state,
        params,
        &repeated,
        crypto::hash_secret(&browser_token),
    )
    .await
    {
        Ok(auth) => auth,
        Err(Refusal::Page(e)) => return Err(e),
        Err(Refusal::Client(location)) => return Ok(page::found(&location)),
    };
    let outcome = proceed(&state, &req, auth, None).await?;
    let mut resp = match outcome {
        Outcome::ToClient(l) | Outcome::ToPage(l) => page::found(&l),
    };
    if let Some(c) = new_cookie {
        let _ = resp.add_cookie(&c);
    }
    Ok(resp)
}

/// `GET /authorize/resume?request=ID`: continues after sign-in.
pub async fn resume(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest("Invalid request.".into()))?;
    let id = params.get("request").unwrap_or("").to_string();
    let (auth, _) = super::handoff::load_pending(&state, &req, &id).await?;
    match proceed(&state, &req, auth, Some(id)).await? {
        Outcome::ToClient(l) | Outcome::ToPage(l) => Ok(page::found(&l)),
    }
}

fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        })
}

const KNOWN_PROMPTS: &[&str] = &["none", "login", "consent", "select_account"];

/// A POSTed authorization request (OIDC Core 3.1.2.1) becomes the same request as a GET:
/// a cross-site POST arrives without the SameSite=Lax session cookie, the GET brings it.
fn post_to_get(req: &HttpRequest, body: &[u8]) -> Result<HttpResponse, PageError> {
    if !is_form(req) {
        return Err(PageError::BadRequest(
            "The authorization request must be application/x-www-form-urlencoded.".into(),
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| PageError::BadRequest("Invalid authorization request.".into()))?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Ok(page::see_other(&format!("/authorize?{query}")))
}

async fn validate(
    state: &AppState,
    mut p: Params,
    repeated: &[String],
    browser: String,
) -> Result<AuthRequest, Refusal> {
    let page = |m: &str| Refusal::Page(PageError::BadRequest(m.to_string()));
    let client_id = p
        .take("client_id")
        .ok_or_else(|| page("The request names no client (client_id is missing)."))?;
    let client = state
        .client(client_id)
        .await?
        .ok_or_else(|| page("The application that sent you here is not registered with Porta."))?;
    let requested_redirect = p.take("redirect_uri");
    let scope_text = p.take("scope").unwrap_or_default();
    let openid = scope_text.split(' ').any(|s| s == "openid");
    if requested_redirect.is_none() && openid {
        return Err(page("The request has no redirect_uri."));
    }
    let redirect_uri = registrar::bind_redirect(&client, requested_redirect.as_deref())
        .ok_or_else(|| page("The redirect_uri in this request is not registered for this application, so Porta will not send you there."))?;
    let st = p.take("state");
    let r = AuthRequestRef {
        redirect_uri: &redirect_uri,
        state: st.as_deref(),
    };
    let fail = |error: &str, description: &str| {
        Refusal::Client(error_redirect(state, &r, error, description))
    };

    if !repeated.is_empty() {
        return Err(fail("invalid_request", "a parameter is repeated"));
    }
    match p.get("response_type") {
        None => return Err(fail("invalid_request", "response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    if p.get("response_mode").is_some_and(|m| m != "query") {
        return Err(fail(
            "invalid_request",
            "only response_mode=query is supported",
        ));
    }
    if p.get("request").is_some() {
        return Err(fail(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if p.get("request_uri").is_some() {
        return Err(fail(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    if p.get("registration").is_some() {
        return Err(fail(
            "registration_not_supported",
            "registration is not supported",
        ));
    }
    if !client.allows_grant("authorization_code") {
        return Err(fail(
            "unauthorized_client",
            "this client may not use the authorization code grant",
        ));
    }
    let scopes = grant_scopes(&client, &redirect_uri, &scope_text).ok_or_else(|| {
        fail(
            "invalid_scope",
            "the requested scope is missing, malformed or not allowed for this client",
        )
    })?;
    let pkce = pkce_challenge(
        &client,
        p.get("code_challenge"),
        p.get("code_challenge_method"),
    )
    .map_err(|d| fail("invalid_request", d))?;
    let nonce = p.take("nonce");
    if nonce.as_ref().is_some_and(|n| n.len() > 512) {
        return Err(fail("invalid_request", "nonce is too long"));
    }
    let prompt: Vec<String> = p
        .get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if prompt.iter().any(|x| !KNOWN_PROMPTS.contains(&x.as_str())) {
        return Err(fail("invalid_request", "unknown prompt value"));
    }
    if prompt.iter().any(|x| x == "none") && prompt.len() > 1 {
        return Err(fail(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age =
        match p.get("max_age") {
            None => None,
            Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                fail("invalid_request", "max_age must be a non-negative integer")
            })?),
        };
    // acr_values lists acceptable levels, best first; asking for nothing below two factors
    // makes a one-factor session sign in again (OIDC Core 3.1.2.1).
    let require_mfa = p.get("acr_values").is_some_and(|v| {
        let values: Vec<&str> = v.split(' ').filter(|x| !x.is_empty()).collect();
        values.contains(&crate::tokens::ACR_MFA) && !values.contains(&crate::tokens::ACR_1FA)
    });
    let id_token_hint_sub = match p.get("id_token_hint") {
        None => None,
        Some(hint) => Some(hint_subject(state, hint).ok_or_else(|| {
            fail(
                "invalid_request",
                "id_token_hint is not an id token issued by Porta",
            )
        })?),
    };
    Ok(AuthRequest {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.clone(),
        scopes,
        state: st.clone(),
        nonce,
        pkce,
        prompt,
        max_age,
        id_token_hint_sub,
        login_hint: p.take("login_hint").filter(|h| h.len() <= 254),
        browser,
        redirect_uri_sent: requested_redirect.is_some(),
        signed_in_at: None,
        require_mfa,
    })
}

/// Scopes the client asked for that it is registered for; unknown values are dropped
/// (OIDC Core 3.1.2.1), but nothing left at all is `invalid_scope`.
fn grant_scopes(client: &Client, redirect_uri: &str, scope: &str) -> Option<Vec<String>> {
    let mut wanted: Vec<&str> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if client.allows_scope(s) && !wanted.contains(&s) {
            wanted.push(s);
        }
    }
    if wanted.is_empty() {
        return None;
    }
    registrar::negotiate_scope(client, redirect_uri, &wanted.join(" "))?;
    Some(wanted.into_iter().map(str::to_string).collect())
}

/// RFC 7636: S256 only; required for public clients; checked for everyone who sends one.
fn pkce_challenge(
    client: &Client,
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<String>, &'static str> {
    let Some(challenge) = challenge else {
        if method.is_some() {
            return Err("code_challenge_method without code_challenge");
        }
        if client.is_public() {
            return Err("PKCE is required: send code_challenge with code_challenge_method=S256");
        }
        return Ok(None);
    };
    if method != Some("S256") {
        return Err("code_challenge_method must be S256 (plain is not accepted)");
    }
    // A S256 challenge is the base64url of 32 bytes: exactly 43 characters.
    let valid = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err("code_challenge is not a valid S256 challenge");
    }
    let value = Pkce::required()
        .challenge(Some(Cow::Borrowed("S256")), Some(Cow::Borrowed(challenge)))
        .map_err(|_| "code_challenge is not valid")?
        .ok_or("code_challenge is not valid")?;
    value
        .into_private_value()
        .ok()
        .flatten()
        .map(Some)
        .ok_or("code_challenge is not valid")
}

/// The subject of an id token Porta signed (expired ones are fine as hints).
fn hint_subject(state: &AppState, hint: &str) -> Option<String> {
    let (_, claims) = state.keys.current().verify(hint)?;
    if claims.get("iss")?.as_str()? != state.settings.server.issuer {
        return None;
    }
    claims.get("sub")?.as_str().map(str::to_string)
}

async fn save_pending(
    state: &AppState,
    auth: &AuthRequest,
    id: Option<String>,
) -> Result<String, DbError> {
    if let Some(id) = id {
        return Ok(id);
    }
    let now = crate::time::now();
    let row = store::PendingRequest {
        id: crypto::random_token(24),
        client_id: auth.client_id.clone(),
        params: serde_json::to_string(auth).unwrap_or_default(),
        created_at: now,
        expires_at: now + state.settings.tokens.authorization_request_ttl,
    };
    let id = row.id.clone();
    db::run(&state.pool, move |conn| {
        Ok(store::insert_request(conn, &row)?)
    })
    .await?;
    Ok(id)
}

/// Decides the next step: sign-in, consent, or a code for the client.
/// Whether the person must (re-)authenticate for this request: no session, `prompt=login`
/// not yet satisfied by a sign-in for this very request, `max_age` exceeded (OIDC Core
/// 3.1.2.1: elapsed time greater than or equal to `max_age` in whole seconds counts as
/// exceeded), or an `id_token_hint` naming someone else.
pub fn needs_login(auth: &AuthRequest, session: Option<&Session>) -> bool {
    let Some(s) = session else {
        return true;
    };
    let now = crate::time::now();
    let login_done = auth.signed_in_at.is_some_and(|t| s.auth_time >= t);
    let fresh_enough = login_done || auth.max_age.is_none_or(|m| now - s.auth_time < m);
    let hint_ok = auth
        .id_token_hint_sub
        .as_ref()
        .is_none_or(|sub| *sub == s.user_id);
    let level_ok = !auth.require_mfa || login_done || s.amr.split(' ').any(|a| a == "mfa");
    !fresh_enough || (auth.has_prompt("login") && !login_done) || !hint_ok || !level_ok
}

pub async fn proceed(
    state: &AppState,
    req: &HttpRequest,
    auth: AuthRequest,
    pending: Option<String>,
) -> Result<Outcome, PageError> {
    let r = AuthRequestRef {
        redirect_uri: &auth.redirect_uri,
        state: auth.state.as_deref(),
    };
    let session = sessions::current(&state.pool, req, state.secure_cookies()).await?;
    if needs_login(&auth, session.as_ref()) {
        if auth.has_prompt("none") {
            return Ok(Outcome::ToClient(error_redirect(
                state,
                &r,
                "login_required",
                "the person is not signed in",
            )));
        }
        let id = save_pending(state, &auth, pending).await?;
        return Ok(Outcome::ToPage(format!("/login?request={id}")));
    }
    let Some(session) = session else {
        return Err(PageError::Internal("session vanished".into()));
    };
    let client = state
        .client(auth.client_id.clone())
        .await?
        .ok_or_else(|| PageError::BadRequest("The application is no longer registered.".into()))?;
    // prompt=consent asks even first-party (skip_consent) clients' users (OIDC Core 3.1.2.1).
    let needs_consent = auth.has_prompt("consent")
        || (!client.skip_consent
            && !has_consent(state, &session.user_id, &client.id, &auth.scopes).await?);
    if needs_consent {
        if auth.has_prompt("none") {
            return Ok(Outcome::ToClient(error_redirect(
                state,
                &r,
                "consent_required",
                "the person has not allowed this application yet",
            )));
        }
        let id = save_pending(state, &auth, pending).await?;
        return Ok(Outcome::ToPage(format!("/consent?request={id}")));
    }
    Ok(Outcome::ToClient(
        issue_code(state, &auth, &session, pending).await?,
    ))
}

async fn has_consent(
    state: &AppState,
    user_id: &str,
    client_id: &str,
    scopes: &[String],
) -> Result<bool, DbError> {
    let (u, c) = (user_id.to_string(), client_id.to_string());
    let granted = db::run(&state.pool, move |conn| {
        Ok(store::consented_scopes(conn, &u, &c)?)
    })
    .await?;
    let granted: Vec<&str> = granted
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    Ok(scopes.iter().all(|s| granted.contains(&s.as_str())))
}

/// The answer to a consent form: allow or deny.
pub async fn decide(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
    allow: bool,
) -> Result<String, PageError> {
    let (auth, _) = super::handoff::load_pending(state, req, id).await?;
    let r = AuthRequestRef {
        redirect_uri: &auth.redirect_uri,
        state: auth.state.as_deref(),
    };
    let session = sessions::current(&state.pool, req, state.secure_cookies()).await?;
    let session = match session {
        // Consent never stands in for the sign-in this request asked for.
        Some(s) if !needs_login(&auth, Some(&s)) => s,
        _ => return Ok(format!("/login?request={id}")),
    };
    let origin = state.origin(req);
    let audit_kind = if allow {
        crate::audit::kind::CONSENT_GIVEN
    } else {
        crate::audit::kind::CONSENT_DENIED
    };
    crate::audit::record(
        &state.pool,
        &origin,
        audit_kind,
        Some(session.user_id.clone()),
        Some(auth.client_id.clone()),
        format!("scope={}", auth.scopes.join(" ")),
    )
    .await;
    if !allow {
        let id = id.to_string();
        db::run(&state.pool, move |conn| {
            Ok(store::delete_request(conn, &id)?)
        })
        .await?;
        return Ok(error_redirect(
            state,
            &r,
            "access_denied",
            "the person denied the request",
        ));
    }
    let (u, c, s) = (
        session.user_id.clone(),
        auth.client_id.clone(),
        auth.scopes.join(" "),
    );
    db::run(&state.pool, move |conn| {
        Ok(store::save_consent(conn, &u, &c, &s)?)
    })
    .await?;
    issue_code(state, &auth, &session, Some(id.to_string())).await
}

/// Issues a single-use code (stored hashed) in a new token family and builds the redirect.
async fn issue_code(
    state: &AppState,
    auth: &AuthRequest,
    session: &Session,
    pending: Option<String>,
) -> Result<String, PageError> {
    let code = crypto::random_token(32);
    let now = crate::time::now();
    let row = store::CodeRow {
        code_hash: crypto::hash_secret(&code),
        family_id: crypto::random_token(16),
        client_id: auth.client_id.clone(),
        user_id: session.user_id.clone(),
        // Empty when the request omitted it: the token request then need not repeat it.
        redirect_uri: if auth.redirect_uri_sent {
            auth.redirect_uri.clone()
        } else {
            String::new()
        },
        scope: auth.scopes.join(" "),
        nonce: auth.nonce.clone(),
        pkce: auth.pkce.clone(),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        expires_at: now + state.settings.tokens.code_ttl,
        used_at: None,
    };
    let issued = db::run(&state.pool, move |conn| {
        use diesel::Connection;
        let issued = conn.transaction(|conn| {
            // A pending request yields one code: a double-submitted form finds it gone.
            if let Some(id) = pending {
                if store::delete_request(conn, &id)? == 0 {
                    return Ok(false);
                }
            }
            store::insert_family(conn, &row.family_id, &row.client_id, Some(&row.user_id))?;
            store::insert_code(conn, &row)?;
            Ok::<_, diesel::result::Error>(true)
        })?;
        Ok(issued)
    })
    .await?;
    if !issued {
        return Err(PageError::BadRequest(
            "This sign-in request was already completed. Go back to the application.".into(),
        ));
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &auth.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", state.settings.server.issuer.as_str()));
    Ok(client_redirect(&auth.redirect_uri, &pairs))
}
