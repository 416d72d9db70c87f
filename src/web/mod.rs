//! The HTTP service. [`routes`] is the whole URL map. A handler extracts
//! what it needs ([`extract`]: who, which language, a checked form),
//! authorises with [`crate::access`], calls the domain through
//! [`AppState::db`], and renders a view from [`views`] through
//! [`respond`]. No handler writes a query.

pub mod admin;
pub mod amu;
pub mod api;
pub mod auth;
pub mod client;
pub mod extract;
pub mod followup;
pub mod logging;
pub mod metrics;
pub mod origin;
pub mod ratelimit;
pub mod respond;
pub mod results;
pub mod survey;
pub mod views;

use crate::cache::Cache;
use crate::config::Settings;
use crate::db::{DbConnection, Pool};
use crate::lang::Lang;
use crate::AppError;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use std::net::TcpListener;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub settings: Settings,
    /// The one cache of parsed snapshots, questionnaires, pages and
    /// analyses, over this state's database.
    pub cache: std::sync::Arc<Cache>,
    /// None when `NAERVAER_SECRET_KEY` is unset: paper codes cannot be
    /// turned into survey sessions then.
    pub key: Option<crate::crypto::SecretKey>,
    /// Answers go through one committer per process (group commit) unless
    /// `NAERVAER_GROUP_COMMIT=false`.
    pub commit: Option<crate::rounds::commit::GroupCommit>,
    /// Sign-in through the identity provider, when configured.
    pub oidc: Option<crate::auth::oidc::Provider>,
    pub code_limiter: std::sync::Arc<ratelimit::Failures>,
    pub login_limiter: std::sync::Arc<ratelimit::Volume>,
}

/// The rate limits (defined with sign-in, which they protect).
pub use crate::auth::{
    CODE_FAILURES_GLOBAL, CODE_FAILURES_PER_CLIENT, LIMIT_WINDOW, SIGN_IN_REQUESTS_PER_CLIENT,
};

impl AppState {
    pub fn new(pool: Pool, settings: Settings) -> Result<AppState, AppError> {
        let key = match settings.secret_key {
            Some(_) => Some(settings.key()?),
            None => None,
        };
        let commit = settings
            .group_commit
            .then(|| crate::rounds::commit::GroupCommit::start(pool.clone()));
        let oidc = crate::auth::oidc::OidcSettings::from_settings(&settings)
            .map(crate::auth::oidc::Provider::new);
        Ok(AppState {
            oidc,
            pool,
            settings,
            cache: std::sync::Arc::new(Cache::default()),
            key,
            commit,
            code_limiter: std::sync::Arc::new(ratelimit::Failures::new(
                CODE_FAILURES_PER_CLIENT,
                CODE_FAILURES_GLOBAL,
                LIMIT_WINDOW,
            )),
            login_limiter: std::sync::Arc::new(ratelimit::Volume::new(
                SIGN_IN_REQUESTS_PER_CLIENT,
                LIMIT_WINDOW,
            )),
        })
    }
}

/// A connection of `pool`, the wait measured.
fn connection(pool: &Pool) -> Result<crate::db::PooledConn, AppError> {
    let started = std::time::Instant::now();
    let got = pool.get();
    observe_wait(started, got.is_err());
    Ok(got?)
}

/// The pool wait since `started`, and a timeout when nothing came.
fn observe_wait(started: std::time::Instant, timed_out: bool) {
    let metrics = crate::metrics::get();
    metrics
        .pool_wait_seconds
        .observe(started.elapsed().as_secs_f64());
    if timed_out {
        metrics.pool_timeouts.inc();
    }
}

impl AppState {
    /// Runs database work with a connection of this service's pool, on
    /// the blocking thread pool: the one way a handler reaches the
    /// database.
    pub async fn db<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection, &Cache) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let cache = self.cache.clone();
        web::block(move || work(&mut *connection(&pool)?, &cache)).await?
    }

    /// A short read by unique key on the answering path (the invitation
    /// behind a link or cookie). On SQLite it runs on the request's own
    /// worker thread when a pooled connection is free: the read takes tens
    /// of microseconds, less than handing it to a blocking thread and back,
    /// and never waits for a lock (readers do not block in WAL mode).
    /// Taken from the top of the pool, the same few connections serve
    /// these reads, and their page caches stay warm until the next commit.
    /// Otherwise, and always on PostgreSQL (a round trip), as [`Self::db`].
    pub async fn db_quick<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection, &Cache) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let started = std::time::Instant::now();
        if let Some(mut conn) = self.pool.try_get() {
            if matches!(&*conn, DbConnection::Sqlite(_)) {
                observe_wait(started, false);
                return work(&mut conn, &self.cache);
            }
        }
        self.db(work).await
    }

    /// Database work the answer must not wait for (sending a sign-in link,
    /// sending due e-mail now), on a thread of its own; a failure is
    /// logged under `what`.
    pub fn in_background<F>(&self, what: &'static str, work: F)
    where
        F: FnOnce(&Pool, &Settings) -> Result<(), AppError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let settings = self.settings.clone();
        std::thread::spawn(move || {
            let run = || work(&pool, &settings);
            if let Err(e) = run() {
                tracing::warn!(error = %e.chain(), "{what} failed");
            }
        });
    }
}

/// Largest request body accepted anywhere; survey forms are far smaller.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The content security policy: no inline scripts or styles, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics::with_token))
        .route("/static/app.css", web::get().to(stylesheet))
        .route("/static/kode.js", web::get().to(code_script))
        .route("/s/{token}", web::get().to(survey::enter))
        .route("/svar", web::get().to(survey::start))
        .route("/svar", web::post().to(survey::step))
        .route("/kvittering", web::get().to(survey::receipt))
        .route("/kode", web::get().to(survey::code_form))
        .route("/kode", web::post().to(survey::code_enter))
        .route("/tilgjengelighet", web::get().to(survey::accessibility))
        .route("/innlogging", web::get().to(auth::request_form))
        .route("/innlogging", web::post().to(auth::request_link))
        .route("/innlogging/{token}", web::get().to(auth::confirm))
        .route("/innlogging/{token}", web::post().to(auth::redeem))
        .route("/utlogging", web::post().to(auth::sign_out))
        .route("/oidc/login", web::get().to(auth::oidc_login))
        .route("/oidc/callback", web::get().to(auth::oidc_callback))
        .route("/r/{token}", web::get().to(results::linked))
        .route("/resultater", web::get().to(results::index))
        .route("/svarprosent", web::get().to(results::response_rates))
        .route("/resultater/{round}/{group}", web::get().to(results::unit))
        .route(
            "/resultater/{round}/{group}/utskrift",
            web::get().to(results::print),
        )
        .route(
            "/resultater/{round}/{group}/kart",
            web::get().to(results::heatmap),
        )
        .route(
            "/resultater/{round}/{group}/{format:csv|xlsx}",
            web::get().to(results::export),
        )
        .route(
            "/resultater/{round}/{group}/tiltak",
            web::post().to(results::add_action),
        )
        .route("/tiltak", web::get().to(followup::register))
        .route("/tiltak", web::post().to(followup::add_to_register))
        .route("/tiltak/typer", web::post().to(followup::add_type))
        .route("/tiltak/effekt", web::get().to(followup::effects))
        .route("/tiltak/{id}", web::post().to(results::set_done))
        .route("/oppfolging", web::get().to(followup::home))
        .route("/oppfolging/sjekk", web::post().to(followup::check))
        .route("/oppfolging/over-mal", web::get().to(followup::above))
        .route(
            "/oppfolging/over-mal/utskrift",
            web::get().to(followup::above_print),
        )
        .route("/oppfolging/enheter/{unit}", web::get().to(followup::unit))
        .route(
            "/oppfolging/enheter/{unit}/maal",
            web::post().to(followup::set_target),
        )
        .route(
            "/oppfolging/enheter/{unit}/tiltak",
            web::post().to(followup::add_measure),
        )
        .route(
            "/oppfolging/tiltak/{id}/status",
            web::post().to(followup::set_status),
        )
        .route("/oppfolging/rapporter", web::get().to(followup::reports))
        .route(
            "/oppfolging/rapporter/{kind}/{period}",
            web::get().to(followup::report),
        )
        .route(
            "/oppfolging/rapporter/{kind}/{period}/xlsx",
            web::get().to(followup::report_xlsx),
        )
        .route(
            "/redegjorelse/{id}/{token}",
            web::get().to(followup::account_form),
        )
        .route(
            "/redegjorelse/{id}/{token}",
            web::post().to(followup::account_answer),
        )
        .route("/admin", web::get().to(admin::index))
        .route("/admin/runder", web::post().to(admin::create_round))
        .route("/admin/behandling", web::get().to(admin::processing))
        .route(
            "/admin/behandling.md",
            web::get().to(admin::processing_markdown),
        )
        .route("/admin/runder/{id}", web::get().to(admin::round_page))
        .route("/admin/runder/{id}/brev", web::get().to(admin::letters))
        .route(
            "/admin/runder/{id}/{action}",
            web::post().to(admin::round_action),
        )
        .route("/admin/utsending", web::post().to(admin::send_now))
        .route("/admin/import", web::post().to(admin::import_preview))
        .route("/admin/import/{id}", web::post().to(admin::import_apply))
        .route("/amu", web::get().to(amu::index))
        .route("/amu/rapport", web::get().to(amu::report))
        .route("/amu/{format:csv|xlsx}", web::get().to(amu::export))
        .route("/api/v1/openapi.json", web::get().to(api::openapi))
        .route(
            "/api/v1/rounds/{round}/analysis",
            web::get().to(api::analysis),
        )
        .route("/api/v1/rounds", web::get().to(api::rounds))
        .route(
            "/api/v1/rounds/{round}/groups/{group}",
            web::get().to(api::group),
        );
}

/// The metrics server of `NAERVAER_METRICS_BIND`: `/metrics` alone, on
/// one worker.
pub fn run_metrics(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let data = web::Data::new(state);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(metrics::open))
    })
    .workers(1)
    .shutdown_timeout(1)
    .listen(listener)?
    .run())
}

/// Starts the server on an already bound listener, so tests can bind
/// `127.0.0.1:0`. actix-web stops gracefully on SIGTERM and SIGINT: it stops
/// accepting, lets requests in flight finish (up to the timeout), then exits.
pub fn run(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let pool_threads = (state.settings.pool_size as usize * 2).max(4);
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .app_data(web::FormConfig::default().limit(MAX_BODY_BYTES))
            .wrap(from_fn(origin::refuse_cross_site))
            .wrap(
                DefaultHeaders::new()
                    .add((header::CONTENT_SECURITY_POLICY, CSP))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((header::REFERRER_POLICY, "no-referrer"))
                    .add((header::X_FRAME_OPTIONS, "DENY")),
            )
            .wrap(from_fn(localise_errors))
            .wrap(from_fn(logging::log_request))
            .configure(routes)
            .default_service(web::to(not_found))
    })
    .shutdown_timeout(10)
    // Blocking work is database work, and the pool holds at most
    // `NAERVAER_POOL_SIZE` connections: more threads than that per worker
    // only wait, each with its own stack (the default is 512 / workers,
    // which under 1 000 held clients cost ~100 MB of resident memory).
    .worker_max_blocking_threads(pool_threads)
    .listen(listener)?
    .run();
    Ok(server)
}

pub use extract::chosen_lang;

async fn index(req: HttpRequest, lang: extract::PageLang) -> HttpResponse {
    respond::ok(views::index(lang.0, req.path()))
}

async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let result = state
        .db(|conn, _| {
            crate::db::ping(conn)?;
            Ok(conn.backend().name())
        })
        .await;
    match result {
        Ok(backend) => {
            HttpResponse::Ok().json(serde_json::json!({"status": "ok", "database": backend}))
        }
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({"status": "unavailable", "database": "unreachable"}))
        }
    }
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../static/app.css"))
}

async fn code_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../static/kode.js"))
}

async fn not_found(req: HttpRequest, lang: extract::PageLang) -> HttpResponse {
    respond::page(
        actix_web::http::StatusCode::NOT_FOUND,
        views::error_page(lang.0, req.path(), actix_web::http::StatusCode::NOT_FOUND),
    )
}

/// The error page of `e` in `lang`: a [`crate::error::UserError`] says what
/// was wrong and what to do; anything else only that it went wrong.
fn error_response_in(e: &AppError, lang: Lang, path: &str) -> HttpResponse {
    if path.starts_with("/api/") {
        return HttpResponse::build(e.status())
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(api::ApiError::of(e, lang));
    }
    let detail = match e {
        AppError::User(u) => Some(u.render(lang)),
        _ => None,
    };
    respond::page(
        e.status(),
        views::error_page_with(lang, path, e.status(), detail.as_deref()),
    )
}

impl ResponseError for AppError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.status()
    }
    fn error_response(&self) -> HttpResponse {
        if self.status().is_server_error() {
            tracing::error!(error = %self.chain(), "request failed");
        }
        error_response_in(self, Lang::Nb, "/")
    }
}

/// `ResponseError` cannot see the request, so its page is in bokmål; this
/// renders the page again in the request's language (`?lang=`, else the
/// installation's).
async fn localise_errors(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<actix_web::body::BoxBody>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let lang = chosen_lang(req.request()).unwrap_or_else(|| {
        req.app_data::<web::Data<AppState>>()
            .map_or(Lang::Nb, |s| s.settings.lang)
    });
    let res = next.call(req).await?;
    let again = res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
        .filter(|_| lang != Lang::Nb || res.request().path().starts_with("/api/"))
        .map(|e| error_response_in(e, lang, res.request().path()));
    Ok(match again {
        Some(page) => res.into_response(page),
        None => res,
    })
}
