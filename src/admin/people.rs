//! What an administrator does to people, roles and permissions, shared by the admin API
//! and the command line. Every change is audited with who did it (a person, a service
//! account or the command line), the account it touched and what changed (never secrets).

use serde::Serialize;
use serde_json::{json, Value};

use crate::accounts::roles::{self, RoleChange};
use crate::accounts::store::{Changes, Search};
use crate::accounts::{self, User};
use crate::audit::{self, Origin};
use crate::db::{self, DbError, DbPool};

/// What the people operations work on: the pool, the custom attributes declared, and the
/// shortest password the settings allow.
#[derive(Clone, Copy)]
pub struct People<'a> {
    pub pool: &'a DbPool,
    pub attributes: &'a [crate::config::AttributeSpec],
    pub password_min_length: usize,
}

impl<'a> People<'a> {
    /// The handle from the settings (the CLI's, or a running node's).
    pub fn new(pool: &'a DbPool, settings: &'a crate::config::Settings) -> People<'a> {
        People {
            pool,
            attributes: &settings.attributes.attributes,
            password_min_length: settings.accounts.password_min_length,
        }
    }

    /// A running node's handle.
    pub fn of(state: &'a crate::state::AppState) -> People<'a> {
        People::new(&state.pool, &state.settings)
    }
}

/// Who acts.
#[derive(Debug, Clone)]
pub enum Actor {
    /// A person with the `admin` role (their account id).
    Person(String),
    /// A service account: a client-credentials client granted admin scopes.
    Service(String),
    /// Someone with a shell on the server (`porta user …`).
    Cli,
}

impl Actor {
    fn describe(&self) -> String {
        match self {
            Actor::Person(id) => format!("actor=person:{id}"),
            Actor::Service(id) => format!("actor=service:{id}"),
            Actor::Cli => "actor=cli".to_string(),
        }
    }

    fn client_id(&self) -> Option<String> {
        match self {
            Actor::Service(id) => Some(id.clone()),
            _ => None,
        }
    }
}

/// Who acts and from where: what every audited change carries.
#[derive(Debug, Clone)]
pub struct Acting {
    pub actor: Actor,
    pub origin: Origin,
}

impl Acting {
    /// The command line on this machine.
    pub fn cli() -> Acting {
        Acting {
            actor: Actor::Cli,
            origin: Origin {
                ip: "local".into(),
                user_agent: "porta cli".into(),
            },
        }
    }

    fn detail(&self, what: &str) -> String {
        if what.is_empty() {
            self.actor.describe()
        } else {
            format!("{} {what}", self.actor.describe())
        }
    }

    /// Records a change to an app: the event's client is the app changed.
    pub(super) async fn record_app(
        &self,
        pool: &DbPool,
        kind: &'static str,
        app: &str,
        what: &str,
    ) {
        audit::record(
            pool,
            &self.origin,
            kind,
            None,
            Some(app.to_string()),
            self.detail(what),
        )
        .await;
    }

    async fn record(&self, pool: &DbPool, kind: &'static str, target: Option<&str>, what: &str) {
        let detail = self.detail(what);
        audit::record(
            pool,
            &self.origin,
            kind,
            target.map(str::to_string),
            self.actor.client_id(),
            detail,
        )
        .await;
    }
}

/// Why an administrative action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no account {0}")]
    NoAccount(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<RoleChange> for AdminError {
    fn from(e: RoleChange) -> Self {
        match e {
            RoleChange::Exists(_) | RoleChange::System(_) => AdminError::Conflict(e.to_string()),
            RoleChange::NoRole(_) | RoleChange::NoPermission(_) => {
                AdminError::NotFound(e.to_string())
            }
            RoleChange::InvalidName | RoleChange::InvalidDescription => {
                AdminError::Invalid(e.to_string())
            }
        }
    }
}

impl From<diesel::result::Error> for AdminError {
    fn from(e: diesel::result::Error) -> Self {
        AdminError::Db(DbError::from(e))
    }
}

/// Audit event kinds of administrative actions.
pub mod kind {
    pub const USER_CREATED: &str = "admin.user_created";
    pub const USER_UPDATED: &str = "admin.user_updated";
    pub const USER_DISABLED: &str = "admin.user_disabled";
    pub const USER_ENABLED: &str = "admin.user_enabled";
    pub const USER_DELETED: &str = "admin.user_deleted";
    pub const SESSIONS_ENDED: &str = "admin.sessions_ended";
    pub const MFA_RESET: &str = "admin.mfa_reset";
    pub const UNLOCKED: &str = "admin.throttle_unlocked";
    pub const PASSWORD_RESET: &str = "admin.password_reset";
    pub const ROLE_CREATED: &str = "admin.role_created";
    pub const ROLE_DELETED: &str = "admin.role_deleted";
    pub const PERMISSION_CREATED: &str = "admin.permission_created";
    pub const PERMISSION_DELETED: &str = "admin.permission_deleted";
    pub const ROLE_PERMISSION_GRANTED: &str = "admin.role_permission_granted";
    pub const ROLE_PERMISSION_REVOKED: &str = "admin.role_permission_revoked";
    pub const KEYS_ROTATED: &str = "admin.keys_rotated";
    pub const USER_INVITED: &str = "admin.user_invited";
}

/// One account as lists show it.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub id: String,
    /// `None` for an account made with a mobile number only.
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone_number: Option<String>,
    pub name: Option<String>,
    pub state: &'static str,
    pub roles: Vec<String>,
    pub created_at: i64,
}

fn summary(user: &User, roles: Vec<String>) -> Summary {
    Summary {
        id: user.id.to_string(),
        email: user.email.clone(),
        email_verified: user.email_verified,
        phone_number: user.phone.clone(),
        name: user.name.clone(),
        state: user.state(),
        roles,
        created_at: user.created_at,
    }
}

/// A page of accounts matching `search`.
pub async fn search(
    people: People<'_>,
    search: Search,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Summary>, i64), AdminError> {
    let pool = people.pool;
    Ok(db::run(pool, move |conn| {
        let (users, total) = accounts::store::search(conn, &search, offset, limit)?;
        let ids: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
        let mut roles = accounts::store::roles_of(conn, &ids)?;
        let out = users
            .iter()
            .map(|u| summary(u, roles.remove(u.id.as_str()).unwrap_or_default()))
            .collect();
        Ok((out, total))
    })
    .await?)
}

async fn find(people: People<'_>, name: &str) -> Result<User, AdminError> {
    let pool = people.pool;
    let key = name.to_string();
    db::run(pool, move |conn| Ok(accounts::find_named(conn, &key)?))
        .await?
        .ok_or_else(|| AdminError::NoAccount(name.to_string()))
}

/// What Porta keeps about one account beyond its row: roles, permissions, declared
/// attributes, factors (never a secret), live sessions, apps and consents, and its newest
/// `events` audit events. The admin API's one person and the person's own download both
/// read it.
#[derive(Debug, Serialize)]
pub struct Record {
    pub roles: Vec<String>,
    pub permissions: Vec<String>,
    pub attributes: serde_json::Map<String, Value>,
    pub totp: bool,
    pub recovery_codes_left: i64,
    pub sessions: Vec<Value>,
    pub apps: Vec<Value>,
    pub events: Vec<crate::audit::AuditEvent>,
}

/// Reads the `Record` of `user_id` in one connection.
pub fn record(
    conn: &mut crate::db::DbConn,
    user_id: &str,
    specs: &[crate::config::AttributeSpec],
    events: i64,
) -> diesel::QueryResult<Record> {
    let now = crate::time::now();
    Ok(Record {
        roles: accounts::store::roles(conn, user_id)?,
        permissions: roles::permissions_of(conn, user_id)?,
        attributes: accounts::attributes::all(conn, user_id)?
            .into_iter()
            .filter(|(name, _)| specs.iter().any(|s| &s.name == name))
            .collect(),
        totp: crate::mfa::has_totp(conn, user_id)?,
        recovery_codes_left: crate::mfa::store::unused_recovery_codes(conn, user_id)?,
        sessions: crate::sessions::store::list_for_user(conn, user_id, now)?
            .into_iter()
            .map(|s| {
                json!({
                    "signed_in_at": s.auth_time,
                    "last_seen_at": s.last_seen_at,
                    "expires_at": s.expires_at,
                    "methods": s.amr_list(),
                    "ip": s.ip,
                    "user_agent": s.user_agent,
                })
            })
            .collect(),
        apps: crate::grants::store::consents_of_user(conn, user_id)?
            .into_iter()
            .map(|(client_id, name, scopes, at)| {
                json!({ "client_id": client_id, "name": name, "scopes": scopes, "granted_at": at })
            })
            .collect(),
        events: crate::audit::store::query(conn, Some(user_id), None, 0, events)?,
    })
}

/// Everything about one account an administrator needs: profile, roles and permissions,
/// factors, sessions, apps and recent audit events. Never a secret.
pub async fn show(people: People<'_>, name: &str) -> Result<Value, AdminError> {
    let user = find(people, name).await?;
    let id = user.id.to_string();
    let specs = people.attributes.to_vec();
    let r = db::run(people.pool, move |conn| Ok(record(conn, &id, &specs, 20)?)).await?;
    let mut out = json!(summary(&user, r.roles));
    out["permissions"] = json!(r.permissions);
    out["attributes"] = json!(r.attributes);
    out["factors"] = json!({
        "password": user.password_hash.is_some(),
        "totp": r.totp,
        "recovery_codes_left": r.recovery_codes_left,
        "phone": user.phone.is_some(),
    });
    out["sessions"] = json!(r.sessions);
    out["apps"] = json!(r.apps);
    out["recent_events"] = json!(r.events);
    out["locale"] = json!(user.locale);
    out["zoneinfo"] = json!(user.zoneinfo);
    out["updated_at"] = json!(user.updated_at);
    out["disabled_at"] = json!(user.disabled_at);
    Ok(out)
}

/// A new account from an administrator: a password (hashed here) or none (the person
/// sets one through "forgot password"), and roles besides `user`.
pub async fn create(
    people: People<'_>,
    acting: &Acting,
    email: &str,
    name: Option<String>,
    password: Option<String>,
    extra_roles: Vec<String>,
) -> Result<Value, AdminError> {
    let pool = people.pool;
    if let Some(p) = &password {
        accounts::check_password_policy(p, email, people.password_min_length)
            .map_err(AdminError::Invalid)?;
    }
    check_roles(people, &extra_roles).await?;
    let user = accounts::create_user(pool, email, name, password)
        .await
        .map_err(|e| match e {
            accounts::AccountError::EmailTaken => AdminError::Conflict(e.to_string()),
            accounts::AccountError::Db(d) => AdminError::Db(d),
            other => AdminError::Invalid(other.to_string()),
        })?;
    if !extra_roles.is_empty() {
        let id = user.id.to_string();
        let given = extra_roles.clone();
        db::run_write(pool, move |conn| {
            for r in &given {
                accounts::store::add_role(conn, &id, r)?;
            }
            Ok(())
        })
        .await?;
    }
    acting
        .record(
            pool,
            kind::USER_CREATED,
            Some(&user.id),
            &format!(
                "roles=user{}",
                extra_roles
                    .iter()
                    .map(|r| format!(",{r}"))
                    .collect::<String>()
            ),
        )
        .await;
    show(people, &user.id).await
}

/// Where invitations go out from: the outbox, the issuer (for the link) and how long the
/// link lives.
#[derive(Clone, Copy)]
pub struct Inviting<'a> {
    pub outbox: &'a crate::notify::Outbox,
    pub issuer: &'a str,
    pub ttl: i64,
}

impl<'a> Inviting<'a> {
    /// A running node's outbox and settings.
    pub fn of(state: &'a crate::state::AppState) -> Inviting<'a> {
        Inviting {
            outbox: &state.outbox,
            issuer: &state.settings.server.issuer,
            ttl: state.settings.accounts.invitation_ttl,
        }
    }
}

/// Invites someone: an account without a password (its address unconfirmed) and an email
/// with a one-time link to choose one. Inviting an address again sends a new link (the
/// old one stops working) while nobody has used it; an account already in use is a
/// conflict.
pub async fn invite(
    people: People<'_>,
    acting: &Acting,
    inviting: Inviting<'_>,
    email: &str,
    name: Option<String>,
    extra_roles: Vec<String>,
) -> Result<Value, AdminError> {
    let pool = people.pool;
    let email = accounts::normalize_email(email).map_err(|e| AdminError::Invalid(e.to_string()))?;
    if let Some(n) = &name {
        text_limit(n, "name", 200)?;
    }
    check_roles(people, &extra_roles).await?;
    let expires_at = crate::time::now() + inviting.ttl;
    let address = email.clone();
    let given = extra_roles.clone();
    let made = db::run(pool, move |conn| {
        db::transaction(
            conn,
            |conn| -> diesel::QueryResult<Option<(User, String)>> {
                let user = match accounts::store::find_by_email(conn, &address)? {
                    Some(u) if u.email_verified || u.password_hash.is_some() => return Ok(None),
                    Some(u) => u,
                    None => accounts::store::insert(
                        conn,
                        &address,
                        accounts::store::Email::Unconfirmed,
                        name.as_deref(),
                        None,
                    )?,
                };
                for r in &given {
                    accounts::store::add_role(conn, &user.id, r)?;
                }
                let token = accounts::invitations::create(conn, &user.id, expires_at)?;
                Ok(Some((user, token)))
            },
        )
        .map_err(DbError::from)
    })
    .await?;
    let Some((user, token)) = made else {
        return Err(AdminError::Conflict(
            "an account with this email already exists".into(),
        ));
    };
    let link = format!("{}/invitation/{token}", inviting.issuer);
    let days = (inviting.ttl + 86_399) / 86_400;
    // In the invitee's language when the invitation names one, else the inviter's.
    let mail = crate::i18n::for_person(user.locale.as_deref(), || {
        crate::notify::invitation_email(&link, days)
    })
    .map_err(|e| AdminError::Invalid(e.to_string()))?;
    inviting
        .outbox
        .email(&email, mail)
        .await
        .map_err(|e| AdminError::Conflict(format!("the invitation could not be queued: {e}")))?;
    acting
        .record(
            pool,
            kind::USER_INVITED,
            Some(&user.id),
            &format!("expires_at={expires_at}"),
        )
        .await;
    let mut shown = show(people, &user.id).await?;
    shown["invitation_expires_at"] = json!(expires_at);
    Ok(shown)
}

async fn check_roles(people: People<'_>, wanted: &[String]) -> Result<(), AdminError> {
    let pool = people.pool;
    let wanted = wanted.to_vec();
    let missing = db::run(pool, move |conn| {
        for r in &wanted {
            if !roles::exists(conn, r)? {
                return Ok(Some(r.clone()));
            }
        }
        Ok(None)
    })
    .await?;
    match missing {
        Some(r) => Err(AdminError::Invalid(format!("there is no role {r}"))),
        None => Ok(()),
    }
}

/// What an administrator asks to change; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct Update {
    pub changes: Changes,
    /// The full new set of roles (`user` is kept whether named or not).
    pub roles: Option<Vec<String>>,
    /// Custom attributes to set (`null` removes one); the others stay.
    pub attributes: Option<serde_json::Map<String, Value>>,
}

fn text_limit(value: &str, field: &str, max: usize) -> Result<(), AdminError> {
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!(
            "{field} is at most {max} characters, without control characters"
        )));
    }
    Ok(())
}

/// Checks and normalises an update: addresses and numbers as sign-in compares them,
/// tags and zones in their plain forms.
fn normalise(update: &mut Update) -> Result<(), AdminError> {
    let c = &mut update.changes;
    if let Some(email) = &c.email {
        c.email =
            Some(accounts::normalize_email(email).map_err(|e| AdminError::Invalid(e.to_string()))?);
    }
    if let Some(Some(phone)) = &c.phone {
        c.phone = Some(Some(
            accounts::normalize_phone(phone, None)
                .map_err(|e| AdminError::Invalid(e.to_string()))?,
        ));
    }
    if let Some(Some(name)) = &c.name {
        text_limit(name, "name", 200)?;
    }
    if let Some(Some(locale)) = &c.locale {
        let ok = (2..=35).contains(&locale.len())
            && locale.split('-').all(|p| {
                !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        if !ok {
            return Err(AdminError::Invalid(
                "locale is a BCP 47 language tag, like pt-PT".into(),
            ));
        }
    }
    if let Some(Some(zone)) = &c.zoneinfo {
        let ok = (1..=64).contains(&zone.len())
            && zone
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_-+".contains(&b));
        if !ok {
            return Err(AdminError::Invalid(
                "zoneinfo is an IANA time zone, like Europe/Lisbon".into(),
            ));
        }
    }
    if let Some(roles) = &mut update.roles {
        if !roles.iter().any(|r| r == accounts::store::DEFAULT_ROLE) {
            roles.push(accounts::store::DEFAULT_ROLE.to_string());
        }
        roles.sort();
        roles.dedup();
    }
    Ok(())
}

/// Changes an account; the audit event lists each field as before → after.
pub async fn update(
    people: People<'_>,
    acting: &Acting,
    name: &str,
    mut update: Update,
) -> Result<Value, AdminError> {
    let pool = people.pool;
    normalise(&mut update)?;
    if let Some(roles) = &update.roles {
        check_roles(people, roles).await?;
    }
    let values = match &update.attributes {
        Some(map) => accounts::attributes::check_changes(
            people.attributes,
            map,
            accounts::attributes::Writer::Admin,
        )
        .map_err(|e| AdminError::Invalid(e.to_string()))?,
        None => Vec::new(),
    };
    let user = find(people, name).await?;
    let id = user.id.to_string();
    let u = update.clone();
    type Outcome = (
        bool,
        Vec<String>,
        Vec<(String, Option<Value>, Option<Value>)>,
    );
    let (changed, before_roles, attribute_changes) = db::run(pool, move |conn| {
        Ok(db::transaction(
            conn,
            |conn| -> diesel::QueryResult<Outcome> {
                let before = accounts::store::roles(conn, &id)?;
                if !accounts::store::update(conn, &id, &u.changes)? {
                    return Ok((false, before, Vec::new()));
                }
                if let Some(roles) = &u.roles {
                    accounts::store::set_roles(conn, &id, roles)?;
                }
                let attributes = accounts::attributes::write(conn, &id, &values)?;
                Ok((true, before, attributes))
            },
        )?)
    })
    .await?;
    if !changed {
        return Err(AdminError::Conflict(
            "another account has this email address or phone number".into(),
        ));
    }
    let c = &update.changes;
    let mut what = Vec::new();
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    if let Some(v) = &c.name {
        what.push(format!("name:{}→{}", opt(&user.name), opt(v)));
    }
    if let Some(v) = &c.email {
        what.push(format!("email:{}→{v}", opt(&user.email)));
    }
    if let Some(v) = c.email_verified {
        what.push(format!("email_verified:{}→{v}", user.email_verified));
    }
    if let Some(v) = &c.phone {
        what.push(format!("phone:{}→{}", opt(&user.phone), opt(v)));
    }
    if let Some(v) = &c.locale {
        what.push(format!("locale:{}→{}", opt(&user.locale), opt(v)));
    }
    if let Some(v) = &c.zoneinfo {
        what.push(format!("zoneinfo:{}→{}", opt(&user.zoneinfo), opt(v)));
    }
    if let Some(v) = &update.roles {
        what.push(format!("roles:{}→{}", before_roles.join(","), v.join(",")));
    }
    let shown = |v: &Option<Value>| v.as_ref().map_or("-".to_string(), Value::to_string);
    for (name, was, now) in &attribute_changes {
        what.push(format!("{name}:{}→{}", shown(was), shown(now)));
    }
    acting
        .record(pool, kind::USER_UPDATED, Some(&user.id), &what.join(" "))
        .await;
    show(people, &user.id).await
}

/// Gives (`add`) or takes one role, leaving the others (what an app's back office does
/// when it approves someone).
pub async fn change_role(
    people: People<'_>,
    acting: &Acting,
    name: &str,
    role: &str,
    add: bool,
) -> Result<Value, AdminError> {
    let pool = people.pool;
    let user = find(people, name).await?;
    let (id, r) = (user.id.to_string(), role.to_string());
    let outcome = db::run_write(pool, move |conn| {
        if add && !roles::exists(conn, &r)? {
            return Ok(None);
        }
        let before = accounts::store::roles(conn, &id)?;
        if add {
            accounts::store::add_role(conn, &id, &r)?;
        } else {
            accounts::store::remove_role(conn, &id, &r)?;
        }
        Ok(Some((before, accounts::store::roles(conn, &id)?)))
    })
    .await?;
    let Some((before, after)) = outcome else {
        return Err(AdminError::NotFound(format!("there is no role {role}")));
    };
    if before != after {
        acting
            .record(
                pool,
                kind::USER_UPDATED,
                Some(&user.id),
                &format!("roles:{}→{}", before.join(","), after.join(",")),
            )
            .await;
    }
    show(people, &user.id).await
}

/// Disables (`true`) or enables an account. Disabling ends every session and revokes
/// every grant at once, so refresh fails and its tokens introspect inactive.
pub async fn set_disabled(
    people: People<'_>,
    acting: &Acting,
    name: &str,
    disabled: bool,
) -> Result<Value, AdminError> {
    let pool = people.pool;
    let user = find(people, name).await?;
    let id = user.id.to_string();
    let ended = db::run(pool, move |conn| {
        Ok(db::transaction(conn, |conn| {
            if disabled {
                accounts::store::set_disabled(conn, &id, Some(crate::time::now()))?;
                accounts::end_sign_ins(conn, &id, None)
            } else {
                accounts::store::set_disabled(conn, &id, None)?;
                Ok(0)
            }
        })?)
    })
    .await?;
    let (kind, what) = if disabled {
        (
            kind::USER_DISABLED,
            format!("state:{}→disabled sessions_ended={ended}", user.state()),
        )
    } else {
        (kind::USER_ENABLED, format!("state:{}→active", user.state()))
    };
    acting.record(pool, kind, Some(&user.id), &what).await;
    show(people, &user.id).await
}

/// Ends every session and revokes every grant of an account.
pub async fn end_sessions(
    people: People<'_>,
    acting: &Acting,
    name: &str,
) -> Result<Value, AdminError> {
    let pool = people.pool;
    let user = find(people, name).await?;
    let id = user.id.to_string();
    let ended = db::run(pool, move |conn| {
        Ok(db::transaction(conn, |conn| {
            accounts::end_sign_ins(conn, &id, None)
        })?)
    })
    .await?;
    acting
        .record(
            pool,
            kind::SESSIONS_ENDED,
            Some(&user.id),
            &format!("sessions_ended={ended}"),
        )
        .await;
    Ok(json!({ "id": user.id, "sessions_ended": ended, "grants_revoked": true }))
}

/// Removes the account's second factors (TOTP and recovery codes).
pub async fn reset_mfa(
    people: People<'_>,
    acting: &Acting,
    name: &str,
) -> Result<Value, AdminError> {
    let pool = people.pool;
    let user = find(people, name).await?;
    let id = user.id.to_string();
    let had = db::run_write(pool, move |conn| Ok(crate::mfa::remove_all(conn, &id)?)).await?;
    acting
        .record(
            pool,
            kind::MFA_RESET,
            Some(&user.id),
            &format!("totp_removed={had}"),
        )
        .await;
    Ok(json!({ "id": user.id, "totp_removed": had }))
}

/// Lifts the account's sign-in locks (password, code and second-factor counters).
pub async fn unlock(people: People<'_>, acting: &Acting, name: &str) -> Result<Value, AdminError> {
    let pool = people.pool;
    let user = find(people, name).await?;
    // The counters of every identifier the account signs in with.
    let mut keys = vec![format!("totp:acct:{}", user.id)];
    for identifier in user.email.iter().chain(user.phone.iter()) {
        keys.push(format!(
            "pwd:acct:{}",
            crate::crypto::hash_secret(identifier)
        ));
        keys.push(format!(
            "otp:acct:{}",
            crate::crypto::hash_secret(identifier)
        ));
    }
    if let Some(phone) = &user.phone {
        keys.push(format!("otp:acct:{}", crate::crypto::hash_secret(phone)));
    }
    let cleared = db::run_write(pool, move |conn| Ok(crate::throttle::clear(conn, &keys)?)).await?;
    acting
        .record(
            pool,
            kind::UNLOCKED,
            Some(&user.id),
            &format!("counters_cleared={cleared}"),
        )
        .await;
    Ok(json!({ "id": user.id, "counters_cleared": cleared }))
}

/// Forces a password reset: the password is removed and every sign-in ended; the person
/// sets a new one through "forgot password" (or signs in with a code).
pub async fn reset_password(
    people: People<'_>,
    acting: &Acting,
    name: &str,
) -> Result<Value, AdminError> {
    let pool = people.pool;
    let user = find(people, name).await?;
    let id = user.id.to_string();
    let ended = db::run(pool, move |conn| {
        Ok(db::transaction(conn, |conn| {
            accounts::store::clear_password(conn, &id)?;
            accounts::end_sign_ins(conn, &id, None)
        })?)
    })
    .await?;
    acting
        .record(
            pool,
            kind::PASSWORD_RESET,
            Some(&user.id),
            &format!("sessions_ended={ended}"),
        )
        .await;
    Ok(json!({ "id": user.id, "password_removed": true, "sessions_ended": ended }))
}

/// Deletes an account: everything revoked, the row and its personal data gone; audit
/// events stay under the account id, which nothing links to a person any more (their IP
/// and user agent blanked, the address and number erased from every event's detail).
pub async fn delete(people: People<'_>, acting: &Acting, name: &str) -> Result<Value, AdminError> {
    let pool = people.pool;
    let user = find(people, name).await?;
    let gone = user.clone();
    db::run(pool, move |conn| Ok(accounts::remove(conn, &gone)?)).await?;
    acting
        .record(pool, kind::USER_DELETED, Some(&user.id), "")
        .await;
    Ok(json!({ "id": user.id, "deleted": true }))
}

/// Every role.
pub async fn list_roles(people: People<'_>) -> Result<Vec<roles::Role>, AdminError> {
    let pool = people.pool;
    Ok(db::run(pool, |conn| Ok(roles::list(conn)?)).await?)
}

/// Every permission.
pub async fn list_permissions(people: People<'_>) -> Result<Vec<roles::Permission>, AdminError> {
    let pool = people.pool;
    Ok(db::run(pool, |conn| Ok(roles::list_permissions(conn)?)).await?)
}

/// Creates a role.
pub async fn create_role(
    people: People<'_>,
    acting: &Acting,
    name: &str,
    description: &str,
) -> Result<roles::Role, AdminError> {
    let pool = people.pool;
    let (n, d) = (name.to_string(), description.to_string());
    let role = db::run_write(pool, move |conn| {
        Ok(match roles::create(conn, &n, &d)? {
            Ok(()) => Ok(roles::find(conn, &n)?),
            Err(e) => Err(e),
        })
    })
    .await??;
    acting
        .record(pool, kind::ROLE_CREATED, None, &format!("role={name}"))
        .await;
    role.ok_or_else(|| AdminError::NotFound(format!("there is no role {name}")))
}

/// Deletes a role (not a system one).
pub async fn delete_role(
    people: People<'_>,
    acting: &Acting,
    name: &str,
) -> Result<Value, AdminError> {
    let pool = people.pool;
    let n = name.to_string();
    let held = db::run(pool, move |conn| Ok(roles::delete(conn, &n)?)).await??;
    acting
        .record(
            pool,
            kind::ROLE_DELETED,
            None,
            &format!("role={name} accounts={held}"),
        )
        .await;
    Ok(json!({ "role": name, "deleted": true, "accounts_that_held_it": held }))
}

/// Creates a permission.
pub async fn create_permission(
    people: People<'_>,
    acting: &Acting,
    name: &str,
    description: &str,
) -> Result<Value, AdminError> {
    let pool = people.pool;
    let (n, d) = (name.to_string(), description.to_string());
    db::run_write(pool, move |conn| {
        Ok(roles::create_permission(conn, &n, &d)?)
    })
    .await??;
    acting
        .record(
            pool,
            kind::PERMISSION_CREATED,
            None,
            &format!("permission={name}"),
        )
        .await;
    Ok(json!({ "name": name, "description": description, "roles": [] }))
}

/// Deletes a permission (every role loses it).
pub async fn delete_permission(
    people: People<'_>,
    acting: &Acting,
    name: &str,
) -> Result<Value, AdminError> {
    let pool = people.pool;
    let n = name.to_string();
    db::run(pool, move |conn| Ok(roles::delete_permission(conn, &n)?)).await??;
    acting
        .record(
            pool,
            kind::PERMISSION_DELETED,
            None,
            &format!("permission={name}"),
        )
        .await;
    Ok(json!({ "permission": name, "deleted": true }))
}

/// Gives (`add`) or takes a permission from a role; answers with the role.
pub async fn link(
    people: People<'_>,
    acting: &Acting,
    role: &str,
    permission: &str,
    add: bool,
) -> Result<roles::Role, AdminError> {
    let pool = people.pool;
    let (r, p) = (role.to_string(), permission.to_string());
    let found = db::run_write(pool, move |conn| {
        Ok(match roles::link(conn, &r, &p, add)? {
            Ok(_) => Ok(roles::find(conn, &r)?),
            Err(e) => Err(e),
        })
    })
    .await??;
    let kind = if add {
        kind::ROLE_PERMISSION_GRANTED
    } else {
        kind::ROLE_PERMISSION_REVOKED
    };
    acting
        .record(
            pool,
            kind,
            None,
            &format!("role={role} permission={permission}"),
        )
        .await;
    found.ok_or_else(|| AdminError::NotFound(format!("there is no role {role}")))
}

/// Records a key rotation made through the admin API.
pub async fn keys_rotated(people: People<'_>, acting: &Acting, what: &str) {
    let pool = people.pool;
    acting.record(pool, kind::KEYS_ROTATED, None, what).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_normalised_or_refused() {
        let mut u = Update {
            changes: Changes {
                email: Some(" Ann@Example.COM ".into()),
                phone: Some(Some("+351 912 345 678".into())),
                locale: Some(Some("pt-PT".into())),
                zoneinfo: Some(Some("Europe/Lisbon".into())),
                ..Changes::default()
            },
            roles: Some(vec!["admin".into(), "admin".into()]),
            attributes: None,
        };
        normalise(&mut u).unwrap();
        assert_eq!(u.changes.email.as_deref(), Some("ann@example.com"));
        assert_eq!(u.changes.phone, Some(Some("+351912345678".into())));
        assert_eq!(u.roles, Some(vec!["admin".to_string(), "user".to_string()]));
        for bad in [
            Changes {
                locale: Some(Some("pt_PT!".into())),
                ..Changes::default()
            },
            Changes {
                zoneinfo: Some(Some("Europe/Lisbon; drop".into())),
                ..Changes::default()
            },
            Changes {
                name: Some(Some("a\u{0}b".into())),
                ..Changes::default()
            },
            Changes {
                email: Some("not-an-address".into()),
                ..Changes::default()
            },
            Changes {
                phone: Some(Some("12".into())),
                ..Changes::default()
            },
        ] {
            let mut u = Update {
                changes: bad.clone(),
                roles: None,
                attributes: None,
            };
            assert!(normalise(&mut u).is_err(), "{bad:?}");
        }
    }
}
