//! Sign-in: passwords, tokens and sessions.

pub mod password;
pub mod principal;
pub mod service;
pub mod sessions;
pub mod sso;
pub mod tokens;
pub mod totp;
