//! What a party may do to an appointment (confirm, decline, cancel, complete), and when.

use super::*;

/// What the caller wants to do to an appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Confirm,
    Decline,
    Complete,
    Cancel,
}

/// Applies `action` if the caller may and the appointment is in a state that allows it.
pub fn act(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    action: Action,
    reason: Option<String>,
    config: &Config,
    now: i64,
) -> Result<Appointment, ApiError> {
    let a = visible(conn, id, caller)?;
    let who = party(&a, caller).ok_or_else(|| ApiError::NotFound("no such appointment".into()))?;
    // Asked apart from `who`: an admin who is also this appointment's consultant answers
    // their own requests like any consultant.
    let is_consultant = caller.is_person() && a.consultant_subject == caller.subject;
    let illegal = || {
        ApiError::Conflict(format!(
            "a {} appointment cannot be {}",
            a.status,
            match action {
                Action::Confirm => "confirmed",
                Action::Decline => "declined",
                Action::Complete => "completed",
                Action::Cancel => "cancelled",
            }
        ))
    };
    let t = match action {
        Action::Confirm | Action::Decline | Action::Complete if !is_consultant => {
            return Err(ApiError::Forbidden(
                "only the consultant of this appointment may do this".into(),
            ))
        }
        Action::Confirm => {
            if a.status != "requested" {
                return Err(illegal());
            }
            if a.starts_at <= now {
                return Err(ApiError::Conflict(
                    "the appointment has already started".into(),
                ));
            }
            match store::consultant(conn, &a.consultant_id)? {
                Some(c) if c.status == "approved" => {}
                // A rejected consultant must not take on new work; declining stays open.
                other => {
                    return Err(ApiError::Conflict(format!(
                        "your consultant profile is {}: only approved consultants can confirm \
                         requests (declining is still possible)",
                        other.map_or("gone".to_string(), |c| c.status)
                    )))
                }
            }
            Transition {
                from: &["requested"],
                to: "confirmed",
                starts_after: Some(now),
                ended_by: None,
                reason: None,
                cancelled_by: None,
                free: false,
                approved_consultant: true,
            }
        }
        Action::Decline => {
            if a.status != "requested" {
                return Err(illegal());
            }
            Transition {
                from: &["requested"],
                to: "declined",
                starts_after: None,
                ended_by: None,
                reason,
                cancelled_by: None,
                free: true,
                approved_consultant: false,
            }
        }
        Action::Complete => {
            if a.status != "confirmed" {
                return Err(illegal());
            }
            if a.ends_at > now {
                return Err(ApiError::Conflict(
                    "an appointment can be completed only after it ends".into(),
                ));
            }
            Transition {
                from: &["confirmed"],
                to: "completed",
                starts_after: None,
                ended_by: Some(now),
                reason: None,
                cancelled_by: None,
                free: false,
                approved_consultant: false,
            }
        }
        Action::Cancel => {
            if a.status != "requested" && a.status != "confirmed" {
                return Err(illegal());
            }
            if a.starts_at <= now {
                return Err(ApiError::Conflict(
                    "the appointment has already started".into(),
                ));
            }
            // The person who booked must give notice; the consultant and admins need not.
            let deadline = match who {
                Party::Client => now + config.cancel_notice,
                _ => now,
            };
            if a.starts_at <= deadline {
                return Err(ApiError::Forbidden(format!(
                    "appointments can be cancelled up to {} before they start; ask the consultant",
                    notice_text(config.cancel_notice)
                )));
            }
            Transition {
                from: &["requested", "confirmed"],
                to: "cancelled",
                starts_after: Some(deadline),
                ended_by: None,
                reason,
                cancelled_by: Some(match who {
                    Party::Client => "client",
                    Party::Consultant => "consultant",
                    Party::Admin => "admin",
                }),
                free: true,
                approved_consultant: false,
            }
        }
    };
    let notices =
        super::super::notices::on_change(config.notices.as_ref(), &a, t.to, &caller.subject, now);
    if store::appointments::transition(conn, id, &t, &notices, now).map_err(write_error)? == 0 {
        // Another request changed it (or the consultant's review) between our read and the
        // conditional update.
        return Err(ApiError::Conflict(
            "the appointment changed meanwhile; reload it".into(),
        ));
    }
    config.wake_notices();
    store::appointments::find(conn, id)?
        .ok_or_else(|| ApiError::NotFound("no such appointment".into()))
}

/// `86400` → "24 hours".
pub(super) fn notice_text(seconds: i64) -> String {
    match seconds {
        s if s % 3600 == 0 => format!("{} hours", s / 3600),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}
