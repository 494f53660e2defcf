//! Integration tests: the real server on a random port, on SQLite and on PostgreSQL.

mod helpers;

mod absences;
mod access;
mod access_matrix;
mod affairs;
mod applying;
mod archives;
mod audit_chain;
mod auth;
mod certificates;
mod consult;
mod errors;
mod guides;
mod hall;
mod hardening;
mod holidays;
mod integrations;
mod jobs;
mod notify;
mod ops;
mod org;
mod platform;
mod processes;
mod requirements;
mod scale_out;
mod search;
mod seed_scale;
mod sessions;
mod signing;
mod sso;
mod sso_peers;
mod storage;
mod supervision;
mod timers;
mod workspace;
