//! Roles and permissions: named roles (a system flag protects the ones Porta relies on),
//! permissions grouped into roles, and the union of an account's permissions for tokens.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{account_roles, permissions, role_permissions, roles};
use crate::db::DbConn;

/// A role with its permissions and how many accounts hold it.
#[derive(Debug, Clone, Serialize)]
pub struct Role {
    pub name: String,
    pub description: String,
    /// `user`, `consultant` and `admin`: they cannot be deleted.
    pub system: bool,
    pub permissions: Vec<String>,
    pub members: i64,
}

/// A permission and the roles that carry it.
#[derive(Debug, Clone, Serialize)]
pub struct Permission {
    pub name: String,
    pub description: String,
    pub roles: Vec<String>,
}

/// Why a role or permission could not be changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RoleChange {
    #[error("a name is 1 to 64 characters: lower-case letters, digits, and . _ : -")]
    InvalidName,
    #[error("a description is at most 200 characters, without control characters")]
    InvalidDescription,
    #[error("{0} already exists")]
    Exists(String),
    #[error("there is no role {0}")]
    NoRole(String),
    #[error("there is no permission {0}")]
    NoPermission(String),
    #[error("{0} is a system role and cannot be deleted")]
    System(String),
}

/// Checks a role or permission name: short, lower-case, no spaces (it travels in tokens).
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._:-".contains(&b))
}

fn check(name: &str, description: &str) -> Result<(), RoleChange> {
    if !valid_name(name) {
        return Err(RoleChange::InvalidName);
    }
    if description.chars().count() > 200 || description.chars().any(char::is_control) {
        return Err(RoleChange::InvalidDescription);
    }
    Ok(())
}

/// Every role, sorted by name, with its permissions and member count.
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<Role>> {
    let rows: Vec<(String, String, bool)> = roles::table
        .select((roles::name, roles::description, roles::system))
        .order(roles::name.asc())
        .load(conn)?;
    let mut perms: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (role, permission) in role_permissions::table
        .select((role_permissions::role, role_permissions::permission))
        .order(role_permissions::permission.asc())
        .load::<(String, String)>(conn)?
    {
        perms.entry(role).or_default().push(permission);
    }
    let counts: BTreeMap<String, i64> = account_roles::table
        .group_by(account_roles::role)
        .select((account_roles::role, diesel::dsl::count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|(name, description, system)| Role {
            permissions: perms.remove(&name).unwrap_or_default(),
            members: counts.get(&name).copied().unwrap_or(0),
            name,
            description,
            system,
        })
        .collect())
}

/// One role, if it exists.
pub fn find(conn: &mut DbConn, name: &str) -> QueryResult<Option<Role>> {
    Ok(list(conn)?.into_iter().find(|r| r.name == name))
}

pub fn exists(conn: &mut DbConn, name: &str) -> QueryResult<bool> {
    Ok(roles::table
        .find(name)
        .select(roles::name)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

fn permission_exists(conn: &mut DbConn, name: &str) -> QueryResult<bool> {
    Ok(permissions::table
        .find(name)
        .select(permissions::name)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Creates a role.
pub fn create(
    conn: &mut DbConn,
    name: &str,
    description: &str,
) -> QueryResult<Result<(), RoleChange>> {
    if let Err(e) = check(name, description) {
        return Ok(Err(e));
    }
    if exists(conn, name)? {
        return Ok(Err(RoleChange::Exists(format!("role {name}"))));
    }
    diesel::insert_into(roles::table)
        .values((
            roles::name.eq(name),
            roles::description.eq(description),
            roles::system.eq(false),
            roles::created_at.eq(crate::time::now()),
        ))
        .execute(conn)?;
    Ok(Ok(()))
}

/// Deletes a role (not a system one): accounts lose it, with its permissions, at their
/// next token. Returns how many accounts held it.
pub fn delete(conn: &mut DbConn, name: &str) -> QueryResult<Result<usize, RoleChange>> {
    crate::db::transaction(conn, |conn| {
        let Some(role) = find(conn, name)? else {
            return Ok(Err(RoleChange::NoRole(name.to_string())));
        };
        if role.system {
            return Ok(Err(RoleChange::System(name.to_string())));
        }
        let held = diesel::delete(account_roles::table.filter(account_roles::role.eq(name)))
            .execute(conn)?;
        diesel::delete(role_permissions::table.filter(role_permissions::role.eq(name)))
            .execute(conn)?;
        diesel::delete(roles::table.find(name)).execute(conn)?;
        Ok(Ok(held))
    })
}

/// Every permission, sorted, with the roles that carry it.
pub fn list_permissions(conn: &mut DbConn) -> QueryResult<Vec<Permission>> {
    let rows: Vec<(String, String)> = permissions::table
        .select((permissions::name, permissions::description))
        .order(permissions::name.asc())
        .load(conn)?;
    let mut holders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (role, permission) in role_permissions::table
        .select((role_permissions::role, role_permissions::permission))
        .order(role_permissions::role.asc())
        .load::<(String, String)>(conn)?
    {
        holders.entry(permission).or_default().push(role);
    }
    Ok(rows
        .into_iter()
        .map(|(name, description)| Permission {
            roles: holders.remove(&name).unwrap_or_default(),
            name,
            description,
        })
        .collect())
}

/// Creates a permission.
pub fn create_permission(
    conn: &mut DbConn,
    name: &str,
    description: &str,
) -> QueryResult<Result<(), RoleChange>> {
    if let Err(e) = check(name, description) {
        return Ok(Err(e));
    }
    if permission_exists(conn, name)? {
        return Ok(Err(RoleChange::Exists(format!("permission {name}"))));
    }
    diesel::insert_into(permissions::table)
        .values((
            permissions::name.eq(name),
            permissions::description.eq(description),
            permissions::created_at.eq(crate::time::now()),
        ))
        .execute(conn)?;
    Ok(Ok(()))
}

/// Deletes a permission (and takes it from every role).
pub fn delete_permission(conn: &mut DbConn, name: &str) -> QueryResult<Result<(), RoleChange>> {
    crate::db::transaction(conn, |conn| {
        if !permission_exists(conn, name)? {
            return Ok(Err(RoleChange::NoPermission(name.to_string())));
        }
        diesel::delete(role_permissions::table.filter(role_permissions::permission.eq(name)))
            .execute(conn)?;
        diesel::delete(permissions::table.find(name)).execute(conn)?;
        Ok(Ok(()))
    })
}

/// Gives (`add` true) or takes a permission from a role; true when something changed.
pub fn link(
    conn: &mut DbConn,
    role: &str,
    permission: &str,
    add: bool,
) -> QueryResult<Result<bool, RoleChange>> {
    if !exists(conn, role)? {
        return Ok(Err(RoleChange::NoRole(role.to_string())));
    }
    if !permission_exists(conn, permission)? {
        return Ok(Err(RoleChange::NoPermission(permission.to_string())));
    }
    let changed = if add {
        diesel::sql_query(
            "INSERT INTO role_permissions (role, permission) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind::<diesel::sql_types::Text, _>(role)
        .bind::<diesel::sql_types::Text, _>(permission)
        .execute(conn)?
    } else {
        diesel::delete(
            role_permissions::table
                .filter(role_permissions::role.eq(role))
                .filter(role_permissions::permission.eq(permission)),
        )
        .execute(conn)?
    };
    Ok(Ok(changed == 1))
}

/// The union of the permissions of `user_id`'s roles, sorted.
pub fn permissions_of(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<String>> {
    role_permissions::table
        .inner_join(account_roles::table.on(account_roles::role.eq(role_permissions::role)))
        .filter(account_roles::user_id.eq(user_id))
        .select(role_permissions::permission)
        .distinct()
        .order(role_permissions::permission.asc())
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_travel_in_tokens_so_they_are_plain() {
        assert!(valid_name("appointments:manage"));
        assert!(valid_name("a.b_c-d"));
        for bad in ["", "Admin", "two words", "ümlaut", &"x".repeat(65), "a\0b"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert_eq!(
            check("ok", &"d".repeat(201)),
            Err(RoleChange::InvalidDescription)
        );
        assert_eq!(
            check("ok", "line\nbreak"),
            Err(RoleChange::InvalidDescription)
        );
        assert_eq!(check("ok", "Can manage appointments"), Ok(()));
    }
}
