//! Appointment emails through the module's own outbox (`booking_notifications`).
//!
//! Every appointment event queues a row per party to tell, in the same transaction as the
//! change: `requested` → the consultant; `confirmed` and `declined` → the person who
//! booked; `cancelled` → the other side (both when an admin cancels); and, when a
//! confirmation is stored, a `reminder` to both parties `booking_reminder_before` ahead
//! of the start. A worker on every node claims due rows with one conditional UPDATE (so
//! no two nodes send one row), looks the reader up through Porta's admin API (address,
//! language, time zone: the module keeps no personal data), renders the letter and sends
//! it over SMTP, retrying with growing pauses. Rows whose letter no longer makes sense
//! (a reminder of a cancelled appointment, a person gone or without a verified address)
//! are finished as `skipped`, never sent.

mod letter;

use std::sync::{Arc, Weak};

use chrono_tz::Tz;

use super::store::appointments::Appointment;
use super::store::{self, notices::Notice};
use crate::db::{self, DbPool};
use crate::resource::mail::{retry_pause, Mailer, SendError};
use crate::resource::{AccountsApi, ApiError};

/// What the module needs to send its emails.
#[derive(Debug, Clone)]
pub struct Notices {
    pub mailer: Mailer,
    /// Where addresses, languages and zones come from.
    pub accounts: Arc<AccountsApi>,
    /// Seconds before a confirmed appointment that the reminder goes; 0: none.
    pub reminder_before: i64,
    /// Deliveries tried before a row is marked failed.
    pub max_attempts: i64,
    /// Pause after the first failure, doubling after each further one (at most an hour).
    pub first_pause: i64,
    /// The issuer's host: the right-hand side of Message-IDs and calendar UIDs.
    pub host: String,
    /// Wakes this node's worker when it queues something.
    pub wake: Arc<tokio::sync::Notify>,
}

/// Rows a new booking queues.
pub fn on_book(notices: Option<&Notices>, a: &Appointment, now: i64) -> Vec<Notice> {
    match notices {
        Some(_) => vec![Notice::new(&a.id, "requested", "consultant", now, now)],
        None => Vec::new(),
    }
}

/// Rows a change of `a` (as it was) to `to` by `actor` (a token subject) queues.
pub fn on_change(
    notices: Option<&Notices>,
    a: &Appointment,
    to: &str,
    actor: &str,
    now: i64,
) -> Vec<Notice> {
    let Some(n) = notices else {
        return Vec::new();
    };
    let row = |event: &str, party: &str, due: i64| Notice::new(&a.id, event, party, due, now);
    match to {
        "confirmed" => {
            let mut rows = vec![row("confirmed", "client", now)];
            let remind_at = a.starts_at - n.reminder_before;
            // A confirmation inside the reminder period is its own reminder.
            if n.reminder_before > 0 && remind_at > now {
                rows.push(row("reminder", "client", remind_at));
                rows.push(row("reminder", "consultant", remind_at));
            }
            rows
        }
        "declined" => vec![row("declined", "client", now)],
        // Whoever did not cancel is told (both, when an admin who is neither did). The
        // person who booked is told of their own cancellation of a confirmed appointment
        // too: that letter withdraws the calendar entry the confirmation gave them.
        "cancelled" => {
            let mut rows = Vec::new();
            if a.client_subject != actor || a.status == "confirmed" {
                rows.push(row("cancelled", "client", now));
            }
            if a.consultant_subject != actor {
                rows.push(row("cancelled", "consultant", now));
            }
            rows
        }
        _ => Vec::new(),
    }
}

/// Rows claimed per round, and how long a claim holds. Each row's claim is renewed just
/// before it is delivered, and a delivery (two admin API calls and one SMTP exchange) is
/// cut off after `DELIVER_WITHIN`, well inside the claim: no other node can take a row
/// while this one may still send it.
const BATCH: i64 = 4;
const CLAIM_FOR: i64 = 180;
const DELIVER_WITHIN: std::time::Duration = std::time::Duration::from_secs(90);
/// How often a node looks for rows other nodes queued and reminders come due.
const POLL: std::time::Duration = std::time::Duration::from_secs(2);
/// Finished rows are kept this long (for the admin and for withdrawing calendar entries).
const KEEP_DONE: i64 = 90 * 24 * 3600;

/// Starts this node's worker; it ends when `lifeline` has no strong holder left.
pub fn spawn_worker(pool: DbPool, notices: Notices, lifeline: Weak<()>) {
    tokio::spawn(async move {
        let mut last_purge = 0;
        while lifeline.strong_count() > 0 {
            let now = chrono::Utc::now().timestamp();
            if now - last_purge > 3600 {
                last_purge = now;
                let purged = db::run_write(&pool, move |c| {
                    Ok(store::notices::purge(c, now - KEEP_DONE)?)
                })
                .await;
                if let Err(e) = purged {
                    tracing::warn!(error = %e, "purging finished booking notifications failed");
                }
            }
            match deliver_due(&pool, &notices).await {
                Ok(0) => {
                    let _ = tokio::time::timeout(POLL, notices.wake.notified()).await;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "booking notifications round failed");
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    });
}

/// What became of one row.
enum Done {
    Sent,
    Skipped(String),
    /// Worth another try (the admin API or the mail server failed).
    Failed(String),
    /// Not worth another try (the mail server refused the address for good).
    Refused(String),
}

/// Delivers the rows due now; returns how many it handled.
async fn deliver_due(pool: &DbPool, notices: &Notices) -> Result<usize, db::DbError> {
    let claim = uuid::Uuid::new_v4().simple().to_string();
    let now = chrono::Utc::now().timestamp();
    let c = claim.clone();
    let rows = db::run(pool, move |conn| {
        Ok(store::notices::claim_due(conn, &c, now, BATCH, CLAIM_FOR)?)
    })
    .await?;
    let count = rows.len();
    for row in rows {
        // Renewed right before the delivery; a row whose claim is no longer ours (it ran
        // out while earlier rows of the batch were slow) is left to its new owner.
        let (id, c) = (row.id.clone(), claim.clone());
        let now = chrono::Utc::now().timestamp();
        let ours = db::run_write(pool, move |conn| {
            Ok(store::notices::renew(conn, &id, &c, now + CLAIM_FOR)?)
        })
        .await?;
        if ours == 0 {
            continue;
        }
        let done = match tokio::time::timeout(DELIVER_WITHIN, deliver(pool, notices, &row)).await {
            Ok(done) => done,
            Err(_) => Done::Failed("delivery timed out".into()),
        };
        let now = chrono::Utc::now().timestamp();
        let attempts = row.attempts + 1;
        let (id, claim) = (row.id.clone(), claim.clone());
        // A refusal for good, or the last try.
        let give_up = matches!(done, Done::Refused(_)) || attempts >= notices.max_attempts;
        let pause = retry_pause(notices.first_pause, attempts);
        match &done {
            Done::Sent => {
                tracing::info!(id = %row.id, event = %row.event, party = %row.party, "booking notification sent")
            }
            Done::Skipped(why) => {
                tracing::info!(id = %row.id, event = %row.event, %why, "booking notification skipped")
            }
            Done::Failed(error) | Done::Refused(error) => {
                tracing::warn!(id = %row.id, event = %row.event, attempts, %error, "booking notification failed")
            }
        }
        db::run_write(pool, move |conn| {
            match done {
                Done::Sent => {
                    store::notices::finish(conn, &id, &claim, "sent", None, attempts, now)?
                }
                Done::Skipped(why) => store::notices::finish(
                    conn,
                    &id,
                    &claim,
                    "skipped",
                    Some(why),
                    row.attempts,
                    now,
                )?,
                Done::Refused(error) | Done::Failed(error) if give_up => {
                    store::notices::finish(conn, &id, &claim, "failed", Some(error), attempts, now)?
                }
                Done::Refused(error) | Done::Failed(error) => {
                    store::notices::retry_later(conn, &id, &claim, attempts, now + pause, error)?
                }
            };
            Ok(())
        })
        .await?;
    }
    Ok(count)
}

fn unavailable(e: ApiError) -> Done {
    Done::Failed(format!("the identity provider: {e}"))
}

/// Renders and sends one row.
async fn deliver(pool: &DbPool, notices: &Notices, row: &Notice) -> Done {
    let id = row.appointment_id.clone();
    let loaded = db::run(pool, move |conn| {
        let Some(a) = store::appointments::find(conn, &id)? else {
            return Ok(None);
        };
        let consultant = store::consultant(conn, &a.consultant_id)?.map(|c| c.name);
        let withdraw = a.status == "cancelled" && store::notices::confirmation_sent(conn, &id)?;
        Ok(Some((a, consultant, withdraw)))
    })
    .await;
    let (a, consultant_name, withdraw_calendar) = match loaded {
        Ok(Some(found)) => found,
        Ok(None) => return Done::Skipped("the appointment is gone".into()),
        Err(e) => return Done::Failed(format!("database: {e}")),
    };
    let now = chrono::Utc::now().timestamp();
    // A letter about a state the appointment has left (a retried request that was
    // answered meanwhile, a confirmation of what is now cancelled) would mislead.
    let current = match row.event.as_str() {
        "requested" => a.status == "requested",
        "confirmed" => a.status == "confirmed",
        "reminder" => a.status == "confirmed" && a.starts_at > now,
        _ => true,
    };
    if !current {
        return Done::Skipped(format!("the appointment is {} now", a.status));
    }
    // The person's own cancellation is only worth a letter that withdraws a calendar
    // entry they were sent.
    if row.event == "cancelled"
        && row.party == "client"
        && a.cancelled_by.as_deref() == Some("client")
        && !withdraw_calendar
    {
        return Done::Skipped("nothing to withdraw from the person's calendar".into());
    }
    let (reader, other) = match row.party.as_str() {
        "client" => (&a.client_subject, &a.consultant_subject),
        _ => (&a.consultant_subject, &a.client_subject),
    };
    let person = match notices.accounts.person(reader).await {
        Ok(Some(p)) => p,
        Ok(None) => return Done::Skipped("no such person at the identity provider".into()),
        Err(e) => return unavailable(e),
    };
    if !person.active {
        return Done::Skipped("the account is disabled".into());
    }
    let Some(email) = person.email.as_deref().filter(|_| person.email_verified) else {
        return Done::Skipped("the person has no verified email address".into());
    };
    // The consultant's profile name for the person; the person's name, if they gave one,
    // for the consultant.
    let other_name = match row.party.as_str() {
        "client" => consultant_name,
        _ => match notices.accounts.person(other).await {
            Ok(p) => p.and_then(|p| p.name),
            Err(e) => return unavailable(e),
        },
    };
    let zone: Tz = person
        .zoneinfo
        .as_deref()
        .and_then(|z| z.parse().ok())
        .or_else(|| a.time_zone.parse().ok())
        .unwrap_or(Tz::UTC);
    let letter = letter::render(&letter::About {
        appointment: &a,
        event: &row.event,
        party: &row.party,
        other: other_name.as_deref(),
        lang: letter::Lang::of(person.locale.as_deref()),
        zone,
        host: &notices.host,
        letter_id: &row.id,
        withdraw_calendar: withdraw_calendar && row.party == "client",
        now,
    });
    match notices.mailer.send(email, &letter).await {
        Ok(()) => Done::Sent,
        Err(SendError::Permanent(e)) => Done::Refused(format!("mail: {e}")),
        Err(SendError::Transient(e)) => Done::Failed(format!("mail: {e}")),
    }
}
