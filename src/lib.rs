//! naervaer: anonymous employee surveys (10-FAKTOR) and sickness-absence
//! analysis for Norwegian municipalities.
//!
//! The crate is a library with a thin command line (`src/main.rs`) on top, so
//! that integration tests drive the same functions a user does. A newcomer
//! finds every feature in one of these modules:
//!
//! - [`config`]: typed settings from environment variables and a file;
//! - [`db`]: the connection (SQLite or PostgreSQL, chosen by URL), pool,
//!   embedded migrations, schema and models;
//! - [`import`]: the HR files (units, employees): parse, validate, diff, apply;
//! - [`survey`]: questionnaire files (TOML): parse and validate;
//! - [`rounds`]: survey rounds, invitations, tokens, answering, closing;
//! - [`mail`]: e-mail rendering, transports and the durable outbox;
//! - [`snapshot`]: a closed round's frozen, released figures, and the
//!   anonymity engine that decides what is released;
//! - [`results`]: what one viewer sees of a snapshot (pages, CSV, XLSX and
//!   JSON all render the same report), and action plans;
//! - [`auth`]: sign-in links, sessions, roles;
//! - [`web`]: the actix-web service, route map and maud views;
//! - [`demo`]: the synthetic demo municipality.

pub mod access;
pub mod analysis;
pub mod auth;
pub mod bench;
pub mod cache;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod error;
pub mod export;
pub mod ids;
pub mod import;
pub mod lang;
pub mod mail;
pub mod results;
pub mod rounds;
pub mod snapshot;
pub mod stats;
pub mod survey;
pub mod web;

pub use error::AppError;
