//! Porta: a standalone OAuth 2.0 / OpenID Connect identity provider.
//!
//! `main.rs` only parses the command line; everything else lives here so tests build
//! exactly what production runs.

pub mod accounts;
pub mod admin;
pub mod app;
pub mod audit;
pub mod bookings;
pub mod cli;
pub mod clients;
pub mod config;
pub mod content;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod grants;
pub mod i18n;
pub mod ids;
pub mod keys;
pub mod mfa;
pub mod notify;
pub mod oauth;
pub mod oidc;
pub mod openapi;
pub mod ops;
pub mod otp;
pub mod pages;
pub mod resource;
pub mod scopes;
pub mod sessions;
pub mod state;
pub mod throttle;
pub mod time;
pub mod tokens;
pub mod web;
