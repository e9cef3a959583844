//! Which argon2id code runs the hashes both libsodium and RustCrypto's `argon2` can run
//! (every hash Porta writes): the `hash_engine` setting, and `auto`'s one measurement per
//! process.

use super::{dummy_password_hash, release_argon_memory, verify_with, HashJob, Memory};

/// The `hash_engine` setting: which argon2id code runs the hashes both can run (every
/// hash Porta writes). They give the same bytes; which is faster depends on the CPU
/// (bench/argon2.sh): libsodium maps and faults in each hash's 19 MiB afresh, which its
/// AVX-512 code more than pays for on an Intel Xeon (1.25–1.4× RustCrypto), but not on the
/// AMD EPYC we measured, where RustCrypto with each hashing thread's memory kept is faster
/// (1.06–1.14× by the clock, ≈ 1.25× by thread CPU time; docs/sizing.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashEngine {
    /// Measure both two seconds after the hashing pool starts (seven hashes of each on a
    /// hashing thread, once per process) and use the faster; libsodium until then, and on
    /// a near tie (it holds no memory between hashes).
    #[default]
    Auto,
    /// libsodium.
    Libsodium,
    /// RustCrypto's `argon2`, each hashing thread keeping its memory for `hash_memory_keep`.
    Rustcrypto,
}

/// Which code runs a hash that both can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Engine {
    Libsodium,
    RustCrypto,
}

/// The engine a hashing pool runs, shared by its handles; `auto`'s measurement sets it
/// once.
#[derive(Debug, Clone)]
pub(super) struct EngineChoice(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl EngineChoice {
    /// The choice for a pool with this setting: `auto` takes the process's measurement,
    /// or starts on libsodium and has the pool measure (`measure_later`).
    pub(super) fn new(
        setting: HashEngine,
        jobs: &std::sync::mpsc::Sender<HashJob>,
        slots: &std::sync::Arc<tokio::sync::Semaphore>,
    ) -> EngineChoice {
        let choice = EngineChoice(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(
            setting == HashEngine::Rustcrypto,
        )));
        if setting == HashEngine::Auto {
            match MEASURED.get() {
                Some(engine) => choice.set(*engine),
                None => measure_later(jobs.clone(), slots.clone(), choice.clone()),
            }
        }
        choice
    }

    /// The engine to run a hash on now.
    pub(super) fn get(&self) -> Engine {
        if self.0.load(std::sync::atomic::Ordering::Relaxed) {
            Engine::RustCrypto
        } else {
            Engine::Libsodium
        }
    }

    fn set(&self, engine: Engine) {
        self.0.store(
            engine == Engine::RustCrypto,
            std::sync::atomic::Ordering::Relaxed,
        );
    }
}

/// What `HashEngine::Auto` measured in this process: the CPU does not change, so every
/// hashing pool after the first (tests start many) uses the first one's answer.
pub(super) static MEASURED: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();

/// How long after the hashing pool starts `HashEngine::Auto` measures.
const MEASURE_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// RustCrypto is used only when it is clearly faster: on a near tie libsodium, which keeps
/// no memory between hashes.
fn faster(libsodium: std::time::Duration, rustcrypto: std::time::Duration) -> Engine {
    if rustcrypto.as_nanos() * 20 < libsodium.as_nanos() * 19 {
        Engine::RustCrypto
    } else {
        Engine::Libsodium
    }
}

/// Times both engines on the dummy hash, on the calling hashing thread, then gives the
/// memory back. It counts the thread's own CPU time (page faults included), not the
/// clock: it runs while the rest of Porta starts, on the same cores, and the clock
/// counted that work too (two engines 20 % apart measured 4 % apart). Seven of each,
/// alternating; the first two rounds warm up (a new process's first hashes ran slower on
/// both, fresh memory, narrowing the gap) and the best of the other five counts.
fn measure() -> (std::time::Duration, std::time::Duration) {
    let mut best = [std::time::Duration::MAX; 2];
    for round in 0..7 {
        for (i, engine) in [Engine::Libsodium, Engine::RustCrypto]
            .into_iter()
            .enumerate()
        {
            let started = thread_cpu_time();
            verify_with("porta-measure", dummy_password_hash(), Memory::Kept, engine);
            if round >= 2 {
                best[i] = best[i].min(thread_cpu_time().saturating_sub(started));
            }
        }
    }
    release_argon_memory();
    (best[0], best[1])
}

/// `HashEngine::Auto`: `MEASURE_AFTER` in (once start-up has settled: measured while the
/// rest of Porta starts on the same cores, the engines came out closer than they are), and
/// once a hashing slot is free (the measurement counts against `hash_concurrency` like any
/// hash), a hashing thread measures both engines, once per process; `choice` gets the
/// faster. Until then the pool hashes with libsodium.
fn measure_later(
    jobs: std::sync::mpsc::Sender<HashJob>,
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    choice: EngineChoice,
) {
    let spawned = std::thread::Builder::new()
        .name("porta-hash-measure".into())
        .spawn(move || {
            std::thread::sleep(MEASURE_AFTER);
            let permit = loop {
                match slots.clone().try_acquire_owned() {
                    Ok(permit) => break permit,
                    Err(tokio::sync::TryAcquireError::NoPermits) => {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    Err(tokio::sync::TryAcquireError::Closed) => return,
                }
            };
            let job: HashJob = Box::new(move || {
                let engine = *MEASURED.get_or_init(|| {
                    let (libsodium, rustcrypto) = measure();
                    let engine = faster(libsodium, rustcrypto);
                    tracing::info!(
                        ?engine,
                        libsodium_ms = libsodium.as_secs_f64() * 1e3,
                        rustcrypto_ms = rustcrypto.as_secs_f64() * 1e3,
                        "password hashing: the faster argon2id on this CPU"
                    );
                    engine
                });
                choice.set(engine);
                drop(permit);
            });
            let _ = jobs.send(job);
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start measuring the hash engines; libsodium hashes");
    }
}

/// The CPU time the calling thread has used (user and system).
#[cfg(unix)]
#[expect(
    unsafe_code,
    reason = "libc::clock_gettime: the calling thread's CPU time, which std does not offer"
)]
fn thread_cpu_time() -> std::time::Duration {
    // SAFETY: an all-zero timespec is a valid value (plain integers, padding included); `now`
    // is live and writable; CLOCK_THREAD_CPUTIME_ID exists on every Unix Porta builds for.
    // On failure the measurement is void (both engines read zero: libsodium, the tie's
    // choice).
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if rc != 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// Elsewhere the clock (start-up's work counts against both engines alike).
#[cfg(not(unix))]
fn thread_cpu_time() -> std::time::Duration {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed()
}

#[cfg(test)]
mod tests {
    use super::super::{argon_memory_here, verify_password};
    use super::*;

    /// The measurement times both engines and leaves no memory held.
    #[test]
    fn measuring_times_both_engines_and_keeps_no_memory() {
        let (libsodium, rustcrypto) = measure();
        let ms = std::time::Duration::from_millis(1);
        assert!(
            libsodium > ms && rustcrypto > ms,
            "{libsodium:?} {rustcrypto:?}"
        );
        assert_eq!(argon_memory_here(), 0);
    }

    /// The measurement waits `MEASURE_AFTER` and for a free hashing slot (it counts
    /// against `hash_concurrency`), hands the process's answer to the pool, and frees the
    /// slot.
    #[test]
    fn the_measurement_waits_for_a_slot_and_hands_on_the_answer() {
        // The process's answer is set as in `an_auto_pool_hashes_with_the_measured_engine`
        // (whichever runs first), so that test's assumption holds.
        MEASURED.get_or_init(|| Engine::RustCrypto);
        let (jobs, queue) = std::sync::mpsc::channel::<HashJob>();
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(1));
        let busy = slots.clone().try_acquire_owned().unwrap();
        let choice = EngineChoice::new(HashEngine::Libsodium, &jobs, &slots);
        measure_later(jobs, slots.clone(), choice.clone());
        let wait = MEASURE_AFTER + std::time::Duration::from_millis(400);
        assert!(
            queue.recv_timeout(wait).is_err(),
            "ran while every slot was taken"
        );
        drop(busy);
        let job = queue
            .recv_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        assert_eq!(slots.available_permits(), 0, "the measurement holds a slot");
        job();
        assert_eq!(slots.available_permits(), 1);
        assert_eq!(choice.get(), *MEASURED.get().unwrap());
    }

    /// The measurement counts the hashing thread's work, not time it spent waiting.
    #[cfg(unix)]
    #[test]
    fn the_measurement_counts_work_not_waiting() {
        let before = thread_cpu_time();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let slept = thread_cpu_time().saturating_sub(before);
        assert!(slept < std::time::Duration::from_millis(50), "{slept:?}");
        let before = thread_cpu_time();
        assert!(verify_password(
            "porta-dummy-password",
            dummy_password_hash()
        ));
        let worked = thread_cpu_time().saturating_sub(before);
        assert!(worked > std::time::Duration::from_millis(2), "{worked:?}");
    }

    /// RustCrypto only when clearly faster; libsodium on a tie or near one.
    #[test]
    fn the_faster_engine_is_chosen_and_libsodium_on_a_near_tie() {
        let ms = std::time::Duration::from_millis;
        assert_eq!(faster(ms(18), ms(14)), Engine::RustCrypto);
        assert_eq!(faster(ms(11), ms(15)), Engine::Libsodium);
        assert_eq!(faster(ms(20), ms(20)), Engine::Libsodium);
        assert_eq!(faster(ms(100), ms(96)), Engine::Libsodium);
    }
}
