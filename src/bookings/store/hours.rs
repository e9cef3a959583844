//! Diesel queries for weekly hours and dated exceptions.

use diesel::prelude::*;

use crate::db::schema::booking_availability as av;
use crate::db::schema::booking_consultants as bc;
use crate::db::schema::booking_exceptions as ex;
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = av)]
pub struct Availability {
    pub consultant_id: String,
    pub weekday: i64,
    pub start_minute: i64,
    pub end_minute: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ex)]
pub struct ExceptionRow {
    pub id: String,
    pub consultant_id: String,
    /// Local date, `YYYY-MM-DD` (sorts as text).
    pub day: String,
    pub start_minute: Option<i64>,
    pub end_minute: Option<i64>,
    pub available: bool,
    pub created_at: i64,
}

pub fn weekly(conn: &mut DbConn, consultant_id: &str) -> QueryResult<Vec<Availability>> {
    av::table
        .filter(av::consultant_id.eq(consultant_id))
        .order((av::weekday, av::start_minute))
        .select(Availability::as_select())
        .load(conn)
}

/// Replaces all weekly hours of a consultant. Concurrent replacements run one after the
/// other: otherwise, on PostgreSQL, each delete misses the rows the other inserts and the
/// week ends up a mix of both.
pub fn replace_weekly(
    conn: &mut DbConn,
    consultant_id: &str,
    rows: &[Availability],
) -> QueryResult<()> {
    crate::db::transaction(conn, |conn| {
        // A no-op update locks the profile row until commit.
        diesel::update(bc::table.find(consultant_id))
            .set(bc::updated_at.eq(bc::updated_at))
            .execute(conn)?;
        diesel::delete(av::table.filter(av::consultant_id.eq(consultant_id))).execute(conn)?;
        for row in rows {
            diesel::insert_into(av::table).values(row).execute(conn)?;
        }
        Ok(())
    })
}

pub fn insert_exception(conn: &mut DbConn, row: &ExceptionRow) -> QueryResult<usize> {
    diesel::insert_into(ex::table).values(row).execute(conn)
}

pub fn count_exceptions(conn: &mut DbConn, consultant_id: &str) -> QueryResult<i64> {
    ex::table
        .filter(ex::consultant_id.eq(consultant_id))
        .count()
        .get_result(conn)
}

/// One page of a consultant's exceptions by date, and their number. Within a date whole-day
/// exceptions come first, then by start: an explicit key, since SQLite sorts NULLs
/// (whole days) first and PostgreSQL last.
pub fn exceptions(
    conn: &mut DbConn,
    consultant_id: &str,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<ExceptionRow>, i64)> {
    let total = count_exceptions(conn, consultant_id)?;
    let items = ex::table
        .filter(ex::consultant_id.eq(consultant_id))
        .order((
            ex::day,
            ex::start_minute.is_null().desc(),
            ex::start_minute,
            ex::id,
        ))
        .limit(limit)
        .offset(offset)
        .select(ExceptionRow::as_select())
        .load(conn)?;
    Ok((items, total))
}

/// Exceptions on local dates `from..=to` (`YYYY-MM-DD`).
pub fn exceptions_between(
    conn: &mut DbConn,
    consultant_id: &str,
    from: &str,
    to: &str,
) -> QueryResult<Vec<ExceptionRow>> {
    ex::table
        .filter(ex::consultant_id.eq(consultant_id))
        .filter(ex::day.ge(from))
        .filter(ex::day.le(to))
        .select(ExceptionRow::as_select())
        .load(conn)
}

pub fn delete_exception(conn: &mut DbConn, consultant_id: &str, id: &str) -> QueryResult<usize> {
    diesel::delete(
        ex::table
            .find(id)
            .filter(ex::consultant_id.eq(consultant_id)),
    )
    .execute(conn)
}
