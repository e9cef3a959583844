//! The handles a request needs, assembled once by `app::prepare`: settings, the database
//! pool, the signing keys, the master key, the client cache and the notifier. Page and API
//! modules take `web::Data<AppState>`; domain logic never sees it and takes the narrow
//! handles below (`codes()`, `factors()`, `tokens()`) or the pool alone.

use std::sync::Arc;

use crate::audit::Origin;
use crate::clients::{Client, ClientCache};
use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::db::{DbError, DbPool};
use crate::keys::KeyRing;
use crate::notify::Notifier;
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
    /// Email (and SMS) delivery.
    pub notifier: Arc<Notifier>,
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
    pub async fn client(&self, id: String) -> Result<Option<Client>, DbError> {
        self.clients.get(&self.pool, id).await
    }

    /// An absolute URL on this issuer.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings.server.issuer, path)
    }

    /// Where a request came from (for the audit log and per-IP throttles): the client IP,
    /// forwarded by a proxy only when `trust_proxy_headers` is on, and the user agent.
    pub fn origin(&self, req: &actix_web::HttpRequest) -> Origin {
        Origin::of(req, self.settings.server.trust_proxy_headers)
    }

    /// One-time codes: the pool, the notifier and the code rules.
    pub fn codes(&self) -> otp::Codes<'_> {
        otp::Codes {
            pool: &self.pool,
            notifier: &self.notifier,
            rules: &self.settings.otp,
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
        }
    }
}
