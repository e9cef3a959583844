//! The durable outbox: every email and SMS is first a row in the database (its body sealed
//! under the master key), then a background worker delivers it with retries and growing
//! pauses. A request that asks for a message never waits for SMTP or the SMS provider,
//! so known and unknown addresses are answered alike and a mail server that is down loses
//! nothing. Rows are claimed with one conditional UPDATE, so several nodes never send one
//! message twice; a message that still fails after `outbox_max_attempts` is marked failed
//! (and stays in the table and the audit log), not dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Email, Notifier, NotifyError};
use crate::config::MailSettings;
use crate::crypto::{self, MasterKey, ResealError, Resealer};
use crate::db::schema::outbox as ob;
use crate::db::{self, DbConn, DbError, DbPool};

/// Messages delivered, retried and finally failed since start (for `/metrics`).
pub static DELIVERED: AtomicU64 = AtomicU64::new(0);
pub static RETRIED: AtomicU64 = AtomicU64::new(0);
pub static FAILED: AtomicU64 = AtomicU64::new(0);

/// A row of the outbox.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ob)]
pub struct Row {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    /// The sealed [`Body`]; emptied once sent.
    pub body: String,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub claim: Option<String>,
    pub claimed_until: i64,
    pub sent_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub last_error: Option<String>,
}

/// What is sealed in a row.
#[derive(Debug, Serialize, Deserialize)]
struct Body {
    #[serde(default)]
    subject: String,
    text: String,
    #[serde(default)]
    html: String,
}

/// Queues messages: a cheap handle for request handlers.
#[derive(Clone)]
pub struct Outbox {
    pool: DbPool,
    master: MasterKey,
    /// Wakes this node's worker at once (other nodes find the row on their next poll).
    wake: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Outbox")
    }
}

const EMAIL: &str = "email";
const SMS: &str = "sms";

fn context(id: &str) -> String {
    format!("outbox:{id}")
}

impl Outbox {
    pub fn new(pool: DbPool, master: MasterKey) -> Outbox {
        Outbox {
            pool,
            master,
            wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Queues an email to `to`.
    pub async fn email(&self, to: &str, email: Email) -> Result<(), NotifyError> {
        // Refused now, not at delivery: a malformed address is the caller's mistake.
        let _: lettre::message::Mailbox = to
            .parse()
            .map_err(|_| NotifyError::Address(to.to_string()))?;
        let body = Body {
            subject: email.subject,
            text: email.text,
            html: email.html,
        };
        self.queue(EMAIL, to, &body).await
    }

    /// Queues a text message to `to`.
    pub async fn sms(&self, to: &str, text: &str) -> Result<(), NotifyError> {
        let body = Body {
            subject: String::new(),
            text: text.to_string(),
            html: String::new(),
        };
        self.queue(SMS, to, &body).await
    }

    async fn queue(&self, channel: &str, to: &str, body: &Body) -> Result<(), NotifyError> {
        let id = crypto::random_token(16);
        let json = serde_json::to_vec(body).map_err(|e| NotifyError::Build(e.to_string()))?;
        let sealed = self
            .master
            .seal(&json, &context(&id))
            .map_err(NotifyError::Build)?;
        let now = crate::time::now();
        let row = Row {
            id,
            channel: channel.to_string(),
            recipient: to.to_string(),
            body: sealed,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            claim: None,
            claimed_until: 0,
            sent_at: None,
            failed_at: None,
            last_error: None,
        };
        db::run_write(&self.pool, move |conn| {
            diesel::insert_into(ob::table).values(&row).execute(conn)?;
            Ok(())
        })
        .await
        .map_err(NotifyError::Queue)?;
        self.wake.notify_one();
        Ok(())
    }
}

/// How the worker retries.
#[derive(Debug, Clone, Copy)]
pub struct Retries {
    /// Deliveries tried before a message is marked failed.
    pub max_attempts: i64,
    /// The pause after the first failure, in seconds; it doubles after each further one.
    pub first_pause: i64,
}

impl Retries {
    pub fn from_settings(s: &MailSettings) -> Retries {
        Retries {
            max_attempts: s.outbox_max_attempts,
            first_pause: s.outbox_retry_pause,
        }
    }

    /// The pause after `attempts` failed deliveries (at most an hour).
    pub fn pause_after(&self, attempts: i64) -> i64 {
        crate::resource::mail::retry_pause(self.first_pause, attempts)
    }
}

/// Messages claimed per round: small, so a round of slow deliveries ends well inside the
/// claim (no other node can take a claimed message while this one may still send it).
const BATCH: i64 = 4;
/// How long a claim holds, in seconds: beyond `BATCH` deliveries at their timeout.
const CLAIM_FOR: i64 = 120;

/// Claims up to `BATCH` due messages for `claim`; returns them.
fn claim_due(conn: &mut DbConn, claim: &str, now: i64) -> QueryResult<Vec<Row>> {
    let due = ob::table
        .filter(ob::sent_at.is_null())
        .filter(ob::failed_at.is_null())
        .filter(ob::next_attempt_at.le(now))
        .filter(ob::claimed_until.le(now))
        .order(ob::next_attempt_at)
        .select(ob::id)
        .limit(BATCH)
        .load::<String>(conn)?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    // The conditions again in the UPDATE: a row another node claimed in between no
    // longer matches, so each message has one owner.
    crate::db::write(conn, |conn| {
        diesel::update(
            ob::table
                .filter(ob::id.eq_any(&due))
                .filter(ob::sent_at.is_null())
                .filter(ob::failed_at.is_null())
                .filter(ob::claimed_until.le(now)),
        )
        .set((ob::claim.eq(claim), ob::claimed_until.eq(now + CLAIM_FOR)))
        .execute(conn)
    })?;
    ob::table
        .filter(ob::claim.eq(claim))
        .filter(ob::sent_at.is_null())
        .select(Row::as_select())
        .load(conn)
}

/// Messages waiting (not sent, not failed), and messages that finally failed.
pub fn backlog(conn: &mut DbConn) -> QueryResult<(i64, i64)> {
    let pending = ob::table
        .filter(ob::sent_at.is_null())
        .filter(ob::failed_at.is_null())
        .count()
        .get_result(conn)?;
    let failed = ob::table
        .filter(ob::failed_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok((pending, failed))
}

/// Drops delivered rows older than `before` (failed ones stay until `failed_before`), at
/// most `batch` of each.
pub fn purge(conn: &mut DbConn, before: i64, failed_before: i64, batch: i64) -> QueryResult<usize> {
    let sent = db::delete_batch!(
        conn,
        "outbox",
        "id",
        "sent_at < ?",
        [db::Bind::BigInt(before)],
        batch
    )?;
    let failed = db::Bind::BigInt(failed_before);
    Ok(sent + db::delete_batch!(conn, "outbox", "id", "failed_at < ?", [failed], batch)?)
}

/// Re-seals the bodies still waiting under a new master key (`porta keys rewrap`).
pub fn reseal_all(conn: &mut DbConn, resealer: &Resealer) -> Result<usize, ResealError> {
    let rows: Vec<(String, String)> = ob::table
        .filter(ob::sent_at.is_null())
        .filter(ob::body.ne(""))
        .select((ob::id, ob::body))
        .load(conn)?;
    for (id, body) in &rows {
        let sealed = resealer.reseal(body, &context(id))?;
        diesel::update(ob::table.find(id))
            .set(ob::body.eq(sealed))
            .execute(conn)?;
    }
    Ok(rows.len())
}

/// What happened to one message in a round (for the caller's audit log).
#[derive(Debug)]
pub enum Outcome {
    Delivered,
    /// Will be tried again in this many seconds.
    Retry(i64),
    /// Given up after the last attempt.
    Failed {
        channel: String,
        error: String,
    },
}

/// Delivers the messages due now; returns what happened to each. Called by the worker.
pub async fn deliver_due(
    outbox: &Outbox,
    notifier: &Notifier,
    retries: Retries,
) -> Result<Vec<Outcome>, DbError> {
    let claim = crypto::random_token(12);
    let now = crate::time::now();
    let c = claim.clone();
    let rows = db::run(&outbox.pool, move |conn| Ok(claim_due(conn, &c, now)?)).await?;
    let mut outcomes = Vec::with_capacity(rows.len());
    for row in rows {
        let sent = send_row(outbox, notifier, &row).await;
        let now = crate::time::now();
        let (id, claim) = (row.id.clone(), claim.clone());
        let outcome = match sent {
            Ok(()) => {
                DELIVERED.fetch_add(1, Ordering::Relaxed);
                db::run_write(&outbox.pool, move |conn| {
                    diesel::update(ob::table.find(&id).filter(ob::claim.eq(&claim)))
                        .set((
                            ob::sent_at.eq(Some(now)),
                            ob::body.eq(""),
                            ob::attempts.eq(ob::attempts + 1),
                            ob::last_error.eq(None::<String>),
                        ))
                        .execute(conn)?;
                    Ok(())
                })
                .await?;
                Outcome::Delivered
            }
            Err(e) => {
                let attempts = row.attempts + 1;
                let error: String = e.to_string().chars().take(500).collect();
                tracing::warn!(id = %row.id, channel = %row.channel, attempts, %error, "delivery failed");
                if attempts >= retries.max_attempts {
                    FAILED.fetch_add(1, Ordering::Relaxed);
                    let err = error.clone();
                    db::run_write(&outbox.pool, move |conn| {
                        diesel::update(ob::table.find(&id).filter(ob::claim.eq(&claim)))
                            .set((
                                ob::failed_at.eq(Some(now)),
                                ob::body.eq(""),
                                ob::attempts.eq(attempts),
                                ob::last_error.eq(Some(err)),
                            ))
                            .execute(conn)?;
                        Ok(())
                    })
                    .await?;
                    Outcome::Failed {
                        channel: row.channel.clone(),
                        error,
                    }
                } else {
                    RETRIED.fetch_add(1, Ordering::Relaxed);
                    let pause = retries.pause_after(attempts);
                    db::run_write(&outbox.pool, move |conn| {
                        diesel::update(ob::table.find(&id).filter(ob::claim.eq(&claim)))
                            .set((
                                ob::attempts.eq(attempts),
                                ob::next_attempt_at.eq(now + pause),
                                ob::claimed_until.eq(0),
                                ob::claim.eq(None::<String>),
                                ob::last_error.eq(Some(error)),
                            ))
                            .execute(conn)?;
                        Ok(())
                    })
                    .await?;
                    Outcome::Retry(pause)
                }
            }
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

async fn send_row(outbox: &Outbox, notifier: &Notifier, row: &Row) -> Result<(), NotifyError> {
    let plain = outbox
        .master
        .open(&row.body, &context(&row.id))
        .map_err(NotifyError::Build)?;
    let body: Body =
        serde_json::from_slice(&plain).map_err(|e| NotifyError::Build(e.to_string()))?;
    match row.channel.as_str() {
        EMAIL => {
            notifier
                .send_email(
                    &row.recipient,
                    Email {
                        subject: body.subject,
                        text: body.text,
                        html: body.html,
                    },
                )
                .await
        }
        SMS => notifier.send_sms(&row.recipient, &body.text).await,
        other => Err(NotifyError::Build(format!("unknown channel {other}"))),
    }
}

/// Waits until this node queues something or `poll` passes (other nodes' messages).
pub async fn wait_for_work(outbox: &Outbox, poll: std::time::Duration) {
    let _ = tokio::time::timeout(poll, outbox.wake.notified()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Queuing a message and claiming it while another write holds SQLite's lock wait
    /// their turn at the pool's write gate; outside it (busy timeout off) the message
    /// would be lost, or stay unclaimed.
    #[actix_web::test]
    async fn queuing_and_claiming_wait_their_turn_behind_a_writer_that_holds_the_lock() {
        let (_dir, pool) = crate::db::impatient_pool();
        let master = MasterKey::parse(&MasterKey::generate()).expect("master key");
        let outbox = Outbox::new(pool.clone(), master);
        let holder = crate::db::hold_the_gate(&pool, std::time::Duration::from_millis(300));
        outbox
            .sms("+15550100", "your code is 123456")
            .await
            .expect("queued in its turn");
        holder.released();
        let holder = crate::db::hold_the_gate(&pool, std::time::Duration::from_millis(300));
        let now = crate::time::now();
        let claimed = db::run(&pool, move |conn| Ok(claim_due(conn, "the claim", now)?))
            .await
            .expect("claimed in its turn");
        holder.released();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].recipient, "+15550100");
    }
}
