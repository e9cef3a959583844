//! The hosted pages people use in a browser: sign-in (password, codes, second factor),
//! registration with confirmation and password reset, the account page, and the admin
//! console. They hand
//! control back to a waiting authorization request by URL (`/authorize/resume`), never by
//! calling into `oauth`.

pub mod account;
pub mod console;
pub mod registration;
pub mod sign_in;
pub mod signed_in;

use actix_web::{web, HttpRequest, HttpResponse};

use crate::state::AppState;
use crate::web::Params;

/// Mounts every page route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/language", web::get().to(switch_language));
    sign_in::configure(cfg);
    account::configure(cfg);
    registration::configure(cfg);
    console::configure(cfg);
}

/// `GET /language?to=TAG&back=PATH`: the language switch on every page. Remembers the choice
/// in this browser for a year (the `porta_lang` cookie) and goes back to the page, which
/// must be a path on this site.
async fn switch_language(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let back = params
        .get("back")
        .filter(|b| is_local_path(b))
        .unwrap_or("/")
        .to_string();
    let mut resp = crate::web::see_other(&back);
    if let Some(tag) = params.get("to").and_then(|to| crate::i18n::negotiate([to])) {
        let _ = resp.add_cookie(&crate::i18n::choice_cookie(
            Some(tag),
            state.secure_cookies(),
        ));
    }
    resp
}

/// A path on this site: one leading slash (not `//host`), no backslash, no control
/// characters, not too long. Anything else would make the switch an open redirect.
fn is_local_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains('\\')
        && !p.chars().any(char::is_control)
        && p.len() <= 2048
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_switch_only_goes_back_to_this_site() {
        for ok in ["/", "/login?request=abc", "/account"] {
            assert!(super::is_local_path(ok), "{ok}");
        }
        for bad in [
            "",
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "evil",
            "/a\nb",
        ] {
            assert!(!super::is_local_path(bad), "{bad}");
        }
    }
}
