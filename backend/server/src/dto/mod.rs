//! Request and response types of the API. These are not ORM entities: they are built from models
//! with `From`, so internal fields (password hashes, auth epochs) can never leak.

pub mod affair;
pub mod auth;
pub mod calendar;
pub mod common;
pub mod org;
pub mod process;
