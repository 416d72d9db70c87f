//! The JSON API under `/api/v1`, and its OpenAPI 3.1 document, generated
//! from the same Rust types the handlers serialize (utoipa) and served at
//! `/api/v1/openapi.json`. Errors under `/api/` are JSON too
//! ([`ApiError`]). The tests validate the document and every API answer
//! they receive against it with an independent validator.

use super::extract::{Overview, Signed};
use super::{amu, respond, results, AppState};
use crate::analysis::{Analysis, Trend};
use crate::results::RoundListing;
use crate::AppError;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// `GET /api/v1/rounds`.
#[derive(Serialize, ToSchema)]
pub struct RoundList {
    /// Closed rounds, newest first, with the groups the viewer may open.
    pub rounds: Vec<RoundListing>,
}

/// `GET /api/v1/rounds/{round}/analysis`.
#[derive(Serialize, ToSchema)]
pub struct AnalysisAnswer<'a> {
    pub analysis: &'a Analysis,
    pub trend: &'a Trend,
}

/// Any error under `/api/`.
#[derive(Serialize, ToSchema)]
pub struct ApiError {
    /// The HTTP status again.
    pub status: u16,
    /// A stable word for programs: bad_request, unauthorised, forbidden,
    /// not_found, too_many_requests, unavailable, internal.
    pub error: &'static str,
    /// What was wrong, for a person, in the request's language.
    pub message: String,
}

impl ApiError {
    pub fn of(e: &AppError, lang: crate::lang::Lang) -> ApiError {
        let status = e.status();
        let error = match status.as_u16() {
            400 => "bad_request",
            401 => "unauthorised",
            403 => "forbidden",
            404 => "not_found",
            429 => "too_many_requests",
            503 => "unavailable",
            _ => "internal",
        };
        let message = match e {
            AppError::User(u) => u.render(lang),
            _ => {
                let (title, text) = super::views::status_words(lang, status);
                format!("{title}. {text}")
            }
        };
        ApiError {
            status: status.as_u16(),
            error,
            message,
        }
    }
}

/// `GET /api/v1/rounds`: the closed rounds and the groups the viewer may
/// open in each.
#[utoipa::path(
    get,
    path = "/api/v1/rounds",
    tag = "results",
    params(Lang),
    responses(
        (status = 200, description = "The closed rounds and the groups the viewer may open", body = RoundList),
        (status = 401, description = "Not signed in", body = ApiError),
    ),
    security(("session" = []))
)]
pub async fn rounds(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse, AppError> {
    let (viewer, lang) = (signed.viewer.clone(), signed.lang);
    let rounds = state
        .db(move |conn, cache| crate::results::listing(conn, cache, &viewer, lang))
        .await?;
    Ok(respond::json(&RoundList { rounds }))
}

/// `GET /api/v1/rounds/{round}/groups/{group}`: the unit report, as the
/// page shows it. A hidden figure is `null`, never a number.
#[utoipa::path(
    get,
    path = "/api/v1/rounds/{round}/groups/{group}",
    tag = "results",
    params(
        ("round" = String, Path, description = "The round's id"),
        ("group" = String, Path, description = "The group's id (a unit's id, or `org`)"),
        Lang,
    ),
    responses(
        (status = 200, description = "The group's report", body = crate::results::UnitReport),
        (status = 401, description = "Not signed in", body = ApiError),
        (status = 403, description = "The viewer may not see this group", body = ApiError),
        (status = 404, description = "No such closed round or group", body = ApiError),
    ),
    security(("session" = []))
)]
pub async fn group(
    state: web::Data<AppState>,
    signed: Signed,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (round_id, group) = path.into_inner();
    let r = results::load_report(&state, &signed, round_id, group)
        .await?
        .report;
    Ok(respond::json(&r))
}

/// `GET /api/v1/rounds/{round}/analysis?window=&level=`: the AMU analysis
/// (factors against sickness absence) and the absence trend per area.
#[utoipa::path(
    get,
    path = "/api/v1/rounds/{round}/analysis",
    tag = "analysis",
    params(
        ("round" = String, Path, description = "The closed round's id"),
        ("window" = Option<String>, Query, description = "before (the 12 months up to closing, the default), after, or FROM..TO (YYYY-MM-DD..YYYY-MM-DD)"),
        ("level" = Option<u32>, Query, description = "Depth of the reporting groups (0 = the root)"),
        Lang,
    ),
    responses(
        (status = 200, description = "The analysis and the trend", body = AnalysisAnswer),
        (status = 400, description = "A window or level that cannot be read", body = ApiError),
        (status = 401, description = "Not signed in", body = ApiError),
        (status = 403, description = "Only AMU members and administrators", body = ApiError),
        (status = 404, description = "No such closed round", body = ApiError),
    ),
    security(("session" = []))
)]
pub async fn analysis(
    state: web::Data<AppState>,
    viewer: Overview,
    round: web::Path<String>,
    q: web::Query<amu::Query>,
) -> Result<HttpResponse, AppError> {
    let mut q = q.into_inner();
    q.round = Some(round.into_inner());
    let loaded = amu::load(&state, &q, viewer.0.lang).await?;
    let (analysis, trend) = &*loaded.data;
    Ok(respond::json(&AnalysisAnswer { analysis, trend }))
}

/// `?lang=`: the language of names and messages.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // a declaration for the document only
struct Lang {
    /// nb, nn or en (default: the viewer's own).
    lang: Option<String>,
}

struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                super::extract::SESSION_COOKIE,
                "The session of a person signed in by an e-mailed link (/innlogging)",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "naervaer",
        description = "Results of closed survey rounds and the AMU analysis, as the signed-in \
                       viewer may see them. Every figure the anonymity rules hide is null.",
        license(name = "AGPL-3.0-or-later"),
    ),
    paths(rounds, group, analysis),
    modifiers(&SessionCookie),
    tags(
        (name = "results", description = "Survey results per group"),
        (name = "analysis", description = "Survey factors against sickness absence (AMU)"),
    )
)]
struct ApiDoc;

/// The OpenAPI document, as JSON text.
pub fn document() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.to_pretty_json()
        .expect("the OpenAPI document serialises")
}

/// `GET /api/v1/openapi.json`: public, like any API description.
pub async fn openapi() -> HttpResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOC.get_or_init(document).clone())
}
