use crate::both_backends;
use crate::support::{http, TestServer};

both_backends! {
    fn healthz_checks_the_database(t) {
        let server = TestServer::start(&t);
        let r = http(server.addr, "GET", "/healthz", "");
        assert_eq!(r.status, 200);
        let backend = match t.backend { crate::support::Backend::Sqlite => "sqlite", crate::support::Backend::Postgres => "postgres" };
        assert_eq!(r.body, format!(r#"{{"database":"{backend}","status":"ok"}}"#));
    }
}

#[test]
fn pages_are_bokmal_by_default_and_switch_language() {
    let t = crate::support::TestDb::new(crate::support::Backend::Sqlite);
    let server = TestServer::start(&t);
    let nb = http(server.addr, "GET", "/", "");
    assert_eq!(nb.status, 200);
    assert!(nb.body.contains(r#"<html lang="nb">"#), "{}", nb.body);
    assert!(nb.body.contains("Hopp til innholdet"));
    let nn = http(server.addr, "GET", "/?lang=nn", "");
    assert!(nn.body.contains(r#"<html lang="nn">"#) && nn.body.contains("Hopp til innhaldet"));
    let en = http(server.addr, "GET", "/?lang=en", "");
    assert!(en.body.contains(r#"<html lang="en">"#) && en.body.contains("Skip to content"));
    let css = http(server.addr, "GET", "/static/app.css", "");
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
}

#[test]
fn every_response_carries_the_security_headers() {
    let t = crate::support::TestDb::new(crate::support::Backend::Sqlite);
    let server = TestServer::start(&t);
    for path in ["/", "/healthz", "/no-such-page"] {
        let r = http(server.addr, "GET", path, "");
        let csp = r
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"));
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{path}");
    }
}

#[test]
fn an_unknown_page_answers_404_with_a_page() {
    let t = crate::support::TestDb::new(crate::support::Backend::Sqlite);
    let server = TestServer::start(&t);
    let r = http(server.addr, "GET", "/finnes/ikke", "");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("Siden finnes ikke"), "{}", r.body);
}
