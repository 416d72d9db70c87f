//! The OpenAPI document: valid OpenAPI 3.1 by an independent validator
//! (`tests/openapi_check.py`: openapi-spec-validator), served as generated,
//! covering every `/api/v1` route; and every API answer any test receives
//! (through `support::http_with`) matches it, checked by a validator
//! process that lives as long as the test process.

use crate::support::{self, http, Response, TestDb, TestServer};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

fn python() -> String {
    std::env::var("NAERVAER_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn script() -> String {
    format!("{}/tests/openapi_check.py", env!("CARGO_MANIFEST_DIR"))
}

/// The generated document, written once to a file the validator reads.
fn document_file() -> &'static std::path::Path {
    static FILE: OnceLock<tempfile::TempPath> = OnceLock::new();
    FILE.get_or_init(|| {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(naervaer::web::api::document().as_bytes())
            .unwrap();
        f.into_temp_path()
    })
}

struct Validator {
    _child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

fn validator() -> &'static Mutex<Validator> {
    static V: OnceLock<Mutex<Validator>> = OnceLock::new();
    V.get_or_init(|| {
        let mut child = Command::new(python())
            .arg(script())
            .arg("answers")
            .arg(document_file())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "the OpenAPI validator ({} tests/openapi_check.py) cannot start: {e}",
                    python()
                )
            });
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Mutex::new(Validator {
            _child: child,
            input,
            output,
        })
    })
}

/// What the validator says of one answer: "ok" or "error: …".
pub fn verdict(method: &str, path: &str, status: u16, content_type: &str, body: &str) -> String {
    let line = serde_json::json!({
        "method": method, "path": path, "status": status,
        "content_type": content_type, "body": body,
    });
    let mut v = validator().lock().unwrap_or_else(|e| e.into_inner());
    writeln!(v.input, "{line}").unwrap();
    v.input.flush().unwrap();
    let mut answer = String::new();
    v.output.read_line(&mut answer).unwrap();
    assert!(
        !answer.is_empty(),
        "the OpenAPI validator stopped (is openapi-spec-validator installed? `bash .ci/run` installs it)"
    );
    answer.trim_end().to_string()
}

/// Panics unless `r`, the answer to `method path`, matches the document.
pub fn check_answer(method: &str, path: &str, r: &Response) {
    let verdict = verdict(
        method,
        path,
        r.status,
        r.header("content-type").unwrap_or(""),
        &r.body,
    );
    assert_eq!(
        verdict, "ok",
        "an API answer the OpenAPI document does not describe"
    );
}

#[test]
fn the_served_document_is_valid_openapi_3_1_and_lists_every_api_route() {
    let t = TestDb::new(support::Backend::Sqlite);
    let server = TestServer::start(&t);
    let r = http(server.addr, "GET", "/api/v1/openapi.json", "");
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(r.body, naervaer::web::api::document(), "served ≠ generated");

    let out = Command::new(python())
        .arg(script())
        .arg("document")
        .arg(document_file())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.trim() == "ok",
        "openapi-spec-validator: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {p}", m.to_uppercase()))
        })
        .collect();
    let mut routes: Vec<String> = support::declared_routes()
        .into_iter()
        .filter(|(_, p)| p.starts_with("/api/v1/") && p != "/api/v1/openapi.json")
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    routes.sort();
    let mut documented_sorted = documented.clone();
    documented_sorted.sort();
    assert_eq!(documented_sorted, routes, "documented API ≠ routes");
}

#[test]
fn the_answer_check_refuses_what_the_document_does_not_say() {
    let ok_body = r#"{"rounds": []}"#;
    let ct = "application/json";
    assert_eq!(verdict("GET", "/api/v1/rounds", 200, ct, ok_body), "ok");
    for (status, content_type, body, says) in [
        // A field of the wrong type.
        (200, ct, r#"{"rounds": 3}"#, "at /rounds"),
        // A field the document does not declare.
        (200, ct, r#"{"rounds": [], "extra": 1}"#, "extra"),
        // A status the document does not list.
        (418, ct, ok_body, "418"),
        // HTML where JSON is documented.
        (401, "text/html; charset=utf-8", "<p>", "text/html"),
        // An error body without its message.
        (
            401,
            ct,
            r#"{"status": 401, "error": "unauthorised"}"#,
            "message",
        ),
    ] {
        let v = verdict("GET", "/api/v1/rounds", status, content_type, body);
        assert!(
            v.starts_with("error") && v.contains(says),
            "{status} {body}: {v}"
        );
    }
    let v = verdict("GET", "/api/v1/nothing", 200, ct, ok_body);
    assert!(v.contains("not in the document"), "{v}");
    let v = verdict("POST", "/api/v1/rounds", 200, ct, ok_body);
    assert!(v.contains("not in the document"), "{v}");
}
