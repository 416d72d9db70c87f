//! Crash tests: `kill -9` at random moments while a node answers under load
//! and sends e-mail, while an import runs and while a round closes; after
//! each kill a check, then a restart. Nothing acknowledged may be lost,
//! nothing half-applied may remain, and the outbox must resume.
//!
//! The suite runs a few cycles per backend; the long run is
//!
//!     NAERVAER_CRASH_CYCLES=100 cargo test --test it crash -- --nocapture
//!
//! (`NAERVAER_CRASH_WORKERS=16` sends with the default 16 threads.)

use crate::mail::SmtpSink;
use crate::nodes::Node;
use crate::rounds::{invitation_ids, new_round};
use crate::support::{key, naervaer_bin, TestDb, TEST_KEY};
use diesel::dsl::count_star;
use diesel::prelude::*;
use naervaer::bench::complete_form;
use naervaer::db::schema::{employees, invitations, outbox, responses, rounds, snapshots};
use naervaer::db::DbConnection;
use naervaer::import::Kind;
use naervaer::rounds::{self as r, answer, Round};
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PEOPLE: usize = 1000;
/// Sending threads of the killed nodes: few, so that the bound on what a
/// kill sends twice (two per thread) is tight.
/// Sending threads of the node (`NAERVAER_CRASH_WORKERS`, default 4).
fn workers() -> usize {
    std::env::var("NAERVAER_CRASH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
}
const UNITS: [&str; 4] = ["1000", "1100", "1110", "1200"];

fn cycles(default: usize) -> usize {
    std::env::var("NAERVAER_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The employees file, every name marked with `version`: after any crash
/// the names must all carry one version, never a mix.
fn employees_file(version: usize) -> String {
    let mut text = String::from("employee_id;name;email;unit_code;leader_of;roles;language\n");
    for i in 0..PEOPLE {
        let lang = ["nb", "nn", "en"][i % 3];
        text += &format!(
            "{i};Person {i} v{version};person{i}@test.no;{};;;{lang}\n",
            UNITS[i % 4]
        );
    }
    text
}

/// One POST of a complete questionnaire; `None` when the node is gone.
pub fn submit(addr: SocketAddr, cookie: &str, body: &str) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "POST /svar HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split(' ').nth(1)?.parse().ok()
}

fn cli(db_url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(naervaer_bin());
    cmd.args(args)
        .env("NAERVAER_DATABASE_URL", db_url)
        .env("NAERVAER_SECRET_KEY", TEST_KEY)
        .env("NAERVAER_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn kill(child: &mut Child) -> bool {
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    running
}

/// Waits until no other client of the database is in a statement or a
/// transaction. On PostgreSQL a killed client's server process goes on
/// with what it was sent before the kill — a batch of answers, or a
/// `COMMIT` — and ends when it next reads the closed socket: what the
/// checks read must be what is left once they have ended, not a moment
/// in between (answers counted before such a commit and invitations
/// after it disagree). SQLite has no such process.
fn settle(c: &mut DbConnection) {
    #[derive(QueryableByName)]
    struct Busy {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let DbConnection::Pg(pg) = c else { return };
    let deadline = Instant::now() + Duration::from_secs(30);
    // Twice in a row: a message sent before the kill may still be on its
    // way to a waiting process.
    let mut quiet = 0;
    loop {
        let busy = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND backend_type = 'client backend' \
             AND state IS DISTINCT FROM 'idle'",
        )
        .get_result::<Busy>(pg)
        .unwrap()
        .n;
        quiet = if busy == 0 { quiet + 1 } else { 0 };
        if quiet == 2 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{busy} server processes of killed clients still busy after 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The version all names carry; panics on a mix (a half-applied import).
fn names_version(c: &mut DbConnection) -> usize {
    let names: Vec<String> = employees::table.select(employees::name).load(c).unwrap();
    let versions: HashSet<&str> = names
        .iter()
        .map(|n| n.rsplit(" v").next().unwrap())
        .collect();
    assert_eq!(versions.len(), 1, "a half-applied import: {versions:?}");
    versions.into_iter().next().unwrap().parse().unwrap()
}

fn crash_cycles(t: TestDb, n: usize) {
    let mut c = t.conn();
    crate::import_text(&mut c, Kind::Units, crate::UNITS, false).unwrap();
    crate::import_text(&mut c, Kind::Employees, &employees_file(0), false).unwrap();
    let main = new_round(&mut c, None);
    r::open(&mut c, &key(), &main.id).unwrap();
    let surveys = Round::find(&mut c, &main.id)
        .unwrap()
        .surveys(&mut c)
        .unwrap();
    let ids = invitation_ids(&mut c, &main.id);
    let sink = SmtpSink::start();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let acknowledged: Arc<Mutex<HashSet<String>>> = Arc::default();
    let (mut version, mut imports_cut, mut closes_cut, mut closed_rounds) = (0, 0, 0, 0);
    // Rounds waiting to be closed: answered directly, closed by a process
    // that may be killed.
    let mut closing: Option<naervaer::ids::RoundId> = None;

    for cycle in 1..=n {
        if closing.is_none() {
            let round = new_round(&mut c, None);
            // Rounds are closed on the command line while the main round
            // stays open; only its answers matter here.
            r::open(&mut c, &key(), &round.id).unwrap();
            let s = Round::find(&mut c, &round.id)
                .unwrap()
                .surveys(&mut c)
                .unwrap();
            for inv in invitation_ids(&mut c, &round.id).iter().take(40) {
                let mut a = answer::Answers::default();
                for sv in s.iter() {
                    for item in &sv.items {
                        a.items.insert(answer::item_field(sv, &item.key), 3);
                    }
                }
                let hash = naervaer::crypto::lookup_hash(&key().survey_token(inv));
                answer::submit(&mut c, &hash, &s, &a).unwrap();
            }
            closing = Some(round.id);
        }
        let node = Node::start_with_workers(&t.url, &sink, "400", &workers().to_string());
        let addr = node.addr;
        let stop = Arc::new(AtomicBool::new(false));
        let load: Vec<_> = (0..8)
            .map(|w| {
                let (stop, acknowledged, surveys) =
                    (stop.clone(), acknowledged.clone(), surveys.clone());
                let mine: Vec<String> = ids.iter().skip(w).step_by(8).cloned().collect();
                let start = rng.gen_range(0..mine.len());
                std::thread::spawn(move || {
                    for (i, inv) in mine.iter().cycle().skip(start).enumerate() {
                        if stop.load(Ordering::SeqCst) || i >= mine.len() {
                            break;
                        }
                        let cookie = format!("naervaer_svar={}", key().survey_token(inv));
                        match submit(addr, &cookie, &complete_form(&surveys, i)) {
                            Some(303) => {
                                acknowledged.lock().unwrap().insert(inv.clone());
                            }
                            Some(_) => {}
                            None => break,
                        }
                    }
                })
            })
            .collect();
        version += 1;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("employees.csv");
        std::fs::write(&file, employees_file(version)).unwrap();
        let mut import = cli(&t.url, &["import", "employees", file.to_str().unwrap()])
            .spawn()
            .unwrap();
        let round_id = closing.clone().unwrap();
        let before_close: i64 = responses::table
            .filter(responses::round_id.eq(&round_id))
            .select(count_star())
            .first(&mut c)
            .unwrap();
        let mut close = cli(&t.url, &["round", "close", round_id.as_str()])
            .spawn()
            .unwrap();

        std::thread::sleep(Duration::from_millis(rng.gen_range(20..600)));
        let mut node = node;
        kill(&mut node.child);
        imports_cut += usize::from(kill(&mut import));
        closes_cut += usize::from(kill(&mut close));
        stop.store(true, Ordering::SeqCst);
        for l in load {
            l.join().unwrap();
        }
        drop(node);
        settle(&mut c);

        // No acknowledged answer lost, none stored twice or without its
        // invitation marked.
        let responded: HashSet<String> = invitations::table
            .filter(invitations::round_id.eq(&main.id))
            .filter(invitations::responded.eq(true))
            .select(invitations::id)
            .load::<String>(&mut c)
            .unwrap()
            .into_iter()
            .collect();
        let acked = acknowledged.lock().unwrap().clone();
        let lost: Vec<&String> = acked.difference(&responded).collect();
        assert!(
            lost.is_empty(),
            "cycle {cycle}: acknowledged answers lost: {lost:?}"
        );
        let stored: i64 = responses::table
            .filter(responses::round_id.eq(&main.id))
            .select(count_star())
            .first(&mut c)
            .unwrap();
        assert_eq!(
            stored as usize,
            responded.len(),
            "cycle {cycle}: answers and invitations disagree"
        );

        // The import applied wholly or not at all.
        let now = names_version(&mut c);
        assert!(
            now == version || now == version - 1,
            "cycle {cycle}: names at v{now}"
        );
        version = now;

        // The round closed wholly (with its snapshot) or not at all.
        let status: String = rounds::table
            .find(&round_id)
            .select(rounds::status)
            .first(&mut c)
            .unwrap();
        let frozen: i64 = snapshots::table
            .filter(snapshots::round_id.eq(&round_id))
            .select(count_star())
            .first(&mut c)
            .unwrap();
        let after_close: i64 = responses::table
            .filter(responses::round_id.eq(&round_id))
            .select(count_star())
            .first(&mut c)
            .unwrap();
        assert_eq!(
            after_close, before_close,
            "cycle {cycle}: closing lost or added answers"
        );
        match status.as_str() {
            "open" => assert_eq!(frozen, 0, "cycle {cycle}: an open round with a snapshot"),
            "closed" => {
                assert_eq!(
                    frozen, 1,
                    "cycle {cycle}: a closed round without its snapshot"
                );
                closed_rounds += 1;
                closing = None;
            }
            other => panic!("cycle {cycle}: round {other}"),
        }
    }

    // The outbox resumes: a last node sends everything still due.
    let node = Node::start(&t.url, &sink, "1000");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let unsent: i64 = outbox::table
            .filter(outbox::status.ne("sent"))
            .select(count_star())
            .first(&mut c)
            .unwrap();
        if unsent == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{unsent} e-mails never sent after the crashes"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(node);
    let queued: HashSet<String> = outbox::table
        .select(outbox::id)
        .load::<String>(&mut c)
        .unwrap()
        .into_iter()
        .collect();
    let msgs = sink.messages();
    // A Message-ID is <outbox row id@the sender's domain>.
    let arrived: HashSet<&str> = msgs
        .iter()
        .map(|m| {
            let id = m.header("message-id");
            id.trim_start_matches('<').split('@').next().unwrap_or(id)
        })
        .collect();
    // Closed rounds' outbox rows are gone with their invitations; every row
    // still there arrived (a message's Message-ID is its outbox row's id).
    let missing: Vec<&String> = queued
        .iter()
        .filter(|id| !arrived.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} queued e-mails never arrived",
        missing.len()
    );
    // Each acceptance is recorded before its connection sends the next
    // message's body, so a kill repeats at most one per sending thread.
    let twice = msgs.len() - arrived.len();
    assert!(
        twice <= n * workers(),
        "{twice} messages sent twice in {n} kills: more than one per sending thread ({}) per kill",
        workers()
    );
    // A run whose kills all came before or after the work proves nothing.
    assert!(
        imports_cut + closes_cut > 0,
        "no import or closing was killed mid-run in {n} cycles"
    );
    eprintln!(
        "{} — {n} crash cycles: {} answers acknowledged, all kept; {imports_cut} imports and {closes_cut} \
         closings killed mid-run, none half-applied; {closed_rounds} rounds closed; {} e-mails queued, \
         {} distinct messages arrived (closed rounds' included), {} sent twice (in flight at a kill; {:.1} per kill)",
        t.url.split(':').next().unwrap(),
        acknowledged.lock().unwrap().len(),
        queued.len(),
        arrived.len(),
        twice,
        twice as f64 / n as f64
    );
}

crate::both_backends! {
    fn kill_9_during_answering_sending_importing_and_closing_loses_nothing(t) {
        crash_cycles(t, cycles(6));
    }
}
