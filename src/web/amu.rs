//! The AMU pages: the analysis of a closed round against sickness absence,
//! its printable report, CSV, XLSX and JSON. For AMU members and
//! administrators ([`Overview`]); computed on demand and kept in the
//! service's cache ([`crate::analysis::cached`]).

use super::extract::Overview;
use super::{respond, views, AppState};
use crate::analysis::{self, Analysis, Trend};
use crate::lang::Lang;
use crate::AppError;
use actix_web::{web, HttpResponse};
use std::sync::Arc;

#[derive(serde::Deserialize)]
pub struct Query {
    pub(super) round: Option<String>,
    #[serde(default)]
    window: String,
    level: Option<u32>,
}

/// What an AMU page shows: the analysis and trend, the rounds to choose
/// from (id, title), and the window as asked for.
pub(super) struct Loaded {
    pub(super) data: Arc<(Analysis, Trend)>,
    rounds: Vec<(crate::ids::RoundId, String)>,
    window: String,
}

pub(super) async fn load(state: &AppState, q: &Query, lang: Lang) -> Result<Loaded, AppError> {
    let (round, level) = (q.round.clone(), q.level);
    let window = if q.window.is_empty() {
        "before".to_string()
    } else {
        q.window.clone()
    };
    state
        .db(move |conn, cache| {
            let rounds = analysis::analysable(conn)?;
            let round = match round {
                Some(r) => crate::ids::RoundId::from(r),
                None => rounds
                    .first()
                    .map(|r| r.0.clone())
                    .ok_or(crate::error::UserError::NoClosedRound)?,
            };
            let data = analysis::cached(conn, cache, &round, &window, level, lang)?;
            Ok(Loaded {
                data,
                rounds,
                window,
            })
        })
        .await
}

async fn page(
    state: web::Data<AppState>,
    viewer: Overview,
    q: web::Query<Query>,
    print: bool,
) -> Result<HttpResponse, AppError> {
    let lang = viewer.0.lang;
    let loaded = load(&state, &q, lang).await?;
    let choices = views::amu::Choices {
        rounds: &loaded.rounds,
        round: &loaded.data.0.round_id,
        window: &loaded.window,
    };
    Ok(respond::ok(views::amu::page(
        lang,
        &viewer.0.viewer,
        &loaded.data.0,
        &loaded.data.1,
        &choices,
        print,
    )))
}

/// `GET /amu`
pub async fn index(
    state: web::Data<AppState>,
    viewer: Overview,
    q: web::Query<Query>,
) -> Result<HttpResponse, AppError> {
    page(state, viewer, q, false).await
}

/// `GET /amu/rapport`: one printable document.
pub async fn report(
    state: web::Data<AppState>,
    viewer: Overview,
    q: web::Query<Query>,
) -> Result<HttpResponse, AppError> {
    page(state, viewer, q, true).await
}

/// `GET /amu/{csv|xlsx}`: the analysis's figures as a file.
pub async fn export(
    state: web::Data<AppState>,
    viewer: Overview,
    format: web::Path<String>,
    q: web::Query<Query>,
) -> Result<HttpResponse, AppError> {
    let loaded = load(&state, &q, viewer.0.lang).await?;
    let (content_type, body) = match format.as_str() {
        "csv" => (respond::CSV, analysis::to_csv(&loaded.data.0)?),
        _ => (respond::XLSX, analysis::to_xlsx(&loaded.data.0)?),
    };
    Ok(respond::download(
        &format!("naervaer-amu.{format}"),
        content_type,
        body,
    ))
}
