//! The issuer's discovery document, fetched once and kept (its endpoints do not move).

use tokio::sync::Mutex;

use super::{ApiError, ValidatorConfig};

/// The endpoints a resource server needs.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub jwks_uri: String,
    pub introspection_endpoint: Option<String>,
}

/// After a failed fetch, requests answer 503 at once for this long instead of queueing
/// behind another attempt.
const FAILURE_BACKOFF: std::time::Duration = std::time::Duration::from_secs(5);

/// Discovery, fetched on first use (and again after a failure, once the backoff passed).
pub struct Discovery {
    cached: Mutex<(Option<Endpoints>, Option<std::time::Instant>)>,
}

impl Discovery {
    pub fn new() -> Discovery {
        Discovery {
            cached: Mutex::new((None, None)),
        }
    }

    /// The endpoints; fetches `{issuer}/.well-known/openid-configuration` when not known.
    pub async fn get(
        &self,
        http: &reqwest::Client,
        config: &ValidatorConfig,
    ) -> Result<Endpoints, ApiError> {
        let mut cached = self.cached.lock().await;
        if let Some(e) = cached.0.as_ref() {
            return Ok(e.clone());
        }
        if cached.1.is_some_and(|t| t.elapsed() < FAILURE_BACKOFF) {
            return Err(ApiError::Unavailable(
                "the token issuer cannot be reached; try again shortly".into(),
            ));
        }
        let url = format!("{}/.well-known/openid-configuration", config.issuer);
        let doc = match fetch_json(http, &url).await {
            Ok(doc) => doc,
            Err(e) => {
                cached.1 = Some(std::time::Instant::now());
                return Err(e);
            }
        };
        // OIDC Discovery 4.3: the document must name exactly the issuer we asked.
        if doc["issuer"].as_str() != Some(config.issuer.as_str()) {
            return Err(unavailable(&url, "names another issuer"));
        }
        let jwks_uri = doc["jwks_uri"]
            .as_str()
            .ok_or_else(|| unavailable(&url, "has no jwks_uri"))?
            .to_string();
        let introspection_endpoint = doc["introspection_endpoint"].as_str().map(str::to_string);
        // Keys and (in introspection mode) the API's secret only go to the issuer's own
        // origin, whatever a tampered or misconfigured document says.
        for endpoint in std::iter::once(&jwks_uri).chain(introspection_endpoint.as_ref()) {
            if !same_origin(&config.issuer, endpoint) {
                cached.1 = Some(std::time::Instant::now());
                return Err(unavailable(&url, "points to another origin"));
            }
        }
        let endpoints = Endpoints {
            jwks_uri,
            introspection_endpoint,
        };
        *cached = (Some(endpoints.clone()), None);
        Ok(endpoints)
    }
}

/// True when `endpoint` has the scheme, host and port of `issuer`.
fn same_origin(issuer: &str, endpoint: &str) -> bool {
    match (url::Url::parse(issuer), url::Url::parse(endpoint)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

pub fn unavailable(url: &str, why: &str) -> ApiError {
    tracing::warn!(%url, reason = why, "token issuer unavailable");
    ApiError::Unavailable("the token issuer cannot be reached; try again shortly".into())
}

/// The largest discovery document, JWKS or introspection answer read.
const MAX_BODY: usize = 512 * 1024;

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
    // Read at most MAX_BODY bytes, whatever Content-Length claims.
    let mut resp = resp;
    let mut bytes = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| unavailable(url, &e.to_string()))?
    {
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(unavailable(url, "answered too much"));
        }
        bytes.extend_from_slice(&chunk);
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
    fn endpoints_must_share_the_issuers_origin() {
        use super::same_origin;
        assert!(same_origin(
            "https://id.example.com",
            "https://id.example.com/jwks"
        ));
        assert!(!same_origin(
            "https://id.example.com",
            "https://evil.example/jwks"
        ));
        assert!(!same_origin(
            "https://id.example.com",
            "http://id.example.com/jwks"
        ));
        assert!(!same_origin(
            "http://127.0.0.1:8080",
            "http://127.0.0.1:9090/jwks"
        ));
    }

    #[test]
    fn reads_max_age() {
        assert_eq!(max_age("public, max-age=900"), Some(900));
        assert_eq!(max_age("max-age=\"60\""), Some(60));
        assert_eq!(max_age("no-store"), Some(0));
        assert_eq!(max_age("public"), None);
    }
}
