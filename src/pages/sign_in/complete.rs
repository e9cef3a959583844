//! The end of a sign-in. After a first factor (a password, a code): a session, or the
//! second factor when TOTP is on. After the second factor: a session. Each is one
//! database call and one transaction: the throttle settled, the account checked (and a
//! parked sign-in ended), the session started, the events recorded and the waiting
//! request marked together, and the events logged once that committed.

use super::*;

/// A right first factor, as the page that checked it hands it on.
pub(super) struct FirstFactor {
    pub user_id: String,
    /// `pwd`, `otp-email` or `otp-sms` (what a parked sign-in remembers).
    pub factor: &'static str,
    /// The throttle's reservation, settled in the same transaction as the sign-in.
    pub attempt: throttle::Attempt,
    /// The password hash the password was checked against: a sign-in whose password
    /// changed while it was being checked does not go through.
    pub password_hash: Option<String>,
    /// The sign-in generation a code was sent in: a code sign-in does not go through
    /// once the person's sign-ins were ended since the code was sent.
    pub code_generation: Option<i64>,
}

/// A sign-in generation a sign-in relies on (see `accounts::end_sign_ins`).
#[derive(Debug, Clone, Copy)]
pub(super) enum Generation {
    /// The one it was parked in for its second factor.
    Parked(i64),
    /// The one its code was sent in.
    Code(i64),
}

/// How a sign-in ended, for the page that checked the first factor.
pub(super) enum Ended {
    /// On to the waiting request (or the account page), or to the second factor.
    Page(HttpResponse),
    /// The password changed while it was being checked: answered as a wrong password,
    /// recorded as a failure, not counted by the throttle.
    PasswordChanged,
}

impl Ended {
    /// The page, for a sign-in that checked no password (so none changed under the check).
    pub(super) fn page(self) -> Result<HttpResponse, PageError> {
        match self {
            Ended::Page(resp) => Ok(resp),
            Ended::PasswordChanged => {
                Err(PageError::BadRequest(crate::i18n::t("error-form-expired")))
            }
        }
    }
}

/// After a first factor: straight to a session, or (with TOTP on, unless this browser is
/// remembered for the person) to the second-factor page. A parked sign-in has no
/// session, so it can never obtain a code or a token.
pub(super) async fn after_first_factor(
    state: &AppState,
    req: &HttpRequest,
    origin: &crate::audit::Origin,
    first: FirstFactor,
    csrf_token: &str,
    request: &str,
    view: Option<&handoff::PendingView>,
) -> Result<Ended, PageError> {
    let FirstFactor {
        user_id,
        factor,
        attempt,
        password_hash,
        code_generation,
    } = first;
    let amr = vec![crate::mfa::first_factor_amr(factor).to_string()];
    let mut writes = SignInWrites::new(state, req, origin, &user_id, amr, request, view);
    let remember = if state.settings.accounts.remember_browser_days > 0 {
        sessions::RememberCookie::of(req, state.secure_cookies())
    } else {
        None
    };
    let browser = crate::crypto::hash_secret(csrf_token);
    let outcome = crate::db::run(&state.pool, move |conn| {
        let result = crate::db::transaction(conn, |conn| {
            // The account first (active, and still the password that was checked), for a
            // session and for a parked sign-in alike.
            let relied = code_generation.map(Generation::Code);
            let user = match writes.check(conn, password_hash.as_deref(), relied)? {
                Ok(user) => user,
                Err(done) => {
                    if matches!(done, Done::PasswordChanged(_) | Done::SignInsEnded(_)) {
                        attempt.settle_undecided(conn)?;
                    } else {
                        attempt.settle_success(conn)?;
                    }
                    return Ok(Next::Done(done));
                }
            };
            if crate::mfa::has_totp(conn, &user_id)? {
                let remembered = match &remember {
                    Some(cookie) => cookie.remembers(conn, &user_id)?,
                    None => false,
                };
                if !remembered {
                    let pending = crate::mfa::park(conn, &user, factor, browser)?;
                    attempt.settle_success(conn)?;
                    return Ok(Next::SecondFactor(pending));
                }
                // A browser the person asked to remember after a second factor: the
                // first is enough.
                writes.remembered(factor);
            }
            let done = writes.write(conn, &user)?;
            attempt.settle_success(conn)?;
            Ok::<_, crate::db::DbError>(Next::Done(done))
        });
        // Rolled back: the attempt, dropped unsettled, gives its reservations back.
        if result.is_ok() {
            attempt.settled();
        }
        result
    })
    .await?;
    match outcome {
        Next::Done(done) => answer(state, done),
        Next::SecondFactor(pending) => {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("pending", &pending)
                .append_pair("request", request)
                .finish();
            Ok(Ended::Page(page::see_other(&format!(
                "/login/totp?{query}"
            ))))
        }
    }
}

/// What follows a first factor's transaction.
enum Next {
    Done(Done),
    /// Parked for the second factor: the parked sign-in's id.
    SecondFactor(String),
}

/// A right second factor, as the page that checked it hands it on.
pub(super) struct SecondFactor {
    /// The parked sign-in it finishes.
    pub parked: crate::mfa::PendingSignIn,
    /// The session's methods (`amr`), both factors.
    pub amr: Vec<String>,
    /// The throttle's reservation, settled in the same transaction as the sign-in.
    pub attempt: throttle::Attempt,
    /// The browser to remember for the person, when they asked.
    pub remember: Option<sessions::Remember>,
}

/// After the second factor, in one database call and one transaction: ends the parked
/// sign-in (once: a second submit finds it gone), checks the account (active, and still
/// in the sign-in generation it was parked in: a password change, a reset or an end of
/// the person's sign-ins since then stops it), remembers the browser if asked, starts
/// the session (a fresh id), records the event and goes on with the request.
pub(super) async fn after_second_factor(
    state: &AppState,
    req: &HttpRequest,
    origin: &crate::audit::Origin,
    second: SecondFactor,
    request: &str,
    view: Option<&handoff::PendingView>,
) -> Result<HttpResponse, PageError> {
    let SecondFactor {
        parked,
        amr,
        attempt,
        remember,
    } = second;
    let writes = SignInWrites::new(state, req, origin, &parked.user_id, amr, request, view);
    let (done, remember) = crate::db::run(&state.pool, move |conn| {
        let result = crate::db::transaction(conn, |conn| {
            if !crate::mfa::finish(conn, &parked.id)? {
                attempt.settle_undecided(conn)?;
                return Ok(Done::Expired);
            }
            let relied = Some(Generation::Parked(parked.generation));
            let user = match writes.check(conn, None, relied)? {
                Ok(user) => user,
                Err(done) => {
                    attempt.settle_undecided(conn)?;
                    return Ok(done);
                }
            };
            if let Some(remember) = &remember {
                remember.write(conn)?;
            }
            let done = writes.write(conn, &user)?;
            attempt.settle_success(conn)?;
            Ok::<_, crate::db::DbError>(done)
        });
        // Rolled back: the attempt, dropped unsettled, gives its reservations back.
        if result.is_ok() {
            attempt.settled();
        }
        result.map(|done| (done, remember))
    })
    .await?;
    let signed_in = matches!(done, Done::SignedIn { .. });
    let mut resp = answer(state, done)?.page()?;
    if let Some(remember) = remember.filter(|_| signed_in) {
        let _ = resp.add_cookie(&remember.cookie());
    }
    Ok(resp)
}

/// The answer once the sign-in's transaction committed: the events it wrote logged, the
/// session cookie set, and on to the waiting request or the account page.
fn answer(state: &AppState, done: Done) -> Result<Ended, PageError> {
    match done {
        Done::Disabled => Err(PageError::Forbidden(crate::i18n::t("login-disabled"))),
        Done::PasswordChanged(event) => {
            failed(&event);
            Ok(Ended::PasswordChanged)
        }
        Done::Expired => Err(PageError::BadRequest(crate::i18n::t("second-expired"))),
        Done::SignInsEnded(event) => {
            failed(&event);
            Err(PageError::BadRequest(crate::i18n::t("second-expired")))
        }
        Done::SignedIn {
            token,
            location,
            events,
        } => {
            events.iter().for_each(audit::log);
            crate::ops::METRICS
                .sign_ins
                .with_label_values(&["success"])
                .inc();
            let mut resp = page::see_other(&location);
            let _ = resp.add_cookie(&sessions::session_cookie(token, state.secure_cookies()));
            Ok(Ended::Page(resp))
        }
    }
}

/// The failure detail of a second step whose sign-in was parked before the person's
/// sign-ins were ended: refused at its submit or inside its transaction alike.
pub(super) const ENDED_WHILE_PARKED: &str = "factor=second the sign-ins were ended while it waited";

/// A sign-in refused before its transaction: counted, and its event recorded.
pub(super) async fn record_failure(
    pool: &crate::db::DbPool,
    origin: &crate::audit::Origin,
    user_id: Option<String>,
    client_id: Option<String>,
    detail: String,
) {
    crate::ops::METRICS
        .sign_ins
        .with_label_values(&["failure"])
        .inc();
    audit::record(
        pool,
        origin,
        kind::SIGN_IN_FAILURE,
        user_id,
        client_id,
        detail,
    )
    .await;
}

/// A sign-in refused inside its transaction, once that committed: its event logged and
/// counted.
fn failed(event: &audit::AuditEvent) {
    audit::log(event);
    crate::ops::METRICS
        .sign_ins
        .with_label_values(&["failure"])
        .inc();
}

/// How the sign-in's writes ended.
#[derive(Debug)]
enum Done {
    /// The account is gone or disabled: nothing written.
    Disabled,
    /// The password changed while it was being checked: only this failure event written.
    PasswordChanged(audit::AuditEvent),
    /// The parked sign-in was already finished, or is gone: nothing written.
    Expired,
    /// The person's sign-ins were ended while this one was parked for its second factor,
    /// or after its code was sent: only this failure event written.
    SignInsEnded(audit::AuditEvent),
    /// Signed in: the session's cookie value, where to go next, and the events written.
    SignedIn {
        token: String,
        location: String,
        events: Vec<audit::AuditEvent>,
    },
}

/// Everything a sign-in writes, made ready (the session's cookie value drawn, the waiting
/// request's mark serialised) before the one database call that writes it.
struct SignInWrites {
    user_id: String,
    origin: crate::audit::Origin,
    client_id: Option<String>,
    /// The session, with its methods (`amr`).
    start: sessions::Start,
    token: String,
    mark: Option<handoff::SignInMark>,
    location: String,
    /// The first factor, when a remembered browser stood in for the second.
    remembered: Option<&'static str>,
}

impl SignInWrites {
    fn new(
        state: &AppState,
        req: &HttpRequest,
        origin: &crate::audit::Origin,
        user_id: &str,
        amr: Vec<String>,
        request: &str,
        view: Option<&handoff::PendingView>,
    ) -> SignInWrites {
        let previous = req
            .cookie(sessions::session_cookie_name(state.secure_cookies()))
            .map(|c| c.value().to_string());
        let (start, token) = sessions::Start::new(
            user_id.to_string(),
            amr,
            state.settings.accounts.session_ttl,
            origin,
            previous,
        );
        let (mark, location) = match view {
            Some(v) => (
                Some(handoff::SignInMark::new(request, start.auth_time(), v)),
                format!("/authorize/resume?request={request}"),
            ),
            None => (None, "/account".to_string()),
        };
        SignInWrites {
            user_id: user_id.to_string(),
            origin: origin.clone(),
            client_id: view.map(|v| v.client_id.clone()),
            start,
            token,
            mark,
            location,
            remembered: None,
        }
    }

    /// A remembered browser stands in for the second factor of this `factor` sign-in.
    fn remembered(&mut self, factor: &'static str) {
        self.start.with_method("mfa");
        self.remembered = Some(factor);
    }

    /// Inside the caller's transaction, [`SignInWrites::check`] and then
    /// [`SignInWrites::write`].
    #[cfg(test)]
    fn apply(
        self,
        conn: &mut crate::db::DbConn,
        password_hash: Option<&str>,
        generation: Option<Generation>,
    ) -> Result<Done, crate::db::DbError> {
        match self.check(conn, password_hash, generation)? {
            Ok(user) => self.write(conn, &user),
            Err(done) => Ok(done),
        }
    }

    fn event(
        &self,
        kind: &'static str,
        client_id: Option<String>,
        detail: String,
    ) -> audit::AuditEvent {
        audit::event(
            &self.origin,
            kind,
            Some(self.user_id.clone()),
            client_id,
            detail,
        )
    }

    /// Inside the caller's transaction: the account must be active and still have what
    /// the sign-in relied on: the `password_hash` its password was checked against, if
    /// any, and the sign-in `generation` it was parked or its code sent in, if any; the
    /// row is held either way, so that no password change or end of the person's sign-ins
    /// can commit before this sign-in does (see `accounts::store::holds`). The account,
    /// or how the sign-in ended (a password that changed, or sign-ins ended since, is
    /// recorded as a failure).
    fn check(
        &self,
        conn: &mut crate::db::DbConn,
        password_hash: Option<&str>,
        generation: Option<Generation>,
    ) -> Result<Result<accounts::User, Done>, crate::db::DbError> {
        let Some(user) = accounts::store::find(conn, &self.user_id)?.filter(|u| u.is_active())
        else {
            return Ok(Err(Done::Disabled));
        };
        let relied = accounts::store::Relied {
            password_hash,
            generation: generation.map(|(Generation::Parked(n) | Generation::Code(n))| n),
        };
        if !accounts::store::holds(conn, &user, relied)? {
            let (detail, done): (_, fn(audit::AuditEvent) -> Done) =
                match (generation, password_hash) {
                    (Some(Generation::Parked(_)), _) => (ENDED_WHILE_PARKED, Done::SignInsEnded),
                    (Some(Generation::Code(_)), _) => (
                        "factor=otp the sign-ins were ended after the code was sent",
                        Done::SignInsEnded,
                    ),
                    (None, Some(_)) => (
                        "factor=pwd the password changed while it was checked",
                        Done::PasswordChanged,
                    ),
                    // Relying on nothing, only a row gone since the read fails to hold.
                    (None, None) => return Ok(Err(Done::Disabled)),
                };
            let failed = self.event(kind::SIGN_IN_FAILURE, self.client_id.clone(), detail.into());
            audit::write(conn, &failed)?;
            return Ok(Err(done(failed)));
        }
        Ok(Ok(user))
    }

    /// Inside the caller's transaction, for `user` (checked): signing in during the grace
    /// period of a deletion asked for keeps the account; then the session, the events and
    /// the waiting request's mark.
    fn write(
        self,
        conn: &mut crate::db::DbConn,
        user: &accounts::User,
    ) -> Result<Done, crate::db::DbError> {
        let mut events = Vec::new();
        if let Some(factor) = self.remembered {
            events.push(self.event(
                kind::SIGN_IN_REMEMBERED,
                self.client_id.clone(),
                format!("factor={factor}"),
            ));
        }
        if user.deletion_requested_at.is_some() {
            accounts::store::set_deletion_requested(conn, &self.user_id, None)?;
            events.push(self.event(
                kind::DELETION_CANCELLED,
                None,
                "signed in during the grace period".into(),
            ));
        }
        events.push(self.event(
            kind::SIGN_IN_SUCCESS,
            self.client_id.clone(),
            format!("factor={}", self.start.amr().replace(' ', "+")),
        ));
        self.start.write(conn)?;
        for e in &events {
            audit::write(conn, e)?;
        }
        if let Some(mark) = self.mark {
            mark.write(conn)?;
        }
        Ok(Done::SignedIn {
            token: self.token,
            location: self.location,
            events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sign-in's writes for `user_id` (a password sign-in that no app asked for).
    fn writes(user_id: &str) -> SignInWrites {
        let origin = audit::Origin {
            ip: "192.0.2.1".into(),
            user_agent: "test".into(),
        };
        let amr = vec!["pwd".to_string()];
        let (start, token) = sessions::Start::new(user_id.into(), amr, 3600, &origin, None);
        SignInWrites {
            user_id: user_id.into(),
            origin,
            client_id: None,
            start,
            token,
            mark: None,
            location: "/account".into(),
            remembered: None,
        }
    }

    /// The person's sessions (their methods) and the events of `kinds` on record.
    fn left(conn: &mut crate::db::DbConn, user_id: &str, kinds: &[&str]) -> (Vec<String>, i64) {
        let now = crate::time::now();
        let sessions = sessions::store::list_for_user(conn, user_id, now).expect("sessions");
        let events = kinds
            .iter()
            .map(|k| audit::store::count(conn, k, 0).expect("events"))
            .sum();
        (sessions.into_iter().map(|s| s.amr).collect(), events)
    }

    fn account(conn: &mut crate::db::DbConn) -> String {
        accounts::store::insert(
            conn,
            "ana@example.com",
            accounts::store::Email::Confirmed,
            None,
            Some("$argon2id$current"),
        )
        .expect("user")
        .id
        .into()
    }

    fn deletion_asked(conn: &mut crate::db::DbConn, id: &str) -> bool {
        let user = accounts::store::find(conn, id)
            .expect("read")
            .expect("user");
        user.deletion_requested_at.is_some()
    }

    fn database() -> crate::db::DbPool {
        crate::db::memory_pool(crate::db::MigrationSets {
            idp: true,
            apis: false,
        })
    }

    /// A password changed while the old one was being checked stops the sign-in: only
    /// the failure is recorded. With the password unchanged, or no password checked (a
    /// code), the session and its event are written.
    #[test]
    fn a_sign_in_goes_through_only_with_the_password_it_checked() {
        let pool = database();
        let conn = &mut *pool.get().expect("connection");
        let id = account(conn);
        let success = [kind::SIGN_IN_SUCCESS];
        let done = writes(&id)
            .apply(conn, Some("$argon2id$before-the-change"), None)
            .expect("apply");
        assert!(matches!(done, Done::PasswordChanged(_)), "{done:?}");
        assert_eq!(left(conn, &id, &success), (vec![], 0));
        assert_eq!(left(conn, &id, &[kind::SIGN_IN_FAILURE]).1, 1);
        let done = writes(&id)
            .apply(conn, Some("$argon2id$current"), None)
            .expect("apply");
        assert!(matches!(done, Done::SignedIn { ref events, .. } if events.len() == 1));
        assert_eq!(left(conn, &id, &success), (vec!["pwd".into()], 1));
        writes(&id).apply(conn, None, None).expect("apply");
        assert_eq!(left(conn, &id, &success).1, 2);
    }

    /// A second factor finishes a parked sign-in only in the sign-in generation it was
    /// parked in: once the person's sign-ins were ended, only the failure is recorded.
    #[test]
    fn a_parked_sign_in_finishes_only_in_its_generation() {
        let pool = database();
        let conn = &mut *pool.get().expect("connection");
        let id = account(conn);
        accounts::end_sign_ins(conn, &id, None).expect("end");
        let done = writes(&id)
            .apply(conn, None, Some(Generation::Parked(0)))
            .expect("apply");
        assert!(matches!(done, Done::SignInsEnded(_)), "{done:?}");
        assert_eq!(left(conn, &id, &[kind::SIGN_IN_SUCCESS]), (vec![], 0));
        assert_eq!(left(conn, &id, &[kind::SIGN_IN_FAILURE]).1, 1);
        let done = writes(&id)
            .apply(conn, None, Some(Generation::Parked(1)))
            .expect("apply");
        assert!(matches!(done, Done::SignedIn { .. }), "{done:?}");
        assert_eq!(left(conn, &id, &[kind::SIGN_IN_SUCCESS]).1, 1);
    }

    /// A code sign-in finishes only in the generation its code was sent in: an end of
    /// sign-ins after the code was checked stops it, and is recorded as such.
    #[test]
    fn a_code_sign_in_finishes_only_in_the_generation_its_code_was_sent_in() {
        let pool = database();
        let conn = &mut *pool.get().expect("connection");
        let id = account(conn);
        accounts::end_sign_ins(conn, &id, None).expect("end");
        let done = writes(&id)
            .apply(conn, None, Some(Generation::Code(0)))
            .expect("apply");
        let Done::SignInsEnded(event) = done else {
            panic!("{done:?}")
        };
        assert!(
            event.detail.contains("after the code was sent"),
            "{event:?}"
        );
        assert_eq!(left(conn, &id, &[kind::SIGN_IN_SUCCESS]), (vec![], 0));
        let done = writes(&id)
            .apply(conn, None, Some(Generation::Code(1)))
            .expect("apply");
        assert!(matches!(done, Done::SignedIn { .. }), "{done:?}");
    }

    /// Everything is written inside the caller's transaction: when it rolls back, no
    /// session, event or kept account is left.
    #[test]
    fn a_sign_in_that_rolls_back_leaves_nothing() {
        let pool = database();
        let conn = &mut *pool.get().expect("connection");
        let id = account(conn);
        accounts::store::set_deletion_requested(conn, &id, Some(1)).expect("deletion");
        let rolled_back = crate::db::transaction(conn, |conn| {
            writes(&id).apply(conn, Some("$argon2id$current"), None)?;
            Err::<(), crate::db::DbError>(diesel::result::Error::RollbackTransaction.into())
        });
        assert!(rolled_back.is_err());
        let all = [kind::SIGN_IN_SUCCESS, kind::DELETION_CANCELLED];
        assert_eq!(left(conn, &id, &all), (vec![], 0));
        assert!(deletion_asked(conn, &id));
    }

    /// A disabled account gets nothing; signing in during a deletion's grace period keeps
    /// the account (and says so); a remembered browser stands in for the second factor.
    #[test]
    fn disabled_kept_and_remembered_sign_ins() {
        let pool = database();
        let conn = &mut *pool.get().expect("connection");
        let id = account(conn);
        accounts::store::set_disabled(conn, &id, Some(1)).expect("disable");
        let done = writes(&id).apply(conn, None, None).expect("apply");
        assert!(matches!(done, Done::Disabled), "{done:?}");
        assert_eq!(left(conn, &id, &[kind::SIGN_IN_SUCCESS]), (vec![], 0));
        accounts::store::set_disabled(conn, &id, None).expect("enable");
        accounts::store::set_deletion_requested(conn, &id, Some(1)).expect("deletion");
        let mut remembered = writes(&id);
        remembered.remembered("pwd");
        let Done::SignedIn { events, .. } = remembered.apply(conn, None, None).expect("apply")
        else {
            panic!("not signed in")
        };
        let all = [
            kind::SIGN_IN_REMEMBERED,
            kind::DELETION_CANCELLED,
            kind::SIGN_IN_SUCCESS,
        ];
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, all);
        assert_eq!(events[2].detail, "factor=pwd+mfa");
        assert!(!deletion_asked(conn, &id));
        assert_eq!(left(conn, &id, &all), (vec!["pwd mfa".into()], 3));
    }
}
