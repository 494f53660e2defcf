//! Tongban (通办): the one-stop online service hall of a college.
//!
//! Layers, outside in: [`http`] (routes, extractors, problem responses) → [`services`] and
//! [`auth`] (use cases, authorisation through [`policy`], audit in the same transaction) →
//! [`entity`] (sea-orm persistence) on [`db`]. See ARCHITECTURE.md.

pub mod access;
pub mod audit;
pub mod audit_chain;
pub mod auth;
pub mod builtin;
pub mod config;
pub mod db;
pub mod demo;
pub mod demo_guides;
pub mod dto;
pub mod encoded;
pub mod entity;
pub mod error;
pub mod http;
pub mod metrics;
pub mod pdf;
pub mod policy;
pub mod services;
pub mod signing;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod time;
