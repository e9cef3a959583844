//! HTTP handlers: check the token (scope, person, role), parse, call the logic off the
//! async workers, answer JSON. Shared checks and helpers live here.

pub mod admin;
pub mod appointments;
pub mod categories;
pub mod consultants;
pub mod documents;

use actix_web::HttpResponse;
use serde::Deserialize;

use super::profiles::{self, ConsultantView};
use super::store::{self, ConsultantFilter};
use super::write_error;
use crate::db::{self, DbConn, DbPool};
use crate::resource::{ApiError, Caller, Paged, Pagination};

const READ: &str = "bookings:read";
const WRITE: &str = "bookings:write";

type Reply = Result<HttpResponse, ApiError>;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Runs `f` on a pooled connection off the async workers.
async fn run<T, F>(pool: &DbPool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    db::run(pool, move |conn| Ok(f(conn))).await?
}

/// [`run`] for work that writes without a transaction of its own: on SQLite it queues at
/// the write gate as one transaction ([`db::run_write`]); what `f` answers, an error
/// included, is committed as with [`run`].
async fn run_write<T, F>(pool: &DbPool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    db::run_write(pool, move |conn| Ok(f(conn))).await?
}

/// A unique violation means a concurrent request wrote the same record first: 409, not 500;
/// other failures as every write's (`write_error`).
fn concurrent(e: diesel::result::Error) -> ApiError {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            ApiError::Conflict("another request changed this at the same time; try again".into())
        }
        e => write_error(e),
    }
}

/// A person applying to consult, or a consultant: anyone may keep a profile of their own,
/// which waits for an admin's review (the `consultant` role comes with approval).
fn as_applicant(caller: &Caller, scope: &str) -> Result<(), ApiError> {
    caller.require_scope(scope)?;
    caller.require_person()
}

/// A person with the consultant role, acting on their own profile.
fn as_consultant(caller: &Caller, scope: &str) -> Result<(), ApiError> {
    caller.require_scope(scope)?;
    caller.require_person()?;
    caller.require_role("consultant")
}

fn as_admin(caller: &Caller, scope: &str) -> Result<(), ApiError> {
    caller.require_scope(scope)?;
    caller.require_role("admin")
}

fn as_person(caller: &Caller, scope: &str) -> Result<(), ApiError> {
    caller.require_person_scope(scope)
}

/// A filter value from a query string: trimmed, bounded, blank means none.
fn filter_value(field: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    // Measured as sent, so the document's maxLength holds exactly.
    if v.as_deref().is_some_and(|v| v.chars().count() > 100) {
        return Err(ApiError::InvalidRequest(format!(
            "{field} must be at most 100 characters"
        )));
    }
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => profiles::text(field, v, 100, false).map(Some),
    }
}

/// `?language=&speciality=` (and `status=` for admins).
#[derive(Debug, Deserialize)]
pub struct ConsultantsQuery {
    pub status: Option<String>,
    pub language: Option<String>,
    pub speciality: Option<String>,
    /// A category id: consultants offering an active service in it.
    pub category: Option<String>,
}

impl ConsultantsQuery {
    fn filter(self, status: Option<String>) -> Result<ConsultantFilter, ApiError> {
        Ok(ConsultantFilter {
            status,
            language: filter_value("language", self.language)?,
            speciality: filter_value("speciality", self.speciality)?,
            category: filter_value("category", self.category)?,
        })
    }
}

async fn consultant_page(
    pool: &DbPool,
    filter: ConsultantFilter,
    p: Pagination,
    private: bool,
) -> Reply {
    let page = run(pool, move |conn| {
        let (list, total) = store::consultants(conn, &filter, p.limit(), p.offset())?;
        Ok(Paged::new(profiles::views(conn, list, private)?, total, &p))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

fn one_view(
    conn: &mut DbConn,
    c: store::Consultant,
    private: bool,
) -> Result<ConsultantView, ApiError> {
    profiles::views(conn, vec![c], private)?
        .pop()
        .ok_or_else(|| ApiError::Internal("a profile vanished".into()))
}

#[cfg(test)]
mod tests {
    /// The bookings API's writes (`run_write`) wait their turn at the write gate while
    /// another write holds SQLite's lock: outside it (busy timeout off) they would fail.
    #[actix_web::test]
    async fn a_write_waits_its_turn_behind_a_writer_that_holds_the_lock() {
        let (_dir, pool) = crate::db::impatient_pool_with(crate::db::MigrationSets::ALL);
        let holder = crate::db::hold_the_gate(&pool, std::time::Duration::from_millis(300));
        let purged = super::run_write(&pool, |conn| {
            crate::bookings::store::notices::purge(conn, 0).map_err(crate::bookings::write_error)
        })
        .await;
        holder.released();
        assert!(matches!(purged, Ok(0)), "{purged:?}");
    }
}
