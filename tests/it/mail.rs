//! E-mail through a real SMTP server process (aiosmtpd, started here).

use crate::both_backends;
use crate::rounds::new_round;
use crate::support::{http, key, naervaer_bin, settings, Backend, TestDb, TestServer, TEST_KEY};
use diesel::prelude::*;
use naervaer::crypto::lookup_hash;
use naervaer::db::schema::employees;
use naervaer::db::DbConnection;
use naervaer::import::Kind;
use naervaer::mail::{outbox, Mailer};
use naervaer::rounds;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The SMTP server process; stopped when dropped.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let port = crate::support::free_port();
        SmtpSink::start_with(port, None)
    }

    /// On a given port; with `login` ("user:password") it demands AUTH.
    pub fn start_with(port: u16, login: Option<&str>) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py");
        let python = std::env::var("NAERVAER_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .args(login)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 is required to run the test SMTP server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "READY",
            "the test SMTP server did not start: install it with `pip install aiosmtpd` (bash .ci/run does)"
        );
        SmtpSink { child, port, dir }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn count(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "eml")
            })
            .count()
    }

    pub fn messages(&self) -> Vec<Received> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        // In arrival order: 2.eml before 10.eml.
        paths.sort_by_key(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
        });
        paths
            .iter()
            .map(|p| Received::parse(&std::fs::read_to_string(p).unwrap()))
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A message as it arrived.
#[derive(Debug)]
pub struct Received {
    pub envelope_to: String,
    pub headers: HashMap<String, String>,
    pub raw: String,
}

impl Received {
    fn parse(raw: &str) -> Received {
        let (head, _) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        let mut headers = HashMap::new();
        let mut last: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some(k) = &last {
                    headers
                        .entry(k.clone())
                        .and_modify(|v: &mut String| v.push_str(line));
                }
            } else if let Some((k, v)) = line.split_once(": ") {
                headers.insert(k.to_ascii_lowercase(), v.to_string());
                last = Some(k.to_ascii_lowercase());
            }
        }
        let envelope_to = headers.get("x-envelope-to").cloned().unwrap_or_default();
        Received {
            envelope_to,
            headers,
            raw: raw.to_string(),
        }
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    /// The plain-text part, quoted-printable decoded.
    pub fn text(&self) -> String {
        let start = self
            .raw
            .find("Content-Type: text/plain")
            .expect("a plain-text part");
        let body_start = self.raw[start..].find("\r\n\r\n").unwrap() + start + 4;
        let end = self.raw[body_start..].find("\r\n--").unwrap() + body_start;
        decode_qp(&self.raw[body_start..end])
    }
}

fn decode_qp(s: &str) -> String {
    let joined = s.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() + 1 {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).replace("\r\n", "\n")
}

/// Units and `n` employees with e-mail addresses, through the importers.
pub fn organisation(c: &mut DbConnection, n: usize) {
    crate::import_text(c, Kind::Units, crate::UNITS, false).unwrap();
    let mut text = String::from("employee_id;name;email;unit_code;leader_of;roles;language\n");
    for i in 0..n {
        let lang = ["nb", "nn", "en"][i % 3];
        let unit = ["1000", "1100", "1110", "1200"][i % 4];
        text += &format!("{i};Person {i};person{i}@test.no;{unit};;;{lang}\n");
    }
    crate::import_text(c, Kind::Employees, &text, false).unwrap();
}

both_backends! {
    fn invitations_and_reminders_arrive_in_a_real_smtp_server_in_each_persons_language(t) {
        let mut c = t.conn();
        naervaer::demo::seed(&mut c).unwrap();
        let round = new_round(&mut c, None);
        let summary = rounds::open(&mut c, &key(), &round.id).unwrap();
        let sink = SmtpSink::start();
        let server = TestServer::start(&t);
        let base = format!("http://{}", server.addr);
        let s = settings(&t, &[("NAERVAER_SMTP_URL", &sink.url()), ("NAERVAER_BASE_URL", &base), ("NAERVAER_MAIL_RATE", "1000"), ("NAERVAER_MAIL_FROM", "Medarbeiderundersøkelsen <noreply@Testkommune.no>")]);
        let mailer = Mailer::from_settings(&s).unwrap();
        let started = Instant::now();
        let report = outbox::send_due(&t.pool(), &mailer, &s, &key()).unwrap();
        let secs = started.elapsed().as_secs_f64();
        eprintln!("{} invitations through the SMTP server in {secs:.2} s ({:.0}/s)", report.sent, report.sent as f64 / secs);
        assert_eq!(report.sent, summary.by_email);
        let got = sink.messages();
        assert_eq!(got.len(), summary.by_email);

        let people: HashMap<String, String> = employees::table
            .filter(employees::email.is_not_null())
            .select((employees::email.assume_not_null(), employees::language))
            .load::<(String, String)>(&mut c)
            .unwrap()
            .into_iter()
            .collect();
        let mut ids = HashSet::new();
        for m in &got {
            assert_eq!(m.header("to"), m.envelope_to);
            assert_eq!(m.header("content-language"), people[&m.envelope_to], "e-mail in the person's language");
            // Under the sender's real domain, not one that does not exist
            // (spam filters count that against a message); marked as
            // automatic, so that out-of-office replies stay away (RFC 3834).
            assert!(m.header("message-id").ends_with("@testkommune.no>"), "{}", m.header("message-id"));
            assert_eq!(m.header("auto-submitted"), "auto-generated");
            assert!(ids.insert(m.header("message-id").to_string()), "a message arrived twice");
            assert!(m.header("content-type").starts_with("multipart/alternative"));
            assert!(m.raw.contains("Content-Type: text/html"));
        }
        // The link in a bokmål and a nynorsk e-mail works, once.
        for lang in ["nb", "nn"] {
            let m = got.iter().find(|m| m.header("content-language") == lang).unwrap();
            let text = m.text();
            let expect = match lang {
                "nb" => "Undersøkelsen er åpen til og med",
                _ => "Undersøkinga er open til og med",
            };
            assert!(text.contains(expect), "{text}");
            assert!(text.contains("Spørsmål? Kontakt HR-avdelingen"), "{text}");
            let link = text.lines().find(|l| l.starts_with(&base)).expect("a link").trim().to_string();
            let path = &link[base.len()..];
            let r = http(server.addr, "GET", path, "");
            assert_eq!(r.status, 303, "{link}");
        }

        // Ten answer; reminders reach everyone else with e-mail, and only them.
        let surveys = round.surveys(&mut c).unwrap();
        let answered: Vec<(String, String)> = naervaer::db::schema::invitations::table
            .inner_join(employees::table)
            .filter(naervaer::db::schema::invitations::channel.eq("email"))
            .select((naervaer::db::schema::invitations::id, employees::email.assume_not_null()))
            .limit(10)
            .load(&mut c)
            .unwrap();
        for (inv, _) in &answered {
            naervaer::rounds::answer::submit(&mut c, &lookup_hash(&key().survey_token(inv)), &surveys, &crate::rounds::numbered_answers(&surveys, 1)).unwrap();
        }
        let queued = rounds::remind(&mut c, &round.id, 2, 3600).unwrap();
        assert_eq!(queued, summary.by_email - 10);
        outbox::send_due(&t.pool(), &mailer, &s, &key()).unwrap();
        let all = sink.messages();
        assert_eq!(all.len(), summary.by_email * 2 - 10);
        let reminded: HashSet<&str> = all[summary.by_email..].iter().map(|m| m.envelope_to.as_str()).collect();
        for (_, email) in &answered {
            assert!(!reminded.contains(email.as_str()), "{email} answered but was reminded");
        }
    }
}

fn send_process(db_url: &str, sink: &SmtpSink, rate: &str) -> Command {
    let mut cmd = Command::new(naervaer_bin());
    cmd.arg("send")
        .env("NAERVAER_DATABASE_URL", db_url)
        .env("NAERVAER_SMTP_URL", sink.url())
        .env("NAERVAER_SECRET_KEY", TEST_KEY)
        .env("NAERVAER_MAIL_RATE", rate)
        .env("NAERVAER_MAIL_CLAIM_TIMEOUT_SECS", "1")
        .env_remove("NAERVAER_OUTBOX_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn unique_ids(msgs: &[Received]) -> HashSet<String> {
    msgs.iter()
        .map(|m| m.header("message-id").to_string())
        .collect()
}

crate::both_backends! {
fn a_sender_killed_mid_run_resumes_and_resends_at_most_one_per_connection(t) {
    let mut c = t.conn();
    organisation(&mut c, 2000);
    let round = new_round(&mut c, None);
    rounds::open(&mut c, &key(), &round.id).unwrap();
    let sink = SmtpSink::start();
    let mut first = send_process(&t.url, &sink, "400").spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while sink.count() < 500 {
        assert!(Instant::now() < deadline, "sending did not start");
        assert!(
            first.try_wait().unwrap().is_none(),
            "the sender finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap(); // SIGKILL: no chance to clean up
    first.wait().unwrap();
    let at_kill = sink.count();
    assert!(at_kill < 2000, "killed too late to prove anything");
    // Claims of the dead sender expire after 1 s (stored in whole seconds,
    // so wait past 2 s); the restarted sender resends them.
    std::thread::sleep(Duration::from_millis(2500));
    let out = send_process(&t.url, &sink, "2000").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs = sink.messages();
    let ids = unique_ids(&msgs);
    assert_eq!(ids.len(), 2000, "every invitation arrived");
    let duplicates = msgs.len() - ids.len();
    // Accepted but not yet recorded at the kill: at most the latest
    // message of each connection.
    let connections = settings(&t, &[]).mail_workers as usize;
    eprintln!(
        "killed after {at_kill} messages; {duplicates} sent twice (at most {connections}, one per connection)"
    );
    assert!(
        duplicates <= connections,
        "{duplicates} duplicates, more than one per connection ({connections})"
    );
    let recipients: HashSet<&str> = msgs.iter().map(|m| m.envelope_to.as_str()).collect();
    assert_eq!(recipients.len(), 2000);
}
}

#[test]
fn two_senders_on_one_postgresql_never_send_the_same_message() {
    let t = TestDb::new(Backend::Postgres);
    let mut c = t.conn();
    organisation(&mut c, 2000);
    let round = new_round(&mut c, None);
    rounds::open(&mut c, &key(), &round.id).unwrap();
    let sink = SmtpSink::start();
    let a = send_process(&t.url, &sink, "1000").spawn().unwrap();
    let b = send_process(&t.url, &sink, "1000").spawn().unwrap();
    let (ra, rb) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(ra.status.success() && rb.status.success());
    let report = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).to_string();
    eprintln!("sender A: {}sender B: {}", report(&ra), report(&rb));
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 2000, "a message was sent twice or not at all");
    assert_eq!(unique_ids(&msgs).len(), 2000);
    assert!(
        report(&ra).starts_with("sent ") && !report(&ra).starts_with("sent 0,"),
        "both senders took part: {}",
        report(&ra)
    );
    assert!(
        !report(&rb).starts_with("sent 0,"),
        "both senders took part: {}",
        report(&rb)
    );
}

#[test]
fn a_bounced_address_is_recorded_as_failed_and_an_unreachable_relay_is_retried_later() {
    let t = TestDb::new(Backend::Sqlite);
    let mut c = t.conn();
    crate::import_text(&mut c, Kind::Units, crate::UNITS, false).unwrap();
    let people = "employee_id;name;email;unit_code\n1;A;ok@test.no;1000\n2;B;bounce@test.no;1000\n";
    crate::import_text(&mut c, Kind::Employees, people, false).unwrap();
    let round = new_round(&mut c, None);
    rounds::open(&mut c, &key(), &round.id).unwrap();

    // No relay listening: both are retried later, with back-off.
    let closed_port = crate::support::free_port();
    let s = settings(
        &t,
        &[(
            "NAERVAER_SMTP_URL",
            &format!("smtp://127.0.0.1:{closed_port}"),
        )],
    );
    let r = outbox::send_due(&t.pool(), &Mailer::from_settings(&s).unwrap(), &s, &key()).unwrap();
    assert_eq!((r.sent, r.retrying, r.failed), (0, 2, 0));
    let rows: Vec<(String, i32, i64)> = naervaer::db::schema::outbox::table
        .select((
            naervaer::db::schema::outbox::status,
            naervaer::db::schema::outbox::attempts,
            naervaer::db::schema::outbox::next_attempt_at,
        ))
        .load(&mut c)
        .unwrap();
    assert!(
        rows.iter()
            .all(|(st, a, next)| st == "pending" && *a == 1 && *next > naervaer::db::now_unix()),
        "{rows:?}"
    );

    // The relay is back and the retry is due: one is delivered, the other
    // bounces permanently and is shown to the administrator.
    diesel::update(naervaer::db::schema::outbox::table)
        .set(naervaer::db::schema::outbox::next_attempt_at.eq(0i64))
        .execute(&mut c)
        .unwrap();
    let sink = SmtpSink::start();
    let s = settings(&t, &[("NAERVAER_SMTP_URL", &sink.url())]);
    let r = outbox::send_due(&t.pool(), &Mailer::from_settings(&s).unwrap(), &s, &key()).unwrap();
    assert_eq!((r.sent, r.retrying, r.failed), (1, 0, 1));
    assert_eq!(sink.messages().len(), 1);
    let failures = outbox::failures(&mut c).unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].0, "bounce@test.no");
    assert!(failures[0].2.contains("550"), "{failures:?}");
    // Nothing more to do: the failed one is not retried.
    let r = outbox::send_due(&t.pool(), &Mailer::from_settings(&s).unwrap(), &s, &key()).unwrap();
    assert_eq!((r.sent, r.retrying, r.failed), (0, 0, 0));
}

#[test]
fn a_relay_that_demands_auth_gets_the_urls_credentials_and_a_wrong_password_is_retried_later() {
    let t = TestDb::new(Backend::Sqlite);
    let mut c = t.conn();
    organisation(&mut c, 3);
    let round = new_round(&mut c, None);
    rounds::open(&mut c, &key(), &round.id).unwrap();
    let port = crate::support::free_port();
    let sink = SmtpSink::start_with(port, Some("naervaer:hemmelig/ord"));
    let send = |url: &str| {
        let s = settings(&t, &[("NAERVAER_SMTP_URL", url)]);
        outbox::send_due(&t.pool(), &Mailer::from_settings(&s).unwrap(), &s, &key()).unwrap()
    };

    // The relay refuses the password: a matter of configuration, not of
    // the recipients, so every message waits for a retry.
    let r = send(&format!("smtp://naervaer:feil@127.0.0.1:{port}"));
    assert_eq!((r.sent, r.retrying, r.failed), (0, 3, 0));
    assert_eq!(sink.count(), 0);

    diesel::update(naervaer::db::schema::outbox::table)
        .set(naervaer::db::schema::outbox::next_attempt_at.eq(0i64))
        .execute(&mut c)
        .unwrap();
    // The password percent-encoded in the URL, as a '/' must be.
    let r = send(&format!("smtp://naervaer:hemmelig%2Ford@127.0.0.1:{port}"));
    assert_eq!((r.sent, r.retrying, r.failed), (3, 0, 0));
    assert_eq!(sink.count(), 3);
}

#[test]
fn a_kept_connection_the_relay_has_closed_is_reopened_and_dot_lines_arrive_intact() {
    let port = crate::support::free_port();
    let env: HashMap<String, String> = [
        ("NAERVAER_DATABASE_URL", "sqlite://unused.db"),
        ("NAERVAER_SMTP_URL", &format!("smtp://127.0.0.1:{port}")),
        ("NAERVAER_MAIL_FROM", "naervaer@test.no"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let s = naervaer::config::Settings::from_sources(&env, None).unwrap();
    let mailer = Mailer::from_settings(&s).unwrap();
    let message = |n: u32| {
        let text = format!("Melding {n}\n.punktum først\n..to punktum\n.\nslutt\n");
        naervaer::mail::build(
            &s,
            "mottaker@test.no",
            &format!("m{n}"),
            naervaer::lang::Lang::Nb,
            "Prøve",
            text,
            "<p>html</p>".into(),
        )
        .unwrap()
    };

    let mut sending = mailer.sending();
    let first = SmtpSink::start_with(port, None);
    sending.send(&message(1), "m1", &mut || Ok(())).unwrap();
    sending.send(&message(2), "m2", &mut || Ok(())).unwrap();
    assert_eq!(first.count(), 2);
    // The relay restarts: the kept connection is dead.
    drop(first);
    let second = SmtpSink::start_with(port, None);
    sending.send(&message(3), "m3", &mut || Ok(())).unwrap();
    let got = second.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].text().replace("\r\n", "\n"),
        "Melding 3\n.punktum først\n..to punktum\n.\nslutt\n"
    );
}

#[test]
fn a_message_id_names_the_senders_domain_or_else_the_base_urls_host() {
    let with = |from: &str, base: &str| {
        let env: HashMap<String, String> =
            [("NAERVAER_MAIL_FROM", from), ("NAERVAER_BASE_URL", base)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let s = naervaer::config::Settings::from_sources(&env, None).unwrap();
        naervaer::mail::message_id_domain(&s)
    };
    assert_eq!(
        with("HR <noreply@Eksempel.kommune.no>", "https://x.no"),
        "eksempel.kommune.no"
    );
    assert_eq!(
        with(
            "naervaer <noreply@localhost>",
            "https://naervaer.eksempel.no/"
        ),
        "naervaer.eksempel.no"
    );
    assert_eq!(
        with("noreply@localhost", "http://127.0.0.1:8080"),
        "127.0.0.1"
    );
}

crate::both_backends! {
fn a_claim_walks_the_pending_messages_in_order_and_sorts_none(t) {
    // A round's invitations are queued at once; each claim of 10 must read
    // its 10 from the index of due messages in claim order, not sort every
    // due message (20 ms a claim on SQLite, 100 ms on PostgreSQL with
    // 50 000 queued: `naervaer bench` measures it).
    let mut c = t.conn();
    organisation(&mut c, 2000);
    let round = new_round(&mut c, None);
    rounds::open(&mut c, &key(), &round.id).unwrap();
    #[derive(QueryableByName)]
    struct Step {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    use diesel::sql_types::{BigInt, Integer, Text};
    // The claim itself, as the sender sends it.
    let plan: Vec<String> = match &mut c {
        DbConnection::Sqlite(s) => diesel::sql_query(format!("EXPLAIN QUERY PLAN {}", outbox::CLAIM_SQLITE))
            .bind::<Text, _>("test")
            .bind::<BigInt, _>(naervaer::db::now_unix())
            .bind::<Integer, _>(10)
            .load::<Step>(s)
            .map(|steps| steps.into_iter().map(|s| s.detail).collect()),
        DbConnection::Pg(p) => {
            diesel::sql_query("ANALYZE outbox").execute(p).unwrap();
            diesel::sql_query(format!("EXPLAIN {}", outbox::CLAIM_PG))
                .bind::<Text, _>("test")
                .bind::<BigInt, _>(naervaer::db::now_unix())
                .bind::<Integer, _>(10)
                .load::<Line>(p)
                .map(|lines| lines.into_iter().map(|l| l.line).collect())
        }
    }
    .unwrap_or_else(|e| panic!("{e}"));
    let plan = plan.join("\n");
    assert!(plan.contains("outbox_due"), "{plan}");
    assert!(!plan.contains("Sort") && !plan.contains("TEMP B-TREE"), "{plan}");
    // And it claims the oldest pending first, as before.
    let claimed = outbox::claim(&mut c, "test", 10).unwrap();
    assert_eq!(claimed.len(), 10);
}
}
