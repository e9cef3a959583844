//! Small cryptographic building blocks: random secrets, hashes of high-entropy secrets,
//! password hashes, and AEAD encryption of secrets at rest under the master key.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A URL-safe random secret of `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A random 128-bit identifier (UUID v4 text).
pub fn random_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// SHA-256 of a high-entropy secret, hex encoded; what the database stores instead of it.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two strings in constant time (for secrets).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Hashes a password with argon2id (OWASP parameters, the crate's defaults). Slow on
/// purpose: call it off the async workers.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against an argon2 hash. Slow on purpose: call it off the async workers.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A bounded pool for password hashing. Each argon2id hash takes ~19 MiB and a core for
/// tens of milliseconds, so hashes run at most `concurrency` at a time, on that many
/// threads of their own; a request waits for a slot at most `wait`, then is told the
/// service is busy (503). Memory stays flat under any flood: the work an anonymous caller
/// can cause is bounded, and because the hashes always run on the same few threads, the
/// allocator keeps at most one hash's memory per thread (on the shared blocking pool every
/// thread that ever hashed kept ~19 MiB of its own arena). A thread that has had nothing
/// to hash for `keep` gives its memory back, so a node returns to its idle footprint after
/// a busy spell.
#[derive(Debug, Clone)]
pub struct Hasher {
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    wait: std::time::Duration,
    jobs: std::sync::mpsc::Sender<HashJob>,
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
}

impl Hasher {
    /// `concurrency` 0 means one per core. Starts that many hashing threads; they end
    /// when the last handle is dropped.
    pub fn new(concurrency: usize, wait: std::time::Duration, keep: std::time::Duration) -> Hasher {
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
        Hasher {
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(n)),
            wait,
            jobs,
        }
    }

    /// Waits (bounded) for a hashing slot.
    pub async fn slot(&self) -> Result<HashSlot, Busy> {
        match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(HashSlot {
                permit,
                jobs: self.jobs.clone(),
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
        self.run(move || hash_password_reusing(&password))
            .await
            .unwrap_or(Err(argon2::password_hash::Error::Crypto))
    }

    /// Checks `password` against `hash`.
    pub async fn verify(self, password: String, hash: String) -> bool {
        self.run(move || verify_password_reusing(&password, &hash))
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
    /// The memory of one argon2 hash, kept by each hashing thread and reused: freeing a
    /// 19 MiB block after every hash made glibc raise its mmap threshold and keep such
    /// blocks in its heaps, so RSS stayed hundreds of MiB above idle after a busy minute.
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

/// Runs argon2 with this thread's kept memory.
fn argon2_into(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    ARGON_MEMORY.with_borrow_mut(|memory| {
        let need = argon.params().block_count();
        if memory.0.len() < need {
            let before = memory.bytes();
            memory.0.resize(need, argon2::Block::default());
            ARGON_MEMORY_HELD.fetch_add(
                memory.bytes() - before,
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut memory.0[..need])
    })
}

/// `hash_password`, reusing this thread's argon2 memory (for the hashing threads).
fn hash_password_reusing(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{Output, ParamsString};
    let argon = Argon2::default();
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf)?;
    let len = argon
        .params()
        .output_len()
        .unwrap_or(argon2::Params::DEFAULT_OUTPUT_LEN);
    let output = Output::init_with(len, |out| {
        Ok(argon2_into(&argon, password.as_bytes(), salt_bytes, out)?)
    })?;
    Ok(PasswordHash {
        algorithm: argon2::Algorithm::Argon2id.ident(),
        version: Some(argon2::Version::V0x13.into()),
        params: ParamsString::try_from(argon.params())?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    }
    .to_string())
}

/// `verify_password`, reusing this thread's argon2 memory (for the hashing threads).
/// Any argon2 variant, version and parameters the stored hash names are honoured.
fn verify_password_reusing(password: &str, hash: &str) -> bool {
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
    let argon = Argon2::new(algorithm, version, params);
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    argon2_into(&argon, password.as_bytes(), salt_bytes, &mut out).is_ok()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            out.as_slice(),
            expected.as_bytes(),
        ))
}

/// A hash to verify against when an account does not exist, so the answer takes as long
/// as it does for a real account (no account enumeration by timing).
pub fn dummy_password_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("porta-dummy-password").unwrap_or_default())
}

/// The key that encrypts secrets at rest (AES-256-GCM).
#[derive(Clone)]
pub struct MasterKey {
    cipher: Aes256Gcm,
    /// A separate key for MACs, derived from the master key (never used to encrypt).
    mac: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl MasterKey {
    /// Parses 32 bytes given as base64 (standard or URL-safe) or 64 hex digits.
    pub fn parse(text: &str) -> Result<MasterKey, String> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|e| e.to_string())?
        } else {
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
                .map_err(|_| "must be 32 bytes in base64 or 64 hex digits".to_string())?
        };
        if bytes.len() != 32 {
            return Err(format!("must be 32 bytes, got {}", bytes.len()));
        }
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|e| e.to_string())?;
        let mac = Sha256::new()
            .chain_update(b"porta/mac/v1")
            .chain_update(&bytes)
            .finalize()
            .into();
        Ok(MasterKey { cipher, mac })
    }

    /// HMAC-SHA256 of `data` under a key derived from the master key, with `context`
    /// bound in (hex). For short secrets that must not be stored in the clear but are
    /// too short for a plain hash (one-time codes): without the key nobody can test
    /// guesses against a copy of the database, and checking costs microseconds.
    pub fn mac(&self, context: &str, data: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac).expect("any key length");
        m.update(context.as_bytes());
        m.update(&[0]);
        m.update(data.as_bytes());
        hex::encode(m.finalize().into_bytes())
    }

    /// A new random key, base64 encoded.
    pub fn generate() -> String {
        let mut buf = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut buf);
        STANDARD.encode(buf)
    }

    /// Encrypts `plain`; `context` is bound as associated data so a ciphertext cannot be
    /// moved to another row.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<String, String> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                aes_gcm::aead::Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| "encryption failed".to_string())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("v1:{}", STANDARD.encode(out)))
    }

    /// Decrypts what `seal` produced with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, String> {
        let body = sealed
            .strip_prefix("v1:")
            .ok_or("unknown ciphertext version")?;
        let raw = STANDARD
            .decode(body)
            .map_err(|_| "ciphertext is not base64")?;
        if raw.len() < 12 + 16 {
            return Err("ciphertext too short".into());
        }
        let (nonce, ct) = raw.split_at(12);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                aes_gcm::aead::Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| "wrong master key or corrupted ciphertext".into())
    }
}

/// Opens secrets sealed under one master key and seals them under another (`porta keys
/// rewrap`); each domain re-seals its own rows with it.
pub struct Resealer {
    pub old: MasterKey,
    pub new: MasterKey,
}

/// Why re-sealing stopped (the caller's transaction then rolls everything back).
#[derive(Debug)]
pub enum ResealError {
    Db(diesel::result::Error),
    Crypto(String),
}

impl From<diesel::result::Error> for ResealError {
    fn from(e: diesel::result::Error) -> Self {
        ResealError::Db(e)
    }
}

impl Resealer {
    /// `sealed` (sealed under `old` with `context`) sealed anew under `new`.
    pub fn reseal(&self, sealed: &str, context: &str) -> Result<String, ResealError> {
        let plain = self
            .old
            .open(sealed, context)
            .map_err(|e| ResealError::Crypto(format!("{context}: {e}")))?;
        self.new.seal(&plain, context).map_err(ResealError::Crypto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hashing thread holds its argon2 memory while busy and gives it back once it has
    /// been idle for `keep` (asked on the pool's one thread itself, so hashes other tests
    /// run at the same time do not count).
    #[test]
    fn hashing_memory_is_given_back_after_an_idle_spell() {
        use std::time::Duration;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let hasher = Hasher::new(1, Duration::from_secs(5), Duration::from_millis(300));
            let held = async || {
                hasher
                    .slot()
                    .await
                    .unwrap()
                    .run(argon_memory_here)
                    .await
                    .unwrap()
            };
            assert_eq!(held().await, 0, "nothing before the first hash");
            let hash = hasher
                .slot()
                .await
                .unwrap()
                .hash("pass phrase".into())
                .await
                .unwrap();
            let kept = held().await;
            assert!(kept >= 19 * 1024 * 1024, "{kept} bytes kept after a hash");
            // Still kept between hashes that follow each other.
            let slot = hasher.slot().await.unwrap();
            assert!(slot.verify("pass phrase".into(), hash.clone()).await);
            assert_eq!(held().await, kept);
            tokio::time::sleep(Duration::from_millis(800)).await;
            assert_eq!(held().await, 0, "given back after the idle spell");
            // And taken again when needed.
            let slot = hasher.slot().await.unwrap();
            assert!(slot.verify("pass phrase".into(), hash).await);
            assert_eq!(held().await, kept);
        });
    }

    #[test]
    fn seal_and_open_round_trip_and_bind_context() {
        let key = MasterKey::parse(&MasterKey::generate()).unwrap();
        let sealed = key.seal(b"secret", "kid-1").unwrap();
        assert_eq!(key.open(&sealed, "kid-1").unwrap(), b"secret");
        assert!(key.open(&sealed, "kid-2").is_err());
        let other = MasterKey::parse(&MasterKey::generate()).unwrap();
        assert!(other.open(&sealed, "kid-1").is_err());
    }

    #[test]
    fn master_key_must_be_32_bytes() {
        assert!(MasterKey::parse("c2hvcnQ=").is_err());
        assert!(MasterKey::parse(&"ab".repeat(32)).is_ok());
    }

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &hash));
        // The hashing threads' variants read and write the same PHC strings.
        assert!(verify_password_reusing("correct horse", &hash));
        assert!(!verify_password_reusing("wrong horse", &hash));
        let reused = hash_password_reusing("correct horse").unwrap();
        assert!(reused.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse", &reused));
        assert!(verify_password_reusing("correct horse", &reused));
        assert!(!verify_password_reusing("correct horse", "not a hash"));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("x", "not a hash"));
    }
}
