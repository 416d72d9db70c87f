//! The `naervaer` command: a thin layer of argument parsing over the library.

use clap::{Parser, Subcommand};
use naervaer::config::{LogFormat, Settings};
use naervaer::import::{self, ImportError, Kind};
use naervaer::lang::Lang;
use naervaer::web::{self, AppState};
use naervaer::{db, demo, survey, AppError};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "naervaer",
    version,
    about = "Anonymous employee surveys and sickness-absence analysis"
)]
struct Cli {
    /// A TOML config file (also NAERVAER_CONFIG); environment variables win over it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    /// Send every due e-mail in the outbox, then exit.
    Send,
    /// Print a new random secret key for NAERVAER_SECRET_KEY.
    Secret,
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
enum ImportWhat {
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
}

#[derive(Subcommand)]
enum RoundWhat {
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
enum SurveyWhat {
    /// Validate questionnaire files and explain every problem.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Survey {
        what: SurveyWhat::Check { files },
    } = &cli.command
    {
        return survey_check(files);
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("naervaer: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(
        &settings,
        matches!(cli.command, Command::Serve | Command::Demo { .. }),
    );
    let result = match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate => migrate(&settings),
        Command::Config => {
            print!("{}", settings.describe());
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { what } => {
            let (kind, file, dry_run) = match what {
                ImportWhat::Units { file, dry_run } => (Kind::Units, file, dry_run),
                ImportWhat::Employees { file, dry_run } => (Kind::Employees, file, dry_run),
                ImportWhat::Absence { file, dry_run } => (Kind::Absence, file, dry_run),
            };
            run_import(&settings, kind, &file, dry_run)
        }
        Command::Demo { db, bind, check } => run_demo(settings, &db, bind, check),
        Command::Analyse {
            round,
            window,
            level,
            format,
        } => run_analyse(&settings, &round, &window, level, &format),
        Command::Round { what } => round_command(&settings, what),
        Command::Send => send(&settings),
        Command::Bench {
            employees,
            units,
            runs,
            concurrency,
            respondents,
            mails,
            hold,
            clients,
            database_url,
            json,
        } => run_bench(
            naervaer::bench::Options {
                employees,
                units,
                runs,
                concurrency,
                respondents,
                mails,
                database_url,
            },
            hold.map(|seconds| (clients, seconds)),
            &json,
        ),
        Command::Survey { .. } | Command::Secret => unreachable!("handled above"),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("naervaer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(settings: &Settings, service: bool) {
    let default = if service { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("NAERVAER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn migrate(settings: &Settings) -> Result<ExitCode, AppError> {
    let mut conn = db::connect(settings.database_url.expose())?;
    let n = db::run_migrations(&mut conn)?;
    println!("{n} migration(s) applied ({})", conn.backend().name());
    Ok(ExitCode::SUCCESS)
}

fn serve(settings: Settings) -> Result<ExitCode, AppError> {
    let pool = db::open_server_pool(settings.database_url.expose(), settings.pool_size)?;
    let listener = TcpListener::bind(&settings.bind)
        .map_err(|e| AppError::Config(format!("cannot listen on {}: {e}", settings.bind)))?;
    tracing::info!(address = %listener.local_addr()?, base_url = %settings.base_url, "naervaer serving");
    let state = AppState::new(pool.clone(), settings.clone())?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let background = spawn_background(pool, settings, stop.clone());
    actix_web::rt::System::new().block_on(async move { web::run(listener, state)?.await })?;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    if let Some(b) = background {
        let _ = b.join();
    }
    tracing::info!("naervaer stopped");
    Ok(ExitCode::SUCCESS)
}

/// The background duties of `serve`: send due e-mail, close rounds whose
/// closing day has passed, reduce invitations after the retention period.
/// Every node may run them at once: each step is safe to run concurrently.
fn spawn_background(
    pool: db::Pool,
    settings: Settings,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Option<std::thread::JoinHandle<()>> {
    let mailer = match naervaer::mail::Mailer::from_settings(&settings) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(error = %e, "e-mail sending is off");
            None
        }
    };
    let key = settings.key().ok();
    Some(std::thread::spawn(move || {
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            if let (Some(mailer), Some(key)) = (&mailer, &key) {
                match naervaer::mail::outbox::send_due(&pool, mailer, &settings, key) {
                    Ok(r) if r.sent + r.failed + r.retrying > 0 => {
                        tracing::info!(
                            sent = r.sent,
                            retrying = r.retrying,
                            failed = r.failed,
                            "outbox"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "outbox run failed"),
                }
            }
            let reduce_now = settings.retention_days == 0;
            match pool.get().map_err(AppError::from).and_then(|mut c| {
                let closed = naervaer::rounds::close_expired(&mut c, reduce_now)?;
                naervaer::rounds::reduce_expired(&mut c, settings.retention_days)?;
                naervaer::import::sweep_pending(&mut c)?;
                naervaer::auth::sweep(&mut c)?;
                Ok(closed)
            }) {
                Ok(closed) => {
                    for id in closed {
                        tracing::info!(round = %id, "round closed at its closing date");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "closing rounds failed"),
            }
            for _ in 0..50 {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }))
}

fn run_bench(
    opts: naervaer::bench::Options,
    hold: Option<(usize, u64)>,
    json: &std::path::Path,
) -> Result<ExitCode, AppError> {
    if opts.units < 14 || opts.employees < opts.units {
        return Err(AppError::BadRequest(
            "use at least 14 units and at least as many employees as units".into(),
        ));
    }
    let report = match hold {
        Some((clients, seconds)) => {
            naervaer::bench::hold(&opts, clients, seconds, |line| eprintln!("… {line}"))?
        }
        None => naervaer::bench::run(&opts, |line| eprintln!("… {line}"))?,
    };
    print!("{}", naervaer::bench::table(&report));
    let text =
        serde_json::to_string_pretty(&report).map_err(|e| AppError::BadRequest(e.to_string()))?;
    std::fs::write(json, text)?;
    println!("\nwritten to {}", json.display());
    Ok(ExitCode::SUCCESS)
}

fn send(settings: &Settings) -> Result<ExitCode, AppError> {
    let pool = db::open_pool(settings.database_url.expose(), settings.pool_size)?;
    let mailer = naervaer::mail::Mailer::from_settings(settings)?;
    let started = std::time::Instant::now();
    let r = naervaer::mail::outbox::send_due(&pool, &mailer, settings, &settings.key()?)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "sent {}, retrying later {}, failed {} in {:.2} s ({:.0} messages/s)",
        r.sent,
        r.retrying,
        r.failed,
        secs,
        r.sent as f64 / secs.max(1e-9)
    );
    let mut conn = pool.get()?;
    for (to, round, error) in naervaer::mail::outbox::failures(&mut conn)? {
        println!("  failed: {to} ({round}): {error}");
    }
    Ok(ExitCode::SUCCESS)
}

fn round_command(settings: &Settings, what: RoundWhat) -> Result<ExitCode, AppError> {
    use naervaer::rounds::{self, Round};
    let mut conn = db::connect(settings.database_url.expose())?;
    db::run_migrations(&mut conn)?;
    match what {
        RoundWhat::Create {
            title,
            surveys,
            unit,
            opens,
            closes,
            k,
        } => {
            let texts = surveys
                .iter()
                .map(|p| {
                    std::fs::read_to_string(p)
                        .map_err(|e| AppError::BadRequest(format!("{}: {e}", p.display())))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let round = rounds::create(
                &mut conn,
                settings.min_group_size,
                rounds::NewRound {
                    title,
                    surveys: texts,
                    unit_code: unit,
                    opens_on: opens.unwrap_or_else(rounds::today),
                    closes_on: closes,
                    min_group_size: k.unwrap_or(settings.min_group_size),
                },
            )?;
            println!("{}", round.id);
        }
        RoundWhat::Open { round } => {
            let round = Round::find_by_prefix(&mut conn, &round)?;
            let s = rounds::open(&mut conn, &settings.key()?, &round.id)?;
            println!("opened: {} invited, {} by e-mail (queued), {} on paper (print with `naervaer round letters`)", s.invited, s.by_email, s.on_paper);
        }
        RoundWhat::Remind { round } => {
            let round = Round::find_by_prefix(&mut conn, &round)?;
            let n = rounds::remind(
                &mut conn,
                &round.id,
                settings.reminder_max,
                i64::from(settings.reminder_interval_hours) * 3600,
            )?;
            println!("{n} reminder(s) queued");
        }
        RoundWhat::Close { round } => {
            let round = Round::find_by_prefix(&mut conn, &round)?;
            let n = rounds::close(&mut conn, &round.id, settings.retention_days == 0)?;
            println!("closed: {n} responses");
        }
        RoundWhat::RaiseK { round, k } => {
            let round = Round::find_by_prefix(&mut conn, &round)?;
            let s = naervaer::snapshot::raise_k(&mut conn, &round.id, k)?;
            let shown = s.groups.iter().filter(|g| g.figures.is_some()).count();
            println!("k = {k}: {shown} of {} groups shown", s.groups.len());
        }
        RoundWhat::Status { round } => {
            let round = Round::find_by_prefix(&mut conn, &round)?;
            let names = rounds::unit_names(&mut conn)?;
            println!(
                "{} ({}, {} – {})",
                round.title, round.status, round.opens_on, round.closes_on
            );
            println!(
                "{:<8} {:<36} {:>8} {:>8} {:>9}",
                "unit", "name", "invited", "answered", "reminded"
            );
            let (mut i, mut a, mut r) = (0, 0, 0);
            for c in rounds::counts(&mut conn, &round.id)? {
                let (code, name) = names.get(&c.unit_id).cloned().unwrap_or_default();
                println!(
                    "{code:<8} {name:<36} {:>8} {:>8} {:>9}",
                    c.invited, c.responded, c.reminded
                );
                (i, a, r) = (i + c.invited, a + c.responded, r + c.reminded);
            }
            println!("{:<45} {i:>8} {a:>8} {r:>9}", "total");
        }
        RoundWhat::List => {
            for r in Round::all(&mut conn)? {
                println!(
                    "{}  {:<6}  {} – {}  {}",
                    r.id, r.status, r.opens_on, r.closes_on, r.title
                );
            }
        }
        RoundWhat::Letters {
            round,
            out,
            everyone,
        } => {
            let round = Round::find_by_prefix(&mut conn, &round)?;
            let letters = rounds::letters(&mut conn, &settings.key()?, &round.id, everyone)?;
            let html = naervaer::web::views::letters::letters(
                &round.title,
                &settings.base_url,
                round.closes_on_date(),
                &settings.contact,
                &letters,
            )
            .into_string();
            match out {
                Some(p) => {
                    std::fs::write(&p, html)?;
                    eprintln!("{} letter(s) written to {}", letters.len(), p.display());
                }
                None => print!("{html}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_import(
    settings: &Settings,
    kind: Kind,
    file: &Path,
    dry_run: bool,
) -> Result<ExitCode, AppError> {
    let lang = settings.lang;
    let bytes = std::fs::read(file)
        .map_err(|e| AppError::BadRequest(format!("{}: {e}", file.display())))?;
    let mut conn = db::connect(settings.database_url.expose())?;
    db::run_migrations(&mut conn)?;
    let source = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match import::import(&mut conn, kind, &source, &bytes, dry_run) {
        Ok(outcome) => {
            for w in &outcome.warnings {
                eprintln!(
                    "{}: {}",
                    lang.pick("advarsel", "åtvaring", "warning"),
                    w.render(lang)
                );
            }
            print!("{}", outcome.diff.render(lang));
            println!(
                "{}",
                if dry_run {
                    lang.pick(
                        "Prøvekjøring: ingenting er endret.",
                        "Prøvekøyring: ingenting er endra.",
                        "Dry run: nothing was changed.",
                    )
                } else {
                    lang.pick("Importert.", "Importert.", "Imported.")
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(ImportError::Rejected(issues)) => {
            let (warnings, errors): (Vec<_>, Vec<_>) =
                issues.iter().partition(|i| i.kind.is_warning());
            eprintln!(
                "{} {} ({} {}):",
                file.display(),
                lang.pick("ble avvist", "vart avvist", "was rejected"),
                errors.len(),
                lang.pick("feil", "feil", "errors")
            );
            for i in errors {
                eprintln!("  {}", i.render(lang));
            }
            for w in warnings {
                eprintln!(
                    "  {}: {}",
                    lang.pick("advarsel", "åtvaring", "warning"),
                    w.render(lang)
                );
            }
            eprintln!(
                "{}",
                lang.pick(
                    "Ingenting er endret.",
                    "Ingenting er endra.",
                    "Nothing was changed."
                )
            );
            Ok(ExitCode::FAILURE)
        }
        Err(ImportError::App(e)) => Err(e),
    }
}

fn survey_check(files: &[PathBuf]) -> ExitCode {
    let mut ok = true;
    for f in files {
        match survey::load(f) {
            Ok(s) => println!(
                "{}: OK – {} {} ({} factors, {} items, {} background questions, sha256 {})",
                f.display(),
                s.id,
                s.version,
                s.factors.len(),
                s.items.len(),
                s.background.len(),
                &s.sha256[..12]
            ),
            Err(errors) => {
                ok = false;
                println!("{}: {} problem(s)", f.display(), errors.len());
                for e in errors {
                    println!("  {}: {e}", f.display());
                }
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run_analyse(
    settings: &Settings,
    round: &str,
    window: &str,
    level: Option<u32>,
    format: &str,
) -> Result<ExitCode, AppError> {
    let window = naervaer::analysis::Window::parse(window)?;
    let mut conn = db::connect(settings.database_url.expose())?;
    db::run_migrations(&mut conn)?;
    db::map_reads(&mut conn)?;
    let round = naervaer::rounds::Round::find_by_prefix(&mut conn, round)?;
    let lang = settings.lang;
    let a = naervaer::analysis::run(&mut conn, &round.id, window, level, lang)?;
    match format {
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&a).map_err(|e| AppError::Damaged(e.to_string()))?
        ),
        "csv" => print!(
            "{}",
            String::from_utf8_lossy(&naervaer::analysis::to_csv(&a)?)
        ),
        "text" => {
            println!("{}\n", a.summary.text);
            print!("{}", naervaer::analysis::table(&a, lang));
        }
        other => {
            return Err(AppError::BadRequest(format!(
                "--format {other}: use text, json or csv"
            )))
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_demo(
    mut settings: Settings,
    db_path: &Path,
    bind: Option<String>,
    check: bool,
) -> Result<ExitCode, AppError> {
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db_path.display()));
        if p.exists() {
            std::fs::remove_file(&p)?;
        }
    }
    settings.database_url =
        naervaer::config::Secret::new(format!("sqlite://{}", db_path.display()));
    let pool = db::open_pool(settings.database_url.expose(), settings.pool_size)?;
    let files = {
        let mut conn = pool.get()?;
        demo::seed(&mut conn).map_err(|e| match e {
            ImportError::App(e) => e,
            ImportError::Rejected(issues) => AppError::BadRequest(format!(
                "demo data rejected: {}",
                issues
                    .iter()
                    .map(|i| i.render(Lang::En))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        })?
    };
    let bind = if check {
        "127.0.0.1:0".to_string()
    } else {
        bind.unwrap_or_else(|| settings.bind.clone())
    };
    let listener = TcpListener::bind(&bind)
        .map_err(|e| AppError::Config(format!("cannot listen on {bind}: {e}")))?;
    let addr = listener.local_addr()?;
    // The demo's links must point at this very process, and its e-mails land
    // as files in a folder beside the database.
    settings.base_url = format!("http://{addr}");
    if settings.secret_key.is_none() {
        settings.secret_key = Some(naervaer::config::Secret::new(
            naervaer::rounds::tokens::SecretKey::generate(),
        ));
    }
    let outbox_dir = settings
        .outbox_dir
        .clone()
        .unwrap_or_else(|| db_path.with_file_name("naervaer-demo-outbox"));
    if outbox_dir.exists() {
        for entry in std::fs::read_dir(&outbox_dir)? {
            let p = entry?.path();
            if p.extension().is_some_and(|e| e == "eml") {
                std::fs::remove_file(p)?;
            }
        }
    }
    settings.outbox_dir = Some(outbox_dir.clone());
    let key = settings.key()?;
    let rounds = {
        let mut conn = pool.get()?;
        naervaer::demo::seed_rounds(&mut conn, &key, settings.min_group_size)?
    };
    let mailer = naervaer::mail::Mailer::from_settings(&settings)?;
    let sent = naervaer::mail::outbox::send_due(&pool, &mailer, &settings, &key)?;
    let paper = {
        let mut conn = pool.get()?;
        naervaer::rounds::letters(&mut conn, &key, &rounds.open_round, false)?
    };
    println!(
        "Demo kommune: {} units, {} employees in {}",
        demo::UNITS.len(),
        files.employees,
        db_path.display()
    );
    println!(
        "Closed round: {} responses. Open round: {} invited.",
        rounds.closed_responses, rounds.open_invited
    );
    println!(
        "Absence: {} monthly rows (24 months); try `naervaer analyse --round {}` with NAERVAER_DATABASE_URL=sqlite://{}",
        rounds.absence_rows,
        &rounds.closed_round[..8],
        db_path.display()
    );
    println!(
        "Invitation e-mails: {} .eml files in {}",
        sent.sent,
        outbox_dir.display()
    );
    if let Some(p) = paper.first() {
        println!(
            "A paper letter's code ({}): {} at http://{addr}/kode",
            p.name,
            naervaer::rounds::tokens::format_code(&p.code)
        );
    }
    {
        let mut conn = pool.get()?;
        println!("Sign in (each link works once, for 15 minutes; new ones at http://{addr}/innlogging land in the outbox folder):");
        for (role, name, email, id) in demo::sign_in_people(&mut conn)? {
            let token = naervaer::auth::link_token_for(&mut conn, &id)?;
            println!("  {role:<6} {name} <{email}>: http://{addr}/innlogging/{token}");
        }
    }
    let state = AppState::new(pool, settings)?;
    if check {
        let status = actix_web::rt::System::new().block_on(async move {
            let server = web::run(listener, state)?;
            let handle = server.handle();
            actix_web::rt::spawn(server);
            let answer =
                actix_web::rt::task::spawn_blocking(move || http_get(addr, "/healthz")).await;
            handle.stop(true).await;
            answer.map_err(|e| std::io::Error::other(e.to_string()))?
        })?;
        println!("GET /healthz → {status}");
        return Ok(if status.starts_with("HTTP/1.1 200") {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    println!("Open http://{addr}/ in a browser. Stop with Ctrl+C.");
    actix_web::rt::System::new().block_on(async move { web::run(listener, state)?.await })?;
    Ok(ExitCode::SUCCESS)
}

/// A minimal HTTP/1.1 GET over a plain socket: the status line and body.
fn http_get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.lines().next().unwrap_or("").to_string();
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or("")
        .trim()
        .to_string();
    Ok(format!("{status} {body}"))
}
