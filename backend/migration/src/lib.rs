//! Database migrations for Tongban.
//!
//! Migrations are dated, append-only and run on both SQLite and PostgreSQL. A migration that has
//! been released is never edited; changes go into a new file.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_foundation;
mod m20261128_000002_processes;
mod m20261128_000003_affairs;
mod m20261128_000004_absences;
mod m20261128_000005_notifications;
mod m20261128_000006_hall;
mod m20261128_000009_delivery;
mod m20261128_000010_certificates;
mod m20261128_000011_certificate_prefixes;
mod m20261201_000012_archives;
mod m20261202_000013_requirement_plans;
mod m20261202_000014_supervision;
mod m20261202_000015_audit_chain;
mod m20261202_000016_integrations;
mod m20261202_000017_process_diagrams;
mod m20261202_000019_ops_alerts;
mod m20261203_000020_sso;
mod m20261203_000021_authz_version;
mod m20261207_000022_calendar_version;

/// The ordered list of all migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_foundation::Migration),
            Box::new(m20261128_000002_processes::Migration),
            Box::new(m20261128_000003_affairs::Migration),
            Box::new(m20261128_000004_absences::Migration),
            Box::new(m20261128_000005_notifications::Migration),
            Box::new(m20261128_000006_hall::Migration),
            Box::new(m20261128_000009_delivery::Migration),
            Box::new(m20261128_000010_certificates::Migration),
            Box::new(m20261128_000011_certificate_prefixes::Migration),
            Box::new(m20261201_000012_archives::Migration),
            Box::new(m20261202_000013_requirement_plans::Migration),
            Box::new(m20261202_000014_supervision::Migration),
            Box::new(m20261202_000015_audit_chain::Migration),
            Box::new(m20261202_000016_integrations::Migration),
            Box::new(m20261202_000017_process_diagrams::Migration),
            Box::new(m20261202_000019_ops_alerts::Migration),
            Box::new(m20261203_000020_sso::Migration),
            Box::new(m20261203_000021_authz_version::Migration),
            Box::new(m20261207_000022_calendar_version::Migration),
        ]
    }
}
