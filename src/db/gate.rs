//! The process's own queue for SQLite's write lock.
//!
//! SQLite lets one connection write at a time. A connection that finds the write lock
//! taken waits in SQLite's busy handler, which sleeps (1, 2, 5, 10 … 100 ms) between tries,
//! so under load the lock often sits free while the next writer sleeps: the server's core
//! was 5–8 % idle during the refresh benchmark, most of it for that. The write transactions of
//! one pool (an outermost [`super::transaction`] inside [`super::run`]) queue on this gate
//! instead, and the next one wakes the moment the gate opens. SQLite's lock stays the real
//! exclusion: a single statement outside a transaction passes no gate unless it runs as a
//! [`super::write`] (Porta's writes all do), and another process
//! (a second `porta serve` on the same file, a `porta user …` command while Porta serves)
//! still meets the lock and waits in the busy handler.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One pool's write gate: the write transactions of its connections pass one at a time.
#[derive(Debug)]
pub(super) struct WriteGate {
    lock: parking_lot::Mutex<()>,
    /// The pool's wait, which a writer's wait for its connection and for the gate share.
    wait: Duration,
    /// Turns asked for, for tests that count a task's gated writes.
    #[cfg(test)]
    pub(super) turns: std::sync::atomic::AtomicUsize,
    /// Database calls ([`super::run`]) made, for tests that count a task's calls.
    #[cfg(test)]
    pub(super) runs: std::sync::atomic::AtomicUsize,
}

/// The gate a thread has entered, and until when its writers may wait for it.
type Current = Option<(Arc<WriteGate>, Instant)>;

thread_local! {
    /// The gate of the pool whose connection this thread is using in [`super::run`].
    static CURRENT: RefCell<Current> = const { RefCell::new(None) };
}

/// The gate stays this thread's while it lives (see [`WriteGate::enter`]).
pub(super) struct Entered {
    before: Current,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let before = self.before.take();
        CURRENT.with(|current| *current.borrow_mut() = before);
    }
}

/// The gate is held while it lives.
pub(super) type Held<'a> = parking_lot::MutexGuard<'a, ()>;

impl WriteGate {
    pub(super) fn new(wait: Duration) -> WriteGate {
        WriteGate {
            lock: parking_lot::Mutex::new(()),
            wait,
            #[cfg(test)]
            turns: Default::default(),
            #[cfg(test)]
            runs: Default::default(),
        }
    }

    /// Makes `gate` the one that this thread's transactions pass until the answer drops.
    /// The work began at `started` (before it waited for its connection): the connection
    /// and the turn at the gate share the pool's one wait.
    pub(super) fn enter(gate: &Arc<WriteGate>, started: Instant) -> Entered {
        #[cfg(test)]
        gate.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let until = started + gate.wait;
        let before = CURRENT.with(|current| current.borrow_mut().replace((gate.clone(), until)));
        Entered { before }
    }

    /// The gate this thread entered, if any, and until when it may be waited for.
    pub(super) fn current() -> Current {
        CURRENT.with(|current| current.borrow().clone())
    }

    /// Waits for the gate until `until` (it is still taken at once if free after that).
    /// Past it, the answer is worded as SQLite's own "database is locked", which callers
    /// already treat as unavailable (503).
    pub(super) fn hold(&self, until: Instant) -> Result<Held<'_>, diesel::result::Error> {
        #[cfg(test)]
        self.turns
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock.try_lock_until(until).ok_or_else(|| {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::Unknown,
                Box::new(format!(
                    "database is locked: another write of this process held it past {} ms",
                    self.wait.as_millis()
                )),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use std::time::Duration;

    use super::super::{connect, hold_the_gate, run_here, transaction, write, DbConn, DbError};

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    /// A file database (the gate matters where several connections share one) with a
    /// counter in it, and its pool.
    fn counter(wait: Duration) -> (tempfile::TempDir, super::super::DbPool) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("gate.db");
        let pool = connect(path.to_str().expect("path"), 4, wait).expect("pool");
        let (mut conn, other) = (pool.get().expect("connection"), pool.get());
        let DbConn::Sqlite(c) = &mut *conn else {
            panic!("a SQLite pool");
        };
        c.batch_execute(
            "PRAGMA journal_mode = WAL; CREATE TABLE counter (n BIGINT NOT NULL); \
             INSERT INTO counter VALUES (0);",
        )
        .expect("counter");
        // Two connections open and idle: the tests' writers do not wait to open one.
        drop((conn, other.expect("a second connection")));
        (dir, pool)
    }

    /// Reads the counter, pauses, and writes it back one higher, in one transaction, with
    /// SQLite's busy timeout off: only the gate keeps two of these apart.
    fn bump(conn: &mut DbConn) -> Result<(), DbError> {
        conn.batch_execute("PRAGMA busy_timeout = 0")?;
        transaction(conn, |conn| {
            let Count { n } = diesel::sql_query("SELECT n FROM counter").get_result(conn)?;
            std::thread::sleep(Duration::from_millis(1));
            diesel::sql_query(format!("UPDATE counter SET n = {}", n + 1)).execute(conn)?;
            Ok::<_, DbError>(())
        })
    }

    #[test]
    fn a_pools_writers_queue_on_the_gate_not_on_sqlites_busy_handler() {
        let (_dir, pool) = counter(Duration::from_secs(30));
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    (0..25)
                        .map(|_| run_here(&pool, bump).map_err(|e| e.to_string()))
                        .collect::<Result<Vec<()>, String>>()
                })
            })
            .collect();
        for writer in writers {
            assert_eq!(
                writer.join().expect("writer").map(|done| done.len()),
                Ok(25)
            );
        }
        let Count { n } = run_here(&pool, |conn| {
            Ok(diesel::sql_query("SELECT n FROM counter").get_result(conn)?)
        })
        .expect("count");
        assert_eq!(n, 100);
    }

    #[test]
    fn a_writer_waits_for_the_gate_no_longer_than_the_pools_wait() {
        let (_dir, pool) = counter(Duration::from_millis(200));
        let (held, release) = (
            std::sync::mpsc::channel::<()>(),
            std::sync::mpsc::channel::<()>(),
        );
        let holder = {
            let pool = pool.clone();
            let (told, wait) = (held.0, release.1);
            std::thread::spawn(move || {
                run_here(&pool, move |conn| {
                    transaction(conn, |_| {
                        told.send(()).expect("tell");
                        wait.recv_timeout(Duration::from_secs(30)).expect("release");
                        Ok::<_, DbError>(())
                    })
                })
            })
        };
        held.1.recv().expect("the holder is in its transaction");
        let started = std::time::Instant::now();
        let waited = run_here(&pool, bump).expect_err("the gate stays shut");
        let took = started.elapsed();
        assert!(waited.is_unavailable(), "{waited}");
        assert!(
            waited.to_string().contains("held it past 200 ms"),
            "{waited}"
        );
        // It waited its turn, and not much past the wait (a loose bound: a busy machine).
        assert!(
            took >= Duration::from_millis(150) && took < Duration::from_secs(10),
            "{took:?}"
        );
        release.0.send(()).expect("release");
        holder.join().expect("holder").expect("the holder commits");
        run_here(&pool, bump).expect("the gate is open again");
    }

    /// One statement, outside any transaction, with SQLite's busy timeout off.
    fn bump_alone(conn: &mut DbConn) -> Result<usize, DbError> {
        conn.batch_execute("PRAGMA busy_timeout = 0")?;
        Ok(diesel::sql_query("UPDATE counter SET n = n + 1").execute(conn)?)
    }

    #[test]
    fn a_write_outside_a_transaction_waits_at_the_gate() {
        let (_dir, pool) = counter(Duration::from_secs(30));
        let holder = hold_the_gate(&pool, Duration::from_secs(1));
        // Passing no gate, it meets SQLite's lock, held by the gated writer.
        let bypass = run_here(&pool, bump_alone).expect_err("the write lock is held");
        assert!(
            bypass.to_string().contains("database is locked"),
            "{bypass}"
        );
        // As a `write`, it waits its turn at the gate, then goes through.
        assert_eq!(
            run_here(&pool, |conn| write(conn, bump_alone)).expect("its turn came"),
            1
        );
        holder.released();
        let Count { n } = run_here(&pool, |conn| {
            Ok(diesel::sql_query("SELECT n FROM counter").get_result(conn)?)
        })
        .expect("count");
        assert_eq!(n, 1);
    }

    #[test]
    fn a_write_inside_a_transaction_is_part_of_it() {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        let (_dir, pool) = counter(Duration::from_secs(30));
        let depth = |conn: &mut DbConn| -> Result<Option<u32>, DbError> {
            let DbConn::Sqlite(c) = conn else {
                panic!("a SQLite pool");
            };
            Ok(AnsiTransactionManager::transaction_manager_status_mut(c)
                .transaction_depth()?
                .map(|d| d.get()))
        };
        // Alone, it is an outermost transaction of its own.
        assert_eq!(
            run_here(&pool, |conn| write(conn, depth)).expect("depth"),
            Some(1)
        );
        // Inside one, no savepoint and no second turn at the gate (which would wait for
        // itself): the depth stays 1.
        let inside = run_here(&pool, |conn| transaction(conn, |conn| write(conn, depth)));
        assert_eq!(inside.expect("depth"), Some(1));
        // A transaction inside a write is a savepoint in it: one turn at the gate, no wait
        // for itself.
        let turns = super::super::gate_turns(&pool);
        let nested = run_here(&pool, |conn| write(conn, |conn| transaction(conn, depth)));
        assert_eq!(nested.expect("depth"), Some(2));
        assert_eq!(super::super::gate_turns(&pool) - turns, 1);
    }
}
