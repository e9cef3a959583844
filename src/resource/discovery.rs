//! The issuer's discovery document, fetched once and kept (its endpoints do not move).

use tokio::sync::Mutex;

use super::{ApiError, ValidatorConfig};

/// The endpoints a resource server needs.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub jwks_uri: String,
    pub introspection_endpoint: Option<String>,
}

/// Discovery, fetched on first use (and again after a failure).
pub struct Discovery {
    cached: Mutex<Option<Endpoints>>,
}

impl Discovery {
    pub fn new() -> Discovery {
        Discovery {
            cached: Mutex::new(None),
        }
    }

    /// The endpoints; fetches `{issuer}/.well-known/openid-configuration` when not known.
    pub async fn get(
        &self,
        http: &reqwest::Client,
        config: &ValidatorConfig,
    ) -> Result<Endpoints, ApiError> {
        let mut cached = self.cached.lock().await;
        if let Some(e) = cached.as_ref() {
            return Ok(e.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", config.issuer);
        let doc: serde_json::Value = fetch_json(http, &url).await?;
        // OIDC Discovery 4.3: the document must name exactly the issuer we asked.
        if doc["issuer"].as_str() != Some(config.issuer.as_str()) {
            return Err(unavailable(&url, "names another issuer"));
        }
        let jwks_uri = doc["jwks_uri"]
            .as_str()
            .ok_or_else(|| unavailable(&url, "has no jwks_uri"))?
            .to_string();
        let endpoints = Endpoints {
            jwks_uri,
            introspection_endpoint: doc["introspection_endpoint"].as_str().map(str::to_string),
        };
        *cached = Some(endpoints.clone());
        Ok(endpoints)
    }
}

pub fn unavailable(url: &str, why: &str) -> ApiError {
    tracing::warn!(%url, reason = why, "token issuer unavailable");
    ApiError::Unavailable("the token issuer cannot be reached; try again shortly".into())
}

/// GET `url` as JSON (a few hundred kilobytes at most).
pub async fn fetch_json(http: &reqwest::Client, url: &str) -> Result<serde_json::Value, ApiError> {
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| unavailable(url, &e.to_string()))?;
    json_body(url, resp).await.map(|(v, _)| v)
}

/// The JSON body of `resp` and its `Cache-Control: max-age`, if any.
pub async fn json_body(
    url: &str,
    resp: reqwest::Response,
) -> Result<(serde_json::Value, Option<i64>), ApiError> {
    if !resp.status().is_success() {
        return Err(unavailable(url, &format!("answered {}", resp.status())));
    }
    let max_age = resp
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(max_age);
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| unavailable(url, &e.to_string()))?;
    if bytes.len() > 512 * 1024 {
        return Err(unavailable(url, "answered too much"));
    }
    let value = serde_json::from_slice(&bytes).map_err(|_| unavailable(url, "answered no JSON"))?;
    Ok((value, max_age))
}

/// `max-age` of a Cache-Control value; `no-store`/`no-cache` count as 0.
fn max_age(value: &str) -> Option<i64> {
    let mut age = None;
    for part in value.split(',').map(str::trim) {
        let lower = part.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(0);
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            age = v.trim_matches('"').parse::<i64>().ok();
        }
    }
    age
}

#[cfg(test)]
mod tests {
    use super::max_age;

    #[test]
    fn reads_max_age() {
        assert_eq!(max_age("public, max-age=900"), Some(900));
        assert_eq!(max_age("max-age=\"60\""), Some(60));
        assert_eq!(max_age("no-store"), Some(0));
        assert_eq!(max_age("public"), None);
    }
}
