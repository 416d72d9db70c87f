//! Administrator pages: what the command line does, in the browser. Rounds
//! (create, open, remind, close, response counts, paper letters, raising
//! k), sending, and imports with a preview before anything changes. Every
//! handler takes [`Admin`]; every POST checks the CSRF token.

use super::auth::{Admin, CsrfForm};
use super::{views, AppState};
use crate::db::schema::pending_imports;
use crate::import::{self, ImportError, Kind};
use crate::lang::Lang;
use crate::rounds::{self, NewRound, Round};
use crate::AppError;
use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use futures_util::StreamExt;

/// Largest HR file the upload accepts.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

fn html(status: actix_web::http::StatusCode, markup: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

fn lang_of(req: &HttpRequest, a: &Admin) -> Lang {
    super::chosen_lang(req).unwrap_or(a.0 .0.lang)
}

fn back(lang: Lang, to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{to}?lang={}", lang.code())))
        .finish()
}

/// `GET /admin`
pub async fn index(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req, &admin);
    let pool = state.pool.clone();
    let data = web::block(move || -> Result<views::admin::Overview, AppError> {
        let mut conn = pool.get()?;
        let mut rounds_out = Vec::new();
        for r in Round::all(&mut conn)? {
            let counts = rounds::counts(&mut conn, &r.id)?;
            let invited = counts.iter().map(|c| c.invited as i64).sum();
            let responded = counts.iter().map(|c| c.responded as i64).sum();
            rounds_out.push((r, invited, responded));
        }
        Ok(views::admin::Overview {
            rounds: rounds_out,
            outbox: crate::mail::outbox::status_counts(&mut conn)?,
            failures: crate::mail::outbox::failures(&mut conn)?,
        })
    })
    .await??;
    Ok(html(
        actix_web::http::StatusCode::OK,
        views::admin::index(lang, &admin.0 .0, &data, &state.settings, None),
    ))
}

#[derive(serde::Deserialize)]
pub struct NewRoundForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    opens_on: String,
    #[serde(default)]
    closes_on: String,
    #[serde(default)]
    unit_code: String,
    #[serde(default)]
    min_group_size: String,
    #[serde(default)]
    module: Option<String>,
}

/// `POST /admin/runder`: a new draft round with the shipped questionnaire
/// (and the presence module when ticked).
pub async fn create_round(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    form: web::Form<NewRoundForm>,
) -> Result<HttpResponse, AppError> {
    admin.0.check_csrf(&form.csrf)?;
    let lang = lang_of(&req, &admin);
    let f = form.into_inner();
    let date = |s: &str, what: &str| {
        chrono::NaiveDate::parse_from_str(s.trim(), rounds::DATE_FORMAT)
            .map_err(|_| AppError::BadRequest(format!("{what}: '{s}' is not a date (yyyy-mm-dd)")))
    };
    let k = if f.min_group_size.trim().is_empty() {
        state.settings.min_group_size
    } else {
        f.min_group_size.trim().parse().map_err(|_| {
            AppError::BadRequest(format!(
                "minimum group size: '{}' is not a whole number",
                f.min_group_size
            ))
        })?
    };
    let mut surveys = vec![crate::demo::SURVEY_10_FAKTOR.to_string()];
    if f.module.is_some() {
        surveys.push(crate::demo::SURVEY_MODULE.to_string());
    }
    if f.title.trim().is_empty() {
        return Err(AppError::BadRequest("the round needs a title".into()));
    }
    let new = NewRound {
        title: f.title.trim().to_string(),
        surveys,
        unit_code: Some(f.unit_code.trim().to_string()).filter(|s| !s.is_empty()),
        opens_on: date(&f.opens_on, "opens on")?,
        closes_on: date(&f.closes_on, "closes on")?,
        min_group_size: k,
    };
    let pool = state.pool.clone();
    let installation_k = state.settings.min_group_size;
    web::block(move || rounds::create(&mut *pool.get()?, installation_k, new)).await??;
    Ok(back(lang, "/admin"))
}

#[derive(serde::Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    k: String,
}

/// `POST /admin/runder/{id}/{action}`: open, remind, close, raise k.
pub async fn round_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, AppError> {
    admin.0.check_csrf(&form.csrf)?;
    let lang = lang_of(&req, &admin);
    let (id, action) = path.into_inner();
    let pool = state.pool.clone();
    let settings = state.settings.clone();
    let k = form.k.clone();
    let round_id = id.clone();
    web::block(move || -> Result<(), AppError> {
        let mut conn = pool.get()?;
        let round = Round::find(&mut conn, &round_id)?;
        match action.as_str() {
            "apne" => {
                rounds::open(&mut conn, &settings.key()?, &round.id)?;
            }
            "purring" => {
                rounds::remind(
                    &mut conn,
                    &round.id,
                    settings.reminder_max,
                    i64::from(settings.reminder_interval_hours) * 3600,
                )?;
            }
            "lukk" => {
                rounds::close(&mut conn, &round.id, settings.retention_days == 0)?;
            }
            "k" => {
                let k: u32 = k.trim().parse().map_err(|_| {
                    AppError::BadRequest(format!("minimum group size: '{k}' is not a whole number"))
                })?;
                crate::snapshot::raise_k(&mut conn, &round.id, k)?;
            }
            _ => return Err(AppError::NotFound),
        }
        Ok(())
    })
    .await??;
    Ok(back(lang, &format!("/admin/runder/{id}")))
}

/// `GET /admin/runder/{id}`: response counts per unit.
pub async fn round_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req, &admin);
    let pool = state.pool.clone();
    let (round, rows, k) = web::block(move || -> Result<_, AppError> {
        let mut conn = pool.get()?;
        let round = Round::find(&mut conn, &id)?;
        let names = rounds::unit_names(&mut conn)?;
        let rows: Vec<(String, String, i32, i32, i32)> = rounds::counts(&mut conn, &round.id)?
            .into_iter()
            .map(|c| {
                let (code, name) = names.get(&c.unit_id).cloned().unwrap_or_default();
                (code, name, c.invited, c.responded, c.reminded)
            })
            .collect();
        let k = crate::snapshot::load(&mut conn, &round.id)?.map(|s| s.k);
        Ok((round, rows, k))
    })
    .await??;
    Ok(html(
        actix_web::http::StatusCode::OK,
        views::admin::round(lang, &admin.0 .0, &round, &rows, k),
    ))
}

/// `GET /admin/runder/{id}/brev`: the paper letters, ready to print.
pub async fn letters(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let pool = state.pool.clone();
    let settings = state.settings.clone();
    let page = web::block(move || -> Result<String, AppError> {
        let mut conn = pool.get()?;
        let round = Round::find(&mut conn, &id)?;
        let letters = rounds::letters(&mut conn, &settings.key()?, &round.id, false)?;
        Ok(views::letters::letters(
            &round.title,
            &settings.base_url,
            round.closes_on_date(),
            &settings.contact,
            &letters,
        )
        .into_string())
    })
    .await??;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page))
}

/// `POST /admin/utsending`: sends what is due now, in the background (the
/// service's own sender does the same every few seconds).
pub async fn send_now(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    admin.0.check_csrf(&form.csrf)?;
    let lang = lang_of(&req, &admin);
    let pool = state.pool.clone();
    let settings = state.settings.clone();
    std::thread::spawn(move || {
        let run = || -> Result<(), AppError> {
            let mailer = crate::mail::Mailer::from_settings(&settings)?;
            crate::mail::outbox::send_due(&pool, &mailer, &settings, &settings.key()?)?;
            Ok(())
        };
        if let Err(e) = run() {
            tracing::warn!(error = %e, "sending from the administrator page failed");
        }
    });
    Ok(back(lang, "/admin"))
}

/// Reads the upload form: the CSRF token, the kind, the file.
async fn read_upload(
    mut payload: Multipart,
) -> Result<(String, String, String, Vec<u8>), AppError> {
    let (mut csrf, mut kind, mut name, mut bytes) =
        (String::new(), String::new(), String::new(), Vec::new());
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| AppError::BadRequest(format!("upload: {e}")))?;
        let field_name = field.name().unwrap_or_default().to_string();
        if field_name == "file" {
            name = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .unwrap_or("upload")
                .to_string();
        }
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| AppError::BadRequest(format!("upload: {e}")))?;
            if data.len() + chunk.len() > MAX_UPLOAD_BYTES {
                return Err(AppError::BadRequest(format!(
                    "the file is larger than {} MB",
                    MAX_UPLOAD_BYTES / 1024 / 1024
                )));
            }
            data.extend_from_slice(&chunk);
        }
        match field_name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&data).into_owned(),
            "kind" => kind = String::from_utf8_lossy(&data).into_owned(),
            "file" => bytes = data,
            _ => {}
        }
    }
    Ok((csrf, kind, name, bytes))
}

fn kind_of(s: &str) -> Result<Kind, AppError> {
    match s {
        "units" => Ok(Kind::Units),
        "employees" => Ok(Kind::Employees),
        "absence" => Ok(Kind::Absence),
        _ => Err(AppError::BadRequest(
            "choose what the file holds: units, employees or absence".into(),
        )),
    }
}

/// `POST /admin/import`: a dry run of the uploaded file, shown as a
/// preview; the file waits for the confirmation.
pub async fn import_preview(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req, &admin);
    let (csrf, kind, name, bytes) = read_upload(payload).await?;
    admin.0.check_csrf(&csrf)?;
    let kind = kind_of(&kind)?;
    if bytes.is_empty() {
        return Err(AppError::BadRequest("choose a file to import".into()));
    }
    let pool = state.pool.clone();
    let (outcome, pending) = web::block(move || -> Result<_, AppError> {
        let mut conn = pool.get()?;
        let outcome = import::import(&mut conn, kind, &name, &bytes, true);
        let pending = match &outcome {
            Ok(_) => {
                let id = crate::db::new_id();
                import::sweep_pending(&mut conn)?;
                diesel::insert_into(pending_imports::table)
                    .values((
                        pending_imports::id.eq(&id),
                        pending_imports::kind.eq(kind.name()),
                        pending_imports::source.eq(&name),
                        pending_imports::content.eq(&bytes),
                        pending_imports::created_at.eq(crate::db::now_unix()),
                    ))
                    .execute(&mut conn)?;
                Some(id)
            }
            Err(_) => None,
        };
        Ok((outcome, pending))
    })
    .await??;
    import_page(lang, &admin, outcome, pending.as_deref().or(Some("")))
}

/// The page after an upload (`pending`: Some, with the id to confirm, or
/// empty when rejected) or after applying (None).
fn import_page(
    lang: Lang,
    admin: &Admin,
    outcome: Result<import::Outcome, ImportError>,
    pending: Option<&str>,
) -> Result<HttpResponse, AppError> {
    let (status, outcome) = match outcome {
        Ok(o) => (actix_web::http::StatusCode::OK, Ok(o)),
        Err(ImportError::Rejected(issues)) => (
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            Err(issues),
        ),
        Err(ImportError::App(e)) => return Err(e),
    };
    Ok(html(
        status,
        views::admin::import_result(lang, &admin.0 .0, &outcome, pending),
    ))
}

/// `POST /admin/import/{id}`: applies a previewed file.
pub async fn import_apply(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    admin.0.check_csrf(&form.csrf)?;
    let lang = lang_of(&req, &admin);
    let pool = state.pool.clone();
    let outcome = web::block(move || -> Result<_, AppError> {
        let mut conn = pool.get()?;
        let found: Option<(String, String, Vec<u8>)> = pending_imports::table
            .find(id.as_str())
            .filter(pending_imports::created_at.ge(crate::db::now_unix() - import::PENDING_SECS))
            .select((
                pending_imports::kind,
                pending_imports::source,
                pending_imports::content,
            ))
            .first(&mut conn)
            .optional()?;
        let Some((kind, source, bytes)) = found else {
            return Err(AppError::BadRequest(
                "the preview has expired or was already applied; upload the file again".into(),
            ));
        };
        let outcome = import::import(&mut conn, kind_of(&kind)?, &source, &bytes, false);
        diesel::delete(pending_imports::table.find(id.as_str())).execute(&mut conn)?;
        Ok(outcome)
    })
    .await??;
    import_page(lang, &admin, outcome, None)
}
