//! What a resource server needs to trust Porta's access tokens, and nothing of Porta's
//! internals: a [`Validator`] that checks a bearer token either against the issuer's JWKS
//! (fetched over HTTP, cached by its cache headers) or through RFC 7662 introspection, the
//! [`Caller`] extractor handlers receive, and RFC 6750 error answers.
//!
//! The bookings and content modules use only this module and `db`: the same code works
//! inside `porta serve` and as a separate process against a remote Porta.

pub mod accounts;
mod claims;
mod discovery;
mod error;
mod introspection;
mod jwks;
pub mod mail;
mod page;
pub mod signed;
pub mod upload;

use crate::web::bearer::Bearer;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::{web, FromRequest, HttpRequest};

pub use accounts::{AccountsApi, AccountsConfig};
pub use error::ApiError;
pub use page::{Paged, Pagination, MAX_PER_PAGE};

/// The verified caller of an API request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `sub`: the person's account id, or the client id for a client-credentials token.
    pub subject: String,
    /// The client the token was issued to.
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Roles of the person (present when the token was issued with the `roles` scope).
    pub roles: Vec<String>,
    /// `exp` of the token (unix seconds).
    pub expires_at: i64,
    /// The person's subscription, from the `subscription` claim (`{"plan", "expires_at"}`)
    /// or the `subscription_plan` + `subscription_expires` claims (custom attributes).
    pub subscription: Option<Subscription>,
}

/// A paid plan and when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub plan: String,
    /// Unix seconds; a date `YYYY-MM-DD` counts to the end of that day (UTC).
    pub expires_at: i64,
}

impl Subscription {
    pub fn is_active(&self, now: i64) -> bool {
        now < self.expires_at
    }
}

impl Caller {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// 403 `insufficient_scope` unless the token carries `scope`.
    pub fn require_scope(&self, scope: &str) -> Result<(), ApiError> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(ApiError::InsufficientScope(scope.to_string()))
        }
    }

    /// The subscription, when it has not expired.
    pub fn active_subscription(&self, now: i64) -> Option<&Subscription> {
        self.subscription.as_ref().filter(|s| s.is_active(now))
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// 403 `forbidden` unless the person has `role`.
    pub fn require_role(&self, role: &str) -> Result<(), ApiError> {
        if self.has_role(role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("this needs the {role} role")))
        }
    }

    /// True when the token stands for a person, not for a client acting on its own behalf
    /// (RFC 9068 2.2: a client-credentials token has the client id as `sub`).
    pub fn is_person(&self) -> bool {
        self.subject != self.client_id
    }

    /// `require_scope`, then `require_person`: an endpoint about the caller's own data.
    pub fn require_person_scope(&self, scope: &str) -> Result<(), ApiError> {
        self.require_scope(scope)?;
        self.require_person()
    }

    /// 403 `forbidden` for client-credentials tokens on endpoints about a person's own data.
    pub fn require_person(&self) -> Result<(), ApiError> {
        if self.is_person() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this needs a token issued to a person, not a client".into(),
            ))
        }
    }
}

/// How tokens are checked.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Verify the JWT locally with keys from the issuer's JWKS.
    Jwks,
    /// Ask the issuer's introspection endpoint (RFC 7662) with these client credentials.
    Introspection {
        client_id: String,
        client_secret: secrecy::SecretString,
    },
}

/// Everything a [`Validator`] needs to know.
#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    /// The expected `iss`; discovery is fetched from `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// The audience this API accepts in `aud`.
    pub audience: String,
    pub mode: Mode,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway: i64,
    /// Shortest time between two JWKS fetches caused by an unknown `kid`, in seconds.
    pub refetch_interval: i64,
    /// How long an introspection answer may be reused, in seconds (0 = ask every time).
    pub introspection_cache: i64,
}

/// Checks bearer tokens; cheap to clone (shared state inside).
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

struct Inner {
    config: ValidatorConfig,
    http: reqwest::Client,
    jwks: jwks::JwksCache,
    introspection: introspection::IntrospectionCache,
}

impl Validator {
    pub fn new(config: ValidatorConfig) -> Validator {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Validator {
            inner: Arc::new(Inner {
                jwks: jwks::JwksCache::new(),
                introspection: introspection::IntrospectionCache::new(),
                config,
                http,
            }),
        }
    }

    pub fn config(&self) -> &ValidatorConfig {
        &self.inner.config
    }

    /// Checks `token` and returns its caller, or `ApiError::InvalidToken`.
    pub async fn validate(&self, token: &str) -> Result<Caller, ApiError> {
        let inner = &self.inner;
        match &inner.config.mode {
            Mode::Jwks => inner.jwks.validate(&inner.http, &inner.config, token).await,
            Mode::Introspection {
                client_id,
                client_secret,
            } => {
                inner
                    .introspection
                    .validate(
                        &inner.http,
                        &inner.config,
                        client_id,
                        secrecy::ExposeSecret::expose_secret(client_secret),
                        token,
                    )
                    .await
            }
        }
    }
}

/// The token of an `Authorization: Bearer` header (RFC 6750 2.1). Tokens in query strings
/// and form bodies are not accepted: they leak into logs and browser history.
fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    match crate::web::bearer::bearer(req) {
        Bearer::Token(token) => Ok(token),
        Bearer::Missing | Bearer::OtherScheme => Err(ApiError::NoToken),
        Bearer::NotText => Err(ApiError::InvalidRequest(
            "the Authorization header is not text".into(),
        )),
        Bearer::Empty | Bearer::TooLong(_) => {
            Err(ApiError::InvalidToken("the token is malformed".into()))
        }
    }
}

/// The per-caller limit on writes (POST, PUT, PATCH, DELETE) to the APIs: `api_write_limit`
/// per `api_write_window` seconds for each token subject, in memory on each node. Reads are
/// not counted. As app data; without it, no limit.
#[derive(Clone)]
pub struct WriteLimit {
    bucket: Option<crate::web::limit::Bucket<String>>,
    checks: Arc<std::sync::atomic::AtomicU64>,
}

impl WriteLimit {
    /// `None` when `count` is 0 (off).
    pub fn new(count: u32, window: u64) -> Option<WriteLimit> {
        Some(WriteLimit {
            bucket: Some(crate::web::limit::Bucket::per_window(count, window)?),
            checks: Arc::default(),
        })
    }

    /// No limit: as a route's own app data, it exempts that route (a player's periodic
    /// progress saves, say) from the API-wide limit.
    pub fn off() -> WriteLimit {
        WriteLimit {
            bucket: None,
            checks: Arc::default(),
        }
    }

    /// Takes one write for `subject`, or 429 with the seconds to wait.
    pub fn take(&self, subject: &str) -> Result<(), ApiError> {
        let Some(bucket) = &self.bucket else {
            return Ok(());
        };
        let n = self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % 4096 == 4095 {
            // Bounded memory: forget callers whose allowance is full again.
            bucket.forget_idle();
        }
        bucket.take(&subject.to_string()).map_err(|wait| {
            let seconds = crate::web::limit::retry_after(wait);
            ApiError::TooMany(
                format!("too many changes; try again in {seconds} s"),
                seconds,
            )
        })
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let validator = req.app_data::<web::Data<Validator>>().cloned();
        let token = bearer(req).map(str::to_string);
        let limit = match *req.method() {
            actix_web::http::Method::GET
            | actix_web::http::Method::HEAD
            | actix_web::http::Method::OPTIONS => None,
            _ => req.app_data::<web::Data<WriteLimit>>().cloned(),
        };
        Box::pin(async move {
            let validator = validator
                .ok_or_else(|| ApiError::Internal("no token validator is configured".into()))?;
            let caller = validator.validate(&token?).await?;
            if let Some(limit) = limit {
                limit.take(&caller.subject)?;
            }
            Ok(caller)
        })
    }
}

/// A scope for a JSON API under `path`: malformed JSON, query strings and path segments
/// answer `400 invalid_request` as JSON instead of an HTML page.
pub fn api_scope(path: &str) -> actix_web::Scope {
    web::scope(path)
        .app_data(
            web::JsonConfig::default()
                .limit(64 * 1024)
                .error_handler(|err, _| ApiError::InvalidRequest(err.to_string()).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|err, _| ApiError::InvalidRequest(err.to_string()).into()),
        )
        .app_data(
            web::PathConfig::default()
                .error_handler(|err, _| ApiError::InvalidRequest(err.to_string()).into()),
        )
        .default_service(web::to(not_found))
}

/// 404 as JSON, for addresses no API route matches.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound(
        "there is nothing at this address".into(),
    ))
}

/// For `middleware::ErrorHandlers`: a known API path with the wrong method answers JSON
/// like every other refusal, not an empty 405.
pub fn json_method_not_allowed<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    use actix_web::middleware::ErrorHandlerResponse;
    if !res.request().path().starts_with("/api/") {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    // RFC 9110 15.5.6: a 405 names the methods the resource does take (actix's answer has
    // them in `Allow`; keep it).
    let allow = res.headers().get(actix_web::http::header::ALLOW).cloned();
    let (req, _) = res.into_parts();
    let mut resp = actix_web::HttpResponse::MethodNotAllowed().json(serde_json::json!({
        "error": "invalid_request",
        "error_description": "this address does not take this method"
    }));
    if let Some(allow) = allow {
        resp.headers_mut()
            .insert(actix_web::http::header::ALLOW, allow);
    }
    Ok(ErrorHandlerResponse::Response(
        actix_web::dev::ServiceResponse::new(req, resp).map_into_right_body(),
    ))
}

/// Whole numbers from JSON as JSON Schema counts them: `integer` is any number without a
/// fractional part, so `5.0` is as good as `5` (serde's `i64` alone refuses it). For
/// `#[serde(deserialize_with = "…")]` on the API's integer fields.
pub mod whole {
    use serde::{de::Error, Deserialize, Deserializer};

    fn of<E: Error>(n: serde_json::Number) -> Result<i64, E> {
        if let Some(i) = n.as_i64() {
            return Ok(i);
        }
        match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => {
                Ok(f as i64)
            }
            _ => Err(E::custom(format!("{n} is not a whole number in range"))),
        }
    }

    /// A required whole number.
    pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        of(serde_json::Number::deserialize(d)?)
    }

    /// An optional whole number (`null` or missing: `None`; use with `#[serde(default)]`).
    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Option::<serde_json::Number>::deserialize(d)?
            .map(of)
            .transpose()
    }

    #[cfg(test)]
    mod tests {
        #[derive(serde::Deserialize)]
        struct Form {
            #[serde(deserialize_with = "super::number")]
            n: i64,
            #[serde(default, deserialize_with = "super::optional")]
            o: Option<i64>,
        }

        #[test]
        fn whole_floats_count_and_fractions_do_not() {
            let f: Form = serde_json::from_str(r#"{"n": 1807.0, "o": 3}"#).unwrap();
            assert_eq!((f.n, f.o), (1807, Some(3)));
            let f: Form = serde_json::from_str(r#"{"n": -2, "o": null}"#).unwrap();
            assert_eq!((f.n, f.o), (-2, None));
            let f: Form = serde_json::from_str(r#"{"n": 1}"#).unwrap();
            assert_eq!(f.o, None);
            for bad in [r#"{"n": 1.5}"#, r#"{"n": 1e300}"#, r#"{"n": "1"}"#] {
                assert!(serde_json::from_str::<Form>(bad).is_err(), "{bad}");
            }
        }
    }
}
