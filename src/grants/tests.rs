//! The grants store against a real database: SQLite in memory, or, with
//! `PORTA_TEST_POSTGRES_URL` set (as CI's PostgreSQL run sets it), a PostgreSQL database of
//! the test's own, dropped at its end.

use diesel::connection::{Connection, InstrumentationEvent};
use std::sync::{Arc, Mutex};

use super::store::*;
use crate::db::DbPool;

/// A migrated database of the identity provider's tables, on the backend the suite runs on.
struct TestDb {
    pool: Option<DbPool>,
    /// The server's URL and the database's name, to drop it.
    postgres: Option<(String, String)>,
}

impl TestDb {
    fn new() -> TestDb {
        let sets = crate::db::MigrationSets {
            idp: true,
            apis: false,
        };
        let Some(base) = std::env::var("PORTA_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            return TestDb {
                pool: Some(crate::db::memory_pool(sets)),
                postgres: None,
            };
        };
        // Plain TCP, as the black-box suite: libpq's TLS teardown at exit can crash a test
        // binary whose other threads still run.
        let base = format!(
            "{base}{}sslmode=disable&gssencmode=disable",
            if base.contains('?') { '&' } else { '?' }
        );
        let name = format!("porta_u_{}", uuid::Uuid::new_v4().simple());
        let mut admin = diesel::pg::PgConnection::establish(&base).expect("PostgreSQL");
        diesel::RunQueryDsl::execute(
            diesel::sql_query(format!("CREATE DATABASE {name}")),
            &mut admin,
        )
        .expect("create the test database");
        let mut url = url::Url::parse(&base).expect("PORTA_TEST_POSTGRES_URL is a URL");
        url.set_path(&format!("/{name}"));
        let pool =
            crate::db::connect(url.as_str(), 1, std::time::Duration::from_secs(10)).expect("pool");
        crate::db::migrate_sets(&pool, sets).expect("migrations");
        TestDb {
            pool: Some(pool),
            postgres: Some((base, name)),
        }
    }

    fn pool(&self) -> &DbPool {
        self.pool.as_ref().expect("pool")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.pool = None;
        if let Some((base, name)) = &self.postgres {
            if let Ok(mut admin) = diesel::pg::PgConnection::establish(base) {
                let _ = diesel::RunQueryDsl::execute(
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
                    &mut admin,
                );
            }
        }
    }
}

fn unquoted(sql: &str) -> String {
    sql.replace(['`', '"'], "")
}

fn row(hash: &str) -> RefreshRow {
    RefreshRow {
        token_hash: hash.into(),
        family_id: "family".into(),
        client_id: "app".into(),
        user_id: "person".into(),
        scope: "openid profile".into(),
        auth_time: 100,
        amr: "pwd".into(),
        created_at: 200,
        expires_at: 300,
        rotated_at: None,
        successor_enc: None,
    }
}

/// A rotation (the UPDATE … RETURNING and the successor's INSERT) is prepared once per
/// connection, whatever the optional columns hold, not on every refresh: diesel prepares
/// every UPDATE afresh, and on PostgreSQL every INSERT with an optional field. And every
/// column goes where it belongs, both ways.
#[test]
fn a_rotation_stays_prepared_and_keeps_every_column() {
    let db = TestDb::new();
    let mut conn = db.pool().get().expect("connection");
    // Each statement prepared for the cache, and each run, by its text (diesel's quoting
    // of names, backticks on SQLite and double quotes on PostgreSQL, left out).
    let (cached, ran) = (
        Arc::new(Mutex::new(Vec::<String>::new())),
        Arc::new(Mutex::new(Vec::<String>::new())),
    );
    let (cache_log, run_log) = (Arc::clone(&cached), Arc::clone(&ran));
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| match event {
        InstrumentationEvent::CacheQuery { sql, .. } => {
            cache_log.lock().expect("log").push(unquoted(sql))
        }
        InstrumentationEvent::StartQuery { query, .. } => run_log
            .lock()
            .expect("log")
            .push(unquoted(&query.to_string())),
        _ => {}
    });
    insert_refresh(&mut conn, &row("h0")).expect("first token");
    for n in 1..=3 {
        let before = format!("h{}", n - 1);
        let rotated = rotate_refresh(&mut conn, &before, 250 + n, &format!("sealed{n}"))
            .expect("rotate")
            .expect("a live token rotates");
        let mut expected = row(&before);
        expected.rotated_at = Some(250 + n);
        expected.successor_enc = Some(format!("sealed{n}"));
        assert_eq!(format!("{rotated:?}"), format!("{expected:?}"));
        insert_refresh(&mut conn, &row(&format!("h{n}"))).expect("successor");
    }
    assert!(
        rotate_refresh(&mut conn, "h0", 999, "again")
            .expect("rotate")
            .is_none(),
        "a rotated token does not rotate twice"
    );
    // A row with its optional columns set goes in with them, each in its column.
    let mut full = row("full");
    full.rotated_at = Some(7);
    full.successor_enc = Some("sealed".into());
    insert_refresh(&mut conn, &full).expect("insert");
    let found = find_refresh(&mut conn, "full")
        .expect("find")
        .expect("found");
    assert_eq!(format!("{found:?}"), format!("{full:?}"));
    let (cached, ran) = (cached.lock().expect("log"), ran.lock().expect("log"));
    for (statement, runs) in [
        ("UPDATE refresh_tokens", 4),
        ("INSERT INTO refresh_tokens", 5),
    ] {
        let count = |log: &[String]| log.iter().filter(|s| s.starts_with(statement)).count();
        assert_eq!(count(&ran), runs, "{statement} runs: {ran:?}");
        assert_eq!(count(&cached), 1, "{statement} prepared once: {cached:?}");
    }
}
