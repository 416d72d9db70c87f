//! The command line: what each `naervaer` subcommand does, in terms of the
//! library. `src/main.rs` only parses the arguments ([`args`]) and calls one
//! of these; each prints for a person and returns the process's exit code.

pub mod args;
mod demo;
mod followup;
mod import;
mod round;
mod serve;

pub use args::{Cli, Command, FollowupWhat, ImportWhat, RoundWhat, SurveyWhat};
pub use demo::run_demo;
pub use followup::{effect, followup, report};
pub use import::run_import;
pub use round::round_command;
pub use serve::serve;

use crate::config::{LogFormat, Settings};
use crate::{db, survey, AppError};
use std::path::PathBuf;
use std::process::ExitCode;

/// A file the command was given that cannot be read, said plainly.
fn cannot_read(path: &std::path::Path, e: &std::io::Error) -> AppError {
    let reason = match e.kind() {
        std::io::ErrorKind::NotFound => "finnes ikke / finst ikkje / does not exist".to_string(),
        std::io::ErrorKind::PermissionDenied => {
            "ingen tilgang / ingen tilgang / permission denied".to_string()
        }
        _ => e.to_string(),
    };
    crate::error::UserError::CannotReadFile {
        path: path.display().to_string(),
        reason,
    }
    .into()
}

/// `naervaer retention [--dry-run|--apply]`: counts of what is (or would
/// be) deleted, in the installation's language.
pub fn retention(settings: &Settings, apply: bool) -> Result<ExitCode, AppError> {
    let mut conn = db::connect(settings.database_url.expose())?;
    crate::migrate::run(&mut conn)?;
    let c = crate::retention::run(&mut conn, settings, apply)?;
    let l = settings.lang;
    let lines = [
        (
            l.pick("personer slettet", "personar sletta", "people deleted"),
            c.people_deleted,
        ),
        (
            l.pick(
                "personer pseudonymisert",
                "personar pseudonymiserte",
                "people pseudonymised",
            ),
            c.people_pseudonymised,
        ),
        (
            l.pick("økter slettet", "økter sletta", "sessions deleted"),
            c.sessions_deleted,
        ),
        (
            l.pick(
                "innloggingslenker slettet",
                "innloggingslenkjer sletta",
                "sign-in links deleted",
            ),
            c.sign_in_links_deleted,
        ),
        (
            l.pick(
                "fraværsrader slettet",
                "fråværsrader sletta",
                "absence rows deleted",
            ),
            c.absence_rows_deleted,
        ),
        (
            l.pick("svar slettet", "svar sletta", "responses deleted"),
            c.responses_deleted,
        ),
        (
            l.pick(
                "sendte resultatmeldinger slettet",
                "sende resultatmeldingar sletta",
                "sent results messages deleted",
            ),
            c.results_messages_deleted,
        ),
    ];
    for (what, n) in lines {
        println!("{n:>8}  {what}");
    }
    println!(
        "{}",
        if apply {
            l.pick("Slettet.", "Sletta.", "Deleted.")
        } else {
            l.pick(
                "Prøvekjøring: ingenting er endret (bruk --apply).",
                "Prøvekøyring: ingenting er endra (bruk --apply).",
                "Dry run: nothing was changed (use --apply).",
            )
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `naervaer backup FILE`.
pub fn backup(settings: &Settings, file: &std::path::Path) -> Result<ExitCode, AppError> {
    let c = crate::backup::backup(settings.database_url.expose(), file)?;
    let l = settings.lang;
    println!(
        "{} {}: {}",
        l.pick(
            "Sikkerhetskopi skrevet til",
            "Tryggingskopi skriven til",
            "Backup written to"
        ),
        file.display(),
        describe_contents(l, &c)
    );
    Ok(ExitCode::SUCCESS)
}

/// `naervaer restore FILE [--force]`.
pub fn restore(
    settings: &Settings,
    file: &std::path::Path,
    force: bool,
) -> Result<ExitCode, AppError> {
    let c = crate::backup::restore(settings.database_url.expose(), file, force)?;
    let l = settings.lang;
    println!(
        "{} {}: {}. {}",
        l.pick("Gjenopprettet fra", "Gjenoppretta frå", "Restored from"),
        file.display(),
        describe_contents(l, &c),
        l.pick(
            "`naervaer migrate` (eller `serve`) oppdaterer skjemaet om kopien er eldre.",
            "`naervaer migrate` (eller `serve`) oppdaterer skjemaet om kopien er eldre.",
            "`naervaer migrate` (or `serve`) updates the schema if the copy is older.",
        )
    );
    Ok(ExitCode::SUCCESS)
}

fn describe_contents(l: crate::lang::Lang, c: &crate::backup::Contents) -> String {
    format!(
        "{} MB, {} {}, {} {}, {} {}, {} {}",
        crate::lang::decimal(c.bytes as f64 / 1_000_000.0, 1, l),
        c.units,
        l.pick("enheter", "einingar", "units"),
        c.employees,
        l.pick("ansatte", "tilsette", "employees"),
        c.rounds,
        l.pick("runder", "rundar", "rounds"),
        c.responses,
        l.pick("svar", "svar", "responses"),
    )
}

/// `naervaer health`: GET /healthz from the service on `NAERVAER_BIND`
/// (an unspecified address such as 0.0.0.0 is asked on loopback).
pub fn health(settings: &Settings) -> Result<ExitCode, AppError> {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
    let timeout = std::time::Duration::from_secs(3);
    let mut addr: SocketAddr = settings
        .bind
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            AppError::config(format!(
                "NAERVAER_BIND '{}' is not an address",
                settings.bind
            ))
        })?;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let answer = (|| -> std::io::Result<String> {
        let mut s = TcpStream::connect_timeout(&addr, timeout)?;
        s.set_read_timeout(Some(timeout))?;
        write!(
            s,
            "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    })();
    match answer {
        Ok(text) if text.starts_with("HTTP/1.1 200") => {
            println!("ok");
            Ok(ExitCode::SUCCESS)
        }
        Ok(text) => {
            eprintln!(
                "naervaer: {addr}/healthz: {}",
                text.lines().last().unwrap_or("").trim()
            );
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("naervaer: {addr}: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `naervaer secret`: needs no settings, because it is what a new
/// installation runs first.
pub fn secret() -> ExitCode {
    println!("{}", crate::crypto::SecretKey::generate());
    ExitCode::SUCCESS
}

pub fn init_tracing(settings: &Settings, service: bool) {
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

pub fn migrate(settings: &Settings) -> Result<ExitCode, AppError> {
    let mut conn = db::connect(settings.database_url.expose())?;
    let n = crate::migrate::run(&mut conn)?;
    println!("{n} migration(s) applied ({})", conn.backend().name());
    Ok(ExitCode::SUCCESS)
}

pub fn run_bench(
    opts: crate::bench::Options,
    hold: Option<(usize, u64)>,
    json: &std::path::Path,
) -> Result<ExitCode, AppError> {
    if opts.units < 14 || opts.employees < opts.units {
        return Err(crate::error::UserError::BenchTooSmall.into());
    }
    let report = match hold {
        Some((clients, seconds)) => {
            crate::bench::hold(&opts, clients, seconds, |line| eprintln!("… {line}"))?
        }
        None => crate::bench::run(&opts, |line| eprintln!("… {line}"))?,
    };
    print!("{}", crate::bench::table(&report));
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| AppError::internal_by("the figures as JSON", e))?;
    std::fs::write(json, text)?;
    println!("\nwritten to {}", json.display());
    Ok(ExitCode::SUCCESS)
}

pub fn send(settings: &Settings) -> Result<ExitCode, AppError> {
    let pool = crate::migrate::open_pool(settings.database_url.expose(), settings.pool_size)?;
    let mailer = crate::mail::Mailer::from_settings(settings)?;
    let started = std::time::Instant::now();
    let r = crate::mail::outbox::send_due(&pool, &mailer, settings, &settings.key()?)?;
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
    for (to, round, error) in crate::mail::outbox::failures(&mut conn)? {
        println!("  failed: {to} ({round}): {error}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `naervaer survey check`: needs no settings, so its language is
/// `NAERVAER_LANG` from the environment alone (bokmål without it).
pub fn survey_check(files: &[PathBuf]) -> ExitCode {
    let lang: crate::lang::Lang = std::env::var("NAERVAER_LANG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or_default();
    let mut ok = true;
    for f in files {
        match survey::load(f) {
            Ok(s) => println!(
                "{}: OK – {} {} ({} {}, {} {}, {} {}, sha256 {})",
                f.display(),
                s.id,
                s.version,
                s.factors.len(),
                lang.pick("faktorer", "faktorar", "factors"),
                s.items.len(),
                lang.pick("påstander", "påstandar", "items"),
                s.background.len(),
                lang.pick(
                    "bakgrunnsspørsmål",
                    "bakgrunnsspørsmål",
                    "background questions"
                ),
                &s.sha256[..12]
            ),
            Err(errors) => {
                ok = false;
                println!(
                    "{}: {} {}",
                    f.display(),
                    errors.len(),
                    lang.pick("problem", "problem", "problem(s)")
                );
                for e in errors {
                    println!("  {}: {}", f.display(), e.render(lang));
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

pub fn run_analyse(
    settings: &Settings,
    round: &str,
    window: &str,
    level: Option<u32>,
    format: &str,
) -> Result<ExitCode, AppError> {
    let window = crate::analysis::Window::parse(window)?;
    let mut conn = db::connect(settings.database_url.expose())?;
    db::one_off_reads(&mut conn)?;
    crate::migrate::run(&mut conn)?;
    let round = crate::rounds::Round::find_by_prefix(&mut conn, round)?;
    let lang = settings.lang;
    // The parsed scores and questionnaires are kept in a cache, and the
    // cache and the analysis are not freed: the process ends right after
    // writing, and freeing them one allocation at a time took ~2 ms at
    // 3 000 units.
    let cache = crate::cache::Cache::default();
    let a = crate::analysis::run(&mut conn, &cache, &round.id, window, level, lang)?;
    let written = write_analysis(&a, format, lang);
    std::mem::forget(a);
    std::mem::forget(cache);
    written
}

/// `naervaer analyse`'s output in `format`.
fn write_analysis(
    a: &crate::analysis::Analysis,
    format: &str,
    lang: crate::lang::Lang,
) -> Result<ExitCode, AppError> {
    match format {
        "json" => {
            // Straight to the standard output (1.4 MB at 3 000 units),
            // not through a string first.
            use std::io::Write;
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            serde_json::to_writer_pretty(&mut out, a)
                .map_err(|e| AppError::damaged(e.to_string()))?;
            writeln!(out)?;
            out.flush()?;
        }
        "csv" => print!("{}", String::from_utf8_lossy(&crate::analysis::to_csv(a)?)),
        "text" => {
            println!("{}\n", a.summary.text);
            print!("{}", crate::analysis::table(a, lang));
        }
        other => {
            return Err(crate::error::UserError::BadFormat {
                given: other.to_string(),
            }
            .into())
        }
    }
    Ok(ExitCode::SUCCESS)
}
