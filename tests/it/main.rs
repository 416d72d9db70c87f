//! Integration tests: one binary, a fresh database per test, every data-layer
//! and importer test on both SQLite and PostgreSQL.

mod support;

mod analysis;
mod analysis_window;
mod anonymity;
mod answering;
mod at_rest;
mod backup;
pub mod browser;
mod cli;
mod config;
pub mod crash;
mod db_layer;
mod demo;
mod determinism;
mod effect;
pub mod followup;
mod fuzz;
mod import_absence;
mod import_employees;
mod import_files;
mod import_units;
mod layers;
pub mod mail;
mod metrics;
mod nodes;
mod oidc;
pub mod openapi;
mod packaging;
mod processing;
mod reach;
mod references;
pub mod results;
mod retention;
pub mod rounds;
mod security;
mod shared_devices;
mod sms;
pub mod snapshot;
mod stats;
mod surveys;
mod web;

use naervaer::db::DbConnection;
use naervaer::import::{self, ImportError, Kind, Outcome};
use naervaer::lang::Lang;

pub const UNITS: &str = "unit_code;parent_code;name\n1000;;Testkommune\n1100;1000;Helse\n1110;1100;Sykehjem\n1200;1000;Oppvekst\n";

pub const EMPLOYEES: &str = "employee_id;name;email;unit_code;leader_of;roles;language\n\
    1;Kari Nordmann;kari@test.no;1110;1110|1100;amu;nb\n\
    2;Ola Nordmann;;1200;;admin;nn\n\
    3;Per Hansen;per@test.no;1000;1000;;en\n";

pub fn import_text(
    conn: &mut DbConnection,
    kind: Kind,
    text: &str,
    dry_run: bool,
) -> Result<Outcome, ImportError> {
    import::import(conn, kind, "test.csv", text.as_bytes(), dry_run)
}

/// The rendered (bokmål) problems of a rejected import; panics if it was not.
pub fn rejection(result: Result<Outcome, ImportError>) -> Vec<String> {
    match result {
        Err(ImportError::Rejected(issues)) => issues.iter().map(|i| i.render(Lang::Nb)).collect(),
        Err(e) => panic!("expected a rejection, got error {e}"),
        Ok(o) => panic!("expected a rejection, got success: {:?}", o.diff),
    }
}

/// Asserts that `bad` is rejected with exactly `expected` problems and that
/// the database is the same afterwards.
pub fn assert_rejected_unchanged(
    conn: &mut DbConnection,
    kind: Kind,
    bad: &str,
    expected: &[&str],
) {
    let before = support::dump(conn);
    let problems = rejection(import_text(conn, kind, bad, false));
    assert_eq!(problems, expected, "problems reported");
    assert_eq!(
        support::dump(conn),
        before,
        "the database changed after a rejected import"
    );
    // A dry run of the same file reports the same and changes nothing either.
    let problems = rejection(import_text(conn, kind, bad, true));
    assert_eq!(problems, expected);
    assert_eq!(support::dump(conn), before);
}
