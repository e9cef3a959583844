//! Diesel queries for appointments and the time blocks they hold.

use diesel::prelude::*;

use crate::db::schema::booking_appointment_slots as slots;
use crate::db::schema::booking_appointments as ap;
use crate::db::schema::booking_consultants as bc;
use crate::db::DbConn;

use super::notices::Notice;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ap)]
pub struct Appointment {
    pub id: String,
    pub consultant_id: String,
    pub consultant_subject: String,
    pub client_subject: String,
    pub service_id: String,
    pub service_name: String,
    pub duration_minutes: i64,
    pub price: i64,
    pub currency: String,
    /// The consultant's zone when booked.
    pub time_zone: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub status: String,
    pub reason: Option<String>,
    /// `client`, `consultant` or `admin`.
    pub cancelled_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = slots)]
struct SlotRow<'a> {
    consultant_id: &'a str,
    slot_start: i64,
    appointment_id: &'a str,
}

/// Block starts held by the consultant's active appointments in `[from, to)`.
pub fn taken_blocks(
    conn: &mut DbConn,
    consultant_id: &str,
    from: i64,
    to: i64,
) -> QueryResult<Vec<i64>> {
    slots::table
        .filter(slots::consultant_id.eq(consultant_id))
        .filter(slots::slot_start.ge(from))
        .filter(slots::slot_start.lt(to))
        .select(slots::slot_start)
        .load(conn)
}

/// Why a booking was not stored.
#[derive(Debug)]
pub enum BookError {
    /// The person already has the most requests waiting that they may have.
    TooManyOpen,
    /// A unique violation here means another appointment holds one of the blocks.
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for BookError {
    fn from(e: diesel::result::Error) -> Self {
        BookError::Db(e)
    }
}

/// Stores an appointment and the blocks it holds in one short write transaction, unless
/// its person would then have more than `max_open` future requests waiting. A block
/// another appointment holds fails the whole transaction with a unique violation (on
/// PostgreSQL that aborts it; returning the error rolls it back).
///
/// The insert comes before the count: on SQLite it takes the write lock, so bookings run
/// one after the other and the count is exact. On PostgreSQL (read committed) two bookings
/// of one person committing at the same moment do not see each other's row and may both
/// pass, overrunning the cap by the number of such races; locking a row per person would
/// close that, but bookings has no row per person, and a slight overrun does no harm.
pub fn book(
    conn: &mut DbConn,
    appointment: &Appointment,
    blocks: &[i64],
    max_open: i64,
    notices: &[Notice],
    now: i64,
) -> Result<(), BookError> {
    crate::db::transaction(conn, |conn| {
        diesel::insert_into(ap::table)
            .values(appointment)
            .execute(conn)?;
        let open: i64 = ap::table
            .filter(ap::client_subject.eq(&appointment.client_subject))
            .filter(ap::status.eq("requested"))
            .filter(ap::starts_at.gt(now))
            .count()
            .get_result(conn)?;
        // `open` counts the row just inserted.
        if open > max_open {
            return Err(BookError::TooManyOpen);
        }
        // One row at a time: the multi-backend connection has no batch insert.
        for &slot_start in blocks {
            diesel::insert_into(slots::table)
                .values(&SlotRow {
                    consultant_id: &appointment.consultant_id,
                    slot_start,
                    appointment_id: &appointment.id,
                })
                .execute(conn)?;
        }
        super::notices::queue(conn, notices)?;
        Ok(())
    })
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Appointment>> {
    ap::table
        .find(id)
        .select(Appointment::as_select())
        .first(conn)
        .optional()
}

/// A state change, applied only while the appointment is still in one of `from` (and
/// inside the time bounds): two racing requests cannot both win.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub from: &'a [&'a str],
    pub to: &'a str,
    /// Only while `starts_at` is after this.
    pub starts_after: Option<i64>,
    /// Only once `ends_at` is at or before this.
    pub ended_by: Option<i64>,
    pub reason: Option<String>,
    pub cancelled_by: Option<&'a str>,
    /// Give the time back (cancel, decline).
    pub free: bool,
    /// Only while the consultant's profile is approved (a rejected consultant takes no
    /// new work, even if the rejection lands between our check and this update).
    pub approved_consultant: bool,
}

/// Applies `t` and queues `notices` with it; 0 (and nothing queued) when the appointment
/// no longer qualifies.
pub fn transition(
    conn: &mut DbConn,
    id: &str,
    t: &Transition,
    notices: &[Notice],
    now: i64,
) -> QueryResult<usize> {
    crate::db::transaction(conn, |conn| {
        let mut q = diesel::update(ap::table)
            .filter(ap::id.eq(id))
            .filter(ap::status.eq_any(t.from))
            .into_boxed();
        if let Some(after) = t.starts_after {
            q = q.filter(ap::starts_at.gt(after));
        }
        if let Some(by) = t.ended_by {
            q = q.filter(ap::ends_at.le(by));
        }
        if t.approved_consultant {
            q = q.filter(
                ap::consultant_id
                    .eq_any(bc::table.filter(bc::status.eq("approved")).select(bc::id)),
            );
        }
        let changed = q
            .set((
                ap::status.eq(t.to),
                ap::reason.eq(&t.reason),
                ap::cancelled_by.eq(t.cancelled_by),
                ap::updated_at.eq(now),
            ))
            .execute(conn)?;
        if changed == 1 && t.free {
            diesel::delete(slots::table.filter(slots::appointment_id.eq(id))).execute(conn)?;
        }
        if changed == 1 {
            super::notices::queue(conn, notices)?;
        }
        Ok(changed)
    })
}

/// Filters of an appointment list.
#[derive(Debug, Clone, Default)]
pub struct AppointmentFilter {
    pub client_subject: Option<String>,
    pub consultant_subject: Option<String>,
    pub status: Option<String>,
    /// By start time (earliest first) instead of newest first.
    pub by_start: bool,
}

fn appointment_query(f: &AppointmentFilter) -> ap::BoxedQuery<'static, crate::db::MultiBackend> {
    let mut q = ap::table.into_boxed();
    if let Some(s) = &f.client_subject {
        q = q.filter(ap::client_subject.eq(s.clone()));
    }
    if let Some(s) = &f.consultant_subject {
        q = q.filter(ap::consultant_subject.eq(s.clone()));
    }
    if let Some(s) = &f.status {
        q = q.filter(ap::status.eq(s.clone()));
    }
    q
}

/// One page of appointments and how many match.
pub fn list(
    conn: &mut DbConn,
    filter: &AppointmentFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<Appointment>, i64)> {
    let total = appointment_query(filter).count().get_result(conn)?;
    let q = appointment_query(filter);
    let q = if filter.by_start {
        q.order((ap::starts_at.asc(), ap::id.asc()))
    } else {
        q.order((ap::created_at.desc(), ap::id.desc()))
    };
    let items = q
        .limit(limit)
        .offset(offset)
        .select(Appointment::as_select())
        .load(conn)?;
    Ok((items, total))
}
