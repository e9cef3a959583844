//! Accounts: the people who sign in (email, name, password hash).

pub mod attributes;
pub mod invitations;
pub mod roles;
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
    #[error("enter the number with its country code, like +44 20 7946 0958")]
    InvalidPhone,
    #[error("the password must be at least 8 characters")]
    WeakPassword,
    #[error("{0}")]
    Policy(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("password hashing failed")]
    Hash,
}

impl AccountError {
    /// What a person is told, in their language.
    pub fn message(&self) -> String {
        use crate::i18n::t;
        match self {
            AccountError::EmailTaken => t("problem-email-taken"),
            AccountError::InvalidEmail => t("problem-invalid-email"),
            AccountError::InvalidPhone => t("problem-invalid-phone"),
            AccountError::WeakPassword => t("problem-weak-password"),
            AccountError::Policy(m) => m.clone(),
            AccountError::Db(_) | AccountError::Hash => t("error-internal-message"),
        }
    }
}

/// Ends a person's sign-ins: every browser session (but `keep`, the hash of the one that
/// asked, when given), every grant they gave to apps (refresh-token families, and with
/// them the access tokens), every remembered browser, and (by moving the sign-in
/// generation on) every sign-in parked for its second factor. Returns how many sessions
/// ended. One transaction (a savepoint inside the caller's); each table is written by
/// its own domain.
pub fn end_sign_ins(
    conn: &mut crate::db::DbConn,
    user_id: &str,
    keep: Option<&str>,
) -> diesel::QueryResult<usize> {
    crate::db::transaction(conn, |conn| {
        // First, so that on PostgreSQL it waits for a sign-in that holds the row and then
        // ends what that sign-in wrote (`store::holds`).
        store::next_sign_in_generation(conn, user_id)?;
        let ended = match keep {
            Some(keep) => crate::sessions::store::delete_others(conn, user_id, keep)?,
            None => crate::sessions::store::delete_for_user(conn, user_id)?,
        };
        crate::grants::store::revoke_families_of_user(conn, user_id)?;
        // A remembered browser would skip the second factor of the next sign-in: forgotten
        // too.
        crate::sessions::store::forget_browsers(conn, user_id)?;
        Ok(ended)
    })
}

/// Deletes an account: every sign-in ended and grant revoked first, then the row (with
/// its sessions, consents, roles and second factors). Audit events stay.
pub fn delete(conn: &mut crate::db::DbConn, user_id: &str) -> diesel::QueryResult<usize> {
    end_sign_ins(conn, user_id, None)?;
    store::delete(conn, user_id)
}

/// Removes an account for good (an administrator's delete, or the person's own once the
/// grace period is over): every sign-in ended and grant revoked, the row and its personal
/// data deleted, and the audit log kept under the bare id (IP and user agent blanked, the
/// address and number erased from every event's detail). This is where apps will be told
/// of the removal (back-channel logout) once Porta sends it.
pub fn remove(conn: &mut crate::db::DbConn, user: &User) -> diesel::QueryResult<()> {
    crate::db::transaction(conn, |conn| {
        delete(conn, &user.id)?;
        let needles: Vec<String> = user
            .email
            .clone()
            .into_iter()
            .chain(user.phone.clone())
            .collect();
        crate::audit::store::erase(conn, &user.id, &needles)?;
        Ok(())
    })
}

/// Removes the accounts whose owners asked for it more than `grace` seconds before `now`;
/// how many. Each account is erased in a call of its own (a transaction with the pool's
/// whole wait for its turn at the write gate), not all of them on one deadline.
pub async fn remove_due(pool: &DbPool, now: i64, grace: i64) -> Result<usize, DbError> {
    let cutoff = now - grace;
    let due = db::run(pool, move |conn| Ok(store::deletion_due(conn, cutoff)?)).await?;
    let mut removed = 0;
    for user in due {
        if db::run(pool, move |conn| Ok(remove_if_due(conn, &user, cutoff)?)).await? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// [`remove`]s `user` (read a moment ago as due) in one transaction, unless the owner
/// signed in since (which cancels the deletion): checked, with the row held, inside it.
fn remove_if_due(
    conn: &mut crate::db::DbConn,
    user: &User,
    cutoff: i64,
) -> diesel::QueryResult<bool> {
    crate::db::transaction(conn, |conn| {
        if !store::still_due_for_removal(conn, &user.id, cutoff)? {
            return Ok(false);
        }
        remove(conn, user)?;
        Ok(true)
    })
}

/// Normalises an email for lookups: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> Result<String, AccountError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(AccountError::InvalidEmail)
    }
}

/// Normalises a mobile number to E.164 (`+351912345678`) with libphonenumber's rules: a
/// number with `+` and its country code, or (with `region`, the `default_phone_region`
/// setting) one typed the national way ("912 345 678"). Only digits, spaces, `+`, `-`,
/// `.` and brackets get as far as the parser; the result has 8 to 15 digits.
pub fn normalize_phone(phone: &str, region: Option<&str>) -> Result<String, AccountError> {
    let phone = phone.trim();
    let plausible = !phone.is_empty()
        && phone.len() <= 32
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')'))
        && phone.chars().filter(|c| *c == '+').count() <= 1
        && (!phone.contains('+') || phone.starts_with('+'));
    if !plausible {
        return Err(AccountError::InvalidPhone);
    }
    let country = if phone.starts_with('+') {
        None
    } else {
        Some(
            region
                .and_then(|r| r.parse::<phonenumber::country::Id>().ok())
                .ok_or(AccountError::InvalidPhone)?,
        )
    };
    let number = phonenumber::parse(country, phone).map_err(|_| AccountError::InvalidPhone)?;
    let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
    let digits = e164.strip_prefix('+').unwrap_or("");
    if (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
    {
        Ok(e164)
    } else {
        Err(AccountError::InvalidPhone)
    }
}

/// What a person typed in "Email or mobile number", normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Email(String),
    Phone(String),
}

impl Identifier {
    /// An `@` makes it an email address; anything else must be a mobile number.
    pub fn parse(input: &str, region: Option<&str>) -> Option<Identifier> {
        if input.contains('@') {
            normalize_email(input).ok().map(Identifier::Email)
        } else {
            normalize_phone(input, region).ok().map(Identifier::Phone)
        }
    }

    /// The normalised text (an address or an E.164 number).
    pub fn as_str(&self) -> &str {
        match self {
            Identifier::Email(e) | Identifier::Phone(e) => e,
        }
    }

    pub fn is_phone(&self) -> bool {
        matches!(self, Identifier::Phone(_))
    }
}

/// The account an identifier names: a confirmed email address, or a confirmed number.
pub fn find_by_identifier(
    conn: &mut crate::db::DbConn,
    identifier: &Identifier,
) -> diesel::QueryResult<Option<User>> {
    match identifier {
        Identifier::Email(email) => {
            Ok(store::find_by_email(conn, email)?.filter(|u| u.email_verified))
        }
        Identifier::Phone(phone) => store::find_by_phone(conn, phone),
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
    let password_hash = match password {
        // An operator's command (CLI, seeding), not an anonymous request: no slot needed.
        Some(p) => Some(
            actix_web::rt::task::spawn_blocking(move || crypto::hash_password(&p))
                .await
                .map_err(|_| AccountError::Hash)?
                .map_err(|_| AccountError::Hash)?,
        ),
        None => None,
    };
    let result = db::run(pool, move |conn| {
        if store::find_by_email(conn, &email)?.is_some() {
            return Ok(None);
        }
        let user = store::insert(
            conn,
            &email,
            store::Email::Confirmed,
            name.as_deref(),
            password_hash.as_deref(),
        )?;
        Ok(Some(user))
    })
    .await?;
    result.ok_or(AccountError::EmailTaken)
}

/// Checks a password against the account an identifier found (`user`, read by the
/// caller with [`find_by_identifier`], in the same trip as the sign-in throttle);
/// `None` when either is wrong. Takes the same time whether or not the account exists:
/// no account (or no password) is checked against a dummy hash all the same. The hash
/// runs in a hashing slot without holding a database connection, so a burst of sign-ins
/// cannot starve the pool.
pub async fn check_password(
    slot: crypto::HashSlot,
    user: Option<User>,
    password: String,
) -> Option<User> {
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = slot.verify(password, hash).await;
    user.filter(|u| ok && u.password_hash.is_some())
}

/// The longest password accepted (characters); anything longer is refused, not cut.
pub const PASSWORD_MAX_LENGTH: usize = 1024;

/// Checks a new password: long enough, not absurdly long, and not guessable (zxcvbn score
/// 3 or more: over 10^10 guesses). Any Unicode is fine; no composition rules. The message
/// says how to do better.
pub fn check_password_policy(password: &str, email: &str, min: usize) -> Result<(), String> {
    let length = password.chars().count();
    if length < min {
        return Err(crate::i18n::t1("password-too-short", "min", min));
    }
    // In bytes, as sign-in measures it: a password accepted here must be able to sign in.
    if password.len() > PASSWORD_MAX_LENGTH {
        return Err(crate::i18n::t1(
            "password-too-long",
            "max",
            PASSWORD_MAX_LENGTH,
        ));
    }
    let local = email.split('@').next().unwrap_or("");
    // zxcvbn's cost grows fast with length; past 100 characters a password is strong
    // enough whatever it is, so only the start is scored.
    let scored: String = password.chars().take(100).collect();
    let estimate = zxcvbn::zxcvbn(&scored, &[email, local, "porta"]);
    if (estimate.score() as u8) < 3 {
        let mut message = crate::i18n::t("password-too-easy");
        if let Some(feedback) = estimate.feedback() {
            if let Some(w) = feedback.warning() {
                message.push(' ');
                message.push_str(&w.to_string());
            }
            for s in feedback.suggestions() {
                message.push(' ');
                message.push_str(&s.to_string());
            }
        }
        if !message.contains("phrase") {
            message.push(' ');
            message.push_str(&crate::i18n::t("password-words-hint"));
        }
        return Err(message);
    }
    Ok(())
}

/// Hashes a password off the async workers, in the slot the caller waited for.
pub async fn hash_off_thread(
    slot: crypto::HashSlot,
    password: String,
) -> Result<String, AccountError> {
    slot.hash(password).await.map_err(|_| AccountError::Hash)
}

/// Why a role could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("no account with this email or id")]
    NoAccount,
    #[error("a role is 1 to 64 characters: lower-case letters, digits, and . _ : -")]
    InvalidRole,
    #[error("there is no role {0}; create it first (porta role create {0})")]
    NoRole(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Checks a role name: short, lower-case, no spaces (it travels in tokens).
pub fn valid_role(role: &str) -> bool {
    roles::valid_name(role)
}

/// Finds the account an operator names: by email, phone number (E.164) or id.
pub fn find_named(conn: &mut crate::db::DbConn, name: &str) -> diesel::QueryResult<Option<User>> {
    let name = name.trim();
    if let Ok(email) = normalize_email(name) {
        return store::find_by_email(conn, &email);
    }
    if name.starts_with('+') {
        if let Ok(phone) = normalize_phone(name, None) {
            return store::find_by_phone(conn, &phone);
        }
    }
    store::find(conn, name)
}

/// Gives (`add` true) or takes a role (which must exist) from the account named by email,
/// phone or id; returns
/// the account's roles afterwards.
pub async fn change_role(
    pool: &DbPool,
    account: &str,
    role: &str,
    add: bool,
) -> Result<(User, Vec<String>), RoleError> {
    if !valid_role(role) {
        return Err(RoleError::InvalidRole);
    }
    let account = account.trim().to_string();
    let role = role.to_string();
    let found = db::run_write(pool, move |conn| {
        let Some(user) = find_named(conn, &account)? else {
            return Ok(None);
        };
        if add {
            if !roles::exists(conn, &role)? {
                return Ok(Some(Err(RoleError::NoRole(role))));
            }
            store::add_role(conn, &user.id, &role)?;
        } else {
            store::remove_role(conn, &user.id, &role)?;
        }
        let roles = store::roles(conn, &user.id)?;
        Ok(Some(Ok((user, roles))))
    })
    .await?;
    found.ok_or(RoleError::NoAccount)?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The identity provider's tables, in memory.
    fn identity_tables() -> crate::db::DbPool {
        crate::db::memory_pool(crate::db::MigrationSets {
            idp: true,
            apis: false,
        })
    }

    /// A confirmed account, without a password.
    fn ana(conn: &mut crate::db::DbConn) -> User {
        store::insert(conn, "ana@example.com", store::Email::Confirmed, None, None).expect("user")
    }

    /// An account read as due for removal is removed only if it still is once the
    /// transaction holds it: its owner signing in meanwhile (the deletion cancelled) keeps
    /// it; a deletion asked for after the cutoff is not due.
    #[test]
    fn an_account_is_removed_only_while_still_due() {
        let pool = identity_tables();
        let conn = &mut *pool.get().expect("connection");
        let user = ana(conn);
        store::set_deletion_requested(conn, &user.id, Some(100)).expect("ask");
        let stale = store::find(conn, &user.id).expect("read").expect("user");
        // The owner signs in between the read and the removal.
        store::set_deletion_requested(conn, &user.id, None).expect("cancel");
        assert!(!remove_if_due(conn, &stale, 1_000).expect("remove"));
        assert!(store::find(conn, &user.id).expect("read").is_some());
        store::set_deletion_requested(conn, &user.id, Some(2_000)).expect("ask later");
        assert!(!remove_if_due(conn, &stale, 1_000).expect("remove"));
        store::set_deletion_requested(conn, &user.id, Some(100)).expect("ask again");
        assert!(remove_if_due(conn, &stale, 1_000).expect("remove"));
        assert!(store::find(conn, &user.id).expect("read").is_none());
    }

    /// A reset sets the password only in the sign-in generation its code was sent in: a
    /// reset or end of sign-ins that committed while it hashed ends it.
    #[test]
    fn a_password_is_set_only_in_the_generation_given() {
        let pool = identity_tables();
        let conn = &mut *pool.get().expect("connection");
        let user = ana(conn);
        let hash = |conn: &mut crate::db::DbConn| {
            store::find(conn, &user.id)
                .expect("read")
                .and_then(|u| u.password_hash)
        };
        end_sign_ins(conn, &user.id, None).expect("end");
        assert_eq!(
            store::set_password_in(conn, &user.id, "$argon2id$stale", Some(0)).expect("set"),
            0
        );
        assert_eq!(hash(conn), None);
        assert_eq!(
            store::set_password_in(conn, &user.id, "$argon2id$now", Some(1)).expect("set"),
            1
        );
        assert_eq!(hash(conn).as_deref(), Some("$argon2id$now"));
        assert_eq!(
            store::set_password_in(conn, &user.id, "$argon2id$any", None).expect("set"),
            1
        );
    }

    #[test]
    fn the_longest_password_is_measured_in_bytes_as_sign_in_does() {
        let accented = "é".repeat(600); // 600 characters, 1200 bytes
        let err = check_password_policy(&accented, "a@example.com", 8).unwrap_err();
        assert!(err.contains("at most 1024 bytes"), "{err}");
        let long_ascii = "correct horse battery staple ".repeat(35); // 1015 bytes
        assert!(check_password_policy(&long_ascii, "a@example.com", 8).is_ok());
    }

    #[test]
    fn numbers_become_e164_with_or_without_a_default_region() {
        for (typed, region, e164) in [
            ("+351 912 345 678", None, "+351912345678"),
            ("+44 (0)20 7946 0958", None, "+442079460958"),
            ("912 345 678", Some("PT"), "+351912345678"),
            ("07700 900123", Some("GB"), "+447700900123"),
            ("+1 555 123 4567", Some("PT"), "+15551234567"),
            ("(555) 123-4567", Some("US"), "+15551234567"),
        ] {
            assert_eq!(normalize_phone(typed, region).unwrap(), e164, "{typed}");
        }
        for bad in [
            "912 345 678",
            "+",
            "++351912345678",
            "351+912",
            "+351 91a",
            "",
            "+0123456789",
        ] {
            assert!(normalize_phone(bad, None).is_err(), "{bad}");
        }
        assert!(normalize_phone("912 345 678", Some("ZZ")).is_err());
    }

    #[test]
    fn an_at_sign_makes_an_email_anything_else_a_number() {
        assert_eq!(
            Identifier::parse(" Person@Example.com ", Some("PT")),
            Some(Identifier::Email("person@example.com".into()))
        );
        assert_eq!(
            Identifier::parse("912 345 678", Some("PT")),
            Some(Identifier::Phone("+351912345678".into()))
        );
        assert_eq!(Identifier::parse("912 345 678", None), None);
        assert_eq!(Identifier::parse("someone", None), None);
    }

    proptest::proptest! {
        /// Whatever is typed, parsing ends in a refusal or an E.164 number, never a panic.
        #[test]
        fn any_text_is_a_number_or_refused(input in ".{0,40}", digits in "[0-9 +()-]{0,24}") {
            for text in [input.as_str(), digits.as_str()] {
                for region in [None, Some("PT"), Some("US")] {
                    if let Ok(e164) = normalize_phone(text, region) {
                        proptest::prop_assert!(e164.starts_with('+'));
                        proptest::prop_assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()));
                        proptest::prop_assert!((9..=16).contains(&e164.len()));
                    }
                }
            }
        }
    }
}
