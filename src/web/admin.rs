//! Administrator pages: what the command line does, in the browser. Rounds
//! (create, open, remind, close, response counts, paper letters, raising
//! k), sending, and imports with a preview before anything changes. Pages
//! take [`Admin`]; forms take a [`SignedForm`] (CSRF checked) and ask
//! [`crate::access`] for [`Resource::Administration`].

use super::extract::{Admin, Signed, SignedForm};
use super::{respond, views, AppState};
use crate::access::Resource;
use crate::error::{DateField, UserError};
use crate::ids::RoundId;
use crate::import::{self, ImportError, Kind};
use crate::lang::Lang;
use crate::rounds::{self, NewRound, Round};
use crate::AppError;
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use futures_util::StreamExt;

/// Largest HR file the upload accepts.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

fn back(lang: Lang, to: &str) -> HttpResponse {
    respond::see_other(&format!("{to}?lang={}", lang.code()))
}

/// `GET /admin`
/// `GET /admin/behandling`: the record of processing.
pub async fn processing(
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, AppError> {
    let (lang, settings) = (admin.0.lang, state.settings.clone());
    let record = state
        .db(move |conn, _| crate::processing::load(conn, &settings, lang))
        .await?;
    Ok(respond::ok(views::processing::page(
        lang,
        &admin.0.viewer,
        &record,
    )))
}

/// `GET /admin/behandling.md`: the same record as Markdown.
pub async fn processing_markdown(
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, AppError> {
    let (lang, settings) = (admin.0.lang, state.settings.clone());
    let record = state
        .db(move |conn, _| crate::processing::load(conn, &settings, lang))
        .await?;
    Ok(respond::download(
        &format!("naervaer-behandlingsprotokoll-{}.md", lang.code()),
        "text/markdown; charset=utf-8",
        record.to_markdown().into_bytes(),
    ))
}

pub async fn index(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, AppError> {
    let data = state
        .db(|conn, _| {
            let mut rounds_out = Vec::new();
            for r in Round::all(conn)? {
                let counts = rounds::counts(conn, &r.id)?;
                let invited: i64 = counts.iter().map(|c| c.invited as i64).sum();
                let responded = counts.iter().map(|c| c.responded as i64).sum();
                // Beside fewer than k invited, a count tells who has not
                // answered (ANONYMITY.md §6b).
                let shown =
                    (invited >= i64::from(r.min_group_size)).then_some((invited, responded));
                rounds_out.push((r, shown));
            }
            Ok(views::admin::Overview {
                rounds: rounds_out,
                outbox: crate::mail::outbox::status_counts(conn)?,
                failures: crate::mail::outbox::failures(conn)?,
            })
        })
        .await?;
    Ok(respond::ok(views::admin::index(
        admin.0.lang,
        &admin.0.viewer,
        &data,
        &state.settings,
        None,
    )))
}

#[derive(serde::Deserialize)]
pub struct NewRoundForm {
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
    #[serde(default)]
    delivery: String,
}

/// `POST /admin/runder`: a new draft round with the shipped questionnaire
/// (and the presence module when ticked).
pub async fn create_round(
    state: web::Data<AppState>,
    form: SignedForm<NewRoundForm>,
) -> Result<HttpResponse, AppError> {
    let SignedForm { signed, form: f } = form;
    signed.require(Resource::Administration)?;
    let date = |s: &str, field: DateField| {
        chrono::NaiveDate::parse_from_str(s.trim(), rounds::DATE_FORMAT).map_err(|_| {
            UserError::NotADate {
                field,
                given: s.to_string(),
            }
        })
    };
    let k = if f.min_group_size.trim().is_empty() {
        state.settings.min_group_size
    } else {
        f.min_group_size
            .trim()
            .parse()
            .map_err(|_| UserError::GroupSizeNotANumber {
                given: f.min_group_size.clone(),
            })?
    };
    let mut surveys = vec![crate::survey::builtin::TEN_FACTOR.to_string()];
    if f.module.is_some() {
        surveys.push(crate::survey::builtin::PRESENCE_MODULE.to_string());
    }
    let delivery = if f.delivery.trim().is_empty() {
        rounds::Delivery::Email
    } else {
        rounds::Delivery::parse(&f.delivery).ok_or(UserError::BadDelivery {
            given: f.delivery.clone(),
        })?
    };
    let new = NewRound {
        title: f.title.trim().to_string(),
        surveys,
        unit_code: Some(f.unit_code.trim().to_string()).filter(|s| !s.is_empty()),
        opens_on: date(&f.opens_on, DateField::OpensOn)?,
        closes_on: date(&f.closes_on, DateField::ClosesOn)?,
        min_group_size: k,
        delivery,
    };
    let installation_k = state.settings.min_group_size;
    state
        .db(move |conn, _| rounds::create(conn, installation_k, new))
        .await?;
    Ok(back(signed.lang, "/admin"))
}

#[derive(serde::Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    k: String,
}

/// `POST /admin/runder/{id}/{action}`: open, remind, close, raise k.
pub async fn round_action(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: SignedForm<ActionForm>,
) -> Result<HttpResponse, AppError> {
    let SignedForm { signed, form } = form;
    signed.require(Resource::Administration)?;
    let (id, action) = path.into_inner();
    let settings = state.settings.clone();
    let round_id = id.clone();
    state
        .db(move |conn, _| {
            let round = Round::find(conn, &RoundId::from(round_id))?;
            match action.as_str() {
                "apne" => {
                    rounds::open_reaching(conn, &settings.key()?, &round.id, settings.sms_ready())?;
                }
                "purring" => {
                    rounds::remind(
                        conn,
                        &round.id,
                        settings.reminder_max,
                        i64::from(settings.reminder_interval_hours) * 3600,
                    )?;
                }
                "lukk" => {
                    rounds::close(conn, &round.id, settings.retention_days == 0)?;
                }
                "k" => {
                    let k: u32 =
                        form.k
                            .trim()
                            .parse()
                            .map_err(|_| UserError::GroupSizeNotANumber {
                                given: form.k.clone(),
                            })?;
                    crate::rounds::raise_k(conn, &round.id, k)?;
                }
                _ => return Err(AppError::NotFound),
            }
            Ok(())
        })
        .await?;
    Ok(back(signed.lang, &format!("/admin/runder/{id}")))
}

/// `GET /admin/runder/{id}`: response counts per unit.
pub async fn round_page(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let viewer = admin.0.viewer.clone();
    let (seen, k) = state
        .db(move |conn, cache| {
            let round = Round::find(conn, &RoundId::from(id.into_inner()))?;
            let k = crate::snapshot::load_cached(conn, cache, &round.id)?.map(|s| s.k);
            let tree = crate::register::org::OrgTree::load(conn)?;
            let seen = rounds::live::seen(conn, &tree, &round, &viewer)?;
            Ok((seen, k))
        })
        .await?;
    Ok(respond::ok(views::admin::round(
        admin.0.lang,
        &admin.0.viewer,
        &seen,
        k,
    )))
}

/// `GET /admin/runder/{id}/brev`: the paper letters, ready to print.
pub async fn letters(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let settings = state.settings.clone();
    let (round, letters) = state
        .db(move |conn, _| {
            let round = Round::find(conn, &RoundId::from(id.into_inner()))?;
            let letters = rounds::letters(conn, &settings.key()?, &round.id, false)?;
            Ok((round, letters))
        })
        .await?;
    Ok(respond::ok(views::letters::letters(
        &round.title,
        &state.settings.base_url,
        round.closes_on_date(),
        &state.settings.contact,
        &letters,
    )))
}

/// `POST /admin/utsending`: sends what is due now, in the background (the
/// service's own sender does the same every few seconds).
pub async fn send_now(
    state: web::Data<AppState>,
    form: SignedForm<super::auth::NoFields>,
) -> Result<HttpResponse, AppError> {
    form.signed.require(Resource::Administration)?;
    state.in_background("sending from the administrator page", |pool, settings| {
        let mailer = crate::mail::Mailer::from_settings(settings)?;
        crate::mail::outbox::send_due(pool, &mailer, settings, &settings.key()?)?;
        Ok(())
    });
    Ok(back(form.signed.lang, "/admin"))
}

/// The upload form: the CSRF token, the kind, the file and its name.
struct Upload {
    csrf: String,
    kind: String,
    name: String,
    bytes: Vec<u8>,
}

async fn read_upload(mut payload: Multipart) -> Result<Upload, AppError> {
    let mut up = Upload {
        csrf: String::new(),
        kind: String::new(),
        name: String::new(),
        bytes: Vec::new(),
    };
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| {
            tracing::info!(error = %e, "upload refused");
            UserError::UploadBroken
        })?;
        let field_name = field.name().unwrap_or_default().to_string();
        if field_name == "file" {
            up.name = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .unwrap_or("upload")
                .to_string();
        }
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| {
                tracing::info!(error = %e, "upload refused");
                UserError::UploadBroken
            })?;
            if data.len() + chunk.len() > MAX_UPLOAD_BYTES {
                return Err(UserError::FileTooLarge {
                    max_mb: MAX_UPLOAD_BYTES / 1024 / 1024,
                }
                .into());
            }
            data.extend_from_slice(&chunk);
        }
        match field_name.as_str() {
            "csrf" => up.csrf = String::from_utf8_lossy(&data).into_owned(),
            "kind" => up.kind = String::from_utf8_lossy(&data).into_owned(),
            "file" => up.bytes = data,
            _ => {}
        }
    }
    Ok(up)
}

/// `POST /admin/import`: a dry run of the uploaded file, shown as a
/// preview; the file waits for the confirmation.
pub async fn import_preview(
    state: web::Data<AppState>,
    admin: Admin,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let up = read_upload(payload).await?;
    admin.0.check_csrf(&up.csrf)?;
    let kind = Kind::from_name(&up.kind).ok_or(UserError::ChooseFileKind)?;
    if up.name.is_empty() {
        return Err(UserError::ChooseFile.into());
    }
    if up.bytes.is_empty() {
        return Err(UserError::EmptyFile { name: up.name }.into());
    }
    let (key, sms) = (state.key.clone(), state.settings.sms_ready());
    let (outcome, pending) = state
        .db(move |conn, _| {
            let following = rounds::staff::Following {
                key: key.as_ref(),
                sms,
            };
            let outcome = following.import(conn, kind, &up.name, &up.bytes, true);
            let pending = match &outcome {
                Ok(_) => Some(import::keep_pending(conn, kind, &up.name, &up.bytes)?),
                Err(_) => None,
            };
            Ok((outcome, pending))
        })
        .await?;
    import_page(&admin.0, outcome, pending.as_deref().or(Some("")))
}

/// The page after an upload (`pending`: Some, with the id to confirm, or
/// empty when rejected) or after applying (None).
fn import_page(
    signed: &Signed,
    outcome: Result<import::Outcome, ImportError>,
    pending: Option<&str>,
) -> Result<HttpResponse, AppError> {
    let (status, outcome) = match outcome {
        Ok(o) => (StatusCode::OK, Ok(o)),
        Err(ImportError::Rejected(issues)) => (StatusCode::UNPROCESSABLE_ENTITY, Err(issues)),
        Err(ImportError::App(e)) => return Err(e),
    };
    Ok(respond::page(
        status,
        views::admin::import_result(signed.lang, &signed.viewer, &outcome, pending),
    ))
}

/// `POST /admin/import/{id}`: applies a previewed file.
pub async fn import_apply(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: SignedForm<super::auth::NoFields>,
) -> Result<HttpResponse, AppError> {
    form.signed.require(Resource::Administration)?;
    let (k, days) = (state.settings.min_group_size, state.settings.account_days);
    let (key, sms) = (state.key.clone(), state.settings.sms_ready());
    let outcome = state
        .db(move |conn, _| {
            let following = rounds::staff::Following {
                key: key.as_ref(),
                sms,
            };
            let Some((kind, outcome)) = following.apply_pending(conn, &id)? else {
                return Ok(None);
            };
            // Absence, targets or the national level changed: who is above
            // target now, and their accounts asked for.
            if kind.moves_targets() && outcome.as_ref().is_ok_and(|o| o.applied) {
                crate::followup::check(conn, k, days)?;
            }
            Ok(Some(outcome))
        })
        .await?
        .ok_or(UserError::PreviewExpired)?;
    import_page(&form.signed, outcome, None)
}
