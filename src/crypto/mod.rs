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
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
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
    /// A separate key for what Porta hands out sealed (opaque access tokens), derived
    /// from the master key: never used for secrets at rest.
    handed_out: XChaCha20Poly1305,
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
        let handed_out: [u8; 32] = Sha256::new()
            .chain_update(b"porta/handed-out/v1")
            .chain_update(&bytes)
            .finalize()
            .into();
        let handed_out =
            XChaCha20Poly1305::new_from_slice(&handed_out).map_err(|e| e.to_string())?;
        Ok(MasterKey {
            cipher,
            mac,
            handed_out,
        })
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

impl MasterKey {
    /// Seals `plain` to hand out (an opaque access token): XChaCha20-Poly1305 under a key
    /// derived from the master key, a random 192-bit nonce, `context` bound as associated
    /// data; URL-safe base64 of nonce and ciphertext. Only this master key opens it.
    pub fn seal_handed_out(&self, plain: &[u8], context: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = aes_gcm::aead::Payload {
            msg: plain,
            aad: context.as_bytes(),
        };
        let ct = self
            .handed_out
            .encrypt(XNonce::from_slice(&nonce), payload)
            .expect("XChaCha20-Poly1305 seals any length Porta hands out");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Opens what [`MasterKey::seal_handed_out`] sealed with the same `context`; `None`
    /// for anything else (not base64, too short, another key or context, altered).
    pub fn open_handed_out(&self, sealed: &str, context: &str) -> Option<Vec<u8>> {
        let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if raw.len() < 24 + 16 {
            return None;
        }
        let (nonce, ct) = raw.split_at(24);
        let payload = aes_gcm::aead::Payload {
            msg: ct,
            aad: context.as_bytes(),
        };
        self.handed_out
            .decrypt(XNonce::from_slice(nonce), payload)
            .ok()
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

    /// What is handed out sealed opens only with the same key and context, and not once
    /// altered; it never opens as a secret at rest (another key).
    #[test]
    fn handed_out_seals_open_only_with_their_key_and_context() {
        let key = MasterKey::parse(&MasterKey::generate()).unwrap();
        let sealed = key.seal_handed_out(b"claims", "at");
        assert_eq!(key.open_handed_out(&sealed, "at").unwrap(), b"claims");
        assert!(key.open_handed_out(&sealed, "other").is_none());
        let other = MasterKey::parse(&MasterKey::generate()).unwrap();
        assert!(other.open_handed_out(&sealed, "at").is_none());
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(key.open_handed_out(&altered, "at").is_none());
        assert!(key.open_handed_out("", "at").is_none());
        assert!(key.open_handed_out("not base64!", "at").is_none());
        assert!(key.open(&format!("v1:{}", sealed), "at").is_err());
        assert_ne!(sealed, key.seal_handed_out(b"claims", "at"), "fresh nonces");
    }

    #[test]
    fn master_key_must_be_32_bytes() {
        assert!(MasterKey::parse("c2hvcnQ=").is_err());
        assert!(MasterKey::parse(&"ab".repeat(32)).is_ok());
    }
}
