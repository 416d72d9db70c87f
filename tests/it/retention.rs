//! Retention: people who left, old absence and old responses are deleted
//! (or pseudonymised where a round still names a person), by `serve`'s
//! duties and by `naervaer retention`, on both databases — and nothing a
//! closed round's results need is lost.

use crate::both_backends;
use crate::cli::naervaer;
use crate::results::{absence_for_the_year, closed_round};
use crate::support::settings;
use diesel::prelude::*;
use naervaer::analysis::Window;
use naervaer::cache::Cache;
use naervaer::db::schema::{absence, employees, login_tokens, responses, sessions};
use naervaer::import::Kind;
use naervaer::lang::Lang;

both_backends! {
    fn people_who_left_old_absence_and_old_responses_go_and_the_results_stay(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        absence_for_the_year(&mut c);
        // Two more people, never invited to anything, then gone from the file:
        // one of them still has a sign-in link and a session.
        let mut file = naervaer::demo::generate(naervaer::demo::SEED).employees_csv;
        let with_extra = format!("{file}9001;Ekstra En;ekstra1@demo-kommune.no;1110;1110;;nb\n9002;Ekstra To;;1110;;;nb\n");
        naervaer::import::import(&mut c, Kind::Employees, "a.csv", with_extra.as_bytes(), false).unwrap();
        let extra: String = employees::table.filter(employees::employee_number.eq("9001")).select(employees::id).first(&mut c).unwrap();
        naervaer::auth::link_token_for(&mut c, &naervaer::ids::EmployeeId::from(extra.to_string())).unwrap();
        let server = crate::support::TestServer::start(&t);
        crate::results::sign_in(&server, &mut c, &extra);
        drop(server);
        // And one invited person (in the open round) leaves too.
        let invited_number = file.lines().nth(1).unwrap().split(';').next().unwrap().to_string();
        file = file.lines().filter(|l| !l.starts_with(&format!("{invited_number};"))).collect::<Vec<_>>().join("\n") + "\n";
        naervaer::import::import(&mut c, Kind::Employees, "b.csv", file.as_bytes(), false).unwrap();
        // Absence from six years ago beside this year's.
        let old = naervaer::rounds::today() - chrono::Months::new(72);
        let old_rows = format!(
            "unit_code;period_start;period_end;agreed_workdays;lost_workdays\n1110;{};{old};100;5\n",
            old - chrono::Days::new(30)
        );
        naervaer::import::import(&mut c, Kind::Absence, "old.csv", old_rows.as_bytes(), false).unwrap();

        let s = settings(&t, &[("NAERVAER_RESPONSE_RETENTION_DAYS", "0")]);
        let results_text = |c: &mut naervaer::db::DbConnection| {
            let snapshot = naervaer::snapshot::load(c, &f.round).unwrap().unwrap();
            let a = naervaer::analysis::run(c, &Cache::none(), &f.round, Window::Before, None, Lang::Nb).unwrap();
            // Every figure of the analysis; its list of imported periods
            // rightly loses the deleted one.
            let figures = serde_json::json!({
                "groups": a.groups, "factors": a.factors, "organisation": a.organisation_rate,
                "ranked": a.summary.ranked, "flagged": a.summary.flagged,
            });
            (serde_json::to_string(&*snapshot).unwrap(), figures.to_string())
        };
        let results_before = results_text(&mut c);
        // Not yet: they left today.
        let now = naervaer::retention::run(&mut c, &s, false).unwrap();
        assert_eq!((now.people_deleted, now.people_pseudonymised), (0, 0));
        assert_eq!(now.absence_rows_deleted, 1);
        // Half a year later.
        diesel::update(employees::table.filter(employees::active.eq(false)))
            .set(employees::updated_at.eq(naervaer::db::now_unix() - 181 * 86_400))
            .execute(&mut c)
            .unwrap();
        let before = crate::support::dump(&mut c);
        let dry = naervaer::retention::run(&mut c, &s, false).unwrap();
        assert_eq!(crate::support::dump(&mut c), before, "a dry run changes nothing");
        let done = naervaer::retention::run(&mut c, &s, true).unwrap();
        assert_eq!(dry, done, "the dry run said what would be done");
        assert_eq!(done.people_deleted, 2, "{done:?}");
        assert_eq!(done.people_pseudonymised, 1, "{done:?}");
        assert!(done.sessions_deleted >= 1 && done.sign_in_links_deleted >= 1, "{done:?}");
        assert_eq!(done.absence_rows_deleted, 1);
        assert!(done.responses_deleted > 100, "{done:?}");
        let left: Vec<(String, Option<String>)> = employees::table
            .filter(employees::active.eq(false))
            .select((employees::name, employees::email))
            .load(&mut c)
            .unwrap();
        assert_eq!(left, vec![(naervaer::retention::PSEUDONYM.to_string(), None)], "only the invited one, with no name or address");
        let extra_left: i64 = employees::table.filter(employees::employee_number.eq_any(["9001", "9002", invited_number.as_str()])).count().get_result(&mut c).unwrap();
        assert_eq!(extra_left, 0, "no HR number of anyone who left is kept");
        for (what, n) in [
            ("sessions", sessions::table.filter(sessions::employee_id.eq(&extra)).count().get_result::<i64>(&mut c).unwrap()),
            ("links", login_tokens::table.filter(login_tokens::employee_id.eq(&extra)).count().get_result::<i64>(&mut c).unwrap()),
            ("responses", responses::table.filter(responses::round_id.eq(&f.round)).count().get_result::<i64>(&mut c).unwrap()),
        ] {
            assert_eq!(n, 0, "{what}");
        }
        // On SQLite what was deleted is overwritten, not left in free pages:
        // once the log is written into the file, neither holds the name or
        // address of a person deleted (README, privacy model).
        if let naervaer::db::DbConnection::Sqlite(raw) = &mut c {
            diesel::connection::SimpleConnection::batch_execute(raw, "PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
            let bytes = t.sqlite_bytes().unwrap();
            let text = String::from_utf8_lossy(&bytes);
            for gone in ["ekstra1@demo-kommune.no", "Ekstra En", "Ekstra To"] {
                assert!(!text.contains(gone), "{gone} is still in the database file");
            }
        }
        let absence_rows: i64 = absence::table.count().get_result(&mut c).unwrap();
        assert!(absence_rows > 100, "this year's absence stays");
        // The analysis's kept series lose the deleted period too, and
        // still hold every period that stays.
        let series = naervaer::db::absence_series::load(&mut c).unwrap();
        let units = series.units().unwrap();
        let kept: usize = units.iter().map(|(_, p)| p.len()).sum();
        assert_eq!(kept as i64, absence_rows);
        assert!(
            units.iter().flat_map(|(_, p)| p).all(|p| p.end() > old),
            "a deleted period is still in the absence series"
        );
        // The results stay: the snapshot, and the analysis from it.
        let snapshot = naervaer::snapshot::load(&mut c, &f.round).unwrap().unwrap();
        assert!(snapshot.groups.iter().filter(|g| g.figures.is_some()).count() >= 15);
        let a = naervaer::analysis::run(&mut c, &Cache::none(), &f.round, Window::Before, None, Lang::Nb).unwrap();
        assert!(!a.too_few);
        let results_after = results_text(&mut c);
        assert!(results_after.0 == results_before.0, "the snapshot changed");
        assert!(results_after.1 == results_before.1, "the analysis's figures changed");
        // A second run finds nothing more.
        assert!(naervaer::retention::run(&mut c, &s, true).unwrap().is_empty());
        // Once the open round's invitations are reduced to counts nothing
        // names the pseudonymised person, and the next run deletes them.
        let open: Vec<naervaer::ids::RoundId> = naervaer::db::schema::rounds::table
            .filter(naervaer::db::schema::rounds::status.eq("open"))
            .select(naervaer::db::schema::rounds::id)
            .load(&mut c)
            .unwrap();
        assert!(!open.is_empty());
        for round in &open {
            naervaer::rounds::close(&mut c, round, true).unwrap();
        }
        let later = naervaer::retention::run(&mut c, &s, true).unwrap();
        assert_eq!((later.people_deleted, later.people_pseudonymised), (1, 0), "{later:?}");
        let inactive: i64 = employees::table.filter(employees::active.eq(false)).count().get_result(&mut c).unwrap();
        assert_eq!(inactive, 0, "nobody who left is kept, not even as a pseudonym");
    }

    fn serve_applies_retention_among_its_duties_and_logs_only_counts(t) {
        let mut c = t.conn();
        crate::import_text(&mut c, Kind::Units, crate::UNITS, false).unwrap();
        crate::import_text(&mut c, Kind::Employees, crate::EMPLOYEES, false).unwrap();
        // Per Hansen leaves, half a year and a day ago.
        let without_per: String = crate::EMPLOYEES.lines().filter(|l| !l.starts_with("3;")).collect::<Vec<_>>().join("\n") + "\n";
        crate::import_text(&mut c, Kind::Employees, &without_per, false).unwrap();
        let per: String = employees::table.filter(employees::employee_number.eq("3")).select(employees::id).get_result(&mut c).unwrap();
        diesel::update(employees::table.find(&per))
            .set(employees::updated_at.eq(naervaer::db::now_unix() - 181 * 86_400))
            .execute(&mut c)
            .unwrap();
        let old = naervaer::rounds::today() - chrono::Months::new(84);
        let rows = format!(
            "unit_code;period_start;period_end;agreed_workdays;lost_workdays\n1110;{};{old};100;5\n",
            old - chrono::Days::new(30)
        );
        naervaer::import::import(&mut c, Kind::Absence, "old.csv", rows.as_bytes(), false).unwrap();
        let log = tempfile::NamedTempFile::new().unwrap();
        let port = crate::support::free_port();
        let mut serve = std::process::Command::new(crate::support::naervaer_bin())
            .arg("serve")
            .env("NAERVAER_DATABASE_URL", &t.url)
            .env("NAERVAER_BIND", format!("127.0.0.1:{port}"))
            .env("NAERVAER_LOG", "info")
            .env("NAERVAER_LOG_FORMAT", "json")
            .env_remove("NAERVAER_SECRET_KEY")
            .stdout(std::process::Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let left = |c: &mut naervaer::db::DbConnection| {
            employees::table.find(&per).count().get_result::<i64>(c).unwrap()
                + absence::table.count().get_result::<i64>(c).unwrap()
        };
        while left(&mut c) > 0 {
            assert!(std::time::Instant::now() < deadline, "serve applied no retention within a minute");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = serve.kill();
        let _ = serve.wait();
        let text = std::fs::read_to_string(log.path()).unwrap();
        let line = text.lines().find(|l| l.contains("\"retention\"")).unwrap_or_else(|| panic!("no retention line in\n{text}"));
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(entry["fields"]["people_deleted"], 1, "{line}");
        assert_eq!(entry["fields"]["absence_rows_deleted"], 1, "{line}");
        for secret in ["Per Hansen", "per@test.no", per.as_str()] {
            assert!(!text.contains(secret), "the log names «{secret}»:\n{text}");
        }
    }

    fn retention_on_the_command_line_prints_counts_and_changes_only_with_apply(t) {
        let mut c = t.conn();
        crate::import_text(&mut c, Kind::Units, crate::UNITS, false).unwrap();
        let old = naervaer::rounds::today() - chrono::Months::new(84);
        let rows = format!(
            "unit_code;period_start;period_end;agreed_workdays;lost_workdays\n1110;{};{old};100;5\n",
            old - chrono::Days::new(30)
        );
        naervaer::import::import(&mut c, Kind::Absence, "old.csv", rows.as_bytes(), false).unwrap();
        let count = |c: &mut naervaer::db::DbConnection| absence::table.count().get_result::<i64>(c).unwrap();
        let (code, out, err) = naervaer(Some(&t), &["retention", "--dry-run"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("1  fraværsrader slettet") && out.contains("Prøvekjøring"), "{out}");
        assert_eq!(count(&mut c), 1);
        let (code, out, _) = naervaer(Some(&t), &["retention", "--apply"]);
        assert_eq!(code, 0);
        assert!(out.contains("1  fraværsrader slettet") && out.contains("Slettet."), "{out}");
        assert_eq!(count(&mut c), 0);
    }
}
