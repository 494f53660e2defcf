//! The Tongban workflow engine: process and form definitions, their validation, and a pure,
//! deterministic executor.
//!
//! **Invariant:** no I/O, no clock reads, no threads, no async runtime, no database or web crates.
//! Everything the engine needs (the time, who holds which position, the holiday calendar) is
//! passed in.

pub mod bpmn;
pub mod calendar;
pub mod exec;
pub mod expr;
pub mod form;
pub mod migrate;
pub mod model;
pub mod validate;
