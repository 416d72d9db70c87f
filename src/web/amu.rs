//! The AMU pages: the analysis of a closed round against sickness absence,
//! its printable report, CSV and JSON. For AMU members and administrators
//! ([`Overview`]). Computed on demand and cached per round, snapshot
//! revision, window, level, language and state of the absence data.

use super::auth::Overview;
use super::{views, AppState};
use crate::analysis::{self, Analysis, Trend, Window};
use crate::db::schema::{absence, snapshots};
use crate::db::DbConnection;
use crate::lang::Lang;
use crate::rounds::Round;
use crate::AppError;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(serde::Deserialize)]
pub struct Query {
    round: Option<String>,
    #[serde(default)]
    window: String,
    level: Option<u32>,
}

type Key = (String, i32, String, Option<u32>, Lang, i64, Option<i64>);
type Cache = Mutex<HashMap<Key, Arc<(Analysis, Trend)>>>;

/// The closed rounds with a snapshot, newest first: (id, title).
fn analysable(conn: &mut DbConnection) -> Result<Vec<(String, String)>, AppError> {
    let mut out = Vec::new();
    for r in Round::all(conn)? {
        if crate::snapshot::load(conn, &r.id)?.is_some() {
            out.push((r.id, r.title));
        }
    }
    Ok(out)
}

fn cached(
    conn: &mut DbConnection,
    round: &str,
    window: &str,
    level: Option<u32>,
    lang: Lang,
) -> Result<Arc<(Analysis, Trend)>, AppError> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let w = Window::parse(window)?;
    let revision: i32 = snapshots::table
        .find(round)
        .select(snapshots::revision)
        .get_result(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    let (count, stamp): (i64, Option<i64>) = absence::table
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::max(absence::imported_at),
        ))
        .get_result(conn)?;
    let key = (
        round.to_string(),
        revision,
        window.to_string(),
        level,
        lang,
        count,
        stamp,
    );
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().expect("analysis cache").get(&key) {
        return Ok(hit.clone());
    }
    let a = analysis::run(conn, round, w, level, lang)?;
    let scores = crate::snapshot::load_scores(conn, round)?.ok_or(AppError::NotFound)?;
    let t = analysis::trend(conn, &scores, lang)?;
    let value = Arc::new((a, t));
    let mut c = cache.lock().expect("analysis cache");
    if c.len() > 64 {
        c.clear();
    }
    c.insert(key, value.clone());
    Ok(value)
}

async fn load(
    state: &AppState,
    q: &Query,
    lang: Lang,
) -> Result<(Arc<(Analysis, Trend)>, Vec<(String, String)>, String), AppError> {
    let pool = state.pool.clone();
    let (round, window, level) = (q.round.clone(), q.window.clone(), q.level);
    web::block(move || -> Result<_, AppError> {
        let mut conn = pool.get()?;
        let rounds = analysable(&mut conn)?;
        let round = match round {
            Some(r) => r,
            None => rounds.first().map(|r| r.0.clone()).ok_or_else(|| {
                AppError::BadRequest(
                    "no round has closed yet: the analysis needs a closed round".into(),
                )
            })?,
        };
        let window = if window.is_empty() {
            "before".to_string()
        } else {
            window
        };
        Ok((
            cached(&mut conn, &round, &window, level, lang)?,
            rounds,
            window,
        ))
    })
    .await?
}

fn lang_of(req: &HttpRequest, v: &Overview) -> Lang {
    super::chosen_lang(req).unwrap_or(v.0 .0.lang)
}

async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Overview,
    q: web::Query<Query>,
    print: bool,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req, &viewer);
    let (data, rounds, window) = load(&state, &q, lang).await?;
    let choices = views::amu::Choices {
        rounds: &rounds,
        round: &data.0.round_id,
        window: &window,
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(
            views::amu::page(lang, &viewer.0 .0, &data.0, &data.1, &choices, print).into_string(),
        ))
}

/// `GET /amu`
pub async fn index(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Overview,
    q: web::Query<Query>,
) -> Result<HttpResponse, AppError> {
    page(req, state, viewer, q, false).await
}

/// `GET /amu/rapport`: one printable document.
pub async fn report(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Overview,
    q: web::Query<Query>,
) -> Result<HttpResponse, AppError> {
    page(req, state, viewer, q, true).await
}

/// `GET /amu/{csv|xlsx}`: the analysis's figures as a file.
pub async fn export(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Overview,
    format: web::Path<String>,
    q: web::Query<Query>,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req, &viewer);
    let (data, _, _) = load(&state, &q, lang).await?;
    let (content_type, body) = match format.as_str() {
        "csv" => ("text/csv; charset=utf-8", analysis::to_csv(&data.0)?),
        _ => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            analysis::to_xlsx(&data.0)?,
        ),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"naervaer-amu.{format}\""),
        ))
        .body(body))
}

/// `GET /api/v1/rounds/{round}/analysis?window=&level=`
pub async fn api(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Overview,
    round: web::Path<String>,
    q: web::Query<Query>,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req, &viewer);
    let mut q = q.into_inner();
    q.round = Some(round.into_inner());
    let (data, _, _) = load(&state, &q, lang).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "analysis": data.0, "trend": data.1 })))
}
