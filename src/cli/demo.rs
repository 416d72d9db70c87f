//! `naervaer demo`: a demo municipality on SQLite, its e-mails in a folder,
//! served (or, with `--check`, served once and checked).

use crate::config::Settings;
use crate::import::ImportError;
use crate::lang::Lang;
use crate::web::{self, AppState};
use crate::{demo, AppError};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run_demo(
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
    settings.database_url = crate::crypto::Secret::new(format!("sqlite://{}", db_path.display()));
    let pool = crate::migrate::open_pool(settings.database_url.expose(), settings.pool_size)?;
    let files = {
        let mut conn = pool.get()?;
        demo::seed(&mut conn).map_err(|e| match e {
            ImportError::App(e) => e,
            ImportError::Rejected(issues) => AppError::internal(format!(
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
        .map_err(|e| AppError::config_by(format!("cannot listen on {bind}"), e))?;
    let addr = listener.local_addr()?;
    // The demo's links must point at this very process, and its e-mails land
    // as files in a folder beside the database.
    settings.base_url = format!("http://{addr}");
    if settings.secret_key.is_none() {
        settings.secret_key = Some(crate::crypto::Secret::new(
            crate::crypto::SecretKey::generate(),
        ));
    }
    let outbox_dir = settings
        .outbox_dir
        .clone()
        .unwrap_or_else(|| db_path.with_file_name("naervaer-demo-outbox"));
    if outbox_dir.exists() {
        for entry in std::fs::read_dir(&outbox_dir)? {
            let p = entry?.path();
            if p.extension().is_some_and(|e| e == "eml" || e == "sms")
                || p.file_name().is_some_and(|n| n == "brev.html")
            {
                std::fs::remove_file(p)?;
            }
        }
    }
    settings.outbox_dir = Some(outbox_dir.clone());
    let key = settings.key()?;
    let rounds = {
        let mut conn = pool.get()?;
        crate::demo::seed_rounds(
            &mut conn,
            &key,
            settings.min_group_size,
            settings.account_days,
            settings.sms_ready(),
        )?
    };
    let mailer = crate::mail::Mailer::from_settings(&settings)?;
    let sent = crate::mail::outbox::send_due(&pool, &mailer, &settings, &key)?;
    let paper = {
        let mut conn = pool.get()?;
        crate::rounds::letters(&mut conn, &key, &rounds.open_round, false)?
    };
    println!(
        "Demo kommune: {} units, {} employees in {}",
        demo::UNITS.len(),
        files.employees,
        db_path.display()
    );
    println!(
        "Three closed rounds (the latest: {} responses), so every unit has a trend; open round: {} invited, {} of them by SMS.",
        rounds.closed_responses, rounds.open_invited, rounds.open_by_sms
    );
    println!(
        "Absence: {} monthly rows (24 months); try `naervaer analyse --round {}` with NAERVAER_DATABASE_URL=sqlite://{}",
        rounds.absence_rows,
        &rounds.closed_round[..8],
        db_path.display()
    );
    let f = &rounds.followup;
    println!(
        "Follow-up: {} targets, {} measures, {} quarters of SSB's national rates; {} units above target in the latest month, {} asked for a written account ({} answered); see /oppfolging and /tiltak/effekt",
        f.targets, f.measures, f.national_quarters, f.above, f.accounts, f.answered
    );
    println!(
        "Messages: {} sent into {} (.eml e-mails, .sms texts): the open round's invitations, and \"the results are ready\" of this autumn's round, with each group's results link",
        sent.sent,
        outbox_dir.display()
    );
    let letters = outbox_dir.join("brev.html");
    let open = {
        let mut conn = pool.get()?;
        crate::rounds::Round::find(&mut conn, &rounds.open_round)?
    };
    std::fs::write(
        &letters,
        crate::web::views::letters::letters(
            &open.title,
            &settings.base_url,
            open.closes_on_date(),
            &settings.contact,
            &paper,
        )
        .into_string(),
    )?;
    if let Some(p) = paper.first() {
        println!(
            "Paper letters with QR codes for {} people without e-mail or mobile: {} (also at /admin/runder/…/brev); one code ({}): {} at http://{addr}/kode",
            paper.len(),
            letters.display(),
            p.name,
            crate::crypto::format_code(&p.code)
        );
    }
    println!("Norms for sykehjem, hjemmetjeneste, skole and barnehage (made up for the demo) beside those units' results.");
    {
        let mut conn = pool.get()?;
        println!("Sign in (each link works once, for 15 minutes; new ones at http://{addr}/innlogging land in the outbox folder):");
        for demo::DemoPerson {
            role,
            name,
            email,
            id,
        } in demo::sign_in_people(&mut conn)?
        {
            let token = crate::auth::link_token_for(&mut conn, &id)?;
            println!("  {role:<12} {name} <{email}>: http://{addr}/innlogging/{token}");
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

/// GET `path` from the demo's own service: the status line and body.
fn http_get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    let (_, response) = crate::bench::http::request(addr, "GET", path, "", "")?;
    let status = response.lines().next().unwrap_or("").to_string();
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or("")
        .trim()
        .to_string();
    Ok(format!("{status} {body}"))
}
