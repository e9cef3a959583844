//! Service categories: everyone with `bookings:read` lists them; admins keep them.

use actix_web::web::{Data, Json, Path};
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use super::{as_admin, now, run, run_write, Reply, READ, WRITE};
use crate::bookings::profiles;
use crate::bookings::store::categories::{self, Category, Written, MAX_CATEGORIES};
use crate::resource::{ApiError, Caller};

/// Longest category name and description, in characters.
const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 2000;

#[derive(Debug, Serialize)]
pub struct CategoryView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub position: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<Category> for CategoryView {
    fn from(c: Category) -> Self {
        CategoryView {
            id: c.id,
            name: c.name,
            description: c.description,
            position: c.position,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryForm {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default, deserialize_with = "crate::resource::whole::optional")]
    position: Option<i64>,
}

impl CategoryForm {
    fn parse(self, id: String, now: i64) -> Result<Category, ApiError> {
        let name = profiles::text("name", &self.name, MAX_NAME, false)?;
        let position = self.position.unwrap_or(0);
        if !(0..=10_000).contains(&position) {
            return Err(ApiError::InvalidRequest(
                "position must be between 0 and 10000".into(),
            ));
        }
        Ok(Category {
            id,
            name_key: name.to_lowercase(),
            name,
            description: match self.description.trim() {
                "" => String::new(),
                _ => profiles::text("description", &self.description, MAX_DESCRIPTION, true)?,
            },
            position,
            created_at: now,
            updated_at: now,
        })
    }
}

fn answer(written: Written, name: &str) -> Result<(), ApiError> {
    match written {
        Written::Done => Ok(()),
        Written::NameTaken => Err(ApiError::Conflict(format!(
            "there is already a category named {name}"
        ))),
        Written::Full => Err(ApiError::Conflict(format!(
            "at most {MAX_CATEGORIES} categories; delete one first"
        ))),
        Written::NotFound => Err(no_category()),
    }
}

fn no_category() -> ApiError {
    ApiError::NotFound("no category with this id".into())
}

/// GET /categories: every category, by position then name.
#[tracing::instrument(skip_all)]
pub async fn list_categories(caller: Caller, pool: Data<crate::db::DbPool>) -> Reply {
    caller.require_scope(READ)?;
    let all = run(&pool, |conn| Ok(categories::all(conn)?)).await?;
    let items: Vec<CategoryView> = all.into_iter().map(CategoryView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// POST /admin/categories
#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn create_category(
    caller: Caller,
    pool: Data<crate::db::DbPool>,
    form: Json<CategoryForm>,
) -> Reply {
    as_admin(&caller, WRITE)?;
    let category = form.into_inner().parse(crate::bookings::new_id(), now())?;
    let row = run_write(&pool, move |conn| {
        let written = categories::insert(conn, &category)?;
        answer(written, &category.name)?;
        Ok(category)
    })
    .await?;
    Ok(HttpResponse::Created().json(CategoryView::from(row)))
}

/// PUT /admin/categories/{id}: replaces name, description and position.
#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn update_category(
    caller: Caller,
    pool: Data<crate::db::DbPool>,
    id: Path<String>,
    form: Json<CategoryForm>,
) -> Reply {
    as_admin(&caller, WRITE)?;
    let category = form.into_inner().parse(id.into_inner(), now())?;
    let row = run_write(&pool, move |conn| {
        let written = categories::update(conn, &category)?;
        answer(written, &category.name)?;
        categories::find(conn, &category.id)?.ok_or_else(no_category)
    })
    .await?;
    Ok(HttpResponse::Ok().json(CategoryView::from(row)))
}

/// DELETE /admin/categories/{id}: its services stay, uncategorised.
#[tracing::instrument(skip_all, fields(sub = %caller.subject))]
pub async fn delete_category(
    caller: Caller,
    pool: Data<crate::db::DbPool>,
    id: Path<String>,
) -> Reply {
    as_admin(&caller, WRITE)?;
    let deleted = run(&pool, move |conn| Ok(categories::delete(conn, &id)?)).await?;
    if !deleted {
        return Err(no_category());
    }
    Ok(HttpResponse::NoContent().finish())
}
