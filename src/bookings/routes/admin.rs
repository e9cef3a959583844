//! Administration: reviewing consultants, every appointment.

use actix_web::web::{Data, Json, Path, Query};
use actix_web::HttpResponse;
use serde::Deserialize;

use super::appointments::appointment_page;
use super::{
    as_admin, consultant_page, now, one_view, run, run_write, ConsultantsQuery, Reply, READ, WRITE,
};
use crate::bookings::appointments::{self, ListQuery};
use crate::bookings::profiles;
use crate::bookings::{store, write_error, Config};
use crate::db::DbPool;
use crate::resource::{ApiError, Caller, Pagination};

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn admin_list_consultants(
    caller: Caller,
    pool: Data<DbPool>,
    q: Query<ConsultantsQuery>,
    p: Query<Pagination>,
) -> Reply {
    as_admin(&caller, READ)?;
    let p = p.into_inner().checked()?;
    let q = q.into_inner();
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s @ ("pending" | "approved" | "rejected")) => Some(s.to_string()),
        Some(_) => {
            return Err(ApiError::InvalidRequest(
                "status must be pending, approved or rejected".into(),
            ))
        }
    };
    consultant_page(&pool, q.filter(status)?, p, true).await
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn approve_consultant(
    caller: Caller,
    pool: Data<DbPool>,
    config: Data<Config>,
    id: Path<String>,
) -> Reply {
    as_admin(&caller, WRITE)?;
    review(
        &pool,
        &config,
        id.into_inner(),
        &["pending", "rejected"],
        "approved",
        None,
        caller.subject.clone(),
    )
    .await
}

/// `POST /admin/consultants/{id}/reject`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectForm {
    pub reason: String,
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn reject_consultant(
    caller: Caller,
    pool: Data<DbPool>,
    config: Data<Config>,
    id: Path<String>,
    form: Json<RejectForm>,
) -> Reply {
    as_admin(&caller, WRITE)?;
    let reason = profiles::text("reason", &form.reason, 500, true)?;
    review(
        &pool,
        &config,
        id.into_inner(),
        &["pending", "approved"],
        "rejected",
        Some(reason),
        caller.subject.clone(),
    )
    .await
}

/// Records a review. With a service account at Porta, the person's account follows first
/// (the `consultant` role given on approval and taken on rejection, and the status
/// attribute set): if Porta cannot be reached, nothing changes here either and the admin
/// is asked to try again.
async fn review(
    pool: &DbPool,
    config: &Config,
    id: String,
    from: &'static [&'static str],
    to: &'static str,
    reason: Option<String>,
    reviewer: String,
) -> Reply {
    let key = id.clone();
    let found = run(pool, move |conn| Ok(store::consultant(conn, &key)?)).await?;
    let consultant = found.ok_or_else(|| ApiError::NotFound("no such consultant".into()))?;
    if !from.contains(&consultant.status.as_str()) {
        return Err(ApiError::Conflict(format!(
            "the consultant is already {}",
            consultant.status
        )));
    }
    if let Some(accounts) = &config.accounts {
        accounts
            .set_role(&consultant.subject, "consultant", to == "approved")
            .await?;
        if let Some(attribute) = &config.status_attribute {
            accounts
                .set_attribute(&consultant.subject, attribute, serde_json::json!(to))
                .await?;
        }
    }
    let view = run_write(pool, move |conn| {
        let reviewed = store::review(conn, &id, from, to, reason.as_deref(), &reviewer, now());
        if reviewed.map_err(write_error)? == 0 {
            return Err(match store::consultant(conn, &id)? {
                Some(c) => ApiError::Conflict(format!("the consultant is already {}", c.status)),
                None => ApiError::NotFound("no such consultant".into()),
            });
        }
        let c = store::consultant(conn, &id)?
            .ok_or_else(|| ApiError::NotFound("no such consultant".into()))?;
        one_view(conn, c, true)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn admin_list_appointments(
    caller: Caller,
    pool: Data<DbPool>,
    q: Query<ListQuery>,
    p: Query<Pagination>,
) -> Reply {
    as_admin(&caller, READ)?;
    let p = p.into_inner().checked()?;
    let filter = appointments::filter(&q, None)?;
    appointment_page(&pool, filter, p).await
}
