//! Turning verified token claims (from a JWT or an introspection answer) into a [`Caller`],
//! with the checks both modes share: issuer, audience, lifetime.

use serde_json::{Map, Value};

use super::{ApiError, Caller, ValidatorConfig};

fn invalid(why: &str) -> ApiError {
    ApiError::InvalidToken(why.to_string())
}

/// Checks `iss`, `aud`, `exp` and `nbf` and reads the caller.
pub fn caller(config: &ValidatorConfig, claims: &Map<String, Value>) -> Result<Caller, ApiError> {
    let now = chrono::Utc::now().timestamp();
    if claims.get("iss").and_then(Value::as_str) != Some(config.issuer.as_str()) {
        return Err(invalid("the token is from another issuer"));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => *aud == config.audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&config.audience)),
        _ => false,
    };
    if !audience_ok {
        return Err(invalid("the token is not meant for this API (aud)"));
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("the token has no expiry"))?;
    if now >= exp.saturating_add(config.leeway) {
        return Err(invalid("the token has expired"));
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_i64().ok_or_else(|| invalid("nbf is not a number"))?;
        if now < nbf.saturating_sub(config.leeway) {
            return Err(invalid("the token is not valid yet"));
        }
    }
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| ApiError::InvalidToken(format!("the token has no {name}")))
    };
    let scopes = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let roles = match claims.get("roles") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|r| r.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("roles must be a list of strings"))?,
        Some(_) => return Err(invalid("roles must be a list of strings")),
    };
    Ok(Caller {
        subject: text("sub")?,
        client_id: text("client_id")?,
        scopes,
        roles,
        expires_at: exp,
    })
}
