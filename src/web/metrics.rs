//! `GET /metrics`: the Prometheus scrape. Off unless configured: on an
//! address of its own (`NAERVAER_METRICS_BIND`, for the monitoring network
//! only) and/or on the main address to a bearer token
//! (`NAERVAER_METRICS_TOKEN`). The outbox's depth is read from the
//! database at each scrape; everything else is this process's.

use super::AppState;
use crate::AppError;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

/// The scrape's text.
async fn scrape(state: &AppState) -> Result<HttpResponse, AppError> {
    let outbox = state
        .db(|conn, _| Ok(crate::mail::outbox::depth(conn)?))
        .await?;
    let c = state.cache.stats();
    let pool = state.pool.state();
    let text = crate::metrics::render(&crate::metrics::State {
        outbox,
        cache: Some((c.hits, c.misses, c.entries, c.bytes)),
        pool: (pool.connections, pool.idle_connections),
    });
    Ok(HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}

/// On the main address: only with `NAERVAER_METRICS_TOKEN`, and only to
/// a request that brings it.
pub async fn with_token(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let Some(token) = &state.settings.metrics_token else {
        return Err(AppError::NotFound);
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !crate::crypto::tokens_match(token.expose(), given.trim()) {
        return Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""))
            .finish());
    }
    scrape(&state).await
}

/// On `NAERVAER_METRICS_BIND`: open to whoever reaches that address.
pub async fn open(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    scrape(&state).await
}
