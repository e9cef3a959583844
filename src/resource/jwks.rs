//! JWKS mode: RS256 signatures checked locally with the issuer's published keys.
//!
//! The key set is cached for the `max-age` the issuer sends (Porta: `jwks_max_age`). A
//! token naming an unknown `kid` makes one refetch, at most once per `refetch_interval`,
//! so a key that was rotated in is picked up without a restart while forged kids cannot
//! turn every request into a call to the issuer.

use std::collections::HashMap;

use josekit::jwk::Jwk;
use josekit::jws::alg::rsassa::RsassaJwsVerifier;
use josekit::jws::RS256;
use tokio::sync::{Mutex, RwLock};

use super::discovery::{self, Discovery};
use super::{claims, ApiError, Caller, ValidatorConfig};

/// Used when the issuer sends no `max-age`.
const DEFAULT_MAX_AGE: i64 = 300;
/// Keys are never trusted longer than this without asking again.
const LONGEST_MAX_AGE: i64 = 24 * 3600;

#[derive(Default)]
struct Keys {
    verifiers: HashMap<String, RsassaJwsVerifier>,
    fresh_until: i64,
    /// Monotonic, sub-second: the refetch limit must not round to whole seconds.
    fetched_at: Option<std::time::Instant>,
}

/// The cached key set.
pub struct JwksCache {
    discovery: Discovery,
    keys: RwLock<Keys>,
    /// One fetch at a time; callers that waited see its result.
    fetching: Mutex<()>,
}

fn invalid(why: &str) -> ApiError {
    ApiError::InvalidToken(why.to_string())
}

impl JwksCache {
    pub fn new() -> JwksCache {
        JwksCache {
            discovery: Discovery::new(),
            keys: RwLock::new(Keys::default()),
            fetching: Mutex::new(()),
        }
    }

    pub async fn validate(
        &self,
        http: &reqwest::Client,
        config: &ValidatorConfig,
        token: &str,
    ) -> Result<Caller, ApiError> {
        let kid = access_token_kid(token)?;
        let payload = self.verify(http, config, &kid, token).await?;
        claims::caller(config, payload.claims_set())
    }

    async fn verify(
        &self,
        http: &reqwest::Client,
        config: &ValidatorConfig,
        kid: &str,
        token: &str,
    ) -> Result<josekit::jwt::JwtPayload, ApiError> {
        let now = chrono::Utc::now().timestamp();
        {
            let keys = self.keys.read().await;
            if keys.fresh_until > now {
                if let Some(v) = keys.verifiers.get(kid) {
                    return decode(token, v);
                }
            }
        }
        self.refresh(http, config, kid, now).await?;
        let keys = self.keys.read().await;
        match keys.verifiers.get(kid) {
            Some(v) => decode(token, v),
            // No keys at all: the issuer has not answered yet, and the token may well be
            // good; 401 would make clients throw it away.
            None if keys.verifiers.is_empty() => Err(ApiError::Unavailable(
                "the token issuer cannot be reached; try again shortly".into(),
            )),
            None => Err(invalid(
                "the token was signed by a key the issuer does not publish",
            )),
        }
    }

    /// Fetches the key set when it is stale, or when `kid` is unknown and the last fetch
    /// is older than `refetch_interval`.
    async fn refresh(
        &self,
        http: &reqwest::Client,
        config: &ValidatorConfig,
        kid: &str,
        now: i64,
    ) -> Result<(), ApiError> {
        let _one_at_a_time = self.fetching.lock().await;
        {
            let keys = self.keys.read().await;
            let stale = keys.fresh_until <= now;
            let known = keys.verifiers.contains_key(kid);
            let recently = keys.fetched_at.is_some_and(|t| {
                t.elapsed() < std::time::Duration::from_secs(config.refetch_interval as u64)
            });
            // Someone else fetched while we waited, or the last fetch was too recent
            // (the rate limit against forged kids and issuers that say no-store).
            if (!stale && known) || recently {
                return Ok(());
            }
        }
        let fetched = self.fetch(http, config).await;
        let mut keys = self.keys.write().await;
        keys.fetched_at = Some(std::time::Instant::now());
        match fetched {
            Ok((verifiers, max_age)) => {
                keys.verifiers = verifiers;
                keys.fresh_until = now + max_age;
                Ok(())
            }
            // Keep serving with the keys we have: an issuer outage must not stop tokens
            // that were already verifiable.
            Err(_) if !keys.verifiers.is_empty() => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        config: &ValidatorConfig,
    ) -> Result<(HashMap<String, RsassaJwsVerifier>, i64), ApiError> {
        let endpoints = self.discovery.get(http, config).await?;
        let url = endpoints.jwks_uri;
        let resp = http
            .get(&url)
            .send()
            .await
            .map_err(|e| discovery::unavailable(&url, &e.to_string()))?;
        let (set, max_age) = discovery::json_body(&url, resp).await?;
        let mut verifiers = HashMap::new();
        for key in set["keys"].as_array().into_iter().flatten() {
            let usable = key["kty"] == "RSA"
                && key.get("use").is_none_or(|u| u == "sig")
                && key.get("alg").is_none_or(|a| a == "RS256");
            let Some(kid) = key["kid"].as_str() else {
                continue;
            };
            if !usable {
                continue;
            }
            let Some(map) = key.as_object() else { continue };
            let verifier = Jwk::from_map(map.clone())
                .ok()
                .and_then(|jwk| RS256.verifier_from_jwk(&jwk).ok());
            match verifier {
                Some(v) => {
                    verifiers.insert(kid.to_string(), v);
                }
                None => tracing::warn!(%kid, "skipping an unusable key in the issuer's JWKS"),
            }
        }
        let max_age = max_age.unwrap_or(DEFAULT_MAX_AGE).clamp(0, LONGEST_MAX_AGE);
        tracing::debug!(keys = verifiers.len(), max_age, "fetched the issuer's JWKS");
        Ok((verifiers, max_age))
    }
}

/// Reads an access token's header: RS256 only (RFC 8725 3.1: never none or HS*), `typ`
/// `at+jwt` (RFC 9068 4: an id token must not pass as one), and the `kid` to verify with.
pub(crate) fn access_token_kid(token: &str) -> Result<String, ApiError> {
    let header =
        josekit::jwt::decode_header(token).map_err(|_| invalid("the token is not a JWT"))?;
    if header.claim("alg").and_then(|v| v.as_str()) != Some("RS256") {
        return Err(invalid("the token must be signed with RS256"));
    }
    let typ = header.claim("typ").and_then(|v| v.as_str()).unwrap_or("");
    if !typ.eq_ignore_ascii_case("at+jwt") && !typ.eq_ignore_ascii_case("application/at+jwt") {
        return Err(invalid("the token is not an access token (typ at+jwt)"));
    }
    Ok(header
        .claim("kid")
        .and_then(|v| v.as_str())
        .filter(|k| !k.is_empty() && k.len() <= 256)
        .ok_or_else(|| invalid("the token names no key (kid)"))?
        .to_string())
}

fn decode(token: &str, verifier: &RsassaJwsVerifier) -> Result<josekit::jwt::JwtPayload, ApiError> {
    josekit::jwt::decode_with_verifier(token, verifier)
        .map(|(payload, _)| payload)
        .map_err(|_| invalid("the token signature is not valid"))
}

#[cfg(test)]
mod properties {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use proptest::prelude::*;

    use super::access_token_kid;

    fn token_with(header: &serde_json::Value) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode("{}")
        )
    }

    proptest! {
        #[test]
        fn any_text_is_refused_or_read_never_a_panic(token in ".{0,400}") {
            let _ = access_token_kid(&token);
        }

        #[test]
        fn only_rs256_access_tokens_name_their_key(
            alg in prop::sample::select(vec!["RS256", "none", "HS256", "ES256", "rs256"]),
            typ in prop::sample::select(vec!["at+jwt", "AT+JWT", "application/at+jwt", "JWT", ""]),
            kid in "[A-Za-z0-9_-]{0,300}",
        ) {
            let token = token_with(&serde_json::json!({ "alg": alg, "typ": typ, "kid": kid }));
            let accepted = alg == "RS256"
                && matches!(typ.to_ascii_lowercase().as_str(), "at+jwt" | "application/at+jwt")
                && !kid.is_empty()
                && kid.len() <= 256;
            prop_assert_eq!(access_token_kid(&token).ok(), accepted.then(|| kid.to_string()));
        }
    }
}
