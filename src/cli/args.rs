//! The command line's arguments, declared once with clap's derive: the
//! help text, the parser and the list of subcommands the CLI tests walk.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "naervaer",
    version,
    about = "Anonymous employee surveys and sickness-absence analysis"
)]
pub struct Cli {
    /// A TOML config file (also NAERVAER_CONFIG); environment variables win over it.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Start the web service (applies pending migrations first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective settings, secrets masked.
    Config,
    /// Import an HR file (CSV or XLSX).
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Questionnaire files.
    Survey {
        #[command(subcommand)]
        what: SurveyWhat,
    },
    /// Survey rounds: create, open, remind, close, counts, paper letters.
    Round {
        #[command(subcommand)]
        what: RoundWhat,
    },
    /// Send every due e-mail and SMS in the outbox, then exit.
    Send,
    /// Print a new random secret key for NAERVAER_SECRET_KEY.
    Secret,
    /// Ask the running service on NAERVAER_BIND for /healthz: exit 0 when
    /// it and its database answer (a container's health check).
    Health,
    /// Delete what the retention settings no longer allow to keep: people
    /// who left, old absence, old responses. Prints counts only.
    Retention {
        /// Show what would be deleted and change nothing (the default).
        #[arg(long, conflicts_with = "apply")]
        dry_run: bool,
        /// Delete it.
        #[arg(long)]
        apply: bool,
    },
    /// Copy the SQLite database to FILE while the service runs (a
    /// consistent copy; on PostgreSQL use pg_dump, see README).
    Backup { file: PathBuf },
    /// Replace the SQLite database with the backup in FILE. Stop the
    /// service first; a database that holds data is replaced only with
    /// --force.
    Restore {
        file: PathBuf,
        /// Replace a database that holds data.
        #[arg(long)]
        force: bool,
    },
    /// Benchmark a synthetic municipality: import, close, snapshot, engine,
    /// analysis, leader page, answering under load, memory. Prints a table
    /// and writes JSON.
    Bench {
        #[arg(long, default_value_t = 50_000)]
        employees: usize,
        #[arg(long, default_value_t = 3_000)]
        units: usize,
        /// Runs per timed figure (median and spread).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Concurrent respondents in the answering test.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Respondents through the whole answering flow.
        #[arg(long, default_value_t = 4_000)]
        respondents: usize,
        /// Invitations sent through the local SMTP server.
        #[arg(long, default_value_t = 13_000)]
        mails: usize,
        /// Instead of the figures: hold this many seconds of load from
        /// `--clients` respondents at once, counting errors and sampling the
        /// server's memory.
        #[arg(long)]
        hold: Option<u64>,
        /// Respondents at once in the `--hold` run.
        #[arg(long, default_value_t = 1_000)]
        clients: usize,
        /// An empty database to run on (default: a new SQLite file in the
        /// temporary folder); `postgres://…` benchmarks PostgreSQL.
        #[arg(long)]
        database_url: Option<String>,
        /// Where to write the figures as JSON.
        #[arg(long, default_value = "naervaer-bench.json")]
        json: PathBuf,
    },
    /// How a closed round's factors go together with sickness absence: the
    /// AMU analysis and risk summary.
    Analyse {
        /// The round (id or unambiguous prefix).
        #[arg(long)]
        round: String,
        /// before (the 12 months up to closing), after (the 12 months
        /// after), or FROM..TO (YYYY-MM-DD..YYYY-MM-DD).
        #[arg(long, default_value = "before")]
        window: String,
        /// Depth of the reporting groups (0 = the root); default: just
        /// above the deepest groups shown.
        #[arg(long)]
        level: Option<u32>,
        /// text, json or csv.
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// The follow-up: units above target and their written accounts.
    Followup {
        #[command(subcommand)]
        what: FollowupWhat,
    },
    /// The effect of each type of measure on sickness absence (difference
    /// in differences with its interval and a placebo check).
    Effect {
        /// text or json.
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// The tertial report for the council or the half-yearly IA status for
    /// AMU, print-ready HTML or XLSX.
    Report {
        /// tertial or ia.
        kind: String,
        /// 2026T2 (tertial: T1 January–April, T2 May–August, T3
        /// September–December) or 2026H1 (IA: H1 January–June, H2
        /// July–December); default: the latest with absence.
        #[arg(long)]
        period: Option<String>,
        /// html or xlsx.
        #[arg(long, default_value = "html")]
        format: String,
        /// Write to this file (default: standard output for html).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Create a fresh SQLite database with a demo municipality and serve it.
    Demo {
        /// The demo database file; it is deleted and created anew.
        #[arg(long, default_value = "naervaer-demo.db")]
        db: PathBuf,
        /// Address to serve on (default: NAERVAER_BIND or 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<String>,
        /// Seed, start the service on a free port, check /healthz, and exit.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Subcommand)]
pub enum ImportWhat {
    /// The unit tree (units.csv).
    Units {
        file: PathBuf,
        /// Show what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// The employees (employees.csv).
    Employees {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
    /// Sickness absence per unit and period (absence.csv); a period already
    /// imported for a unit is replaced.
    Absence {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
    /// Factor means per unit type and scope to compare with (norms.csv).
    Norms {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
    /// Absence targets per unit and year (targets.csv).
    Targets {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
    /// Measures under way (measures.csv), into the register.
    Measures {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
    /// Statistics Norway's quarterly sickness-absence percentages, as the
    /// statistics bank's CSV gives them.
    National {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
pub enum FollowupWhat {
    /// Find the units above their targets in the latest period and ask
    /// each for a written account (queued e-mails to their leaders).
    Check,
    /// Queue the reminders of accounts that are due (at most two each).
    Remind,
}

#[derive(Subcommand)]
pub enum RoundWhat {
    /// Create a draft round.
    Create {
        #[arg(long)]
        title: String,
        /// A questionnaire file; give it again for a second one (the presence module).
        #[arg(long = "survey", required = true)]
        surveys: Vec<PathBuf>,
        /// Cover only this unit and everything below it (default: everyone).
        #[arg(long)]
        unit: Option<String>,
        /// First day, YYYY-MM-DD (default: today).
        #[arg(long)]
        opens: Option<chrono::NaiveDate>,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        closes: chrono::NaiveDate,
        /// How invitations and reminders go out: email (e-mail, SMS to those
        /// without), sms (SMS, e-mail to those without a mobile) or both.
        #[arg(long, default_value = "email")]
        delivery: String,
        /// Minimum group size for this round (default: the installation's).
        #[arg(long)]
        k: Option<u32>,
    },
    /// Open a draft round: invitations and their e-mails are created.
    Open { round: String },
    /// Queue reminders to those who have not answered.
    Remind { round: String },
    /// Close an open round: its results are computed and frozen.
    Close { round: String },
    /// Raise a closed round's minimum group size: more results are hidden,
    /// none that were hidden come back.
    RaiseK { round: String, k: u32 },
    /// Invited, answered and reminded per unit (counts only).
    Status { round: String },
    /// All rounds.
    List,
    /// Printable letters with one-time codes (people without e-mail).
    Letters {
        round: String,
        /// Write the HTML here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Letters for everyone who has not answered, not only those without e-mail.
        #[arg(long)]
        everyone: bool,
    },
}

#[derive(Subcommand)]
pub enum SurveyWhat {
    /// Validate questionnaire files and explain every problem.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}
