//! The `naervaer` binary as a user runs it.

use crate::both_backends;
use crate::support::{naervaer_bin, Backend, TestDb};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn naervaer(db: Option<&TestDb>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(naervaer_bin());
    cmd.args(args)
        .env_remove("NAERVAER_CONFIG")
        .env("NAERVAER_LANG", "nb");
    if let Some(db) = db {
        cmd.env("NAERVAER_DATABASE_URL", &db.url);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

both_backends! {
    fn import_dry_run_on_a_broken_file_lists_every_problem_and_changes_nothing(t) {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("units.csv");
        std::fs::write(&good, crate::UNITS).unwrap();
        let (code, out, err) = naervaer(Some(&t), &["import", "units", good.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("Lagt til (4):"), "{out}");
        let before = crate::support::dump(&mut t.conn());

        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "unit_code;parent_code;name\n1000;;K\n1100;1000;A\n1100;1000;B\n2000;;R\n1200;9999;O\n").unwrap();
        for extra in [&["--dry-run"][..], &[][..]] {
            let mut args = vec!["import", "units", bad.to_str().unwrap()];
            args.extend_from_slice(extra);
            let (code, out, err) = naervaer(Some(&t), &args);
            assert_eq!(code, 1, "{out}{err}");
            assert!(err.contains("ble avvist (3 feil)"), "{err}");
            assert!(err.contains("linje 4, kolonne 1 (unit_code): «1100» står også på linje 3"), "{err}");
            assert!(err.contains("linje 5, kolonne 2 (parent_code):"), "{err}");
            assert!(err.contains("linje 6, kolonne 2 (parent_code): overordnet enhet «9999» finnes ikke i fila"), "{err}");
            assert!(err.contains("Ingenting er endret."), "{err}");
            assert_eq!(crate::support::dump(&mut t.conn()), before);
        }

        let next = dir.path().join("next.csv");
        std::fs::write(&next, "unit_code;parent_code;name\n1000;;Testkommune\n1100;1000;Helse\n1200;1000;Oppvekst\n").unwrap();
        let (code, out, _) = naervaer(Some(&t), &["import", "units", next.to_str().unwrap(), "--dry-run"]);
        assert_eq!(code, 0);
        assert!(out.contains("Deaktivert (1):\n  - 1110 Sykehjem"), "{out}");
        assert!(out.contains("Prøvekjøring: ingenting er endret."), "{out}");
        assert_eq!(crate::support::dump(&mut t.conn()), before);
    }

    fn migrate_applies_nothing_twice(t) {
        let (code, out, err) = naervaer(Some(&t), &["migrate"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("0 migration(s) applied"), "{out}");
    }
}

#[test]
fn survey_check_accepts_the_shipped_files_and_explains_a_broken_one() {
    let surveys = concat!(env!("CARGO_MANIFEST_DIR"), "/surveys");
    let (code, out, _) = naervaer(
        None,
        &[
            "survey",
            "check",
            &format!("{surveys}/10-faktor.toml"),
            &format!("{surveys}/naervaer-modul.toml"),
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("10-faktor 2026.1 (10 faktorer, 36 påstander, 4 bakgrunnsspørsmål"),
        "{out}"
    );
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.toml");
    let text = std::fs::read_to_string(format!("{surveys}/10-faktor.toml"))
        .unwrap()
        .replacen(
            "factor = \"bruk_av_kompetanse\"",
            "factor = \"bruk_av_kompetansen\"",
            1,
        );
    std::fs::write(&broken, text).unwrap();
    let (code, out, _) = naervaer(None, &["survey", "check", broken.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("2 problem"), "{out}");
    assert!(
        out.contains("påstand 'bk1' hører til en ukjent faktor 'bruk_av_kompetansen'"),
        "{out}"
    );
    assert!(
        out.contains("faktor 'bruk_av_kompetanse' har 2 påstand(er); en faktor trenger minst 3"),
        "{out}"
    );
}

#[test]
fn config_prints_settings_with_secrets_masked() {
    let out = Command::new(naervaer_bin())
        .arg("config")
        .env(
            "NAERVAER_DATABASE_URL",
            "postgres://app:TopSecret@db/naervaer",
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("NAERVAER_DATABASE_URL=postgres://app:***@db/naervaer"),
        "{text}"
    );
    assert!(!text.contains("TopSecret"));
    let out = Command::new(naervaer_bin())
        .arg("config")
        .env("NAERVAER_MIN_GROUP_SIZE", "2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("may never be below 3"));
}

#[test]
fn the_demo_check_seeds_serves_and_answers_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(naervaer_bin())
        .args(["demo", "--check"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Demo kommune: 41 units, 800 employees in naervaer-demo.db"),
        "{stdout}"
    );
    // Three closed rounds, the latest answered by about 70 %, and an open
    // one whose messages wait as files beside the database: e-mails, and
    // SMS to the staff with only a mobile number.
    let closed: usize = stdout
        .split("(the latest: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((520..=600).contains(&closed), "{closed} responses");
    assert!(
        stdout.contains("open round: 800 invited, 25 of them by SMS."),
        "{stdout}"
    );
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path().join("naervaer-demo-outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let of = |ext: &str| {
        files
            .iter()
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .count()
    };
    let (emls, sms) = (of("eml"), of("sms"));
    assert!(emls > 700, "{emls} e-mails");
    assert_eq!(sms, 25, "an SMS to each of those with only a mobile number");
    assert!(
        stdout.contains(&format!("Messages: {} sent into", emls + sms)),
        "{stdout}"
    );
    // The letters with their QR codes, for those with neither.
    let letters =
        std::fs::read_to_string(dir.path().join("naervaer-demo-outbox/brev.html")).unwrap();
    assert!(letters.matches("<svg class=\"qr\"").count() >= 20);
    assert!(
        stdout.contains("Paper letters with QR codes for"),
        "{stdout}"
    );
    // The representatives' sign-in links.
    assert!(
        stdout.contains("  verneombud ") && stdout.contains("  tillitsvalgt "),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"GET /healthz → HTTP/1.1 200 OK {"database":"sqlite","status":"ok"}"#),
        "{stdout}"
    );
    assert!(dir.path().join("naervaer-demo.db").exists());
    // Running it again starts from a fresh database, not a doubled one.
    let again = Command::new(naervaer_bin())
        .args(["demo", "--check"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("800 employees"));

    // The demo's absence tells its planted story through `naervaer analyse`.
    let again = String::from_utf8_lossy(&again.stdout).to_string();
    assert!(
        again.contains("Absence: 984 monthly rows (24 months)"),
        "{again}"
    );
    let prefix = again
        .split("analyse --round ")
        .nth(1)
        .unwrap()
        .split(['`', ' '])
        .next()
        .unwrap()
        .to_string();
    let analyse = |args: &[&str]| {
        Command::new(naervaer_bin())
            .args(["analyse", "--round", &prefix])
            .args(args)
            .env("NAERVAER_DATABASE_URL", "sqlite://naervaer-demo.db")
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let text = analyse(&[]);
    let text_out = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.status.success(),
        "{text_out}{}",
        String::from_utf8_lossy(&text.stderr)
    );
    assert!(
        text_out.contains("Husk: dette er sammenhenger mellom enheter, ikke årsaker."),
        "{text_out}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&analyse(&["--format", "json"]).stdout).unwrap();
    let ranked = json["summary"]["ranked"].as_array().unwrap();
    let top3: Vec<&str> = ranked
        .iter()
        .take(3)
        .map(|r| {
            json["factors"][r["factor"].as_u64().unwrap() as usize]["key"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(
        top3.iter()
            .filter(|k| naervaer::demo::ABSENCE_DRIVERS.contains(k))
            .count()
            >= 2,
        "the planted drivers lead the ranking: {top3:?}"
    );
    let csv = String::from_utf8_lossy(&analyse(&["--format", "csv", "--window", "after"]).stdout)
        .to_string();
    assert!(csv.starts_with("factor,groups,r,"), "{csv}");
    let bad = analyse(&["--window", "last-year"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("Ugyldig periode «last-year». Bruk before, after eller ÅÅÅÅ-MM-DD..ÅÅÅÅ-MM-DD"));
}

/// `serve` logs requests without the secret part of the URL and stops
/// cleanly on SIGTERM.
#[test]
fn serve_redacts_secrets_from_logs_and_stops_gracefully_on_sigterm() {
    let t = TestDb::new(Backend::Sqlite);
    let (mut c, round) = crate::rounds::open_demo_round(&t);
    let ids = crate::rounds::invitation_ids(&mut c, &round.id);
    let key = crate::support::key();
    let port = crate::support::free_port();
    let mut child = Command::new(naervaer_bin())
        .arg("serve")
        .env("NAERVAER_DATABASE_URL", &t.url)
        .env("NAERVAER_SECRET_KEY", crate::support::TEST_KEY)
        .env_remove("NAERVAER_SMTP_URL")
        .env_remove("NAERVAER_OUTBOX_DIR")
        .env("NAERVAER_BIND", format!("127.0.0.1:{port}"))
        .env("NAERVAER_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        crate::support::http(addr, "GET", "/healthz", "").status,
        200
    );
    let secret = "Zq8sV3cretT0kenValue";
    crate::support::http(addr, "GET", &format!("/s/{secret}?code={secret}"), "");
    crate::support::http(addr, "GET", &format!("/login/{secret}/confirm"), "");
    // A real answer: link, page, submit; and a paper code.
    let token = key.survey_token(&ids[0]);
    let r = crate::support::http(addr, "GET", &format!("/s/{token}"), "");
    assert_eq!(r.status, 303);
    let cookie = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        crate::support::http_cookie(addr, "GET", "/svar", "", Some(&cookie)).status,
        200
    );
    let last = naervaer::rounds::answer::pages(&round.surveys(&mut c).unwrap()).len() - 1;
    let r = crate::support::http_cookie(
        addr,
        "POST",
        "/svar",
        &format!("page={last}&go=submit"),
        Some(&cookie),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let code = key.paper_code(&ids[1]);
    assert_eq!(
        crate::support::http(addr, "POST", "/kode", &format!("kode={code}")).status,
        303
    );

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "serve exited with {status}");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(logs.contains(r#""path":"/s/[redacted]""#), "{logs}");
    assert!(
        logs.contains(r#""path":"/login/[redacted]/confirm""#),
        "{logs}"
    );
    assert!(!logs.contains(secret), "a secret reached the log:\n{logs}");
    for s in [token.as_str(), code.as_str(), cookie.as_str()] {
        assert!(
            !logs.contains(s),
            "a token, code or cookie reached the log:\n{logs}"
        );
    }
    assert!(
        logs.contains(r#""path":"/svar""#) && logs.contains(r#""status":303"#),
        "{logs}"
    );
    assert!(logs.contains("naervaer stopped"), "{logs}");
}

#[test]
fn the_bench_command_measures_a_small_municipality_and_writes_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let out = Command::new(naervaer_bin())
        .args([
            "bench",
            "--employees",
            "400",
            "--units",
            "30",
            "--runs",
            "2",
            "--concurrency",
            "4",
            "--respondents",
            "40",
            "--mails",
            "60",
            "--json",
        ])
        .arg(&json)
        .current_dir(dir.path())
        .env(
            "NAERVAER_BENCH_PYTHON",
            std::env::var("NAERVAER_TEST_PYTHON").unwrap_or_else(|_| "python3".into()),
        )
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        table.contains("naervaer bench: 400 employees, 30 units, sqlite"),
        "{table}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let figure = |what: &str| -> serde_json::Value {
        report["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["what"].as_str().unwrap().starts_with(what))
            .unwrap_or_else(|| panic!("no figure {what}: {report}"))
            .clone()
    };
    for what in [
        "close a round",
        "snapshot of a closed round",
        "anonymity engine",
        "AMU analysis",
        "naervaer analyse, whole process",
        "leader page over HTTP",
        "answering flows, 4 concurrent, one commit per answer",
        "answering flows, 4 concurrent, group commit",
        // The server on one CPU and the respondents on the other (the CI
        // machine has two, and util-linux's taskset).
        "answering flows, 4 concurrent, group commit, server and respondents on a CPU each",
        "answering flows ÷ raw rate, group commit, server and respondents on a CPU each",
        "submit latency p99",
        "raw durable answer transaction",
        "naervaer serve peak RSS",
        "claiming the next 10 of 400 queued messages",
        "sending 60 invitations by SMTP, 1 connection",
        "sending 60 invitations by SMTP, 16 connections",
        // benches/analyst.py on the same answers (tests/requirements.txt
        // has pandas and SciPy): missing, the bench says so and this fails.
        "analyst pandas script: load the CSV",
        "analyst pandas script: factor means per unit",
        "analyst pandas script: correlate with absence",
        "analyst pandas script: whole, in process",
        "snapshot ÷ pandas load + factor means",
        "snapshot + analysis ÷ pandas whole",
    ] {
        let f = figure(what);
        let (min, median, max) = (
            f["min"].as_f64().unwrap(),
            f["median"].as_f64().unwrap(),
            f["max"].as_f64().unwrap(),
        );
        assert!(min > 0.0 && min <= median && median <= max, "{what}: {f}");
    }
    assert_eq!(figure("snapshot of a closed round")["runs"], 2);
    // Both rounds' closes are samples.
    assert_eq!(figure("close a round")["runs"], 2);
    assert_eq!(figure("answering errors, one commit")["median"], 0.0);
    assert_eq!(figure("answering errors, group commit")["median"], 0.0);
    assert_eq!(
        figure("answering errors, group commit, server and respondents")["median"],
        0.0
    );
}

#[test]
fn the_load_holding_run_counts_no_errors_with_many_clients_at_once() {
    // The bounded version of `naervaer bench --hold 300 --clients 1000`.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("hold.json");
    let out = Command::new(naervaer_bin())
        .args([
            "bench",
            "--hold",
            "4",
            "--clients",
            "150",
            "--employees",
            "600",
            "--units",
            "30",
            "--json",
        ])
        .arg(&json)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let figure = |what: &str| -> f64 {
        report["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["what"].as_str().unwrap().starts_with(what))
            .unwrap_or_else(|| panic!("no figure {what}: {report}"))["median"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(figure("errors"), 0.0, "{table}");
    assert!(figure("flows with 150 clients held") > 0.0, "{table}");
    assert!(figure("server peak RSS") > 0.0, "{table}");
}

/// Every subcommand `naervaer --help` lists, with the test that runs it
/// through the real binary. [`every_subcommand_has_a_test_that_runs_the_binary`]
/// walks clap's own list: a new subcommand without a line here fails the
/// suite, and so does a line naming a test that does not exist.
const SUBCOMMAND_TESTS: &[(&str, &str, &str)] = &[
    ("import targets", "followup.rs", "the_follow_up_commands_import_check_remind_estimate_and_report"),
    ("import measures", "followup.rs", "the_follow_up_commands_import_check_remind_estimate_and_report"),
    ("import national", "followup.rs", "the_follow_up_commands_import_check_remind_estimate_and_report"),
    ("import norms", "cli.rs", "import_norms_reports_its_diff_and_refuses_a_broken_file"),
    ("followup check", "followup.rs", "the_follow_up_commands_import_check_remind_estimate_and_report"),
    ("followup remind", "followup.rs", "the_follow_up_commands_import_check_remind_estimate_and_report"),
    ("effect", "followup.rs", "the_follow_up_commands_import_check_remind_estimate_and_report"),
    ("report", "followup.rs", "the_follow_up_commands_import_check_remind_estimate_and_report"),
    (
        "health",
        "packaging.rs",
        "the_debian_package_installs_serves_as_its_own_user_upgrades_and_purges",
    ),
    (
        "backup",
        "backup.rs",
        "sqlite_backup_during_answering_keeps_every_acknowledged_answer_and_the_restored_copy_serves",
    ),
    (
        "restore",
        "backup.rs",
        "restore_checks_the_file_and_replaces_a_database_with_data_only_when_forced",
    ),
    (
        "retention",
        "retention.rs",
        "retention_on_the_command_line_prints_counts_and_changes_only_with_apply",
    ),
    (
        "serve",
        "cli.rs",
        "serve_redacts_secrets_from_logs_and_stops_gracefully_on_sigterm",
    ),
    ("migrate", "cli.rs", "migrate_applies_nothing_twice"),
    (
        "config",
        "cli.rs",
        "config_prints_settings_with_secrets_masked",
    ),
    (
        "import units",
        "cli.rs",
        "import_dry_run_on_a_broken_file_lists_every_problem_and_changes_nothing",
    ),
    (
        "import employees",
        "cli.rs",
        "import_employees_and_absence_apply_and_report_in_the_installations_language",
    ),
    (
        "import absence",
        "cli.rs",
        "import_employees_and_absence_apply_and_report_in_the_installations_language",
    ),
    (
        "survey check",
        "cli.rs",
        "survey_check_accepts_the_shipped_files_and_explains_a_broken_one",
    ),
    (
        "round create",
        "cli.rs",
        "round_create_stores_a_draft_and_refuses_a_bad_file",
    ),
    (
        "round open",
        "cli.rs",
        "round_open_invites_and_counts_the_channels",
    ),
    (
        "round remind",
        "cli.rs",
        "round_remind_queues_reminders_only_for_those_who_have_not_answered",
    ),
    ("round close", "cli.rs", "round_close_freezes_the_results"),
    (
        "round raise-k",
        "cli.rs",
        "round_raise_k_hides_more_and_refuses_a_lower_k",
    ),
    (
        "round status",
        "cli.rs",
        "round_status_and_list_show_counts_only",
    ),
    (
        "round list",
        "cli.rs",
        "round_status_and_list_show_counts_only",
    ),
    (
        "round letters",
        "cli.rs",
        "round_letters_prints_a_letter_per_person_without_email",
    ),
    (
        "send",
        "mail.rs",
        "a_sender_killed_mid_run_resumes_and_resends_at_most_one_per_connection",
    ),
    (
        "secret",
        "cli.rs",
        "secret_prints_a_key_the_settings_accept",
    ),
    (
        "bench",
        "cli.rs",
        "the_bench_command_measures_a_small_municipality_and_writes_every_figure",
    ),
    (
        "analyse",
        "cli.rs",
        "the_demo_check_seeds_serves_and_answers_healthz",
    ),
    (
        "demo",
        "cli.rs",
        "the_demo_check_seeds_serves_and_answers_healthz",
    ),
];

/// The subcommands a user can run, as `round open`, from clap's definition.
fn leaf_subcommands(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let path = format!("{prefix}{}", sub.get_name());
        if sub.has_subcommands() {
            leaf_subcommands(sub, &format!("{path} "), out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn every_subcommand_has_a_test_that_runs_the_binary() {
    use clap::CommandFactory;
    let mut leaves = Vec::new();
    leaf_subcommands(&naervaer::cli::Cli::command(), "", &mut leaves);
    assert!(leaves.len() >= 20, "{leaves:?}");
    let listed: Vec<&str> = SUBCOMMAND_TESTS.iter().map(|(p, _, _)| *p).collect();
    let untested: Vec<&String> = leaves
        .iter()
        .filter(|l| !listed.contains(&l.as_str()))
        .collect();
    assert!(
        untested.is_empty(),
        "subcommands without a CLI test: {untested:?}"
    );
    let gone: Vec<&&str> = listed
        .iter()
        .filter(|p| !leaves.iter().any(|l| l == *p))
        .collect();
    assert!(
        gone.is_empty(),
        "tests listed for subcommands that no longer exist: {gone:?}"
    );
    for (path, file, test) in SUBCOMMAND_TESTS {
        let source =
            std::fs::read_to_string(format!("{}/tests/it/{file}", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        assert!(
            source.contains(&format!("fn {test}(")),
            "`naervaer {path}`: no test {test} in tests/it/{file}"
        );
        let name = path.split(' ').next_back().unwrap();
        assert!(
            source.contains(&format!("\"{name}\"")),
            "`naervaer {path}`: tests/it/{file} never runs it"
        );
    }
}

#[test]
fn secret_prints_a_key_the_settings_accept() {
    // It needs no database and no settings: it is the first thing a new
    // installation runs, before any configuration exists.
    let (code, out, err) = naervaer(None, &["secret"]);
    assert_eq!(code, 0, "{out}{err}");
    let key = out.trim();
    assert_eq!(key.len(), 64, "{key}");
    assert!(key.chars().all(|c| c.is_ascii_hexdigit()), "{key}");
    assert!(naervaer::crypto::SecretKey::new(key).is_ok());
    let (_, again, _) = naervaer(None, &["secret"]);
    assert_ne!(again.trim(), key, "a new key every time");
    // Even with a broken configuration around it.
    let out = Command::new(naervaer_bin())
        .arg("secret")
        .env("NAERVAER_MIN_GROUP_SIZE", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
}

/// A database with the test organisation, as files the binary imported.
fn organisation_through_the_binary(t: &TestDb, dir: &std::path::Path) {
    let units = dir.join("units.csv");
    std::fs::write(&units, crate::UNITS).unwrap();
    let employees = dir.join("employees.csv");
    std::fs::write(&employees, crate::EMPLOYEES).unwrap();
    for (kind, file) in [("units", &units), ("employees", &employees)] {
        let (code, out, err) = naervaer(Some(t), &["import", kind, file.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
    }
}

both_backends! {
    fn import_employees_and_absence_apply_and_report_in_the_installations_language(t) {
        let dir = tempfile::tempdir().unwrap();
        let units = dir.path().join("units.csv");
        std::fs::write(&units, crate::UNITS).unwrap();
        assert_eq!(naervaer(Some(&t), &["import", "units", units.to_str().unwrap()]).0, 0);
        let employees = dir.path().join("ansatte.csv");
        std::fs::write(&employees, crate::EMPLOYEES).unwrap();
        let (code, out, err) = naervaer(Some(&t), &["import", "employees", employees.to_str().unwrap(), "--dry-run"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("Lagt til (3):") && out.contains("Prøvekjøring: ingenting er endret."), "{out}");
        let (code, out, _) = naervaer(Some(&t), &["import", "employees", employees.to_str().unwrap()]);
        assert_eq!(code, 0);
        assert!(out.contains("Importert."), "{out}");
        assert_eq!(naervaer::db::models::Employee::all(&mut t.conn()).unwrap().len(), 3);

        let absence = dir.path().join("fravaer.csv");
        std::fs::write(&absence, "enhetskode;fra;til;avtalte_dagsverk;tapte_dagsverk\n1110;01.01.2025;31.01.2025;1 210,5;61\n").unwrap();
        let (code, out, err) = naervaer(Some(&t), &["import", "absence", absence.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("Lagt til (1):") && out.contains("1110 2025-01-01–2025-01-31"), "{out}");
        std::fs::write(&absence, "enhetskode;fra;til;avtalte_dagsverk;tapte_dagsverk\n1110;01.02.2025;28.02.2025;10;20\n").unwrap();
        let (code, _, err) = naervaer(Some(&t), &["import", "absence", absence.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert!(err.contains("linje 2, kolonne 5 (tapte_dagsverk): tapte dagsverk er flere enn avtalte dagsverk"), "{err}");
    }

    fn round_create_stores_a_draft_and_refuses_a_bad_file(t) {
        let dir = tempfile::tempdir().unwrap();
        organisation_through_the_binary(&t, dir.path());
        let survey = concat!(env!("CARGO_MANIFEST_DIR"), "/surveys/10-faktor.toml");
        let (code, out, err) = naervaer(Some(&t), &["round", "create", "--title", "Høst", "--survey", survey, "--closes", "2030-01-31", "--unit", "1100"]);
        assert_eq!(code, 0, "{out}{err}");
        let id = out.trim();
        let round = naervaer::rounds::Round::find(&mut t.conn(), &id.into()).unwrap();
        assert_eq!((round.title.as_str(), round.status.as_str()), ("Høst", "draft"));
        let missing = dir.path().join("finnes-ikke.toml");
        let (code, _, err) = naervaer(Some(&t), &["round", "create", "--title", "X", "--survey", missing.to_str().unwrap(), "--closes", "2030-01-31"]);
        assert_eq!(code, 1);
        assert!(err.contains("finnes-ikke.toml"), "{err}");
    }

    fn round_open_invites_and_counts_the_channels(t) {
        let dir = tempfile::tempdir().unwrap();
        organisation_through_the_binary(&t, dir.path());
        let round = crate::rounds::new_round(&mut t.conn(), None);
        let (code, out, err) = round_cmd(&t, &["round", "open", &round.id[..8]]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("opened: 3 invited, 2 by e-mail and 0 by SMS (queued), 1 on paper"), "{out}");
        let (code, _, err) = round_cmd(&t, &["round", "open", round.id.as_str()]);
        assert_eq!(code, 1, "a round opens once");
        assert!(!err.is_empty());
    }

    fn round_remind_queues_reminders_only_for_those_who_have_not_answered(t) {
        let dir = tempfile::tempdir().unwrap();
        organisation_through_the_binary(&t, dir.path());
        let mut c = t.conn();
        let round = crate::rounds::new_round(&mut c, None);
        naervaer::rounds::open(&mut c, &crate::support::key(), &round.id).unwrap();
        let (code, out, err) = round_cmd(&t, &["round", "remind", round.id.as_str()]);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(out.trim(), "2 reminder(s) queued");
        let (_, out, _) = round_cmd(&t, &["round", "remind", round.id.as_str()]);
        assert_eq!(out.trim(), "0 reminder(s) queued", "not again within the interval");
    }

    fn round_close_freezes_the_results(t) {
        let dir = tempfile::tempdir().unwrap();
        organisation_through_the_binary(&t, dir.path());
        let mut c = t.conn();
        let round = crate::rounds::new_round(&mut c, None);
        naervaer::rounds::open(&mut c, &crate::support::key(), &round.id).unwrap();
        let (code, out, err) = round_cmd(&t, &["round", "close", round.id.as_str()]);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(out.trim(), "closed: 0 responses");
        assert!(naervaer::snapshot::load(&mut c, &round.id).unwrap().is_some());
    }

    fn round_raise_k_hides_more_and_refuses_a_lower_k(t) {
        let mut c = t.conn();
        let f = crate::results::closed_round(&mut c);
        let (code, out, err) = round_cmd(&t, &["round", "raise-k", f.round.as_str(), "9"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.starts_with("k = 9: ") && out.contains(" groups shown"), "{out}");
        assert_eq!(naervaer::snapshot::load(&mut c, &f.round).unwrap().unwrap().k, 9);
        let (code, _, err) = round_cmd(&t, &["round", "raise-k", f.round.as_str(), "6"]);
        assert_eq!(code, 1);
        assert!(!err.is_empty());
    }

    fn import_norms_reports_its_diff_and_refuses_a_broken_file(t) {
        let dir = tempfile::tempdir().unwrap();
        organisation_through_the_binary(&t, dir.path());
        let file = dir.path().join("normer.csv");
        std::fs::write(&file, "enhetstype;faktor;snitt\r\nskole;rolleklarhet;4,1\r\n").unwrap();
        let (code, out, err) = naervaer(Some(&t), &["import", "norms", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("Lagt til (1):") && out.contains("skole 10-faktor/rolleklarhet (nasjonalt): 4.1"), "{out}");
        assert!(err.contains("ingen enhet har enhetstypen «skole»"), "a warning: {err}");
        std::fs::write(&file, "enhetstype;faktor;snitt\r\nskole;rolleklarhet;9\r\n").unwrap();
        let (code, _, err) = naervaer(Some(&t), &["import", "norms", file.to_str().unwrap()]);
        assert_eq!(code, 1);
        assert!(err.contains("linje 2, kolonne 3 (snitt): «9» er ikke et gjennomsnitt"), "{err}");
    }

    fn round_status_and_list_show_counts_only(t) {
        let dir = tempfile::tempdir().unwrap();
        organisation_through_the_binary(&t, dir.path());
        let mut c = t.conn();
        let round = crate::rounds::new_round(&mut c, None);
        naervaer::rounds::open(&mut c, &crate::support::key(), &round.id).unwrap();
        let (code, out, err) = round_cmd(&t, &["round", "status", round.id.as_str()]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.starts_with("Testrunde (open,"), "{out}");
        // Three people in all: below k = 5, so no count at all (a count
        // beside so few tells who has not answered).
        assert_eq!(out.lines().last().unwrap(), "fewer than 5 invited: no counts are shown", "{out}");
        // With k = 3 the three are one row, the small units counted in
        // the organisation's.
        let small = naervaer::rounds::create(&mut c, 3, naervaer::rounds::NewRound {
            title: "Liten".into(),
            surveys: vec![naervaer::demo::SURVEY_10_FAKTOR.into()],
            unit_code: None,
            opens_on: naervaer::rounds::today(),
            closes_on: naervaer::rounds::today(),
            min_group_size: 3,
            delivery: naervaer::rounds::Delivery::Email,
        }).unwrap();
        naervaer::rounds::open(&mut c, &crate::support::key(), &small.id).unwrap();
        let (_, out, _) = round_cmd(&t, &["round", "status", small.id.as_str()]);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[2].starts_with("1000") && lines[2].split_whitespace().rev().take(3).collect::<Vec<_>>() == ["0", "0", "3"], "{out}");
        assert!(lines[3].contains("(with Sykehjem, Oppvekst)"), "units with no one invited are not named: {out}");
        assert_eq!(lines[4].split_whitespace().collect::<Vec<_>>(), ["total", "3", "0", "0"], "{out}");
        let (code, out, _) = round_cmd(&t, &["round", "list"]);
        assert_eq!(code, 0);
        assert!(out.contains(round.id.as_str()) && out.contains("open") && out.contains("Testrunde"), "{out}");
    }

    fn round_letters_prints_a_letter_per_person_without_email(t) {
        let dir = tempfile::tempdir().unwrap();
        organisation_through_the_binary(&t, dir.path());
        let mut c = t.conn();
        let round = crate::rounds::new_round(&mut c, None);
        naervaer::rounds::open(&mut c, &crate::support::key(), &round.id).unwrap();
        let out_file = dir.path().join("brev.html");
        let (code, out, err) = round_cmd(&t, &["round", "letters", round.id.as_str(), "--out", out_file.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(err.contains("1 letter(s) written"), "{err}");
        let html = std::fs::read_to_string(&out_file).unwrap();
        assert!(html.contains("Ola Nordmann") && !html.contains("Kari Nordmann"), "only the person without e-mail");
        let (_, everyone, _) = round_cmd(&t, &["round", "letters", round.id.as_str(), "--everyone"]);
        assert!(everyone.contains("Ola Nordmann") && everyone.contains("Kari Nordmann"));
    }
}

/// The binary with the test key, as an administrator runs round commands.
fn round_cmd(t: &TestDb, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(naervaer_bin())
        .args(args)
        .env_remove("NAERVAER_CONFIG")
        .env("NAERVAER_LANG", "nb")
        .env("NAERVAER_DATABASE_URL", &t.url)
        .env("NAERVAER_SECRET_KEY", crate::support::TEST_KEY)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}
