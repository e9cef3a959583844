//! Turning verified token claims (from a JWT or an introspection answer) into a [`Caller`],
//! with the checks both modes share: issuer, audience, lifetime.

use serde_json::{Map, Value};

use super::{ApiError, Caller, Subscription, ValidatorConfig};

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
        subscription: subscription(claims),
    })
}

/// An expiry: unix seconds, or a date `YYYY-MM-DD` meaning the end of that day (UTC).
fn expiry(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()?
            .succ_opt()?
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp()),
        _ => None,
    }
}

/// The caller's subscription. A claim that is present but malformed counts as none: the
/// token stays valid, and premium items stay closed.
fn subscription(claims: &Map<String, Value>) -> Option<Subscription> {
    let (plan, expires) = match claims.get("subscription") {
        Some(Value::Object(s)) => (s.get("plan")?, s.get("expires_at")?),
        Some(_) => return None,
        None => (
            claims.get("subscription_plan")?,
            claims.get("subscription_expires")?,
        ),
    };
    let plan = plan.as_str().filter(|p| !p.trim().is_empty())?;
    Some(Subscription {
        plan: plan.chars().take(100).collect(),
        expires_at: expiry(expires)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(claims: Value) -> Option<Subscription> {
        subscription(claims.as_object().expect("object"))
    }

    #[test]
    fn a_subscription_comes_from_one_claim_or_two_attributes() {
        let yearly = Some(Subscription {
            plan: "yearly".into(),
            expires_at: 1_800_000_000,
        });
        assert_eq!(
            parsed(json!({"subscription": {"plan": "yearly", "expires_at": 1_800_000_000}})),
            yearly
        );
        assert_eq!(
            parsed(json!({"subscription_plan": "yearly", "subscription_expires": 1_800_000_000})),
            yearly
        );
        // A date runs to the end of that day, UTC: 2026-12-01 → 2026-12-02T00:00:00Z.
        let dated =
            parsed(json!({"subscription_plan": "monthly", "subscription_expires": "2026-12-01"}))
                .expect("dated");
        assert_eq!(dated.expires_at, 1_796_169_600);
        assert!(dated.is_active(1_796_169_599));
        assert!(!dated.is_active(1_796_169_600));
        // Malformed or partial: none.
        for bad in [
            json!({}),
            json!({"subscription": "yearly"}),
            json!({"subscription": {"plan": "yearly"}}),
            json!({"subscription": {"plan": "", "expires_at": 1}}),
            json!({"subscription": {"plan": 7, "expires_at": 1}}),
            json!({"subscription_plan": "yearly"}),
            json!({"subscription_plan": "yearly", "subscription_expires": "tomorrow"}),
            json!({"subscription_plan": "yearly", "subscription_expires": 1.5}),
        ] {
            assert_eq!(parsed(bad.clone()), None, "{bad}");
        }
    }
}
