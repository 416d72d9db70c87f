//! Sign-in pages and the extractors that check roles: [`Signed`] (any role),
//! [`Overview`] (AMU or administrator), [`Admin`]. Handlers take one of them
//! and never look at cookies themselves. Forms that change anything carry
//! the session's CSRF token, checked by [`Signed::check_csrf`].

use super::{views, AppState};
use crate::auth::{self, Viewer};
use crate::AppError;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use std::future::Future;
use std::pin::Pin;

pub const COOKIE: &str = "naervaer_okt";

fn session_cookie(state: &AppState, value: String, max_age: CookieDuration) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.base_url.starts_with("https://"))
        .max_age(max_age)
        .finish()
}

/// A signed-in viewer with any role.
pub struct Signed(pub Viewer);

impl Signed {
    /// Refuses a state-changing request whose form lacks the session's
    /// CSRF token.
    pub fn check_csrf(&self, given: &str) -> Result<(), AppError> {
        if auth::csrf_matches(&self.0.csrf, given) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

async fn load_viewer(req: HttpRequest) -> Result<Viewer, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Config("no application state".into()))?
        .clone();
    let Some(c) = req.cookie(COOKIE) else {
        return Err(AppError::Unauthorised);
    };
    let id = c.value().to_string();
    let pool = state.pool.clone();
    web::block(move || auth::viewer(&mut *pool.get()?, &id))
        .await??
        .ok_or(AppError::Unauthorised)
}

impl FromRequest for Signed {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { load_viewer(req).await.map(Signed) })
    }
}

/// The viewer, if `allowed` accepts them; otherwise 403.
fn require(
    req: &HttpRequest,
    allowed: fn(&Viewer) -> bool,
) -> Pin<Box<dyn Future<Output = Result<Signed, AppError>>>> {
    let req = req.clone();
    Box::pin(async move {
        let v = load_viewer(req).await?;
        if allowed(&v) {
            Ok(Signed(v))
        } else {
            Err(AppError::Forbidden)
        }
    })
}

/// An AMU member or an administrator.
pub struct Overview(pub Signed);

impl FromRequest for Overview {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let f = require(req, Viewer::sees_everything);
        Box::pin(async move { f.await.map(Overview) })
    }
}

/// An administrator.
pub struct Admin(pub Signed);

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let f = require(req, |v| v.admin);
        Box::pin(async move { f.await.map(Admin) })
    }
}

fn page(status: actix_web::http::StatusCode, markup: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

/// `GET /innlogging`: the form asking for an e-mail address.
pub async fn request_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let lang = super::request_lang(&req, state.settings.lang);
    page(
        actix_web::http::StatusCode::OK,
        views::auth::request_form(lang, None),
    )
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
    form: web::Form<RequestForm>,
) -> Result<HttpResponse, AppError> {
    let lang = super::request_lang(&req, state.settings.lang);
    let client = super::client::client_addr(&req, &state.settings.trusted_proxies);
    if !state.login_limiter.allow(client) {
        return Ok(page(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            views::auth::request_form(lang, Some(views::auth::Notice::TooMany)),
        ));
    }
    let pool = state.pool.clone();
    let settings = state.settings.clone();
    let email = form.into_inner().email;
    // Not awaited: the reply must not wait for the database or the relay.
    std::thread::spawn(move || {
        if let Err(e) = send_link(&pool, &settings, &email) {
            tracing::warn!(error = %e, "sign-in link not sent");
        }
    });
    Ok(page(
        actix_web::http::StatusCode::OK,
        views::auth::request_form(lang, Some(views::auth::Notice::Sent)),
    ))
}

fn send_link(
    pool: &crate::db::Pool,
    settings: &crate::config::Settings,
    email: &str,
) -> Result<(), AppError> {
    let mut conn = pool.get()?;
    let Some((to, token)) = auth::request_link(&mut conn, email)? else {
        return Ok(());
    };
    let link = format!(
        "{}/innlogging/{token}",
        settings.base_url.trim_end_matches('/')
    );
    let (subject, text, html) = crate::mail::render_sign_in(to.lang, &to.name, &link);
    let message = crate::mail::build(
        &settings.mail_from,
        &to.email,
        &crate::db::new_id(),
        to.lang,
        &subject,
        text,
        html,
    )?;
    let mailer = crate::mail::Mailer::from_settings(settings)?;
    mailer
        .send(&message, &format!("innlogging-{}", crate::db::new_id()))
        .map_err(|e| AppError::Config(format!("sending the sign-in link: {e}")))
}

/// `GET /innlogging/{token}`: a button, not the sign-in itself, so that
/// mail scanners that follow links do not use the link up.
pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> HttpResponse {
    let lang = super::request_lang(&req, state.settings.lang);
    page(
        actix_web::http::StatusCode::OK,
        views::auth::confirm(lang, &token),
    )
}

/// `POST /innlogging/{token}`: uses the link and starts a session.
pub async fn redeem(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let lang = super::request_lang(&req, state.settings.lang);
    let token = token.into_inner();
    let pool = state.pool.clone();
    let session = web::block(move || auth::redeem(&mut *pool.get()?, &token)).await??;
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
        None => page(
            actix_web::http::StatusCode::BAD_REQUEST,
            views::auth::request_form(lang, Some(views::auth::Notice::LinkUsedOrExpired)),
        ),
    })
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /utlogging`: ends the session.
pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Signed,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    viewer.check_csrf(&form.csrf)?;
    let id = req
        .cookie(COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let pool = state.pool.clone();
    web::block(move || auth::sign_out(&mut *pool.get()?, &id)).await??;
    Ok(HttpResponse::SeeOther()
        .cookie(session_cookie(&state, String::new(), CookieDuration::ZERO))
        .insert_header((header::LOCATION, "/innlogging?ut=1"))
        .finish())
}
