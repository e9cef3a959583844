//! The audit log: every authentication event with time, account, client, IP and user
//! agent; queried with `porta audit`, kept for `audit_retention` seconds.

pub mod store;

use crate::db::{self, DbPool};

pub use store::AuditEvent;

/// Where a request came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: String,
    pub user_agent: String,
}

impl Origin {
    /// The origin of `req`: the client IP (forwarded by a proxy only with `trust_proxy`)
    /// and the user agent.
    pub fn of(req: &actix_web::HttpRequest, proxies: &crate::web::ProxyTrust) -> Origin {
        Origin {
            ip: crate::web::client_ip(req, proxies),
            user_agent: crate::web::user_agent(req),
        }
    }
}

/// Event kinds, as stored.
pub mod kind {
    pub const SIGN_IN_SUCCESS: &str = "sign_in.success";
    pub const SIGN_IN_FAILURE: &str = "sign_in.failure";
    pub const SIGN_IN_THROTTLED: &str = "sign_in.throttled";
    /// A remembered browser stood in for the second factor (the success follows).
    pub const SIGN_IN_REMEMBERED: &str = "sign_in.remembered";
    pub const ACCOUNT_LOCKED: &str = "account.locked";
    pub const SESSION_ENDED: &str = "session.ended";
    pub const CONSENT_GIVEN: &str = "consent.given";
    pub const CONSENT_DENIED: &str = "consent.denied";
    pub const CODE_REUSED: &str = "token.code_reused";
    pub const REFRESH_REUSED: &str = "token.refresh_reused";
    pub const CLIENT_AUTH_FAILED: &str = "client.auth_failed";
    pub const CODE_SENT: &str = "code.sent";
    pub const TOTP_ENABLED: &str = "totp.enabled";
    pub const TOTP_DISABLED: &str = "totp.disabled";
    pub const REGISTERED: &str = "account.registered";
    pub const EMAIL_VERIFIED: &str = "account.email_verified";
    pub const PASSWORD_RESET: &str = "password.reset";
    /// A reset code refused: wrong, no longer valid, or its sign-ins ended while the new
    /// password was hashed.
    pub const PASSWORD_RESET_FAILED: &str = "password.reset_failed";
    pub const PASSWORD_CHANGED: &str = "password.changed";
    pub const CONSENT_REVOKED: &str = "consent.revoked";
    pub const EMAIL_CHANGED: &str = "account.email_changed";
    pub const DELIVERY_FAILED: &str = "delivery.failed";
    pub const PHONE_CHANGED: &str = "account.phone_changed";
    pub const RECOVERY_CODES_RENEWED: &str = "mfa.recovery_codes_renewed";
    pub const ATTRIBUTES_CHANGED: &str = "account.attributes_changed";
    pub const INVITATION_ACCEPTED: &str = "account.invitation_accepted";
    pub const DATA_EXPORTED: &str = "account.data_exported";
    pub const DELETION_REQUESTED: &str = "account.deletion_requested";
    pub const DELETION_CANCELLED: &str = "account.deletion_cancelled";
    pub const ACCOUNT_DELETED: &str = "account.deleted";
}

/// Records one event. A failure to write is logged, never shown to the person: the
/// request they made has already happened.
pub async fn record(
    pool: &DbPool,
    origin: &Origin,
    kind: &'static str,
    user_id: Option<String>,
    client_id: Option<String>,
    detail: String,
) {
    let event = event(origin, kind, user_id, client_id, detail);
    log(&event);
    if let Err(e) = db::run_write(pool, move |conn| Ok(store::insert(conn, &event)?)).await {
        tracing::error!(error = %e, kind, "could not write the audit event");
    }
}

/// One event, ready to be written (with `store::insert`) inside a caller's database
/// call, in the same transaction as what it records; [`log`] it once that committed.
pub fn event(
    origin: &Origin,
    kind: &'static str,
    user_id: Option<String>,
    client_id: Option<String>,
    detail: String,
) -> AuditEvent {
    // PostgreSQL refuses NUL in text: an event carrying one (a hostile User-Agent or
    // address) is kept with the NUL shown as U+FFFD rather than lost.
    let clean = |s: &str| s.replace('\0', "\u{FFFD}");
    AuditEvent {
        id: crate::crypto::random_id(),
        at: crate::time::now(),
        kind: kind.to_string(),
        user_id: user_id.as_deref().map(clean),
        client_id: client_id.as_deref().map(clean),
        ip: clean(&origin.ip),
        user_agent: clean(&origin.user_agent),
        detail: clean(&detail),
    }
}

/// Writes an [`event`] inside the caller's database call and transaction.
pub fn write(conn: &mut crate::db::DbConn, e: &AuditEvent) -> diesel::QueryResult<()> {
    store::insert(conn, e).map(|_| ())
}

/// The event's line in the log (target `porta::audit`), on the request's span.
pub fn log(e: &AuditEvent) {
    tracing::info!(
        target: "porta::audit",
        kind = e.kind.as_str(),
        user_id = e.user_id.as_deref().unwrap_or(""),
        client_id = e.client_id.as_deref().unwrap_or(""),
        ip = %e.ip,
        detail = %e.detail
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::prelude::*;

    /// An event recorded while another write holds SQLite's lock waits its turn at the
    /// pool's write gate, where outside it (busy timeout off) it would be lost.
    #[actix_web::test]
    async fn an_event_waits_its_turn_behind_a_writer_that_holds_the_lock() {
        let (_dir, pool) = crate::db::impatient_pool();
        let holder = crate::db::hold_the_gate(&pool, std::time::Duration::from_millis(300));
        let origin = Origin {
            ip: "127.0.0.1".into(),
            user_agent: "test".into(),
        };
        record(
            &pool,
            &origin,
            kind::SIGN_IN_FAILURE,
            None,
            None,
            "wrong password".into(),
        )
        .await;
        holder.released();
        let conn = &mut *pool.get().expect("connection");
        let kinds: Vec<String> = crate::db::schema::audit_events::table
            .select(crate::db::schema::audit_events::kind)
            .load(conn)
            .expect("events");
        assert_eq!(kinds, [kind::SIGN_IN_FAILURE]);
    }
}
