//! Result pages, exports, the JSON API and action plans. Every handler
//! goes through [`load_report`], which applies [`results::may_open`]: one
//! permission check for the page, the print version, CSV, XLSX and JSON.

use super::auth::{Overview, Signed};
use super::{views, AppState};
use crate::lang::Lang;
use crate::results::{self, actions, NewAction, UnitReport};
use crate::rounds::Round;
use crate::snapshot::{Snapshot, ORGANISATION};
use crate::AppError;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;

fn html(markup: maud::Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

fn lang_of(req: &HttpRequest, viewer: &Signed) -> Lang {
    super::chosen_lang(req).unwrap_or(viewer.0.lang)
}

struct Loaded {
    snapshot: Arc<Snapshot>,
    report: UnitReport,
    surveys: Arc<Vec<crate::survey::Survey>>,
}

/// The report of `group` in `round`, if the viewer may open it.
async fn load_report(
    state: &AppState,
    viewer: &Signed,
    round_id: String,
    group: String,
    lang: Lang,
) -> Result<Loaded, AppError> {
    let pool = state.pool.clone();
    let v = viewer.0.clone();
    web::block(move || -> Result<Loaded, AppError> {
        let mut conn = pool.get()?;
        let round = Round::find(&mut conn, &round_id)?;
        let snapshot = crate::snapshot::load(&mut conn, &round.id)?.ok_or(AppError::NotFound)?;
        if snapshot.group(&group).is_none() {
            return Err(AppError::NotFound);
        }
        if !results::may_open(&v, &snapshot, &group) {
            return Err(AppError::Forbidden);
        }
        let surveys = round.surveys(&mut conn)?;
        let report = results::unit_report(&round, &snapshot, &surveys, &group, lang)?;
        Ok(Loaded {
            snapshot,
            report,
            surveys,
        })
    })
    .await?
}

/// `GET /resultater`
pub async fn index(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Signed,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req, &viewer);
    let pool = state.pool.clone();
    let v = viewer.0.clone();
    let rounds = web::block(move || results::listing(&mut *pool.get()?, &v, lang)).await??;
    Ok(html(views::results::index(lang, &viewer.0, &rounds)))
}

fn actions_view(
    state: &AppState,
    viewer: &Signed,
    loaded: &Loaded,
    lang: Lang,
) -> impl FnOnce() -> Result<views::results::ActionsView, AppError> {
    let pool = state.pool.clone();
    let round_id = loaded.report.round_id.clone();
    let group = loaded.report.group.id.clone();
    let editable = may_plan(&viewer.0, &loaded.snapshot, &group);
    let factors = factor_choices(&loaded.snapshot, &loaded.surveys, lang);
    move || {
        let items = if group == ORGANISATION {
            Vec::new()
        } else {
            actions::for_unit(&mut *pool.get()?, &round_id, &group)?
        };
        Ok(views::results::ActionsView {
            items,
            editable,
            factors,
        })
    }
}

/// Leaders edit the plans of their units and the units below them.
fn may_plan(viewer: &crate::auth::Viewer, snapshot: &Snapshot, group: &str) -> bool {
    group != ORGANISATION
        && viewer
            .leader_of
            .iter()
            .any(|u| snapshot.is_within(group, u))
}

fn factor_choices(
    snapshot: &Snapshot,
    surveys: &[crate::survey::Survey],
    lang: Lang,
) -> Vec<(String, String)> {
    snapshot
        .factors
        .iter()
        .map(|f| {
            let name = surveys
                .iter()
                .find(|s| s.id == f.survey)
                .and_then(|s| s.factors.iter().find(|x| x.key == f.key))
                .map_or(f.key.clone(), |x| x.name.get(lang).to_string());
            (format!("{}/{}", f.survey, f.key), name)
        })
        .collect()
}

/// `GET /resultater/{round}/{group}` and its print version.
async fn unit_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Signed,
    path: web::Path<(String, String)>,
    print: bool,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req, &viewer);
    let (round_id, group) = path.into_inner();
    let loaded = load_report(&state, &viewer, round_id, group, lang).await?;
    let actions = web::block(actions_view(&state, &viewer, &loaded, lang)).await??;
    Ok(html(views::results::unit(
        lang,
        &viewer.0,
        &loaded.report,
        &actions,
        print,
        req.path(),
    )))
}

pub async fn unit(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Signed,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    unit_page(req, state, viewer, path, false).await
}

pub async fn print(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Signed,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    unit_page(req, state, viewer, path, true).await
}

fn download(name: &str, content_type: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}

/// `GET /resultater/{round}/{group}/{csv|xlsx}`: the page's figures as a
/// file.
pub async fn export(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Signed,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req, &viewer);
    let (round_id, group, format) = path.into_inner();
    type Writer = fn(&UnitReport) -> Result<Vec<u8>, AppError>;
    let (content_type, write): (&str, Writer) = match format.as_str() {
        "csv" => ("text/csv; charset=utf-8", results::to_csv),
        "xlsx" => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            results::to_xlsx,
        ),
        _ => return Err(AppError::NotFound),
    };
    let r = load_report(&state, &viewer, round_id, group, lang)
        .await?
        .report;
    Ok(download(
        &format!("naervaer-{}.{format}", r.group.code),
        content_type,
        write(&r)?,
    ))
}

/// `GET /api/v1/rounds`: the closed rounds and the groups the viewer may
/// open in each.
pub async fn api_rounds(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Signed,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req, &viewer);
    let pool = state.pool.clone();
    let v = viewer.0.clone();
    let rounds = web::block(move || results::listing(&mut *pool.get()?, &v, lang)).await??;
    let body = serde_json::json!({ "rounds": rounds });
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

/// `GET /api/v1/rounds/{round}/groups/{group}`: the unit report as JSON.
pub async fn api_group(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Signed,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req, &viewer);
    let (round_id, group) = path.into_inner();
    let r = load_report(&state, &viewer, round_id, group, lang)
        .await?
        .report;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(r))
}

#[derive(serde::Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    action: NewAction,
}

/// `POST /resultater/{round}/{group}/tiltak`: a leader adds a measure.
pub async fn add_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Signed,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, AppError> {
    viewer.check_csrf(&form.csrf)?;
    let lang = lang_of(&req, &viewer);
    let (round_id, group) = path.into_inner();
    let loaded = load_report(&state, &viewer, round_id.clone(), group.clone(), lang).await?;
    if !may_plan(&viewer.0, &loaded.snapshot, &group) {
        return Err(AppError::Forbidden);
    }
    let factors: Vec<String> = factor_choices(&loaded.snapshot, &loaded.surveys, lang)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let pool = state.pool.clone();
    let new = form.into_inner().action;
    let added = web::block(move || {
        actions::add(&mut *pool.get()?, &round_id, &group, &factors, &new, lang)
    })
    .await?;
    match added {
        Ok(item) => Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!(
                    "/resultater/{}/{}?lang={}#tiltak",
                    item.round_id,
                    item.unit_id,
                    lang.code()
                ),
            ))
            .finish()),
        Err(AppError::BadRequest(msg)) => Ok(HttpResponse::BadRequest()
            .content_type("text/html; charset=utf-8")
            .body(views::results::form_error(lang, &viewer.0, &msg, &loaded.report).into_string())),
        Err(e) => Err(e),
    }
}

#[derive(serde::Deserialize)]
pub struct DoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    done: String,
}

/// `POST /tiltak/{id}`: marks a measure done or not done.
pub async fn set_done(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Signed,
    id: web::Path<String>,
    form: web::Form<DoneForm>,
) -> Result<HttpResponse, AppError> {
    viewer.check_csrf(&form.csrf)?;
    let lang = lang_of(&req, &viewer);
    let done = match form.done.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::BadRequest("done must be true or false".into())),
    };
    let pool = state.pool.clone();
    let v = viewer.0.clone();
    let item = web::block(move || -> Result<_, AppError> {
        let mut conn = pool.get()?;
        let item = actions::find(&mut conn, &id)?;
        let snapshot =
            crate::snapshot::load(&mut conn, &item.round_id)?.ok_or(AppError::NotFound)?;
        if !may_plan(&v, &snapshot, &item.unit_id) {
            return Err(AppError::Forbidden);
        }
        actions::set_done(&mut conn, &item.id, done)?;
        Ok(item)
    })
    .await??;
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!(
                "/resultater/{}/{}?lang={}#tiltak",
                item.round_id,
                item.unit_id,
                lang.code()
            ),
        ))
        .finish())
}

/// `GET /tiltak`: plans across units, for AMU and administrators.
pub async fn overview(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Overview,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req, &viewer.0);
    let pool = state.pool.clone();
    let rows =
        web::block(move || -> Result<_, AppError> { Ok(actions::overview(&mut *pool.get()?)?) })
            .await??;
    let rows: Vec<(String, String, String, usize, usize)> = rows
        .into_iter()
        .map(|p| {
            (
                p.round_title,
                p.unit_name,
                format!(
                    "/resultater/{}/{}?lang={}#tiltak",
                    p.round_id,
                    p.unit_id,
                    lang.code()
                ),
                p.measures,
                p.done,
            )
        })
        .collect();
    Ok(html(views::results::overview(lang, &viewer.0 .0, &rows)))
}
