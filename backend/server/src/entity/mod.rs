//! Database entities (sea-orm). These are persistence types only: API types live in `http`.

pub mod absence;
pub mod affair;
pub mod audit_log;
pub mod department;
pub mod holiday_year;
pub mod idempotency_key;
pub mod job;
pub mod login_attempt;
pub mod notification;
pub mod position;
pub mod process;
pub mod process_version;
pub mod refresh_token;
pub mod role;
pub mod role_permission;
pub mod task;
pub mod task_candidate;
pub mod user;
pub mod user_role;
