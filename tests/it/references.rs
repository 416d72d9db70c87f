//! References between the tables a close writes in bulk. On SQLite they
//! are foreign keys; on PostgreSQL set-based triggers do the same work
//! (migration 2026-12-03-000015). Either way a row never names a row that
//! is not there, in either direction, and concurrent writers cannot make
//! one.

use crate::both_backends;
use crate::rounds::{invitation_ids, new_round, open_demo_round};
use crate::support::{Backend, TestDb};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use naervaer::db::schema::{outbox, responses};
use naervaer::db::DbConnection;
use std::sync::mpsc;
use std::time::Duration;

fn exec(c: &mut DbConnection, sql: &str) -> QueryResult<usize> {
    diesel::sql_query(sql).execute(c)
}

/// The statement failed as a foreign key fails.
#[track_caller]
fn refused(r: QueryResult<usize>, what: &str) {
    match r {
        Err(Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {}
        other => panic!("{what}: expected a foreign-key violation, got {other:?}"),
    }
}

fn response(id: &str, round: &str, unit: Option<&str>) -> String {
    let unit = unit.map_or("NULL".to_string(), |u| format!("'{u}'"));
    format!("('{id}', '{round}', {unit}, 'x', '{{}}')")
}

fn insert_responses(c: &mut DbConnection, rows: &[String]) -> QueryResult<usize> {
    exec(
        c,
        &format!(
            "INSERT INTO responses (id, round_id, unit_id, answers, background) VALUES {}",
            rows.join(", ")
        ),
    )
}

fn message(
    id: &str,
    round: Option<&str>,
    invitation: Option<&str>,
    account: Option<&str>,
) -> String {
    let q = |v: Option<&str>| v.map_or("NULL".to_string(), |v| format!("'{v}'"));
    let kind = if account.is_some() {
        "account"
    } else {
        "invitation"
    };
    format!(
        "INSERT INTO outbox (id, kind, channel, round_id, invitation_id, account_id, recipient, \
         status, attempts, next_attempt_at, created_at) \
         VALUES ('{id}', '{kind}', 'email', {}, {}, {}, 'a@example.org', 'pending', 0, 0, 0)",
        q(round),
        q(invitation),
        q(account)
    )
}

fn count_responses(c: &mut DbConnection) -> i64 {
    responses::table.count().get_result(c).unwrap()
}

fn count_outbox(c: &mut DbConnection) -> i64 {
    outbox::table.count().get_result(c).unwrap()
}

fn any_unit(c: &mut DbConnection) -> String {
    naervaer::db::schema::units::table
        .select(naervaer::db::schema::units::id)
        .order(naervaer::db::schema::units::id)
        .first(c)
        .unwrap()
}

/// A unit no employee, leader or other table names: only what a test
/// inserts refers to it.
fn lonely_unit(c: &mut DbConnection) -> String {
    exec(
        c,
        "INSERT INTO units (id, code, name, parent_id, active, updated_at) \
         VALUES ('lonely', 'LONELY', 'Eiga eining', NULL, TRUE, 0)",
    )
    .unwrap();
    "lonely".into()
}

fn account(c: &mut DbConnection, unit: &str) -> String {
    exec(
        c,
        &format!(
            "INSERT INTO accounts (id, unit_id, kind, period_start, period_end, rate, target, \
             requested_at, due_on) VALUES ('acc', '{unit}', 'total', '2026-01-01', '2026-04-30', \
             9.5, 7.0, 0, '2026-06-01')"
        ),
    )
    .unwrap();
    "acc".into()
}

both_backends! {
    fn a_row_naming_a_row_that_is_not_there_is_refused_and_its_statement_writes_nothing(t) {
        let (mut c, round) = open_demo_round(&t);
        let unit = any_unit(&mut c);
        let before = (count_responses(&mut c), count_outbox(&mut c));

        // Responses: one bad row among good ones fails the whole statement.
        let good = |i: usize| response(&format!("good{i}"), &round.id, Some(&unit));
        refused(
            insert_responses(&mut c, &[good(1), response("bad", &round.id, Some("no-such-unit")), good(2)]),
            "a response in a unit that does not exist",
        );
        refused(
            insert_responses(&mut c, &[good(1), response("bad", "no-such-round", Some(&unit))]),
            "a response to a round that does not exist",
        );
        refused(
            insert_responses(&mut c, &[response("bad", "no-such-round", None)]),
            "a response without a unit, to a round that does not exist",
        );
        // Changing a response's keys is checked too.
        insert_responses(&mut c, &[good(1)]).unwrap();
        refused(
            exec(&mut c, "UPDATE responses SET unit_id = 'no-such-unit' WHERE id = 'good1'"),
            "a response moved to a unit that does not exist",
        );
        refused(
            exec(&mut c, "UPDATE responses SET round_id = 'no-such-round' WHERE id = 'good1'"),
            "a response moved to a round that does not exist",
        );
        exec(&mut c, "DELETE FROM responses WHERE id = 'good1'").unwrap();

        // Messages.
        let inv = invitation_ids(&mut c, &round.id)[0].clone();
        refused(
            exec(&mut c, &message("m1", Some(&round.id), Some("no-such-invitation"), None)),
            "a message for an invitation that does not exist",
        );
        refused(
            exec(&mut c, &message("m1", Some("no-such-round"), Some(&inv), None)),
            "a message of a round that does not exist",
        );
        refused(
            exec(&mut c, &message("m1", None, None, Some("no-such-account"))),
            "a message for an account that does not exist",
        );
        exec(&mut c, &message("m1", Some(&round.id), Some(&inv), None)).unwrap();
        refused(
            exec(&mut c, "UPDATE outbox SET invitation_id = 'no-such-invitation' WHERE id = 'm1'"),
            "a message moved to an invitation that does not exist",
        );
        exec(&mut c, "DELETE FROM outbox WHERE id = 'm1'").unwrap();

        assert_eq!((count_responses(&mut c), count_outbox(&mut c)), before, "a refused statement wrote rows");

        // What is there is accepted: many rows at once, a response whose
        // unit is the whole organisation (NULL), a message per kind.
        let many: Vec<String> = (0..300).map(good).chain([response("whole", &round.id, None)]).collect();
        assert_eq!(insert_responses(&mut c, &many).unwrap(), 301);
        let acc = account(&mut c, &unit);
        exec(&mut c, &message("m2", None, None, Some(&acc))).unwrap();
        exec(&mut c, &message("m3", Some(&round.id), Some(&inv), None)).unwrap();
        exec(&mut c, "UPDATE responses SET unit_id = NULL WHERE id = 'good7'").unwrap();
    }

    fn a_row_that_others_name_cannot_be_deleted_or_rekeyed(t) {
        let (mut c, round) = open_demo_round(&t);
        let unit = lonely_unit(&mut c);
        insert_responses(&mut c, &[response("r1", &round.id, Some(&unit))]).unwrap();

        // A unit named only by a response.
        refused(exec(&mut c, "DELETE FROM units WHERE id = 'lonely'"), "deleting a unit a response names");
        refused(exec(&mut c, "UPDATE units SET id = 'renamed' WHERE id = 'lonely'"), "re-keying a unit a response names");

        // Invitations named by their messages: deleting the round's
        // invitations at once is refused as a whole.
        let invs = invitation_ids(&mut c, &round.id);
        let named: i64 = outbox::table
            .filter(outbox::invitation_id.is_not_null())
            .count()
            .get_result(&mut c)
            .unwrap();
        assert!(named > 0, "opening the round queued its invitations");
        refused(
            exec(&mut c, &format!("DELETE FROM invitations WHERE round_id = '{}'", round.id)),
            "deleting invitations their messages name",
        );
        assert_eq!(invitation_ids(&mut c, &round.id), invs, "a refused delete removed invitations");
        // (Not every invitation has a message: paper ones have none.)
        let messaged: String = outbox::table
            .filter(outbox::invitation_id.is_not_null())
            .select(outbox::invitation_id.assume_not_null())
            .order(outbox::invitation_id)
            .first(&mut c)
            .unwrap();
        refused(
            exec(&mut c, &format!("UPDATE invitations SET id = 'renamed' WHERE id = '{messaged}'")),
            "re-keying an invitation a message names",
        );

        // An account named by its message.
        let some_unit = any_unit(&mut c);
        let acc = account(&mut c, &some_unit);
        exec(&mut c, &message("m-acc", None, None, Some(&acc))).unwrap();
        refused(exec(&mut c, "DELETE FROM accounts WHERE id = 'acc'"), "deleting an account a message names");

        // A round named only by a response and a message (a draft: no
        // invitations; its questionnaires removed first).
        let draft = new_round(&mut c, None);
        insert_responses(&mut c, &[response("r-draft", &draft.id, None)]).unwrap();
        exec(&mut c, &format!("DELETE FROM round_surveys WHERE round_id = '{}'", draft.id)).unwrap();
        refused(
            exec(&mut c, &format!("DELETE FROM rounds WHERE id = '{}'", draft.id)),
            "deleting a round a response names",
        );
        exec(&mut c, "DELETE FROM responses WHERE id = 'r-draft'").unwrap();
        exec(&mut c, &message("m-draft", Some(&draft.id), None, Some(&acc))).unwrap();
        refused(
            exec(&mut c, &format!("DELETE FROM rounds WHERE id = '{}'", draft.id)),
            "deleting a round a message names",
        );

        // Once nothing names them, they go.
        exec(&mut c, "DELETE FROM outbox WHERE id IN ('m-acc', 'm-draft')").unwrap();
        exec(&mut c, "DELETE FROM accounts WHERE id = 'acc'").unwrap();
        exec(&mut c, &format!("DELETE FROM rounds WHERE id = '{}'", draft.id)).unwrap();
        exec(&mut c, "DELETE FROM responses WHERE id = 'r1'").unwrap();
        exec(&mut c, "DELETE FROM units WHERE id = 'lonely'").unwrap();
        exec(&mut c, &format!("DELETE FROM outbox WHERE round_id = '{}'", round.id)).unwrap();
        let gone = exec(&mut c, &format!("DELETE FROM invitations WHERE round_id = '{}'", round.id)).unwrap();
        assert_eq!(gone, invs.len());

        if matches!(t.backend, Backend::Postgres) {
            // TRUNCATE fires no delete trigger: truncating invitations
            // alone while messages name them is refused; with the outbox in
            // the same statement it is what a foreign key allows.
            let round2 = new_round(&mut c, None);
            naervaer::rounds::open(&mut c, &crate::support::key(), &round2.id).unwrap();
            refused(exec(&mut c, "TRUNCATE invitations"), "truncating invitations their messages name");
            assert!(!invitation_ids(&mut c, &round2.id).is_empty());
            exec(&mut c, "TRUNCATE invitations, outbox").unwrap();
        }
    }
}

/// Runs `sql` on a connection of its own while `holder`'s transaction is
/// open: checks that it waits for that transaction (no answer within
/// 500 ms), then commits `holder` and returns what `sql` gave.
fn waits_for(t: &TestDb, holder: &mut DbConnection, sql: String, what: &str) -> QueryResult<usize> {
    let (tx, rx) = mpsc::channel();
    let url = t.url.clone();
    let other = std::thread::spawn(move || {
        let mut c = naervaer::db::connect(&url).unwrap();
        let r = exec(&mut c, &sql);
        tx.send(()).unwrap();
        r
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "{what} did not wait for the other transaction"
    );
    exec(holder, "COMMIT").unwrap();
    other.join().unwrap()
}

/// Two PostgreSQL connections race: one names an invitation, the other
/// deletes it. Whichever comes first, the other waits for it and then
/// fails; no message is left naming nothing.
#[test]
fn concurrent_naming_and_deleting_on_postgresql_never_leave_a_dangling_reference() {
    let t = TestDb::new(Backend::Postgres);
    let (mut c, round) = open_demo_round(&t);
    exec(
        &mut c,
        &format!("DELETE FROM outbox WHERE round_id = '{}'", round.id),
    )
    .unwrap();
    let invs = invitation_ids(&mut c, &round.id);

    // The application's connections run at READ COMMITTED whatever the
    // database's default.
    exec(
        &mut c,
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_isolation = serializable', \
         current_database()); END $$",
    )
    .unwrap();
    #[derive(QueryableByName)]
    struct Level {
        #[diesel(sql_type = diesel::sql_types::Text)]
        transaction_isolation: String,
    }
    let mut fresh = t.conn();
    let level: Level = diesel::sql_query("SHOW transaction_isolation")
        .get_result(&mut fresh)
        .unwrap();
    assert_eq!(level.transaction_isolation, "read committed");

    // 1. Naming first: the delete waits for the naming transaction, then
    // sees its row and fails.
    let mut namer = t.conn();
    exec(&mut namer, "BEGIN").unwrap();
    exec(
        &mut namer,
        &message("race1", Some(&round.id), Some(&invs[0]), None),
    )
    .unwrap();
    let delete = format!("DELETE FROM invitations WHERE id = '{}'", invs[0]);
    refused(
        waits_for(&t, &mut namer, delete, "the delete"),
        "deleting an invitation a concurrent transaction named",
    );

    // 2. Deleting first: the naming waits for the delete, then finds the
    // invitation gone and fails.
    let mut deleter = t.conn();
    exec(&mut deleter, "BEGIN").unwrap();
    assert_eq!(
        exec(
            &mut deleter,
            &format!("DELETE FROM invitations WHERE id = '{}'", invs[1])
        )
        .unwrap(),
        1
    );
    let name = message("race2", Some(&round.id), Some(&invs[1]), None);
    refused(
        waits_for(&t, &mut deleter, name, "the naming"),
        "naming an invitation a concurrent transaction deleted",
    );

    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let dangling: N = diesel::sql_query(
        "SELECT count(*) AS n FROM outbox o WHERE o.invitation_id IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM invitations i WHERE i.id = o.invitation_id)",
    )
    .get_result(&mut c)
    .unwrap();
    assert_eq!(dangling.n, 0);
    let kept: Vec<String> = outbox::table.select(outbox::id).load(&mut c).unwrap();
    assert_eq!(kept, ["race1"]);

    // 3. At REPEATABLE READ the parent-side check could miss a concurrent
    // child, so deleting a referenced table's rows is refused there.
    exec(&mut c, "BEGIN ISOLATION LEVEL REPEATABLE READ").unwrap();
    let r = exec(
        &mut c,
        &format!("DELETE FROM invitations WHERE id = '{}'", invs[2]),
    );
    let msg = format!("{r:?}");
    assert!(r.is_err() && msg.contains("READ COMMITTED"), "{msg}");
    exec(&mut c, "ROLLBACK").unwrap();
    assert!(invitation_ids(&mut c, &round.id).contains(&invs[2]));
}
