//! `naervaer serve`: the web service and its background duties.

use crate::config::Settings;
use crate::web::{self, AppState};
use crate::{db, AppError};
use std::net::TcpListener;
use std::process::ExitCode;

/// How often `serve` applies the retention rules and reminds leaders of
/// accounts that are due.
const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

pub fn serve(settings: Settings) -> Result<ExitCode, AppError> {
    let pool =
        crate::migrate::open_server_pool(settings.database_url.expose(), settings.pool_size)?;
    let listener = TcpListener::bind(&settings.bind)
        .map_err(|e| AppError::config_by(format!("cannot listen on {}", settings.bind), e))?;
    tracing::info!(address = %listener.local_addr()?, base_url = %settings.base_url, "naervaer serving");
    let metrics = match &settings.metrics_bind {
        Some(bind) => {
            let l = TcpListener::bind(bind)
                .map_err(|e| AppError::config_by(format!("cannot listen on {bind}"), e))?;
            tracing::info!(address = %l.local_addr()?, "metrics at /metrics");
            Some(l)
        }
        None => None,
    };
    let state = AppState::new(pool.clone(), settings.clone())?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let background = spawn_background(pool, settings, stop.clone());
    actix_web::rt::System::new().block_on(async move {
        if let Some(l) = metrics {
            actix_web::rt::spawn(web::run_metrics(l, state.clone())?);
        }
        web::run(listener, state)?.await
    })?;
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
    let mailer = match crate::mail::Mailer::from_settings(&settings) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(error = %e, "e-mail sending is off");
            None
        }
    };
    let key = settings.key().ok();
    Some(std::thread::spawn(move || {
        let mut last_retention: Option<std::time::Instant> = None;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            if let (Some(mailer), Some(key)) = (&mailer, &key) {
                match crate::mail::outbox::send_due(&pool, mailer, &settings, key) {
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
                let closed = crate::rounds::close_expired(&mut c, reduce_now)?;
                crate::rounds::reduce_expired(&mut c, settings.retention_days)?;
                crate::import::sweep_pending(&mut c)?;
                crate::auth::sweep(&mut c)?;
                Ok(closed)
            }) {
                Ok(closed) => {
                    for id in closed {
                        tracing::info!(round = %id, "round closed at its closing date");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "closing rounds failed"),
            }
            if last_retention.map_or(true, |t: std::time::Instant| t.elapsed() >= RETENTION_EVERY) {
                last_retention = Some(std::time::Instant::now());
                match pool
                    .get()
                    .map_err(AppError::from)
                    .and_then(|mut c| crate::retention::run(&mut c, &settings, true))
                {
                    // Counts only: never who or what.
                    Ok(c) if !c.is_empty() => tracing::info!(
                        people_deleted = c.people_deleted,
                        people_pseudonymised = c.people_pseudonymised,
                        sessions_deleted = c.sessions_deleted,
                        sign_in_links_deleted = c.sign_in_links_deleted,
                        absence_rows_deleted = c.absence_rows_deleted,
                        responses_deleted = c.responses_deleted,
                        results_messages_deleted = c.results_messages_deleted,
                        "retention"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e.chain(), "retention run failed"),
                }
                // Accounts of units above target: reminders a week before
                // and on the due date (two at most, one a day).
                match pool
                    .get()
                    .map_err(AppError::from)
                    .and_then(|mut c| crate::followup::accounts::remind_due(&mut c))
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(reminders = n, "accounts of absence above target"),
                    Err(e) => tracing::warn!(error = %e.chain(), "account reminders failed"),
                }
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
