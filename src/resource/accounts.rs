//! A bundled module's way to change people at Porta: the admin API, over HTTP, with the
//! module's own service-account token (client credentials). The module knows nothing of
//! Porta's internals; it works the same in `porta serve` and as its own process.

use std::time::{Duration, Instant};

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::ApiError;

/// Where the service account lives and how it signs in.
#[derive(Clone)]
pub struct AccountsConfig {
    /// The issuer (`{issuer}/token`, `{issuer}/admin/api/…`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
}

/// The admin API of Porta, for one service account.
pub struct AccountsApi {
    config: AccountsConfig,
    http: reqwest::Client,
    /// The current token and when to stop using it.
    token: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for AccountsApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountsApi")
            .field("issuer", &self.config.issuer)
            .field("client_id", &self.config.client_id)
            .finish_non_exhaustive()
    }
}

/// A person as a module's message needs them (from `GET /admin/api/users/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// BCP 47 (`pt-PT`), when the person chose one.
    pub locale: Option<String>,
    /// IANA zone (`Europe/Lisbon`), when known.
    pub zoneinfo: Option<String>,
    /// Not disabled (the admin API's `state` is `active`).
    pub active: bool,
}

/// The scope the module asks for (it includes reading people).
pub const SCOPE: &str = "admin:users:write";

impl AccountsApi {
    pub fn new(config: AccountsConfig) -> AccountsApi {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        AccountsApi {
            config,
            http,
            token: Mutex::new(None),
        }
    }

    fn unreachable(e: impl std::fmt::Display) -> ApiError {
        tracing::warn!(error = %e, "Porta's admin API could not be reached");
        ApiError::Unavailable("the identity provider could not be reached; try again".into())
    }

    /// A token for the admin API: the cached one while it has a minute left.
    async fn token(&self, fresh: bool) -> Result<String, ApiError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if !fresh && Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let resp = self
            .http
            .post(format!("{}/token", self.config.issuer))
            .basic_auth(
                &self.config.client_id,
                Some(self.config.client_secret.expose_secret()),
            )
            .form(&[("grant_type", "client_credentials"), ("scope", SCOPE)])
            .send()
            .await
            .map_err(Self::unreachable)?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(if status.is_server_error() {
                Self::unreachable(status)
            } else {
                tracing::error!(%status, %body, "the bookings service account was refused a token");
                ApiError::Conflict(format!(
                    "the identity provider refused this module's service account: {}",
                    body["error_description"]
                        .as_str()
                        .unwrap_or("no reason given")
                ))
            });
        }
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| Self::unreachable("no access_token in the token answer"))?
            .to_string();
        let life = body["expires_in"].as_u64().unwrap_or(60).saturating_sub(60);
        *cached = Some((token.clone(), Instant::now() + Duration::from_secs(life)));
        Ok(token)
    }

    /// Sends `method path` with `body`; a rejected token is fetched anew once. Answers the
    /// status and body of anything but a server error.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), ApiError> {
        let url = format!("{}{path}", self.config.issuer);
        for attempt in 0..2 {
            let token = self.token(attempt > 0).await?;
            let mut req = self.http.request(method.clone(), &url).bearer_auth(token);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = req.send().await.map_err(Self::unreachable)?;
            let status = resp.status();
            let answer: Value = resp.json().await.unwrap_or(Value::Null);
            if status.as_u16() == 401 && attempt == 0 {
                continue;
            }
            if status.is_server_error() {
                return Err(Self::unreachable(status));
            }
            return Ok((status.as_u16(), answer));
        }
        Err(Self::unreachable(
            "the admin API kept refusing a fresh token",
        ))
    }

    /// Calls `method path` with `body`; any refusal is a conflict.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        let (status, answer) = self.send(method, path, body).await?;
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        Err(ApiError::Conflict(format!(
            "the identity provider refused the account change: {}",
            answer["error_description"]
                .as_str()
                .unwrap_or("no reason given")
        )))
    }

    /// What a message to the person `subject` needs: `None` when Porta has no such person.
    pub async fn person(&self, subject: &str) -> Result<Option<Person>, ApiError> {
        let (status, answer) = self
            .send(Method::GET, &Self::user_path(subject), None)
            .await?;
        match status {
            200..=299 => Ok(Some(Person {
                email: answer["email"].as_str().map(str::to_string),
                email_verified: answer["email_verified"].as_bool().unwrap_or(false),
                name: answer["name"].as_str().map(str::to_string),
                locale: answer["locale"].as_str().map(str::to_string),
                zoneinfo: answer["zoneinfo"].as_str().map(str::to_string),
                active: answer["state"].as_str().is_none_or(|s| s == "active"),
            })),
            404 => Ok(None),
            _ => Err(ApiError::Conflict(format!(
                "the identity provider refused to show a person: {}",
                answer["error_description"]
                    .as_str()
                    .unwrap_or("no reason given")
            ))),
        }
    }

    fn user_path(subject: &str) -> String {
        format!(
            "/admin/api/users/{}",
            url::form_urlencoded::byte_serialize(subject.as_bytes()).collect::<String>()
        )
    }

    /// Gives (`add`) or takes the role `role` from the person `subject`.
    pub async fn set_role(&self, subject: &str, role: &str, add: bool) -> Result<(), ApiError> {
        let method = if add { Method::PUT } else { Method::DELETE };
        let path = format!("{}/roles/{role}", Self::user_path(subject));
        self.call(method, &path, None).await.map(|_| ())
    }

    /// Sets one custom attribute of the person `subject`.
    pub async fn set_attribute(
        &self,
        subject: &str,
        name: &str,
        value: Value,
    ) -> Result<(), ApiError> {
        let body = json!({ "attributes": { name: value } });
        self.call(Method::PATCH, &Self::user_path(subject), Some(body))
            .await
            .map(|_| ())
    }
}
