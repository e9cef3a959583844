//! Second factors: TOTP (RFC 6238) with a QR code for enrolment, single-use recovery
//! codes, and the half-finished sign-in that waits for them.

pub mod store;

use totp_rs::{Algorithm, Secret, TOTP};

use crate::accounts::User;
use crate::crypto::{self, MasterKey, ResealError, Resealer};
use crate::db::{self, DbConn, DbError, DbPool};

/// What second factors need: the pool, and the master key that seals TOTP secrets.
pub struct Factors<'a> {
    pub pool: &'a DbPool,
    pub master: &'a MasterKey,
}

pub use store::PendingSignIn;

/// Seconds a half-finished sign-in waits for its second factor.
pub const PENDING_TTL: i64 = 300;
/// Tries a half-finished sign-in allows.
pub const PENDING_TRIES: i64 = 5;
/// How many recovery codes a person gets.
pub const RECOVERY_CODES: usize = 10;

/// What enrolment shows once: the secret as text and as a QR code.
pub struct Enrolment {
    pub secret_base32: String,
    pub qr_png_base64: String,
}

/// Why a TOTP operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("an authenticator app is already set up")]
    AlreadyEnabled,
    #[error("start the set-up again")]
    NoEnrolment,
    #[error("that code is not right")]
    WrongCode,
    #[error("TOTP: {0}")]
    Totp(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl MfaError {
    /// What a person is told, in their language.
    pub fn message(&self) -> String {
        use crate::i18n::t;
        match self {
            MfaError::AlreadyEnabled => t("problem-totp-already"),
            MfaError::NoEnrolment => t("problem-totp-restart"),
            MfaError::WrongCode => t("problem-totp-wrong"),
            MfaError::Totp(_) | MfaError::Db(_) => t("error-internal-message"),
        }
    }
}

fn context(user_id: &str) -> String {
    format!("totp:{user_id}")
}

fn totp(secret: Vec<u8>, account: &str) -> Result<TOTP, MfaError> {
    // SHA-1, 6 digits, 30 s: what every authenticator app understands; ±1 step of skew.
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        Some("Porta".into()),
        account.to_string(),
    )
    .map_err(|e| MfaError::Totp(e.to_string()))
}

/// The 30-second step (within ±1 of now) whose code is `code`, if any.
fn matching_step(t: &TOTP, code: &str, now: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now / 30;
    (current - 1..=current + 1)
        .find(|step| crypto::constant_time_eq(&t.generate((*step * 30) as u64), code))
}

/// True when `user_id` has TOTP switched on.
pub async fn enabled(factors: &Factors<'_>, user_id: &str) -> Result<bool, DbError> {
    let id = user_id.to_string();
    db::run(factors.pool, move |conn| {
        Ok(store::totp(conn, &id)?.is_some_and(|t| t.enabled_at.is_some()))
    })
    .await
}

/// True when `user_id` has TOTP switched on (inside the caller's connection).
pub fn has_totp(conn: &mut DbConn, user_id: &str) -> diesel::QueryResult<bool> {
    Ok(store::totp(conn, user_id)?.is_some_and(|t| t.enabled_at.is_some()))
}

/// Removes every second factor of `user_id` (an administrator's reset); true when TOTP
/// was on.
pub fn remove_all(conn: &mut DbConn, user_id: &str) -> diesel::QueryResult<bool> {
    let had = has_totp(conn, user_id)?;
    store::delete_totp(conn, user_id)?;
    // A browser remembered for the old factor would skip whichever comes next.
    crate::sessions::store::forget_browsers(conn, user_id)?;
    Ok(had)
}

/// Starts enrolment: a new secret, stored sealed and not yet enabled.
pub async fn begin(factors: &Factors<'_>, user: &User) -> Result<Enrolment, MfaError> {
    if enabled(factors, &user.id).await? {
        return Err(MfaError::AlreadyEnabled);
    }
    let secret = Secret::generate_secret()
        .to_bytes()
        .map_err(|e| MfaError::Totp(e.to_string()))?;
    let t = totp(secret.clone(), &user.label())?;
    let qr_png_base64 = t.get_qr_base64().map_err(MfaError::Totp)?;
    let secret_base32 = match Secret::Raw(secret.clone()).to_encoded() {
        Secret::Encoded(s) => s,
        Secret::Raw(_) => return Err(MfaError::Totp("cannot encode the secret".into())),
    };
    let row = store::TotpRow {
        user_id: user.id.clone().into(),
        secret_enc: factors
            .master
            .seal(&secret, &context(&user.id))
            .map_err(MfaError::Totp)?,
        enabled_at: None,
        last_step: 0,
        created_at: crate::time::now(),
    };
    db::run(factors.pool, move |conn| {
        Ok(store::put_pending_totp(conn, &row)?)
    })
    .await?;
    Ok(Enrolment {
        secret_base32,
        qr_png_base64,
    })
}

async fn load(
    factors: &Factors<'_>,
    user: &User,
) -> Result<Option<(store::TotpRow, TOTP)>, MfaError> {
    let id = user.id.clone();
    let Some(row) = db::run(factors.pool, move |conn| Ok(store::totp(conn, &id)?)).await? else {
        return Ok(None);
    };
    let secret = open(factors.master, &row)?;
    Ok(Some((row, totp(secret, &user.label())?)))
}

fn open(master: &MasterKey, row: &store::TotpRow) -> Result<Vec<u8>, MfaError> {
    master
        .open(&row.secret_enc, &context(&row.user_id))
        .map_err(MfaError::Totp)
}

/// Finishes enrolment with a correct code; returns the recovery codes (shown once).
pub async fn confirm(
    factors: &Factors<'_>,
    user: &User,
    code: &str,
) -> Result<Vec<String>, MfaError> {
    let Some((row, t)) = load(factors, user).await? else {
        return Err(MfaError::NoEnrolment);
    };
    if row.enabled_at.is_some() {
        return Err(MfaError::AlreadyEnabled);
    }
    let step = matching_step(&t, code, crate::time::now()).ok_or(MfaError::WrongCode)?;
    let (id, sealed) = (user.id.clone(), row.secret_enc.clone());
    let enabled = db::run_write(factors.pool, move |conn| {
        Ok(store::enable_totp(
            conn,
            &id,
            &sealed,
            crate::time::now(),
            step,
        )?)
    })
    .await?;
    if enabled == 0 {
        return Err(MfaError::NoEnrolment);
    }
    Ok(new_recovery_codes(factors, &user.id).await?)
}

/// Letters and digits that cannot be mistaken for one another (no l, o, 0, 1): 32 of them,
/// so each carries 5 bits.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// One recovery code: 16 symbols (80 bits) from the OS random source, in groups of four
/// (`abcd-efgh-jkmn-pqrs`); stored as SHA-256, which is enough at 80 bits.
fn recovery_code() -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    let symbols: Vec<char> = (0..16)
        .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..32)] as char)
        .collect();
    symbols
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Replaces the recovery codes; returns the new ones (shown once).
pub async fn new_recovery_codes(
    factors: &Factors<'_>,
    user_id: &str,
) -> Result<Vec<String>, DbError> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let hashes: Vec<String> = codes.iter().map(|c| crypto::hash_secret(c)).collect();
    let id = user_id.to_string();
    db::run(factors.pool, move |conn| {
        Ok(store::replace_recovery_codes(conn, &id, &hashes)?)
    })
    .await?;
    Ok(codes)
}

/// Switches TOTP off and deletes the recovery codes.
pub async fn disable(factors: &Factors<'_>, user_id: &str) -> Result<(), DbError> {
    let id = user_id.to_string();
    db::run_write(factors.pool, move |conn| {
        store::delete_totp(conn, &id)?;
        crate::sessions::store::forget_browsers(conn, &id)?;
        Ok(())
    })
    .await
}

/// Re-seals every TOTP secret under the new master key (one step of `porta keys rewrap`,
/// inside the caller's transaction). Returns how many were re-sealed.
pub fn reseal_all(conn: &mut DbConn, resealer: &Resealer) -> Result<usize, ResealError> {
    let mut n = 0;
    for (user_id, secret) in store::all_sealed(conn)? {
        let sealed = resealer.reseal(&secret, &context(&user_id))?;
        store::set_sealed(conn, &user_id, &sealed)?;
        n += 1;
    }
    Ok(n)
}

/// Checks a second factor: a TOTP code (each accepted once) or a recovery code (single
/// use). Returns which one it was.
pub async fn verify(
    factors: &Factors<'_>,
    user: &User,
    code: &str,
) -> Result<&'static str, MfaError> {
    let Some((row, t)) = load(factors, user).await? else {
        return Err(MfaError::NoEnrolment);
    };
    if row.enabled_at.is_none() {
        return Err(MfaError::NoEnrolment);
    }
    let now = crate::time::now();
    if let Some(step) = matching_step(&t, code, now) {
        let id = user.id.clone();
        // Replay defence: the step must be newer than any used before.
        let fresh = db::run_write(factors.pool, move |conn| {
            Ok(store::use_step(conn, &id, step)?)
        })
        .await?;
        return if fresh == 1 {
            Ok("totp")
        } else {
            Err(MfaError::WrongCode)
        };
    }
    let hash = crypto::hash_secret(code.trim().to_lowercase().as_str());
    let id = user.id.clone();
    let used = db::run_write(factors.pool, move |conn| {
        Ok(store::use_recovery_code(conn, &id, &hash, now)?)
    })
    .await?;
    if used == 1 {
        Ok("recovery_code")
    } else {
        Err(MfaError::WrongCode)
    }
}

/// Parks a sign-in of `user` whose first factor (`pwd`, `otp`) is done, inside the
/// caller's database call and transaction (the one that checked the first factor's
/// account, `user` as it read it); returns its id. It finishes only in the person's
/// current sign-in generation ([`finish`]).
pub fn park(
    conn: &mut DbConn,
    user: &User,
    first_factor: &str,
    browser: String,
) -> diesel::QueryResult<String> {
    let row = PendingSignIn {
        id: crypto::random_token(18),
        user_id: user.id.to_string(),
        first_factor: first_factor.to_string(),
        browser,
        tries: 0,
        expires_at: crate::time::now() + PENDING_TTL,
        generation: user.sign_in_generation,
    };
    store::insert_pending(conn, &row)?;
    Ok(row.id)
}

/// A parked sign-in looked up by id for a browser.
#[derive(Debug)]
pub enum Parked {
    /// It lives, it is this browser's, and it can still finish: it and its person.
    Live(Box<(PendingSignIn, User)>),
    /// The person's sign-ins were ended since it was parked (a newer sign-in generation):
    /// it cannot finish.
    Ended(PendingSignIn),
    /// No such live sign-in of this browser (or its account is gone).
    Gone,
}

impl Parked {
    /// The sign-in and its person while it can still finish.
    pub fn live(self) -> Option<(PendingSignIn, User)> {
        match self {
            Parked::Live(found) => Some(*found),
            Parked::Ended(..) | Parked::Gone => None,
        }
    }
}

/// What a found parked sign-in is for `browser`: live, ended (the person's sign-ins were
/// ended since it was parked), or gone (not found, another browser's, or no account).
fn live(
    conn: &mut DbConn,
    found: Option<PendingSignIn>,
    browser: &str,
) -> diesel::QueryResult<Parked> {
    let Some(parked) = found.filter(|p| crypto::constant_time_eq(&p.browser, browser)) else {
        return Ok(Parked::Gone);
    };
    Ok(match crate::accounts::store::find(conn, &parked.user_id)? {
        Some(user) if user.sign_in_generation == parked.generation => {
            Parked::Live(Box::new((parked, user)))
        }
        Some(_) => Parked::Ended(parked),
        None => Parked::Gone,
    })
}

/// The parked sign-in `id` of this `browser` and its person, while it can still finish
/// (no try spent).
pub async fn parked(
    factors: &Factors<'_>,
    id: &str,
    browser: &str,
) -> Result<Option<(PendingSignIn, User)>, DbError> {
    let (id, browser) = (id.to_string(), browser.to_string());
    let now = crate::time::now();
    db::run(factors.pool, move |conn| {
        let found = store::find_pending(conn, &id, now)?;
        Ok(live(conn, found, &browser)?.live())
    })
    .await
}

/// The `amr` value of a parked first factor: a code sign-in is parked as `otp-email` or
/// `otp-sms` (so the second step can offer the other channel) and shows as `otp`.
pub fn first_factor_amr(first_factor: &str) -> &str {
    first_factor.split('-').next().unwrap_or(first_factor)
}

/// Spends a try on the parked sign-in `id` of this `browser`: what it is then (live,
/// ended by an end of the person's sign-ins, or gone: dead, foreign or out of tries).
pub async fn take_try(factors: &Factors<'_>, id: &str, browser: &str) -> Result<Parked, DbError> {
    let (id, browser) = (id.to_string(), browser.to_string());
    let now = crate::time::now();
    db::run_write(factors.pool, move |conn| {
        let found = store::spend_pending_try(conn, &id, now, PENDING_TRIES)?;
        Ok(live(conn, found, &browser)?)
    })
    .await
}

/// Ends parked sign-in `id` inside the caller's database call and transaction (the one
/// that starts its session); true when this call ended it, so one second factor makes one
/// session. The caller checks the account with `accounts::store::holds`, relying on the
/// parked sign-in's `generation`: a sign-in parked before the person's sign-ins were
/// ended does not finish.
pub fn finish(conn: &mut DbConn, id: &str) -> diesel::QueryResult<bool> {
    Ok(store::finish_pending(conn, id)? == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_carry_80_bits_in_four_groups() {
        let codes: Vec<String> = (0..50).map(|_| recovery_code()).collect();
        for code in &codes {
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.len(), 4, "{code}");
            assert!(groups.iter().all(|g| g.len() == 4), "{code}");
            assert!(code
                .bytes()
                .filter(|b| *b != b'-')
                .all(|b| RECOVERY_ALPHABET.contains(&b)));
        }
        let distinct: std::collections::HashSet<&String> = codes.iter().collect();
        assert_eq!(distinct.len(), codes.len());
        assert_eq!(RECOVERY_ALPHABET.len(), 32); // 16 symbols × 5 bits = 80 bits
    }

    #[test]
    fn codes_match_within_one_step_of_skew_only() {
        let t = totp(vec![7u8; 20], "a@example.com").unwrap();
        let now = 1_800_000_000;
        let step = now / 30;
        for offset in [-1, 0, 1] {
            let code = t.generate(((step + offset) * 30) as u64);
            assert_eq!(matching_step(&t, &code, now), Some(step + offset));
        }
        let far = t.generate(((step + 3) * 30) as u64);
        assert_eq!(matching_step(&t, &far, now), None);
        assert_eq!(matching_step(&t, "12345", now), None);
    }

    /// A try spent on a parked sign-in, and turning the second factor off, while another
    /// write holds SQLite's lock, each wait their turn at the pool's write gate; outside it
    /// (busy timeout off) the second-factor page and the account page would fail.
    #[actix_web::test]
    async fn its_writes_wait_their_turn_behind_a_writer_that_holds_the_lock() {
        let (_dir, pool) = crate::db::impatient_pool();
        let master = MasterKey::parse(&MasterKey::generate()).expect("master key");
        let factors = Factors {
            pool: &pool,
            master: &master,
        };
        let holder = crate::db::hold_the_gate(&pool, std::time::Duration::from_millis(300));
        let parked = take_try(&factors, "no such sign-in", "browser").await;
        holder.released();
        assert!(matches!(parked, Ok(Parked::Gone)), "{parked:?}");

        let holder = crate::db::hold_the_gate(&pool, std::time::Duration::from_millis(300));
        let off = disable(&factors, "someone").await;
        holder.released();
        assert!(off.is_ok(), "{off:?}");
    }
}
