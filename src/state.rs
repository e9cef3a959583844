//! The handles a request needs, assembled once by `app::prepare`: settings, the database
//! pool, the signing keys, the master key, the client cache, the outbox and the hashing pool. Page and API
//! modules take `web::Data<AppState>`; domain logic never sees it and takes the narrow
//! handles below (`codes()`, `factors()`, `tokens()`) or the pool alone.

use std::sync::Arc;

use crate::audit::Origin;
use crate::clients::{Client, ClientCache};
use crate::config::Settings;
use crate::crypto::{Hasher, MasterKey};
use crate::db::{DbError, DbPool};
use crate::keys::KeyRing;
use crate::notify::Outbox;
use crate::{mfa, otp, tokens};

/// What every page and API handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub pool: DbPool,
    pub keys: KeyRing,
    pub master: MasterKey,
    /// The discovery document, rendered once at start.
    pub discovery_json: String,
    /// Recently read clients.
    pub clients: Arc<ClientCache>,
    /// Email and SMS: queued here, delivered by the outbox worker.
    pub outbox: Outbox,
    /// The bounded pool every password hash runs on.
    pub hasher: Hasher,
    /// Which proxies' forwarded client addresses to believe.
    pub proxies: crate::web::ProxyTrust,
    /// Requests per OAuth client at the token endpoints (`None`: no limit).
    pub client_rate: Option<crate::web::limit::Bucket<String>>,
    /// Held by every clone of the state: background work for this state (the outbox
    /// worker) stops once the last clone is gone.
    pub lifeline: Arc<()>,
    /// Plain words for the scopes of the APIs Porta issues tokens for (shown at consent),
    /// declared by each API module and handed over by `app`.
    pub api_scopes: Arc<[(&'static str, &'static str)]>,
}

impl AppState {
    /// Secure, `__Host-` cookies when the issuer is https.
    pub fn secure_cookies(&self) -> bool {
        self.settings.secure_cookies()
    }

    /// A registered client (briefly cached; see `ClientCache`).
    /// An enabled client: a disabled one is unknown to every protocol endpoint (it cannot
    /// authenticate, start a sign-in, introspect or revoke).
    pub async fn client(&self, id: String) -> Result<Option<Client>, DbError> {
        Ok(self
            .clients
            .get(&self.pool, id)
            .await?
            .filter(Client::is_enabled))
    }

    /// An absolute URL on this issuer.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings.server.issuer, path)
    }

    /// Where a request came from (for the audit log and per-IP throttles): the client IP,
    /// forwarded by a proxy only when `trust_proxy_headers` is on, and the user agent.
    pub fn origin(&self, req: &actix_web::HttpRequest) -> Origin {
        Origin::of(req, &self.proxies)
    }

    /// One-time codes: the pool, the outbox, the code rules and the master key.
    pub fn codes(&self) -> otp::Codes<'_> {
        otp::Codes {
            pool: &self.pool,
            outbox: &self.outbox,
            rules: &self.settings.otp,
            master: &self.master,
            ip: None,
            prepaid: false,
        }
    }

    /// Second factors: the pool and the master key that seals TOTP secrets.
    pub fn factors(&self) -> mfa::Factors<'_> {
        mfa::Factors {
            pool: &self.pool,
            master: &self.master,
        }
    }

    /// Minting and checking tokens: keys, pool, issuer, audience and lifetimes.
    pub fn tokens(&self) -> tokens::Tokens<'_> {
        tokens::Tokens {
            keys: &self.keys,
            pool: &self.pool,
            master: &self.master,
            issuer: &self.settings.server.issuer,
            audience: self.settings.audience(),
            ttl: &self.settings.tokens,
            attributes: &self.settings.attributes.attributes,
        }
    }
}
