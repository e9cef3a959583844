//! Discovery (OIDC Discovery 1.0, RFC 8414) and the JWKS, true to what Porta implements.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::state::AppState;

/// The metadata shared by both documents.
pub fn metadata(state: &AppState) -> Value {
    let iss = &state.settings.server.issuer;
    json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "userinfo_endpoint": format!("{iss}/userinfo"),
        "jwks_uri": format!("{iss}/jwks"),
        "introspection_endpoint": format!("{iss}/introspect"),
        "revocation_endpoint": format!("{iss}/revoke"),
        "end_session_endpoint": format!("{iss}/logout"),
        "scopes_supported": crate::clients::KNOWN_SCOPES
            .iter()
            .chain(&["phone", crate::tokens::ROLES_SCOPE, crate::tokens::PERMISSIONS_SCOPE])
            .collect::<Vec<_>>(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": crate::clients::GRANT_TYPES,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "acr", "amr", "azp", "name", "updated_at", "locale", "zoneinfo", "email", "email_verified", "phone_number", "phone_number_verified", "roles", "permissions"],
        "acr_values_supported": [crate::tokens::ACR_1FA, crate::tokens::ACR_MFA],
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": crate::i18n::supported(),
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    })
}

fn cached_json(body: String, max_age: u32) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .body(body)
}

/// `GET /.well-known/openid-configuration`.
pub async fn openid_configuration(state: web::Data<AppState>) -> HttpResponse {
    cached_json(state.discovery_json.clone(), 3600)
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub async fn oauth_metadata(state: web::Data<AppState>) -> HttpResponse {
    cached_json(state.discovery_json.clone(), 3600)
}

/// `GET /jwks`: public keys only.
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let keys = state.keys.current();
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/jwk-set+json"))
        // Fits the schedule: a key is published at least this long before it signs.
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={}", state.settings.keys.jwks_max_age),
        ))
        .body(keys.jwks_json.clone())
}
