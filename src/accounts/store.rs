//! Diesel queries for accounts.

use diesel::prelude::*;

use crate::db::schema::{account_roles, users};
use crate::db::DbConn;

/// An account row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: crate::ids::AccountId,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Confirmed phone number (E.164), if any.
    pub phone: Option<String>,
}

/// Whether a new account's email address is already confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Email {
    /// Created by an operator (or the demo): confirmed.
    Confirmed,
    /// Registered by the person: confirmed once the code comes back.
    Unconfirmed,
}

/// Creates an account (with the default role).
pub fn insert(
    conn: &mut DbConn,
    email: &str,
    confirmed: Email,
    name: Option<&str>,
    password_hash: Option<&str>,
) -> QueryResult<User> {
    let now = crate::time::now();
    let user = User {
        id: crate::crypto::random_id().into(),
        email: email.to_string(),
        email_verified: confirmed == Email::Confirmed,
        name: name.map(str::to_string),
        password_hash: password_hash.map(str::to_string),
        created_at: now,
        updated_at: now,
        phone: None,
    };
    crate::db::transaction(conn, |conn| {
        diesel::insert_into(users::table)
            .values(&user)
            .execute(conn)?;
        add_role(conn, &user.id, DEFAULT_ROLE)
    })?;
    Ok(user)
}

/// Deletes an account row (sessions, consents, roles and factors go with it by cascade).
pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(users::table.find(id)).execute(conn)
}

pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn set_password(conn: &mut DbConn, id: &str, hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(hash),
            users::updated_at.eq(crate::time::now()),
        ))
        .execute(conn)
}

/// Replaces what an unconfirmed registration chose (the address is still up for grabs
/// until someone proves they own it).
pub fn refresh_unverified(
    conn: &mut DbConn,
    id: &str,
    name: Option<&str>,
    password_hash: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(
        users::table
            .find(id)
            .filter(users::email_verified.eq(false)),
    )
    .set((
        users::name.eq(name),
        users::password_hash.eq(password_hash),
        users::updated_at.eq(crate::time::now()),
    ))
    .execute(conn)
}

pub fn mark_verified(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::email_verified.eq(true),
            users::updated_at.eq(crate::time::now()),
        ))
        .execute(conn)
}

pub fn find_by_phone(conn: &mut DbConn, phone: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::phone.eq(phone))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Sets a confirmed phone number; 0 when another account has it.
pub fn set_phone(conn: &mut DbConn, id: &str, phone: &str) -> QueryResult<usize> {
    let taken = diesel::update(users::table.find(id))
        .set((
            users::phone.eq(phone),
            users::updated_at.eq(crate::time::now()),
        ))
        .execute(conn);
    match taken {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(0),
        other => other,
    }
}

/// Changes the email address (already confirmed by a code); 0 when another account has it.
pub fn set_email(conn: &mut DbConn, id: &str, email: &str) -> QueryResult<usize> {
    let changed = diesel::update(users::table.find(id))
        .set((
            users::email.eq(email),
            users::email_verified.eq(true),
            users::updated_at.eq(crate::time::now()),
        ))
        .execute(conn);
    match changed {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(0),
        other => other,
    }
}

pub fn set_name(conn: &mut DbConn, id: &str, name: Option<&str>) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::name.eq(name),
            users::updated_at.eq(crate::time::now()),
        ))
        .execute(conn)
}

/// The role every new account starts with.
pub const DEFAULT_ROLE: &str = "user";

/// Gives `user_id` the role `role`; true if it was new.
pub fn add_role(conn: &mut DbConn, user_id: &str, role: &str) -> QueryResult<bool> {
    // Plain SQL: diesel's MultiBackend has no ON CONFLICT; both SQLite and PostgreSQL do.
    let added = diesel::sql_query(
        "INSERT INTO account_roles (user_id, role, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<diesel::sql_types::Text, _>(user_id)
    .bind::<diesel::sql_types::Text, _>(role)
    .bind::<diesel::sql_types::BigInt, _>(crate::time::now())
    .execute(conn)?;
    Ok(added == 1)
}

/// Takes the role `role` from `user_id`; true if it had it.
pub fn remove_role(conn: &mut DbConn, user_id: &str, role: &str) -> QueryResult<bool> {
    let removed = diesel::delete(
        account_roles::table
            .filter(account_roles::user_id.eq(user_id))
            .filter(account_roles::role.eq(role)),
    )
    .execute(conn)?;
    Ok(removed == 1)
}

/// The roles of `user_id`, sorted.
pub fn roles(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<String>> {
    account_roles::table
        .filter(account_roles::user_id.eq(user_id))
        .select(account_roles::role)
        .order(account_roles::role.asc())
        .load(conn)
}
