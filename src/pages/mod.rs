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

use actix_web::web;

/// Mounts every page route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    sign_in::configure(cfg);
    account::configure(cfg);
    registration::configure(cfg);
    console::configure(cfg);
}
