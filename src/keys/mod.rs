//! Signing keys: RSA-2048 keys stored encrypted, the active signer, the published JWKS and
//! token signature checks.

pub mod rotation;
pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::alg::rsassa::{RsassaJwsSigner, RsassaJwsVerifier};
use josekit::jws::{JwsHeader, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Map, Value};

use crate::crypto::{self, MasterKey};
use crate::db::{self, DbError, DbPool};

pub use store::KeyRow;

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation or parsing failed: {0}")]
    Jose(#[from] josekit::JoseError),
    #[error("private key cannot be decrypted: {0}")]
    Decrypt(String),
    #[error("no active signing key")]
    NoActiveKey,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Everything needed to sign and verify, loaded from the database.
pub struct KeySet {
    active_kid: String,
    active_since: i64,
    signer: RsassaJwsSigner,
    verifiers: HashMap<String, RsassaJwsVerifier>,
    /// The JWKS document, rendered once.
    pub jwks_json: String,
    /// Tokens whose signature was already checked with this key set, by SHA-256 of the
    /// token: resource servers introspect the same token many times in its life, and an
    /// RSA verification costs far more than a hash. Replaced with the key set, so a key
    /// removed from the JWKS takes its cached tokens with it.
    verified: std::sync::Mutex<HashMap<[u8; 32], Arc<Verified>>>,
}

/// A token whose signature checked out: its `typ` header and claims.
#[derive(Debug)]
pub struct Verified {
    pub typ: Option<String>,
    pub claims: Map<String, Value>,
}

/// How many verified tokens are remembered before the cache starts over.
const VERIFIED_CACHE_MAX: usize = 20_000;

/// Shared, swappable key set (a rotation replaces the whole set at once).
#[derive(Clone)]
pub struct KeyRing(
    Arc<RwLock<Arc<KeySet>>>,
    Arc<std::sync::Mutex<std::time::Instant>>,
);

/// Least time between reloads caused by tokens with an unknown `kid` (forged kids must
/// not turn into a database flood).
const UNKNOWN_KID_RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

impl KeyRing {
    /// Loads the keys from the database, creating the first key if there is none.
    pub async fn load(pool: &DbPool, master: &MasterKey) -> Result<KeyRing, KeyError> {
        ensure_active_key(pool, master).await?;
        let set = load_set(pool, master).await?;
        Ok(KeyRing(
            Arc::new(RwLock::new(Arc::new(set))),
            Arc::new(std::sync::Mutex::new(std::time::Instant::now())),
        ))
    }

    /// Re-reads the keys from the database.
    pub async fn reload(&self, pool: &DbPool, master: &MasterKey) -> Result<(), KeyError> {
        let set = load_set(pool, master).await?;
        if let Ok(mut guard) = self.0.write() {
            *guard = Arc::new(set);
        }
        if let Ok(mut at) = self.1.lock() {
            *at = std::time::Instant::now();
        }
        Ok(())
    }

    /// Reloads when a token names a `kid` this node does not know (another node may have
    /// rotated moments ago), at most once per `UNKNOWN_KID_RELOAD_EVERY`. True if reloaded.
    pub async fn reload_for_unknown_kid(
        &self,
        token: &str,
        pool: &DbPool,
        master: &MasterKey,
    ) -> bool {
        let Some(kid) = token_kid(token) else {
            return false;
        };
        if self.current().verifiers.contains_key(&kid) {
            return false;
        }
        let due = match self.1.lock() {
            Ok(mut at) if at.elapsed() >= UNKNOWN_KID_RELOAD_EVERY => {
                *at = std::time::Instant::now();
                true
            }
            _ => false,
        };
        due && self.reload(pool, master).await.is_ok()
    }

    /// The current key set.
    pub fn current(&self) -> Arc<KeySet> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl KeySet {
    /// When the active key started signing.
    pub fn active_since(&self) -> i64 {
        self.active_since
    }

    /// The id of the key that signs.
    pub fn active_kid(&self) -> &str {
        &self.active_kid
    }

    /// Signs `claims` as an RS256 JWT with `typ` in the header and the active `kid`.
    pub fn sign(&self, typ: &str, claims: Map<String, Value>) -> Result<String, KeyError> {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&self.active_kid);
        let payload = JwtPayload::from_map(claims)?;
        Ok(jwt::encode_with_signer(&payload, &header, &self.signer)?)
    }

    /// Like `verify`, remembering the result until the token's `exp`.
    pub fn verify_cached(&self, token: &str) -> Option<Arc<Verified>> {
        use sha2::Digest;
        let key: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let now = crate::time::now();
        if let Ok(cache) = self.verified.lock() {
            if let Some(v) = cache.get(&key) {
                let exp = v.claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
                if exp > now {
                    return Some(v.clone());
                }
            }
        }
        let (header, claims) = self.verify(token)?;
        let verified = Arc::new(Verified {
            typ: header.token_type().map(str::to_string),
            claims,
        });
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= VERIFIED_CACHE_MAX {
                cache.retain(|_, v| v.claims.get("exp").and_then(Value::as_i64).unwrap_or(0) > now);
                if cache.len() >= VERIFIED_CACHE_MAX {
                    cache.clear();
                }
            }
            cache.insert(key, verified.clone());
        }
        Some(verified)
    }

    /// Checks an RS256 signature by a key Porta publishes; returns the header and claims.
    /// Expiry and token type are the caller's to check.
    pub fn verify(&self, token: &str) -> Option<(JwsHeader, Map<String, Value>)> {
        let (payload, header) = jwt::decode_with_verifier_selector(token, |header| {
            if header.algorithm() != Some("RS256") {
                return Ok(None);
            }
            Ok(header
                .key_id()
                .and_then(|kid| self.verifiers.get(kid))
                .map(|v| v as &dyn josekit::jws::JwsVerifier))
        })
        .ok()?;
        Some((header, payload.claims_set().clone()))
    }
}

/// A key as `keys list` and the admin API show it (never private material).
pub fn describe(k: &KeyRow, settings: &crate::config::Settings) -> serde_json::Value {
    let retires = match k.state.as_str() {
        // The active key's planned end is the next rotation.
        "active" => Some(k.activates_at + settings.keys.key_rotation_period),
        _ => k.retires_at,
    };
    serde_json::json!({
        "kid": k.kid,
        "state": k.state,
        "created": k.created_at,
        "activates": k.activates_at,
        "retires": retires,
        "removed_after": k.retires_at.map(|t| t + settings.key_retention()),
    })
}

/// The `kid` in a JWT's header, without checking anything.
fn token_kid(token: &str) -> Option<String> {
    let header = jwt::decode_header(token).ok()?;
    header.claim("kid")?.as_str().map(str::to_string)
}

async fn ensure_active_key(pool: &DbPool, master: &MasterKey) -> Result<(), KeyError> {
    let master = master.clone();
    let created = db::run(pool, move |conn| {
        if store::active(conn)?.is_some() {
            return Ok(None);
        }
        let row = new_key_row(&master, "active").map_err(|e| {
            tracing::error!(error = %e, "signing key generation failed");
            DbError::Cancelled
        })?;
        // Only the insert waits at the write gate: the key was made outside it.
        if db::write(conn, |c| store::insert_unless_taken(c, &row))? == 0 {
            return Ok(None); // another node made the first key at the same moment
        }
        Ok(Some(row.kid))
    })
    .await?;
    if let Some(kid) = created {
        tracing::info!(%kid, "created the first RS256 signing key");
    }
    Ok(())
}

/// Generates an RSA-2048 key pair and seals its private half under the master key.
pub fn new_key_row(master: &MasterKey, state: &str) -> Result<KeyRow, KeyError> {
    let pair = RS256.generate_key_pair(2048)?;
    let kid = crypto::random_token(12);
    let pem = pair.to_pem_private_key();
    let sealed = master
        .seal(&pem, &format!("signing-key:{kid}"))
        .map_err(KeyError::Decrypt)?;
    let mut jwk = pair.to_jwk_public_key();
    jwk.set_key_id(&kid);
    jwk.set_key_use("sig");
    jwk.set_algorithm("RS256");
    let now = crate::time::now();
    Ok(KeyRow {
        kid,
        state: state.to_string(),
        private_key_enc: sealed,
        public_jwk: jwk.to_string(),
        created_at: now,
        activates_at: now,
        retires_at: None,
    })
}

/// Opens every stored private key with `master`; the number of keys, or the first that
/// does not open (the database was sealed under another master key).
pub fn open_all(conn: &mut crate::db::DbConn, master: &MasterKey) -> Result<usize, KeyError> {
    let rows = store::list(conn).map_err(|e| KeyError::Db(e.into()))?;
    for row in &rows {
        master
            .open(&row.private_key_enc, &format!("signing-key:{}", row.kid))
            .map_err(|e| KeyError::Decrypt(format!("key {}: {e}", row.kid)))?;
    }
    Ok(rows.len())
}

async fn load_set(pool: &DbPool, master: &MasterKey) -> Result<KeySet, KeyError> {
    let rows = db::run(pool, |conn| Ok(store::published(conn)?)).await?;
    let active = rows
        .iter()
        .find(|r| r.state == "active")
        .ok_or(KeyError::NoActiveKey)?;
    let pem = master
        .open(
            &active.private_key_enc,
            &format!("signing-key:{}", active.kid),
        )
        .map_err(KeyError::Decrypt)?;
    let signer = RS256.signer_from_pem(&pem)?;
    let mut verifiers = HashMap::new();
    let mut keys = Vec::new();
    for row in &rows {
        let jwk = Jwk::from_bytes(row.public_jwk.as_bytes())?;
        verifiers.insert(row.kid.clone(), RS256.verifier_from_jwk(&jwk)?);
        keys.push(serde_json::to_value(jwk.as_ref()).unwrap_or(Value::Null));
    }
    let jwks_json = serde_json::json!({ "keys": keys }).to_string();
    Ok(KeySet {
        active_kid: active.kid.clone(),
        active_since: active.activates_at,
        signer,
        verifiers,
        jwks_json,
        verified: Default::default(),
    })
}
