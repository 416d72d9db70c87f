//! The answering pages in a real browser: Debian's Chromium driven by
//! playwright-core, with a link taken from an e-mail that arrived in the real
//! SMTP server, on a phone-sized screen, checked by axe-core on every page,
//! and once more with the keyboard alone.

use crate::mail::SmtpSink;
use crate::rounds::open_demo_round;
use crate::support::{key, settings, Backend, TestDb, TestServer};
use diesel::prelude::*;
use naervaer::db::schema::responses;
use naervaer::mail::{outbox, Mailer};
use std::path::Path;
use std::process::Command;

/// The browser scripts' folder, after checking that what they need is
/// there (fails loudly, never skips): playwright-core and Debian's Chromium.
pub fn needs_browser() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "browser tests need `npm ci` in tests/browser (bash .ci/run does it)"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "browser tests need Debian's chromium (bash .ci/run installs it)"
    );
    dir
}

/// Runs `tests/browser/{script}` in Node.js with `env` (and SHOTS, the
/// screenshot folder), and returns its report once it ran with no axe
/// violation and no failed check.
pub fn run_script(script: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let dir = needs_browser();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-shots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(dir.join(script))
        .current_dir(&dir)
        .envs(env.iter().copied())
        .env("SHOTS", &shots)
        .output()
        .expect("node is required for the browser tests");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser run of {script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap())
        .unwrap_or_else(|e| panic!("{script} printed no report ({e}):\n{stdout}"));
    assert_eq!(report["violations"], serde_json::json!([]), "{script}");
    assert_eq!(report["failures"], serde_json::json!([]), "{script}");
    report
}

#[test]
fn a_person_answers_on_a_phone_from_the_emailed_link_with_zero_axe_violations() {
    needs_browser();

    let t = TestDb::new(Backend::Sqlite);
    let (mut c, round) = open_demo_round(&t);
    let server = TestServer::start(&t);
    let base = format!("http://{}", server.addr);
    let sink = SmtpSink::start();
    let s = settings(
        &t,
        &[
            ("NAERVAER_SMTP_URL", &sink.url()),
            ("NAERVAER_BASE_URL", &base),
            ("NAERVAER_MAIL_RATE", "1000"),
        ],
    );
    outbox::send_due(&t.pool(), &Mailer::from_settings(&s).unwrap(), &s, &key()).unwrap();
    let links: Vec<String> = sink
        .messages()
        .iter()
        .filter(|m| m.header("content-language") == "nb")
        .take(2)
        .map(|m| {
            let text = m.text();
            let link = text
                .lines()
                .find(|l| l.starts_with(&base))
                .map(|l| l.trim().to_string());
            link.unwrap_or_else(|| {
                panic!(
                    "no link to {base} in the e-mail text:\n{text}\n--- raw:\n{}",
                    m.raw
                )
            })
        })
        .collect();
    assert_eq!(links.len(), 2);

    // Two people without e-mail, for the shared tablet.
    let codes: Vec<String> = naervaer::rounds::letters(&mut c, &key(), &round.id, false)
        .unwrap()
        .iter()
        .take(2)
        .map(|l| naervaer::crypto::format_code(&l.code))
        .collect();
    assert_eq!(codes.len(), 2);
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-shots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    run_script(
        "answer.mjs",
        &[
            ("BASE", &base),
            ("LINK1", &links[0]),
            ("LINK2", &links[1]),
            ("CODE1", &codes[0]),
            ("CODE2", &codes[1]),
        ],
    );
    let stored: i64 = responses::table.count().get_result(&mut c).unwrap();
    assert_eq!(
        stored, 4,
        "the pointer and the keyboard runs and both people on the tablet stored a response"
    );
    assert!(shots.join("phone-page-1.png").exists());
}

#[test]
fn leader_amu_and_admin_pages_have_zero_axe_violations_and_readable_charts() {
    needs_browser();
    let t = TestDb::new(Backend::Sqlite);
    let mut c = t.conn();
    let f = crate::results::closed_round(&mut c);
    crate::results::absence_for_the_year(&mut c);
    let server = TestServer::start(&t);
    let base = format!("http://{}", server.addr);
    let link = |c: &mut naervaer::db::DbConnection, id: &str| {
        format!(
            "{base}/innlogging/{}",
            naervaer::auth::link_token_for(c, &naervaer::ids::EmployeeId::from(id.to_string()))
                .unwrap()
        )
    };
    let (leader, amu, admin) = (
        link(&mut c, &f.people[0].1),
        link(&mut c, &f.people[2].1),
        link(&mut c, &f.people[3].1),
    );
    let dir = tempfile::tempdir().unwrap();
    let import = dir.path().join("enheter.csv");
    let mut units = naervaer::demo::generate(naervaer::demo::SEED).units_csv;
    units.push_str("1299;1200;Ny barnehage\n");
    std::fs::write(&import, units).unwrap();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-shots");
    std::fs::create_dir_all(&shots).unwrap();
    let report = run_script(
        "results.mjs",
        &[
            ("BASE", &base),
            ("LEADER", &leader),
            ("AMU", &amu),
            ("ADMIN", &admin),
            ("ROUND", f.round.as_str()),
            ("UNIT", &f.unit["1200"]),
            ("HIDDEN", &f.unit[crate::results::SMALL]),
            ("IMPORT", import.to_str().unwrap()),
        ],
    );
    assert!(report["pages"].as_u64().unwrap() >= 17, "{report}");
    assert!(report["charts"]["phone"]["count"].as_u64().unwrap() >= 10);
    for shot in [
        "leader-phone.png",
        "leader-desktop.png",
        "leader-print.png",
        "admin.png",
        "record.png",
        "record-print.png",
    ] {
        assert!(
            std::fs::metadata(shots.join(shot)).unwrap().len() > 10_000,
            "{shot}"
        );
    }
    // The import went through the real importer.
    use naervaer::db::schema::units;
    let n: i64 = units::table
        .filter(units::code.eq("1299"))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn the_follow_up_pages_have_zero_axe_violations_in_three_languages() {
    needs_browser();
    let t = TestDb::new(Backend::Sqlite);
    let mut c = t.conn();
    let f = crate::results::closed_round(&mut c);
    let fu = crate::followup::follow_up(&mut c, &f);
    // Measures of one type at four schools and kindergartens half a year
    // ago: an estimate with an event-study line.
    let start = (naervaer::rounds::today() - chrono::Months::new(6))
        .format("%Y-%m-%d")
        .to_string();
    for code in ["1210", "1220", "1230", "1240"] {
        naervaer::followup::measures::add(
            &mut c,
            &naervaer::followup::measures::NewMeasure {
                title: format!("Dialogmøte null ({code})"),
                type_key: "dialogmote_null".into(),
                started_on: start.clone(),
                units: vec![naervaer::ids::UnitId::from(f.unit[code].as_str())],
                ..Default::default()
            },
        )
        .unwrap();
    }
    let server = TestServer::start(&t);
    let base = format!("http://{}", server.addr);
    let link = |c: &mut naervaer::db::DbConnection, id: &str| {
        format!(
            "{base}/innlogging/{}",
            naervaer::auth::link_token_for(c, &naervaer::ids::EmployeeId::from(id.to_string()))
                .unwrap()
        )
    };
    let (leader, amu) = (link(&mut c, &f.people[0].1), link(&mut c, &f.people[2].1));
    let today = naervaer::rounds::today();
    use naervaer::followup::report::{Period, ReportKind};
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-shots");
    std::fs::create_dir_all(&shots).unwrap();
    let report = run_script(
        "followup.mjs",
        &[
            ("BASE", &base),
            ("LEADER", &leader),
            ("AMU", &amu),
            ("UNIT", &f.unit["1200"]),
            (
                "ACCOUNT",
                &format!("{base}/redegjorelse/{}/{}", fu.account, fu.token),
            ),
            ("TERTIAL", &Period::of(ReportKind::Tertial, today).label()),
            ("HALF", &Period::of(ReportKind::Ia, today).label()),
        ],
    );
    assert!(report["pages"].as_u64().unwrap() >= 19, "{report}");
    assert!(shots.join("followup-tertial-print.png").exists());
}

#[test]
fn the_pages_that_reach_everyone_have_zero_axe_violations() {
    needs_browser();
    let t = TestDb::new(Backend::Sqlite);
    let mut c = t.conn();
    naervaer::demo::seed(&mut c).unwrap();
    let rounds = naervaer::demo::seed_rounds(&mut c, &key(), 5, 21, true).unwrap();
    // On an address the settings name, so that the letters' links and
    // stylesheet point at this server.
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", crate::support::free_port())
        .parse()
        .unwrap();
    let base = format!("http://{addr}");
    let _server = TestServer::start_on(&t, settings(&t, &[("NAERVAER_BASE_URL", &base)]), addr);
    // Some answers to the open round, so its counts have days.
    let open = naervaer::rounds::Round::find(&mut c, &rounds.open_round).unwrap();
    let surveys = open.surveys(&mut c).unwrap();
    for (i, inv) in crate::rounds::invitation_ids(&mut c, &open.id)
        .iter()
        .enumerate()
        .step_by(3)
    {
        let hash = naervaer::crypto::lookup_hash(&key().survey_token(inv));
        naervaer::rounds::answer::submit(
            &mut c,
            &hash,
            &surveys,
            &crate::rounds::numbered_answers(&surveys, i),
        )
        .unwrap();
    }
    // The results-ready messages go out, recording the groups' links.
    let outbox = tempfile::tempdir().unwrap();
    let s = settings(
        &t,
        &[
            ("NAERVAER_OUTBOX_DIR", outbox.path().to_str().unwrap()),
            ("NAERVAER_BASE_URL", &base),
        ],
    );
    outbox::send_due(&t.pool(), &Mailer::from_settings(&s).unwrap(), &s, &key()).unwrap();
    let people = naervaer::demo::sign_in_people(&mut c).unwrap();
    let person = |role: &str| people.iter().find(|p| p.role == role).unwrap().id.clone();
    let link = |c: &mut naervaer::db::DbConnection, id: &naervaer::ids::EmployeeId| {
        format!(
            "{base}/innlogging/{}",
            naervaer::auth::link_token_for(c, id).unwrap()
        )
    };
    let unit = |c: &mut naervaer::db::DbConnection, code: &str| -> String {
        use naervaer::db::schema::units;
        units::table
            .filter(units::code.eq(code))
            .select(units::id)
            .first(c)
            .unwrap()
    };
    let (oppvekst, school) = (unit(&mut c, "1200"), unit(&mut c, "1210"));
    let results = format!(
        "{base}/r/{}",
        key().results_token(rounds.closed_round.as_str(), &oppvekst)
    );
    let code = naervaer::crypto::format_code(
        &naervaer::rounds::letters(&mut c, &key(), &open.id, false).unwrap()[0].code,
    );
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-shots");
    std::fs::create_dir_all(&shots).unwrap();
    let report = run_script(
        "reach.mjs",
        &[
            ("BASE", &base),
            ("LEADER", &link(&mut c, &person("leader"))),
            ("REP", &link(&mut c, &person("verneombud"))),
            ("ADMIN", &link(&mut c, &person("admin"))),
            ("CLOSED", rounds.closed_round.as_str()),
            ("OPEN", open.id.as_str()),
            ("OPPVEKST", &oppvekst),
            ("SCHOOL", &school),
            ("RESULTS", &results),
            ("CODE", &code),
        ],
    );
    assert!(report["pages"].as_u64().unwrap() >= 19, "{report}");
}
