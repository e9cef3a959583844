//! Appointments: booking, the lists, and state changes.

use actix_web::web::{Bytes, Data, Json, Path, Query};
use actix_web::HttpResponse;
use serde::Deserialize;

use super::{as_person, now, run, Reply, READ, WRITE};
use crate::bookings::appointments::{self, Action, AppointmentView, BookForm, ListQuery};
use crate::bookings::profiles;
use crate::bookings::store;
use crate::bookings::Config;
use crate::db::DbPool;
use crate::resource::{ApiError, Caller, Paged, Pagination};

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn create_appointment(
    caller: Caller,
    pool: Data<DbPool>,
    config: Data<Config>,
    form: Json<BookForm>,
) -> Reply {
    as_person(&caller, WRITE)?;
    let form = form.into_inner();
    let booked = run(&pool, move |conn| {
        appointments::book(conn, &caller, &form, &config, now())
    })
    .await?;
    Ok(HttpResponse::Created().json(AppointmentView::from(booked)))
}

/// One page of appointments matching `filter`.
pub(super) async fn appointment_page(
    pool: &DbPool,
    filter: store::appointments::AppointmentFilter,
    p: Pagination,
) -> Reply {
    let page = run(pool, move |conn| {
        let (list, total) = store::appointments::list(conn, &filter, p.limit(), p.offset())?;
        let items: Vec<AppointmentView> = list.into_iter().map(AppointmentView::from).collect();
        Ok(Paged::new(items, total, &p))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn list_appointments(
    caller: Caller,
    pool: Data<DbPool>,
    q: Query<ListQuery>,
    p: Query<Pagination>,
) -> Reply {
    as_person(&caller, READ)?;
    let p = p.into_inner().checked()?;
    let filter = appointments::filter(&q, Some(&caller.subject))?;
    appointment_page(&pool, filter, p).await
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn get_appointment(caller: Caller, pool: Data<DbPool>, id: Path<String>) -> Reply {
    // A client acting for itself has no appointments: 403 like the other personal routes.
    as_person(&caller, READ)?;
    let a = run(&pool, move |conn| appointments::visible(conn, &id, &caller)).await?;
    Ok(HttpResponse::Ok().json(AppointmentView::from(a)))
}

/// An optional `{"reason": "..."}` body; an empty body means no reason.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonForm {
    pub reason: Option<String>,
}

fn reason_body(body: &Bytes) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let form: ReasonForm = serde_json::from_slice(body).map_err(|e| {
        ApiError::InvalidRequest(format!("the body must be {{\"reason\": \"...\"}}: {e}"))
    })?;
    profiles::reason(form.reason.as_deref())
}

async fn act(
    caller: Caller,
    pool: &DbPool,
    config: Data<Config>,
    id: String,
    action: Action,
    reason: Option<String>,
) -> Reply {
    as_person(&caller, WRITE)?;
    let a = run(pool, move |conn| {
        appointments::act(conn, &caller, &id, action, reason, &config, now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(AppointmentView::from(a)))
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn confirm_appointment(
    caller: Caller,
    pool: Data<DbPool>,
    config: Data<Config>,
    id: Path<String>,
) -> Reply {
    act(
        caller,
        &pool,
        config,
        id.into_inner(),
        Action::Confirm,
        None,
    )
    .await
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn decline_appointment(
    caller: Caller,
    pool: Data<DbPool>,
    config: Data<Config>,
    id: Path<String>,
    body: Bytes,
) -> Reply {
    caller.require_scope(WRITE)?;
    let reason = reason_body(&body)?;
    act(
        caller,
        &pool,
        config,
        id.into_inner(),
        Action::Decline,
        reason,
    )
    .await
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn complete_appointment(
    caller: Caller,
    pool: Data<DbPool>,
    config: Data<Config>,
    id: Path<String>,
) -> Reply {
    act(
        caller,
        &pool,
        config,
        id.into_inner(),
        Action::Complete,
        None,
    )
    .await
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn cancel_appointment(
    caller: Caller,
    pool: Data<DbPool>,
    config: Data<Config>,
    id: Path<String>,
    body: Bytes,
) -> Reply {
    caller.require_scope(WRITE)?;
    let reason = reason_body(&body)?;
    act(
        caller,
        &pool,
        config,
        id.into_inner(),
        Action::Cancel,
        reason,
    )
    .await
}
