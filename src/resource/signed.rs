//! Signed links: a URL that is its own credential until it expires (media, downloads,
//! documents under review). HMAC-SHA256 over a message the caller builds, base64url
//! without padding, checked in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::ApiError;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], message: &[u8]) -> Result<HmacSha256, ApiError> {
    let mut mac = HmacSha256::new_from_slice(key)
        .map_err(|_| ApiError::Internal("a link-signing key is unusable".into()))?;
    mac.update(message);
    Ok(mac)
}

/// The base64url signature of `message`.
pub fn sign(key: &[u8], message: &[u8]) -> Result<String, ApiError> {
    Ok(URL_SAFE_NO_PAD.encode(mac(key, message)?.finalize().into_bytes()))
}

/// True when `signature` is the signature of `message`, compared in constant time so it
/// cannot be guessed byte by byte.
pub fn verify(key: &[u8], message: &[u8], signature: &str) -> bool {
    let Ok(given) = URL_SAFE_NO_PAD.decode(signature.trim_end_matches('=')) else {
        return false;
    };
    mac(key, message).is_ok_and(|m| m.verify_slice(&given).is_ok())
}
