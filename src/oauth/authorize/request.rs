//! The authorization request: its parameters parsed and validated (RFC 6749 4.1.1, OIDC Core 3.1.2.1, PKCE); errors before the client and redirect URI are proven are pages, after it redirects.

use super::*;

/// A validated authorization request, kept while the person signs in and consents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The PKCE challenge as oxide-auth encodes it.
    pub pkce: Option<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub id_token_hint_sub: Option<String>,
    pub login_hint: Option<String>,
    /// `ui_locales`: the languages the app would like the pages in, most wanted first.
    #[serde(default)]
    pub ui_locales: Vec<String>,
    /// Hash of the browser's CSRF cookie: the request only goes on in that browser.
    pub browser: String,
    /// Whether the request carried `redirect_uri` (then the token request must repeat it).
    #[serde(default)]
    pub redirect_uri_sent: bool,
    /// Set when the person signed in for this request (satisfies `prompt=login`).
    pub signed_in_at: Option<i64>,
    /// `acr_values` asked for two factors only: a one-factor session must sign in again.
    #[serde(default)]
    pub require_mfa: bool,
}

impl AuthRequest {
    pub(super) fn has_prompt(&self, p: &str) -> bool {
        self.prompt.iter().any(|x| x == p)
    }
}

/// The bits of a request needed to answer the client.
pub(super) struct AuthRequestRef<'a> {
    pub(super) redirect_uri: &'a str,
    pub(super) state: Option<&'a str>,
}

/// The longest `state` accepted, in bytes: a client's own anti-CSRF value and a little
/// context fit easily; a request is stored while the person signs in, so it is capped.
pub(super) const MAX_STATE: usize = 1024;

pub(super) const KNOWN_PROMPTS: &[&str] = &["none", "login", "consent", "select_account"];

/// A POSTed authorization request (OIDC Core 3.1.2.1) becomes the same request as a GET:
/// a cross-site POST arrives without the SameSite=Lax session cookie, the GET brings it.
pub(super) fn post_to_get(req: &HttpRequest, body: &[u8]) -> Result<HttpResponse, PageError> {
    if !crate::web::is_form(req) {
        return Err(PageError::BadRequest(crate::i18n::t(
            "error-authorize-form",
        )));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| PageError::BadRequest(crate::i18n::t("error-authorize-invalid")))?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Ok(page::see_other(&format!("/authorize?{query}")))
}

pub(super) async fn validate(
    state: &AppState,
    mut p: Params,
    repeated: &[String],
    browser: String,
) -> Result<AuthRequest, Refusal> {
    let page = |m: String| Refusal::Page(PageError::BadRequest(m));
    let client_id = p
        .take("client_id")
        .ok_or_else(|| page(crate::i18n::t("error-authorize-no-client")))?;
    let client = state
        .client(client_id)
        .await?
        .ok_or_else(|| page(crate::i18n::t("error-authorize-unknown-client")))?;
    let requested_redirect = p.take("redirect_uri");
    let scope_text = p.take("scope").unwrap_or_default();
    let openid = Scopes::parse(&scope_text).contains("openid");
    if requested_redirect.is_none() && openid {
        return Err(page(crate::i18n::t("error-authorize-no-redirect")));
    }
    let redirect_uri = registrar::bind_redirect(&client, requested_redirect.as_deref())
        .ok_or_else(|| page(crate::i18n::t("error-authorize-bad-redirect")))?;
    let st = p.take("state");
    if st.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
        // Not sent back (it would ride along on the redirect) nor stored.
        return Err(page(crate::i18n::t("error-authorize-long-state")));
    }
    let r = AuthRequestRef {
        redirect_uri: &redirect_uri,
        state: st.as_deref(),
    };
    let fail = |error: &str, description: &str| {
        Refusal::Client(error_redirect(state, &r, error, description))
    };

    if !repeated.is_empty() {
        return Err(fail("invalid_request", "a parameter is repeated"));
    }
    let refuse = |(error, description): Refused| fail(error, description);
    response_type(p.get("response_type")).map_err(refuse)?;
    response_mode(p.get("response_mode")).map_err(refuse)?;
    unsupported_extensions(&p).map_err(refuse)?;
    if !client.allows_grant("authorization_code") {
        return Err(fail(
            "unauthorized_client",
            "this client may not use the authorization code grant",
        ));
    }
    let scopes = grant_scopes(&client, &redirect_uri, &scope_text).ok_or_else(|| {
        fail(
            "invalid_scope",
            "the requested scope is missing, malformed or not allowed for this client",
        )
    })?;
    let pkce = pkce_challenge(
        &client,
        p.get("code_challenge"),
        p.get("code_challenge_method"),
    )
    .map_err(|d| fail("invalid_request", d))?;
    let nonce = nonce(p.take("nonce")).map_err(refuse)?;
    let prompt = prompt(p.get("prompt")).map_err(refuse)?;
    let max_age = max_age(p.get("max_age")).map_err(refuse)?;
    let require_mfa = requires_mfa(p.get("acr_values"));
    let id_token_hint_sub = match p.get("id_token_hint") {
        None => None,
        Some(hint) => Some(hint_subject(state, hint).ok_or_else(|| {
            fail(
                "invalid_request",
                "id_token_hint is not an id token issued by Porta",
            )
        })?),
    };
    Ok(AuthRequest {
        client_id: client.id.to_string(),
        redirect_uri: redirect_uri.clone(),
        scopes,
        state: st.clone(),
        nonce,
        pkce,
        prompt,
        max_age,
        id_token_hint_sub,
        login_hint: p.take("login_hint").filter(|h| h.len() <= 254),
        // At most a few short tags: it is stored with the request.
        ui_locales: p
            .take("ui_locales")
            .map(|v| {
                v.split(' ')
                    .filter(|t| !t.is_empty() && t.len() <= 35)
                    .take(8)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        browser,
        redirect_uri_sent: requested_redirect.is_some(),
        signed_in_at: None,
        require_mfa,
    })
}

/// Why one parameter is refused: the error code and its description.
pub(super) type Refused = (&'static str, &'static str);

/// `response_type`: required, and `code` only.
pub(super) fn response_type(value: Option<&str>) -> Result<(), Refused> {
    match value {
        None => Err(("invalid_request", "response_type is required")),
        Some("code") => Ok(()),
        Some(_) => Err((
            "unsupported_response_type",
            "only response_type=code is supported",
        )),
    }
}

/// `response_mode`: absent, or `query`.
pub(super) fn response_mode(value: Option<&str>) -> Result<(), Refused> {
    match value {
        Some(m) if m != "query" => {
            Err(("invalid_request", "only response_mode=query is supported"))
        }
        _ => Ok(()),
    }
}

/// Request objects, `request_uri` and dynamic `registration` are not supported (OIDC
/// Core 6.1, 6.2, 7.2.1): each has its own error code.
pub(super) fn unsupported_extensions(p: &Params) -> Result<(), Refused> {
    if p.get("request").is_some() {
        return Err(("request_not_supported", "request objects are not supported"));
    }
    if p.get("request_uri").is_some() {
        return Err(("request_uri_not_supported", "request_uri is not supported"));
    }
    if p.get("registration").is_some() {
        return Err((
            "registration_not_supported",
            "registration is not supported",
        ));
    }
    Ok(())
}

/// `nonce`: at most 512 bytes.
pub(super) fn nonce(value: Option<String>) -> Result<Option<String>, Refused> {
    match value {
        Some(n) if n.len() > 512 => Err(("invalid_request", "nonce is too long")),
        other => Ok(other),
    }
}

/// `prompt`: known values only, and `none` alone.
pub(super) fn prompt(value: Option<&str>) -> Result<Vec<String>, Refused> {
    let prompt: Vec<String> = value
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if prompt.iter().any(|x| !KNOWN_PROMPTS.contains(&x.as_str())) {
        return Err(("invalid_request", "unknown prompt value"));
    }
    if prompt.iter().any(|x| x == "none") && prompt.len() > 1 {
        return Err((
            "invalid_request",
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

/// `max_age`: a non-negative whole number of seconds.
pub(super) fn max_age(value: Option<&str>) -> Result<Option<i64>, Refused> {
    match value {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or(("invalid_request", "max_age must be a non-negative integer")),
    }
}

/// `acr_values` lists acceptable levels, best first; asking for nothing below two factors
/// makes a one-factor session sign in again (OIDC Core 3.1.2.1).
pub(super) fn requires_mfa(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        let values: Vec<&str> = v.split(' ').filter(|x| !x.is_empty()).collect();
        values.contains(&crate::tokens::ACR_MFA) && !values.contains(&crate::tokens::ACR_1FA)
    })
}

/// Scopes the client asked for that it is registered for; unknown values are dropped
/// (OIDC Core 3.1.2.1), but nothing left at all is `invalid_scope`.
pub(super) fn grant_scopes(
    client: &Client,
    redirect_uri: &str,
    scope: &str,
) -> Option<Vec<String>> {
    let wanted: Scopes = Scopes::parse(scope)
        .into_vec()
        .into_iter()
        .filter(|s| client.allows_scope(s))
        .collect();
    if wanted.is_empty() {
        return None;
    }
    registrar::negotiate_scope(client, redirect_uri, &wanted.to_string())?;
    Some(wanted.into_vec())
}

/// RFC 7636: S256 only; required for public clients; checked for everyone who sends one.
pub(super) fn pkce_challenge(
    client: &Client,
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<String>, &'static str> {
    let Some(challenge) = challenge else {
        if method.is_some() {
            return Err("code_challenge_method without code_challenge");
        }
        if client.is_public() {
            return Err("PKCE is required: send code_challenge with code_challenge_method=S256");
        }
        return Ok(None);
    };
    if method != Some("S256") {
        return Err("code_challenge_method must be S256 (plain is not accepted)");
    }
    // A S256 challenge is the base64url of 32 bytes: exactly 43 characters.
    let valid = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err("code_challenge is not a valid S256 challenge");
    }
    let value = Pkce::required()
        .challenge(Some(Cow::Borrowed("S256")), Some(Cow::Borrowed(challenge)))
        .map_err(|_| "code_challenge is not valid")?
        .ok_or("code_challenge is not valid")?;
    value
        .into_private_value()
        .ok()
        .flatten()
        .map(Some)
        .ok_or("code_challenge is not valid")
}

/// The subject of an id token Porta signed (expired ones are fine as hints).
pub(super) fn hint_subject(state: &AppState, hint: &str) -> Option<String> {
    let (_, claims) = state.keys.current().verify(hint)?;
    if claims.get("iss")?.as_str()? != state.settings.server.issuer {
        return None;
    }
    claims.get("sub")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_parameter_has_its_own_parser() {
        assert_eq!(response_type(Some("code")), Ok(()));
        assert_eq!(response_type(None).unwrap_err().0, "invalid_request");
        assert_eq!(
            response_type(Some("token")).unwrap_err().0,
            "unsupported_response_type"
        );
        assert_eq!(response_mode(None), Ok(()));
        assert_eq!(response_mode(Some("query")), Ok(()));
        assert!(response_mode(Some("fragment")).is_err());
        assert_eq!(nonce(Some("n".repeat(512))).unwrap().unwrap().len(), 512);
        assert!(nonce(Some("n".repeat(513))).is_err());
        assert_eq!(
            prompt(Some("login  consent")).unwrap(),
            ["login", "consent"]
        );
        assert!(prompt(Some("none login")).is_err());
        assert!(prompt(Some("sideways")).is_err());
        assert_eq!(max_age(Some("0")), Ok(Some(0)));
        assert!(max_age(Some("-1")).is_err());
        assert!(max_age(Some("1.5")).is_err());
        assert!(requires_mfa(Some(crate::tokens::ACR_MFA)));
        assert!(!requires_mfa(Some(&format!(
            "{} {}",
            crate::tokens::ACR_MFA,
            crate::tokens::ACR_1FA
        ))));
        assert!(!requires_mfa(None));
    }

    #[test]
    fn extensions_are_refused_with_their_own_codes() {
        let parse = |q: &str| Params::parse(q.as_bytes()).unwrap();
        assert_eq!(unsupported_extensions(&parse("a=b")), Ok(()));
        assert_eq!(
            unsupported_extensions(&parse("request=x")).unwrap_err().0,
            "request_not_supported"
        );
        assert_eq!(
            unsupported_extensions(&parse("request_uri=x"))
                .unwrap_err()
                .0,
            "request_uri_not_supported"
        );
        assert_eq!(
            unsupported_extensions(&parse("registration=x"))
                .unwrap_err()
                .0,
            "registration_not_supported"
        );
    }
}
