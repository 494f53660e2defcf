//! Use cases. Each function authorises against the [`Principal`](crate::policy::Principal), does its
//! work in one transaction and writes the audit record in that same transaction.

pub mod absences;
pub mod affairs;
pub mod alerts;
pub mod archives;
pub mod attachments;
pub mod audit_logs;
pub mod backup;
pub mod calendar;
pub mod catalogue;
pub mod certificates;
pub mod consult;
pub mod delivery;
pub mod departments;
pub mod directory;
pub mod drafts;
pub mod guides;
pub mod hall;
pub mod housekeeping;
pub mod integrations;
pub mod integrity;
pub mod jobs;
pub mod live;
pub mod messages;
pub mod monitoring;
pub mod notifications;
pub mod positions;
pub mod processes;
pub mod progress;
pub mod requirements;
pub mod roles;
pub mod search;
pub mod seed_scale;
pub mod storage;
pub mod supervision;
pub mod timers;
pub mod users;

use sea_orm::{DbErr, SqlErr};

use crate::error::{AppError, ErrorCode};

/// Turn a unique-constraint violation (a race lost against a concurrent insert) into 409.
pub(crate) fn unique_to_conflict(e: DbErr) -> AppError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::code(ErrorCode::AlreadyExists),
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => AppError::code(ErrorCode::InUse),
        _ => AppError::Db(e),
    }
}

/// Escape `%`, `_` and `\` for a LIKE pattern and wrap it in `%…%`.
pub(crate) fn like_pattern(q: &str) -> String {
    let mut s = String::with_capacity(q.len() + 2);
    s.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}
