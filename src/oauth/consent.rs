//! The consent page: which application asks for what, in plain words; Allow or Deny.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::authorize;
use crate::state::AppState;
use crate::web::Params;
use crate::web::{self as page, csrf, PageError};

/// One scope explained.
pub struct ScopeLine {
    pub name: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "oauth/consent.html")]
struct ConsentPage {
    client_name: String,
    scopes: Vec<ScopeLine>,
    request: String,
    csrf: String,
}

/// Plain words for each scope: Porta's own, then those the APIs declare.
pub fn describe_scope(state: &AppState, scope: &str) -> String {
    use crate::i18n::t;
    match scope {
        "openid" => t("scope-openid"),
        "profile" => t("scope-profile"),
        "phone" => t("scope-phone"),
        "permissions" => t("scope-permissions"),
        "email" => t("scope-email"),
        "offline_access" => t("scope-offline-access"),
        "roles" => t("scope-roles"),
        _ => state
            .api_scopes
            .iter()
            .find(|(name, _)| *name == scope)
            .map_or_else(|| t("scope-other"), |(_, words)| words.to_string()),
    }
}

/// `GET /consent?request=ID`.
pub async fn show_consent(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes())
        .map_err(|_| PageError::BadRequest(crate::i18n::t("error-invalid-request")))?;
    let id = params.get("request").unwrap_or("").to_string();
    let (view, session) = super::handoff::pending_view_and_session(&state, &req, &id, true).await?;
    if authorize::needs_login(&view.auth, session.as_ref()) {
        return Ok(page::found(&format!("/login?request={id}")));
    }
    Ok(csrf::page(
        &req,
        state.secure_cookies(),
        StatusCode::OK,
        |token| ConsentPage {
            client_name: view.client_name,
            scopes: view
                .auth
                .scopes
                .iter()
                .map(|s| ScopeLine {
                    name: s.clone(),
                    description: describe_scope(&state, s),
                })
                .collect(),
            request: id,
            csrf: token,
        },
    ))
}

/// The consent form.
#[derive(Deserialize)]
pub struct ConsentForm {
    request: String,
    csrf: String,
    decision: String,
}

/// `POST /consent`.
pub async fn submit_consent(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<ConsentForm>,
) -> Result<HttpResponse, PageError> {
    csrf::require(&req, state.secure_cookies(), &form.csrf)?;
    let allow = match form.decision.as_str() {
        "allow" => true,
        "deny" => false,
        _ => return Err(PageError::BadRequest(crate::i18n::t("consent-choose"))),
    };
    let location = authorize::decide(&state, &req, &form.request, allow).await?;
    Ok(page::see_other(&location))
}
