//! What an administrator does to apps (clients), shared by the admin API and the command
//! line: read, register, change, rotate the secret, disable, enable, delete. Each change
//! is audited with its actor and what changed; secrets never reach the log.

use serde_json::{json, Value};

use super::people::{Acting, AdminError};
use crate::clients::{self, Client, ClientCache, ClientChanges, ClientError, NewClient};
use crate::db::{self, DbPool};

/// Audit event kinds of app administration.
pub mod kind {
    pub const CLIENT_CREATED: &str = "admin.client_created";
    pub const CLIENT_UPDATED: &str = "admin.client_updated";
    pub const CLIENT_SECRET_ROTATED: &str = "admin.client_secret_rotated";
    pub const CLIENT_DISABLED: &str = "admin.client_disabled";
    pub const CLIENT_ENABLED: &str = "admin.client_enabled";
    pub const CLIENT_DELETED: &str = "admin.client_deleted";
}

impl From<ClientError> for AdminError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Invalid(why) => AdminError::Invalid(why),
            ClientError::Db(d) => AdminError::Db(d),
        }
    }
}

/// Where a change must be seen at once: this node's client cache (none from the CLI; other
/// nodes see changes within the cache's few seconds).
#[derive(Clone, Copy)]
pub struct Apps<'a> {
    pub pool: &'a DbPool,
    pub cache: Option<&'a ClientCache>,
}

impl<'a> Apps<'a> {
    /// A running node's handle (changes reach its client cache at once).
    pub fn of(state: &'a crate::state::AppState) -> Apps<'a> {
        Apps {
            pool: &state.pool,
            cache: Some(&state.clients),
        }
    }

    fn forget(&self, id: &str) {
        if let Some(cache) = self.cache {
            cache.forget(id);
        }
    }

    async fn find(&self, id: &str) -> Result<Client, AdminError> {
        clients::find(self.pool, id.to_string())
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("no app {id}")))
    }
}

/// Every app (never a secret).
pub async fn list(apps: Apps<'_>) -> Result<Vec<clients::ClientView>, AdminError> {
    let rows = db::run(apps.pool, |conn| Ok(clients::store::list(conn)?)).await?;
    Ok(rows.into_iter().map(|r| Client::from(r).view()).collect())
}

/// One app (never a secret).
pub async fn show(apps: Apps<'_>, id: &str) -> Result<clients::ClientView, AdminError> {
    Ok(apps.find(id).await?.view())
}

/// Registers an app; the answer carries its secret, shown this once.
pub async fn create(apps: Apps<'_>, acting: &Acting, new: NewClient) -> Result<Value, AdminError> {
    let created = clients::create(apps.pool, new).await?;
    acting
        .record_app(
            apps.pool,
            kind::CLIENT_CREATED,
            &created.client_id,
            &format!("name={:?}", created.name),
        )
        .await;
    serde_json::to_value(&created).map_err(|e| AdminError::Invalid(e.to_string()))
}

/// The fields that differ between two views, as `field:before→after`.
fn differences(before: &Value, after: &Value) -> String {
    let mut out = Vec::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (key, was) in b {
            let now = &a[key];
            if was != now {
                out.push(format!("{key}:{was}→{now}"));
            }
        }
    }
    out.join(" ")
}

/// Changes an app under the registration rules; the audit event lists what changed.
pub async fn update(
    apps: Apps<'_>,
    acting: &Acting,
    id: &str,
    changes: ClientChanges,
) -> Result<clients::ClientView, AdminError> {
    let (before, after) = clients::update(apps.pool, id, changes)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no app {id}")))?;
    apps.forget(id);
    let (b, a) = (before.view(), after.view());
    let what = differences(
        &serde_json::to_value(&b).unwrap_or_default(),
        &serde_json::to_value(&a).unwrap_or_default(),
    );
    acting
        .record_app(apps.pool, kind::CLIENT_UPDATED, id, &what)
        .await;
    Ok(a)
}

/// A new secret for a confidential app, shown once; the previous one keeps working for
/// `grace` seconds.
pub async fn rotate_secret(
    apps: Apps<'_>,
    acting: &Acting,
    id: &str,
    grace: i64,
) -> Result<Value, AdminError> {
    let secret = clients::rotate_secret(apps.pool, id, grace)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no app {id}")))?;
    apps.forget(id);
    acting
        .record_app(
            apps.pool,
            kind::CLIENT_SECRET_ROTATED,
            id,
            &format!("previous_secret_grace={grace}"),
        )
        .await;
    Ok(json!({
        "client_id": id,
        "client_secret": secret,
        "previous_secret_valid_until": crate::time::now() + grace.max(0),
    }))
}

/// Disables (`true`) or enables an app. Disabling revokes every grant people gave it; it
/// can no longer authenticate, start a sign-in, or have its tokens introspected.
pub async fn set_disabled(
    apps: Apps<'_>,
    acting: &Acting,
    id: &str,
    disabled: bool,
) -> Result<clients::ClientView, AdminError> {
    apps.find(id).await?;
    let key = id.to_string();
    let revoked = db::run(apps.pool, move |conn| {
        Ok(db::transaction(conn, |conn| {
            if disabled {
                clients::store::set_disabled(conn, &key, Some(crate::time::now()))?;
                crate::grants::store::revoke_families_of_client(conn, &key)
            } else {
                clients::store::set_disabled(conn, &key, None)?;
                Ok(0)
            }
        })?)
    })
    .await?;
    apps.forget(id);
    let (kind, what) = if disabled {
        (kind::CLIENT_DISABLED, format!("grants_revoked={revoked}"))
    } else {
        (kind::CLIENT_ENABLED, String::new())
    };
    acting.record_app(apps.pool, kind, id, &what).await;
    show(apps, id).await
}

/// Deletes an app: its grants revoked, its consents gone with it.
pub async fn delete(apps: Apps<'_>, acting: &Acting, id: &str) -> Result<Value, AdminError> {
    let app = apps.find(id).await?;
    let key = id.to_string();
    db::run(apps.pool, move |conn| {
        Ok(db::transaction(conn, |conn| {
            crate::grants::store::revoke_families_of_client(conn, &key)?;
            clients::store::delete(conn, &key)
        })?)
    })
    .await?;
    apps.forget(id);
    acting
        .record_app(
            apps.pool,
            kind::CLIENT_DELETED,
            id,
            &format!("name={:?}", app.name),
        )
        .await;
    Ok(json!({ "client_id": id, "deleted": true }))
}
