//! Service categories: a short list, ordered by `position`, then name.

use diesel::prelude::*;

use crate::db::schema::booking_categories as cat;
use crate::db::DbConn;

/// Most categories, so the list stays one bounded answer.
pub const MAX_CATEGORIES: i64 = 200;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = cat)]
pub struct Category {
    pub id: String,
    pub name: String,
    /// The name lower-cased: unique.
    pub name_key: String,
    pub description: String,
    pub position: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Every category, in order.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Category>> {
    cat::table
        .order((cat::position, cat::name_key, cat::id))
        .limit(MAX_CATEGORIES)
        .select(Category::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Category>> {
    cat::table
        .find(id)
        .select(Category::as_select())
        .first(conn)
        .optional()
}

pub fn exists(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    Ok(cat::table.find(id).count().get_result::<i64>(conn)? > 0)
}

/// What came of a write.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    Done,
    /// Another category has this name.
    NameTaken,
    /// There are `MAX_CATEGORIES` already.
    Full,
    NotFound,
}

fn taken(e: diesel::result::Error) -> QueryResult<Written> {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => Ok(Written::NameTaken),
        e => Err(e),
    }
}

pub fn insert(conn: &mut DbConn, c: &Category) -> QueryResult<Written> {
    if cat::table.count().get_result::<i64>(conn)? >= MAX_CATEGORIES {
        return Ok(Written::Full);
    }
    match diesel::insert_into(cat::table).values(c).execute(conn) {
        Ok(_) => Ok(Written::Done),
        Err(e) => taken(e),
    }
}

/// Replaces name, description and position (id and created_at stay).
pub fn update(conn: &mut DbConn, c: &Category) -> QueryResult<Written> {
    match diesel::update(cat::table.find(&c.id))
        .set((
            cat::name.eq(&c.name),
            cat::name_key.eq(&c.name_key),
            cat::description.eq(&c.description),
            cat::position.eq(c.position),
            cat::updated_at.eq(c.updated_at),
        ))
        .execute(conn)
    {
        Ok(0) => Ok(Written::NotFound),
        Ok(_) => Ok(Written::Done),
        Err(e) => taken(e),
    }
}

/// Deletes a category; its services become uncategorised (`ON DELETE SET NULL`).
pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    crate::db::transaction(conn, |conn| {
        // Explicitly as well: SQLite applies ON DELETE only with foreign keys on.
        diesel::update(
            crate::db::schema::booking_services::table
                .filter(crate::db::schema::booking_services::category_id.eq(id)),
        )
        .set(crate::db::schema::booking_services::category_id.eq(None::<String>))
        .execute(conn)?;
        Ok(diesel::delete(cat::table.find(id)).execute(conn)? > 0)
    })
}
