//! Small cryptographic building blocks: random secrets, hashes of high-entropy secrets,
//! password hashes (`password`), and AEAD encryption of secrets at rest under the master
//! key.

mod password;

pub use password::{
    give_back_free_memory, hash_password, verify_password, Busy, HashEngine, HashSlot, Hasher,
    ARGON_MEMORY_HELD,
};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
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
}
