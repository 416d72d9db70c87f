//! naervaer: anonymous employee surveys (10-FAKTOR) and sickness-absence
//! analysis for Norwegian municipalities.
//!
//! The crate is a library with a thin command line (`src/main.rs` parses
//! the arguments and hands each subcommand to [`cli`]), so that
//! integration tests drive the same functions a user does.
//!
//! The modules form layers; a module names only modules of its own layer
//! listed before it, or of a lower layer (`tests/it/layers.rs` holds this,
//! and that the pure cores never reach the database, the web or files):
//!
//! ```text
//! edges     cli ── bench ── web                  (command line, benchmark, HTTP)
//!             │
//! domain    migrate · demo · backup · processing · retention · analysis · results · export · rounds ·
//!           snapshot · mail · import · auth · access · cache
//!             │
//! database  db                                   (connection, pool, migrations, schema, models)
//!             │
//! leaves    analysis::{compute, summary, model} · snapshot::{compute, anonymity, model} ·
//!           net · metrics · config · ids · crypto · error · survey · stats · lang
//! ```
//!
//! - [`lang`]: the three languages, decimal commas;
//! - [`error`]: one error type; user errors translated, causes kept;
//! - [`crypto`]: the secret key, tokens and codes, hashes, random ids;
//! - [`ids`]: the ids that must not be swapped, as types;
//! - [`stats`]: the formulas of STATISTICS.md (pure);
//! - [`survey`]: questionnaire files, and the shipped ones;
//! - [`config`]: typed settings from the environment and a file;
//! - [`metrics`]: the Prometheus metrics of the process;
//! - [`net`]: the HTTP client of outgoing calls (SMS, identity provider);
//! - [`db`]: the connection (SQLite or PostgreSQL by URL), pool, migrations,
//!   schema and models;
//! - [`cache`]: the service's one bounded cache;
//! - [`access`]: who may see and do what, as one pure function;
//! - [`auth`]: sign-in links and sessions;
//! - [`import`]: the HR files (units, employees, absence);
//! - [`mail`]: rendering, the relay connection, the durable outbox;
//! - [`snapshot`]: a closed round's frozen, released figures and the
//!   anonymity engine;
//! - [`rounds`]: rounds, invitations, answering, closing;
//! - [`export`]: tables as CSV and XLSX;
//! - [`results`]: what one viewer sees of a snapshot, and action plans;
//! - [`analysis`]: survey factors against sickness absence (AMU);
//! - [`retention`]: deleting what is no longer needed (people who left,
//!   old absence, old responses);
//! - [`processing`]: the record of processing, from the running
//!   configuration and the access rules;
//! - [`backup`]: a consistent copy of the SQLite database while it
//!   serves, and restoring one;
//! - [`demo`]: the synthetic demo municipality;
//! - [`migrate`]: the migrations, and what the program does after some;
//! - [`web`]: the HTTP service (routes, extractors, handlers, views);
//! - [`bench`]: `naervaer bench`;
//! - [`cli`]: what each subcommand does.

pub mod access;
pub mod analysis;
pub mod auth;
pub mod backup;
pub mod bench;
pub mod cache;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod error;
pub mod export;
pub mod followup;
pub mod ids;
pub mod import;
pub mod lang;
pub mod mail;
pub mod metrics;
pub mod migrate;
pub mod net;
pub mod processing;
pub mod register;
pub mod results;
pub mod retention;
pub mod rounds;
pub mod snapshot;
pub mod stats;
pub mod survey;
pub mod web;

pub use error::AppError;
