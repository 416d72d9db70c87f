//! Refuses state-changing requests that a browser sent from another site.
//!
//! CSRF tokens protect the forms of a signed-in session, and the survey
//! cookie is `SameSite=Strict`; this check stands behind both and is the
//! only one for the forms that come before any session: asking for a
//! sign-in link, redeeming it (an attacker's own link, posted from their
//! page, would sign the victim in as the attacker) and entering a paper code.
//!
//! A browser says where a request comes from in `Sec-Fetch-Site` (all
//! current browsers) or `Origin` (on every POST). A request with neither is
//! not from a browser page and passes (tokens still apply).

use super::{views, AppState};
use crate::lang::Lang;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

/// Whether a request with these headers comes from this site's own pages.
/// `base_url` is the configured public address; `host` the Host header.
pub fn same_site(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    base_url: &str,
    host: Option<&str>,
) -> bool {
    if let Some(site) = sec_fetch_site {
        // "none": typed or bookmarked by the person themselves.
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = origin else {
        return true;
    };
    let origin = origin.trim_end_matches('/');
    if origin.eq_ignore_ascii_case(origin_of(base_url)) {
        return true;
    }
    // Served under another name than the configured one (a test, an
    // internal address): the origin must then name the host asked for.
    let host_of_origin = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((host_of_origin, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let rest_at = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[rest_at..].find('/') {
        Some(i) => &url[..rest_at + i],
        None => url,
    }
}

pub async fn refuse_cross_site(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let headers = req.headers();
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let base_url = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.base_url.clone())
            .unwrap_or_default();
        if !same_site(
            text("sec-fetch-site"),
            text(header::ORIGIN.as_str()),
            &base_url,
            text(header::HOST.as_str()),
        ) {
            tracing::warn!(target: "naervaer::http", path = %super::logging::redact_path(req.path()), "cross-site form refused");
            let lang = super::chosen_lang(req.request()).unwrap_or(Lang::Nb);
            let detail = lang.pick(
                "Skjemaet ble sendt fra et annet nettsted og er avvist. Åpne siden hos oss og send det derfra.",
                "Skjemaet vart sendt frå ein annan nettstad og er avvist. Opna sida hos oss og send det derifrå.",
                "The form was sent from another site and was refused. Open the page here and send it from there.",
            );
            let page = views::error_page_with(lang, "/", StatusCode::FORBIDDEN, Some(detail));
            let res = HttpResponse::Forbidden()
                .content_type("text/html; charset=utf-8")
                .body(page.into_string());
            return Ok(req.into_response(res));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::same_site;

    #[test]
    fn browsers_own_forms_pass_and_other_sites_do_not() {
        let base = "https://naervaer.kommune.no";
        assert!(same_site(Some("same-origin"), None, base, None));
        assert!(same_site(Some("none"), None, base, None));
        assert!(!same_site(Some("cross-site"), Some(base), base, None));
        assert!(!same_site(Some("same-site"), None, base, None));
        assert!(same_site(
            None,
            Some("https://naervaer.kommune.no"),
            base,
            None
        ));
        assert!(same_site(
            None,
            Some("http://127.0.0.1:8080"),
            base,
            Some("127.0.0.1:8080")
        ));
        assert!(!same_site(
            None,
            Some("https://evil.example"),
            base,
            Some("naervaer.kommune.no")
        ));
        assert!(!same_site(
            None,
            Some("null"),
            base,
            Some("naervaer.kommune.no")
        ));
        assert!(!same_site(
            None,
            Some("https://naervaer.kommune.no.evil.example"),
            base,
            None
        ));
        assert!(
            same_site(None, None, base, None),
            "not a browser: tokens decide"
        );
        assert!(same_site(
            None,
            Some("https://naervaer.kommune.no"),
            "https://naervaer.kommune.no/app/",
            None
        ));
    }
}
