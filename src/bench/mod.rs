//! `naervaer bench`: a synthetic municipality of a chosen size, and the
//! figures an IT department asks for, each as the median and spread of
//! several runs. Figures, never pass/fail.
//!
//! The organisation: a four-level tree (root, 12 service areas, ~10 %
//! sections, the rest teams with a long tail of small ones, so many groups
//! are hidden and the remainder rule has work), two closed rounds in which
//! 70 % answer both questionnaires, and 24 months of absence per unit.

//!
//! - [`municipality`]: the synthetic organisation, rounds and answers;
//! - [`run`]: every figure, step by step; [`hold`]: load held for a time;
//! - [`answering`]: `naervaer serve` under answering load;
//! - [`sending`]: invitations into a local SMTP server;
//! - [`analyst`]: the same answers through an analyst's pandas script;
//! - [`http`]: the client both use.

pub mod analyst;
pub mod answering;
pub mod hold;
pub mod http;
pub mod municipality;
pub mod run;
pub mod sending;

pub use hold::hold;
pub use municipality::{complete_form, organisation_files};
pub use run::run;

use serde::Serialize;
use std::time::{Duration, Instant};

pub const KEY: &str = "bench-key-0123456789abcdef0123456789abcdef";

#[derive(Debug, Clone)]
pub struct Options {
    pub employees: usize,
    pub units: usize,
    pub runs: usize,
    pub concurrency: usize,
    pub respondents: usize,
    /// Invitations in the sending test.
    pub mails: usize,
    /// None: a fresh SQLite file in the temporary folder.
    pub database_url: Option<String>,
}

/// One measured figure: the median of `runs` and the smallest and largest.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub what: String,
    pub unit: String,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Figure {
    fn of(what: &str, unit: &str, mut values: Vec<f64>) -> Figure {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Figure {
            what: what.into(),
            unit: unit.into(),
            median,
            min: values[0],
            max: values[n - 1],
            runs: n,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub employees: usize,
    pub units: usize,
    pub database: String,
    pub machine: String,
    pub figures: Vec<Figure>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let out = f();
    (out, ms(t.elapsed()))
}

pub fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} cores, {model}")
}

/// The report as an aligned text table.
pub fn table(r: &Report) -> String {
    let mut s = format!(
        "naervaer bench: {} employees, {} units, {} — {}\n\n",
        r.employees, r.units, r.database, r.machine
    );
    let w = r
        .figures
        .iter()
        .map(|f| f.what.chars().count())
        .max()
        .unwrap_or(10);
    s += &format!(
        "{:<w$}  {:>10}  {:>10}  {:>10}  {:>4}  unit\n",
        "what", "median", "min", "max", "runs"
    );
    for f in &r.figures {
        s += &format!(
            "{:<w$}  {:>10.2}  {:>10.2}  {:>10.2}  {:>4}  {}\n",
            f.what, f.median, f.min, f.max, f.runs, f.unit
        );
    }
    s
}
