//! One-time codes sent to a person (email today): 6 digits, short-lived, single use, a few
//! tries, bound to the browser that asked, and a cap on how many one address receives. A
//! code that signs in or resets a password works only in the account's sign-in generation
//! it was issued in: ending the person's sign-ins (`accounts::end_sign_ins`) ends the ones
//! sent before.
//! Unknown addresses get a row too (with a code nobody receives), so every answer and
//! every limit is the same whether an account exists or not.

pub mod store;

use rand::Rng;

use crate::accounts;
use crate::config::OtpSettings;
use crate::crypto::{self, MasterKey};
use crate::db::{self, DbError, DbPool};
use crate::notify::{self, NotifyError, Outbox};

/// What issuing and checking codes needs: the pool, the outbox, the code rules, the key
/// that MACs codes, and (for sends a page asks for) the caller's IP, whose sends are capped.
pub struct Codes<'a> {
    pub pool: &'a DbPool,
    pub outbox: &'a Outbox,
    pub rules: &'a OtpSettings,
    pub master: &'a MasterKey,
    pub ip: Option<&'a str>,
    /// The send was already counted (`allow_send`), so issuing does not count it again.
    pub prepaid: bool,
}

impl<'a> Codes<'a> {
    /// The same handle, counting sends against `ip` as well.
    pub fn from_ip(self, ip: &'a str) -> Codes<'a> {
        Codes {
            ip: Some(ip),
            ..self
        }
    }

    /// The same handle, for a send `allow_send` already counted.
    pub fn prepaid(self) -> Codes<'a> {
        Codes {
            prepaid: true,
            ..self
        }
    }
}

/// Counts one send to `identifier` against the caps (per address, per IP when known, in
/// all), each one atomic statement so a burst cannot overshoot; `TooMany` when a cap is
/// spent. `issue` does this itself; a caller that must know before doing costly work
/// (registration hashes a password and stores an account) calls it first and issues
/// with `Codes::prepaid`.
pub async fn allow_send(codes: &Codes<'_>, identifier: &str) -> Result<(), SendError> {
    let s = codes.rules;
    // Per address first (the narrowest), then per IP, then in all. Unknown addresses
    // count the same.
    let mut allowances = vec![(
        format!("send:addr:{}", crypto::hash_secret(identifier)),
        s.otp_window,
        s.otp_max_sends,
    )];
    if let Some(ip) = codes.ip {
        allowances.push((
            format!("send:ip:{ip}"),
            s.otp_window,
            s.otp_max_sends_per_ip,
        ));
    }
    allowances.push(("send:all".into(), 60, s.otp_max_sends_per_minute));
    match crate::throttle::take(codes.pool, allowances).await? {
        Some(_) => Err(SendError::TooMany),
        None => Ok(()),
    }
}

/// What is stored for a code: a MAC under the master key, bound to the challenge. (Codes
/// issued before this was hashed with argon2id; those still verify until they expire.)
fn code_mac(master: &MasterKey, challenge: &str, code: &str) -> String {
    master.mac(&format!("otp:{challenge}"), code)
}

pub use store::CodeRow;

/// What sending a code can come to.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("too many codes were asked for this address; wait a few minutes")]
    TooMany,
    #[error("we could not send the code; try again")]
    Delivery(#[from] NotifyError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl SendError {
    /// What a person is told, in their language.
    pub fn message(&self) -> String {
        use crate::i18n::t;
        match self {
            SendError::TooMany => t("code-too-many"),
            SendError::Delivery(_) | SendError::Db(_) => t("code-not-sent"),
        }
    }
}

/// Why a code was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum CheckError {
    /// Wrong code; tries remain.
    Wrong,
    /// Expired, used, out of tries, unknown, or from another browser.
    Dead,
}

/// A uniformly random 6-digit code.
fn new_code() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

/// What a code is for (stored with it; a code for one purpose never serves another).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignIn,
    VerifyEmail,
    VerifyPhone,
    ChangeEmail,
    ResetPassword,
    /// A code by SMS or email as the second step of a sign-in.
    SecondFactor,
    /// A code by SMS that confirms a new account's mobile number (the account is made only
    /// when it comes back).
    RegisterPhone,
}

/// Where a code goes.
#[derive(Debug, Clone)]
pub enum Channel {
    Email(String),
    Sms(String),
}

impl Purpose {
    /// Whether a code of this purpose dies with an end of the person's sign-ins: the ones
    /// that sign in or reset a password. A phone or new address is confirmed from a
    /// signed-in session, which an end of sign-ins already ends (or, for the person's own
    /// password change, keeps on purpose); a registration's confirmation works only while
    /// the address is unconfirmed, before anything can end the person's sign-ins.
    fn ends_with_sign_ins(self) -> bool {
        matches!(
            self,
            Purpose::SignIn | Purpose::ResetPassword | Purpose::SecondFactor
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::SignIn => "sign_in",
            Purpose::VerifyEmail => "verify_email",
            Purpose::VerifyPhone => "verify_phone",
            Purpose::ChangeEmail => "change_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::SecondFactor => "second_factor",
            Purpose::RegisterPhone => "register_phone",
        }
    }

    /// Finishes the email's "Use it to …".
    fn action(self) -> String {
        match self {
            Purpose::SignIn => crate::i18n::t("purpose-sign-in"),
            Purpose::VerifyEmail => crate::i18n::t("purpose-verify-email"),
            Purpose::VerifyPhone => crate::i18n::t("purpose-verify-phone"),
            Purpose::ChangeEmail => crate::i18n::t("purpose-change-email"),
            Purpose::ResetPassword => crate::i18n::t("purpose-reset-password"),
            Purpose::SecondFactor => crate::i18n::t("purpose-second-factor"),
            Purpose::RegisterPhone => crate::i18n::t("purpose-verify-phone"),
        }
    }
}

/// Issues a code for `identifier` and mails it to `send_to` (when given); returns the
/// challenge id the code entry page carries. Without `send_to` the row still exists (with
/// a code nobody receives), so unknown addresses are answered and limited like known ones.
pub async fn issue(
    codes: &Codes<'_>,
    purpose: Purpose,
    identifier: &str,
    user_id: Option<String>,
    send_to: Option<Channel>,
    browser: String,
) -> Result<String, SendError> {
    issue_with(codes, purpose, identifier, user_id, send_to, browser, None).await
}

/// `issue` with a payload kept on the code row (see `check_with_payload`).
pub async fn issue_with(
    codes: &Codes<'_>,
    purpose: Purpose,
    identifier: &str,
    user_id: Option<String>,
    send_to: Option<Channel>,
    browser: String,
    payload: Option<String>,
) -> Result<String, SendError> {
    let s = codes.rules;
    let now = crate::time::now();
    if !codes.prepaid {
        allow_send(codes, identifier).await?;
    }
    let code = new_code();
    let id = crypto::random_token(18);
    let code_hash = code_mac(codes.master, &id, &code);
    let row = CodeRow {
        id,
        purpose: purpose.as_str().into(),
        identifier: identifier.to_string(),
        user_id,
        code_hash,
        browser,
        tries: 0,
        created_at: now,
        expires_at: now + s.otp_ttl,
        used_at: None,
        payload,
        generation: None,
    };
    let id = row.id.clone();
    db::run_write(codes.pool, move |conn| {
        let mut row = row;
        if purpose.ends_with_sign_ins() {
            row.generation = generation_of(conn, row.user_id.as_deref())?;
        }
        Ok(store::insert(conn, &row)?)
    })
    .await?;
    let minutes = (s.otp_ttl + 59) / 60;
    match send_to {
        Some(Channel::Email(to)) => {
            let email = notify::code_email(&code, &purpose.action(), minutes)?;
            codes.outbox.email(&to, email).await?;
        }
        Some(Channel::Sms(to)) => {
            codes
                .outbox
                .sms(&to, &notify::code_sms(&code, &purpose.action(), minutes))
                .await?;
        }
        None => {}
    }
    Ok(id)
}

/// Sends a sign-in code to `email` if it names a verified account.
pub async fn send_sign_in_code(
    codes: &Codes<'_>,
    email: &str,
    browser: String,
) -> Result<String, SendError> {
    let identifier =
        accounts::normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase());
    let ident = identifier.clone();
    let user = db::run(codes.pool, move |conn| {
        Ok(accounts::store::find_by_email(conn, &ident)?)
    })
    .await?
    .filter(|u| u.email_verified);
    let (user_id, to) = match user {
        Some(u) => (Some(u.id), u.email.map(Channel::Email)),
        None => (None, None),
    };
    issue(
        codes,
        Purpose::SignIn,
        &identifier,
        user_id.map(Into::into),
        to,
        browser,
    )
    .await
}

/// Sends a sign-in code by SMS to `phone` (E.164, as the page normalised it) if an account
/// confirmed that number.
pub async fn send_sign_in_sms(
    codes: &Codes<'_>,
    phone: &str,
    browser: String,
) -> Result<String, SendError> {
    let identifier =
        accounts::normalize_phone(phone, None).unwrap_or_else(|_| phone.trim().to_string());
    let ident = identifier.clone();
    let user = db::run(codes.pool, move |conn| {
        Ok(accounts::store::find_by_phone(conn, &ident)?)
    })
    .await?;
    let (user_id, to) = match user {
        Some(u) => (Some(u.id), Some(Channel::Sms(identifier.clone()))),
        None => (None, None),
    };
    issue(
        codes,
        Purpose::SignIn,
        &identifier,
        user_id.map(Into::into),
        to,
        browser,
    )
    .await
}

/// The sign-in generation of account `user_id` (always one read, found or not, so a code
/// costs the same for an unknown identifier).
fn generation_of(conn: &mut db::DbConn, user_id: Option<&str>) -> diesel::QueryResult<Option<i64>> {
    Ok(accounts::store::find(conn, user_id.unwrap_or(""))?.map(|u| u.sign_in_generation))
}

/// Checks a sign-in code; on success returns the account id and the sign-in generation
/// the code was sent in (see [`check_bound`]).
pub async fn check_sign_in_code(
    codes: &Codes<'_>,
    id: &str,
    browser: &str,
    code: &str,
) -> Result<(String, Option<i64>), CheckError> {
    check_bound(codes, Purpose::SignIn, id, browser, code).await
}

/// [`check`], also returning the person's sign-in generation the code was sent in (none
/// for a code from before codes kept it): what it then does must still hold in that
/// generation, under the row lock of the transaction that does it, or an end of sign-ins
/// that committed after this check would not stop it.
pub async fn check_bound(
    codes: &Codes<'_>,
    purpose: Purpose,
    id: &str,
    browser: &str,
    code: &str,
) -> Result<(String, Option<i64>), CheckError> {
    let checked = check_row(codes, purpose, id, browser, code).await?;
    match checked.user_id {
        Some(user_id) => Ok((user_id, checked.generation)),
        None => Err(CheckError::Wrong),
    }
}

/// Checks a code for challenge `id` and `purpose` from `browser`; on success returns the
/// account id. Each call spends a try first (one statement), so parallel guesses cannot
/// exceed the cap.
pub async fn check(
    codes: &Codes<'_>,
    purpose: Purpose,
    id: &str,
    browser: &str,
    code: &str,
) -> Result<String, CheckError> {
    check_with_payload(codes, purpose, id, browser, code)
        .await
        .map(|(user, _)| user)
}

/// `check`, also returning the payload stored with the code.
pub async fn check_with_payload(
    codes: &Codes<'_>,
    purpose: Purpose,
    id: &str,
    browser: &str,
    code: &str,
) -> Result<(String, Option<String>), CheckError> {
    match check_row(codes, purpose, id, browser, code).await? {
        Checked {
            user_id: Some(user_id),
            payload,
            ..
        } => Ok((user_id, payload)),
        Checked { user_id: None, .. } => Err(CheckError::Wrong),
    }
}

/// Checks a code that confirms a registration by mobile number: no account exists yet, so
/// the code's payload (what the registration chose) is what it proves. A code issued
/// without one (the number already had an account) never confirms anything.
pub async fn check_registration(
    codes: &Codes<'_>,
    id: &str,
    browser: &str,
    code: &str,
) -> Result<String, CheckError> {
    match check_row(codes, Purpose::RegisterPhone, id, browser, code)
        .await?
        .payload
    {
        Some(payload) => Ok(payload),
        None => Err(CheckError::Wrong),
    }
}

/// What a right code came with.
struct Checked {
    user_id: Option<String>,
    payload: Option<String>,
    generation: Option<i64>,
}

/// The checks every code goes through; on a match the code is used up and its account
/// (if any), payload and sign-in generation come back.
async fn check_row(
    codes: &Codes<'_>,
    purpose: Purpose,
    id: &str,
    browser: &str,
    code: &str,
) -> Result<Checked, CheckError> {
    let now = crate::time::now();
    let max = codes.rules.otp_max_tries;
    let (id, browser_hash) = (id.to_string(), browser.to_string());
    let row = db::run_write(codes.pool, move |conn| {
        if store::spend_try(conn, &id, now, max)? == 0 {
            return Ok(None);
        }
        let Some(row) = store::find(conn, &id)? else {
            return Ok(None);
        };
        // A code that signs in or resets dies with an end of the account's sign-ins.
        if purpose.ends_with_sign_ins() {
            let now_in = generation_of(conn, row.user_id.as_deref())?;
            if row
                .generation
                .is_some_and(|sent_in| now_in != Some(sent_in))
            {
                return Ok(None);
            }
        }
        Ok(Some(row))
    })
    .await
    .map_err(|_| CheckError::Dead)?;
    let Some(row) = row else {
        return Err(CheckError::Dead);
    };
    if !crypto::constant_time_eq(&row.browser, &browser_hash) || row.purpose != purpose.as_str() {
        return Err(CheckError::Dead);
    }
    let (code, hash) = (code.trim().to_string(), row.code_hash.clone());
    let valid_shape = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    let matches = valid_shape
        && if hash.starts_with("$argon2") {
            tokio::task::spawn_blocking(move || crypto::verify_password(&code, &hash))
                .await
                .unwrap_or(false)
        } else {
            crypto::constant_time_eq(&code_mac(codes.master, &row.id, &code), &hash)
        };
    if !matches {
        return Err(if row.tries >= max {
            CheckError::Dead
        } else {
            CheckError::Wrong
        });
    }
    if row.user_id.is_none() && row.payload.is_none() {
        // A code for an unknown identifier: it was never sent, and confirms nothing.
        return Err(CheckError::Wrong);
    }
    let id = row.id.clone();
    let used = db::run_write(codes.pool, move |conn| Ok(store::use_up(conn, &id, now)?))
        .await
        .map_err(|_| CheckError::Dead)?;
    if used == 1 {
        Ok(Checked {
            user_id: row.user_id,
            payload: row.payload,
            generation: row.generation,
        })
    } else {
        Err(CheckError::Dead)
    }
}

/// The address a challenge was sent to (for the code entry page), if it is live.
pub async fn challenge_identifier(pool: &DbPool, id: &str) -> Result<Option<String>, DbError> {
    let id = id.to_string();
    let now = crate::time::now();
    db::run(pool, move |conn| {
        Ok(store::find(conn, &id)?
            .filter(|r| r.used_at.is_none() && r.expires_at > now)
            .map(|r| r.identifier))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issuing a code and spending a try on it while another write holds SQLite's lock
    /// wait their turn at the pool's write gate; outside it (busy timeout off) the issue
    /// fails and the check calls a live code dead.
    #[actix_web::test]
    async fn issuing_and_checking_wait_their_turn_behind_a_writer_that_holds_the_lock() {
        let (_dir, pool) = crate::db::impatient_pool();
        let master = MasterKey::parse(&MasterKey::generate()).expect("master key");
        let outbox = Outbox::new(pool.clone(), master.clone());
        let rules = OtpSettings::default();
        let codes = Codes {
            pool: &pool,
            outbox: &outbox,
            rules: &rules,
            master: &master,
            ip: None,
            prepaid: true,
        };
        let holder = crate::db::hold_the_gate(&pool, std::time::Duration::from_millis(300));
        let id = issue(
            &codes,
            Purpose::VerifyEmail,
            "a@example.com",
            None,
            None,
            "browser".into(),
        )
        .await
        .expect("issued in its turn");
        holder.released();
        let holder = crate::db::hold_the_gate(&pool, std::time::Duration::from_millis(300));
        let checked = check(&codes, Purpose::VerifyEmail, &id, "browser", "not a code").await;
        holder.released();
        assert!(matches!(checked, Err(CheckError::Wrong)), "{checked:?}");
    }
}
