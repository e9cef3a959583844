//! Consultant profiles, services and hours: the catalogue and the caller's own (`me`).

use actix_web::web::{Data, Json, Path, Query};
use actix_web::HttpResponse;

use super::{
    as_applicant, as_consultant, concurrent, consultant_page, now, one_view, run, run_write,
    ConsultantsQuery, Reply, READ, WRITE,
};
use crate::bookings::hours::{
    self, ExceptionForm, ExceptionView, SlotsQuery, WeekView, WindowForm,
};
use crate::bookings::profiles::{self, ProfileForm, ServiceForm, ServiceView};
use crate::bookings::store;
use crate::bookings::{write_error, Config};
use crate::db::DbPool;
use crate::resource::{ApiError, Caller, Paged, Pagination, MAX_PER_PAGE};

#[tracing::instrument(skip_all)]
pub async fn list_consultants(
    caller: Caller,
    pool: Data<DbPool>,
    q: Query<ConsultantsQuery>,
    p: Query<Pagination>,
) -> Reply {
    caller.require_scope(READ)?;
    let p = p.into_inner().checked()?;
    let filter = q.into_inner().filter(Some("approved".into()))?;
    consultant_page(&pool, filter, p, false).await
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn get_my_profile(caller: Caller, pool: Data<DbPool>) -> Reply {
    as_applicant(&caller, READ)?;
    let view = run(&pool, move |conn| {
        let c = profiles::own(conn, &caller)?;
        one_view(conn, c, true)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn put_my_profile(caller: Caller, pool: Data<DbPool>, form: Json<ProfileForm>) -> Reply {
    as_applicant(&caller, WRITE)?;
    let change = form.into_inner().parse()?;
    let view = run(&pool, move |conn| {
        let saved =
            store::save_profile(conn, &caller.subject, &change, now()).map_err(concurrent)?;
        one_view(conn, saved, true)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn get_consultant(caller: Caller, pool: Data<DbPool>, id: Path<String>) -> Reply {
    caller.require_scope(READ)?;
    let view = run(&pool, move |conn| {
        let c = profiles::visible(conn, &id, &caller)?;
        let private = profiles::is_private_to(&c, &caller);
        one_view(conn, c, private)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `?category=` of service lists.
#[derive(Debug, serde::Deserialize)]
pub struct CategoryFilter {
    category: Option<String>,
}

async fn service_page(
    pool: &DbPool,
    caller: Caller,
    id: Option<String>,
    category: Option<String>,
    p: Pagination,
) -> Reply {
    let category = super::filter_value("category", category)?;
    let page = run(pool, move |conn| {
        let c = match id {
            Some(id) => profiles::visible(conn, &id, &caller)?,
            None => profiles::own(conn, &caller)?,
        };
        let (list, total) =
            store::services(conn, &c.id, category.as_deref(), p.limit(), p.offset())?;
        let items: Vec<ServiceView> = list.into_iter().map(ServiceView::from).collect();
        Ok(Paged::new(items, total, &p))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn list_services(
    caller: Caller,
    pool: Data<DbPool>,
    id: Path<String>,
    p: Query<Pagination>,
    f: Query<CategoryFilter>,
) -> Reply {
    caller.require_scope(READ)?;
    let p = p.into_inner().checked()?;
    let category = f.into_inner().category;
    service_page(&pool, caller, Some(id.into_inner()), category, p).await
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn list_my_services(
    caller: Caller,
    pool: Data<DbPool>,
    p: Query<Pagination>,
    f: Query<CategoryFilter>,
) -> Reply {
    as_consultant(&caller, READ)?;
    let p = p.into_inner().checked()?;
    service_page(&pool, caller, None, f.into_inner().category, p).await
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn create_service(
    caller: Caller,
    pool: Data<DbPool>,
    config: Data<Config>,
    form: Json<ServiceForm>,
) -> Reply {
    as_consultant(&caller, WRITE)?;
    let form = form.into_inner();
    let service = run_write(&pool, move |conn| {
        let c = profiles::own(conn, &caller)?;
        let service = form.parse(&c.id, &config, now())?;
        if let Some(category) = &service.category_id {
            if !store::categories::exists(conn, category)? {
                return Err(ApiError::InvalidRequest(
                    "category_id names no category".into(),
                ));
            }
        }
        if store::services(conn, &c.id, None, 1, 0)?.1 >= profiles::MAX_SERVICES {
            return Err(ApiError::Conflict(format!(
                "at most {} services; delete one first",
                profiles::MAX_SERVICES
            )));
        }
        store::insert_service(conn, &service).map_err(write_error)?;
        Ok(service)
    })
    .await?;
    Ok(HttpResponse::Created().json(ServiceView::from(service)))
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn delete_service(caller: Caller, pool: Data<DbPool>, id: Path<String>) -> Reply {
    as_consultant(&caller, WRITE)?;
    run_write(&pool, move |conn| {
        let c = profiles::own(conn, &caller)?;
        match store::deactivate_service(conn, &c.id, &id).map_err(write_error)? {
            0 => Err(ApiError::NotFound("no such service".into())),
            _ => Ok(()),
        }
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn get_availability(caller: Caller, pool: Data<DbPool>) -> Reply {
    as_consultant(&caller, READ)?;
    let view = run(&pool, move |conn| {
        let c = profiles::own(conn, &caller)?;
        Ok(WeekView::new(
            &c.time_zone,
            store::hours::weekly(conn, &c.id)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn put_availability(
    caller: Caller,
    pool: Data<DbPool>,
    form: Json<Vec<WindowForm>>,
) -> Reply {
    as_consultant(&caller, WRITE)?;
    let form = form.into_inner();
    let view = run(&pool, move |conn| {
        let c = profiles::own(conn, &caller)?;
        let rows = hours::parse_week(&c.id, form)?;
        store::hours::replace_weekly(conn, &c.id, &rows).map_err(concurrent)?;
        Ok(WeekView::new(&c.time_zone, rows))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn list_exceptions(caller: Caller, pool: Data<DbPool>, p: Query<Pagination>) -> Reply {
    as_consultant(&caller, READ)?;
    let p = p.into_inner().checked()?;
    let page = run(&pool, move |conn| {
        let c = profiles::own(conn, &caller)?;
        let (list, total) = store::hours::exceptions(conn, &c.id, p.limit(), p.offset())?;
        let items: Vec<ExceptionView> = list.into_iter().map(ExceptionView::from).collect();
        Ok(Paged::new(items, total, &p))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn create_exception(
    caller: Caller,
    pool: Data<DbPool>,
    form: Json<ExceptionForm>,
) -> Reply {
    as_consultant(&caller, WRITE)?;
    let form = form.into_inner();
    let row = run_write(&pool, move |conn| {
        let c = profiles::own(conn, &caller)?;
        let row = form.parse(&c.id, now())?;
        if store::hours::count_exceptions(conn, &c.id)? >= hours::MAX_EXCEPTIONS {
            return Err(ApiError::Conflict(format!(
                "at most {} exceptions; delete old ones first",
                hours::MAX_EXCEPTIONS
            )));
        }
        store::hours::insert_exception(conn, &row).map_err(write_error)?;
        Ok(row)
    })
    .await?;
    Ok(HttpResponse::Created().json(ExceptionView::from(row)))
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn delete_exception(caller: Caller, pool: Data<DbPool>, id: Path<String>) -> Reply {
    as_consultant(&caller, WRITE)?;
    run_write(&pool, move |conn| {
        let c = profiles::own(conn, &caller)?;
        match store::hours::delete_exception(conn, &c.id, &id).map_err(write_error)? {
            0 => Err(ApiError::NotFound("no such exception".into())),
            _ => Ok(()),
        }
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn list_slots(
    caller: Caller,
    pool: Data<DbPool>,
    config: Data<Config>,
    id: Path<String>,
    q: Query<SlotsQuery>,
    page: Query<Pagination>,
) -> Reply {
    caller.require_scope(READ)?;
    let q = q.into_inner();
    // A day is a short list: 100 a page unless the caller asks for fewer.
    let page = Pagination {
        per_page: Some(page.per_page.unwrap_or(MAX_PER_PAGE)),
        ..page.into_inner()
    }
    .checked()?;
    let view = run(&pool, move |conn| {
        let c = profiles::visible(conn, &id, &caller)?;
        let service = match store::service(conn, &q.service_id)? {
            Some(s) if s.consultant_id == c.id => s,
            _ => {
                return Err(ApiError::NotFound(
                    "this consultant has no such service".into(),
                ))
            }
        };
        hours::free(conn, &c, &service, &q, &page, &config, now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
