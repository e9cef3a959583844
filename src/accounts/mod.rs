//! Accounts: the people who sign in (email, name, password hash).

pub mod store;

use crate::crypto;
use crate::db::{self, DbError, DbPool};

pub use store::User;

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("invalid email address")]
    InvalidEmail,
    #[error("the password must be at least 8 characters")]
    WeakPassword,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("password hashing failed")]
    Hash,
}

/// Normalises an email for lookups: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> Result<String, AccountError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        })
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(AccountError::InvalidEmail)
    }
}

/// Creates an account. The email counts as verified because an operator created it.
pub async fn create_user(
    pool: &DbPool,
    email: &str,
    name: Option<String>,
    password: Option<String>,
) -> Result<User, AccountError> {
    let email = normalize_email(email)?;
    if let Some(p) = &password {
        if p.chars().count() < 8 {
            return Err(AccountError::WeakPassword);
        }
    }
    let result = db::run(pool, move |conn| {
        let password_hash = match password {
            Some(p) => Some(crypto::hash_password(&p).map_err(|_| DbError::Cancelled)?),
            None => None,
        };
        if store::find_by_email(conn, &email)?.is_some() {
            return Ok(None);
        }
        let user = store::insert(conn, &email, name.as_deref(), password_hash.as_deref())?;
        Ok(Some(user))
    })
    .await?;
    result.ok_or(AccountError::EmailTaken)
}

/// Checks an email and password; `None` when either is wrong. Takes the same time whether
/// or not the account exists.
pub async fn authenticate(
    pool: &DbPool,
    email: &str,
    password: String,
) -> Result<Option<User>, DbError> {
    let Ok(email) = normalize_email(email) else {
        // Still spend the hashing time so malformed input is not distinguishable.
        let _ = db::run(pool, move |_| {
            Ok(crypto::verify_password(
                &password,
                crypto::dummy_password_hash(),
            ))
        })
        .await;
        return Ok(None);
    };
    db::run(pool, move |conn| {
        let user = store::find_by_email(conn, &email)?;
        let hash = user
            .as_ref()
            .and_then(|u| u.password_hash.clone())
            .unwrap_or_else(|| crypto::dummy_password_hash().to_string());
        let ok = crypto::verify_password(&password, &hash);
        Ok(user.filter(|u| ok && u.password_hash.is_some()))
    })
    .await
}
