//! Introspection mode (RFC 7662): the issuer says whether a token is active, so a revoked
//! token is refused on its next use. Active answers may be reused for
//! `introspection_cache` seconds (0 by default: ask every time); inactive ones for a
//! minute, since an inactive token never comes back.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::discovery::{self, Discovery};
use super::{claims, ApiError, Caller, ValidatorConfig};

/// Most answers kept; the cache is emptied when it is full.
const MAX_ENTRIES: usize = 10_000;
/// A token found inactive (expired, revoked, unknown) never becomes active again, so a
/// "no" is kept this long even with `introspection_cache` 0: replayed junk tokens do not
/// each cost the issuer a call.
const NEGATIVE_TTL: i64 = 60;
/// Most introspection calls in flight at once; more wait their turn.
const MAX_IN_FLIGHT: usize = 32;

/// An answer (the caller, or why the token is not valid) and until when it may be reused.
type Answer = (Result<Caller, String>, i64);

/// Recent answers by SHA-256 of the token.
pub struct IntrospectionCache {
    discovery: Discovery,
    answers: Mutex<HashMap<[u8; 32], Answer>>,
    in_flight: tokio::sync::Semaphore,
}

impl IntrospectionCache {
    pub fn new() -> IntrospectionCache {
        IntrospectionCache {
            discovery: Discovery::new(),
            answers: Mutex::new(HashMap::new()),
            in_flight: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
        }
    }

    pub async fn validate(
        &self,
        http: &reqwest::Client,
        config: &ValidatorConfig,
        client_id: &str,
        client_secret: &str,
        token: &str,
    ) -> Result<Caller, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some((answer, until)) = self.answers.lock().await.get(&key) {
            if *until > now {
                return answer.clone().map_err(ApiError::InvalidToken);
            }
        }
        let answer = {
            let _turn = self
                .in_flight
                .acquire()
                .await
                .map_err(|_| ApiError::Unavailable("shutting down".into()))?;
            self.ask(http, config, client_id, client_secret, token)
                .await?
        };
        // Yes-answers only for `introspection_cache` and never past the token's expiry
        // (0: not at all, so a revocation counts on the next request); no-answers longer.
        let until = match &answer {
            Ok(caller) => (now + config.introspection_cache).min(caller.expires_at),
            Err(_) => now + NEGATIVE_TTL.max(config.introspection_cache),
        };
        if until > now {
            let mut answers = self.answers.lock().await;
            if answers.len() >= MAX_ENTRIES {
                answers.clear();
            }
            answers.insert(key, (answer.clone(), until));
        }
        answer.map_err(ApiError::InvalidToken)
    }

    /// Asks the issuer; `Ok(Err(reason))` is a definite "not valid".
    async fn ask(
        &self,
        http: &reqwest::Client,
        config: &ValidatorConfig,
        client_id: &str,
        client_secret: &str,
        token: &str,
    ) -> Result<Result<Caller, String>, ApiError> {
        let endpoints = self.discovery.get(http, config).await?;
        let url = endpoints.introspection_endpoint.ok_or_else(|| {
            discovery::unavailable(&config.issuer, "publishes no introspection_endpoint")
        })?;
        let resp = http
            .post(&url)
            .basic_auth(client_id, Some(client_secret))
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|e| discovery::unavailable(&url, &e.to_string()))?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
            tracing::error!(
                "the issuer refused this API's client credentials (resource_client_id)"
            );
            return Err(ApiError::Unavailable(
                "this API cannot check tokens right now".into(),
            ));
        }
        let (body, _) = discovery::json_body(&url, resp).await?;
        if body["active"] != true {
            return Ok(Err(
                "the token is not active (expired, revoked or unknown)".into()
            ));
        }
        let Some(map) = body.as_object() else {
            return Ok(Err("the issuer's answer is not an object".into()));
        };
        match claims::caller(config, map) {
            Ok(caller) => Ok(Ok(caller)),
            Err(ApiError::InvalidToken(why)) => Ok(Err(why)),
            Err(e) => Err(e),
        }
    }
}
