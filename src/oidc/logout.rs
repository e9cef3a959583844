//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): ends the browser session
//! and returns to a registered `post_logout_redirect_uri` only.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::oauth::authorize::client_redirect;
use crate::sessions;
use crate::state::AppState;
use crate::web::Params;
use crate::web::{self as page, csrf, PageError};

#[derive(Template)]
#[template(path = "oidc/logout_confirm.html")]
struct ConfirmPage {
    csrf: String,
    fields: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "oidc/logged_out.html")]
struct LoggedOutPage;

/// `GET|POST /logout`.
#[tracing::instrument(skip_all)]
pub async fn end_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let raw: &[u8] = if req.method() == actix_web::http::Method::POST {
        &body
    } else {
        req.query_string().as_bytes()
    };
    let params = Params::parse(raw)
        .map_err(|e| PageError::BadRequest(crate::i18n::t1("error-logout-invalid", "why", e)))?;
    let secure = state.secure_cookies();

    // Whose token is the hint, and which client is asking?
    let hint = match params.get("id_token_hint") {
        Some(h) => Some(
            hint_claims(&state, h)
                .ok_or_else(|| PageError::BadRequest(crate::i18n::t("error-logout-hint")))?,
        ),
        None => None,
    };
    let hint_client = hint.as_ref().map(|(_, aud)| aud.clone());
    let client_id = match (hint_client, params.get("client_id")) {
        (Some(a), Some(b)) if a != b => {
            return Err(PageError::BadRequest(
                "client_id does not match the id_token_hint.".into(),
            ))
        }
        (Some(a), _) => Some(a),
        (None, b) => b.map(str::to_string),
    };
    let redirect = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let client = match client_id.clone() {
                Some(id) => state.client(id).await?,
                None => None,
            };
            match client {
                Some(c) if c.has_post_logout_redirect_uri(uri) => Some(uri.to_string()),
                _ => {
                    return Err(PageError::BadRequest(crate::i18n::t(
                        "error-logout-redirect",
                    )))
                }
            }
        }
    };

    let session_cookie = req
        .cookie(sessions::session_cookie_name(secure))
        .map(|c| c.value().to_string());
    let session = sessions::current(&state.pool, &req, secure).await?;
    let confirmed = params.get("confirm") == Some("yes")
        && csrf::verify(&req, secure, params.get("csrf").unwrap_or(""));
    let hint_matches = match (&hint, &session) {
        (Some((sub, _)), Some(s)) => *sub == s.user_id,
        (Some(_), None) => true,
        _ => false,
    };
    if session.is_some() && !confirmed && !hint_matches {
        // Without proof that the app speaks for this person, ask them (logout CSRF).
        let (token, cookie) = csrf::token(&req, secure);
        let fields = [
            "id_token_hint",
            "post_logout_redirect_uri",
            "state",
            "client_id",
        ]
        .iter()
        .filter_map(|k| params.get(k).map(|v| (k.to_string(), v.to_string())))
        .collect();
        let mut resp = page::render(
            StatusCode::OK,
            &ConfirmPage {
                csrf: token,
                fields,
            },
        );
        if let Some(c) = cookie {
            let _ = resp.add_cookie(&c);
        }
        return Ok(resp);
    }
    if let Some(token) = session_cookie {
        sessions::end(&state.pool, token).await?;
    }
    if let Some(s) = &session {
        let origin = state.origin(&req);
        let detail = format!("via=logout client={}", client_id.as_deref().unwrap_or("-"));
        crate::audit::record(
            &state.pool,
            &origin,
            crate::audit::kind::SESSION_ENDED,
            Some(s.user_id.clone()),
            client_id.clone(),
            detail,
        )
        .await;
    }
    let mut resp = match redirect {
        Some(uri) => {
            let pairs: Vec<(&str, &str)> = params
                .get("state")
                .map(|s| vec![("state", s)])
                .unwrap_or_default();
            page::found(&client_redirect(&uri, &pairs))
        }
        None => page::render(StatusCode::OK, &LoggedOutPage),
    };
    let _ = resp.add_cookie(&sessions::clear_session_cookie(secure));
    Ok(resp)
}

/// `(sub, aud)` of an id token Porta signed; expired tokens are fine as hints.
fn hint_claims(state: &AppState, token: &str) -> Option<(String, String)> {
    let (_, claims) = state.keys.current().verify(token)?;
    if claims.get("iss")?.as_str()? != state.settings.server.issuer {
        return None;
    }
    let sub = claims.get("sub")?.as_str()?.to_string();
    let aud = match claims.get("aud")? {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.first()?.as_str()?.to_string(),
        _ => return None,
    };
    Some((sub, aud))
}
