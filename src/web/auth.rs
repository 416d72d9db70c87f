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

/// `GET /innlogging`: the form asking for an e-mail address.
pub async fn request_form(lang: PageLang) -> HttpResponse {
    respond::ok(views::auth::request_form(lang.0, None))
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
            views::auth::request_form(lang, Some(views::auth::Notice::TooMany)),
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
            views::auth::request_form(lang, Some(views::auth::Notice::LinkUsedOrExpired)),
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
