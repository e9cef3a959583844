//! Fixtures for tests of writes at the [write gate](super::gate): an impatient pool, a
//! holder of the gate, and counts of a pool's gate turns and calls.

use super::{connect, migrate_sets, run_here, transaction, DbError, DbPool, MigrationSets};

/// For tests of writes at the [write gate](super::gate): a file database with the identity
/// provider's tables, whose four connections give up at once on SQLite's lock (busy
/// timeout 0), so that a write which passes no gate fails with "database is locked" while
/// [`hold_the_gate`] holds it, and a gated one waits its turn.
pub fn impatient_pool() -> (tempfile::TempDir, DbPool) {
    impatient_pool_with(MigrationSets {
        idp: true,
        apis: false,
    })
}

/// [`impatient_pool`] with the tables of `sets`.
pub fn impatient_pool_with(sets: MigrationSets) -> (tempfile::TempDir, DbPool) {
    use diesel::connection::SimpleConnection;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("impatient.db");
    let pool = connect(
        path.to_str().expect("path"),
        4,
        std::time::Duration::from_secs(10),
    )
    .expect("pool");
    migrate_sets(&pool, sets).expect("migrations");
    let mut all: Vec<_> = (0..4).map(|_| pool.get().expect("connection")).collect();
    for conn in &mut all {
        conn.batch_execute("PRAGMA busy_timeout = 0")
            .expect("no busy wait");
    }
    (dir, pool)
}

/// Holds the pool's write gate and SQLite's write lock (a gated transaction) on a thread
/// of its own for `long`; returns once they are held.
pub fn hold_the_gate(pool: &DbPool, long: std::time::Duration) -> HeldGate {
    let (told, held) = std::sync::mpsc::channel();
    let pool = pool.clone();
    let holder = std::thread::spawn(move || {
        run_here(&pool, move |conn| {
            transaction(conn, |_| {
                told.send(()).expect("tell");
                std::thread::sleep(long);
                Ok::<_, DbError>(())
            })
        })
    });
    held.recv().expect("the holder is in its transaction");
    HeldGate(holder)
}

/// How many turns at the pool's write gate have been asked for so far (each gated write
/// asks once), for tests that count a task's gated writes.
pub fn gate_turns(pool: &DbPool) -> usize {
    pool.gate.turns.load(std::sync::atomic::Ordering::Relaxed)
}

/// How many database calls ([`run`](super::run), each with its own wait at the gate) the pool has
/// served so far, for tests that count a task's calls.
pub fn runs(pool: &DbPool) -> usize {
    pool.gate.runs.load(std::sync::atomic::Ordering::Relaxed)
}

/// The holder of [`hold_the_gate`].
pub struct HeldGate(std::thread::JoinHandle<Result<(), DbError>>);

impl HeldGate {
    /// Waits for the holder to let go, and checks that its transaction committed.
    pub fn released(self) {
        self.0
            .join()
            .expect("the holder")
            .expect("the holder commits");
    }
}
