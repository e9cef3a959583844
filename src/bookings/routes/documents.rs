//! A consultant's documents for review (ID, certificates): uploaded by the applicant, kept
//! privately (never under a public folder), listed to admins with signed short-lived links.

use actix_files::NamedFile;
use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::web::{Data, Path, Payload, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{as_admin, as_applicant, now, run, run_write, Reply, READ, WRITE};
use crate::bookings::profiles;
use crate::bookings::store::{self, documents::Document};
use crate::bookings::Config;
use crate::db::DbPool;
use crate::resource::upload::{receive, sniff};
use crate::resource::{signed, ApiError, Caller};

/// The types a document may be, told from its bytes.
const TYPES: &[&str] = &["application/pdf", "image/jpeg", "image/png", "image/webp"];

#[derive(Debug, Deserialize)]
pub struct KindQuery {
    kind: Option<String>,
}

/// `id`, `certificate` or `other` (the default).
fn kind(q: &KindQuery) -> Result<String, ApiError> {
    match q.kind.as_deref() {
        None | Some("") => Ok("other".into()),
        Some(k @ ("id" | "certificate" | "other")) => Ok(k.into()),
        Some(_) => Err(ApiError::InvalidRequest(
            "kind must be id, certificate or other".into(),
        )),
    }
}

/// A file name fit to show and to offer as a download name: no path, no control or quote
/// characters, at most 100 characters.
fn file_name(sent: Option<&str>, media_type: &str) -> String {
    let base = sent
        .and_then(|n| n.rsplit(['/', '\\']).next())
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | '/'))
        .take(100)
        .collect::<String>();
    let base = base.trim();
    if base.is_empty() || base.starts_with('.') {
        let ext = media_type.rsplit('/').next().unwrap_or("bin");
        format!("document.{ext}")
    } else {
        base.to_string()
    }
}

/// Where a document's bytes live.
fn stored(config: &Config, d: &Document) -> std::path::PathBuf {
    config.documents_dir.join(&d.consultant_id).join(&d.id)
}

/// POST /consultants/me/documents?kind=id|certificate|other (multipart, part `file`): a
/// PDF, JPEG, PNG or WebP of at most `booking_document_max_bytes`.
#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn upload_document(
    caller: Caller,
    pool: Data<DbPool>,
    config: Data<Config>,
    q: Query<KindQuery>,
    req: HttpRequest,
    body: Payload,
) -> Reply {
    as_applicant(&caller, WRITE)?;
    let kind = kind(&q)?;
    let me = caller.clone();
    let consultant = run(&pool, move |conn| {
        let c = profiles::own(conn, &me)?;
        // Before a byte is read; the insert checks again (a soft cap under races).
        if store::documents::of(conn, &c.id)?.len() as i64 >= store::documents::MAX_DOCUMENTS {
            return Err(full());
        }
        Ok(c)
    })
    .await?;
    let dir = config.documents_dir.join(&consultant.id);
    let got = receive(
        Multipart::new(req.headers(), body),
        &dir,
        config.document_max_bytes,
    )
    .await?;
    // Refused: dropping `got` removes the temporary file.
    let Some(media_type) = sniff(&got.head).filter(|m| TYPES.contains(m)) else {
        return Err(ApiError::UnsupportedType(
            "a document must be a PDF, JPEG, PNG or WebP (told from its bytes, not its name)"
                .into(),
        ));
    };
    let document = Document {
        id: crate::bookings::new_id(),
        consultant_id: consultant.id,
        kind,
        name: file_name(got.filename.as_deref(), media_type),
        media_type: media_type.to_string(),
        bytes: got.bytes as i64,
        sha256: got.sha256,
        uploaded_at: now(),
    };
    let target = stored(&config, &document);
    if let Err(e) = tokio::fs::rename(&got.temp, &target).await {
        return Err(ApiError::Internal(format!("storing a document: {e}")));
    }
    let row = document.clone();
    let kept = run(&pool, move |conn| Ok(store::documents::insert(conn, &row)?)).await;
    if !matches!(kept, Ok(true)) {
        let _ = tokio::fs::remove_file(&target).await;
        kept?;
        return Err(full());
    }
    Ok(HttpResponse::Created().json(document))
}

fn full() -> ApiError {
    ApiError::Conflict(format!(
        "at most {} documents; delete one first",
        store::documents::MAX_DOCUMENTS
    ))
}

/// GET /consultants/me/documents: the caller's own documents, newest first.
#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn list_my_documents(caller: Caller, pool: Data<DbPool>) -> Reply {
    as_applicant(&caller, READ)?;
    let items = run(&pool, move |conn| {
        let c = profiles::own(conn, &caller)?;
        Ok(store::documents::of(conn, &c.id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// DELETE /consultants/me/documents/{id}
#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn delete_my_document(
    caller: Caller,
    pool: Data<DbPool>,
    config: Data<Config>,
    id: Path<String>,
) -> Reply {
    as_applicant(&caller, WRITE)?;
    let id = id.into_inner();
    let gone = run_write(&pool, move |conn| {
        let c = profiles::own(conn, &caller)?;
        let d = store::documents::find(conn, &id)?.filter(|d| d.consultant_id == c.id);
        if let Some(d) = &d {
            store::documents::delete(conn, &c.id, &d.id)?;
        }
        Ok(d)
    })
    .await?
    .ok_or_else(|| ApiError::NotFound("no document with this id".into()))?;
    let _ = tokio::fs::remove_file(stored(&config, &gone)).await;
    Ok(HttpResponse::NoContent().finish())
}

/// What a document's link signs: `"booking-document\n<id>\n<expires>"` (the label keeps it
/// apart from every other link signed under a related key).
fn message(id: &str, expires: i64) -> Vec<u8> {
    format!("booking-document\n{id}\n{expires}").into_bytes()
}

/// A document with a link to it, as admins see it.
#[derive(Debug, Serialize)]
struct Reviewed {
    #[serde(flatten)]
    document: Document,
    /// Path on this API; works without a token until `expires_at`.
    url: String,
    expires_at: i64,
}

/// GET /admin/consultants/{id}/documents: every document of a profile under review, each
/// with a signed link valid `booking_document_url_ttl` seconds.
#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn admin_list_documents(
    caller: Caller,
    pool: Data<DbPool>,
    config: Data<Config>,
    id: Path<String>,
) -> Reply {
    as_admin(&caller, READ)?;
    let id = id.into_inner();
    let documents = run(&pool, move |conn| {
        if store::consultant(conn, &id)?.is_none() {
            return Err(ApiError::NotFound("no such consultant".into()));
        }
        Ok(store::documents::of(conn, &id)?)
    })
    .await?;
    let expires_at = now() + config.document_url_ttl;
    let items = documents
        .into_iter()
        .map(|document| {
            let sig = signed::sign(&config.documents_key, &message(&document.id, expires_at))?;
            Ok(Reviewed {
                url: format!(
                    "/api/bookings/documents/{}?expires={expires_at}&signature={sig}",
                    document.id,
                ),
                expires_at,
                document,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
pub struct SignedQuery {
    expires: Option<String>,
    signature: Option<String>,
}

/// GET /documents/{id}?expires=&signature=: the file, as an attachment, if the link is
/// genuine and current. No token: the signature is the credential.
#[tracing::instrument(skip_all)]
pub async fn serve_document(
    req: HttpRequest,
    pool: Data<DbPool>,
    config: Data<Config>,
    id: Path<String>,
    q: Query<SignedQuery>,
) -> Reply {
    let refused = || ApiError::Forbidden("the link is not valid".into());
    let (Some(expires), Some(signature)) = (&q.expires, &q.signature) else {
        return Err(refused());
    };
    let expires: i64 = expires.parse().map_err(|_| refused())?;
    let id = id.into_inner();
    if !signed::verify(&config.documents_key, &message(&id, expires), signature) {
        return Err(refused());
    }
    if expires <= now() {
        return Err(ApiError::Forbidden("the link has expired".into()));
    }
    let document = run(&pool, move |conn| Ok(store::documents::find(conn, &id)?))
        .await?
        .ok_or_else(|| ApiError::NotFound("the document is not available".into()))?;
    let file = NamedFile::open_async(stored(&config, &document))
        .await
        .map_err(|_| ApiError::NotFound("the document is not available".into()))?;
    let mime: actix_web::mime::Mime = document
        .media_type
        .parse()
        .unwrap_or(actix_web::mime::APPLICATION_OCTET_STREAM);
    let mut resp = file
        .set_content_type(mime)
        .set_content_disposition(header::ContentDisposition {
            disposition: header::DispositionType::Attachment,
            parameters: vec![header::DispositionParam::Filename(document.name)],
        })
        .into_response(&req);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain() {
        assert_eq!(
            file_name(Some("../../etc/passwd"), "application/pdf"),
            "passwd"
        );
        assert_eq!(
            file_name(Some("C:\\x\\id card.pdf"), "application/pdf"),
            "id card.pdf"
        );
        assert_eq!(file_name(Some("a\"b\u{7}.png"), "image/png"), "ab.png");
        assert_eq!(file_name(Some(".hidden"), "image/png"), "document.png");
        assert_eq!(file_name(None, "application/pdf"), "document.pdf");
        assert_eq!(file_name(Some(&"x".repeat(300)), "image/png").len(), 100);
    }
}
