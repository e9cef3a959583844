//! Database access: one connection type over SQLite and PostgreSQL, the pool, migrations.

pub mod schema;

use diesel::connection::SimpleConnection;
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

pub type DbPool = Pool<ConnectionManager<DbConn>>;
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
}

/// SQLite needs a few pragmas on every connection: WAL for concurrent readers, a busy
/// timeout instead of immediate `SQLITE_BUSY`, and enforced foreign keys.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        if let DbConn::Sqlite(c) = conn {
            // busy_timeout first, so the others wait instead of failing with "locked".
            c.batch_execute(
                "PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Builds the pool for `url` (`postgres://…` or a SQLite path / `sqlite://` URL).
pub fn connect(url: &str, max_size: u32) -> Result<DbPool, DbError> {
    let url = normalize_url(url);
    let manager = ConnectionManager::<DbConn>::new(url);
    let pool = Pool::builder()
        .max_size(max_size)
        .min_idle(Some(1))
        // No `SELECT 1` before every checkout: a broken connection shows on first use and
        // r2d2 drops it then; the ping would double the cost of the hottest reads.
        .test_on_check_out(false)
        .connection_customizer(Box::new(SqlitePragmas))
        .build(manager)?;
    Ok(pool)
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

/// Runs blocking database work on the blocking thread pool, never on an async worker.
pub async fn run<T, F>(pool: &DbPool, f: F) -> Result<T, DbError>
where
    F: FnOnce(&mut DbConn) -> Result<T, DbError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await
    .map_err(|_| DbError::Cancelled)?
}
