//! Database access: one connection type over SQLite and PostgreSQL, the pool, migrations.

mod fixed;
mod gate;
pub mod schema;
#[cfg(test)]
mod testing;

pub(crate) use fixed::delete_batch;
pub use fixed::{Bind, Fixed, Returning};
#[cfg(test)]
pub use testing::{gate_turns, hold_the_gate, impatient_pool, impatient_pool_with, runs, HeldGate};

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// The one connection type the stores use; the backend is picked from the URL.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// The connection pool, and its [write gate](gate) for SQLite. It derefs to the r2d2 pool.
#[derive(Debug, Clone)]
pub struct DbPool {
    pool: Pool<ConnectionManager<DbConn>>,
    gate: std::sync::Arc<gate::WriteGate>,
}

impl std::ops::Deref for DbPool {
    type Target = Pool<ConnectionManager<DbConn>>;

    fn deref(&self) -> &Self::Target {
        &self.pool
    }
}

pub type PooledConn = PooledConnection<ConnectionManager<DbConn>>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
/// The APIs' own tables (bookings, content): a separate set, so a stand-alone API process
/// creates nothing of the identity provider's.
const API_SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/apis/sqlite");
const API_PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/apis/postgres");

/// Which migration sets to run.
#[derive(Debug, Clone, Copy)]
pub struct MigrationSets {
    /// The identity provider's tables.
    pub idp: bool,
    /// The bookings and content tables.
    pub apis: bool,
}

impl MigrationSets {
    pub const ALL: MigrationSets = MigrationSets {
        idp: true,
        apis: true,
    };
}

/// Errors from the storage layer that are not ordinary query failures.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database query: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migrations: {0}")]
    Migration(String),
    #[error("background task was cancelled")]
    Cancelled,
    #[error("{0}")]
    Unsupported(&'static str),
}

impl DbError {
    /// True when the database is out of reach for now (no connection within the wait, the
    /// server gone or restarting, SQLite's write lock held past the wait): the request may
    /// succeed if retried in a moment, so callers answer 503 + Retry-After, not 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Pool(_) => true,
            DbError::Query(e) => is_unavailable(e),
            DbError::Migration(_) | DbError::Cancelled | DbError::Unsupported(_) => false,
        }
    }
}

/// See [`DbError::is_unavailable`].
pub fn is_unavailable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    match e {
        Error::DatabaseError(Kind::ClosedConnection | Kind::UnableToSendCommand, _) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message();
            // SQLite: SQLITE_BUSY / SQLITE_LOCKED after the busy timeout. PostgreSQL: the
            // server shutting down or restarting (57P01-57P03), a dropped socket.
            m.contains("database is locked")
                || m.contains("database table is locked")
                || m.contains("terminating connection")
                || m.contains("the database system is")
                || m.contains("server closed the connection")
                || m.contains("no connection to the server")
                || m.contains("connection to server")
                || m.contains("could not receive data")
                || m.contains("could not send data")
        }
        Error::BrokenTransactionManager => true,
        _ => false,
    }
}

/// SQLite needs a few pragmas on every connection: WAL for concurrent readers, a busy
/// timeout instead of immediate `SQLITE_BUSY`, and enforced foreign keys.
#[derive(Debug)]
struct SqlitePragmas {
    busy_timeout_ms: u64,
}

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        if let DbConn::Sqlite(c) = conn {
            // busy_timeout first, so the others wait instead of failing with "locked".
            c.batch_execute(&format!(
                "PRAGMA busy_timeout = {}; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                self.busy_timeout_ms
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Builds the pool for `url` (`postgres://…` or a SQLite path / `sqlite://` URL). `wait`
/// bounds how long a request waits for a connection (or for SQLite's write lock) before
/// it is answered 503.
pub fn connect(url: &str, max_size: u32, wait: std::time::Duration) -> Result<DbPool, DbError> {
    let url = normalize_url(url);
    let manager = ConnectionManager::<DbConn>::new(url);
    let pool = Pool::builder()
        .max_size(max_size)
        .min_idle(Some(1))
        .connection_timeout(wait)
        // No `SELECT 1` before every checkout: a broken connection shows on first use and
        // is dropped then (see `run`); the ping would double the cost of the hottest reads.
        .test_on_check_out(false)
        .connection_customizer(Box::new(SqlitePragmas {
            busy_timeout_ms: wait.as_millis().try_into().unwrap_or(u64::MAX),
        }))
        .build(manager)?;
    Ok(DbPool {
        pool,
        gate: std::sync::Arc::new(gate::WriteGate::new(wait)),
    })
}

/// Runs `f` in a transaction. On SQLite the transaction takes the write lock up front
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails at once
/// with "database is locked" when another writer got in between, whatever the busy
/// timeout, while an immediate one waits its turn. Inside [`run`] it first waits its turn
/// at the pool's [write gate](gate), which wakes it as soon as the writer before it is done
/// (the connection and the turn share the pool's wait; SQLite's lock then has its own).
/// On PostgreSQL it is a plain `BEGIN`. Nested calls become savepoints, as with diesel's
/// own `transaction`.
pub fn transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <DbConn as diesel::Connection>::TransactionManager;
    let outermost = outermost_sqlite(conn)?;
    let gate = outermost.then(gate::WriteGate::current).flatten();
    let _held = gate
        .as_ref()
        .map(|(gate, until)| gate.hold(*until))
        .transpose()?;
    match conn {
        DbConn::Sqlite(c) if outermost => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        _ => Manager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            match Manager::rollback_transaction(conn) {
                Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => {}
                Err(rollback) => return Err(rollback.into()),
            }
            Err(e)
        }
    }
}

/// Runs a write that needs no transaction of its own (single statements, or several that
/// may land apart) so that on SQLite it still waits its turn at the pool's [write
/// gate](gate): outside a transaction it becomes an outermost [`transaction`] (gate,
/// `BEGIN IMMEDIATE`, one commit), so it neither sleeps in SQLite's busy handler behind a
/// gated writer nor makes one sleep behind it. Inside a transaction, and on PostgreSQL
/// (where a failed statement would abort the transaction that wraps it, and writers share
/// no file lock), `f` runs as it is.
pub fn write<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    if outermost_sqlite(conn)? {
        transaction(conn, f)
    } else {
        f(conn)
    }
}

/// True on a SQLite connection outside any transaction: where [`transaction`] begins
/// `IMMEDIATE` and waits at the write gate.
fn outermost_sqlite(conn: &mut DbConn) -> diesel::QueryResult<bool> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    Ok(match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c)
            .transaction_depth()?
            .is_none(),
        DbConn::Pg(_) => false,
    })
}

/// [`run`] with the whole of `f` as one [`write`].
pub async fn run_write<T, F>(pool: &DbPool, f: F) -> Result<T, DbError>
where
    F: FnOnce(&mut DbConn) -> Result<T, DbError> + Send + 'static,
    T: Send + 'static,
{
    run(pool, move |conn| write(conn, f)).await
}

/// Marks a pooled PostgreSQL connection as broken so the pool drops it instead of handing
/// it out again: a connection whose server went away fails every later query, and without
/// this the pool kept serving errors for tens of seconds after the database was back.
fn discard(conn: &mut DbConn) {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    if let DbConn::Pg(c) = conn {
        AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error();
    }
}

/// Diesel's SQLite driver takes a path (or `file:` URI); accept `sqlite://path` too.
fn normalize_url(url: &str) -> String {
    match url.strip_prefix("sqlite://") {
        Some(path) => path.to_string(),
        None => url.to_string(),
    }
}

/// Runs every pending migration of both sets for the pool's backend.
pub fn migrate(pool: &DbPool) -> Result<usize, DbError> {
    migrate_sets(pool, MigrationSets::ALL)
}

/// A migrated in-memory SQLite database for unit tests: one connection, so every query
/// sees the same database.
#[cfg(test)]
pub fn memory_pool(sets: MigrationSets) -> DbPool {
    let pool = connect(":memory:", 1, std::time::Duration::from_secs(5)).expect("pool");
    migrate_sets(&pool, sets).expect("migrations");
    pool
}

/// Runs the pending migrations of `sets` (identity provider first: its set is older).
pub fn migrate_sets(pool: &DbPool, sets: MigrationSets) -> Result<usize, DbError> {
    let mut conn = pool.get()?;
    let chosen = [(sets.idp, false), (sets.apis, true)];
    let mut applied = 0;
    for (_, apis) in chosen.into_iter().filter(|(on, _)| *on) {
        let done = match &mut *conn {
            DbConn::Sqlite(c) => {
                // WAL lets readers run beside a writer; the setting sticks to the file.
                c.batch_execute("PRAGMA journal_mode = WAL;")?;
                let set = if apis {
                    API_SQLITE_MIGRATIONS
                } else {
                    SQLITE_MIGRATIONS
                };
                c.run_pending_migrations(set).map(|v| v.len())
            }
            DbConn::Pg(c) => {
                let set = if apis {
                    API_PG_MIGRATIONS
                } else {
                    PG_MIGRATIONS
                };
                c.run_pending_migrations(set).map(|v| v.len())
            }
        };
        applied += done.map_err(|e| DbError::Migration(e.to_string()))?;
    }
    Ok(applied)
}

/// `porta backup`: a consistent copy of the SQLite database at `to` (`VACUUM INTO`: one
/// read transaction, so writers carry on while it runs). `to` must not exist yet.
pub fn backup_sqlite(conn: &mut DbConn, to: &std::path::Path) -> Result<(), DbError> {
    use diesel::RunQueryDsl;
    let DbConn::Sqlite(c) = conn else {
        return Err(DbError::Unsupported(
            "porta backup copies the embedded SQLite database; back up PostgreSQL with its own tools (docs/deployment.md)",
        ));
    };
    let path = to.to_string_lossy().to_string();
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(path)
        .execute(c)?;
    Ok(())
}

/// What `porta restore` checks in a backup before it replaces the database: SQLite's own
/// integrity check, and that this binary knows every migration it had (a backup from a
/// newer Porta is refused). Returns the number of migrations it had.
pub fn check_backup(path: &std::path::Path) -> Result<usize, String> {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    if !path.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    let mut c = SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| format!("{} cannot be opened: {e}", path.display()))?;
    let check: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut c)
        .map_err(|e| format!("{} is not an SQLite database: {e}", path.display()))?;
    if check.len() != 1 || check[0].integrity_check != "ok" {
        return Err(format!("{} fails SQLite's integrity check", path.display()));
    }
    let applied = c
        .applied_migrations()
        .map_err(|e| format!("{} is not a Porta database: {e}", path.display()))?;
    let known: Vec<String> =
        MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
            .map_err(|e| e.to_string())?
            .iter()
            .chain(
                MigrationSource::<diesel::sqlite::Sqlite>::migrations(&API_SQLITE_MIGRATIONS)
                    .map_err(|e| e.to_string())?
                    .iter(),
            )
            .map(|m| m.name().version().to_string())
            .collect();
    if applied.is_empty() {
        return Err(format!(
            "{} is not a Porta database (no migrations)",
            path.display()
        ));
    }
    if let Some(unknown) = applied.iter().find(|v| !known.contains(&v.to_string())) {
        return Err(format!(
            "{} comes from a newer Porta (migration {unknown} is unknown to this one)",
            path.display()
        ));
    }
    Ok(applied.len())
}

/// How many closures [`run`] has handed to the blocking pool in this process (each is a
/// wake-up of a blocking thread and of the waiting worker): `porta_db_runs_total`.
pub static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Runs blocking database work on the blocking thread pool, never on an async worker.
/// Each call is a hand-off to another thread and back, so a request step does its reads
/// and writes in one call where it can.
pub async fn run<T, F>(pool: &DbPool, f: F) -> Result<T, DbError>
where
    F: FnOnce(&mut DbConn) -> Result<T, DbError> + Send + 'static,
    T: Send + 'static,
{
    RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pool = pool.clone();
    actix_web::rt::task::spawn_blocking(move || run_here(&pool, f))
        .await
        .map_err(|_| DbError::Cancelled)?
}

/// [`run`]'s work on this thread: a connection, the pool's write gate, `f`.
pub(crate) fn run_here<T, F>(pool: &DbPool, f: F) -> Result<T, DbError>
where
    F: FnOnce(&mut DbConn) -> Result<T, DbError>,
{
    let started = std::time::Instant::now();
    let mut conn = pool.get()?;
    let result = {
        let _entered = gate::WriteGate::enter(&pool.gate, started);
        f(&mut conn)
    };
    if let Err(e) = &result {
        if e.is_unavailable() {
            discard(&mut conn);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    /// `.cargo/config.toml` builds SQLite with QPSG: without it, every `.first()` (a bound
    /// LIMIT) is parsed and planned again on each execution.
    #[test]
    fn sqlite_is_built_with_the_query_planner_stability_guarantee() {
        #[derive(diesel::QueryableByName)]
        struct CompileOption {
            #[diesel(sql_type = diesel::sql_types::Text)]
            compile_options: String,
        }
        let mut c = diesel::SqliteConnection::establish(":memory:").expect("in-memory SQLite");
        let options: Vec<CompileOption> = diesel::sql_query("PRAGMA compile_options")
            .load(&mut c)
            .expect("compile options");
        assert!(
            options.iter().any(|o| o.compile_options == "ENABLE_QPSG"),
            "SQLite was built without SQLITE_ENABLE_QPSG"
        );
    }
}
