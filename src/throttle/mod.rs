//! Brute-force defence: counters of failed attempts (passwords, client secrets) per
//! account and per client IP, in the database so every node shares them. After a number
//! of failures a key is locked for a delay that doubles with each further failure, up to a
//! ceiling; locks are always temporary, so an attacker cannot lock a person out for good.
//! Successful requests are never counted; attempts in flight hold a reservation (so
//! parallel guesses cannot exceed the budget) that a success gives back.

pub mod store;

use crate::config::ThrottleSettings;
use crate::db::{self, DbError, DbPool};

/// Deletes the counters `keys` (an administrator lifting locks); how many there were.
pub fn clear(conn: &mut crate::db::DbConn, keys: &[String]) -> diesel::QueryResult<usize> {
    let mut n = 0;
    for key in keys {
        n += store::delete(conn, key)?;
    }
    Ok(n)
}

/// One kind of throttle: how many failures are free, and how long locks last.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures inside `window` before the first lock.
    pub free_failures: i64,
    /// Seconds without failures after which the count starts over.
    pub window: i64,
    /// The first lock, in seconds; each further failure doubles it.
    pub base_lock: i64,
    /// The longest lock, in seconds.
    pub max_lock: i64,
}

impl Policy {
    /// The throttle for failed sign-ins of one account.
    pub fn account(s: &ThrottleSettings) -> Policy {
        Policy::with(s, s.login_max_failures)
    }

    /// The throttle for failed sign-ins from one IP.
    pub fn ip(s: &ThrottleSettings) -> Policy {
        Policy::with(s, s.ip_max_failures)
    }

    /// The throttle for failed client authentications of one client id.
    pub fn client(s: &ThrottleSettings) -> Policy {
        Policy::with(s, s.client_auth_max_failures)
    }

    fn with(s: &ThrottleSettings, free_failures: i64) -> Policy {
        Policy {
            free_failures,
            window: s.failure_window,
            base_lock: s.lock_base,
            max_lock: s.lock_max,
        }
    }

    /// The lock after `failures` failures (0 while still free).
    pub fn lock_for(&self, failures: i64) -> i64 {
        let over = failures - self.free_failures;
        if over < 0 {
            return 0;
        }
        let doubled = self.base_lock.saturating_mul(1i64 << over.min(30));
        doubled.min(self.max_lock)
    }
}

/// How long `key` is still locked, in seconds (0 = free to try).
pub async fn locked_for(pool: &DbPool, key: String) -> Result<i64, DbError> {
    let now = crate::time::now();
    db::run(pool, move |conn| {
        Ok(store::find(conn, &key)?
            .map(|c| (c.locked_until - now).max(0))
            .unwrap_or(0))
    })
    .await
}

/// Counts a failure for `key`; returns the lock it now carries (0 if none).
pub async fn record_failure(pool: &DbPool, key: String, policy: Policy) -> Result<i64, DbError> {
    let now = crate::time::now();
    db::run_write(pool, move |conn| Ok(store::fail(conn, &key, now, policy)?)).await
}

/// Takes one unit of each allowance `(key, window seconds, max)` in order, in one trip:
/// `Ok(None)` when every one was taken, `Ok(Some(seconds))` when one is spent for that
/// long (the ones before it stay taken: put the narrowest first). Used for work anyone can ask for (codes sent per address, per IP, in all).
pub async fn take(
    pool: &DbPool,
    allowances: Vec<(String, i64, i64)>,
) -> Result<Option<i64>, DbError> {
    db::run_write(pool, move |conn| Ok(take_in(conn, &allowances)?)).await
}

/// [`take`] inside the caller's database call, so that the work it allows can be written
/// in the same trip.
pub fn take_in(
    conn: &mut crate::db::DbConn,
    allowances: &[(String, i64, i64)],
) -> diesel::QueryResult<Option<i64>> {
    let now = crate::time::now();
    for (key, window, max) in allowances {
        if !store::take(conn, key, now, *window, *max)? {
            let wait = store::find(conn, key)?
                .map(|c| (c.window_start + window - now).max(1))
                .unwrap_or(1);
            return Ok(Some(wait));
        }
    }
    Ok(None)
}

/// How an attempt on several keys started.
#[derive(Debug)]
pub enum Begin {
    /// Reserved on every key: check the credential, then settle the attempt.
    Go(Attempt),
    /// A key is locked (or stayed busy past the wait): refused for this many seconds.
    Refused(i64),
}

/// How long an attempt waits for others in flight to settle before it is refused. Checks
/// are bounded by the hashing pool's queue deadline, so this is only reached in a flood.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How a waiting attempt looks again: woken when an attempt on its busy key settles on
/// this node (see [`wake_up`]), and at the latest after a pause that doubles from `first`
/// to `longest` (an attempt settled on another node).
#[derive(Debug, Clone, Copy)]
struct Pauses {
    first: std::time::Duration,
    longest: std::time::Duration,
}

const PAUSES: Pauses = Pauses {
    first: std::time::Duration::from_millis(5),
    longest: std::time::Duration::from_millis(100),
};

/// Where the attempts of this process that wait on a key are woken: one of a fixed set of
/// wake-ups, chosen by the key's hash (keys that share one only wake each other in vain,
/// and try again). Each attempt that settles (its reservations given back or counted)
/// rings the wake-up of each of its keys once, waking one attempt waiting there.
fn wake_up(key: &str) -> &'static tokio::sync::Notify {
    use std::hash::{Hash, Hasher};
    const SLOTS: usize = 64;
    static WAKE_UPS: std::sync::OnceLock<Vec<tokio::sync::Notify>> = std::sync::OnceLock::new();
    let slots = WAKE_UPS.get_or_init(|| (0..SLOTS).map(|_| tokio::sync::Notify::new()).collect());
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    &slots[(hasher.finish() % SLOTS as u64) as usize]
}

/// Rings the wake-up of each of `keys`: an attempt on them settled.
fn settled_on(keys: &[(String, Policy)]) {
    for (key, _) in keys {
        wake_up(key).notify_one();
    }
}

/// Starts an attempt on every key (each with its policy): refused while any key is
/// locked; otherwise one attempt of each key's budget is reserved until the attempt is
/// settled with [`Attempt::succeeded`] or [`Attempt::failed`] (dropping it unsettled gives
/// the reservations back). Only failures count, so a right password is never refused
/// because other attempts were in flight: while the free budget is held by attempts not
/// yet settled, this waits for them (bounded) instead of refusing.
pub async fn begin(pool: &DbPool, keys: Vec<(String, Policy)>) -> Result<Begin, DbError> {
    Ok(begin_and(pool, keys, |_| Ok(())).await?.0)
}

/// [`begin`], and once every key is reserved, `read` in the same database call (one trip
/// instead of two); its answer comes back with [`Begin::Go`] only. When `read` fails the
/// reservations are given back (by the attempt's drop, on a connection of its own).
pub async fn begin_and<T, F>(
    pool: &DbPool,
    keys: Vec<(String, Policy)>,
    read: F,
) -> Result<(Begin, Option<T>), DbError>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConn) -> diesel::QueryResult<T> + Clone + Send + 'static,
{
    begin_waiting(pool, keys, read, PAUSES).await
}

async fn begin_waiting<T, F>(
    pool: &DbPool,
    keys: Vec<(String, Policy)>,
    read: F,
    pauses: Pauses,
) -> Result<(Begin, Option<T>), DbError>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConn) -> diesel::QueryResult<T> + Clone + Send + 'static,
{
    /// One try: reserved (with the read's answer), or not yet.
    enum Try<T> {
        Go(Attempt, T),
        /// Not reserved: why, and on which key.
        Not(store::Reserve, usize),
    }
    let started = std::time::Instant::now();
    let mut pause = pauses.first;
    loop {
        // Listening on every key before the try, so an attempt settling during it still
        // wakes this one.
        let mut listening: Vec<_> = keys
            .iter()
            .map(|(key, _)| {
                let mut settled = Box::pin(wake_up(key).notified());
                settled.as_mut().enable();
                settled
            })
            .collect();
        let now = crate::time::now();
        let ks = keys.clone();
        let read = read.clone();
        let mut attempt = Attempt {
            pool: pool.clone(),
            keys: None,
        };
        let outcome = db::run(pool, move |conn| {
            // The reservations are one write (at the write gate on SQLite); the read after
            // them is not part of it, so its failure cannot undo them behind `Drop`'s back.
            let refused = db::write(conn, |conn| {
                for (i, (key, policy)) in ks.iter().enumerate() {
                    let found = store::reserve(conn, key, now, *policy)?;
                    if found != store::Reserve::Go {
                        for (taken, _) in &ks[..i] {
                            store::release(conn, taken)?;
                        }
                        return Ok::<_, diesel::result::Error>(Some((found, i)));
                    }
                }
                Ok(None)
            })?;
            if let Some((found, i)) = refused {
                return Ok(Try::Not(found, i));
            }
            // Reserved: from here on an error drops the attempt, which gives them back.
            attempt.keys = Some(ks);
            let value = read(conn)?;
            Ok(Try::Go(attempt, value))
        })
        .await?;
        match outcome {
            Try::Go(attempt, value) => return Ok((Begin::Go(attempt), Some(value))),
            Try::Not(store::Reserve::Locked(seconds), _) => {
                return Ok((Begin::Refused(seconds.max(1)), None))
            }
            Try::Not(..) if started.elapsed() >= BUSY_WAIT => return Ok((Begin::Refused(1), None)),
            Try::Not(_, busy) => {
                // The busy key's wake-up; the others' are dropped (a wake-up one of them
                // already took passes on to the next attempt waiting there).
                let settled = listening.swap_remove(busy);
                drop(listening);
                let _ = tokio::time::timeout(pause, settled).await;
                pause = (pause * 2).min(pauses.longest);
            }
        }
    }
}

/// An attempt whose budget is reserved; settle it once the credential is checked.
#[derive(Debug)]
pub struct Attempt {
    pool: DbPool,
    /// `None` once settled.
    keys: Option<Vec<(String, Policy)>>,
}

impl Attempt {
    /// The credential was right: the first key (the account's) is cleared, the others
    /// (shared, like an IP's) get their reservation back uncounted.
    pub async fn succeeded(self) -> Result<(), DbError> {
        let pool = self.pool.clone();
        db::run(&pool, move |conn| {
            // One transaction: settled whole, or (dropped unsettled) given back whole.
            db::transaction(conn, |conn| self.settle_success(conn))?;
            self.settled();
            Ok(())
        })
        .await
    }

    /// [`Attempt::succeeded`]'s writes inside the caller's database call and transaction,
    /// so the sign-in that follows is written in the same trip. Call [`Attempt::settled`]
    /// once that transaction committed: until then, dropping the attempt (a rollback)
    /// gives the reservations back.
    pub fn settle_success(&self, conn: &mut crate::db::DbConn) -> diesel::QueryResult<()> {
        for (i, (key, _)) in self.keys.iter().flatten().enumerate() {
            if i == 0 {
                store::settle_success(conn, key)?;
            } else {
                store::release(conn, key)?;
            }
        }
        Ok(())
    }

    /// The reservations given back uncounted inside the caller's transaction (the check
    /// could not decide); call [`Attempt::settled`] once it committed.
    pub fn settle_undecided(&self, conn: &mut crate::db::DbConn) -> diesel::QueryResult<()> {
        for (key, _) in self.keys.iter().flatten() {
            store::release(conn, key)?;
        }
        Ok(())
    }

    /// The transaction that settled this attempt committed: nothing is left to give back.
    pub fn settled(mut self) {
        if let Some(keys) = self.keys.take() {
            settled_on(&keys);
        }
    }

    /// The credential was wrong: counted on every key. Returns the longest lock that now
    /// stands (0 = none).
    pub async fn failed(mut self) -> Result<i64, DbError> {
        let keys = self.keys.take().unwrap_or_default();
        let now = crate::time::now();
        let settled = keys.clone();
        let lock = db::run_write(&self.pool, move |conn| {
            let mut lock = 0;
            for (key, policy) in &keys {
                lock = lock.max(store::settle_failure(conn, key, now, *policy)?);
            }
            Ok(lock)
        })
        .await;
        settled_on(&settled);
        lock
    }
}

impl Drop for Attempt {
    /// Unsettled (an error, or the request went away): the reservations are given back
    /// without counting, on a blocking thread.
    fn drop(&mut self) {
        let Some(keys) = self.keys.take() else {
            return;
        };
        let pool = self.pool.clone();
        let release = move || {
            let _ = db::run_here(&pool, |conn| {
                db::write(conn, |conn| {
                    for (key, _) in &keys {
                        let _ = store::release(conn, key);
                    }
                    Ok::<_, DbError>(())
                })
            });
            settled_on(&keys);
        };
        // Without a runtime (shutting down) the stale-reservation sweep frees them later.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn_blocking(release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_grow_and_stop_at_the_ceiling() {
        let p = Policy {
            free_failures: 5,
            window: 900,
            base_lock: 2,
            max_lock: 900,
        };
        assert_eq!(p.lock_for(4), 0);
        assert_eq!(p.lock_for(5), 2);
        assert_eq!(p.lock_for(6), 4);
        assert_eq!(p.lock_for(9), 32);
        assert_eq!(p.lock_for(40), 900);
        assert_eq!(p.lock_for(10_000), 900);
    }

    /// The identity provider's tables (attempt counters among them), in memory.
    fn counters() -> crate::db::DbPool {
        crate::db::memory_pool(crate::db::MigrationSets {
            idp: true,
            apis: false,
        })
    }

    const POLICY: Policy = Policy {
        free_failures: 2,
        window: 900,
        base_lock: 60,
        max_lock: 900,
    };

    fn row(conn: &mut crate::db::DbConn, key: &str) -> store::Counter {
        store::find(conn, key).expect("read").expect("a row")
    }

    /// Attempts in flight on `acct` and `ip` once given-back reservations have landed: an
    /// attempt dropped unsettled gives them back on a blocking thread of its own, so this
    /// waits (up to 2 s) for nothing to be in flight before it answers.
    async fn in_flight_once_settled(pool: &crate::db::DbPool) -> (i64, i64) {
        let mut held = (0, 0);
        for _ in 0..200 {
            held = {
                let conn = &mut *pool.get().expect("connection");
                (row(conn, "acct").in_flight, row(conn, "ip").in_flight)
            };
            if held == (0, 0) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        held
    }

    /// `begin_and` reads in the reservation's own database call, only once every key is
    /// reserved; a failed read gives the reservations back.
    #[actix_web::test]
    async fn begin_and_reads_only_when_reserved_and_a_failed_read_gives_the_keys_back() {
        let pool = counters();
        let keys = vec![("acct".to_string(), POLICY), ("ip".to_string(), POLICY)];
        let in_flight = |key: &'static str| {
            move |conn: &mut crate::db::DbConn| Ok(store::find(conn, key)?.map(|c| c.in_flight))
        };
        // The read sees both reservations already made: one call, in order.
        let (begun, read) = begin_and(&pool, keys.clone(), in_flight("ip"))
            .await
            .expect("begin");
        let Begin::Go(attempt) = begun else {
            panic!("refused: {begun:?}")
        };
        assert_eq!(read, Some(Some(1)));
        attempt.succeeded().await.expect("settle");
        // A read that fails is an error, and nothing stays in flight.
        let failed = begin_and(&pool, keys.clone(), |_| {
            Err::<(), _>(diesel::result::Error::NotFound)
        })
        .await;
        assert!(failed.is_err());
        assert_eq!(in_flight_once_settled(&pool).await, (0, 0));
        {
            let conn = &mut *pool.get().expect("connection");
            // Two failures of the account: locked for base_lock seconds.
            let now = crate::time::now();
            for _ in 0..2 {
                store::reserve(conn, "acct", now, POLICY).expect("reserve");
                store::settle_failure(conn, "acct", now, POLICY).expect("fail");
            }
        }
        // Locked: refused, and the read never runs.
        let (begun, read) = begin_and(&pool, keys, |_| -> diesel::QueryResult<()> {
            panic!("read while locked")
        })
        .await
        .expect("begin");
        assert!(matches!(begun, Begin::Refused(s) if s > 0), "{begun:?}");
        assert!(read.is_none());
        assert_eq!(in_flight_once_settled(&pool).await, (0, 0));
    }

    /// A success settled inside a transaction that then rolls back leaves the attempt
    /// armed: dropping it gives both reservations back (on a blocking thread).
    #[actix_web::test]
    async fn a_success_settled_in_a_transaction_that_rolls_back_gives_the_reservations_back() {
        let pool = counters();
        let keys = vec![("acct".to_string(), POLICY), ("ip".to_string(), POLICY)];
        let Begin::Go(attempt) = begin(&pool, keys).await.expect("begin") else {
            panic!("refused")
        };
        let rolled_back = db::run(&pool, move |conn| {
            let result = db::transaction(conn, |conn| {
                attempt.settle_success(conn)?;
                Err::<(), DbError>(diesel::result::Error::RollbackTransaction.into())
            });
            if result.is_ok() {
                attempt.settled();
            }
            result
        })
        .await;
        assert!(rolled_back.is_err());
        assert_eq!(
            in_flight_once_settled(&pool).await,
            (0, 0),
            "reservations still held after the rollback"
        );
    }

    /// Every write of an attempt waits its turn at the pool's write gate: with SQLite's
    /// busy timeout off, each one fails at once while another writer holds the lock unless
    /// it queues at the gate behind it.
    #[actix_web::test]
    async fn an_attempts_writes_wait_their_turn_behind_a_writer_that_holds_the_lock() {
        let (_dir, pool) = crate::db::impatient_pool();
        let held = || crate::db::hold_the_gate(&pool, std::time::Duration::from_millis(300));
        let keys = vec![("acct".to_string(), POLICY), ("ip".to_string(), POLICY)];

        let holder = held();
        let attempt = go(begin(&pool, keys.clone()).await.expect("reserved"));
        holder.released();
        let holder = held();
        assert_eq!(attempt.failed().await.expect("counted"), 0);
        holder.released();
        let holder = held();
        assert_eq!(
            record_failure(&pool, "other".into(), POLICY)
                .await
                .expect("counted"),
            0
        );
        holder.released();
        let holder = held();
        assert_eq!(
            take(&pool, vec![("sends".into(), 60, 5)])
                .await
                .expect("taken"),
            None
        );
        holder.released();
        // Dropped unsettled: given back on a blocking thread, behind the holder.
        let dropped = go(begin(&pool, keys).await.expect("reserved"));
        let holder = held();
        drop(dropped);
        holder.released();
        assert_eq!(in_flight_once_settled(&pool).await, (0, 0));
        let conn = &mut *pool.get().expect("connection");
        assert_eq!(row(conn, "acct").failures, 1);
        assert_eq!(row(conn, "ip").failures, 1);
        assert_eq!(row(conn, "other").failures, 1);
        assert_eq!(row(conn, "sends").failures, 1);
    }

    /// Pauses that outlast the wake-up tests' patience (5 s): a waiter that goes in time
    /// was woken, not timed out.
    const SLOW: Pauses = Pauses {
        first: std::time::Duration::from_secs(30),
        longest: std::time::Duration::from_secs(30),
    };

    fn go(begun: Begin) -> Attempt {
        match begun {
            Begin::Go(attempt) => attempt,
            Begin::Refused(s) => panic!("refused for {s} s"),
        }
    }

    /// A waiting attempt goes as soon as an attempt of this process settles or is dropped,
    /// not after its pause: here the pause (30 s) outlasts the test's patience (5 s).
    #[actix_web::test]
    async fn a_waiting_attempt_is_woken_when_one_in_flight_settles_or_is_dropped() {
        let pool = counters();
        let keys = vec![("acct".to_string(), POLICY)];
        let first = go(begin(&pool, keys.clone()).await.expect("begin"));
        let second = go(begin(&pool, keys.clone()).await.expect("begin"));
        let wait = || {
            let (pool, keys) = (pool.clone(), keys.clone());
            tokio::spawn(async move {
                begin_waiting(&pool, keys, |_: &mut crate::db::DbConn| Ok(()), SLOW)
                    .await
                    .expect("begin")
                    .0
            })
        };
        let patience = std::time::Duration::from_secs(5);

        // The budget (2) is held: the third waits, and goes once the first succeeds.
        let mut third = wait();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!third.is_finished(), "went past a held budget");
        first.succeeded().await.expect("settle");
        let third = go(tokio::time::timeout(patience, &mut third)
            .await
            .expect("still waiting after a success settled")
            .expect("task"));

        // Held again (second, third): the fourth goes once the third is dropped unsettled.
        let mut fourth = wait();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!fourth.is_finished(), "went past a held budget");
        drop(third);
        let fourth = go(tokio::time::timeout(patience, &mut fourth)
            .await
            .expect("still waiting after an attempt was dropped")
            .expect("task"));
        fourth.succeeded().await.expect("settle");
        second.succeeded().await.expect("settle");
        assert_eq!(
            row(&mut pool.get().expect("connection"), "acct").in_flight,
            0
        );
    }

    /// An attempt on several keys that waits on one of them (here the second: the
    /// address, as a sign-in's keys are the account's and then the address's) is woken by
    /// that key's settle, not by another key's.
    #[actix_web::test]
    async fn a_waiting_attempt_is_woken_by_the_key_it_waits_on() {
        let pool = counters();
        let (account, address) = (
            "acct:woken-by-key".to_string(),
            "ip:woken-by-key".to_string(),
        );
        // Wake-ups are shared by the tests of this process: this one's must be its own
        // (not each other's, nor the other wake-up test's "acct").
        for (a, b) in [(&account, &address), (&address, &"acct".to_string())] {
            assert!(
                !std::ptr::eq(wake_up(a), wake_up(b)),
                "{a} and {b} share a wake-up: pick other names"
            );
        }
        let alone = vec![(address.clone(), POLICY)];
        let first = go(begin(&pool, alone.clone()).await.expect("begin"));
        let second = go(begin(&pool, alone).await.expect("begin"));
        let both = vec![(account.clone(), POLICY), (address.clone(), POLICY)];
        let mut waiting = {
            let pool = pool.clone();
            tokio::spawn(async move {
                begin_waiting(&pool, both, |_: &mut crate::db::DbConn| Ok(()), SLOW)
                    .await
                    .expect("begin")
                    .0
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "went past a held budget");
        first.succeeded().await.expect("settle");
        let woken = go(
            tokio::time::timeout(std::time::Duration::from_secs(5), &mut waiting)
                .await
                .expect("still waiting after the address's attempt settled")
                .expect("task"),
        );
        woken.succeeded().await.expect("settle");
        second.succeeded().await.expect("settle");
        let conn = &mut *pool.get().expect("connection");
        assert_eq!(
            (row(conn, &account).in_flight, row(conn, &address).in_flight),
            (0, 0)
        );
    }

    #[test]
    fn the_first_reservation_makes_the_row_and_the_budget_bounds_parallel_ones() {
        use store::Reserve::{Busy, Go};
        let pool = counters();
        let conn = &mut *pool.get().expect("connection");
        assert!(store::find(conn, "k").expect("read").is_none());
        assert_eq!(
            store::reserve(conn, "k", 1000, POLICY).expect("reserve"),
            Go
        );
        let c = row(conn, "k");
        assert_eq!(
            (c.failures, c.in_flight, c.in_flight_since, c.window_start),
            (0, 1, 1000, 1000)
        );
        // Two free failures: a second attempt may run beside the first, a third waits.
        assert_eq!(
            store::reserve(conn, "k", 1001, POLICY).expect("reserve"),
            Go
        );
        assert_eq!(
            store::reserve(conn, "k", 1002, POLICY).expect("reserve"),
            Busy
        );
        assert_eq!(row(conn, "k").in_flight, 2);
        // A success clears the account's key and gives its reservation back.
        store::settle_success(conn, "k").expect("settle");
        let c = row(conn, "k");
        assert_eq!((c.failures, c.locked_until, c.in_flight), (0, 0, 1));
        store::settle_success(conn, "k").expect("settle");
        store::settle_success(conn, "k").expect("settle, nothing in flight");
        assert_eq!(row(conn, "k").in_flight, 0, "never below zero");
    }

    #[test]
    fn past_the_budget_attempts_go_one_at_a_time_and_a_lock_refuses() {
        use store::Reserve::{Busy, Go, Locked};
        let pool = counters();
        let conn = &mut *pool.get().expect("connection");
        for now in [1000, 1001] {
            assert_eq!(store::reserve(conn, "k", now, POLICY).expect("reserve"), Go);
            store::settle_failure(conn, "k", now, POLICY).expect("fail");
        }
        // Two failures reached the budget: a lock of base_lock seconds.
        let c = row(conn, "k");
        assert_eq!((c.failures, c.locked_until), (2, 1061));
        assert_eq!(
            store::reserve(conn, "k", 1030, POLICY).expect("reserve"),
            Locked(31)
        );
        // Once the lock has run out, one attempt at a time.
        assert_eq!(
            store::reserve(conn, "k", 1061, POLICY).expect("reserve"),
            Go
        );
        assert_eq!(
            store::reserve(conn, "k", 1061, POLICY).expect("reserve"),
            Busy
        );
    }

    #[test]
    fn reservations_of_a_node_that_died_are_dropped_and_a_quiet_window_starts_over() {
        use store::Reserve::{Busy, Go};
        let pool = counters();
        let conn = &mut *pool.get().expect("connection");
        // One failure, then two reservations that are never settled (their node died).
        assert_eq!(
            store::reserve(conn, "k", 1000, POLICY).expect("reserve"),
            Go
        );
        store::settle_failure(conn, "k", 1000, POLICY).expect("fail");
        assert_eq!(
            store::reserve(conn, "k", 1010, POLICY).expect("reserve"),
            Go
        );
        assert_eq!(
            store::reserve(conn, "k", 1010, POLICY).expect("reserve"),
            Busy
        );
        // Still fresh: the budget is held.
        assert_eq!(
            store::reserve(conn, "k", 1010 + store::STALE_IN_FLIGHT, POLICY).expect("reserve"),
            Busy
        );
        // Past STALE_IN_FLIGHT they count as none: this attempt goes, and is the only one.
        let later = 1011 + store::STALE_IN_FLIGHT;
        assert_eq!(
            store::reserve(conn, "k", later, POLICY).expect("reserve"),
            Go
        );
        let c = row(conn, "k");
        assert_eq!((c.in_flight, c.in_flight_since, c.failures), (1, later, 1));
        store::release(conn, "k").expect("release");
        // A window gone quiet (nothing in flight, not locked) counts from zero again.
        let quiet = 1000 + POLICY.window + 1;
        assert_eq!(
            store::reserve(conn, "k", quiet, POLICY).expect("reserve"),
            Go
        );
        let c = row(conn, "k");
        assert_eq!((c.failures, c.window_start, c.in_flight), (0, quiet, 1));
    }
}
