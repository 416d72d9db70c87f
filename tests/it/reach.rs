//! Reaching everyone (issue 15), on both backends: mobile numbers and
//! representatives in the employees file, open rounds following the staff
//! through a re-import, the "results are ready" message and its link, and
//! the response counts while a round runs.

use crate::both_backends;
use crate::mail::SmtpSink;
use crate::rounds::{invitation_ids, new_round, numbered_answers};
use crate::support::{http, key, settings, TestDb, TestServer};
use crate::{assert_rejected_unchanged, import_text, UNITS};
use diesel::prelude::*;
use naervaer::crypto::lookup_hash;
use naervaer::db::models::Employee;
use naervaer::db::schema::{
    employees, invitations, outbox, responses, results_batches, unit_representatives,
};
use naervaer::db::DbConnection;
use naervaer::import::{Kind, RoundStaffing};
use naervaer::mail::{outbox as mail_outbox, Mailer};
use naervaer::rounds::{self, answer, Round};

const HEAD: &str = "employee_id;name;email;unit_code;leader_of;roles;language;mobile;represents";

/// Eight people: two in each unit, the first with e-mail.
fn staff(numbers: &[u32]) -> String {
    let units = ["1000", "1100", "1110", "1200"];
    let mut s = format!("{HEAD}\n");
    for n in numbers {
        let unit = units[(*n as usize) % units.len()];
        let email = if n % 2 == 0 {
            format!("p{n}@test.no")
        } else {
            String::new()
        };
        s += &format!("{n};Person {n};{email};{unit};;;nb;;\n");
    }
    s
}

fn submit(c: &mut DbConnection, inv: &str, round: &Round, n: usize) {
    let surveys = round.surveys(c).unwrap();
    let hash = lookup_hash(&key().survey_token(inv));
    assert_eq!(
        answer::submit(c, &hash, &surveys, &numbered_answers(&surveys, n)).unwrap(),
        answer::Submitted::Stored
    );
}

fn invitation_of(c: &mut DbConnection, round: &Round, number: &str) -> String {
    invitations::table
        .inner_join(employees::table)
        .filter(invitations::round_id.eq(&round.id))
        .filter(employees::employee_number.eq(number))
        .select(invitations::id)
        .first(c)
        .unwrap()
}

/// Where a survey link leads: 303 into the questionnaire, 404 for a link
/// that does not (or no longer) work.
fn follow(server: &TestServer, inv: &str) -> u16 {
    http(
        server.addr,
        "GET",
        &format!("/s/{}", key().survey_token(inv)),
        "",
    )
    .status
}

both_backends! {
    fn mobile_numbers_are_normalised_and_bad_ones_rejected_where_they_are(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        // As an HR system exports: a BOM, CR LF, spaces and +47 in the
        // numbers, a quoted name over two lines.
        let file = format!(
            "\u{feff}{HEAD}\r\n1;Kari;;1000;;;nb;912 34 567;\r\n2;\"Ola\r\nNordmann\";;1000;;;nn;+47 412 34 567;\r\n3;Per;;1000;;;en;0047 91234568;\r\n4;Anne;;1000;;;nb;4741234569;\r\n5;Eva;;1000;;;nb;+46 70 123 45 67;\r\n"
        );
        import_text(&mut c, Kind::Employees, &file, false).unwrap();
        let mobiles: Vec<Option<String>> = Employee::all(&mut c).unwrap().into_iter().map(|e| e.mobile).collect();
        assert_eq!(mobiles, [
            Some("+4791234567".to_string()), Some("+4741234567".into()), Some("+4791234568".into()),
            Some("+4741234569".into()), Some("+46701234567".into()),
        ]);
        // A landline, too few digits, letters, a number as Excel writes a
        // long one: each refused at its line (CR LF lines counted as an
        // editor counts them) and column, nothing changed.
        let bad = format!(
            "{HEAD}\r\n1;Kari;;1000;;;nb;22 33 44 55;\r\n2;Ola;;1000;;;nb;912 345;\r\n3;Per;;1000;;;nb;ring meg;\r\n4;Anne;;1000;;;nb;9,12346E+07;\r\n"
        );
        let why = "er ikke et mobilnummer: åtte siffer som begynner med 4 eller 9 (912 34 567), eller + og landskode (+46 70 123 45 67)";
        assert_rejected_unchanged(&mut c, Kind::Employees, &bad, &[
            &format!("linje 2, kolonne 8 (mobile): «22 33 44 55» {why}"),
            &format!("linje 3, kolonne 8 (mobile): «912 345» {why}"),
            &format!("linje 4, kolonne 8 (mobile): «ring meg» {why}"),
            &format!("linje 5, kolonne 8 (mobile): «9,12346E+07» {why}"),
        ]);
        // A file without the column keeps the numbers on record.
        import_text(&mut c, Kind::Employees, "employee_id;name;unit_code\n1;Kari;1000\n2;Ola Nordmann;1000\n3;Per;1000\n4;Anne;1000\n5;Eva;1000\n", false).unwrap();
        assert_eq!(Employee::find_by_number(&mut c, "1").unwrap().unwrap().mobile.as_deref(), Some("+4791234567"));
    }

    fn representatives_come_with_the_units_they_represent(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        import_text(&mut c, Kind::Employees, &format!(
            "{HEAD}\n1;Vera;vera@test.no;1110;;verneombud;nb;;1100\n2;Tor;tor@test.no;1200;;tillitsvalgt|amu;nb;;1200|1000\n3;Kari;kari@test.no;1110;;;nb;;\n"
        ), false).unwrap();
        let represented: i64 = unit_representatives::table.count().get_result(&mut c).unwrap();
        assert_eq!(represented, 3);
        // A representative who can sign in; a plain employee cannot.
        let vera = Employee::find_by_number(&mut c, "1").unwrap().unwrap();
        assert!(naervaer::auth::request_link(&mut c, "vera@test.no").unwrap().is_some());
        assert!(naervaer::auth::request_link(&mut c, "kari@test.no").unwrap().is_none());
        // Every mistake at its line and column.
        assert_rejected_unchanged(&mut c, Kind::Employees, &format!(
            "{HEAD}\n1;Vera;vera@test.no;1110;;verneombud;nb;;\n2;Tor;tor@test.no;1200;;;nb;;1200\n3;Kari;kari@test.no;1110;;verneombud;nb;;4242\n"
        ), &[
            "linje 2, kolonne 9 (represents): verneombud og tillitsvalgte må ha enhetene de representerer i kolonnen represents (enhetskoder skilt med |)",
            "linje 3, kolonne 9 (represents): bare verneombud og tillitsvalgte representerer enheter: legg til rollen i kolonnen roles, eller tøm cellen",
            "linje 4, kolonne 9 (represents): enheten «4242» finnes ikke; importer enhetene først",
        ]);
        // A file that takes the role away, without a represents column:
        // the represented units go with the role.
        import_text(&mut c, Kind::Employees, "employee_id;name;email;unit_code;roles\n1;Vera;vera@test.no;1110;\n2;Tor;tor@test.no;1200;tillitsvalgt|amu\n3;Kari;kari@test.no;1110;\n", false).unwrap();
        let kept: i64 = unit_representatives::table
            .filter(unit_representatives::employee_id.eq(&vera.id))
            .count()
            .get_result(&mut c)
            .unwrap();
        assert_eq!(kept, 0);
        assert!(naervaer::auth::request_link(&mut c, "vera@test.no").unwrap().is_none(), "no role, no sign-in");
        assert_eq!(unit_representatives::table.count().get_result::<i64>(&mut c).unwrap(), 2, "Tor keeps his");
        import_text(&mut c, Kind::Employees, &format!(
            "{HEAD}\n1;Vera;vera@test.no;1110;;verneombud;nb;;1100\n2;Tor;tor@test.no;1200;;tillitsvalgt|amu;nb;;1200|1000\n3;Kari;kari@test.no;1110;;;nb;;\n"
        ), false).unwrap();
        // Leaving takes the representation away with every other right.
        import_text(&mut c, Kind::Employees, &format!("{HEAD}\n3;Kari;kari@test.no;1110;;;nb;;\n"), false).unwrap();
        let left: i64 = unit_representatives::table
            .filter(unit_representatives::employee_id.eq(&vera.id))
            .count()
            .get_result(&mut c)
            .unwrap();
        assert_eq!(left, 0);
        assert!(naervaer::auth::request_link(&mut c, "vera@test.no").unwrap().is_none());
    }

    fn a_reimport_during_an_open_round_invites_newcomers_and_withdraws_those_who_left(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        import_text(&mut c, Kind::Employees, &staff(&[1, 2, 3, 4, 5, 6, 7, 8]), false).unwrap();
        let round = new_round(&mut c, None);
        rounds::open(&mut c, &key(), &round.id).unwrap();
        let round = Round::find(&mut c, &round.id).unwrap();
        let server = TestServer::start(&t);
        // 2 answers; 4 does not. Both leave; 9 joins.
        let (two, four) = (invitation_of(&mut c, &round, "2"), invitation_of(&mut c, &round, "4"));
        submit(&mut c, &two, &round, 2);
        let stored_before: Vec<(String, String)> = responses::table
            .select((responses::id, responses::answers))
            .load(&mut c)
            .unwrap();
        assert_eq!(follow(&server, &four), 303);
        let counts_before = rounds::counts(&mut c, &round.id).unwrap();
        let next = staff(&[1, 3, 5, 6, 7, 8, 9, 10]);
        let f = naervaer::rounds::staff::Following { key: Some(&key()), sms: false };

        // The preview says it and changes nothing.
        let before = crate::support::dump(&mut c);
        let preview = f.import(&mut c, Kind::Employees, "ansatte.csv", next.as_bytes(), true).unwrap();
        let expected = RoundStaffing { round_title: "Testrunde".into(), invited: 2, withdrawn: 2, returned: 0 };
        assert_eq!(preview.rounds, std::slice::from_ref(&expected));
        assert_eq!(crate::support::dump(&mut c), before);
        assert_eq!(follow(&server, &four), 303, "a dry run withdraws nothing");

        let done = f.import(&mut c, Kind::Employees, "ansatte.csv", next.as_bytes(), false).unwrap();
        assert_eq!(done.rounds, [expected]);
        assert!(done.rounds[0].render(naervaer::lang::Lang::Nb).contains("2 nye invitert, 2 invitasjoner trukket tilbake"));
        // The links of those who left no longer work, answered or not; the
        // answer that was given is there, unchanged, linked to nobody.
        assert_eq!(follow(&server, &two), 404);
        assert_eq!(follow(&server, &four), 404);
        let code = naervaer::crypto::format_code(&key().paper_code(&four));
        let r = http(server.addr, "POST", "/kode", &format!("kode={code}"));
        assert_eq!((r.status, r.header("location")), (200, None), "a withdrawn paper code opens nothing");
        let stored_after: Vec<(String, String)> = responses::table
            .select((responses::id, responses::answers))
            .load(&mut c)
            .unwrap();
        assert_eq!(stored_after, stored_before);
        // Both who left still count as invited, the one who answered as
        // answered: the counts do not move when someone leaves, so they
        // cannot tell whether the person who left had answered.
        let counts_after = rounds::counts(&mut c, &round.id).unwrap();
        let sum = |v: &[rounds::UnitCount]| v.iter().fold((0, 0), |a, x| (a.0 + x.invited, a.1 + x.responded));
        assert_eq!(sum(&counts_after), (sum(&counts_before).0 + 2, 1));
        // The newcomers are invited, and the one with an e-mail address has
        // her invitation queued; nothing more is sent to those who left.
        let nine = invitation_of(&mut c, &round, "9");
        assert_eq!(follow(&server, &nine), 303);
        let queued: Vec<(String, Option<String>)> = outbox::table
            .filter(outbox::status.eq("pending"))
            .select((outbox::recipient, outbox::invitation_id))
            .load(&mut c)
            .unwrap();
        assert!(queued.iter().any(|(to, _)| to == "p10@test.no"));
        assert!(queued.iter().all(|(to, _)| to != "p2@test.no" && to != "p4@test.no"), "{queued:?}");
        let reminded = rounds::remind(&mut c, &round.id, 2, 0).unwrap();
        let to: Vec<String> = outbox::table.filter(outbox::kind.eq("reminder")).select(outbox::recipient).load(&mut c).unwrap();
        assert_eq!(reminded, to.len());
        assert!(!to.contains(&"p4@test.no".to_string()), "nobody who left is reminded");

        // Four comes back: the link works again; nobody new is invited.
        let back = staff(&[1, 3, 4, 5, 6, 7, 8, 9, 10]);
        let again = f.import(&mut c, Kind::Employees, "ansatte.csv", back.as_bytes(), false).unwrap();
        assert_eq!(again.rounds, [RoundStaffing { round_title: "Testrunde".into(), invited: 0, withdrawn: 0, returned: 1 }]);
        assert_eq!(follow(&server, &four), 303);
        assert_eq!(invitation_ids(&mut c, &round.id).len(), 10);
        // Her invitation was still queued when she left, so it never went
        // out: it is queued again.
        let to_four: Vec<(String, String)> = outbox::table
            .filter(outbox::recipient.eq("p4@test.no"))
            .select((outbox::kind, outbox::status))
            .load(&mut c)
            .unwrap();
        assert_eq!(to_four, [("invitation".to_string(), "pending".to_string())]);
    }

    fn newcomers_to_an_open_round_need_the_secret_key(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        import_text(&mut c, Kind::Employees, &staff(&[1, 2, 3]), false).unwrap();
        let round = new_round(&mut c, None);
        rounds::open(&mut c, &key(), &round.id).unwrap();
        let before = crate::support::dump(&mut c);
        let f = naervaer::rounds::staff::Following { key: None, sms: false };
        let e = f.import(&mut c, Kind::Employees, "a.csv", staff(&[1, 2, 3, 4]).as_bytes(), false).unwrap_err();
        assert!(e.to_string().contains("NAERVAER_SECRET_KEY") || format!("{e:?}").contains("KeyNeededToInvite"), "{e:?}");
        assert_eq!(crate::support::dump(&mut c), before, "the import is all or nothing");
        // Someone only leaving needs no key.
        f.import(&mut c, Kind::Employees, "a.csv", staff(&[1, 2]).as_bytes(), false).unwrap();
    }

    fn everyone_invited_is_told_the_results_are_ready_and_the_link_opens_their_group(t) {
        let mut c = t.conn();
        let f = crate::results::closed_round(&mut c);
        let sink = SmtpSink::start();
        let server = TestServer::start(&t);
        let base = format!("http://{}", server.addr);
        let s = settings(&t, &[("NAERVAER_SMTP_URL", &sink.url()), ("NAERVAER_BASE_URL", &base), ("NAERVAER_MAIL_RATE", "1000")]);
        // The open round's invitations, and the closed round's "results
        // are ready" messages to everyone it invited by e-mail.
        mail_outbox::send_due(&t.pool(), &Mailer::from_settings(&s).unwrap(), &s, &key()).unwrap();
        let got = sink.messages();
        let ready: Vec<_> = got.iter().filter(|m| m.text().contains("/r/")).collect();
        let with_email: i64 = employees::table.filter(employees::email.is_not_null()).count().get_result(&mut c).unwrap();
        assert_eq!(ready.len() as i64, with_email, "answered or not, everyone invited by e-mail");
        assert!(ready.iter().all(|m| m.header("auto-submitted") == "auto-generated"));
        let unit_of = |email: &str, c: &mut DbConnection| -> String {
            employees::table.filter(employees::email.eq(email)).select(employees::unit_id).first(c).unwrap()
        };
        let link_of = |m: &crate::mail::Received| -> String {
            m.text().lines().find(|l| l.contains("/r/")).unwrap().trim()[base.len()..].to_string()
        };
        // The same link for everyone in a group; a person in the hidden
        // unit of three gets the nearest shown group above it, Oppvekst.
        let small = &f.unit[crate::results::SMALL];
        let oppvekst_direct: Vec<String> = ready.iter()
            .filter(|m| unit_of(&m.envelope_to, &mut c) == f.unit["1200"])
            .map(|m| link_of(m))
            .collect();
        let in_small: Vec<String> = ready.iter()
            .filter(|m| &unit_of(&m.envelope_to, &mut c) == small)
            .map(|m| link_of(m))
            .collect();
        assert!(!in_small.is_empty() && !oppvekst_direct.is_empty());
        assert!(in_small.iter().chain(&oppvekst_direct).all(|l| *l == in_small[0]), "one link per group");
        let page = http(server.addr, "GET", &in_small[0], "");
        assert_eq!(page.status, 200, "no sign-in needed");
        assert!(page.body.contains("<h1>Oppvekst</h1>"), "{}", page.body);
        assert!(!page.body.contains("Tuntreet barnehage"), "the hidden unit is neither shown nor named");
        assert!(!page.body.contains("/csv") && !page.body.contains("/api/"), "no exports through a results link");
        // In English on request.
        let en = http(server.addr, "GET", &format!("{}?lang=en", in_small[0]), "");
        assert!(en.body.contains("These are your group's results"), "{}", en.body);
        // A link opens nothing else: not another group's page by its path,
        // not a made-up token.
        assert_eq!(http(server.addr, "GET", &format!("/resultater/{}/{}", f.round, f.unit["1200"]), "").status, 401);
        assert_eq!(http(server.addr, "GET", "/r/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "").status, 404);
        // A link to a group that is hidden later (k raised) leads to the
        // nearest group above it that is still shown.
        let snapshot = |c: &mut DbConnection| naervaer::snapshot::load(c, &f.round).unwrap().unwrap();
        let school = &f.unit["1230"];
        let token = key().results_token(f.round.as_str(), school);
        assert!(ready.iter().any(|m| link_of(m) == format!("/r/{token}")), "Fjellheim's people have its link");
        assert_eq!(&naervaer::access::linked_group(&snapshot(&mut c), school).unwrap().key, school);
        let before = http(server.addr, "GET", &format!("/r/{token}"), "");
        assert!(before.body.contains("<h1>Fjellheim ungdomsskole</h1>"));
        naervaer::rounds::raise_k(&mut c, &f.round, 60).unwrap();
        assert_eq!(&naervaer::access::linked_group(&snapshot(&mut c), school).unwrap().key, &f.unit["1200"]);
        let after = http(server.addr, "GET", &format!("/r/{token}"), "");
        assert_eq!(after.status, 200);
        assert!(after.body.contains("<h1>Oppvekst</h1>") && !after.body.contains("Fjellheim"), "{}", after.body);
        // Sent messages are deleted by the retention run: each named an
        // address and a group.
        let n = naervaer::retention::run(&mut c, &s, true).unwrap().results_messages_deleted;
        assert_eq!(n as i64, with_email);
    }
}

both_backends! {
    fn the_results_are_ready_message_goes_the_way_each_invitation_went(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, UNITS, false).unwrap();
        // In a round of Helse's units: 1 by e-mail, 2 by SMS, 3 by both,
        // 4 on paper, 5–12 by e-mail, 13 and 14 by both; while the round
        // runs, 13 moves to Oppvekst (still employed) and 14, who has
        // answered, leaves: both invitations are withdrawn.
        let person = |n: u32, unit: &str| {
            let email = if n == 2 || n == 4 { String::new() } else { format!("p{n}@test.no") };
            let mobile = match n { 2 | 3 | 13 | 14 => format!("912 34 5{n:02}"), _ => String::new() };
            format!("{n};Person {n};{email};{unit};;;nb;{mobile};\n")
        };
        let before: String = (1..=14).fold(format!("{HEAD}\n"), |s, n| s + &person(n, "1110"));
        let after: String = (1..=12).fold(format!("{HEAD}\n"), |s, n| s + &person(n, "1110")) + &person(13, "1200");
        import_text(&mut c, Kind::Employees, &before, false).unwrap();
        let today = rounds::today();
        let round = rounds::create(&mut c, 5, rounds::NewRound {
            title: "Runden".into(),
            surveys: vec![naervaer::demo::SURVEY_10_FAKTOR.into()],
            unit_code: Some("1100".into()),
            opens_on: today,
            closes_on: today + chrono::Duration::days(7),
            min_group_size: 5,
            delivery: rounds::Delivery::Both,
        }).unwrap();
        let summary = rounds::open_reaching(&mut c, &key(), &round.id, true).unwrap();
        assert_eq!((summary.invited, summary.by_email, summary.by_sms, summary.on_paper), (14, 12, 4, 1));
        let round = Round::find(&mut c, &round.id).unwrap();
        for n in [1, 2, 3, 4, 5, 6, 7, 8, 9, 14] {
            let inv = invitation_of(&mut c, &round, &n.to_string());
            submit(&mut c, &inv, &round, n as usize);
        }
        let f = naervaer::rounds::staff::Following { key: Some(&key()), sms: true };
        let moved = f.import(&mut c, Kind::Employees, "ansatte.csv", after.as_bytes(), false).unwrap();
        assert_eq!(moved.rounds[0].withdrawn, 2);
        rounds::close(&mut c, &round.id, true).unwrap();

        // Queued as one batch per group and way; the sender turns them into
        // one message per address, exactly once, even with two at it.
        let batches: Vec<(String, String, i32)> = results_batches::table
            .select((results_batches::channel, results_batches::recipients, results_batches::recipient_count))
            .order(results_batches::channel)
            .load(&mut c)
            .unwrap();
        assert_eq!(batches.len(), 2, "one group, two ways: {batches:?}");
        for (_, recipients, n) in &batches {
            assert_eq!(recipients.lines().count(), *n as usize);
        }
        let status = |c: &mut DbConnection| -> Vec<(String, i64)> { mail_outbox::status_counts(c).unwrap() };
        assert_eq!(status(&mut c), [("pending".to_string(), 12)], "batched messages count as pending");
        let expanded: usize = std::thread::scope(|s| {
            let two: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        let mut c = t.conn();
                        let mut n = 0;
                        while let m @ 1.. = mail_outbox::expand_results(&mut c, 1).unwrap() {
                            n += m;
                        }
                        n
                    })
                })
                .collect();
            two.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(expanded, 12);
        assert_eq!(results_batches::table.count().get_result::<i64>(&mut c).unwrap(), 0);
        assert_eq!(status(&mut c), [("pending".to_string(), 12)], "the same count once they are messages");

        type Row = (String, String, String, Option<String>, Option<String>, String, i64);
        let ready: Vec<Row> = outbox::table
            .filter(outbox::kind.eq("results"))
            .select((outbox::id, outbox::channel, outbox::recipient, outbox::round_id, outbox::group_key, outbox::status, outbox::next_attempt_at))
            .order(outbox::recipient)
            .load(&mut c)
            .unwrap();
        let mut got: Vec<(&str, &str)> = ready.iter().map(|m| (m.1.as_str(), m.2.as_str())).collect();
        got.sort();
        let mut expected: Vec<(String, String)> = [1, 3, 5, 6, 7, 8, 9, 10, 11, 12]
            .iter()
            .map(|n| ("email".to_string(), format!("p{n}@test.no")))
            .chain([("sms".into(), "+4791234502".into()), ("sms".into(), "+4791234503".into())])
            .collect();
        expected.sort();
        let expected: Vec<(&str, &str)> = expected.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(got, expected, "by e-mail, by SMS, both ways for both; nothing on paper, to the one who moved or to the one who left");
        let snapshot = naervaer::snapshot::load(&mut c, &round.id).unwrap().unwrap();
        let unit: String = employees::table.filter(employees::employee_number.eq("1")).select(employees::unit_id).first(&mut c).unwrap();
        let group = naervaer::access::linked_group(&snapshot, &unit).unwrap().key.clone();
        let mut ids = std::collections::HashSet::new();
        for (id, _, _, round_id, group_key, status, due) in &ready {
            assert!(id.len() == 32 && id.chars().all(|ch| ch.is_ascii_hexdigit() && !ch.is_ascii_uppercase()), "{id}");
            assert!(ids.insert(id.clone()), "ids are unique");
            assert_eq!(round_id.as_deref(), Some(round.id.as_str()));
            assert_eq!(group_key.as_deref(), Some(group.as_str()));
            assert_eq!((status.as_str(), *due > 0), ("pending", true));
        }
    }
}

/// The QR code of a printed letter, read back with a QR decoder from the
/// SVG the page holds (the dark modules of its one path), as a phone's
/// camera reads the paper.
fn read_qr(svg_path: &str, size: usize) -> String {
    let mut dark = vec![false; size * size];
    for m in svg_path.split('M').filter(|m| !m.is_empty()) {
        let xy: Vec<usize> = m
            .trim_end_matches("h1v1h-1z")
            .split(' ')
            .map(|v| v.parse().unwrap())
            .collect();
        dark[xy[1] * size + xy[0]] = true;
    }
    let scale = 6;
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(size * scale, size * scale, |x, y| {
            if dark[(y / scale) * size + x / scale] {
                0
            } else {
                255
            }
        });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

#[test]
fn a_letters_qr_code_holds_the_code_link_and_fills_in_the_code() {
    let t = TestDb::new(crate::support::Backend::Sqlite);
    let (mut c, round) = crate::rounds::open_demo_round(&t);
    let server = TestServer::start(&t);
    let admin = naervaer::demo::sign_in_people(&mut c).unwrap()[2]
        .id
        .clone();
    let (cookie, _) = crate::results::sign_in(&server, &mut c, admin.as_str());
    let page = crate::support::http_cookie(
        server.addr,
        "GET",
        &format!("/admin/runder/{}/brev", round.id),
        "",
        Some(&cookie),
    );
    assert_eq!(page.status, 200);
    let letters = rounds::letters(&mut c, &key(), &round.id, false).unwrap();
    let first = page
        .body
        .find("<svg class=\"qr\"")
        .expect("a QR code on the letter");
    let svg = &page.body[first..first + page.body[first..].find("</svg>").unwrap()];
    let size: usize = svg
        .split("viewBox=\"0 0 ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let path = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let read = read_qr(path, size);
    let code = naervaer::crypto::format_code(&letters[0].code);
    // The link printed on the letter (its configured base URL), the code
    // in its fragment, which no server or proxy ever sees: the page's
    // script fills it in (tests/browser/reach.mjs checks that in Chromium);
    // the code is typed beside it too.
    let configured = crate::support::settings(&t, &[]).base_url;
    assert_eq!(read, format!("{configured}/kode#{code}"));
    assert!(page.body.contains(&code), "the code is typed beside it");
    let opened = http(server.addr, "GET", "/kode", "");
    assert!(opened
        .body
        .contains("<script src=\"/static/kode.js\" defer>"));
    assert_eq!(http(server.addr, "GET", "/static/kode.js", "").status, 200);
    let sent = http(server.addr, "POST", "/kode", &format!("kode={code}"));
    assert_eq!((sent.status, sent.header("location")), (303, Some("/svar")));
}

fn get(server: &TestServer, path: &str, cookie: &str) -> crate::support::Response {
    crate::support::http_cookie(server.addr, "GET", path, "", Some(cookie))
}

both_backends! {
    fn norms_are_imported_with_every_problem_located_and_shown_beside_the_units_score(t) {
        let mut c = t.conn();
        let f = crate::results::closed_round(&mut c);
        // As a published table arrives: a BOM, CR LF, decimal commas, a
        // bare factor key, a scope left out (national).
        let file = "\u{feff}enhetstype;faktor;snitt;utvalg\r\nSkole;10-faktor/rolleklarhet;4,05;nasjonalt\r\nskole;mestringsklima;3,9;\r\nskole;rolleklarhet;3,95;fylket\r\nbibliotek;rolleklarhet;4,1;nasjonalt\r\n";
        let done = import_text(&mut c, Kind::Norms, file, false).unwrap();
        assert_eq!(done.diff.added.len(), 4, "{:?}", done.diff);
        let warnings: Vec<String> = done.warnings.iter().map(|w| w.render(naervaer::lang::Lang::Nb)).collect();
        assert_eq!(warnings, ["ingen enhet har enhetstypen «bibliotek» ennå; normene vises når en enhet får typen (kolonnen unit_type i units.csv)"]);
        // Every mistake located; nothing changes.
        assert_rejected_unchanged(&mut c, Kind::Norms,
            "enhetstype;faktor;snitt\r\nskole;rolleklarhet;6,2\r\n;rolleklarhet;4\r\nskole;trivsel;4\r\nskole;rolleklarhet;4\r\nskole;10-faktor/rolleklarhet;3\r\n",
            &[
                "linje 2, kolonne 3 (snitt): «6,2» er ikke et gjennomsnitt på skalaen 1–5 (for eksempel 3,9)",
                "linje 3, kolonne 1 (enhetstype): verdi mangler",
                "linje 4, kolonne 2 (faktor): «trivsel» er ikke en faktor i undersøkelsene (for eksempel 10-faktor/rolleklarhet eller rolleklarhet)",
                "linje 6, kolonne 2 (faktor): «skole 10-faktor/rolleklarhet nasjonalt» står også på linje 5",
            ]);
        // Beside a school's score, in the page and its exports.
        let server = TestServer::start(&t);
        let (cookie, _) = crate::results::sign_in(&server, &mut c, &f.people[2].1);
        let school = &f.unit["1210"];
        let page = get(&server, &format!("/resultater/{}/{school}", f.round), &cookie);
        assert!(page.body.contains("norm (skole, nasjonalt) 4,05") && page.body.contains("norm (skole, fylket) 3,95"), "{}", page.body);
        let csv = get(&server, &format!("/resultater/{}/{school}/csv", f.round), &cookie);
        assert!(csv.body.contains("norm: fylket,,skole,Rolleklarhet,,3.9500"), "{}", csv.body);
        let json = get(&server, &format!("/api/v1/rounds/{}/groups/{school}", f.round), &cookie);
        assert!(json.body.contains("\"unit_type\":\"skole\"") && json.body.contains("\"scope\":\"nasjonalt\",\"mean\":4.05"), "{}", json.body);
        // A unit of another type shows none.
        let home = get(&server, &format!("/resultater/{}/{}", f.round, f.unit["1121"]), &cookie);
        assert!(!home.body.contains("norm ("));
    }

    fn a_units_trend_and_the_heatmap_show_released_figures_only(t) {
        let mut c = t.conn();
        let f = crate::results::closed_round(&mut c);
        // The open round answered by most and closed: a second point.
        let open = Round::find(&mut c, &f.open_round).unwrap();
        for (i, inv) in invitation_ids(&mut c, &open.id).iter().enumerate() {
            if i % 4 != 0 {
                submit(&mut c, inv, &open, i);
            }
        }
        rounds::close(&mut c, &open.id, true).unwrap();
        let server = TestServer::start(&t);
        let (cookie, _) = crate::results::sign_in(&server, &mut c, &f.people[0].1);
        let own = &f.unit["1200"];
        let page = get(&server, &format!("/resultater/{}/{own}", open.id), &cookie);
        assert!(page.body.contains("Utvikling over tid"), "two rounds: a trend");
        assert_eq!(page.body.matches("<figure class=\"trend-one\">").count(), 10 + 10, "a chart per factor: {}", page.body.len());
        // The hidden unit has no trend, nor any figure in the heatmap.
        let small = &f.unit[crate::results::SMALL];
        let hidden = get(&server, &format!("/resultater/{}/{small}", open.id), &cookie);
        assert!(!hidden.body.contains("Utvikling over tid"));
        for colour in ["", "&farge=endring"] {
            let map = get(&server, &format!("/resultater/{}/{own}/kart?lang=nb{colour}", open.id), &cookie);
            assert_eq!(map.status, 200);
            // The hidden unit is a row saying so, with no number in it.
            let at = map.body.find("Tuntreet barnehage").expect("the hidden unit's row");
            let row = &map.body[at..at + map.body[at..].find("</tr>").unwrap()];
            assert!(row.contains("skjult: for få svar") && !row.contains("<td class=\"s") && !row.replace("colspan=\"20\"", "").chars().any(|ch| ch.is_ascii_digit()), "{row}");
            assert!(!map.body.contains("Helse og mestring"), "only the leader's own units");
        }
        let by_change = get(&server, &format!("/resultater/{}/{own}/kart?farge=endring", open.id), &cookie);
        assert!(by_change.body.contains("class=\"same\"") || by_change.body.contains("class=\"up\"") || by_change.body.contains("class=\"down\""));
    }

    fn a_leader_follows_the_response_rate_of_her_units_in_rows_of_at_least_k(t) {
        let mut c = t.conn();
        let f = crate::results::closed_round(&mut c);
        let open = Round::find(&mut c, &f.open_round).unwrap();
        for (i, inv) in invitation_ids(&mut c, &open.id).iter().enumerate().take(200) {
            submit(&mut c, inv, &open, i);
        }
        let server = TestServer::start(&t);
        let (cookie, _) = crate::results::sign_in(&server, &mut c, &f.people[0].1);
        let page = get(&server, "/svarprosent?lang=nb", &cookie);
        assert_eq!(page.status, 200);
        // Oppvekst's units; the barnehage of three is counted inside
        // Oppvekst's own row, never alone.
        assert!(page.body.contains("Sentrum skole") && page.body.contains("med Tuntreet barnehage"), "{}", page.body);
        assert!(!page.body.contains("Helse og mestring"));
        // Every row at least k = 5 invited, and together everyone invited
        // in Oppvekst's units, counted from the invitations themselves.
        let leader = naervaer::auth::viewer(&mut c, cookie.split('=').nth(1).unwrap()).unwrap().unwrap();
        let live = naervaer::rounds::live::open_rounds(&mut c, &leader).unwrap();
        let seen = &live[0];
        assert!(seen.rows.iter().all(|r| r.count.invited >= 5));
        let tree = naervaer::register::org::OrgTree::load(&mut c).unwrap();
        let oppvekst = tree.get(&f.unit["1200"]).unwrap();
        let (invited, answered) = invitations::table
            .filter(invitations::round_id.eq(&open.id))
            .select((invitations::unit_id, invitations::responded))
            .load::<(String, bool)>(&mut c)
            .unwrap()
            .into_iter()
            .filter(|(u, _)| tree.is_within(tree.get(u).unwrap(), oppvekst))
            .fold((0u32, 0u32), |(i, a), (_, r)| (i + 1, a + u32::from(r)));
        assert_eq!((seen.total.invited, seen.total.answered), (invited, answered));
        assert_eq!(seen.days.last().unwrap().2, answered, "the day counters agree");
        // Two people join the kindergarten of three: it reaches k = 5, but
        // it stays inside Oppvekst's row for this round (a row of its own
        // now would let Oppvekst's count before and after tell its own).
        let mut file = naervaer::demo::generate(naervaer::demo::SEED).employees_csv;
        file.push_str("N1;Ny En;ny1@demo-kommune.no;1260;;;nb;;\nN2;Ny To;ny2@demo-kommune.no;1260;;;nb;;\n");
        let following = naervaer::rounds::staff::Following { key: Some(&key()), sms: false };
        let done = following.import(&mut c, Kind::Employees, "ansatte.csv", file.as_bytes(), false).unwrap();
        assert_eq!(done.rounds[0].invited, 2);
        let later = get(&server, "/svarprosent?lang=nb", &cookie);
        assert!(later.body.contains("med Tuntreet barnehage"), "{}", later.body);
        assert!(!later.body.contains("<th scope=\"row\" class=\"depth-1\">Tuntreet barnehage"));
        // AMU sees no counts of the open round (results only after close).
        let (amu, _) = crate::results::sign_in(&server, &mut c, &f.people[2].1);
        let nothing = get(&server, "/svarprosent?lang=nb", &amu);
        assert!(nothing.body.contains("Ingen runde er åpen for enhetene dine"));
    }
}
