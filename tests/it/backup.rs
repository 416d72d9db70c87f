//! Backup and restore while the service answers: `naervaer backup` on
//! SQLite, `pg_dump`/`pg_restore` as README documents them on PostgreSQL.
//! Every answer acknowledged before the backup began is in the restored
//! copy, the copy passes `naervaer migrate` and a node serves it.

use crate::crash::submit;
use crate::mail::{organisation, SmtpSink};
use crate::nodes::Node;
use crate::rounds::{invitation_ids, new_round};
use crate::support::{self, http, key, naervaer_bin, Backend, TestDb, TEST_KEY};
use diesel::dsl::count_star;
use diesel::prelude::*;
use naervaer::bench::complete_form;
use naervaer::db::schema::{invitations, responses};
use naervaer::db::{self, DbConnection};
use naervaer::ids::RoundId;
use naervaer::rounds::{self, Round};
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn naervaer(db_url: &str, args: &[&str]) -> Output {
    Command::new(naervaer_bin())
        .args(args)
        .env("NAERVAER_DATABASE_URL", db_url)
        .env("NAERVAER_SECRET_KEY", TEST_KEY)
        .env("NAERVAER_LANG", "nb")
        .output()
        .unwrap()
}

fn ok(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{what} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn responded(c: &mut DbConnection, round: &RoundId) -> HashSet<String> {
    invitations::table
        .filter(invitations::round_id.eq(round))
        .filter(invitations::responded.eq(true))
        .select(invitations::id)
        .load::<String>(c)
        .unwrap()
        .into_iter()
        .collect()
}

fn stored(c: &mut DbConnection, round: &RoundId) -> usize {
    responses::table
        .filter(responses::round_id.eq(round))
        .select(count_star())
        .first::<i64>(c)
        .unwrap() as usize
}

/// Answers arrive on a node while `take_backup` runs; then `restore` makes
/// a database from the backup, which must hold every answer acknowledged
/// before the backup began (and none that never was), pass `naervaer
/// migrate` and serve: the answered cannot answer again, the others can.
fn backup_under_load(t: &TestDb, take_backup: impl FnOnce(), restore: impl FnOnce() -> String) {
    let mut c = t.conn();
    organisation(&mut c, 400);
    let round = new_round(&mut c, None);
    rounds::open(&mut c, &key(), &round.id).unwrap();
    let surveys = Round::find(&mut c, &round.id)
        .unwrap()
        .surveys(&mut c)
        .unwrap();
    let ids = invitation_ids(&mut c, &round.id);
    let sink = SmtpSink::start();
    let node = Node::start(&t.url, &sink, "200");
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged: Arc<Mutex<HashSet<String>>> = Arc::default();
    let load: Vec<_> = (0..6)
        .map(|w| {
            let (stop, acknowledged, surveys, addr) = (
                stop.clone(),
                acknowledged.clone(),
                surveys.clone(),
                node.addr,
            );
            let mine: Vec<String> = ids.iter().skip(w).step_by(6).take(50).cloned().collect();
            std::thread::spawn(move || {
                for (i, inv) in mine.iter().enumerate() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let cookie = format!("naervaer_svar={}", key().survey_token(inv));
                    if submit(addr, &cookie, &complete_form(&surveys, i)) == Some(303) {
                        acknowledged.lock().unwrap().insert(inv.clone());
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        })
        .collect();
    while acknowledged.lock().unwrap().len() < 30 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let before: HashSet<String> = acknowledged.lock().unwrap().clone();
    take_backup();
    let during = acknowledged.lock().unwrap().len();
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    for l in load {
        l.join().unwrap();
    }
    drop(node);
    let all: HashSet<String> = acknowledged.lock().unwrap().clone();
    assert!(
        all.len() > during && during >= before.len(),
        "the answering did not go on around the backup ({} before, {during} when it ended, {} in all)",
        before.len(),
        all.len()
    );

    let restored_url = restore();
    ok(&naervaer(&restored_url, &["migrate"]), "naervaer migrate");
    let mut r = db::connect(&restored_url).unwrap();
    let kept = responded(&mut r, &round.id);
    let lost: Vec<&String> = before.difference(&kept).collect();
    assert!(
        lost.is_empty(),
        "acknowledged answers not in the backup: {lost:?}"
    );
    let unknown: Vec<&String> = kept.difference(&all).collect();
    assert!(
        unknown.is_empty(),
        "answers in the backup nobody gave: {unknown:?}"
    );
    assert_eq!(
        stored(&mut r, &round.id),
        kept.len(),
        "answers and invitations disagree"
    );
    assert!(kept.len() < ids.len());

    // The restored database serves.
    let node = Node::start(&restored_url, &sink, "200");
    assert_eq!(http(node.addr, "GET", "/healthz", "").status, 200);
    let answered = kept.iter().next().unwrap();
    let fresh = ids.iter().find(|i| !all.contains(*i)).unwrap();
    let cookie = |inv: &str| format!("naervaer_svar={}", key().survey_token(inv));
    assert_ne!(
        submit(node.addr, &cookie(answered), &complete_form(&surveys, 0)),
        Some(303),
        "a restored answer was accepted a second time"
    );
    assert_eq!(
        submit(node.addr, &cookie(fresh), &complete_form(&surveys, 0)),
        Some(303),
        "the restored database does not take new answers"
    );
    assert_eq!(responded(&mut r, &round.id).len(), kept.len() + 1);
}

#[test]
fn sqlite_backup_during_answering_keeps_every_acknowledged_answer_and_the_restored_copy_serves() {
    let t = TestDb::new(Backend::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("naervaer-backup.db");
    let restored = format!("sqlite://{}", dir.path().join("restored.db").display());
    backup_under_load(
        &t,
        || {
            let out = ok(
                &naervaer(&t.url, &["backup", file.to_str().unwrap()]),
                "naervaer backup",
            );
            assert!(out.contains("Sikkerhetskopi skrevet til"), "{out}");
        },
        || {
            let out = ok(
                &naervaer(&restored, &["restore", file.to_str().unwrap()]),
                "naervaer restore",
            );
            assert!(out.contains("Gjenopprettet fra"), "{out}");
            restored.clone()
        },
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "a backup readable by others: {mode:o}");
    }
}

#[test]
fn postgresql_dump_during_answering_keeps_every_acknowledged_answer_and_the_restored_copy_serves() {
    let t = TestDb::new(Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("naervaer.dump");
    backup_under_load(
        &t,
        || {
            // README's command, as an IT department would run it.
            let out = support::pg_client("pg_dump")
                .args(["--format=custom", "--file"])
                .arg(&file)
                .arg(&t.url)
                .output()
                .unwrap();
            ok(&out, "pg_dump");
        },
        || {
            let url = support::postgres().empty_database();
            let out = support::pg_client("pg_restore")
                .args(["--no-owner", "--exit-on-error", "--dbname", &url])
                .arg(&file)
                .output()
                .unwrap();
            ok(&out, "pg_restore");
            url
        },
    );
    // naervaer's own commands point to PostgreSQL's tools.
    for args in [
        vec!["backup", "x.db"],
        vec!["restore", file.to_str().unwrap()],
    ] {
        let out = naervaer(&t.url, &args);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("pg_dump") && err.contains("pg_restore"),
            "{err}"
        );
    }
}

fn dump_of(url: &str) -> String {
    support::dump(&mut db::connect(url).unwrap())
}

#[test]
fn restore_checks_the_file_and_replaces_a_database_with_data_only_when_forced() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let url = |name: &str| format!("sqlite://{}", path(name).display());
    let s = |p: &Path| p.to_str().unwrap().to_string();

    // Two different municipalities.
    let a = TestDb::new(Backend::Sqlite);
    naervaer::demo::seed(&mut a.conn()).unwrap();
    let b = TestDb::new(Backend::Sqlite);
    organisation(&mut b.conn(), 20);
    ok(
        &naervaer(&a.url, &["backup", &s(&path("a.db"))]),
        "backup a",
    );
    let a_dump = dump_of(&a.url);
    let b_dump = dump_of(&b.url);
    assert_eq!(
        dump_of(&url("a.db")),
        a_dump,
        "the backup differs from its database"
    );

    // A second backup to the same file is refused; the first stays whole.
    let again = naervaer(&a.url, &["backup", &s(&path("a.db"))]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("finnes allerede"));
    assert_eq!(dump_of(&url("a.db")), a_dump);

    // A database with data is not overwritten without --force.
    let refused = naervaer(&b.url, &["restore", &s(&path("a.db"))]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("har data") && err.contains("--force"), "{err}");
    assert_eq!(
        dump_of(&b.url),
        b_dump,
        "a refused restore changed the database"
    );

    // Files that are not backups: a clear error, the database as it was.
    std::fs::write(path("garbage.db"), "employee_id;name\n1;Kari\n").unwrap();
    let foreign = path("foreign.db");
    sqlite_exec(
        &foreign,
        "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('hei');",
    );
    for (file, says) in [
        (path("garbage.db"), "er ikke en sikkerhetskopi fra naervaer"),
        (foreign.clone(), "er ikke en sikkerhetskopi fra naervaer"),
        (path("missing.db"), "finnes ikke"),
    ] {
        let out = naervaer(&b.url, &["restore", &s(&file), "--force"]);
        assert!(!out.status.success(), "{} was restored", file.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
        assert_eq!(
            dump_of(&b.url),
            b_dump,
            "a failed restore changed the database"
        );
    }
    assert!(
        !path("missing.db").exists(),
        "restore created the file it was to read"
    );

    // A backup from a newer naervaer (a migration this one does not know).
    std::fs::copy(path("a.db"), path("newer.db")).unwrap();
    sqlite_exec(
        &path("newer.db"),
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000000');",
    );
    let out = naervaer(&b.url, &["restore", &s(&path("newer.db")), "--force"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nyere naervaer"));
    assert_eq!(dump_of(&b.url), b_dump);

    // With --force the database becomes the backup, and its old
    // write-ahead log does not come back.
    ok(
        &naervaer(&b.url, &["restore", &s(&path("a.db")), "--force"]),
        "restore --force",
    );
    assert_eq!(dump_of(&b.url), a_dump);
    // An empty (freshly migrated) database needs no --force.
    let empty = TestDb::new(Backend::Sqlite);
    ok(
        &naervaer(&empty.url, &["restore", &s(&path("a.db"))]),
        "restore into empty",
    );
    assert_eq!(dump_of(&empty.url), a_dump);
}

/// Runs SQL on a SQLite file directly, as someone with the file would.
fn sqlite_exec(file: &Path, sql: &str) {
    use diesel::connection::SimpleConnection;
    diesel::sqlite::SqliteConnection::establish(file.to_str().unwrap())
        .unwrap()
        .batch_execute(sql)
        .unwrap();
}
