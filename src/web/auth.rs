//! Sign-in pages: asking for a link, confirming it, signing out. (Who is
//! signed in, and what they may do, is for [`super::extract`] and
//! [`crate::access`].)

use super::extract::{PageLang, SignedForm, SESSION_COOKIE as COOKIE};
use super::{respond, views, AppState};
use crate::auth;
use crate::AppError;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

fn session_cookie(state: &AppState, value: String, max_age: CookieDuration) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.base_url.starts_with("https://"))
        .max_age(max_age)
        .finish()
}

/// `GET /innlogging`: the form asking for an e-mail address, and the
/// button to sign in through the identity provider where there is one.
pub async fn request_form(state: web::Data<AppState>, lang: PageLang) -> HttpResponse {
    respond::ok(views::auth::request_form(
        lang.0,
        None,
        state.oidc.is_some(),
    ))
}

/// The cookie that holds a sign-in's state between the redirect to the
/// identity provider and its callback (SameSite=Lax: the callback is a
/// navigation from the provider's site).
const OIDC_COOKIE: &str = "naervaer_oidc";

fn oidc_cookie(state: &AppState, value: String, max_age: CookieDuration) -> Cookie<'static> {
    Cookie::build(OIDC_COOKIE, value)
        .path("/oidc")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.base_url.starts_with("https://"))
        .max_age(max_age)
        .finish()
}

/// `GET /oidc/login`: to the identity provider, with PKCE, state and
/// nonce ([`auth::oidc::Provider::start`]). The cookie holds the state and
/// the page's language, for the way back. Limited per client address like
/// the request for a link; the provider is asked without holding a
/// database connection.
pub async fn oidc_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    PageLang(lang): PageLang,
) -> Result<HttpResponse, AppError> {
    let provider = state.oidc.clone().ok_or(AppError::NotFound)?;
    let client = super::client::client_addr(&req, &state.settings.trusted_proxies);
    if !state.login_limiter.allow(client) {
        crate::metrics::get().limited("sign_in");
        return Ok(respond::page(
            StatusCode::TOO_MANY_REQUESTS,
            views::auth::request_form(lang, Some(views::auth::Notice::TooMany), true),
        ));
    }
    let started = match web::block(move || provider.start()).await? {
        Ok(s) => s,
        Err(refusal) => return Ok(refused(&state, lang, refusal)),
    };
    let (url, login_state) = (started.url.clone(), started.state.clone());
    state
        .db(move |conn, _| auth::oidc::remember(conn, &started))
        .await?;
    Ok(HttpResponse::SeeOther()
        .cookie(oidc_cookie(
            &state,
            format!("{login_state}.{}", lang.code()),
            CookieDuration::minutes(auth::oidc::LOGIN_MINUTES),
        ))
        .insert_header((header::LOCATION, url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// The sign-in page saying why a sign-in through the identity provider
/// did not go through; the state cookie cleared.
fn refused(
    state: &AppState,
    lang: crate::lang::Lang,
    refusal: auth::oidc::Refusal,
) -> HttpResponse {
    tracing::warn!(reason = %refusal, "sign-in through the identity provider refused");
    let status = match refusal {
        auth::oidc::Refusal::Provider(_) => StatusCode::SERVICE_UNAVAILABLE,
        auth::oidc::Refusal::State | auth::oidc::Refusal::Denied(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::FORBIDDEN,
    };
    let mut page = respond::page(
        status,
        views::auth::request_form_refused(lang, None, true, Some(&refusal)),
    );
    let _ = page.add_cookie(&oidc_cookie(state, String::new(), CookieDuration::ZERO));
    page
}

#[derive(serde::Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: String,
}

/// `GET /oidc/callback`: the provider's answer. A session when the ID
/// token passes and names someone who may sign in; else the sign-in page
/// saying why, and no session.
pub async fn oidc_callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    PageLang(lang): PageLang,
    query: web::Query<Callback>,
) -> Result<HttpResponse, AppError> {
    let provider = state.oidc.clone().ok_or(AppError::NotFound)?;
    let q = query.into_inner();
    let cookie = req.cookie(OIDC_COOKIE).map(|c| c.value().to_string());
    // "{state}.{language}": the state is base64url, without dots.
    let (cookie_state, lang) = match cookie.as_deref().and_then(|c| c.rsplit_once('.')) {
        Some((s, l)) => (Some(s.to_string()), l.parse().unwrap_or(lang)),
        None => (None, lang),
    };
    if !q.error.is_empty() {
        let said = q.error.chars().take(60).collect();
        return Ok(refused(&state, lang, auth::oidc::Refusal::Denied(said)));
    }
    // Three steps, the provider asked between two short uses of the
    // database: the waiting sign-in taken (once), the code exchanged and
    // the token checked, the person found and a session started.
    let (code, login_state) = (q.code, q.state);
    let taken = state
        .db(move |conn, _| auth::oidc::take(conn, &login_state, cookie_state.as_deref()))
        .await?;
    let pending = match taken {
        Ok(p) => p,
        Err(refusal) => return Ok(refused(&state, lang, refusal)),
    };
    let exchanging = provider.clone();
    let claims = match web::block(move || exchanging.exchange(&code, &pending)).await? {
        Ok(c) => c,
        Err(refusal) => return Ok(refused(&state, lang, refusal)),
    };
    let session = state
        .db(move |conn, _| {
            Ok(match provider.person(conn, &claims) {
                Ok(id) => Ok(auth::oidc::session_for(conn, &id)?),
                Err(r) => Err(r),
            })
        })
        .await?;
    Ok(match session {
        Ok(session) => HttpResponse::SeeOther()
            .cookie(oidc_cookie(&state, String::new(), CookieDuration::ZERO))
            .cookie(session_cookie(
                &state,
                session,
                CookieDuration::hours(auth::SESSION_HOURS),
            ))
            .insert_header((header::LOCATION, "/resultater"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err(refusal) => refused(&state, lang, refusal),
    })
}

#[derive(serde::Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    email: String,
}

/// `POST /innlogging`: sends a link if the address belongs to someone with
/// a role, and answers the same in every case. The e-mail is sent after
/// the answer, so the answer's timing does not tell either.
pub async fn request_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    PageLang(lang): PageLang,
    form: web::Form<RequestForm>,
) -> Result<HttpResponse, AppError> {
    let client = super::client::client_addr(&req, &state.settings.trusted_proxies);
    if !state.login_limiter.allow(client) {
        crate::metrics::get().limited("sign_in");
        return Ok(respond::page(
            StatusCode::TOO_MANY_REQUESTS,
            views::auth::request_form(
                lang,
                Some(views::auth::Notice::TooMany),
                state.oidc.is_some(),
            ),
        ));
    }
    let email = form.into_inner().email;
    // Not awaited: the reply must not wait for the database or the relay.
    state.in_background("sending a sign-in link", move |pool, settings| {
        crate::mail::send_sign_in_link(&mut *pool.get()?, settings, &email)
    });
    Ok(respond::ok(views::auth::request_form(
        lang,
        Some(views::auth::Notice::Sent),
        state.oidc.is_some(),
    )))
}

/// `GET /innlogging/{token}`: a button, not the sign-in itself, so that
/// mail scanners that follow links do not use the link up.
pub async fn confirm(lang: PageLang, token: web::Path<String>) -> HttpResponse {
    respond::ok(views::auth::confirm(lang.0, &token))
}

/// `POST /innlogging/{token}`: uses the link and starts a session.
pub async fn redeem(
    state: web::Data<AppState>,
    PageLang(lang): PageLang,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let session = state.db(move |conn, _| auth::redeem(conn, &token)).await?;
    Ok(match session {
        Some(id) => HttpResponse::SeeOther()
            .cookie(session_cookie(
                &state,
                id,
                CookieDuration::hours(auth::SESSION_HOURS),
            ))
            .insert_header((header::LOCATION, "/resultater"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        None => respond::page(
            StatusCode::BAD_REQUEST,
            views::auth::request_form(
                lang,
                Some(views::auth::Notice::LinkUsedOrExpired),
                state.oidc.is_some(),
            ),
        ),
    })
}

/// `POST /utlogging`: ends the session.
pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: SignedForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    form.signed.require(crate::access::Resource::OwnSession)?;
    let id = req
        .cookie(COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    state.db(move |conn, _| auth::sign_out(conn, &id)).await?;
    Ok(HttpResponse::SeeOther()
        .cookie(session_cookie(&state, String::new(), CookieDuration::ZERO))
        .insert_header((header::LOCATION, "/innlogging?ut=1"))
        .finish())
}

/// A form with no fields but its CSRF token.
#[derive(serde::Deserialize)]
pub struct NoFields {}
