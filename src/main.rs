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
            };
            run_import(&settings, kind, &file, dry_run)
        }
        Command::Demo { db, bind, check } => run_demo(settings, &db, bind, check),
        Command::Survey { .. } => unreachable!("handled above"),
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
    let pool = db::open_pool(settings.database_url.expose(), settings.pool_size)?;
    let listener = TcpListener::bind(&settings.bind)
        .map_err(|e| AppError::Config(format!("cannot listen on {}: {e}", settings.bind)))?;
    tracing::info!(address = %listener.local_addr()?, base_url = %settings.base_url, "naervaer serving");
    let state = AppState { pool, settings };
    actix_web::rt::System::new().block_on(async move { web::run(listener, state)?.await })?;
    tracing::info!("naervaer stopped");
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
    println!(
        "Demo kommune: {} units, {} employees in {}",
        demo::UNITS.len(),
        files.employees,
        db_path.display()
    );
    let state = AppState { pool, settings };
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
