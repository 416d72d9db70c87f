//! The follow-up pages: units against their targets, a unit's follow-up,
//! the overview of units above target, the written account's form, the
//! register of measures and the effect of measures. Every handler
//! extracts, asks [`crate::access`], calls [`crate::followup`], renders.

use super::extract::{Overview, PageLang, Signed, SignedForm};
use super::{respond, views, AppState};
use crate::access::Resource;
use crate::error::UserError;
use crate::followup::{self, accounts, measures, targets};
use crate::ids::UnitId;
use crate::lang::Lang;
use crate::AppError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use views::followup::RegisterQuery;

fn k(state: &AppState) -> u32 {
    state.settings.min_group_size
}

/// `GET /oppfolging`.
pub async fn home(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse, AppError> {
    signed.require(Resource::Register)?;
    let (viewer, k) = (signed.viewer.clone(), k(&state));
    let h = state
        .db(move |conn, _| followup::view::home(conn, &viewer, k))
        .await?;
    Ok(respond::ok(views::followup::home(
        signed.lang,
        &signed.viewer,
        &h,
        None,
    )))
}

/// `POST /oppfolging/sjekk`: finds the units above target now and asks
/// for the accounts not asked for yet (AMU, administrators).
pub async fn check(
    state: web::Data<AppState>,
    form: SignedForm<serde::de::IgnoredAny>,
) -> Result<HttpResponse, AppError> {
    let signed = form.signed;
    signed.require(Resource::Overview)?;
    let (k, days) = (k(&state), state.settings.account_days);
    let viewer = signed.viewer.clone();
    let (done, h) = state
        .db(move |conn, _| {
            let done = followup::check(conn, k, days)?;
            Ok((done, followup::view::home(conn, &viewer, k)?))
        })
        .await?;
    let l = signed.lang;
    let text = match l {
        Lang::Nb => format!(
            "{} enheter med måltall sammenlignet, {} over målet; {} nye redegjørelser bedt om, {} e-poster lagt i kø{}.",
            done.compared, done.above, done.requested.accounts, done.requested.mails,
            if done.requested.without_leader > 0 { format!(", {} enheter uten leder med e-post", done.requested.without_leader) } else { String::new() }
        ),
        Lang::Nn => format!(
            "{} einingar med måltal samanlikna, {} over målet; {} nye utgreiingar bedne om, {} e-postar lagde i kø{}.",
            done.compared, done.above, done.requested.accounts, done.requested.mails,
            if done.requested.without_leader > 0 { format!(", {} einingar utan leiar med e-post", done.requested.without_leader) } else { String::new() }
        ),
        Lang::En => format!(
            "{} units with a target compared, {} above it; {} new accounts asked for, {} e-mails queued{}.",
            done.compared, done.above, done.requested.accounts, done.requested.mails,
            if done.requested.without_leader > 0 { format!(", {} units without a leader with e-mail", done.requested.without_leader) } else { String::new() }
        ),
    };
    // Due e-mail goes now, not at the next turn of the background duties.
    state.in_background("sending due e-mail", |pool, settings| {
        let mailer = crate::mail::Mailer::from_settings(settings)?;
        crate::mail::outbox::send_due(pool, &mailer, settings, &settings.key()?)?;
        Ok(())
    });
    Ok(respond::ok(views::followup::home(
        l,
        &signed.viewer,
        &h,
        Some(&text),
    )))
}

/// The unit named in a path, with its path from the root: 404 when unknown.
async fn unit_path(state: &AppState, unit: String) -> Result<(UnitId, Vec<UnitId>), AppError> {
    let id = UnitId::from(unit);
    let lookup = id.clone();
    let path = state
        .db(move |conn, _| followup::view::path_of(conn, &lookup))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((id, path))
}

/// `GET /oppfolging/enheter/{unit}`.
pub async fn unit(
    state: web::Data<AppState>,
    signed: Signed,
    unit: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (id, path) = unit_path(&state, unit.into_inner()).await?;
    signed.require(Resource::UnitFollowUp { path: &path })?;
    let editable = signed
        .require(Resource::EditFollowUp { path: &path })
        .is_ok();
    let k = k(&state);
    let v = state
        .db(move |conn, _| followup::view::unit(conn, &id, k))
        .await?;
    Ok(respond::ok(views::followup::unit(
        signed.lang,
        &signed.viewer,
        &v,
        editable,
        req.path(),
    )))
}

fn unit_location(unit: &UnitId, lang: Lang, anchor: &str) -> String {
    format!("/oppfolging/enheter/{unit}?lang={}{anchor}", lang.code())
}

#[derive(serde::Deserialize)]
pub struct TargetForm {
    #[serde(default)]
    year: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
}

/// `POST /oppfolging/enheter/{unit}/maal`: the unit's own target for a
/// year (an empty value removes it).
pub async fn set_target(
    state: web::Data<AppState>,
    unit: web::Path<String>,
    form: SignedForm<TargetForm>,
) -> Result<HttpResponse, AppError> {
    let SignedForm { signed, form } = form;
    let (id, path) = unit_path(&state, unit.into_inner()).await?;
    signed.require(Resource::EditFollowUp { path: &path })?;
    let year: i32 = match form.year.trim().parse() {
        Ok(y) if (2000..=2100).contains(&y) => y,
        _ => return Err(UserError::BadYear { given: form.year }.into()),
    };
    let kind = targets::Kind::parse(&form.kind).ok_or(UserError::BadForm)?;
    let value = match form.value.trim() {
        "" => None,
        v => Some(targets::parse_value(v).ok_or_else(|| UserError::BadTarget {
            given: v.to_string(),
        })?),
    };
    let unit = id.clone();
    state
        .db(move |conn, _| targets::set(conn, &unit, year, kind, value))
        .await?;
    Ok(respond::see_other(&unit_location(&id, signed.lang, "")))
}

/// A measure's fields from a form.
#[derive(serde::Deserialize)]
pub struct MeasureForm {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    type_key: String,
    #[serde(default)]
    started_on: String,
    #[serde(default)]
    ended_on: String,
    #[serde(default)]
    responsible: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    factor: String,
}

impl MeasureForm {
    fn into_new(self, unit: UnitId) -> measures::NewMeasure {
        measures::NewMeasure {
            title: self.title,
            type_key: self.type_key,
            started_on: self.started_on,
            ended_on: self.ended_on,
            responsible: self.responsible,
            status: self.status,
            factor: self.factor,
            units: vec![unit],
            round_id: None,
        }
    }
}

/// Stores a measure for `unit`, or answers what was wrong.
async fn save_measure(
    state: &AppState,
    signed: &Signed,
    unit: UnitId,
    form: MeasureForm,
    back: String,
) -> Result<HttpResponse, AppError> {
    let new = form.into_new(unit);
    let added = state
        .db(move |conn, _| Ok(measures::add(conn, &new)))
        .await?;
    match added {
        Ok(_) => Ok(respond::see_other(&back)),
        Err(AppError::User(u @ UserError::Measure(_))) => Ok(respond::page(
            StatusCode::BAD_REQUEST,
            views::error_page_with(
                signed.lang,
                &back,
                StatusCode::BAD_REQUEST,
                Some(&u.render(signed.lang)),
            ),
        )),
        Err(e) => Err(e),
    }
}

/// `POST /oppfolging/enheter/{unit}/tiltak`: a measure of the unit.
pub async fn add_measure(
    state: web::Data<AppState>,
    unit: web::Path<String>,
    form: SignedForm<MeasureForm>,
) -> Result<HttpResponse, AppError> {
    let SignedForm { signed, form } = form;
    let (id, path) = unit_path(&state, unit.into_inner()).await?;
    signed.require(Resource::EditFollowUp { path: &path })?;
    let back = unit_location(&id, signed.lang, "#tiltak");
    save_measure(&state, &signed, id, form, back).await
}

/// `POST /tiltak`: a measure entered in the register, for a unit chosen
/// there.
pub async fn add_to_register(
    state: web::Data<AppState>,
    form: SignedForm<MeasureForm>,
) -> Result<HttpResponse, AppError> {
    let SignedForm { signed, form } = form;
    let (id, path) = unit_path(&state, form.unit.clone()).await?;
    signed.require(Resource::EditFollowUp { path: &path })?;
    let back = format!("/tiltak?lang={}", signed.lang.code());
    save_measure(&state, &signed, id, form, back).await
}

#[derive(serde::Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

/// `POST /oppfolging/tiltak/{id}/status`.
pub async fn set_status(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: SignedForm<StatusForm>,
) -> Result<HttpResponse, AppError> {
    let SignedForm { signed, form } = form;
    let status = measures::Status::parse(&form.status).ok_or(UserError::BadForm)?;
    let id = id.into_inner();
    let lookup = id.clone();
    let paths = state
        .db(move |conn, _| followup::view::measure_paths(conn, &lookup))
        .await?
        .ok_or(AppError::NotFound)?;
    if !paths
        .iter()
        .any(|p| signed.require(Resource::EditFollowUp { path: p }).is_ok())
    {
        return Err(AppError::Forbidden);
    }
    state
        .db(move |conn, _| measures::set_status(conn, &id, status))
        .await?;
    let back = match paths.first().and_then(|p| p.last()) {
        Some(u) if !signed.viewer.sees_everything() => unit_location(u, signed.lang, "#tiltak"),
        _ => format!("/tiltak?lang={}", signed.lang.code()),
    };
    Ok(respond::see_other(&back))
}

/// `GET /oppfolging/over-mal` and `…/utskrift`.
async fn above_page(
    state: &AppState,
    viewer: Overview,
    print: bool,
) -> Result<HttpResponse, AppError> {
    let k = k(state);
    let a = state
        .db(move |conn, _| followup::view::above(conn, k))
        .await?;
    Ok(respond::ok(views::followup::above(
        viewer.0.lang,
        &viewer.0.viewer,
        &a,
        print,
    )))
}

pub async fn above(state: web::Data<AppState>, viewer: Overview) -> Result<HttpResponse, AppError> {
    above_page(&state, viewer, false).await
}

pub async fn above_print(
    state: web::Data<AppState>,
    viewer: Overview,
) -> Result<HttpResponse, AppError> {
    above_page(&state, viewer, true).await
}

/// The account behind `/redegjorelse/{id}/{token}`, with its unit's name:
/// 404 unless the token is the one derived for that id.
async fn account_of(
    state: &AppState,
    id: String,
    token: &str,
) -> Result<(accounts::Account, String), AppError> {
    let key = state.key.clone().ok_or(AppError::NotFound)?;
    if !crate::crypto::tokens_match(&key.account_token(&id), token) {
        return Err(AppError::NotFound);
    }
    state
        .db(move |conn, _| {
            let a = accounts::find(conn, &id)?.ok_or(AppError::NotFound)?;
            let tree = followup::org::OrgTree::load(conn)?;
            let name = tree
                .get(&a.unit_id)
                .map(|i| tree.units[i].name.clone())
                .unwrap_or_default();
            Ok((a, name))
        })
        .await
}

/// `GET /redegjorelse/{id}/{token}`: the form of a written account.
pub async fn account_form(
    state: web::Data<AppState>,
    PageLang(lang): PageLang,
    req: actix_web::HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, token) = path.into_inner();
    let (a, unit) = account_of(&state, id, &token).await?;
    Ok(respond::ok(views::followup::account_form(
        lang,
        &unit,
        &a,
        req.path(),
        &[],
        &accounts::Answer::default(),
    )))
}

/// The account's fields; `support` may repeat, so the form is read as
/// pairs.
fn read_answer(body: &[u8]) -> accounts::Answer {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let mut a = accounts::Answer::default();
    for (k, v) in pairs {
        match k.as_str() {
            "done_now" => a.done_now = v,
            "planned" => a.planned = v,
            "support_other" => a.support_other = v,
            "support" => a.support.push(v),
            _ => {}
        }
    }
    a
}

/// `POST /redegjorelse/{id}/{token}`: stores the account, or shows the
/// form again with what was wrong and what was written.
pub async fn account_answer(
    state: web::Data<AppState>,
    PageLang(lang): PageLang,
    req: actix_web::HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (id, token) = path.into_inner();
    let (a, unit) = account_of(&state, id.clone(), &token).await?;
    let answer = read_answer(&body);
    let given = answer.clone();
    let saved = state
        .db(move |conn, _| Ok(accounts::answer(conn, &id, &answer)))
        .await?;
    match saved {
        Ok(()) => Ok(respond::ok(views::followup::account_thanks(
            lang,
            &unit,
            req.path(),
        ))),
        Err(AppError::User(UserError::Account(problems))) => Ok(respond::page(
            StatusCode::BAD_REQUEST,
            views::followup::account_form(
                lang,
                &unit,
                &a,
                req.path(),
                &problems.iter().map(|p| p.render(lang)).collect::<Vec<_>>(),
                &given,
            ),
        )),
        Err(e) => Err(e),
    }
}

/// `GET /tiltak`: the register, as far as the viewer reaches.
pub async fn register(
    state: web::Data<AppState>,
    signed: Signed,
    q: web::Query<RegisterQuery>,
) -> Result<HttpResponse, AppError> {
    signed.require(Resource::Register)?;
    let q = q.into_inner();
    let (viewer, query) = (signed.viewer.clone(), q.clone());
    let d = state
        .db(move |conn, _| {
            followup::view::register(
                conn,
                &viewer,
                &query.type_key,
                &query.area,
                &query.factor,
                &query.status,
            )
        })
        .await?;
    Ok(respond::ok(views::followup::register(
        signed.lang,
        &signed.viewer,
        &views::followup::Register {
            measures: &d.measures,
            types: &d.types,
            areas: &d.areas,
            factors: &d.factors,
            units: &d.units,
            names: &d.names,
            query: &q,
        },
    )))
}

#[derive(serde::Deserialize)]
pub struct TypeForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    name_nb: String,
    #[serde(default)]
    name_nn: String,
    #[serde(default)]
    name_en: String,
}

/// `POST /tiltak/typer`: a new type in the catalogue (administrators).
pub async fn add_type(
    state: web::Data<AppState>,
    form: SignedForm<TypeForm>,
) -> Result<HttpResponse, AppError> {
    let SignedForm { signed, form } = form;
    signed.require(Resource::Administration)?;
    let t = measures::MeasureType {
        key: form.key,
        name_nb: form.name_nb,
        name_nn: form.name_nn,
        name_en: form.name_en,
        builtin: false,
    };
    state
        .db(move |conn, _| measures::add_type(conn, &t))
        .await?;
    Ok(respond::see_other(&format!(
        "/tiltak?lang={}",
        signed.lang.code()
    )))
}

/// `GET /tiltak/effekt`: the effect of each type of measure (AMU,
/// administrators).
pub async fn effects(
    state: web::Data<AppState>,
    viewer: Overview,
) -> Result<HttpResponse, AppError> {
    let k = k(&state);
    let (effects, types, survey) = state
        .db(move |conn, _| {
            let types = measures::types(conn)?;
            let effects = match followup::effect::data(conn, k)? {
                Some(d) => followup::effect::estimate_all(&d, k),
                None => Vec::new(),
            };
            Ok((effects, types, followup::effect::survey_side(conn)?))
        })
        .await?;
    Ok(respond::ok(views::followup::effects(
        viewer.0.lang,
        &viewer.0.viewer,
        &effects,
        &types,
        k,
        &survey,
    )))
}

/// `GET /oppfolging/rapporter`: the tertials and half-years with absence.
pub async fn reports(
    state: web::Data<AppState>,
    viewer: Overview,
) -> Result<HttpResponse, AppError> {
    use crate::followup::report::{Period, ReportKind};
    let periods = state.db(|conn, _| followup::absence::periods(conn)).await?;
    let list = |kind: ReportKind| {
        let mut v: Vec<Period> = periods.iter().map(|p| Period::of(kind, p.0)).collect();
        v.dedup();
        v.sort_by_key(|p| std::cmp::Reverse((p.year, p.part)));
        v.dedup();
        v.into_iter().map(|p| p.label()).collect::<Vec<_>>()
    };
    Ok(respond::ok(views::followup::reports(
        viewer.0.lang,
        &viewer.0.viewer,
        &list(ReportKind::Tertial),
        &list(ReportKind::Ia),
    )))
}

/// The report named by `/oppfolging/rapporter/{kind}/{period}`.
async fn load_report(
    state: &AppState,
    kind: &str,
    period: &str,
    lang: Lang,
) -> Result<crate::followup::report::Report, AppError> {
    use crate::followup::report::{self, Period, ReportKind};
    let kind = ReportKind::parse(kind).ok_or(AppError::NotFound)?;
    let period = Period::parse(kind, period).ok_or(AppError::NotFound)?;
    let k = k(state);
    state
        .db(move |conn, _| report::build(conn, period, k, lang))
        .await
}

/// `GET /oppfolging/rapporter/{kind}/{period}`: print-ready HTML.
pub async fn report(
    state: web::Data<AppState>,
    viewer: Overview,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (kind, period) = path.into_inner();
    let l = viewer.0.lang;
    let r = load_report(&state, &kind, &period, l).await?;
    let xlsx = format!(
        "/oppfolging/rapporter/{kind}/{period}/xlsx?lang={}",
        l.code()
    );
    Ok(respond::ok(views::followup::report(l, &r, Some(&xlsx))))
}

/// `GET /oppfolging/rapporter/{kind}/{period}/xlsx`.
pub async fn report_xlsx(
    state: web::Data<AppState>,
    viewer: Overview,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (kind, period) = path.into_inner();
    let l = viewer.0.lang;
    let r = load_report(&state, &kind, &period, l).await?;
    Ok(respond::download(
        &format!("naervaer-{kind}-{}.xlsx", r.period.label()),
        respond::XLSX,
        crate::followup::report::xlsx(&r, l)?,
    ))
}
