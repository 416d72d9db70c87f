//! Rounds and the anonymity rules of ANONYMITY.md §1–§2, on both backends.

use crate::both_backends;
use crate::support::{key, TestDb};
use diesel::prelude::*;
use naervaer::crypto::lookup_hash;
use naervaer::db::schema::{
    daily_counts, invitation_counts, invitations, outbox, responses, results_batches, round_surveys,
};
use naervaer::db::DbConnection;
use naervaer::demo;
use naervaer::rounds::answer::{self, Answers, Submitted};
use naervaer::rounds::{self, NewRound, Round};

pub fn new_round(conn: &mut DbConnection, unit: Option<&str>) -> Round {
    let today = rounds::today();
    rounds::create(
        conn,
        5,
        NewRound {
            title: "Testrunde".into(),
            surveys: vec![demo::SURVEY_10_FAKTOR.into(), demo::SURVEY_MODULE.into()],
            unit_code: unit.map(str::to_string),
            opens_on: today,
            closes_on: today + chrono::Duration::days(7),
            min_group_size: 5,
            delivery: naervaer::rounds::Delivery::Email,
        },
    )
    .unwrap()
}

/// The demo organisation with one open round; returns the round.
pub fn open_demo_round(t: &TestDb) -> (DbConnection, Round) {
    let mut c = t.conn();
    demo::seed(&mut c).unwrap();
    let round = new_round(&mut c, None);
    rounds::open(&mut c, &key(), &round.id).unwrap();
    let round = Round::find(&mut c, &round.id).unwrap();
    (c, round)
}

pub fn invitation_ids(c: &mut DbConnection, round: &str) -> Vec<String> {
    invitations::table
        .filter(invitations::round_id.eq(round))
        .order(invitations::id)
        .select(invitations::id)
        .load(c)
        .unwrap()
}

/// Answers that encode `n`, so a test can tell responses apart.
pub fn numbered_answers(surveys: &[naervaer::survey::Survey], n: usize) -> Answers {
    let mut a = Answers::default();
    let s = &surveys[0];
    let mut x = n;
    for item in s.items.iter().take(6) {
        a.items
            .insert(answer::item_field(s, &item.key), (x % 5) as u8 + 1);
        x /= 5;
    }
    a
}

fn submit(
    c: &mut DbConnection,
    inv: &str,
    surveys: &[naervaer::survey::Survey],
    a: &Answers,
) -> Submitted {
    answer::submit(c, &lookup_hash(&key().survey_token(inv)), surveys, a).unwrap()
}

/// Everything the answering tables hold, as text.
fn answering_state(c: &mut DbConnection) -> String {
    let r: Vec<(String, String, Option<String>, String, String)> = responses::table
        .order(responses::id)
        .select((
            responses::id,
            responses::round_id,
            responses::unit_id,
            responses::answers,
            responses::background,
        ))
        .load(c)
        .unwrap();
    let i: Vec<(String, bool, i32)> = invitations::table
        .order(invitations::id)
        .select((
            invitations::id,
            invitations::responded,
            invitations::reminders_sent,
        ))
        .load(c)
        .unwrap();
    let d: Vec<(String, String, i32)> = daily_counts::table
        .order((daily_counts::unit_id, daily_counts::day))
        .select((
            daily_counts::unit_id,
            daily_counts::day,
            daily_counts::responses,
        ))
        .load(c)
        .unwrap();
    let o: i64 = outbox::table.count().get_result(c).unwrap();
    format!("{r:?}\n{i:?}\n{d:?}\noutbox={o}")
}

#[derive(QueryableByName, Debug)]
struct Col {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

fn response_columns(c: &mut DbConnection, t: &TestDb) -> Vec<String> {
    let sql = match t.backend {
        crate::support::Backend::Sqlite => "SELECT name FROM pragma_table_info('responses') ORDER BY name",
        crate::support::Backend::Postgres => {
            "SELECT CAST(column_name AS TEXT) AS name FROM information_schema.columns WHERE table_name = 'responses' ORDER BY column_name"
        }
    };
    diesel::sql_query(sql)
        .load::<Col>(c)
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect()
}

#[derive(QueryableByName)]
struct FileNode {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    node: i64,
}

both_backends! {
    fn closing_leaves_no_trace_of_the_old_rows_in_the_storage(t) {
        let (mut c, round) = open_demo_round(&t);
        let surveys = round.surveys(&mut c).unwrap();
        for (i, inv) in invitation_ids(&mut c, &round.id).iter().take(40).enumerate() {
            submit(&mut c, inv, &surveys, &numbered_answers(&surveys, i));
        }
        let old_ids: Vec<String> = responses::table.select(responses::id).load(&mut c).unwrap();
        let filenode = |c: &mut DbConnection| {
            diesel::sql_query("SELECT CAST(pg_relation_filenode('responses') AS BIGINT) AS node").get_result::<FileNode>(c).unwrap().node
        };
        let before = (t.backend == crate::support::Backend::Postgres).then(|| filenode(&mut c));
        rounds::close(&mut c, &round.id, true).unwrap();
        match t.backend {
            crate::support::Backend::Sqlite => {
                // Deleted rows would linger in free space unless overwritten.
                let bytes = t.sqlite_bytes().unwrap();
                let text = String::from_utf8_lossy(&bytes);
                for id in &old_ids {
                    assert!(!text.contains(id.as_str()), "an old response id is still in the database file");
                }
            }
            crate::support::Backend::Postgres => {
                assert_ne!(Some(filenode(&mut c)), before, "the responses table was not rewritten");
            }
        }
    }

    fn a_round_closes_itself_after_its_closing_day_and_retention_reduces_later(t) {
        let mut c = t.conn();
        demo::seed(&mut c).unwrap();
        let today = rounds::today();
        let round = rounds::create(&mut c, 5, NewRound {
            title: "Gammel".into(),
            surveys: vec![demo::SURVEY_10_FAKTOR.into()],
            unit_code: Some("1400".into()),
            opens_on: today - chrono::Duration::days(10),
            closes_on: today - chrono::Duration::days(1),
            min_group_size: 5,
            delivery: naervaer::rounds::Delivery::Email,
        }).unwrap();
        rounds::open(&mut c, &key(), &round.id).unwrap();
        let current = new_round(&mut c, Some("1300"));
        rounds::open(&mut c, &key(), &current.id).unwrap();
        // Past its closing day the round takes no answers, and the
        // background duty closes it; the current round stays open.
        let surveys = round.surveys(&mut c).unwrap();
        let inv = invitation_ids(&mut c, &round.id).remove(0);
        assert_eq!(submit(&mut c, &inv, &surveys, &numbered_answers(&surveys, 0)), Submitted::RoundClosed);
        assert_eq!(rounds::close_expired(&mut c, false).unwrap(), vec![round.id.clone()]);
        assert_eq!(Round::find(&mut c, &round.id).unwrap().status, "closed");
        assert_eq!(Round::find(&mut c, &current.id).unwrap().status, "open");
        // With a retention period the invitations stay until it has passed.
        assert_eq!(rounds::reduce_expired(&mut c, 30).unwrap(), 0);
        assert!(!invitation_ids(&mut c, &round.id).is_empty());
        assert_eq!(rounds::reduce_expired(&mut c, 0).unwrap(), 1);
        assert!(invitation_ids(&mut c, &round.id).is_empty());
        assert!(!invitation_ids(&mut c, &current.id).is_empty(), "an open round keeps its invitations");
    }

    fn paper_letters_go_to_those_without_email_grouped_by_unit(t) {
        let (mut c, round) = open_demo_round(&t);
        let letters = rounds::letters(&mut c, &key(), &round.id, false).unwrap();
        let paper: i64 = invitations::table
            .filter(invitations::round_id.eq(&round.id))
            .filter(invitations::channel.eq("paper"))
            .count()
            .get_result(&mut c)
            .unwrap();
        assert_eq!(letters.len() as i64, paper);
        assert!(paper > 0);
        let units: Vec<&str> = letters.iter().map(|l| l.unit.as_str()).collect();
        let mut sorted = units.clone();
        sorted.sort();
        assert_eq!(units, sorted, "grouped by unit");
        assert!(letters.iter().all(|l| naervaer::crypto::normalise_code(&l.code).as_deref() == Some(l.code.as_str())));
        let everyone = rounds::letters(&mut c, &key(), &round.id, true).unwrap();
        assert_eq!(everyone.len(), invitation_ids(&mut c, &round.id).len());
        let html = naervaer::web::views::letters::letters(&round.title, "https://k.no", round.closes_on_date(), "HR", &letters).into_string();
        assert_eq!(html.matches("class=\"letter\"").count(), letters.len(), "one printable page per person");
        assert!(html.contains("https://k.no/kode"));
    }

    fn opening_invites_every_active_employee_in_scope_and_stores_only_token_hashes(t) {
        let mut c = t.conn();
        demo::seed(&mut c).unwrap();
        // Helse og mestring (1100) and everything below it.
        let round = new_round(&mut c, Some("1100"));
        let summary = rounds::open(&mut c, &key(), &round.id).unwrap();
        let expected: usize = demo::UNITS.iter().filter(|u| u.0.starts_with("11")).map(|u| u.3).sum();
        assert_eq!(summary.invited, expected);
        let ids = invitation_ids(&mut c, &round.id);
        assert_eq!(ids.len(), expected);
        let mailed: i64 = outbox::table.filter(outbox::round_id.eq(&round.id)).count().get_result(&mut c).unwrap();
        assert_eq!(mailed as usize, summary.by_email);
        assert_eq!(summary.by_email + summary.on_paper, expected);
        // Only hashes are stored: no column of any invitation or outbox row
        // holds a token or code.
        let dump = format!("{:?}{:?}",
            invitations::table.select(rounds::Invitation::as_select()).load(&mut c).unwrap(),
            outbox::table.select((outbox::id, outbox::recipient, outbox::invitation_id)).load::<(String, String, Option<String>)>(&mut c).unwrap());
        for id in &ids {
            let token = key().survey_token(id);
            let code = key().paper_code(id);
            assert!(!dump.contains(&token) && !dump.contains(&code), "a token or code is stored");
            assert!(dump.contains(&lookup_hash(&token)));
        }
        // Opening twice is refused.
        assert!(rounds::open(&mut c, &key(), &round.id).is_err());
    }

    fn a_round_stores_the_exact_questionnaire_files_and_their_hashes(t) {
        let mut c = t.conn();
        demo::seed(&mut c).unwrap();
        let round = new_round(&mut c, None);
        let stored: Vec<(String, String)> = round_surveys::table
            .filter(round_surveys::round_id.eq(&round.id))
            .order(round_surveys::position)
            .select((round_surveys::content, round_surveys::sha256))
            .load(&mut c)
            .unwrap();
        assert_eq!(stored[0].0, demo::SURVEY_10_FAKTOR);
        assert_eq!(stored[1].0, demo::SURVEY_MODULE);
        use sha2::Digest;
        assert_eq!(stored[0].1, hex::encode(sha2::Sha256::digest(demo::SURVEY_10_FAKTOR.as_bytes())));
        assert_eq!(round.surveys(&mut c).unwrap()[1].id, "naervaer-modul");
    }

    fn a_round_with_k_below_the_installation_or_backwards_dates_is_refused(t) {
        let mut c = t.conn();
        let today = rounds::today();
        let mk = |k: u32, closes: i64| NewRound {
            title: "x".into(),
            surveys: vec![demo::SURVEY_10_FAKTOR.into()],
            unit_code: None,
            opens_on: today,
            closes_on: today + chrono::Duration::days(closes),
            min_group_size: k,
            delivery: naervaer::rounds::Delivery::Email,
        };
        let e = rounds::create(&mut c, 5, mk(4, 7)).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.render(naervaer::lang::Lang::Nb).contains("kan ikke være lavere enn 5"), "{e}");
        assert!(e.to_string().contains("cannot be below 5, the limit for the whole installation"), "{e}");
        let e = rounds::create(&mut c, 5, mk(5, -1)).unwrap_err();
        assert!(e.render(naervaer::lang::Lang::Nn).contains("kjem før opningsdagen"), "{e}");
        assert!(Round::all(&mut c).unwrap().is_empty());
    }

    fn a_response_holds_nothing_that_links_it_to_a_person_and_is_reordered_at_close(t) {
        let (mut c, round) = open_demo_round(&t);
        assert_eq!(response_columns(&mut c, &t), ["answers", "background", "id", "round_id", "unit_id"],
            "a response may hold only the round, the unit, the answers and a random id");
        let surveys = round.surveys(&mut c).unwrap();
        let ids = invitation_ids(&mut c, &round.id);
        let n = 60;
        let mut submitted_ids = Vec::new();
        for (i, inv) in ids.iter().take(n).enumerate() {
            assert_eq!(submit(&mut c, inv, &surveys, &numbered_answers(&surveys, i)), Submitted::Stored);
            submitted_ids.push(inv.clone());
        }
        let rows: Vec<(String, String, String)> = responses::table
            .select((responses::id, responses::answers, responses::background))
            .load(&mut c)
            .unwrap();
        assert_eq!(rows.len(), n);
        let all_text = format!("{rows:?}");
        for inv in &submitted_ids {
            let token = key().survey_token(inv);
            for secret in [inv.clone(), token.clone(), lookup_hash(&token)] {
                assert!(!all_text.contains(&secret), "a response holds invitation or token material");
            }
        }
        // Ids are random 128-bit hex, not a sequence.
        let mut ids_sorted: Vec<&String> = rows.iter().map(|r| &r.0).collect();
        assert!(ids_sorted.iter().all(|id| id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())));
        ids_sorted.dedup();
        assert_eq!(ids_sorted.len(), n);
        assert!(!all_text.contains(&rounds::today().to_string()), "a response holds a date");

        let stored_order = |c: &mut DbConnection| -> Vec<String> {
            // Physical order: no ORDER BY.
            diesel::sql_query("SELECT answers AS name FROM responses").load::<Col>(c).unwrap().into_iter().map(|r| r.name).collect()
        };
        let submission_order: Vec<String> = (0..n)
            .map(|i| answer::stored_texts(&surveys, &numbered_answers(&surveys, i)).0)
            .collect();
        let before_ids: std::collections::HashSet<String> = rows.iter().map(|r| r.0.clone()).collect();
        let emailed: i64 = invitations::table
            .filter(invitations::channel.eq("email"))
            .count()
            .get_result(&mut c)
            .unwrap();
        rounds::close(&mut c, &round.id, true).unwrap();
        let after = stored_order(&mut c);
        assert_eq!(after.len(), n);
        assert_ne!(after, submission_order, "after close, the stored order must not be the order of answering");
        let mut a = after.clone();
        a.sort();
        let mut b = submission_order.clone();
        b.sort();
        assert_eq!(a, b, "closing keeps every response");
        let after_ids: Vec<String> = responses::table.select(responses::id).load(&mut c).unwrap();
        assert!(after_ids.iter().all(|id| !before_ids.contains(id)), "closing gives every response a fresh id");

        // Reduced at close (retention 0): nothing records who answered.
        let left: i64 = invitations::table.count().get_result(&mut c).unwrap();
        assert_eq!(left, 0);
        let left: i64 = outbox::table.count().get_result(&mut c).unwrap();
        assert_eq!(left, 0, "outbox rows (who was invited or reminded) go with the invitations");
        // Everyone invited by e-mail is told the results are ready, whether
        // they answered or not: queued as one batch per group, which the
        // sender turns into messages.
        assert!(emailed > 0);
        let batched: Vec<i32> = results_batches::table
            .select(results_batches::recipient_count)
            .load(&mut c)
            .unwrap();
        assert_eq!(batched.iter().map(|&n| i64::from(n)).sum::<i64>(), emailed);
        let expanded = naervaer::mail::outbox::expand_results(&mut c, i64::MAX).unwrap();
        assert_eq!(expanded as i64, emailed);
        let left: Vec<(String, Option<String>)> = outbox::table
            .select((outbox::kind, outbox::invitation_id))
            .load(&mut c)
            .unwrap();
        assert!(left.iter().all(|(kind, inv)| kind == "results" && inv.is_none()), "{left:?}");
        assert_eq!(left.len() as i64, emailed);
        let counts: Vec<(i32, i32)> = invitation_counts::table
            .select((invitation_counts::invited, invitation_counts::responded))
            .load(&mut c)
            .unwrap();
        assert_eq!(counts.iter().map(|c| c.0).sum::<i32>() as usize, ids.len());
        assert_eq!(counts.iter().map(|c| c.1).sum::<i32>() as usize, n);
        // Counts stay available to the administrator.
        let total: i32 = rounds::counts(&mut c, &round.id).unwrap().iter().map(|c| c.responded).sum();
        assert_eq!(total as usize, n);
    }

    fn the_responded_flag_and_the_response_are_written_together_or_not_at_all(t) {
        let (mut c, round) = open_demo_round(&t);
        let surveys = round.surveys(&mut c).unwrap();
        let inv = invitation_ids(&mut c, &round.id).remove(0);
        // Make the response insert fail inside the transaction: a unit id
        // that breaks the foreign key is not possible through the API, so
        // drop the daily counter table's row target instead by renaming it.
        let before = answering_state(&mut c);
        let sabotage = "ALTER TABLE daily_counts RENAME TO daily_counts_gone";
        diesel::sql_query(sabotage).execute(&mut c).unwrap();
        let r = answer::submit(&mut c, &lookup_hash(&key().survey_token(&inv)), &surveys, &numbered_answers(&surveys, 1));
        assert!(r.is_err(), "the submit should have failed");
        diesel::sql_query("ALTER TABLE daily_counts_gone RENAME TO daily_counts").execute(&mut c).unwrap();
        assert_eq!(answering_state(&mut c), before, "a failed submit left a response or a responded flag behind");
        assert_eq!(submit(&mut c, &inv, &surveys, &numbered_answers(&surveys, 1)), Submitted::Stored);
    }

    fn a_second_submission_with_the_same_token_changes_nothing(t) {
        let (mut c, round) = open_demo_round(&t);
        let surveys = round.surveys(&mut c).unwrap();
        let inv = invitation_ids(&mut c, &round.id).remove(0);
        assert_eq!(submit(&mut c, &inv, &surveys, &numbered_answers(&surveys, 1)), Submitted::Stored);
        let before = answering_state(&mut c);
        assert_eq!(submit(&mut c, &inv, &surveys, &numbered_answers(&surveys, 2)), Submitted::AlreadyAnswered);
        assert_eq!(answering_state(&mut c), before);
    }

    fn a_closed_round_refuses_answers_and_changes_nothing(t) {
        let (mut c, round) = open_demo_round(&t);
        let surveys = round.surveys(&mut c).unwrap();
        let ids = invitation_ids(&mut c, &round.id);
        rounds::close(&mut c, &round.id, false).unwrap();
        let before = answering_state(&mut c);
        assert_eq!(submit(&mut c, &ids[0], &surveys, &numbered_answers(&surveys, 1)), Submitted::RoundClosed);
        assert_eq!(answering_state(&mut c), before);
        assert!(rounds::close(&mut c, &round.id, false).is_err(), "closing twice is refused");
    }

    fn reminders_go_only_to_those_who_have_not_answered_within_limits(t) {
        let (mut c, round) = open_demo_round(&t);
        let surveys = round.surveys(&mut c).unwrap();
        let email_invs: Vec<String> = invitations::table
            .filter(invitations::round_id.eq(&round.id))
            .filter(invitations::channel.eq("email"))
            .order(invitations::id)
            .select(invitations::id)
            .load(&mut c)
            .unwrap();
        for inv in email_invs.iter().take(100) {
            submit(&mut c, inv, &surveys, &numbered_answers(&surveys, 3));
        }
        let expected = email_invs.len() - 100;
        assert_eq!(rounds::remind(&mut c, &round.id, 2, 3600).unwrap(), expected);
        assert_eq!(rounds::remind(&mut c, &round.id, 2, 3600).unwrap(), 0, "never more often than the interval");
        let reminded: Vec<String> = outbox::table
            .filter(outbox::kind.eq("reminder"))
            .select(outbox::invitation_id.assume_not_null())
            .load(&mut c)
            .unwrap();
        for inv in email_invs.iter().take(100) {
            assert!(!reminded.contains(inv), "someone who answered was reminded");
        }
        // With no interval, reminders stop at the maximum.
        assert_eq!(rounds::remind(&mut c, &round.id, 2, 0).unwrap(), expected);
        assert_eq!(rounds::remind(&mut c, &round.id, 2, 0).unwrap(), 0, "at most the configured number of reminders");
        let counts = rounds::counts(&mut c, &round.id).unwrap();
        assert_eq!(counts.iter().map(|c| c.reminded).sum::<i32>() as usize, expected);
        assert_eq!(counts.iter().map(|c| c.responded).sum::<i32>(), 100);
    }

    fn the_daily_counter_counts_answers_per_unit_without_touching_responses(t) {
        let (mut c, round) = open_demo_round(&t);
        let surveys = round.surveys(&mut c).unwrap();
        for inv in invitation_ids(&mut c, &round.id).iter().take(30) {
            submit(&mut c, inv, &surveys, &numbered_answers(&surveys, 0));
        }
        let daily = rounds::daily(&mut c, &round.id).unwrap();
        assert_eq!(daily.iter().map(|d| d.2).sum::<i32>(), 30);
        assert!(daily.iter().all(|d| d.1 == rounds::today().to_string()));
    }
}

both_backends! {
    fn group_commit_stores_each_answer_once_and_a_bad_one_spoils_no_other(t) {
        let (mut c, round) = open_demo_round(&t);
        let surveys = std::sync::Arc::new(round.surveys(&mut c).unwrap().to_vec());
        let ids = invitation_ids(&mut c, &round.id);
        let commit = naervaer::rounds::commit::GroupCommit::start(t.pool());
        // 48 submitters at once: 300 answers, each of the first 60 sent
        // twice, and unknown tokens between them.
        let jobs: Vec<(String, usize)> = ids.iter().take(300).cloned().enumerate().map(|(i, id)| (id, i))
            .chain(ids.iter().take(60).cloned().enumerate().map(|(i, id)| (id, i)))
            .chain((0..20).map(|i| (format!("no-such-{i}"), i)))
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..48 {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some((inv, n)) = jobs.get(i) else { break };
                    let r = commit.submit(
                        lookup_hash(&key().survey_token(inv)),
                        surveys.clone(),
                        numbered_answers(&surveys, *n),
                    );
                    results.lock().unwrap().push((inv.clone(), r.map_err(|e| e.to_string())));
                });
            }
        });
        let results = results.into_inner().unwrap();
        let stored: Vec<&String> = results.iter().filter(|(_, r)| *r == Ok(Submitted::Stored)).map(|(i, _)| i).collect();
        let unique: std::collections::HashSet<&String> = stored.iter().copied().collect();
        assert_eq!(stored.len(), 300, "each invitation stored once");
        assert_eq!(unique.len(), 300);
        assert_eq!(results.iter().filter(|(_, r)| *r == Ok(Submitted::AlreadyAnswered)).count(), 60);
        assert_eq!(results.iter().filter(|(_, r)| *r == Err("not found".to_string())).count(), 20);
        let n: i64 = responses::table.count().get_result(&mut c).unwrap();
        assert_eq!(n, 300);
        let (commits, submissions) = commit.stats();
        assert_eq!(submissions, 380);
        eprintln!("group commit: {submissions} submissions in {commits} commits");
        assert!(commits < submissions, "answers arriving together share commits");
    }
}

both_backends! {
    fn answers_beyond_a_full_commit_queue_wait_for_room_and_are_all_stored(t) {
        use naervaer::rounds::commit::{GroupCommit, MAX_BATCH};
        let (mut c, round) = open_demo_round(&t);
        let surveys = std::sync::Arc::new(round.surveys(&mut c).unwrap().to_vec());
        let ids = invitation_ids(&mut c, &round.id);
        // The committer's first batch (up to MAX_BATCH) waits in the
        // database, 4 × MAX_BATCH fill the queue, the rest find it full.
        let n = 6 * MAX_BATCH;
        assert!(ids.len() >= n, "{} invitations", ids.len());
        let commit = GroupCommit::start(t.pool());
        // The test holds what every submission needs: SQLite's write lock,
        // PostgreSQL's responses table.
        let mut holder = t.conn();
        let hold = match &holder {
            DbConnection::Sqlite(_) => "BEGIN IMMEDIATE",
            DbConnection::Pg(_) => "BEGIN; LOCK TABLE responses IN EXCLUSIVE MODE",
        };
        diesel::connection::SimpleConnection::batch_execute(&mut holder, hold).unwrap();
        let results = actix_web::rt::System::new().block_on(async {
            let waiting: Vec<_> = ids
                .iter()
                .take(n)
                .enumerate()
                .map(|(i, id)| {
                    let (commit, surveys) = (commit.clone(), surveys.clone());
                    let token = lookup_hash(&key().survey_token(id));
                    let answers = numbered_answers(&surveys, i);
                    actix_web::rt::spawn(async move {
                        commit.submit_async(token, surveys, answers).await.map_err(|e| e.to_string())
                    })
                })
                .collect();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(4);
            while commit.waited_for_room() == 0 {
                assert!(std::time::Instant::now() < deadline, "the queue never filled");
                actix_web::rt::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            diesel::connection::SimpleConnection::batch_execute(&mut holder, "COMMIT").unwrap();
            let mut results = Vec::new();
            for w in waiting {
                results.push(w.await.unwrap());
            }
            results
        });
        assert!(results.iter().all(|r| *r == Ok(Submitted::Stored)), "{:?}", results.iter().find(|r| r.is_err()));
        let stored: i64 = responses::table.count().get_result(&mut c).unwrap();
        assert_eq!(stored, n as i64);
        let waited = commit.waited_for_room();
        assert!(waited > 0 && waited < n, "{waited} of {n} waited for room");
        assert_eq!(commit.stats().1, n);
    }
}

/// On PostgreSQL a batch of submissions is one statement
/// (`submit_batch_pg`); the same submissions through the general path (a
/// savepoint each in one transaction, then the day's counters) give the
/// same outcomes, rows and counters: the same link twice in one batch, an
/// unknown link, a link of a round past its closing day.
#[test]
fn one_statement_batch_on_postgres_answers_as_the_general_path() {
    use naervaer::db::schema::invitations::dsl as inv;
    let t = TestDb::new(crate::support::Backend::Postgres);
    let mut c = t.conn();
    demo::seed(&mut c).unwrap();
    let today = rounds::today();
    let past = rounds::create(
        &mut c,
        5,
        NewRound {
            title: "Gammel".into(),
            surveys: vec![demo::SURVEY_10_FAKTOR.into(), demo::SURVEY_MODULE.into()],
            unit_code: None,
            opens_on: today - chrono::Duration::days(10),
            closes_on: today - chrono::Duration::days(1),
            min_group_size: 5,
            delivery: naervaer::rounds::Delivery::Email,
        },
    )
    .unwrap();
    rounds::open(&mut c, &key(), &past.id).unwrap();
    let (a, b) = (new_round(&mut c, None), new_round(&mut c, None));
    rounds::open(&mut c, &key(), &a.id).unwrap();
    rounds::open(&mut c, &key(), &b.id).unwrap();
    let a = Round::find(&mut c, &a.id).unwrap();
    let surveys = a.surveys(&mut c).unwrap();
    let people: Vec<String> = inv::invitations
        .filter(inv::round_id.eq(&a.id))
        .order(inv::employee_id)
        .select(inv::employee_id)
        .limit(3)
        .load(&mut c)
        .unwrap();
    let invitation = |c: &mut DbConnection, round: &str, person: &str| -> String {
        let id: String = inv::invitations
            .filter(inv::round_id.eq(round))
            .filter(inv::employee_id.eq(person))
            .select(inv::id)
            .get_result(c)
            .unwrap();
        lookup_hash(&key().survey_token(&id))
    };
    // (person or None for an unknown link, round, answers)
    let plan = |round: &str| -> Vec<String> {
        let mut c = t.conn();
        vec![
            invitation(&mut c, round, &people[0]),
            invitation(&mut c, round, &people[0]),
            invitation(&mut c, round, &people[1]),
            lookup_hash("no-such-link"),
            invitation(
                &mut c,
                &past.id,
                &people[if round == a.id.as_str() { 1 } else { 2 }],
            ),
            invitation(&mut c, round, &people[2]),
        ]
    };
    let answers: Vec<Answers> = (0..6).map(|n| numbered_answers(&surveys, n + 7)).collect();
    let show =
        |r: Result<Submitted, naervaer::AppError>| format!("{:?}", r.map_err(|e| e.to_string()));
    let DbConnection::Pg(pg) = &mut c else {
        panic!("a PostgreSQL connection")
    };
    let hashes = plan(&a.id);
    let batch: Vec<(&str, &[naervaer::survey::Survey], &Answers)> = hashes
        .iter()
        .zip(&answers)
        .map(|(h, x)| (h.as_str(), surveys.as_slice(), x))
        .collect();
    let one_statement: Vec<String> = answer::submit_batch_pg(pg, &batch)
        .unwrap()
        .into_iter()
        .map(show)
        .collect();
    let hashes = plan(&b.id);
    let general: Vec<String> = naervaer::db::write_transaction(&mut c, |c| {
        let mut counts: std::collections::BTreeMap<(naervaer::ids::RoundId, String), i32> =
            Default::default();
        let out: Vec<String> = hashes
            .iter()
            .zip(&answers)
            .map(|(h, x)| {
                show(
                    answer::submit_uncounted(c, h, &surveys, x).map(|(outcome, counted)| {
                        if let Some(key) = counted {
                            *counts.entry(key).or_default() += 1;
                        }
                        outcome
                    }),
                )
            })
            .collect();
        answer::count_answers(c, &counts.into_iter().collect::<Vec<_>>())?;
        Ok::<_, naervaer::AppError>(out)
    })
    .unwrap();
    assert_eq!(one_statement, general);
    assert_eq!(
        one_statement,
        [
            "Ok(Stored)",
            "Ok(AlreadyAnswered)",
            "Ok(Stored)",
            "Err(\"not found\")",
            "Ok(RoundClosed)",
            "Ok(Stored)"
        ]
    );
    let state = |c: &mut DbConnection, round: &str| {
        let mut rows = naervaer::snapshot::stored_rows(c, &round.into()).unwrap();
        rows.sort();
        let answered: Vec<String> = inv::invitations
            .filter(inv::round_id.eq(round))
            .filter(inv::responded.eq(true))
            .order(inv::employee_id)
            .select(inv::employee_id)
            .load(c)
            .unwrap();
        let counts: Vec<(String, String, i32)> = daily_counts::table
            .filter(daily_counts::round_id.eq(round))
            .order(daily_counts::unit_id)
            .select((
                daily_counts::unit_id,
                daily_counts::day,
                daily_counts::responses,
            ))
            .load(c)
            .unwrap();
        format!("{rows:?}\n{answered:?}\n{counts:?}")
    };
    let (sa, sb) = (state(&mut c, &a.id), state(&mut c, &b.id));
    assert_eq!(sa, sb);
    assert_eq!(
        responses::table
            .filter(responses::round_id.eq(&a.id))
            .count()
            .get_result::<i64>(&mut c)
            .unwrap(),
        3
    );
    assert_eq!(state(&mut c, &past.id), "[]\n[]\n[]");
}

#[derive(QueryableByName)]
struct Estimate {
    #[diesel(sql_type = diesel::sql_types::Double)]
    rows: f64,
}

/// A round's invitations arrive by the tens of thousands at once; the
/// planner must know of them before autovacuum next samples the table, or a
/// close soon after joins them row by row.
#[test]
fn after_a_round_opens_postgresql_knows_how_many_invitations_there_are() {
    let t = TestDb::new(crate::support::Backend::Postgres);
    let (mut c, round) = open_demo_round(&t);
    let invited = invitation_ids(&mut c, &round.id).len() as f64;
    assert!(invited > 100.0, "{invited}");
    let estimate: Estimate = diesel::sql_query(
        "SELECT reltuples::float8 AS rows FROM pg_class WHERE relname = 'invitations'",
    )
    .get_result(&mut c)
    .unwrap();
    // Sampled, so not exact; before any ANALYZE it is -1.
    assert!(
        (estimate.rows - invited).abs() <= invited * 0.1,
        "the planner believes {} invitations, there are {invited}",
        estimate.rows
    );
}
