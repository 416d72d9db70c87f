//! Request logs. A URL may carry a secret (the survey token in `/s/{token}`,
//! a sign-in link, a paper code): logs record the route with those parts
//! replaced and never the query string.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use std::time::Instant;

/// Path prefixes whose next segment is a secret.
const SECRET_SEGMENT_AFTER: [&str; 5] = ["/s/", "/r/", "/login/", "/kode/", "/innlogging/"];
/// Path prefixes after which everything is secret (an account's id, then
/// its token).
const SECRET_AFTER: [&str; 1] = ["/redegjorelse/"];

/// The path as it may be logged: secret segments become `[redacted]`.
pub fn redact_path(path: &str) -> String {
    for prefix in SECRET_AFTER {
        if path.starts_with(prefix) {
            return format!("{prefix}[redacted]");
        }
    }
    for prefix in SECRET_SEGMENT_AFTER {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
            return format!("{prefix}[redacted]{tail}");
        }
    }
    path.to_string()
}

pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = redact_path(req.path());
    let res = next.call(req).await;
    let elapsed = started.elapsed().as_secs_f64();
    let ms = elapsed * 1000.0;
    match &res {
        Ok(r) => {
            count(r.request(), r.status().as_u16(), elapsed);
            tracing::info!(target: "naervaer::http", %method, %path, status = r.status().as_u16(), ms = format!("{ms:.1}"), "request")
        }
        Err(e) => {
            tracing::warn!(target: "naervaer::http", %method, %path, error = %e, ms = format!("{ms:.1}"), "request failed")
        }
    }
    res
}

/// The request in the metrics: by its route's pattern (`/s/{token}`),
/// never its path.
fn count(req: &actix_web::HttpRequest, status: u16, seconds: f64) {
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let m = crate::metrics::get();
    m.requests
        .get_or_create(&crate::metrics::RequestLabels {
            route: route.clone(),
            method: method.clone(),
            status: status.to_string(),
        })
        .inc();
    m.request_seconds
        .get_or_create(&crate::metrics::RouteLabels { route, method })
        .observe(seconds);
}

#[cfg(test)]
mod tests {
    use super::redact_path;

    #[test]
    fn secret_segments_are_redacted() {
        assert_eq!(redact_path("/s/abcdef0123"), "/s/[redacted]");
        assert_eq!(redact_path("/s/abcdef0123/side/2"), "/s/[redacted]/side/2");
        assert_eq!(redact_path("/login/tok"), "/login/[redacted]");
        assert_eq!(redact_path("/r/grouptoken"), "/r/[redacted]");
        assert_eq!(
            redact_path("/redegjorelse/id/token"),
            "/redegjorelse/[redacted]"
        );
        assert_eq!(redact_path("/healthz"), "/healthz");
    }
}
