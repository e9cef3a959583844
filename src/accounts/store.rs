//! Diesel queries for accounts.

use diesel::prelude::*;

use crate::db::schema::{account_roles, users};
use crate::db::DbConn;

/// An account row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: crate::ids::AccountId,
    /// The email address; `None` for an account made with a mobile number only.
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Confirmed phone number (E.164), if any.
    pub phone: Option<String>,
    /// When an administrator disabled the account (`None`: active).
    pub disabled_at: Option<i64>,
    /// BCP 47 language tag (OIDC `locale`).
    pub locale: Option<String>,
    /// IANA time zone (OIDC `zoneinfo`).
    pub zoneinfo: Option<String>,
    /// When the person asked to delete the account (erased after the grace period unless
    /// they sign in again).
    pub deletion_requested_at: Option<i64>,
    /// Moved on each time the person's sign-ins are ended (`accounts::end_sign_ins`): a
    /// sign-in parked for its second factor in an earlier one does not finish.
    pub sign_in_generation: i64,
}

impl User {
    /// Active, or disabled by an administrator.
    pub fn state(&self) -> &'static str {
        if self.disabled_at.is_some() {
            "disabled"
        } else {
            "active"
        }
    }

    /// How pages and authenticator apps name the account: its email, else its number.
    pub fn label(&self) -> String {
        self.email
            .clone()
            .or_else(|| self.phone.clone())
            .unwrap_or_else(|| self.id.to_string())
    }

    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none()
    }
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
    let user = User {
        email: Some(email.to_string()),
        email_verified: confirmed == Email::Confirmed,
        ..new_user(name, password_hash)
    };
    insert_row(conn, user)
}

/// Creates an account with a confirmed mobile number and no email (with the default
/// role); a unique violation when another account has the number.
pub fn insert_phone(
    conn: &mut DbConn,
    phone: &str,
    name: Option<&str>,
    password_hash: Option<&str>,
) -> QueryResult<User> {
    let user = User {
        phone: Some(phone.to_string()),
        ..new_user(name, password_hash)
    };
    insert_row(conn, user)
}

/// A new account's row with neither email nor phone yet (the callers set one).
fn new_user(name: Option<&str>, password_hash: Option<&str>) -> User {
    let now = crate::time::now();
    User {
        id: crate::crypto::random_id().into(),
        email: None,
        email_verified: false,
        name: name.map(str::to_string),
        password_hash: password_hash.map(str::to_string),
        created_at: now,
        updated_at: now,
        phone: None,
        disabled_at: None,
        locale: None,
        zoneinfo: None,
        deletion_requested_at: None,
        sign_in_generation: 0,
    }
}

/// Inserts a new account's row with the default role, in one transaction.
fn insert_row(conn: &mut DbConn, user: User) -> QueryResult<User> {
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

/// What a sign-in relied on when its account was read: the password hash its password
/// was checked against, and the sign-in generation it was parked in (for its second
/// factor) or its code was sent in.
#[derive(Debug, Clone, Copy, Default)]
pub struct Relied<'a> {
    pub password_hash: Option<&'a str>,
    pub generation: Option<i64>,
}

/// Whether account `user` (just read in the caller's transaction) still has what the
/// sign-in `relied` on, such that no change of it can commit before that transaction
/// does: on SQLite the transaction holds the database's write lock from its start
/// (`db::transaction` begins `IMMEDIATE`), so the row just read is the answer; on
/// PostgreSQL the row is locked until the transaction ends, so a password change or an
/// end of sign-ins (whose first write is to this row) waits for it, and then ends what
/// the sign-in wrote. The lock is `FOR SHARE`, or `FOR NO KEY UPDATE` when the sign-in
/// will write the row itself (signing in during a deletion's grace period keeps the
/// account), so two such sign-ins queue instead of deadlocking. The row is locked even
/// when the sign-in relied on nothing: an end of sign-ins that committed before the lock
/// came before this sign-in, and one after it waits for it.
pub fn holds(conn: &mut DbConn, user: &User, relied: Relied<'_>) -> QueryResult<bool> {
    use diesel::sql_types::{BigInt, Nullable, Text};
    #[derive(QueryableByName)]
    struct Held {
        #[diesel(sql_type = Text)]
        #[expect(dead_code, reason = "only whether a row comes back matters")]
        id: String,
    }
    match conn {
        DbConn::Pg(pg) => {
            let lock = if user.deletion_requested_at.is_some() {
                "FOR NO KEY UPDATE"
            } else {
                "FOR SHARE"
            };
            let held: Vec<Held> = diesel::sql_query(format!(
                "SELECT id FROM users WHERE id = $1 \
                 AND ($2::text IS NULL OR password_hash = $2) \
                 AND ($3::bigint IS NULL OR sign_in_generation = $3) {lock}"
            ))
            .bind::<Text, _>(user.id.as_str())
            .bind::<Nullable<Text>, _>(relied.password_hash)
            .bind::<Nullable<BigInt>, _>(relied.generation)
            .load(pg)?;
            Ok(!held.is_empty())
        }
        DbConn::Sqlite(_) => Ok(relied
            .password_hash
            .is_none_or(|h| user.password_hash.as_deref() == Some(h))
            && relied
                .generation
                .is_none_or(|g| user.sign_in_generation == g)),
    }
}

/// Inside the caller's transaction, first: whether account `id` is still due for removal
/// (its deletion asked for at `cutoff` or before, and not cancelled since by signing in),
/// moving its sign-in generation on if so. On PostgreSQL the update waits for a sign-in
/// that holds the row and then sees what it committed.
pub fn still_due_for_removal(conn: &mut DbConn, id: &str, cutoff: i64) -> QueryResult<bool> {
    let updated = diesel::update(
        users::table
            .find(id)
            .filter(users::deletion_requested_at.le(cutoff)),
    )
    .set(users::sign_in_generation.eq(users::sign_in_generation + 1))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Moves the person's sign-in generation on (the first write of `accounts::end_sign_ins`,
/// so that on PostgreSQL it waits for a sign-in holding the row, see [`holds`]).
pub fn next_sign_in_generation(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::sign_in_generation.eq(users::sign_in_generation + 1))
        .execute(conn)
}

pub fn set_password(conn: &mut DbConn, id: &str, hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(hash),
            users::updated_at.eq(crate::time::now()),
        ))
        .execute(conn)
}

/// [`set_password`] only while account `id` is still in sign-in `generation` (when one
/// is given: the one a reset code was sent in); 0 rows when its sign-ins were ended since.
/// On PostgreSQL the update waits for an end of sign-ins under way and sees what it
/// committed.
pub fn set_password_in(
    conn: &mut DbConn,
    id: &str,
    hash: &str,
    generation: Option<i64>,
) -> QueryResult<usize> {
    let Some(generation) = generation else {
        return set_password(conn, id, hash);
    };
    diesel::update(
        users::table
            .find(id)
            .filter(users::sign_in_generation.eq(generation)),
    )
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

/// Takes account `id`'s row for its registration's confirmation, inside the caller's
/// transaction: true only while its address is unconfirmed and it is not disabled (the
/// row is then locked until the confirmation commits, so two codes of one registration
/// confirm once).
pub fn claim_unconfirmed(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    let claimed = diesel::update(
        users::table
            .find(id)
            .filter(users::email_verified.eq(false))
            .filter(users::disabled_at.is_null()),
    )
    .set(users::updated_at.eq(crate::time::now()))
    .execute(conn)?;
    Ok(claimed == 1)
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

/// The roles of each of `user_ids` (one query), each list sorted.
pub fn roles_of(
    conn: &mut DbConn,
    user_ids: &[String],
) -> QueryResult<std::collections::HashMap<String, Vec<String>>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (user, role) in account_roles::table
        .filter(account_roles::user_id.eq_any(user_ids))
        .select((account_roles::user_id, account_roles::role))
        .order((account_roles::user_id.asc(), account_roles::role.asc()))
        .load::<(String, String)>(conn)?
    {
        out.entry(user).or_default().push(role);
    }
    Ok(out)
}

/// The roles of `user_id`, sorted.
pub fn roles(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<String>> {
    account_roles::table
        .filter(account_roles::user_id.eq(user_id))
        .select(account_roles::role)
        .order(account_roles::role.asc())
        .load(conn)
}

/// Replaces the roles of `user_id` with `roles` (which must exist).
pub fn set_roles(conn: &mut DbConn, user_id: &str, roles: &[String]) -> QueryResult<()> {
    crate::db::transaction(conn, |conn| {
        diesel::delete(account_roles::table.filter(account_roles::user_id.eq(user_id)))
            .execute(conn)?;
        for role in roles {
            add_role(conn, user_id, role)?;
        }
        Ok(())
    })
}

/// Marks the account disabled (`Some(time)`) or active again (`None`).
pub fn set_disabled(conn: &mut DbConn, id: &str, at: Option<i64>) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::disabled_at.eq(at),
            users::updated_at.eq(crate::time::now()),
        ))
        .execute(conn)
}

/// Clears the password (the person sets a new one through "forgot password").
pub fn clear_password(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(None::<String>),
            users::updated_at.eq(crate::time::now()),
        ))
        .execute(conn)
}

/// What an administrator may change on an account; `None` leaves a field as it is,
/// `Some(None)` clears an optional one.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    pub name: Option<Option<String>>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub phone: Option<Option<String>>,
    pub locale: Option<Option<String>>,
    pub zoneinfo: Option<Option<String>>,
}

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct ChangeRow {
    name: Option<Option<String>>,
    email: Option<String>,
    email_verified: Option<bool>,
    phone: Option<Option<String>>,
    locale: Option<Option<String>>,
    zoneinfo: Option<Option<String>>,
    updated_at: i64,
}

/// Applies `changes`; `Ok(false)` when the email or phone belongs to another account.
pub fn update(conn: &mut DbConn, id: &str, changes: &Changes) -> QueryResult<bool> {
    let row = ChangeRow {
        name: changes.name.clone(),
        email: changes.email.clone(),
        email_verified: changes.email_verified,
        phone: changes.phone.clone(),
        locale: changes.locale.clone(),
        zoneinfo: changes.zoneinfo.clone(),
        updated_at: crate::time::now(),
    };
    match diesel::update(users::table.find(id))
        .set(&row)
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}

/// What to look for in `search`; every field given must match.
#[derive(Debug, Default, Clone)]
pub struct Search {
    /// Part of the email, name or phone (case-insensitive for email and name).
    pub text: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub role: Option<String>,
    /// `active` or `disabled`.
    pub disabled: Option<bool>,
    /// A custom attribute's name and a value it has (for a list: one of its items).
    pub attribute: Option<(String, String)>,
}

/// A search filter that does not parse (each door says so in its own words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadFilter;

impl Search {
    /// `active` or `disabled` as the `disabled` filter; blank: either state.
    pub fn parse_state(text: &str) -> Result<Option<bool>, BadFilter> {
        match text.trim() {
            "" => Ok(None),
            "active" => Ok(Some(false)),
            "disabled" => Ok(Some(true)),
            _ => Err(BadFilter),
        }
    }

    /// `name:value` as the attribute filter; blank: none.
    pub fn parse_attribute(text: &str) -> Result<Option<(String, String)>, BadFilter> {
        if text.is_empty() {
            return Ok(None);
        }
        match text.split_once(':') {
            Some((name, value)) if !name.is_empty() => {
                Ok(Some((name.to_string(), value.to_string())))
            }
            _ => Err(BadFilter),
        }
    }
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>);

/// Escapes `%`, `_` and `\` for a LIKE pattern.
fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Accounts matching `s`, by email, with the total count before paging.
pub fn search(
    conn: &mut DbConn,
    s: &Search,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<User>, i64)> {
    type Backend = <DbConn as diesel::Connection>::Backend;
    let query = || {
        let mut q = users::table.into_boxed::<Backend>();
        if let Some(text) = &s.text {
            let p = like_pattern(&text.to_lowercase());
            // Emails are stored lower-cased; names are compared as stored, lower-cased.
            q = q.filter(
                users::email
                    .like(p.clone())
                    .escape('\\')
                    .or(lower(users::name).like(p).escape('\\'))
                    .or(users::phone.like(like_pattern(text)).escape('\\')),
            );
        }
        if let Some(email) = &s.email {
            q = q.filter(users::email.eq(email.clone()));
        }
        if let Some(phone) = &s.phone {
            q = q.filter(users::phone.eq(phone.clone()));
        }
        if let Some(role) = &s.role {
            q = q.filter(
                users::id.eq_any(
                    account_roles::table
                        .filter(account_roles::role.eq(role.clone()))
                        .select(account_roles::user_id),
                ),
            );
        }
        if let Some((name, value)) = &s.attribute {
            use crate::db::schema::account_attributes as aa;
            // Stored as JSON: a text value is quoted; a number or boolean is bare; a list
            // holds its items quoted.
            let quoted = serde_json::Value::String(value.clone()).to_string();
            q = q.filter(
                users::id.eq_any(
                    aa::table
                        .filter(aa::name.eq(name.clone()))
                        .filter(
                            aa::value
                                .eq(quoted.clone())
                                .or(aa::value.eq(value.clone()))
                                .or(aa::value.like(like_pattern(&quoted)).escape('\\')),
                        )
                        .select(aa::user_id),
                ),
            );
        }
        match s.disabled {
            Some(true) => q = q.filter(users::disabled_at.is_not_null()),
            Some(false) => q = q.filter(users::disabled_at.is_null()),
            None => {}
        }
        q
    };
    let total = query().count().get_result::<i64>(conn)?;
    let rows = query()
        .order(users::email.asc())
        .offset(offset)
        .limit(limit)
        .select(User::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// How many accounts exist, and how many are disabled.
pub fn counts(conn: &mut DbConn) -> QueryResult<(i64, i64)> {
    let all = users::table.count().get_result(conn)?;
    let disabled = users::table
        .filter(users::disabled_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok((all, disabled))
}

/// Records (`Some(time)`) or cancels (`None`) the person's request to delete the account.
pub fn set_deletion_requested(conn: &mut DbConn, id: &str, at: Option<i64>) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::deletion_requested_at.eq(at))
        .execute(conn)
}

/// Accounts whose deletion was asked for at or before `before`.
pub fn deletion_due(conn: &mut DbConn, before: i64) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::deletion_requested_at.le(before))
        .select(User::as_select())
        .limit(100)
        .load(conn)
}
