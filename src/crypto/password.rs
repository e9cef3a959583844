//! Password hashing: argon2id by libsodium or RustCrypto's `argon2` (the same bytes; the
//! faster of the two on this CPU, measured when the hashing pool starts, unless the
//! `hash_engine` setting names one), RustCrypto's for any stored hash libsodium's API
//! cannot express, and the bounded pool of hashing threads that runs them off the async
//! workers.

mod engine;

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::Argon2;
pub use engine::HashEngine;
use engine::{Engine, EngineChoice};

/// Hashes a password with argon2id (OWASP parameters, the crate's defaults). Slow on
/// purpose: call it off the async workers.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    hash_with(password, Memory::Own, Engine::Libsodium)
}

/// Checks a password against an argon2 hash. Slow on purpose: call it off the async workers.
pub fn verify_password(password: &str, hash: &str) -> bool {
    verify_with(password, hash, Memory::Own, Engine::Libsodium)
}

/// A bounded pool for password hashing. Each argon2id hash takes ~19 MiB and a core for
/// tens of milliseconds, so hashes run at most `concurrency` at a time, on that many
/// threads of their own; a request waits for a slot at most `wait`, then is told the
/// service is busy (503). Memory stays flat under any flood: the work an anonymous caller
/// can cause is bounded. libsodium maps each hash's memory and unmaps it after;
/// RustCrypto's argon2 (the engine where it is faster, and for stored hashes libsodium
/// cannot run) reuses one block per hashing thread (on the shared blocking pool every
/// thread that ever hashed kept ~19 MiB of its own arena), and a thread that has had
/// nothing to hash for `keep` gives that back, so a node returns to its idle footprint
/// after a busy spell. Jobs go to whichever thread is free, so while sign-ins keep coming
/// every hashing thread may hold its block: at most `concurrency` × 19 MiB.
#[derive(Debug, Clone)]
pub struct Hasher {
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    wait: std::time::Duration,
    jobs: std::sync::mpsc::Sender<HashJob>,
    /// Which code runs the hashes both engines can run (see [`HashEngine`]).
    engine: EngineChoice,
}

type HashJob = Box<dyn FnOnce() + Send>;

/// No hashing slot came free within the wait.
#[derive(Debug, thiserror::Error)]
#[error("password hashing is busy; try again in a moment")]
pub struct Busy;

/// The right to run one password hash (held until the hash is done).
#[derive(Debug)]
pub struct HashSlot {
    permit: tokio::sync::OwnedSemaphorePermit,
    jobs: std::sync::mpsc::Sender<HashJob>,
    engine: EngineChoice,
}

impl Hasher {
    /// `concurrency` 0 means one per core. Starts that many hashing threads; they end
    /// when the last handle is dropped. With `HashEngine::Auto` a hashing thread
    /// measures the two engines `MEASURE_AFTER` in (once per process).
    pub fn new(
        concurrency: usize,
        wait: std::time::Duration,
        keep: std::time::Duration,
        engine: HashEngine,
    ) -> Hasher {
        let n = if concurrency == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            concurrency
        };
        let (jobs, queue) = std::sync::mpsc::channel::<HashJob>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for i in 0..n {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("porta-hash-{i}"))
                .spawn(move || loop {
                    let job = match queue.lock() {
                        Ok(q) => q.recv_timeout(keep),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                            // Idle for `keep`: give the memory back. One already empty
                            // steps away from the queue a moment, so the other hashing
                            // threads (waiting for the lock) get their turn to time out.
                            if !release_argon_memory() {
                                std::thread::sleep(std::time::Duration::from_millis(20));
                            }
                        }
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a hashing thread");
            }
        }
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(n));
        let engine = EngineChoice::new(engine, &jobs, &slots);
        Hasher {
            slots,
            wait,
            jobs,
            engine,
        }
    }

    /// Waits (bounded) for a hashing slot.
    pub async fn slot(&self) -> Result<HashSlot, Busy> {
        match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(HashSlot {
                permit,
                jobs: self.jobs.clone(),
                engine: self.engine.clone(),
            }),
            _ => Err(Busy),
        }
    }
}

impl HashSlot {
    /// Runs `work` on a hashing thread; the slot is freed when it is done.
    async fn run<T: Send + 'static>(self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let permit = self.permit;
        let job: HashJob = Box::new(move || {
            let _ = tx.send(work());
            drop(permit);
        });
        self.jobs.send(job).ok()?;
        rx.await.ok()
    }

    /// Hashes `password`.
    pub async fn hash(self, password: String) -> Result<String, argon2::password_hash::Error> {
        let engine = self.engine.clone();
        self.run(move || hash_with(&password, Memory::Kept, engine.get()))
            .await
            .unwrap_or(Err(argon2::password_hash::Error::Crypto))
    }

    /// Checks `password` against `hash`. With no hash (no such account, or one without a
    /// password) it checks against [`dummy_password_hash`] and answers false, so the
    /// answer takes as long as a real check.
    pub async fn verify(self, password: String, hash: Option<String>) -> bool {
        let engine = self.engine.clone();
        self.run(move || match hash {
            Some(hash) => verify_with(&password, &hash, Memory::Kept, engine.get()),
            None => {
                verify_with(&password, dummy_password_hash(), Memory::Kept, engine.get());
                false
            }
        })
        .await
        .unwrap_or(false)
    }
}

/// One thread's kept argon2 memory, counted in `ARGON_MEMORY_HELD` while it lives.
struct Kept(Vec<argon2::Block>);

impl Kept {
    fn bytes(&self) -> usize {
        self.0.len() * std::mem::size_of::<argon2::Block>()
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        ARGON_MEMORY_HELD.fetch_sub(self.bytes(), std::sync::atomic::Ordering::Relaxed);
    }
}

thread_local! {
    /// The memory of one RustCrypto argon2 hash (when RustCrypto is the engine, and for
    /// stored hashes libsodium cannot run), kept by each hashing thread and reused:
    /// freeing a 19 MiB block after every hash made glibc raise its mmap threshold and
    /// keep such blocks in its heaps, so RSS stayed hundreds of MiB above idle after a
    /// busy minute.
    static ARGON_MEMORY: std::cell::RefCell<Kept> =
        const { std::cell::RefCell::new(Kept(Vec::new())) };
}

/// Bytes of argon2 memory the hashing threads hold now (for `/metrics`).
pub static ARGON_MEMORY_HELD: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// Frees this thread's argon2 memory; false when it held none.
fn release_argon_memory() -> bool {
    let held = ARGON_MEMORY.with_borrow_mut(|memory| {
        // Dropping the old one takes it off the count.
        !std::mem::replace(memory, Kept(Vec::new())).0.is_empty()
    });
    if held {
        give_back_free_memory();
    }
    held
}

/// Bytes of argon2 memory this thread keeps.
#[cfg(test)]
fn argon_memory_here() -> usize {
    ARGON_MEMORY.with_borrow(|memory| memory.bytes())
}

/// Hands the allocator's free memory back to the system: after a hashing thread's idle
/// spell, and once when start-up has settled. glibc raises its mmap threshold once a block
/// as large as an argon2 one has been freed, so the next one comes from an arena, and a
/// freed arena block is not returned on its own: `malloc_trim` returns it (and any other
/// free pages the load, or start-up, left in the arenas).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "libc::malloc_trim: give free heap pages back after start-up and idle spells"
)]
pub fn give_back_free_memory() {
    // SAFETY: `malloc_trim` only releases memory the allocator holds free; it takes no
    // pointers and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back_free_memory() {}

/// Where RustCrypto's argon2 takes its memory from (libsodium maps its own per hash).
#[derive(Debug, Clone, Copy)]
enum Memory {
    /// Allocated for this hash and freed after it.
    Own,
    /// This hashing thread's kept memory (see `ARGON_MEMORY`).
    Kept,
}

/// Runs argon2 into `out`: with `Engine::Libsodium`, libsodium's where it can run this
/// hash; else RustCrypto's.
#[expect(
    clippy::too_many_arguments,
    reason = "argon2's own inputs, plus where the memory comes from and which code runs"
)]
fn argon2_into(
    algorithm: argon2::Algorithm,
    version: argon2::Version,
    params: argon2::Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: Memory,
    engine: Engine,
) -> Result<(), argon2::Error> {
    if engine == Engine::Libsodium {
        match sodium_argon2id(algorithm, version, &params, password, salt, out) {
            Sodium::Done => return Ok(()),
            // It could not map the memory: RustCrypto could not allocate it either.
            Sodium::Failed => return Err(argon2::Error::MemoryTooMuch),
            Sodium::Declined => {}
        }
    }
    let argon = Argon2::new(algorithm, version, params);
    let Memory::Kept = memory else {
        return argon.hash_password_into(password, salt, out);
    };
    ARGON_MEMORY.with_borrow_mut(|memory| {
        let need = argon.params().block_count();
        if memory.0.len() < need {
            let before = memory.bytes();
            // Out of memory is an error for this hash, as it is for libsodium, not an abort.
            memory
                .0
                .try_reserve_exact(need - memory.0.len())
                .map_err(|_| argon2::Error::MemoryTooMuch)?;
            memory.0.resize(need, argon2::Block::default());
            ARGON_MEMORY_HELD.fetch_add(
                memory.bytes() - before,
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut memory.0[..need])
    })
}

/// argon2id by libsodium, whose AVX-512 code is the fastest well-kept argon2id on an Intel
/// Xeon (bench/argon2.sh), and which maps its memory for each hash and unmaps it after,
/// so nothing stays resident between sign-ins. It runs what libsodium's API takes:
/// argon2id v1.3, one lane, a 16-byte salt, an output of 16 bytes or more, no key id or
/// associated data: every hash Porta writes. It declines any other kind of hash, which the
/// caller then runs on RustCrypto's argon2 (the same bytes for the same inputs).
#[expect(
    unsafe_code,
    reason = "libsodium's C API: sodium_init and crypto_pwhash_argon2id"
)]
fn sodium_argon2id(
    algorithm: argon2::Algorithm,
    version: argon2::Version,
    params: &argon2::Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Sodium {
    use libsodium_sys as sodium;
    static READY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let runs = algorithm == argon2::Algorithm::Argon2id
        && version == argon2::Version::V0x13
        && params.p_cost() == 1
        && params.keyid().is_empty()
        && params.data().is_empty()
        && salt.len() == sodium::crypto_pwhash_argon2id_SALTBYTES as usize
        && out.len() >= sodium::crypto_pwhash_argon2id_BYTES_MIN as usize
        && u32::try_from(out.len()).is_ok()
        && u32::try_from(password.len()).is_ok()
        && params.t_cost() >= sodium::crypto_pwhash_argon2id_OPSLIMIT_MIN
        && params.m_cost() >= sodium::crypto_pwhash_argon2id_MEMLIMIT_MIN / 1024;
    // SAFETY: `sodium_init` takes no arguments and may be called from any thread; libsodium
    // must see it once before any other call (0: done now, 1: done before, -1: failed).
    let ready = || {
        let ready = unsafe { sodium::sodium_init() } >= 0;
        if !ready {
            tracing::warn!("libsodium did not start; passwords hash with RustCrypto's argon2");
        }
        ready
    };
    if !runs || !*READY.get_or_init(ready) {
        return Sodium::Declined;
    }
    let Some(memlimit) = usize::try_from(params.m_cost())
        .ok()
        .and_then(|kib| kib.checked_mul(1024))
    else {
        return Sodium::Declined;
    };
    // SAFETY: `out`, `password` and `salt` are live slices of the lengths passed (the salt
    // is exactly crypto_pwhash_argon2id_SALTBYTES long, checked above); libsodium writes
    // `out.len()` bytes into `out` and only reads the others. It returns -1 when the
    // memory cannot be mapped (or, on a 32-bit system, exceeds its limit); `out` is then
    // not used.
    let rc = unsafe {
        sodium::crypto_pwhash_argon2id(
            out.as_mut_ptr(),
            out.len() as u64,
            password.as_ptr().cast(),
            password.len() as u64,
            salt.as_ptr(),
            u64::from(params.t_cost()),
            memlimit,
            sodium::crypto_pwhash_argon2id_ALG_ARGON2ID13 as i32,
        )
    };
    match rc {
        0 => Sodium::Done,
        _ => Sodium::Failed,
    }
}

/// What `sodium_argon2id` did.
#[derive(Debug, PartialEq, Eq)]
enum Sodium {
    /// Hashed into `out`.
    Done,
    /// Not a hash libsodium's API can express: RustCrypto's argon2 runs it.
    Declined,
    /// libsodium could not run it (no memory).
    Failed,
}

/// The most a stored hash may ask of a verification: a hash whose parameters ask for more
/// (none that Porta writes, which take 19 MiB and two passes) is refused, not run, so a
/// bad row cannot take a node's memory or a hashing thread for minutes.
const MAX_M_COST_KIB: u32 = 1 << 20;
const MAX_T_COST: u32 = 64;

/// Whether a stored hash's parameters are within what a verification may take.
fn within_limits(params: &argon2::Params) -> bool {
    params.m_cost() <= MAX_M_COST_KIB && params.t_cost() <= MAX_T_COST
}

/// An argon2id hash of `password` with a new salt, as a PHC string.
fn hash_with(
    password: &str,
    memory: Memory,
    engine: Engine,
) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{Output, ParamsString};
    let params = argon2::Params::default();
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf)?;
    let len = params
        .output_len()
        .unwrap_or(argon2::Params::DEFAULT_OUTPUT_LEN);
    let output = Output::init_with(len, |out| {
        Ok(argon2_into(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params.clone(),
            password.as_bytes(),
            salt_bytes,
            out,
            memory,
            engine,
        )?)
    })?;
    Ok(PasswordHash {
        algorithm: argon2::Algorithm::Argon2id.ident(),
        version: Some(argon2::Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    }
    .to_string())
}

/// Whether `password` matches the PHC string `hash`. Any argon2 variant, version and
/// parameters the stored hash names are honoured.
fn verify_with(password: &str, hash: &str, memory: Memory, engine: Engine) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&parsed) else {
        return false;
    };
    if !within_limits(&params) {
        tracing::warn!(
            m_cost = params.m_cost(),
            t_cost = params.t_cost(),
            "a stored password hash asks for more than a verification may take; refused"
        );
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let ran = argon2_into(
        algorithm,
        version,
        params,
        password.as_bytes(),
        salt_bytes,
        &mut out,
        memory,
        engine,
    );
    ran.is_ok()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            out.as_slice(),
            expected.as_bytes(),
        ))
}

/// A hash to verify against when an account does not exist (or has no password), so the
/// answer takes as long as it does for a real account (no account enumeration by timing).
/// A fixed hash of "porta-dummy-password" at the parameters Porta hashes with (a unit test
/// holds the two together), so the same engine runs it as a real one; nothing has to be hashed
/// to make it, and nothing can fail to.
fn dummy_password_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$dO6RWlzjz45iCX31gW6X0Q$elFVRGtgnZi1NFuwqad5mwQd7puDf2MBkTMzEhjP34g"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash RustCrypto's argon2 made with `params` and a new 16-byte salt (its own PHC
    /// string).
    fn rustcrypto_hash(password: &str, params: argon2::Params) -> String {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        rustcrypto_hash_salted(password, params, &salt)
    }

    /// Like `rustcrypto_hash`, with the salt given.
    fn rustcrypto_hash_salted(password: &str, params: argon2::Params, salt: &SaltString) -> String {
        use argon2::password_hash::PasswordHasher;
        Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(password.as_bytes(), salt)
            .unwrap()
            .to_string()
    }

    /// Runs `test` with a one-thread hashing pool on libsodium that gives its memory back
    /// after 300 ms idle, and a way to ask how much argon2 memory that thread holds (asked
    /// on the pool's one thread itself, so hashes other tests run at the same time do not
    /// count).
    fn with_one_hashing_thread<F, Fut>(test: F)
    where
        F: FnOnce(Hasher) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        with_one_hashing_thread_on(HashEngine::Libsodium, test)
    }

    /// `with_one_hashing_thread` with the engine given.
    fn with_one_hashing_thread_on<F, Fut>(engine: HashEngine, test: F)
    where
        F: FnOnce(Hasher) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(test(Hasher::new(
            1,
            std::time::Duration::from_secs(5),
            std::time::Duration::from_millis(300),
            engine,
        )));
    }

    async fn held(hasher: &Hasher) -> usize {
        let slot = hasher.slot().await.unwrap();
        slot.run(argon_memory_here).await.unwrap()
    }

    /// A hash that libsodium does not take (two lanes) runs on RustCrypto's argon2 with the
    /// hashing thread's kept memory: held while busy, given back once the thread has been
    /// idle for `keep`, taken again when needed.
    #[test]
    fn hashing_memory_is_given_back_after_an_idle_spell() {
        with_one_hashing_thread(|hasher| async move {
            let two_lanes = rustcrypto_hash(
                "pass phrase",
                argon2::Params::new(19456, 2, 2, None).unwrap(),
            );
            assert_eq!(held(&hasher).await, 0, "nothing before the first hash");
            let slot = hasher.slot().await.unwrap();
            assert!(
                slot.verify("pass phrase".into(), Some(two_lanes.clone()))
                    .await
            );
            let kept = held(&hasher).await;
            assert!(kept >= 19 * 1024 * 1024, "{kept} bytes kept after a hash");
            // Still kept between hashes that follow each other.
            let slot = hasher.slot().await.unwrap();
            assert!(
                !slot
                    .verify("wrong phrase".into(), Some(two_lanes.clone()))
                    .await
            );
            assert_eq!(held(&hasher).await, kept);
            tokio::time::sleep(std::time::Duration::from_millis(800)).await;
            assert_eq!(held(&hasher).await, 0, "given back after the idle spell");
            // And taken again when needed.
            let slot = hasher.slot().await.unwrap();
            assert!(slot.verify("pass phrase".into(), Some(two_lanes)).await);
            assert_eq!(held(&hasher).await, kept);
        });
    }

    /// With libsodium as the engine, Porta's own hashes map their memory for each hash and
    /// unmap it after: a hashing thread holds nothing between sign-ins.
    #[test]
    fn porta_s_hashes_hold_no_memory_between_sign_ins() {
        with_one_hashing_thread(|hasher| async move {
            let slot = hasher.slot().await.unwrap();
            let hash = slot.hash("pass phrase".into()).await.unwrap();
            assert!(
                hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
                "{hash}"
            );
            assert_eq!(held(&hasher).await, 0, "nothing held after hashing");
            let slot = hasher.slot().await.unwrap();
            assert!(slot.verify("pass phrase".into(), Some(hash)).await);
            assert_eq!(held(&hasher).await, 0, "nothing held after verifying");
            // No account: checked against the dummy (the right dummy password included),
            // and always false.
            let slot = hasher.slot().await.unwrap();
            assert!(!slot.verify("porta-dummy-password".into(), None).await);
            assert_eq!(held(&hasher).await, 0, "nothing held after the dummy");
        });
    }

    /// With `hash_engine = "rustcrypto"` Porta's own hashes run on RustCrypto (the hashing
    /// thread keeps their memory, which libsodium never does), and the hashes of either
    /// engine verify on the other.
    #[test]
    fn the_rustcrypto_engine_runs_porta_s_hashes_and_reads_libsodium_s() {
        with_one_hashing_thread_on(HashEngine::Rustcrypto, |hasher| async move {
            let by_libsodium = hash_password("pass phrase").unwrap();
            let slot = hasher.slot().await.unwrap();
            let by_rustcrypto = slot.hash("pass phrase".into()).await.unwrap();
            assert!(
                by_rustcrypto.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
                "{by_rustcrypto}"
            );
            let kept = held(&hasher).await;
            assert!(kept >= 19 * 1024 * 1024, "{kept} bytes kept after a hash");
            let slot = hasher.slot().await.unwrap();
            assert!(slot.verify("pass phrase".into(), Some(by_libsodium)).await);
            let slot = hasher.slot().await.unwrap();
            assert!(!slot.verify("porta-dummy-password".into(), None).await);
            assert!(verify_password("pass phrase", &by_rustcrypto));
            assert!(!verify_password("pass phrose", &by_rustcrypto));
        });
    }

    /// A pool on `auto` hashes with the engine the process measured: RustCrypto here (set
    /// before any pool measures; the only other test that sets it sets the same), whose
    /// memory the hashing thread keeps, which libsodium never does.
    #[test]
    fn an_auto_pool_hashes_with_the_measured_engine() {
        let measured = *engine::MEASURED.get_or_init(|| Engine::RustCrypto);
        assert_eq!(measured, Engine::RustCrypto);
        with_one_hashing_thread_on(HashEngine::Auto, |hasher| async move {
            let slot = hasher.slot().await.unwrap();
            let hash = slot.hash("pass phrase".into()).await.unwrap();
            let kept = held(&hasher).await;
            assert!(kept >= 19 * 1024 * 1024, "{kept} bytes kept after a hash");
            assert!(verify_password("pass phrase", &hash));
        });
    }

    /// libsodium gives RustCrypto's bytes for every hash it takes, and declines the ones
    /// its API cannot express (which RustCrypto then runs).
    #[test]
    fn libsodium_gives_rustcrypto_s_bytes_and_declines_what_it_cannot_run() {
        use argon2::{Algorithm, Params, Version};
        let salt = b"sixteen bytes!!!";
        // Memory sizes that are not a multiple of four blocks are rounded the same way.
        for (m, t, len) in [
            (19456, 2, 32),
            (1024, 1, 16),
            (4096, 3, 48),
            (1027, 1, 32),
            (8, 1, 16),
        ] {
            let params = Params::new(m, t, 1, Some(len)).unwrap();
            let mut by_sodium = vec![0u8; len];
            let done = sodium_argon2id(
                Algorithm::Argon2id,
                Version::V0x13,
                &params,
                b"pass\0phrase",
                salt,
                &mut by_sodium,
            );
            assert_eq!(done, Sodium::Done, "m={m} t={t} len={len}");
            let mut by_rustcrypto = vec![0u8; len];
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into(b"pass\0phrase", salt, &mut by_rustcrypto)
                .unwrap();
            assert_eq!(by_sodium, by_rustcrypto, "m={m} t={t} len={len}");
        }
        let usual = Params::new(1024, 1, 1, Some(32)).unwrap();
        let declined = |algorithm, version, params: &Params, salt: &[u8], len: usize| {
            sodium_argon2id(algorithm, version, params, b"pw", salt, &mut vec![0u8; len])
                == Sodium::Declined
        };
        // argon2id v1.3 with these parameters, salt and output length.
        let id13 = |params: &Params, salt: &[u8], len: usize| {
            declined(Algorithm::Argon2id, Version::V0x13, params, salt, len)
        };
        // The usual parameters with a key id or associated data added.
        let usual_with = |add: &dyn Fn(&mut argon2::ParamsBuilder)| {
            let mut builder = argon2::ParamsBuilder::new();
            builder.m_cost(1024).t_cost(1).p_cost(1);
            add(&mut builder);
            builder.build().unwrap()
        };
        assert!(id13(&Params::new(1024, 1, 2, None).unwrap(), salt, 32));
        assert!(declined(
            Algorithm::Argon2i,
            Version::V0x13,
            &usual,
            salt,
            32
        ));
        assert!(declined(
            Algorithm::Argon2id,
            Version::V0x10,
            &usual,
            salt,
            32
        ));
        assert!(id13(&usual, b"eight!!!", 32));
        assert!(id13(&usual, salt, 12));
        let with_key_id = usual_with(&|b| {
            b.keyid(argon2::KeyId::new(b"k1").unwrap());
        });
        assert!(id13(&with_key_id, salt, 32));
        let with_data = usual_with(&|b| {
            b.data(argon2::AssociatedData::new(b"ad").unwrap());
        });
        assert!(id13(&with_data, salt, 32));
        assert!(id13(&usual, &[7u8; 32], 32));
    }

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        // The hashing threads' variant reads and writes the same PHC strings.
        let kept = |password, hash| verify_with(password, hash, Memory::Kept, Engine::Libsodium);
        assert!(kept("correct horse", &hash));
        assert!(!kept("wrong horse", &hash));
        let by_thread = hash_with("correct horse", Memory::Kept, Engine::Libsodium).unwrap();
        assert!(verify_password("correct horse", &by_thread));
        assert!(!kept("correct horse", "not a hash"));
        assert!(!verify_password("x", "not a hash"));
    }

    /// RustCrypto's verifier takes Porta's hashes, and hashes RustCrypto made (every stored
    /// hash until libsodium did the work, or one from elsewhere) keep verifying.
    #[test]
    fn hashes_made_by_rustcrypto_keep_verifying() {
        use argon2::password_hash::PasswordVerifier;
        let hash = hash_password("correct horse").unwrap();
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        let earlier = rustcrypto_hash("correct horse", argon2::Params::default());
        assert!(verify_password("correct horse", &earlier));
        assert!(!verify_password("wrong horse", &earlier));
        // Other parameters (a hash from elsewhere, or older settings) are honoured.
        let other = rustcrypto_hash(
            "correct horse",
            argon2::Params::new(8192, 3, 2, None).unwrap(),
        );
        assert!(verify_password("correct horse", &other));
        assert!(!verify_password("wrong horse", &other));
        // Another salt length and output length (RustCrypto runs it).
        let long = rustcrypto_hash_salted(
            "correct horse",
            argon2::Params::new(1024, 1, 1, Some(64)).unwrap(),
            &SaltString::encode_b64(&[7u8; 32]).unwrap(),
        );
        assert!(verify_password("correct horse", &long));
        assert!(!verify_password("wrong horse", &long));
    }

    /// The dummy that unknown accounts are checked against runs on libsodium like the real
    /// hashes, so the time taken does not tell whether an account exists: it names the
    /// parameters Porta hashes with now.
    #[test]
    fn the_dummy_hash_has_porta_s_parameters() {
        let hash = hash_password("correct horse").unwrap();
        let params_of = |phc: &str| phc.rsplitn(3, '$').nth(2).unwrap().to_string();
        assert_eq!(params_of(dummy_password_hash()), params_of(&hash));
        assert!(dummy_password_hash().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(
            "porta-dummy-password",
            dummy_password_hash()
        ));
    }

    /// A stored hash asking for more than a verification may take is refused, not run.
    #[test]
    fn greedy_stored_hashes_are_refused() {
        assert!(within_limits(&argon2::Params::default()));
        assert!(within_limits(
            &argon2::Params::new(MAX_M_COST_KIB, MAX_T_COST, 4, None).unwrap()
        ));
        assert!(!within_limits(
            &argon2::Params::new(MAX_M_COST_KIB + 1, 2, 1, None).unwrap()
        ));
        assert!(!within_limits(
            &argon2::Params::new(19456, MAX_T_COST + 1, 1, None).unwrap()
        ));
        let other = rustcrypto_hash(
            "correct horse",
            argon2::Params::new(8192, 3, 2, None).unwrap(),
        );
        let greedy = other.replace("m=8192,t=3,p=2", "m=2097152,t=3,p=2");
        assert!(!verify_password("correct horse", &greedy));
    }
}
