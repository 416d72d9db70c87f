//! What a handler takes from a request, so that it never reads cookies,
//! query strings or CSRF fields itself:
//!
//! - [`PageLang`]: the language of a public page (`?lang=`, else the
//!   installation's);
//! - [`Signed`]: the signed-in viewer and the page's language (`?lang=`,
//!   else theirs); 401 without a session;
//! - [`Overview`] and [`Admin`]: a viewer [`crate::access`] allows the
//!   AMU overview or the administration (403 otherwise);
//! - [`SignedForm`]: a form posted by a signed-in viewer whose CSRF token
//!   matches their session's (403 otherwise), with the form's fields.
//!
//! A handler then reads: extract → authorise (with [`crate::access`]
//! for one group's results or plan) → call → render.

use super::AppState;
use crate::access::{self, Resource, Viewer};
use crate::lang::Lang;
use crate::AppError;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use std::future::{ready, Future, Ready};
use std::pin::Pin;

/// The session cookie of a signed-in viewer.
pub const SESSION_COOKIE: &str = "naervaer_okt";

/// The language asked for with `?lang=`, if any.
pub fn chosen_lang(req: &HttpRequest) -> Option<Lang> {
    req.query_string()
        .split('&')
        .find_map(|p| p.strip_prefix("lang="))
        .and_then(|l| l.parse().ok())
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::config("no application state"))
}

/// The language of a public page.
pub struct PageLang(pub Lang);

impl FromRequest for PageLang {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(state(req).map(|s| PageLang(chosen_lang(req).unwrap_or(s.settings.lang))))
    }
}

/// A signed-in viewer (any role), and the language of the page.
pub struct Signed {
    pub viewer: Viewer,
    pub lang: Lang,
}

impl Signed {
    /// `Unauthorised` or `Forbidden` unless [`access::decide`] allows it.
    pub fn require(&self, resource: Resource) -> Result<(), AppError> {
        access::require(Some(&self.viewer), resource)
    }

    /// Refuses a form whose CSRF token is not the session's. For forms the
    /// [`SignedForm`] extractor cannot read (file uploads).
    pub fn check_csrf(&self, given: &str) -> Result<(), AppError> {
        if crate::crypto::tokens_match(&self.viewer.csrf, given) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

async fn load_signed(req: HttpRequest) -> Result<Signed, AppError> {
    let state = state(&req)?;
    let Some(c) = req.cookie(SESSION_COOKIE) else {
        return Err(AppError::Unauthorised);
    };
    let id = c.value().to_string();
    let viewer = state
        .db(move |conn, _| crate::auth::viewer(conn, &id))
        .await?
        .ok_or(AppError::Unauthorised)?;
    let lang = chosen_lang(&req).unwrap_or(viewer.lang);
    Ok(Signed { viewer, lang })
}

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

impl FromRequest for Signed {
    type Error = AppError;
    type Future = Boxed<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(load_signed(req.clone()))
    }
}

/// An AMU member or an administrator ([`Resource::Overview`]).
pub struct Overview(pub Signed);

impl FromRequest for Overview {
    type Error = AppError;
    type Future = Boxed<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let s = load_signed(req).await?;
            s.require(Resource::Overview)?;
            Ok(Overview(s))
        })
    }
}

/// An administrator ([`Resource::Administration`]).
pub struct Admin(pub Signed);

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Boxed<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let s = load_signed(req).await?;
            s.require(Resource::Administration)?;
            Ok(Admin(s))
        })
    }
}

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form posted by a signed-in viewer, its CSRF token checked against the
/// session's; `form` holds its other fields (`T` ignores `csrf`).
pub struct SignedForm<T> {
    pub signed: Signed,
    pub form: T,
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for SignedForm<T> {
    type Error = AppError;
    type Future = Boxed<Self>;
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let signed = load_signed(req).await?;
            let body = body.await.map_err(|_| AppError::Forbidden)?;
            let csrf = serde_urlencoded::from_bytes::<CsrfField>(&body)
                .map(|f| f.csrf)
                .unwrap_or_default();
            signed.check_csrf(&csrf)?;
            let form = serde_urlencoded::from_bytes::<T>(&body).map_err(|e| {
                tracing::info!(error = %e, "form refused");
                crate::error::UserError::BadForm
            })?;
            Ok(SignedForm { signed, form })
        })
    }
}
