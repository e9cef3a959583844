//! Uploads: a multipart body's part `file` streamed to a temporary file (never held in
//! memory), at most `max` bytes, hashed with SHA-256 on the way; the first bytes are kept
//! so the caller can tell the type from them, not from the name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_multipart::Multipart;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::ApiError;

/// How long an upload may wait for its next bytes before it is dropped.
const IDLE: Duration = Duration::from_secs(30);

fn bad(why: impl Into<String>) -> ApiError {
    ApiError::InvalidRequest(why.into())
}

/// Removes a temporary file when dropped (an upload refused, failed, or abandoned when its
/// request went away); after a rename there is nothing left to remove.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A body received into a temporary file, removed when this is dropped unless it was
/// renamed away first.
pub struct Received {
    /// Where the bytes are (the caller renames or removes it).
    pub temp: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    /// The first bytes (up to 8 KiB), to tell the type from.
    pub head: Vec<u8>,
    /// The part's file name, as sent (not to be trusted as a path).
    pub filename: Option<String>,
    _guard: TempFile,
}

/// Streams the multipart field `file` into a temporary file under `dir`.
pub async fn receive(mut body: Multipart, dir: &Path, max: u64) -> Result<Received, ApiError> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| ApiError::Internal(format!("upload folder: {e}")))?;
    let temp = dir.join(format!(".incoming-{}", uuid::Uuid::new_v4().simple()));
    let guard = TempFile(temp.clone());
    let result = async {
        loop {
            let field = match tokio::time::timeout(IDLE, body.next()).await {
                Err(_) => return Err(bad("the upload stalled")),
                Ok(None) => return Err(bad("send the file in a multipart field named file")),
                Ok(Some(Err(e))) => {
                    return Err(bad(format!("the multipart body is malformed: {e}")))
                }
                Ok(Some(Ok(field))) => field,
            };
            if field.name() != Some("file") {
                // Other fields are skipped (and read through).
                let mut field = field;
                let mut skipped = 0u64;
                loop {
                    match tokio::time::timeout(IDLE, field.next()).await {
                        Err(_) => return Err(bad("the upload stalled")),
                        Ok(None) => break,
                        Ok(Some(chunk)) => {
                            let chunk = chunk.map_err(|e| {
                                bad(format!("the multipart body is malformed: {e}"))
                            })?;
                            skipped += chunk.len() as u64;
                            if skipped > max {
                                return Err(ApiError::TooLarge(format!(
                                    "the request is larger than the limit ({max} bytes)"
                                )));
                            }
                        }
                    }
                }
                continue;
            }
            let filename = field
                .content_disposition()
                .and_then(|cd| cd.get_filename())
                .map(str::to_string);
            let mut field = field;
            let mut out = tokio::fs::File::create(&temp)
                .await
                .map_err(|e| ApiError::Internal(format!("upload file: {e}")))?;
            let (mut hash, mut bytes, mut head) = (Sha256::new(), 0u64, Vec::new());
            loop {
                let chunk = match tokio::time::timeout(IDLE, field.next()).await {
                    Err(_) => return Err(bad("the upload stalled")),
                    Ok(None) => break,
                    Ok(Some(chunk)) => {
                        chunk.map_err(|e| bad(format!("the upload broke off: {e}")))?
                    }
                };
                bytes += chunk.len() as u64;
                if bytes > max {
                    return Err(ApiError::TooLarge(format!(
                        "the file is larger than the limit ({max} bytes)"
                    )));
                }
                if head.len() < 8192 {
                    let take = (8192 - head.len()).min(chunk.len());
                    head.extend_from_slice(&chunk[..take]);
                }
                hash.update(&chunk);
                out.write_all(&chunk)
                    .await
                    .map_err(|e| ApiError::Internal(format!("upload file: {e}")))?;
            }
            out.flush()
                .await
                .map_err(|e| ApiError::Internal(format!("upload file: {e}")))?;
            if bytes == 0 {
                return Err(bad("the file is empty"));
            }
            return Ok(Received {
                temp: temp.clone(),
                sha256: hex::encode(hash.finalize()),
                bytes,
                head,
                filename,
                _guard: guard,
            });
        }
    }
    .await;
    // On an error the guard (still here) removes the file; on success it travels along.
    result
}

/// The MIME type told from the first bytes (`infer`), if any is known.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    infer::get(head).map(|t| t.mime_type())
}
