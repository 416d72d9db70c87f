//! The answering pages. The token from the e-mail (or the code from the
//! letter) is traded for a short-lived cookie, and the browser is sent on to
//! a URL without it, so the token stays out of history, referrers and logs.

use super::{views, AppState};
use crate::rounds::answer::{self, Go, Session, Submitted};
use crate::rounds::today;
use crate::rounds::tokens::{lookup_hash, normalise_code};
use crate::AppError;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

pub const COOKIE: &str = "naervaer_svar";
/// Set beside [`COOKIE`] when the questionnaire was opened with a paper
/// code: the receipt then leads the next person on a shared device back to
/// an empty code page.
pub const KIOSK_COOKIE: &str = "naervaer_kode";
/// How long a started questionnaire stays open in the browser.
const COOKIE_MINUTES: i64 = 120;

fn page(status: actix_web::http::StatusCode, markup: maud::Markup) -> HttpResponse {
    html(status, markup.into_string())
}

/// An HTML answer that no cache keeps.
fn html(status: actix_web::http::StatusCode, body: impl Into<web::Bytes>) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body.into())
}

fn ok(markup: maud::Markup) -> HttpResponse {
    page(actix_web::http::StatusCode::OK, markup)
}

fn cookie(state: &AppState, value: String, max_age: CookieDuration) -> Cookie<'static> {
    named_cookie(state, COOKIE, value, max_age)
}

fn named_cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age: CookieDuration,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.base_url.starts_with("https://"))
        .max_age(max_age)
        .finish()
}

/// The answering session behind the cookie, if any.
async fn session(
    state: &web::Data<AppState>,
    req: &HttpRequest,
) -> Result<Option<Session>, AppError> {
    let Some(c) = req.cookie(COOKIE) else {
        return Ok(None);
    };
    let token = c.value().to_string();
    let pool = state.pool.clone();
    web::block(move || answer::session(&mut *pool.get()?, &token)).await?
}

/// `/s/{token}`: check the token, set the cookie, redirect.
pub async fn enter(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let lang = super::chosen_lang(&req).unwrap_or(state.settings.lang);
    let token = token.into_inner().to_ascii_lowercase();
    let hash = lookup_hash(&token);
    let pool = state.pool.clone();
    let found = web::block(move || -> Result<_, AppError> {
        let mut conn = pool.get()?;
        answer::invitation_by_hash(&mut conn, &hash, false)
    })
    .await??;
    Ok(match found {
        None => page(
            actix_web::http::StatusCode::NOT_FOUND,
            views::survey::message(lang, views::survey::Message::InvalidLink),
        ),
        Some((inv, _)) if inv.responded => ok(views::survey::message(
            lang,
            views::survey::Message::AlreadyAnswered,
        )),
        Some((_, round)) if !round.accepts_answers(today()) => {
            ok(views::survey::message(lang, views::survey::Message::Closed))
        }
        Some(_) => HttpResponse::SeeOther()
            .cookie(cookie(
                &state,
                token,
                CookieDuration::minutes(COOKIE_MINUTES),
            ))
            .insert_header((header::LOCATION, "/svar"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
    })
}

/// `GET /svar`: the first page.
pub async fn start(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let default = super::chosen_lang(&req).unwrap_or(state.settings.lang);
    let Some(s) = session(&state, &req).await? else {
        return Ok(page(
            actix_web::http::StatusCode::NOT_FOUND,
            views::survey::message(default, views::survey::Message::NoSession),
        ));
    };
    let lang = super::chosen_lang(&req).unwrap_or(s.lang);
    if s.invitation.responded {
        return Ok(ok(views::survey::message(
            lang,
            views::survey::Message::AlreadyAnswered,
        )));
    }
    if !s.round.accepts_answers(today()) {
        return Ok(ok(views::survey::message(
            lang,
            views::survey::Message::Closed,
        )));
    }
    Ok(html(
        actix_web::http::StatusCode::OK,
        first_page(lang, &s.round, &s.surveys),
    ))
}

/// The questionnaire's first page with nothing answered: the same for
/// everyone in a round and language, so it is rendered once per process
/// (and again if the round's record changes).
fn first_page(
    lang: crate::lang::Lang,
    round: &crate::rounds::Round,
    surveys: &[crate::survey::Survey],
) -> web::Bytes {
    type Pages = std::sync::Mutex<
        std::collections::HashMap<(String, crate::lang::Lang), (crate::rounds::Round, web::Bytes)>,
    >;
    static PAGES: std::sync::OnceLock<Pages> = std::sync::OnceLock::new();
    let pages = PAGES.get_or_init(Default::default);
    let key = (round.id.clone(), lang);
    if let Some((r, html)) = pages.lock().expect("page cache").get(&key) {
        if r == round {
            return html.clone();
        }
    }
    let html = web::Bytes::from(
        views::survey::questionnaire(lang, round, surveys, 0, &answer::Answers::default())
            .into_string(),
    );
    pages
        .lock()
        .expect("page cache")
        .insert(key, (round.clone(), html.clone()));
    html
}

/// `POST /svar`: move between pages, or submit.
pub async fn step(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let default = super::chosen_lang(&req).unwrap_or(state.settings.lang);
    let Some(s) = session(&state, &req).await? else {
        return Ok(page(
            actix_web::http::StatusCode::NOT_FOUND,
            views::survey::message(default, views::survey::Message::NoSession),
        ));
    };
    let mut lang = super::chosen_lang(&req).unwrap_or(s.lang);
    let bad = |lang| {
        page(
            actix_web::http::StatusCode::BAD_REQUEST,
            views::survey::message(lang, views::survey::Message::BadForm),
        )
    };
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return Ok(bad(lang));
    };
    let form = match answer::parse_form(&s.surveys, &pairs) {
        Ok(f) => f,
        Err(e) => {
            tracing::info!(reason = %e, "survey form refused");
            return Ok(bad(lang));
        }
    };
    if let Go::Language(l) = form.go {
        lang = l;
    }
    if form.go == Go::Submit {
        let pool = state.pool.clone();
        let (hash, surveys, answers) = (
            s.token_hash.clone(),
            s.surveys.clone(),
            form.answers.clone(),
        );
        let commit = state.commit.clone();
        let outcome = web::block(move || -> Result<Submitted, AppError> {
            match commit {
                Some(c) => c.submit(hash, surveys, answers),
                None => answer::submit(&mut *pool.get()?, &hash, &surveys, &answers),
            }
        })
        .await??;
        let by_code = req.cookie(KIOSK_COOKIE).is_some();
        return Ok(match outcome {
            // Both cookies go: the next person on this device starts with
            // nothing of this one's session.
            Submitted::Stored => HttpResponse::SeeOther()
                .cookie(cookie(&state, String::new(), CookieDuration::ZERO))
                .cookie(named_cookie(
                    &state,
                    KIOSK_COOKIE,
                    String::new(),
                    CookieDuration::ZERO,
                ))
                .insert_header((
                    header::LOCATION,
                    if by_code {
                        format!("/kvittering?lang={lang}&neste=kode")
                    } else {
                        format!("/kvittering?lang={lang}")
                    },
                ))
                .finish(),
            Submitted::AlreadyAnswered => ok(views::survey::message(
                lang,
                views::survey::Message::AlreadyAnswered,
            )),
            Submitted::RoundClosed => {
                ok(views::survey::message(lang, views::survey::Message::Closed))
            }
        });
    }
    if s.invitation.responded {
        return Ok(ok(views::survey::message(
            lang,
            views::survey::Message::AlreadyAnswered,
        )));
    }
    Ok(ok(views::survey::questionnaire(
        lang,
        &s.round,
        &s.surveys,
        form.target_page(answer::pages(&s.surveys).len()),
        &form.answers,
    )))
}

/// The receipt; after an answer given with a paper code it offers the next
/// person on the same device an empty code page.
pub async fn receipt(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let lang = super::chosen_lang(&req).unwrap_or(state.settings.lang);
    let next = req.query_string().split('&').any(|p| p == "neste=kode");
    ok(views::survey::receipt(lang, next))
}

pub async fn code_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let lang = super::chosen_lang(&req).unwrap_or(state.settings.lang);
    ok(views::survey::code_form(lang, false))
}

/// `POST /kode`: one answer for every failure (no such code, used, closed,
/// too many attempts), so the page never tells whether a code exists.
pub async fn code_enter(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let lang = super::chosen_lang(&req).unwrap_or(state.settings.lang);
    let refused = || {
        page(
            actix_web::http::StatusCode::OK,
            views::survey::code_form(lang, true),
        )
    };
    let client = super::client::client_addr(&req, &state.settings.trusted_proxies);
    if let Err(why) = state.code_limiter.check(client) {
        tracing::warn!(limit = ?why, "code entry rate limit reached");
        return Ok(page(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            views::survey::code_form(lang, true),
        ));
    }
    let pairs = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).unwrap_or_default();
    // Something that cannot be a code (a typo of the wrong length) is not a
    // guess: it is refused without looking anything up and does not count.
    let Some(code) = pairs
        .iter()
        .find(|(k, _)| k == "kode")
        .and_then(|(_, v)| normalise_code(v))
    else {
        return Ok(refused());
    };
    let Some(key) = state.key.clone() else {
        return Err(AppError::Config("NAERVAER_SECRET_KEY is not set".into()));
    };
    let pool = state.pool.clone();
    let found = web::block(move || -> Result<_, AppError> {
        let mut conn = pool.get()?;
        answer::invitation_by_hash(&mut conn, &lookup_hash(&code), true)
    })
    .await??;
    match found {
        Some((inv, round)) if !inv.responded && round.accepts_answers(today()) => {
            Ok(HttpResponse::SeeOther()
                .cookie(cookie(
                    &state,
                    key.survey_token(&inv.id),
                    CookieDuration::minutes(COOKIE_MINUTES),
                ))
                .cookie(named_cookie(
                    &state,
                    KIOSK_COOKIE,
                    "1".into(),
                    CookieDuration::minutes(COOKIE_MINUTES),
                ))
                // The person's own language, unless they chose one on this page.
                .insert_header((
                    header::LOCATION,
                    match super::chosen_lang(&req) {
                        Some(l) => format!("/svar?lang={l}"),
                        None => "/svar".to_string(),
                    },
                ))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish())
        }
        _ => {
            state.code_limiter.failed(client);
            Ok(refused())
        }
    }
}

pub async fn accessibility(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let lang = super::chosen_lang(&req).unwrap_or(state.settings.lang);
    ok(views::survey::accessibility(lang, req.path()))
}
