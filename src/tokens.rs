//! Minting and checking tokens: access tokens (RS256 JWTs after RFC 9068, or opaque for
//! apps that ask), OIDC id tokens, opaque refresh tokens and authorization codes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::accounts::User;
pub use crate::clients::AccessTokenFormat;
use crate::config::TokenSettings;
use crate::crypto::{self, MasterKey};
use crate::db::{self, DbConn, DbError, DbPool};
use crate::grants::store;
use crate::keys::{KeyError, KeyRing};

/// What minting and checking tokens needs: the key ring (and the pool and master key to
/// reload it), the issuer, the access tokens' audience and the lifetimes.
pub struct Tokens<'a> {
    pub keys: &'a KeyRing,
    pub pool: &'a DbPool,
    pub master: &'a MasterKey,
    pub issuer: &'a str,
    pub audience: &'a str,
    pub ttl: &'a TokenSettings,
    /// The custom attributes and the scopes that release them.
    pub attributes: &'a [crate::config::AttributeSpec],
}

/// A freshly signed access token.
pub struct IssuedAccess {
    pub token: String,
    pub expires_in: i64,
}

/// Who an access token is for.
pub struct AccessGrant<'a> {
    pub sub: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub auth_time: Option<i64>,
    /// The grant family; revoking it revokes the token (encoded in `jti`).
    pub family: Option<&'a str>,
    /// The person's roles, when the grant has the `roles` scope.
    pub roles: Option<&'a [String]>,
    /// The union of the roles' permissions, when the grant has the `permissions` scope.
    pub permissions: Option<&'a [String]>,
    /// Custom attributes' claims the grant's scopes release.
    pub attributes: Option<&'a Map<String, Value>>,
    /// The app's own lifetime, seconds (`None`: `access_token_ttl`).
    pub ttl: Option<i64>,
    /// The app's access token format.
    pub format: AccessTokenFormat,
}

/// How an opaque access token begins (a secret scanner can tell it by this).
pub const OPAQUE_PREFIX: &str = "porta_at_";

/// The associated data an opaque access token is sealed with.
const OPAQUE_CONTEXT: &str = "porta/access-token/v1";

/// The longest opaque access token opened: the size of the largest request body Porta
/// reads (a token introspected or revoked comes in one), so it bounds the work on junk
/// in a header without refusing a token any endpoint could take.
const OPAQUE_MAX: usize = 64 * 1024;

/// Whether `token` has the shape of an access token Porta issues (a JWT or an opaque
/// token), so the endpoints that take several kinds know which to check first.
pub fn looks_like_access(token: &str) -> bool {
    token.starts_with(OPAQUE_PREFIX) || token.bytes().filter(|b| *b == b'.').count() == 2
}

/// The scope that puts the person's roles into access tokens.
pub const ROLES_SCOPE: &str = "roles";

/// The scope that puts the union of the person's roles' permissions into tokens.
pub const PERMISSIONS_SCOPE: &str = "permissions";

/// What tokens say about a person beyond the standard claims: roles with the `roles`
/// scope, permissions with the `permissions` scope, custom attributes with theirs.
#[derive(Debug, Default)]
pub struct Authority {
    pub roles: Option<Vec<String>>,
    pub permissions: Option<Vec<String>>,
    /// Custom attributes' claims that the scopes release.
    pub attributes: Map<String, Value>,
}

impl Authority {
    /// Reads what `scopes` release, in one connection.
    pub fn read(
        conn: &mut DbConn,
        user_id: &str,
        scopes: &[String],
        specs: &[crate::config::AttributeSpec],
    ) -> diesel::QueryResult<Authority> {
        let has = |name: &str| scopes.iter().any(|s| s == name);
        let attributes = if crate::accounts::attributes::released_by(specs, scopes) {
            let values = crate::accounts::attributes::all(conn, user_id)?;
            crate::accounts::attributes::claims(specs, &values, scopes)
        } else {
            Map::new()
        };
        Ok(Authority {
            attributes,
            roles: if has(ROLES_SCOPE) {
                Some(crate::accounts::store::roles(conn, user_id)?)
            } else {
                None
            },
            permissions: if has(PERMISSIONS_SCOPE) {
                Some(crate::accounts::roles::permissions_of(conn, user_id)?)
            } else {
                None
            },
        })
    }

    /// Adds `roles`, `permissions` and custom attributes' claims.
    pub fn add_claims(&self, claims: &mut Map<String, Value>) {
        self.add_attributes(claims);
        if let Some(roles) = &self.roles {
            claims.insert("roles".into(), json!(roles));
        }
        if let Some(permissions) = &self.permissions {
            claims.insert("permissions".into(), json!(permissions));
        }
    }
}

impl Authority {
    /// Adds the custom attributes' claims only (id tokens).
    pub fn add_attributes(&self, claims: &mut Map<String, Value>) {
        for (k, v) in &self.attributes {
            claims.insert(k.clone(), v.clone());
        }
    }
}

/// The person's roles, permissions and attributes that `scopes` release (read at every
/// issue, so a refresh picks up changes).
pub async fn authority_for(
    tokens: &Tokens<'_>,
    user_id: &str,
    scopes: &[String],
) -> Result<Authority, DbError> {
    let wanted = scopes
        .iter()
        .any(|s| s == ROLES_SCOPE || s == PERMISSIONS_SCOPE)
        || crate::accounts::attributes::released_by(tokens.attributes, scopes);
    if !wanted {
        return Ok(Authority::default());
    }
    let user_id = user_id.to_string();
    let scopes = scopes.to_vec();
    let specs = tokens.attributes.to_vec();
    db::run(tokens.pool, move |conn| {
        Ok(Authority::read(conn, &user_id, &scopes, &specs)?)
    })
    .await
}

/// Signs an RFC 9068 access token. Times are whole seconds.
pub fn access_token(tokens: &Tokens<'_>, g: &AccessGrant) -> Result<IssuedAccess, KeyError> {
    let now = crate::time::now();
    let ttl = g.ttl.unwrap_or(tokens.ttl.access_token_ttl);
    let random = crypto::random_token(16);
    let jti = match g.family {
        Some(f) => format!("{f}.{random}"),
        None => random,
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(tokens.issuer));
    claims.insert("sub".into(), json!(g.sub));
    claims.insert("aud".into(), json!(tokens.audience));
    claims.insert("client_id".into(), json!(g.client_id));
    claims.insert("scope".into(), json!(g.scope));
    claims.insert("iat".into(), json!(now));
    claims.insert("nbf".into(), json!(now));
    claims.insert("exp".into(), json!(now + ttl));
    claims.insert("jti".into(), json!(jti));
    if let Some(t) = g.auth_time {
        claims.insert("auth_time".into(), json!(t));
    }
    if let Some(roles) = g.roles {
        claims.insert("roles".into(), json!(roles));
    }
    if let Some(permissions) = g.permissions {
        claims.insert("permissions".into(), json!(permissions));
    }
    for (k, v) in g.attributes.into_iter().flatten() {
        claims.insert(k.clone(), v.clone());
    }
    let token = match g.format {
        AccessTokenFormat::Jwt => tokens.keys.current().sign("at+jwt", claims)?,
        AccessTokenFormat::Opaque => {
            let plain = serde_json::to_vec(&claims).expect("claims serialise");
            let sealed = tokens.master.seal_handed_out(&plain, OPAQUE_CONTEXT);
            format!("{OPAQUE_PREFIX}{sealed}")
        }
    };
    Ok(IssuedAccess {
        token,
        expires_in: ttl,
    })
}

/// What goes into an id token besides the person's claims.
pub struct IdTokenGrant<'a> {
    pub user: &'a User,
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    pub amr: &'a [String],
    pub access_token: Option<&'a str>,
    /// The app's own lifetime, seconds (`None`: `id_token_ttl`).
    pub ttl: Option<i64>,
    /// Custom attributes' claims the grant's scopes release.
    pub attributes: Option<&'a Map<String, Value>>,
}

/// `acr` of a sign-in with one factor.
pub const ACR_1FA: &str = "urn:porta:acr:1fa";
/// `acr` of a sign-in with two factors (password or emailed code, plus TOTP).
pub const ACR_MFA: &str = "urn:porta:acr:mfa";

/// The `acr` that the methods in `amr` reach.
pub fn acr_for(amr: &[String]) -> &'static str {
    if amr.iter().any(|a| a == "mfa") {
        ACR_MFA
    } else {
        ACR_1FA
    }
}

/// Signs an OIDC id token (Core 2, 3.1.3.6).
pub fn id_token(tokens: &Tokens<'_>, g: &IdTokenGrant) -> Result<String, KeyError> {
    let now = crate::time::now();
    let mut claims = user_claims(g.user, g.scopes);
    for (k, v) in g.attributes.into_iter().flatten() {
        claims.insert(k.clone(), v.clone());
    }
    claims.insert("iss".into(), json!(tokens.issuer));
    claims.insert("aud".into(), json!(g.client_id));
    claims.insert("azp".into(), json!(g.client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert(
        "exp".into(),
        json!(now + g.ttl.unwrap_or(tokens.ttl.id_token_ttl)),
    );
    claims.insert("auth_time".into(), json!(g.auth_time));
    if let Some(nonce) = g.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    if !g.amr.is_empty() {
        claims.insert("amr".into(), json!(g.amr));
        claims.insert("acr".into(), json!(acr_for(g.amr)));
    }
    if let Some(at) = g.access_token {
        claims.insert("at_hash".into(), json!(at_hash(at)));
    }
    tokens.keys.current().sign("JWT", claims)
}

/// Left half of SHA-256 of the access token, base64url (OIDC Core 3.1.3.6).
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The person's claims that `scopes` allow (OIDC Core 5.4), always with `sub`.
pub fn user_claims(user: &User, scopes: &[String]) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    if scopes.iter().any(|s| s == "profile") {
        if let Some(name) = &user.name {
            claims.insert("name".into(), json!(name));
        }
        claims.insert("updated_at".into(), json!(user.updated_at));
        if let Some(locale) = &user.locale {
            claims.insert("locale".into(), json!(locale));
        }
        if let Some(zoneinfo) = &user.zoneinfo {
            claims.insert("zoneinfo".into(), json!(zoneinfo));
        }
    }
    if scopes.iter().any(|s| s == "email") {
        // An account made with a mobile number has no address to claim.
        if let Some(email) = &user.email {
            claims.insert("email".into(), json!(email));
            claims.insert("email_verified".into(), json!(user.email_verified));
        }
    }
    if scopes.iter().any(|s| s == "phone") {
        if let Some(phone) = &user.phone {
            // Porta keeps a number only once a code sent to it came back.
            claims.insert("phone_number".into(), json!(phone));
            claims.insert("phone_number_verified".into(), json!(true));
        }
    }
    claims
}

/// A checked access token's claims.
pub struct VerifiedAccess {
    verified: std::sync::Arc<crate::keys::Verified>,
}

impl VerifiedAccess {
    pub fn claims(&self) -> &Map<String, Value> {
        &self.verified.claims
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.claims().get(name).and_then(Value::as_str)
    }

    pub fn scopes(&self) -> crate::scopes::Scopes {
        crate::scopes::Scopes::parse(self.str("scope").unwrap_or(""))
    }

    pub fn exp(&self) -> i64 {
        self.claims()
            .get("exp")
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }
}

/// Checks an access token: a JWT's signature by a key Porta publishes and its `typ`, or
/// an opaque token's seal; then issuer and expiry; no database. Whether it was revoked is
/// `is_revoked`'s question.
pub fn verify_access_signature(tokens: &Tokens<'_>, token: &str) -> Option<VerifiedAccess> {
    let (verified, typ_ok) = match token.strip_prefix(OPAQUE_PREFIX) {
        Some(sealed) if sealed.len() <= OPAQUE_MAX => {
            let plain = tokens.master.open_handed_out(sealed, OPAQUE_CONTEXT)?;
            let claims = serde_json::from_slice(&plain).ok()?;
            let verified = crate::keys::Verified { typ: None, claims };
            (std::sync::Arc::new(verified), true)
        }
        Some(_) => return None,
        None => {
            let verified = tokens.keys.current().verify_cached(token)?;
            let typ_ok = verified.typ.as_deref().is_some_and(|t| {
                t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
            });
            (verified, typ_ok)
        }
    };
    let access = VerifiedAccess { verified };
    let iss_ok = access.str("iss") == Some(tokens.issuer);
    let live = access.exp() > crate::time::now();
    (typ_ok && iss_ok && live && access.str("jti").is_some()).then_some(access)
}

/// `verify_access_signature`, reloading the keys once when the token names a key this
/// node has not loaded yet (another node rotated moments ago).
pub async fn verify_access_signature_fresh(
    tokens: &Tokens<'_>,
    token: &str,
) -> Option<VerifiedAccess> {
    if let Some(access) = verify_access_signature(tokens, token) {
        return Some(access);
    }
    if token.starts_with(OPAQUE_PREFIX) {
        return None;
    }
    if tokens
        .keys
        .reload_for_unknown_kid(token, tokens.pool, tokens.master)
        .await
    {
        return verify_access_signature(tokens, token);
    }
    None
}

/// True when the token itself or its grant family was revoked (one or two indexed reads).
pub fn is_revoked(conn: &mut DbConn, access: &VerifiedAccess) -> diesel::QueryResult<bool> {
    let jti = access.str("jti").unwrap_or_default();
    if store::jti_revoked(conn, jti)? {
        return Ok(true);
    }
    match jti.split_once('.') {
        Some((family, _)) => store::family_revoked(conn, family),
        None => Ok(false),
    }
}

/// Checks an access token completely: signature, `typ`, issuer, expiry, and that neither
/// it nor its grant family was revoked. `Ok(None)` for any token that is not valid.
pub async fn verify_access(
    tokens: &Tokens<'_>,
    token: &str,
) -> Result<Option<VerifiedAccess>, DbError> {
    let Some(access) = verify_access_signature_fresh(tokens, token).await else {
        return Ok(None);
    };
    db::run(tokens.pool, move |conn| {
        Ok((!is_revoked(conn, &access)?).then_some(access))
    })
    .await
}
