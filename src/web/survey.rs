//! The answering pages. The token from the e-mail (or the code from the
//! letter) is traded for a short-lived cookie, and the browser is sent on to
//! a URL without it, so the token stays out of history, referrers and logs.

use super::extract::{chosen_lang, PageLang};
use super::{respond, views, AppState};
use crate::crypto::{lookup_hash, normalise_code};
use crate::rounds::answer::{self, Go, Session, Submitted};
use crate::rounds::today;
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

use respond::{ok, page};

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
    state
        .db_quick(move |conn, cache| answer::session(conn, cache, &token))
        .await
}

/// `/s/{token}`: check the token, set the cookie, redirect.
pub async fn enter(
    state: web::Data<AppState>,
    PageLang(lang): PageLang,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner().to_ascii_lowercase();
    let hash = lookup_hash(&token);
    let found = state
        .db_quick(move |conn, _| answer::invitation_by_hash(conn, &hash, false))
        .await?;
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
pub async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageLang(default): PageLang,
) -> Result<HttpResponse, AppError> {
    let Some(s) = session(&state, &req).await? else {
        return Ok(page(
            actix_web::http::StatusCode::NOT_FOUND,
            views::survey::message(default, views::survey::Message::NoSession),
        ));
    };
    let lang = chosen_lang(&req).unwrap_or(s.lang);
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
    Ok(respond::html_bytes(
        actix_web::http::StatusCode::OK,
        first_page(&state.cache, lang, &s.round, &s.surveys),
    ))
}

/// The questionnaire's first page with nothing answered: the same for
/// everyone in a round and language, so it is rendered once while the
/// cache keeps it (and again if the round's record changes).
fn first_page(
    cache: &crate::cache::Cache,
    lang: crate::lang::Lang,
    round: &crate::rounds::Round,
    surveys: &[crate::survey::Survey],
) -> web::Bytes {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    format!("{round:?}").hash(&mut h);
    let key = crate::cache::Key::FirstPage {
        round: round.id.clone(),
        round_stamp: h.finish(),
        lang,
    };
    let page: Result<_, std::convert::Infallible> = cache.get_or_try(key, || {
        let html = web::Bytes::from(
            views::survey::questionnaire(lang, round, surveys, 0, &answer::Answers::default())
                .into_string(),
        );
        let bytes = html.len();
        Ok((html, bytes))
    });
    match page {
        Ok(p) => (*p).clone(),
        Err(never) => match never {},
    }
}

/// `POST /svar`: move between pages, or submit.
pub async fn step(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageLang(default): PageLang,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let Some(s) = session(&state, &req).await? else {
        return Ok(page(
            actix_web::http::StatusCode::NOT_FOUND,
            views::survey::message(default, views::survey::Message::NoSession),
        ));
    };
    let mut lang = chosen_lang(&req).unwrap_or(s.lang);
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
        let (hash, surveys, answers) = (
            s.token_hash.clone(),
            s.surveys.clone(),
            form.answers.clone(),
        );
        let outcome = match state.commit.clone() {
            // Awaits its batch's commit without holding a thread.
            Some(c) => c.submit_async(hash, surveys, answers).await?,
            None => {
                state
                    .db(move |conn, _| answer::submit(conn, &hash, &surveys, &answers))
                    .await?
            }
        };
        let by_code = req.cookie(KIOSK_COOKIE).is_some();
        if outcome == Submitted::Stored {
            crate::metrics::get().answers_stored.inc();
        }
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
pub async fn receipt(req: HttpRequest, PageLang(lang): PageLang) -> HttpResponse {
    let next = req.query_string().split('&').any(|p| p == "neste=kode");
    ok(views::survey::receipt(lang, next))
}

/// `GET /kode` (and `/kode#CODE` from a letter's QR code: the page's
/// script fills the code in from the fragment, which never reaches the
/// server).
pub async fn code_form(PageLang(lang): PageLang) -> HttpResponse {
    ok(views::survey::code_form(lang, false))
}

/// `POST /kode`: one answer for every failure (no such code, used, closed,
/// too many attempts), so the page never tells whether a code exists.
pub async fn code_enter(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageLang(lang): PageLang,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let refused = || {
        page(
            actix_web::http::StatusCode::OK,
            views::survey::code_form(lang, true),
        )
    };
    let client = super::client::client_addr(&req, &state.settings.trusted_proxies);
    // Counted as a failure from here on, unless it turns out not to be one.
    let attempt = match state.code_limiter.begin(client) {
        Ok(attempt) => attempt,
        Err(why) => {
            tracing::warn!(limit = ?why, "code entry rate limit reached");
            crate::metrics::get().limited("code");
            return Ok(page(
                actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                views::survey::code_form(lang, true),
            ));
        }
    };
    let pairs = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).unwrap_or_default();
    // Something that cannot be a code (a typo of the wrong length) is not a
    // guess: it is refused without looking anything up and does not count.
    let Some(code) = pairs
        .iter()
        .find(|(k, _)| k == "kode")
        .and_then(|(_, v)| normalise_code(v))
    else {
        attempt.succeeded();
        return Ok(refused());
    };
    let Some(key) = state.key.clone() else {
        return Err(AppError::config("NAERVAER_SECRET_KEY is not set"));
    };
    let found = state
        .db(move |conn, _| answer::invitation_by_hash(conn, &lookup_hash(&code), true))
        .await?;
    match found {
        Some((inv, round)) if !inv.responded && round.accepts_answers(today()) => {
            attempt.succeeded();
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
                    match chosen_lang(&req) {
                        Some(l) => format!("/svar?lang={l}"),
                        None => "/svar".to_string(),
                    },
                ))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish())
        }
        // No such code, used, or closed: the attempt stays counted.
        _ => Ok(refused()),
    }
}

pub async fn accessibility(req: HttpRequest, PageLang(lang): PageLang) -> HttpResponse {
    ok(views::survey::accessibility(lang, req.path()))
}
