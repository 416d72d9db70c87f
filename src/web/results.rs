//! Result pages, exports, the JSON API and action plans. Every handler of
//! one group's results goes through [`load_report`], which asks
//! [`crate::access`] for [`Resource::GroupResults`]: one decision for the
//! page, the print version, CSV, XLSX and JSON.

use super::extract::{Signed, SignedForm};
use super::{respond, views, AppState};
use crate::access::Resource;
use crate::followup::plans::{self as actions, NewAction};
use crate::ids::GroupKey;
use crate::lang::Lang;
use crate::results::{self, UnitReport};
use crate::rounds::Round;
use crate::snapshot::{Snapshot, ORGANISATION};
use crate::AppError;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;

pub(super) struct Loaded {
    snapshot: Arc<Snapshot>,
    pub(super) report: UnitReport,
    surveys: Arc<Vec<crate::survey::Survey>>,
}

/// The report of `group` in `round`, if the viewer may open it.
pub(super) async fn load_report(
    state: &AppState,
    signed: &Signed,
    round_id: String,
    group: String,
) -> Result<Loaded, AppError> {
    let viewer = signed.viewer.clone();
    let lang = signed.lang;
    state
        .db(move |conn, cache| {
            let round = Round::find(conn, &round_id.into())?;
            let snapshot =
                crate::snapshot::load_cached(conn, cache, &round.id)?.ok_or(AppError::NotFound)?;
            if snapshot.group(&group).is_none() {
                return Err(AppError::NotFound);
            }
            let group = GroupKey::from(group);
            crate::access::require(
                Some(&viewer),
                Resource::GroupResults {
                    snapshot: &snapshot,
                    group: &group,
                },
            )?;
            let surveys = crate::rounds::surveys(conn, cache, &round)?;
            let report = results::unit_report(&round, &snapshot, &surveys, &group, lang)?;
            let report = results::compare::attach(conn, cache, &round, report)?;
            Ok(Loaded {
                snapshot,
                report,
                surveys,
            })
        })
        .await
}

/// `GET /r/{token}`: the released results of the group a "results are
/// ready" link names, or of the nearest shown group above it, for anyone
/// holding the link ([`Resource::LinkedResults`]); no sign-in.
pub async fn linked(
    req: HttpRequest,
    state: web::Data<AppState>,
    lang: super::extract::PageLang,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let lang = lang.0;
    let token = token.into_inner();
    let report = state
        .db(move |conn, cache| {
            let (round_id, linked) = results::find_link(conn, &token)?.ok_or(AppError::NotFound)?;
            let round = Round::find(conn, &round_id)?;
            let snapshot =
                crate::snapshot::load_cached(conn, cache, &round.id)?.ok_or(AppError::NotFound)?;
            let group = crate::access::linked_group(&snapshot, linked.as_str())
                .map(|g| GroupKey::from(g.key.as_str()))
                .ok_or(AppError::NotFound)?;
            crate::access::require(
                None,
                Resource::LinkedResults {
                    snapshot: &snapshot,
                    linked: &linked,
                    group: &group,
                },
            )?;
            let surveys = crate::rounds::surveys(conn, cache, &round)?;
            let report = results::unit_report(&round, &snapshot, &surveys, &group, lang)?;
            results::compare::attach(conn, cache, &round, report)
        })
        .await?;
    Ok(respond::ok(views::results::linked(
        lang,
        &report,
        req.path(),
    )))
}

/// `GET /svarprosent`: the open rounds' response counts of the viewer's
/// units (rows of at least k invited; [`Resource::ResponseCounts`]).
pub async fn response_rates(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse, AppError> {
    let viewer = signed.viewer.clone();
    let rounds = state
        .db(move |conn, _| crate::rounds::live::open_rounds(conn, &viewer))
        .await?;
    Ok(respond::ok(views::live::page(
        signed.lang,
        &signed.viewer,
        &rounds,
    )))
}

#[derive(serde::Deserialize)]
pub struct HeatQuery {
    #[serde(default)]
    farge: String,
}

/// `GET /resultater/{round}/{group}/kart`: units × factors of the groups
/// at and below `group` the viewer may open, coloured by score or by the
/// change since the last round.
pub async fn heatmap(
    state: web::Data<AppState>,
    signed: Signed,
    path: web::Path<(String, String)>,
    query: web::Query<HeatQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (round_id, group) = path.into_inner();
    let loaded = load_report(&state, &signed, round_id, group).await?;
    let colour = if query.farge == "endring" {
        results::compare::Colour::Change
    } else {
        results::compare::Colour::Score
    };
    let map = results::compare::heatmap(
        &loaded.snapshot,
        &loaded.surveys,
        &signed.viewer,
        &GroupKey::from(loaded.report.group.id.as_str()),
        signed.lang,
    );
    Ok(respond::ok(views::results::heatmap(
        signed.lang,
        &signed.viewer,
        &loaded.report,
        &map,
        colour,
        req.path(),
    )))
}

/// Whether the viewer may edit `group`'s plan.
fn may_plan(signed: &Signed, snapshot: &Snapshot, group: &str) -> bool {
    let group = &GroupKey::from(group);
    signed
        .require(Resource::GroupPlan { snapshot, group })
        .is_ok()
}

/// `GET /resultater`
pub async fn index(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse, AppError> {
    let (viewer, lang) = (signed.viewer.clone(), signed.lang);
    let rounds = state
        .db(move |conn, cache| results::listing(conn, cache, &viewer, lang))
        .await?;
    Ok(respond::ok(views::results::index(
        lang,
        &signed.viewer,
        &rounds,
    )))
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
    signed: Signed,
    path: web::Path<(String, String)>,
    print: bool,
) -> Result<HttpResponse, AppError> {
    let (round_id, group) = path.into_inner();
    let loaded = load_report(&state, &signed, round_id, group).await?;
    let group = loaded.report.group.id.clone();
    let round = loaded.report.round_id.clone();
    let editable = may_plan(&signed, &loaded.snapshot, &group);
    let factors = factor_choices(&loaded.snapshot, &loaded.surveys, signed.lang);
    let items = if group == ORGANISATION {
        Vec::new()
    } else {
        state
            .db(move |conn, _| actions::for_unit(conn, &round, &crate::ids::UnitId::from(group)))
            .await?
    };
    let actions = views::results::ActionsView {
        items,
        editable,
        factors,
    };
    Ok(respond::ok(views::results::unit(
        signed.lang,
        &signed.viewer,
        &loaded.report,
        &actions,
        print,
        req.path(),
    )))
}

pub async fn unit(
    req: HttpRequest,
    state: web::Data<AppState>,
    signed: Signed,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    unit_page(req, state, signed, path, false).await
}

pub async fn print(
    req: HttpRequest,
    state: web::Data<AppState>,
    signed: Signed,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    unit_page(req, state, signed, path, true).await
}

/// `GET /resultater/{round}/{group}/{csv|xlsx}`: the page's figures as a
/// file.
pub async fn export(
    state: web::Data<AppState>,
    signed: Signed,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    let (round_id, group, format) = path.into_inner();
    type Writer = fn(&UnitReport) -> Result<Vec<u8>, AppError>;
    let (content_type, write): (&str, Writer) = match format.as_str() {
        "csv" => (respond::CSV, results::to_csv),
        "xlsx" => (respond::XLSX, results::to_xlsx),
        _ => return Err(AppError::NotFound),
    };
    let r = load_report(&state, &signed, round_id, group).await?.report;
    Ok(respond::download(
        &format!("naervaer-{}.{format}", r.group.code),
        content_type,
        write(&r)?,
    ))
}

fn plan_location(round: &str, unit: &str, lang: Lang) -> String {
    format!("/resultater/{round}/{unit}?lang={}#tiltak", lang.code())
}

/// `POST /resultater/{round}/{group}/tiltak`: a leader adds a measure.
pub async fn add_action(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: SignedForm<NewAction>,
) -> Result<HttpResponse, AppError> {
    let SignedForm { signed, form: new } = form;
    let lang = signed.lang;
    let (round_id, group) = path.into_inner();
    let loaded = load_report(&state, &signed, round_id.clone(), group.clone()).await?;
    signed.require(Resource::GroupPlan {
        snapshot: &loaded.snapshot,
        group: &GroupKey::from(group.as_str()),
    })?;
    let factors: Vec<String> = factor_choices(&loaded.snapshot, &loaded.surveys, lang)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let back = plan_location(&round_id, &group, lang);
    let added = state
        .db(move |conn, _| {
            Ok(actions::add(
                conn,
                &crate::ids::RoundId::from(round_id),
                &crate::ids::UnitId::from(group),
                &factors,
                &new,
            ))
        })
        .await?;
    match added {
        Ok(_) => Ok(respond::see_other(&back)),
        Err(AppError::User(u @ crate::error::UserError::Measure(_))) => Ok(respond::page(
            actix_web::http::StatusCode::BAD_REQUEST,
            views::results::form_error(lang, &signed.viewer, &u.render(lang), &loaded.report),
        )),
        Err(e) => Err(e),
    }
}

#[derive(serde::Deserialize)]
pub struct DoneForm {
    #[serde(default)]
    done: String,
}

/// `POST /tiltak/{id}`: marks a measure done or not done.
pub async fn set_done(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: SignedForm<DoneForm>,
) -> Result<HttpResponse, AppError> {
    let SignedForm { signed, form } = form;
    let done = match form.done.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(crate::error::UserError::BadForm.into()),
    };
    let viewer = signed.viewer.clone();
    let (round, unit) = state
        .db(move |conn, cache| {
            let item = actions::find(conn, &id)?;
            let (Some(round), Some(unit)) = (item.round_id.clone(), item.units.first().cloned())
            else {
                // A measure of the register, not of a survey's plan.
                return Err(AppError::NotFound);
            };
            let snapshot =
                crate::snapshot::load_cached(conn, cache, &round)?.ok_or(AppError::NotFound)?;
            crate::access::require(
                Some(&viewer),
                Resource::GroupPlan {
                    snapshot: &snapshot,
                    group: &GroupKey::from(unit.as_str()),
                },
            )?;
            actions::set_done(conn, &item.id, done)?;
            Ok((round, unit))
        })
        .await?;
    Ok(respond::see_other(&plan_location(
        &round,
        &unit,
        signed.lang,
    )))
}
