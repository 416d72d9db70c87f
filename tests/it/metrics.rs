//! Prometheus metrics: off unless configured; on the main address only to
//! the bearer token; scraped from a `naervaer serve` process while it
//! answers and sends, parsed by the Prometheus project's own parser
//! (`tests/metrics_parse.py`, prometheus_client), and checked against what
//! really happened — with no token, person or unit in any label.

use crate::both_backends;
use crate::mail::SmtpSink;
use crate::nodes::Node;
use crate::rounds::{invitation_ids, new_round};
use crate::support::{self, http, http_with, key, settings, TestDb, TestServer};
use diesel::prelude::*;
use naervaer::bench::complete_form;
use naervaer::db::schema::{employees, outbox, units};
use naervaer::import::Kind;
use naervaer::rounds::{self, Round};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "metrics-token-0123456789abcdef0123456789";

#[derive(Debug, serde::Deserialize)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The scrape through the real parser; panics with its message when it
/// refuses the text.
fn parse(text: &str) -> Vec<Sample> {
    let python = std::env::var("NAERVAER_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(&python)
        .arg(format!(
            "{}/tests/metrics_parse.py",
            env!("CARGO_MANIFEST_DIR")
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{python} tests/metrics_parse.py cannot start: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused the scrape: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The sum of the samples named `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

fn scrape(addr: SocketAddr, token: Option<&str>) -> Vec<Sample> {
    parse(&scrape_text(addr, token))
}

fn scrape_text(addr: SocketAddr, token: Option<&str>) -> String {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| ("Authorization", b))
        .into_iter()
        .collect();
    let r = http_with(addr, "GET", "/metrics", "text/plain", b"", &headers);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        r.header("content-type")
    );
    r.body
}

#[test]
fn metrics_are_off_unless_configured_and_the_main_address_asks_for_the_token() {
    let t = TestDb::new(support::Backend::Sqlite);
    let off = TestServer::start(&t);
    assert_eq!(http(off.addr, "GET", "/metrics", "").status, 404);

    let on = TestServer::start_with(&t, settings(&t, &[("NAERVAER_METRICS_TOKEN", TOKEN)]));
    let none = http(on.addr, "GET", "/metrics", "");
    assert_eq!(none.status, 401);
    assert!(none
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer"));
    let wrong = format!("Bearer {}x", &TOKEN[..TOKEN.len() - 1]);
    let r = http_with(
        on.addr,
        "GET",
        "/metrics",
        "text/plain",
        b"",
        &[("Authorization", &wrong)],
    );
    assert_eq!(r.status, 401);
    let samples = scrape(on.addr, Some(TOKEN));
    assert_eq!(
        value(
            &samples,
            "naervaer_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );

    // A token too short to be secret is refused at start.
    let short = naervaer::config::Settings::from_sources(
        &[("NAERVAER_METRICS_TOKEN".to_string(), "short".to_string())].into(),
        None,
    );
    assert!(short
        .unwrap_err()
        .to_string()
        .contains("NAERVAER_METRICS_TOKEN"));
}

/// Ten people per unit with e-mail, and an administrator.
fn organisation(c: &mut naervaer::db::DbConnection, n: usize) {
    crate::import_text(c, Kind::Units, crate::UNITS, false).unwrap();
    let mut text = String::from("employee_id;name;email;unit_code;leader_of;roles;language\n");
    text += "admin;Ada Admin;ada@test.no;1000;;admin;nb\n";
    for i in 0..n {
        let unit = ["1000", "1100", "1110", "1200"][i % 4];
        text += &format!("{i};Person {i};person{i}@test.no;{unit};;;nb\n");
    }
    crate::import_text(c, Kind::Employees, &text, false).unwrap();
}

both_backends! {
    fn a_scrape_during_answering_and_sending_parses_and_counts_what_happened(t) {
        let mut c = t.conn();
        organisation(&mut c, 160);
        let round = new_round(&mut c, None);
        rounds::open(&mut c, &key(), &round.id).unwrap();
        let surveys = Round::find(&mut c, &round.id).unwrap().surveys(&mut c).unwrap();
        let ids = invitation_ids(&mut c, &round.id);
        let sink = SmtpSink::start();
        let metrics_port = support::free_port();
        let metrics_bind = format!("127.0.0.1:{metrics_port}");
        let node = Node::start_with(
            &t.url,
            &sink,
            "100",
            "4",
            &[("NAERVAER_METRICS_BIND", &metrics_bind), ("NAERVAER_METRICS_TOKEN", TOKEN)],
        );
        let metrics_addr: SocketAddr = metrics_bind.parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(metrics_addr).is_err() {
            assert!(Instant::now() < deadline, "no metrics listener");
            std::thread::sleep(Duration::from_millis(20));
        }

        // Answering (first page, then the whole form) while the outbox
        // sends; scraped all along.
        let acknowledged = Arc::new(Mutex::new(0usize));
        let answering: Vec<_> = (0..4)
            .map(|w| {
                let (acknowledged, surveys, addr) = (acknowledged.clone(), surveys.clone(), node.addr);
                let mine: Vec<String> = ids.iter().skip(w).step_by(4).take(25).cloned().collect();
                std::thread::spawn(move || {
                    for (i, inv) in mine.iter().enumerate() {
                        // The link as e-mailed: its token is in the path.
                        let link = support::http(addr, "GET", &format!("/s/{}", key().survey_token(inv)), "");
                        assert_eq!(link.status, 303);
                        let cookie = format!("naervaer_svar={}", key().survey_token(inv));
                        let first = support::http_cookie(addr, "GET", "/svar", "", Some(&cookie));
                        assert_eq!(first.status, 200);
                        if crate::crash::submit(addr, &cookie, &complete_form(&surveys, i)) == Some(303) {
                            *acknowledged.lock().unwrap() += 1;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                })
            })
            .collect();
        let mut texts = Vec::new();
        while answering.iter().any(|a| !a.is_finished()) {
            texts.push(scrape_text(metrics_addr, None));
            std::thread::sleep(Duration::from_millis(50));
        }
        for a in answering {
            a.join().unwrap();
        }
        assert!(texts.len() >= 3, "too few scrapes during the load");
        let scrapes: Vec<Vec<Sample>> = texts.iter().map(|t| parse(t)).collect();
        // Counters never go down between scrapes.
        for pair in scrapes.windows(2) {
            for s in pair[0].iter().filter(|s| s.name.ends_with("_total") || s.name.ends_with("_count")) {
                let later = pair[1].iter().find(|l| l.name == s.name && l.labels == s.labels);
                let later = later.map_or(0.0, |l| l.value);
                assert!(later >= s.value, "{} {:?} fell from {} to {later}", s.name, s.labels, s.value);
            }
        }
        let acked = *acknowledged.lock().unwrap();
        assert_eq!(acked, 100);

        // Every invitation delivered.
        let deadline = Instant::now() + Duration::from_secs(60);
        while sink.count() < ids.len() {
            assert!(Instant::now() < deadline, "only {} of {} delivered", sink.count(), ids.len());
            std::thread::sleep(Duration::from_millis(100));
        }
        let sent_in_db = || -> i64 {
            outbox::table.filter(outbox::status.eq("sent")).count().get_result(&mut t.conn()).unwrap()
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while sent_in_db() < ids.len() as i64 {
            assert!(Instant::now() < deadline, "acceptances not recorded");
            std::thread::sleep(Duration::from_millis(50));
        }

        let sent = scrape(metrics_addr, None);

        // The administrator closes the round (a snapshot) and opens the
        // analysis (computed once, then from the cache).
        let admin: String = employees::table
            .filter(employees::employee_number.eq("admin"))
            .select(employees::id)
            .get_result(&mut c)
            .unwrap();
        let (cookie, csrf) = crate::results::sign_in_at(node.addr, &mut c, &admin);
        let closed = http_with(
            node.addr,
            "POST",
            &format!("/admin/runder/{}/lukk", round.id),
            "application/x-www-form-urlencoded",
            format!("csrf={csrf}").as_bytes(),
            &[("Cookie", &cookie)],
        );
        assert_eq!(closed.status, 303, "{}", closed.body);
        for _ in 0..2 {
            let r = support::http_cookie(node.addr, "GET", &format!("/api/v1/rounds/{}/analysis", round.id), "", Some(&cookie));
            assert_eq!(r.status, 200, "{}", r.body);
        }

        let m = scrape(node.addr, Some(TOKEN));
        let acked = acked as f64;
        assert_eq!(value(&m, "naervaer_answers_stored_total", &[]), acked);
        assert_eq!(value(&m, "naervaer_answer_commit_batch_size_sum", &[]), acked);
        let commits = value(&m, "naervaer_answer_commit_batch_size_count", &[]);
        assert!((1.0..=acked).contains(&commits), "{commits} commits");
        assert_eq!(
            value(&m, "naervaer_http_requests_total", &[("route", "/svar"), ("method", "POST"), ("status", "303")]),
            acked
        );
        assert_eq!(
            value(&m, "naervaer_http_request_duration_seconds_count", &[("route", "/svar"), ("method", "GET")]),
            acked
        );
        let n = ids.len() as f64;
        // Before the close: exactly the invitations. After it the worker
        // may already have sent some of the n "results are ready" messages.
        assert_eq!(value(&sent, "naervaer_messages_total", &[("channel", "email"), ("outcome", "sent")]), n);
        let sent_after = value(&m, "naervaer_messages_total", &[("channel", "email"), ("outcome", "sent")]);
        assert!((n..=2.0 * n).contains(&sent_after), "{sent_after} sent: {n} invitations and up to {n} results messages");
        assert_eq!(value(&sent, "naervaer_outbox_messages", &[("channel", "email"), ("state", "sent")]), n);
        assert_eq!(value(&sent, "naervaer_outbox_messages", &[("channel", "email")]), n);
        // Closing reduced the invitations to counts, and their messages;
        // what is in the outbox now is "the results are ready" to everyone
        // invited, answered or not: n messages, not 2n. The worker may
        // already be sending some of them (claimed, or even sent), so the
        // states are summed.
        assert_eq!(value(&m, "naervaer_outbox_messages", &[("channel", "email")]), n);
        let moving = ["pending", "sending", "sent"]
            .iter()
            .map(|s| value(&m, "naervaer_outbox_messages", &[("channel", "email"), ("state", s)]))
            .sum::<f64>();
        assert_eq!(moving, n, "none failed or retrying");
        assert_eq!(value(&m, "naervaer_outbox_messages", &[("channel", "sms")]), 0.0);
        assert_eq!(value(&m, "naervaer_snapshot_duration_seconds_count", &[]), 1.0);
        assert_eq!(value(&m, "naervaer_analysis_duration_seconds_count", &[]), 1.0);
        assert!(value(&m, "naervaer_cache_hits_total", &[]) >= acked - 1.0, "the first page comes from the cache");
        assert!(value(&m, "naervaer_db_pool_wait_seconds_count", &[]) > acked);
        assert!(value(&m, "naervaer_db_pool_connections", &[]) >= 1.0);

        // No label holds a token, an id, a person or a unit; routes are
        // the route table's patterns.
        let mut secret: HashSet<String> = HashSet::new();
        for inv in &ids {
            secret.insert(inv.clone());
            secret.insert(key().survey_token(inv));
        }
        let people: Vec<(String, String, Option<String>)> = employees::table
            .select((employees::id, employees::name, employees::email))
            .load(&mut c)
            .unwrap();
        for (id, name, email) in people {
            secret.insert(id);
            secret.insert(name);
            secret.extend(email);
        }
        let unit_rows: Vec<(String, String, String)> = units::table
            .select((units::id, units::code, units::name))
            .load(&mut c)
            .unwrap();
        for (id, code, name) in unit_rows {
            secret.extend([id, code, name]);
        }
        secret.insert(round.id.to_string());
        let routes: HashSet<String> = support::declared_routes().into_iter().map(|(_, p)| p).collect();
        for s in scrapes.iter().flatten().chain(sent.iter()).chain(m.iter()) {
            for (k, v) in &s.labels {
                assert!(
                    !secret.iter().any(|x| v.contains(x.as_str())),
                    "{} has {k}={v}",
                    s.name
                );
                if k == "route" {
                    assert!(routes.contains(v) || v == "unmatched", "route label {v}");
                }
            }
        }
        drop(node);
    }
}
