//! The `refresh_token` grant: rotation in one write-first transaction, reuse detection, the retry grace.

use super::*;

pub(super) const REFRESH_REUSED: &str = "the refresh token was already used";

/// Ends a refresh transaction: `Refuse` rolls back and answers with an OAuth error.
pub(super) enum Tx {
    Db(diesel::result::Error),
    Refuse(&'static str, &'static str),
}

impl From<diesel::result::Error> for Tx {
    fn from(e: diesel::result::Error) -> Self {
        Tx::Db(e)
    }
}

/// The refresh-token lifetime of `client`: its own, else `refresh_token_ttl`.
fn refresh_ttl(state: &AppState, client: &Client) -> i64 {
    client
        .lifetimes
        .refresh_token_ttl
        .unwrap_or(state.settings.tokens.refresh_token_ttl)
}

pub(super) async fn new_refresh(
    state: &AppState,
    family: &str,
    client: &Client,
    user_id: &str,
    scope: &str,
    auth_time: i64,
    amr: &str,
) -> Result<String, DbError> {
    let token = crypto::random_token(32);
    let now = crate::time::now();
    let row = RefreshRow {
        token_hash: crypto::hash_secret(&token),
        family_id: family.to_string(),
        client_id: client.id.to_string(),
        user_id: user_id.to_string(),
        scope: scope.to_string(),
        auth_time,
        amr: amr.to_string(),
        created_at: now,
        // The grant began moments ago: its absolute lifetime, if shorter, ends this one too.
        expires_at: now
            + match state.settings.tokens.refresh_token_absolute_ttl {
                0 => refresh_ttl(state, client),
                absolute => refresh_ttl(state, client).min(absolute),
            },
        rotated_at: None,
        successor_enc: None,
    };
    db::run_write(&state.pool, move |conn| {
        Ok(store::insert_refresh(conn, &row)?)
    })
    .await?;
    Ok(token)
}

pub(super) async fn refresh_token(
    state: &AppState,
    client: &Client,
    p: &Params,
    origin: &crate::audit::Origin,
) -> Result<TokenResponse, OAuthError> {
    let presented = p
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let hash = crypto::hash_secret(presented);
    let now = crate::time::now();
    let client_id = client.id.clone();
    let successor = crypto::random_token(32);
    let successor_hash = crypto::hash_secret(&successor);
    let ttl = refresh_ttl(state, client);
    let absolute = state.settings.tokens.refresh_token_absolute_ttl;
    let requested: Option<Scopes> = p.get("scope").map(Scopes::parse);
    let wanted = requested.clone();
    let master = state.master.clone();
    let grace = state.settings.tokens.refresh_reuse_grace;
    let sealed_successor = master
        .seal(successor.as_bytes(), &successor_context(&hash))
        .map_err(OAuthError::server_error)?;
    // Rotate, check and insert the successor in one transaction. The write comes first:
    // on SQLite it takes the write lock before anything is read, so concurrent uses of one
    // token queue up instead of failing to upgrade a read snapshot; on PostgreSQL the row
    // lock does the same. A refusal rolls the rotation back; a detected reuse commits the
    // family revocation.
    let outcome = db::run(&state.pool, move |conn| {
        let result = crate::db::transaction::<_, Tx, _>(conn, |conn| {
            // The rotation answers the row it rotated; only a token that was not rotated
            // now (reused, retried or unknown) is read apart.
            let rotated = store::rotate_refresh(conn, &hash, now, &sealed_successor)?;
            let rotated_now = rotated.is_some();
            let Some(row) = (match rotated {
                Some(row) => Some(row),
                None => store::find_refresh(conn, &hash)?,
            }) else {
                return Err(Tx::Refuse("invalid_grant", "the refresh token is invalid"));
            };
            if row.client_id != client_id {
                return Err(Tx::Refuse("invalid_grant", "the refresh token was issued to another client"));
            }
            if let Some(wanted) = &wanted {
                // Narrowing is fine; widening is refused and nothing rotates.
                if !wanted.is_subset_of(&Scopes::parse(&row.scope)) {
                    return Err(Tx::Refuse("invalid_scope", "the requested scope exceeds the original grant"));
                }
            }
            if !rotated_now {
                // The same token again within the grace period, from the same client, while
                // its successor is still unused: a retry (two tabs, a lost response). Answer
                // with the same successor, so there is still one live token in the family.
                if let Some(same) = benign_retry(conn, &master, &row, &hash, now, grace)? {
                    let Some(user) = accounts::store::find(conn, &row.user_id)? else {
                        return Err(Tx::Refuse("invalid_grant", "the account no longer exists"));
                    };
                    if !user.is_active() {
                        return Err(Tx::Refuse("invalid_grant", "the account is disabled"));
                    }
                    return Ok(Ok((row, user, same)));
                }
                // A rotated-out token came back: treat as theft, end the family (RFC 9700 4.14.2).
                store::revoke_family(conn, &row.family_id)?;
                tracing::warn!(client_id = %row.client_id, "refresh token reused; its family is revoked");
                return Ok(Err(("invalid_grant", REFRESH_REUSED)));
            }
            // One read for both family checks. An unknown family counts as revoked.
            let Some((None, family_started)) = store::family_state(conn, &row.family_id)? else {
                return Err(Tx::Refuse("invalid_grant", "the refresh token was revoked"));
            };
            if row.expires_at <= now {
                return Err(Tx::Refuse("invalid_grant", "the refresh token has expired"));
            }
            // However often it rotates, a grant ends `absolute` seconds after its sign-in.
            let ends = match absolute {
                0 => None,
                _ => Some(family_started + absolute),
            };
            if ends.is_some_and(|end| end <= now) {
                return Err(Tx::Refuse("invalid_grant", "the grant has reached its absolute lifetime; sign in again"));
            }
            let Some(user) = accounts::store::find(conn, &row.user_id)? else {
                return Err(Tx::Refuse("invalid_grant", "the account no longer exists"));
            };
            if !user.is_active() {
                return Err(Tx::Refuse("invalid_grant", "the account is disabled"));
            }
            let next = RefreshRow {
                token_hash: successor_hash,
                created_at: now,
                expires_at: ends.map_or(now + ttl, |end| end.min(now + ttl)),
                rotated_at: None,
                successor_enc: None,
                ..row.clone()
            };
            store::insert_refresh(conn, &next)?;
            Ok(Ok((row, user, successor)))
        });
        match result {
            Ok(outcome) => Ok(outcome),
            Err(Tx::Refuse(error, description)) => Ok(Err((error, description))),
            Err(Tx::Db(e)) => Err(e.into()),
        }
    })
    .await?;
    let (row, user, refresh) = match outcome {
        Ok(found) => found,
        Err((error, reason)) => {
            if reason == REFRESH_REUSED {
                crate::audit::record(
                    &state.pool,
                    origin,
                    crate::audit::kind::REFRESH_REUSED,
                    None,
                    Some(client.id.to_string()),
                    String::new(),
                )
                .await;
            }
            return Err(OAuthError::new(error, reason));
        }
    };
    let scopes = requested.unwrap_or_else(|| Scopes::parse(&row.scope));
    let mut response = issue_tokens(
        state,
        PersonGrant {
            user: &user,
            client,
            // OIDC Core 12.2: a refresh answer may leave the id token out; per app.
            with_id_token: client.lifetimes.refresh_id_token,
            scopes: scopes.as_slice(),
            scope: scopes.to_string(),
            family: &row.family_id,
            auth_time: row.auth_time,
            amr: &row.amr,
            nonce: None,
        },
    )
    .await?;
    response.refresh_token = Some(refresh);
    Ok(response)
}

/// Associated data for a sealed successor: bound to the token it succeeds.
pub(super) fn successor_context(predecessor_hash: &str) -> String {
    format!("refresh-successor:{predecessor_hash}")
}

/// The successor to hand out again when `row` (already rotated) comes back within
/// `grace` seconds and that successor is still the family's live, unused token.
pub(super) fn benign_retry(
    conn: &mut crate::db::DbConn,
    master: &crate::crypto::MasterKey,
    row: &RefreshRow,
    hash: &str,
    now: i64,
    grace: i64,
) -> Result<Option<String>, diesel::result::Error> {
    let within = grace > 0 && row.rotated_at.is_some_and(|t| now - t <= grace);
    let Some(sealed) = row.successor_enc.as_deref().filter(|_| within) else {
        return Ok(None);
    };
    let Ok(plain) = master.open(sealed, &successor_context(hash)) else {
        return Ok(None);
    };
    let Ok(successor) = String::from_utf8(plain) else {
        return Ok(None);
    };
    let live = match store::find_refresh(conn, &crypto::hash_secret(&successor))? {
        Some(next) => next.rotated_at.is_none() && next.expires_at > now,
        None => false,
    };
    if !live || store::family_revoked(conn, &row.family_id)? {
        return Ok(None);
    }
    Ok(Some(successor))
}
