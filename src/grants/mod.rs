//! What a person has granted to apps: pending authorization requests, consents, token
//! families (one per sign-in to an app), authorization codes, refresh tokens and revoked
//! access tokens. Only this module writes these tables.

pub mod store;

pub use store::{CodeRow, PendingRequest, RefreshRow};

#[cfg(test)]
mod tests;
