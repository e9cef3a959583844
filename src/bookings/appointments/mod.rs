//! Appointments: booking a slot, the state machine, who may see and change what.
//!
//! `requested` → `confirmed` | `declined` (consultant); `confirmed` → `completed`
//! (consultant, after the end); `requested` | `confirmed` → `cancelled` (the person up to
//! the notice period before the start; the consultant or an admin until the start).

mod act;

use super::hours;
use super::profiles;
use super::slots;
use super::store;
use super::store::appointments::{Appointment, BookError, Transition};
use super::{write_error, Config, BLOCK_SECONDS};
use crate::db::DbConn;
use crate::resource::{ApiError, Caller};
pub use act::*;
use chrono::{DateTime, Duration};
use serde::{Deserialize, Serialize};

/// Statuses an appointment can have.
pub const STATUSES: [&str; 5] = [
    "requested",
    "confirmed",
    "declined",
    "cancelled",
    "completed",
];

/// How far ahead a booking may be made.
const MAX_AHEAD_DAYS: i64 = 366;

/// `POST /appointments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookForm {
    pub consultant_id: String,
    pub service_id: String,
    /// RFC 3339 with any offset.
    pub starts_at: String,
}

/// Checks a booking against the consultant's hours and stores it; the database refuses a
/// slot another booking holds (409), however the requests interleave.
pub fn book(
    conn: &mut DbConn,
    caller: &Caller,
    form: &BookForm,
    config: &Config,
    now: i64,
) -> Result<Appointment, ApiError> {
    let start = DateTime::parse_from_rfc3339(form.starts_at.trim())
        .map_err(|_| {
            ApiError::InvalidRequest(
                "starts_at must be an RFC 3339 time with an offset, like 2026-12-01T09:00:00+01:00"
                    .into(),
            )
        })?
        .timestamp();
    if start <= now {
        return Err(ApiError::InvalidRequest(
            "starts_at must be in the future".into(),
        ));
    }
    if start > now + MAX_AHEAD_DAYS * 86_400 {
        return Err(ApiError::InvalidRequest(format!(
            "bookings open at most {MAX_AHEAD_DAYS} days ahead"
        )));
    }
    let consultant = match store::consultant(conn, &form.consultant_id)? {
        Some(c) if c.status == "approved" => c,
        _ => return Err(ApiError::NotFound("no such consultant".into())),
    };
    if consultant.subject == caller.subject {
        return Err(ApiError::Forbidden("you cannot book yourself".into()));
    }
    let service = match store::service(conn, &form.service_id)? {
        Some(s) if s.consultant_id == consultant.id => s,
        _ => {
            return Err(ApiError::NotFound(
                "this consultant has no such service".into(),
            ))
        }
    };
    let tz = hours::zone(&consultant)?;
    // The same grid the slot list uses: the consultant's clock, in whole blocks.
    if !slots::on_grid(start, tz, config.slot_minutes * 60) || start % BLOCK_SECONDS != 0 {
        return Err(ApiError::InvalidRequest(format!(
            "starts_at must be on the {}-minute grid of the consultant's clock ({}), \
             like 09:00 or 09:{:02} there",
            config.slot_minutes,
            consultant.time_zone,
            config.slot_minutes % 60
        )));
    }
    let day = slots::local_date(start, tz);
    let windows = hours::windows(
        conn,
        &consultant,
        tz,
        day - Duration::days(1),
        day + Duration::days(1),
    )?;
    let duration = service.duration_minutes * 60;
    if !slots::fits(&windows, start, duration) {
        return Err(ApiError::Conflict(
            "the consultant is not available at this time".into(),
        ));
    }
    let appointment = Appointment {
        id: crate::bookings::new_id(),
        consultant_id: consultant.id,
        consultant_subject: consultant.subject,
        client_subject: caller.subject.clone(),
        service_id: service.id,
        service_name: service.name,
        duration_minutes: service.duration_minutes,
        price: service.price,
        currency: service.currency,
        time_zone: consultant.time_zone,
        starts_at: start,
        ends_at: start + duration,
        status: "requested".into(),
        reason: None,
        cancelled_by: None,
        created_at: now,
        updated_at: now,
    };
    let blocks: Vec<i64> = slots::blocks(start, duration, BLOCK_SECONDS).collect();
    let notices = super::notices::on_book(config.notices.as_ref(), &appointment, now);
    let max_open = config.max_open_requests;
    match store::appointments::book(conn, &appointment, &blocks, max_open, &notices, now) {
        Ok(()) => {
            config.wake_notices();
            Ok(appointment)
        }
        Err(BookError::TooManyOpen) => Err(ApiError::Conflict(format!(
            "you already have {} appointment requests waiting for an answer, the most allowed; \
             wait for one to be confirmed or declined, or cancel one",
            config.max_open_requests
        ))),
        Err(BookError::Db(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ))) => Err(ApiError::Conflict("this time is already booked".into())),
        Err(BookError::Db(e)) => Err(write_error(e)),
    }
}

/// How the caller relates to an appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Party {
    Client,
    Consultant,
    Admin,
}

/// The parties see an appointment, and admins; everybody else gets 404.
pub fn visible(conn: &mut DbConn, id: &str, caller: &Caller) -> Result<Appointment, ApiError> {
    match store::appointments::find(conn, id)? {
        Some(a) if party(&a, caller).is_some() => Ok(a),
        _ => Err(ApiError::NotFound("no such appointment".into())),
    }
}

/// Admin first (an admin sees and cancels with admin rights even on their own bookings),
/// then the consultant, then the person who booked. Whether the caller is the consultant,
/// who alone confirms, declines and completes, `act` asks apart from this.
fn party(a: &Appointment, caller: &Caller) -> Option<Party> {
    if caller.has_role("admin") {
        Some(Party::Admin)
    } else if !caller.is_person() {
        None
    } else if a.consultant_subject == caller.subject {
        Some(Party::Consultant)
    } else if a.client_subject == caller.subject {
        Some(Party::Client)
    } else {
        None
    }
}

/// An appointment as JSON: UTC times plus the consultant's zone and local times.
#[derive(Debug, Serialize)]
pub struct AppointmentView {
    pub id: String,
    pub consultant_id: String,
    pub service_id: String,
    pub service_name: String,
    pub duration_minutes: i64,
    pub price: i64,
    pub currency: String,
    /// The person who booked (their account id).
    pub booked_by: String,
    pub status: String,
    pub reason: Option<String>,
    pub cancelled_by: Option<String>,
    pub starts_at: String,
    pub ends_at: String,
    pub time_zone: String,
    pub local_start: String,
    pub local_end: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Appointment> for AppointmentView {
    fn from(a: Appointment) -> AppointmentView {
        let tz = profiles::time_zone(&a.time_zone).unwrap_or(chrono_tz::UTC);
        AppointmentView {
            starts_at: slots::utc(a.starts_at),
            ends_at: slots::utc(a.ends_at),
            local_start: slots::local(a.starts_at, tz),
            local_end: slots::local(a.ends_at, tz),
            created_at: slots::utc(a.created_at),
            updated_at: slots::utc(a.updated_at),
            id: a.id,
            consultant_id: a.consultant_id,
            service_id: a.service_id,
            service_name: a.service_name,
            duration_minutes: a.duration_minutes,
            price: a.price,
            currency: a.currency,
            booked_by: a.client_subject,
            status: a.status,
            reason: a.reason,
            cancelled_by: a.cancelled_by,
            time_zone: a.time_zone,
        }
    }
}

/// `?as=client|consultant&status=&order=newest|start`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "as")]
    pub role: Option<String>,
    pub status: Option<String>,
    pub order: Option<String>,
}

/// The list filter `q` asks for; `own` is the caller's subject (None for the admin list).
pub fn filter(
    q: &ListQuery,
    own: Option<&str>,
) -> Result<store::appointments::AppointmentFilter, ApiError> {
    let mut f = store::appointments::AppointmentFilter::default();
    if let Some(status) = q.status.as_deref() {
        if !STATUSES.contains(&status) {
            return Err(ApiError::InvalidRequest(format!(
                "status must be one of {}",
                STATUSES.join(", ")
            )));
        }
        f.status = Some(status.to_string());
    }
    f.by_start = match q.order.as_deref() {
        None | Some("newest") => false,
        Some("start") => true,
        Some(_) => {
            return Err(ApiError::InvalidRequest(
                "order must be newest or start".into(),
            ))
        }
    };
    if let Some(me) = own {
        match q.role.as_deref() {
            None | Some("client") => f.client_subject = Some(me.to_string()),
            Some("consultant") => f.consultant_subject = Some(me.to_string()),
            Some(_) => {
                return Err(ApiError::InvalidRequest(
                    "as must be client or consultant".into(),
                ))
            }
        }
    }
    Ok(f)
}
