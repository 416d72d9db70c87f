//! Every kind of answer a handler gives, in one place: HTML pages, files
//! to download, JSON and redirects. Nothing personal may be kept by a
//! browser or a proxy, so every one of them is `no-store`; only the
//! stylesheet is cacheable.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use maud::Markup;

/// An HTML page with a status.
pub fn page(status: StatusCode, markup: Markup) -> HttpResponse {
    html_bytes(status, markup.into_string())
}

/// An HTML page, 200.
pub fn ok(markup: Markup) -> HttpResponse {
    page(StatusCode::OK, markup)
}

/// HTML already rendered (a cached page).
pub fn html_bytes(status: StatusCode, body: impl Into<actix_web::web::Bytes>) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body.into())
}

/// A file to save: CSV, XLSX.
pub fn download(file_name: &str, content_type: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .body(body)
}

pub const CSV: &str = "text/csv; charset=utf-8";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A JSON answer of the API.
pub fn json(value: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(value)
}

/// 303 to `location` (a path of this site).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
