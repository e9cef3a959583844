//! oxide-auth's `Registrar` over a client loaded from the database: exact redirect-URI
//! binding, scope negotiation and client authentication.
//!
//! The client row is loaded off the async workers first; the registrar itself then works
//! in memory, which fits oxide-auth's synchronous trait.

use std::borrow::Cow;

use oxide_auth::primitives::registrar::{
    BoundClient, ClientUrl, ExactUrl, PreGrant, RegisteredUrl, Registrar, RegistrarError,
};
use oxide_auth::primitives::scope::Scope;

use crate::clients::Client;

/// A registrar that knows exactly one client.
pub struct ClientRegistrar<'c>(pub &'c Client);

impl Registrar for ClientRegistrar<'_> {
    fn bound_redirect<'a>(&self, bound: ClientUrl<'a>) -> Result<BoundClient<'a>, RegistrarError> {
        if bound.client_id != self.0.id {
            return Err(RegistrarError::Unspecified);
        }
        let chosen = match bound.redirect_uri {
            // Exact string comparison, no normalisation (RFC 9700 2.1).
            Some(url) if self.0.has_redirect_uri(url.as_str()) => url.into_owned(),
            Some(_) => return Err(RegistrarError::Unspecified),
            // Without a redirect_uri, only a client with exactly one may omit it.
            None => match self.0.redirect_uris.as_slice() {
                [only] => ExactUrl::new(only.clone()).map_err(|_| RegistrarError::Unspecified)?,
                _ => return Err(RegistrarError::Unspecified),
            },
        };
        Ok(BoundClient {
            client_id: bound.client_id,
            redirect_uri: Cow::Owned(RegisteredUrl::Exact(chosen)),
        })
    }

    fn negotiate(
        &self,
        client: BoundClient,
        scope: Option<Scope>,
    ) -> Result<PreGrant, RegistrarError> {
        let scope = match scope {
            Some(scope) => scope,
            None => return Err(RegistrarError::Unspecified),
        };
        if scope.iter().any(|s| !self.0.allows_scope(s)) {
            return Err(RegistrarError::Unspecified);
        }
        Ok(PreGrant {
            client_id: client.client_id.into_owned(),
            redirect_uri: client.redirect_uri.into_owned(),
            scope,
        })
    }

    fn check(&self, client_id: &str, passphrase: Option<&[u8]>) -> Result<(), RegistrarError> {
        if client_id != self.0.id {
            return Err(RegistrarError::Unspecified);
        }
        match (self.0.is_public(), passphrase) {
            (true, None) => Ok(()),
            (false, Some(secret)) => {
                let secret =
                    std::str::from_utf8(secret).map_err(|_| RegistrarError::Unspecified)?;
                if self.0.secret_matches(secret) {
                    Ok(())
                } else {
                    Err(RegistrarError::Unspecified)
                }
            }
            _ => Err(RegistrarError::Unspecified),
        }
    }
}

/// Binds `redirect_uri` for `client`: the registered URI it names, or `None` when it is not
/// registered (the caller then shows an error page, never a redirect).
pub fn bind_redirect(client: &Client, redirect_uri: Option<&str>) -> Option<String> {
    let requested = match redirect_uri {
        Some(uri) => Some(Cow::Owned(ExactUrl::new(uri.to_string()).ok()?)),
        None => None,
    };
    let bound = ClientRegistrar(client)
        .bound_redirect(ClientUrl {
            client_id: Cow::Borrowed(client.id.as_str()),
            redirect_uri: requested,
        })
        .ok()?;
    Some(bound.redirect_uri.as_str().to_string())
}

/// Checks that every scope in `scope` is allowed for `client`; `None` when one is not.
pub fn negotiate_scope(client: &Client, redirect_uri: &str, scope: &str) -> Option<Vec<String>> {
    let parsed: Scope = scope.parse().ok()?;
    let url = ExactUrl::new(redirect_uri.to_string()).ok()?;
    let pre = ClientRegistrar(client)
        .negotiate(
            BoundClient {
                client_id: Cow::Borrowed(client.id.as_str()),
                redirect_uri: Cow::Owned(RegisteredUrl::Exact(url)),
            },
            Some(parsed),
        )
        .ok()?;
    Some(pre.scope.iter().map(str::to_string).collect())
}

/// Authenticates a client with its secret (or none, for a public client).
pub fn check_secret(client: &Client, secret: Option<&str>) -> bool {
    ClientRegistrar(client)
        .check(&client.id, secret.map(str::as_bytes))
        .is_ok()
}
