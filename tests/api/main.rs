//! The black-box suite, one test binary: each module was once a test binary of its own
//! (`tests/<module>.rs`); they share `common`. Run one part with
//! `cargo test --test api <module>::`, e.g. `cargo test --test api wire_formats::`.

mod common;

mod admin;
mod bookings;
mod bookings_mail;
mod browser_e2e;
mod browser_rules;
mod busy_day;
mod cli;
mod code_flow;
mod console;
mod content;
mod content_depth;
mod cross_origin;
mod hardening;
mod keys;
mod languages;
mod layering;
mod leaving;
mod multi_node;
mod observability;
mod openidconnect_rp;
mod phone_first;
mod protocol_errors;
mod resource_auth;
mod restart;
mod self_service;
mod sign_in_code;
mod sms;
mod standalone;
mod table_owners;
mod throttle_audit;
mod totp;
mod wire_formats;
