//! The follow-up cycle on both databases: targets imported and set on a
//! page (inherited from the nearest ancestor), units above target found
//! after an absence import with their leaders' accounts asked for by
//! e-mail (through the real SMTP server), answered through the form, with
//! at most two reminders; the register of measures, imported and entered;
//! the national reference; small units never named; every new importer's
//! bad input located and nothing changed.

use crate::mail::SmtpSink;
use crate::results::{absence_for_the_year, closed_round, sign_in, Fixture};
use crate::support::{dump, http_cookie, key, settings, TestServer};
use crate::{both_backends, import_text, rejection};
use diesel::prelude::*;
use naervaer::db::schema::{absence_targets, accounts, measures, outbox};
use naervaer::db::DbConnection;
use naervaer::followup::{self, targets};
use naervaer::ids::UnitId;
use naervaer::import::Kind;

/// What the follow-up routes need beside [`Fixture`]: absence for the
/// year, an organisation target every unit is above, the accounts that
/// asks for, and a measure of the leader's own unit.
pub struct FollowUp {
    pub account: String,
    pub token: String,
    pub measure: String,
}

pub fn follow_up(c: &mut DbConnection, f: &Fixture) -> FollowUp {
    absence_for_the_year(c);
    let root = UnitId::from(f.unit["1000"].as_str());
    let year = chrono::Datelike::year(&naervaer::rounds::today());
    targets::set(
        c,
        &root,
        year,
        targets::Kind::Total,
        Some(targets::Value::Percent(0.5)),
    )
    .unwrap();
    let done = followup::check(c, 5, 21).unwrap();
    assert!(done.requested.accounts > 0, "{done:?}");
    let account: String = accounts::table
        .filter(accounts::unit_id.eq(&f.unit["1200"]))
        .select(accounts::id)
        .get_result(c)
        .unwrap();
    let measure = followup::measures::add(
        c,
        &followup::measures::NewMeasure {
            title: "Dialogmøte null i alle barnehager".into(),
            type_key: "dialogmote_null".into(),
            started_on: "2026-02-01".into(),
            units: vec![UnitId::from(f.unit["1200"].as_str())],
            ..Default::default()
        },
    )
    .unwrap();
    FollowUp {
        token: key().account_token(&account),
        account,
        measure,
    }
}

fn rates_of(c: &mut DbConnection) -> Vec<(String, Option<f64>)> {
    let (_, tree, rates, _) = followup::latest_standings(c, 5).unwrap().unwrap();
    tree.units
        .iter()
        .zip(rates)
        .map(|(u, r)| (u.code.clone(), r.map(|r| r.total)))
        .collect()
}

both_backends! {
    fn targets_are_imported_inherited_and_every_small_unit_stays_unnamed(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        absence_for_the_year(&mut c);
        let year = chrono::Datelike::year(&naervaer::rounds::today());
        let analyse = |c: &mut DbConnection| {
            use naervaer::analysis::{run, Window};
            run(c, &naervaer::cache::Cache::none(), &f.round, Window::Before, None, naervaer::lang::Lang::Nb).unwrap()
        };
        // No unit has a target: the AMU analysis shows none.
        let a = analyse(&mut c);
        assert!(!a.groups.is_empty());
        assert!(a.groups.iter().all(|g| g.target.is_none()));
        let file = format!(
            "enhetskode;år;måltall;type\r\n1000;{year};7,5;total\r\n1100;{year};6,0;\r\n1110;{year};nasjonalt;langtid\r\n1260;{year};1,0;total\r\n"
        );
        let o = naervaer::import::import(&mut c, Kind::Targets, "mål.csv", file.as_bytes(), false).unwrap();
        assert_eq!(o.diff.added.len(), 4, "{:?}", o.diff);
        let all = targets::Targets::load(&mut c).unwrap();
        let tree = followup::org::OrgTree::load(&mut c).unwrap();
        let at = |code: &str| tree.by_code(code).unwrap();
        // Own, inherited from the nearest ancestor, and the organisation's.
        assert_eq!(all.effective(&tree, at("1100"), year, targets::Kind::Total), Some((targets::Value::Percent(6.0), at("1100"))));
        assert_eq!(all.effective(&tree, at("1111"), year, targets::Kind::Total), Some((targets::Value::Percent(6.0), at("1100"))));
        assert_eq!(all.effective(&tree, at("1210"), year, targets::Kind::Total), Some((targets::Value::Percent(7.5), at("1000"))));
        assert_eq!(all.effective(&tree, at("1111"), year, targets::Kind::LongTerm), Some((targets::Value::National, at("1110"))));
        assert_eq!(all.effective(&tree, at("1210"), year + 1, targets::Kind::Total), None, "a target is for its year");
        // The AMU analysis shows beside each group (a rest: beside its
        // unit) the total target that holds for it, as the register finds it.
        let a = analyse(&mut c);
        let national = followup::national::NationalRates::load(&mut c).unwrap();
        let (mut own, mut inherited) = (0, 0);
        for g in &a.groups {
            let i = tree.get(g.key.trim_end_matches("#rest")).unwrap();
            let (value, set_on) = all.effective(&tree, i, year, targets::Kind::Total).unwrap();
            let window = (a.window_from, a.window_to);
            assert_eq!(g.target, targets::resolve(value, targets::Kind::Total, window, &national), "{}", g.code);
            assert!(g.target.is_some());
            if set_on == i { own += 1 } else { inherited += 1 }
        }
        assert!(own > 0 && inherited > 0, "{own} with their own target, {inherited} inherited");
        // 1260 (3 people) has its own, very low target: its absence is
        // never shown, so it is never named as above it.
        let (period, tree, rates, standings) = followup::latest_standings(&mut c, 5).unwrap().unwrap();
        assert!(rates[at("1260")].is_none(), "the small unit's absence is not released");
        assert!(standings.iter().all(|s| s.unit != at("1260")), "a small unit is never named above or below");
        assert!(standings.iter().all(|s| rates[s.unit].is_some()));
        assert!(period.1 <= naervaer::rounds::today());
        // Above means rate > target, for every standing.
        for s in &standings {
            assert_eq!(s.above, s.rate > s.target, "{s:?}");
        }
        // Importing the same file again changes nothing.
        let again = naervaer::import::import(&mut c, Kind::Targets, "mål.csv", file.as_bytes(), false).unwrap();
        assert!(again.diff.is_empty(), "{:?}", again.diff);
        let _ = (tree, f);
    }

    fn a_bad_targets_file_names_every_problem_and_changes_nothing(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, crate::UNITS, false).unwrap();
        let before = dump(&mut c);
        let file = "unit_code;year;target_percent;kind\n1000;2026;7,5;total\n9999;2026;5;total\n1100;tjue;5;\n1100;2026;120;\n1110;2026;6;bredt\n1000;2026;8;total\n";
        let r = naervaer::import::import(&mut c, Kind::Targets, "t.csv", file.as_bytes(), false);
        assert_eq!(
            rejection(r),
            [
                "linje 3, kolonne 1 (unit_code): enheten «9999» finnes ikke; importer enhetene først",
                "linje 4, kolonne 2 (year): «tjue» er ikke et årstall (for eksempel 2026)",
                "linje 5, kolonne 3 (target_percent): «120» er ikke et måltall: en prosent fra 0 til 100 (7,5) eller «nasjonalt»",
                "linje 6, kolonne 4 (kind): «bredt» er ikke en type måltall (bruk total eller langtid)",
                "linje 7, kolonne 1 (unit_code): «1000 2026 total» står også på linje 2",
            ]
        );
        assert_eq!(dump(&mut c), before);
    }

    fn units_above_target_get_an_account_request_that_arrives_is_answered_and_reminded_twice_at_most(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let fu = follow_up(&mut c, &f);
        // Asked once per unit, kind and period: a second check asks nothing.
        let again = followup::check(&mut c, 5, 21).unwrap();
        assert_eq!(again.requested.accounts, 0, "{again:?}");
        // Every account is of a released unit above its target.
        let rates = rates_of(&mut c);
        let asked: Vec<(String, f64, f64)> = accounts::table
            .inner_join(naervaer::db::schema::units::table)
            .select((naervaer::db::schema::units::code, accounts::rate, accounts::target))
            .load(&mut c)
            .unwrap();
        for (code, rate, target) in &asked {
            let released = rates.iter().find(|(c, _)| c == code).and_then(|x| x.1);
            assert_eq!(released, Some(*rate), "{code}: only released units are asked");
            assert!(rate > target);
        }
        assert!(!asked.iter().any(|(code, _, _)| code == crate::results::SMALL), "the small unit is never asked");
        // The e-mails arrive in a real SMTP server, in the leader's language,
        // with a link to the account's form.
        let sink = SmtpSink::start();
        let s = settings(&t, &[("NAERVAER_SMTP_URL", &sink.url()), ("NAERVAER_OUTBOX_DIR", "")]);
        let mailer = naervaer::mail::Mailer::from_settings(&s).unwrap();
        let r = naervaer::mail::outbox::send_due(&t.pool(), &mailer, &s, &key()).unwrap();
        assert!(r.sent >= asked.len(), "{r:?}");
        let msgs = sink.messages();
        let ours = msgs.iter().find(|m| m.text().contains(&format!("/redegjorelse/{}/{}", fu.account, fu.token))).expect("the account's link arrived");
        assert!(ours.header("subject").contains("Redegj") || ours.header("subject").contains("Account") || ours.header("subject").contains("Utgreiing"), "{}", ours.header("subject"));
        // The form, in the person's browser: a bad answer names every
        // problem and keeps what was written; a good one is stored.
        let server = TestServer::start(&t);
        let path = format!("/redegjorelse/{}/{}", fu.account, fu.token);
        let page = http_cookie(server.addr, "GET", &format!("{path}?lang=nb"), "", None);
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Hva gjør enheten nå"), "{}", page.body);
        let wrong = http_cookie(server.addr, "GET", &format!("/redegjorelse/{}/{}", fu.account, "x".repeat(fu.token.len())), "", None);
        assert_eq!(wrong.status, 404, "another token opens nothing");
        let bad = http_cookie(server.addr, "POST", &format!("{path}?lang=nb"), "done_now=&planned=Mer+tilrettelegging&support=nav&support=rakettforskning", None);
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("Skriv hva enheten gjør nå") && bad.body.contains("Velg støtte fra listen"), "{}", bad.body);
        assert!(bad.body.contains("Mer tilrettelegging"), "what was written stays");
        let answered: Option<i64> = accounts::table.find(&fu.account).select(accounts::answered_at).get_result(&mut c).unwrap();
        assert!(answered.is_none(), "nothing stored from a bad answer");
        let good = http_cookie(server.addr, "POST", &format!("{path}?lang=nb"), "done_now=Dialogm%C3%B8te+null&planned=Innsatsgruppe&support=bht&support=nav&support_other=Veiledning", None);
        assert_eq!(good.status, 200, "{}", good.body);
        let a = followup::accounts::find(&mut c, &fu.account).unwrap().unwrap();
        assert_eq!((a.done_now.as_deref(), a.planned.as_deref(), a.support.as_deref()), (Some("Dialogmøte null"), Some("Innsatsgruppe"), Some("bht|nav")));
        // AMU's overview names it as answered, with its account.
        let amu = sign_in(&server, &mut c, &f.people[2].1);
        let overview = http_cookie(server.addr, "GET", "/oppfolging/over-mal?lang=nb", "", Some(&amu.0));
        assert_eq!(overview.status, 200);
        assert!(overview.body.contains("besvart") && overview.body.contains("Dialogmøte null"), "{}", overview.body);
        assert!(!overview.body.contains(&format!(">{}<", naervaer::demo::UNITS.iter().find(|u| u.0 == crate::results::SMALL).unwrap().2)), "the small unit is not named");
        // Reminders: none yet; a week before the due date the first, on it
        // the second, then never again — and never to the answered one.
        let reminders = |c: &mut DbConnection| outbox::table.filter(outbox::kind.eq("account_reminder")).count().get_result::<i64>(c).unwrap();
        assert_eq!(followup::accounts::remind_due(&mut c).unwrap(), 0);
        let due = |c: &mut DbConnection, days: i64| {
            let d = naervaer::rounds::today() + chrono::Duration::days(days);
            diesel::update(accounts::table)
                .set((accounts::due_on.eq(d.format("%Y-%m-%d").to_string()), accounts::last_reminded_at.eq(None::<i64>)))
                .execute(c)
                .unwrap();
        };
        due(&mut c, 7);
        let first = followup::accounts::remind_due(&mut c).unwrap();
        assert!(first > 0);
        assert_eq!(followup::accounts::remind_due(&mut c).unwrap(), 0, "one a day at most");
        due(&mut c, 0);
        let second = followup::accounts::remind_due(&mut c).unwrap();
        assert_eq!(second, first, "the second goes to the same leaders");
        due(&mut c, -3);
        assert_eq!(followup::accounts::remind_due(&mut c).unwrap(), 0, "two reminders at most");
        let to_answered: i64 = outbox::table
            .filter(outbox::kind.eq("account_reminder"))
            .filter(outbox::account_id.eq(&fu.account))
            .count()
            .get_result(&mut c)
            .unwrap();
        assert_eq!(to_answered, 0, "no reminder for an answered account");
        assert_eq!(reminders(&mut c) as usize, first + second);
    }

    fn a_leader_sets_their_own_target_and_measures_and_nothing_of_another_unit(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        let fu = follow_up(&mut c, &f);
        let server = TestServer::start(&t);
        let (cookie, csrf) = sign_in(&server, &mut c, &f.people[0].1);
        let own = &f.unit["1200"];
        let other = &f.unit["1100"];
        let post = |path: &str, body: &str| http_cookie(server.addr, "POST", path, &format!("csrf={csrf}&{body}"), Some(&cookie));
        assert_eq!(post(&format!("/oppfolging/enheter/{own}/maal"), "year=2026&kind=long_term&value=2%2C5").status, 303);
        let stored: Option<f64> = absence_targets::table
            .filter(absence_targets::unit_id.eq(own))
            .filter(absence_targets::kind.eq("long_term"))
            .select(absence_targets::percent)
            .get_result(&mut c)
            .unwrap();
        assert_eq!(stored, Some(2.5));
        let bad = post(&format!("/oppfolging/enheter/{own}/maal?lang=nb"), "year=2026&kind=total&value=mye");
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("«mye» er ikke et måltall"), "{}", bad.body);
        assert_eq!(post(&format!("/oppfolging/enheter/{other}/maal"), "year=2026&kind=total&value=5").status, 403);
        // A measure with every problem named, then a good one.
        let bad = post(&format!("/oppfolging/enheter/{own}/tiltak?lang=nb"), "title=&type_key=trylleformel&started_on=i+morgen&status=&factor=");
        assert_eq!(bad.status, 400);
        for m in ["Beskriv tiltaket", "ukjent tiltakstype «trylleformel»", "Startdatoen må være en dato"] {
            assert!(bad.body.contains(m), "{m}: {}", bad.body);
        }
        let n = |c: &mut DbConnection| measures::table.count().get_result::<i64>(c).unwrap();
        let before = n(&mut c);
        assert_eq!(post(&format!("/oppfolging/enheter/{own}/tiltak"), "title=Leder+f%C3%B8r+lege+i+Oppvekst&type_key=leder_for_lege&started_on=2026-03-01&ended_on=&responsible=Enhetsleder&status=ongoing&factor=mestringsorientert_ledelse").status, 303);
        assert_eq!(n(&mut c), before + 1);
        let m = followup::measures::all(&mut c).unwrap().into_iter().find(|m| m.title == "Leder før lege i Oppvekst").unwrap();
        assert_eq!(m.factor.as_deref(), Some("10-faktor/mestringsorientert_ledelse"), "a bare factor key is found in its questionnaire");
        assert_eq!(post(&format!("/oppfolging/tiltak/{}/status", fu.measure), "status=done").status, 303);
        assert_eq!(followup::measures::find(&mut c, &fu.measure).unwrap().unwrap().status, followup::measures::Status::Done);
        assert_eq!(post(&format!("/oppfolging/enheter/{other}/tiltak"), "title=X&type_key=bht&started_on=2026-03-01").status, 403);
        // The unit page: the rate beside the target; the register: only
        // the leader's own units.
        let page = http_cookie(server.addr, "GET", &format!("/oppfolging/enheter/{own}?lang=nb"), "", Some(&cookie));
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Mål langtid") && page.body.contains("2,5\u{a0}%"), "{}", page.body);
        let register = http_cookie(server.addr, "GET", "/tiltak?lang=nb", "", Some(&cookie));
        assert!(register.body.contains("Leder før lege i Oppvekst"));
        let other_leader = sign_in(&server, &mut c, &f.people[1].1);
        let theirs = http_cookie(server.addr, "GET", "/tiltak?lang=nb", "", Some(&other_leader.0));
        assert!(!theirs.body.contains("Leder før lege i Oppvekst"), "another leader does not see them");
        let unit_page = http_cookie(server.addr, "GET", &format!("/oppfolging/enheter/{own}"), "", Some(&other_leader.0));
        assert_eq!(unit_page.status, 403);
    }

    fn measures_import_into_the_register_and_a_bad_file_changes_nothing(t) {
        let mut c = t.conn();
        import_text(&mut c, Kind::Units, crate::UNITS, false).unwrap();
        let file = "\u{feff}enhetskode;tiltak;type;start;slutt;ansvarlig;faktor\r\n1110;Dialogmøte null for alle;dialogmote_null;01.02.2026;;Enhetsleder;\r\n1200;\"Innsatsgruppe\r\nfor langtidssykmeldte\";Innsatsgruppe;2025-09-01;2026-03-31;HR;rolleklarhet\r\n";
        let o = naervaer::import::import(&mut c, Kind::Measures, "m.csv", file.as_bytes(), false).unwrap();
        assert_eq!(o.diff.added.len(), 2, "{:?}", o.diff);
        let again = naervaer::import::import(&mut c, Kind::Measures, "m.csv", file.as_bytes(), false).unwrap();
        assert!(again.diff.is_empty(), "the same file adds nothing: {:?}", again.diff);
        let all = followup::measures::all(&mut c).unwrap();
        let ig = all.iter().find(|m| m.type_key == "innsatsgruppe").unwrap();
        assert_eq!(ig.status, followup::measures::Status::Done, "ended before today");
        assert_eq!(ig.factor.as_deref(), Some("10-faktor/rolleklarhet"));
        let before = dump(&mut c);
        let far = (naervaer::rounds::today() + chrono::Months::new(14)).format("%Y-%m-%d");
        let bad = format!("unit_code;title;type;started_on;ended_on;factor\n9999;A;bht;2026-01-01;;\n1110;;bht;2026-01-01;;\n1110;C;trylleformel;2026-01-01;;\n1110;D;bht;2026-05-01;2026-04-01;\n1110;E;bht;{far};;\n1110;F;bht;2026-01-01;;trivsel\n1110;G;bht;31.13.2026;;\n");
        let r = naervaer::import::import(&mut c, Kind::Measures, "m.csv", bad.as_bytes(), false);
        assert_eq!(
            rejection(r),
            [
                "linje 2, kolonne 1 (unit_code): enheten «9999» finnes ikke; importer enhetene først",
                "linje 3, kolonne 2 (title): Beskriv tiltaket.",
                "linje 4, kolonne 3 (type): ukjent tiltakstype «trylleformel»: velg en fra katalogen, eller be en administrator legge den til",
                "linje 5, kolonne 5 (ended_on): sluttdatoen er før startdatoen",
                "linje 6, kolonne 4 (started_on): startdatoen er mer enn ett år fram i tid",
                "linje 7, kolonne 6 (factor): ukjent faktor «trivsel»",
                "linje 8, kolonne 4 (started_on): Startdatoen må være en dato (åååå-mm-dd eller dd.mm.åååå), ikke «31.13.2026»",
            ]
        );
        assert_eq!(dump(&mut c), before);
    }

    fn the_national_reference_reads_ssb_files_as_downloaded(t) {
        let mut c = t.conn();
        // Quarters down a column, SSB's title lines above the header.
        let long = "\"12441: Sykefravær for lønnstakere, etter kjønn, sykefraværstype, statistikkvariabel og kvartal\"\r\n\r\n\"kjønn\";\"sykefraværstype\";\"kvartal\";\"Sykefraværsprosent\"\r\n\"Begge kjønn\";\"Egenmeldt og legemeldt\";\"2025K1\";6,9\r\n\"Begge kjønn\";\"Egenmeldt og legemeldt\";\"2025K2\";6,3\r\n\"Begge kjønn\";\"Legemeldt\";\"2025K1\";5,6\r\n\"Begge kjønn\";\"Egenmeldt\";\"2025K1\";..\r\n";
        let o = naervaer::import::import(&mut c, Kind::National, "12441.csv", long.as_bytes(), false).unwrap();
        assert_eq!(o.diff.added.len(), 3, "{:?}", o.diff);
        let rates = followup::national::NationalRates::load(&mut c).unwrap();
        let q1 = followup::national::Quarter::parse("2025K1").unwrap();
        assert_eq!(rates.0.get(&(q1, followup::national::Measure::Total)), Some(&6.9));
        assert_eq!(rates.0.get(&(q1, followup::national::Measure::DoctorCertified)), Some(&5.6));
        // The national level over a period weighs the quarters by days.
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let level = followup::national::level(&rates, followup::national::Measure::Total, (d("2025-03-01"), d("2025-04-30"))).unwrap();
        assert!((level - (6.9 * 31.0 + 6.3 * 30.0) / 61.0).abs() < 1e-12, "{level}");
        assert_eq!(followup::national::level(&rates, followup::national::Measure::Total, (d("2025-06-01"), d("2025-07-31"))), None, "no figure for the third quarter");
        // Quarters across the header.
        let wide = "Sykefravær;;\nsykefraværstype;Sykefraværsprosent 2025K3;Sykefraværsprosent 2025K4\nEgenmeldt og legemeldt;6,1;7,0\nLegemeldt;4,9;5,5\n";
        let o = naervaer::import::import(&mut c, Kind::National, "wide.csv", wide.as_bytes(), false).unwrap();
        assert_eq!(o.diff.added.len(), 4, "{:?}", o.diff);
        // Two rows for one quarter (two sexes chosen) are refused, located.
        let before = dump(&mut c);
        let twice = "kjønn;sykefraværstype;kvartal;Sykefraværsprosent\nMenn;Egenmeldt og legemeldt;2024K1;5,0\nKvinner;Egenmeldt og legemeldt;2024K1;8,0\nMenn;Egenmeldt og legemeldt;2024K9;5,0\n";
        let r = naervaer::import::import(&mut c, Kind::National, "x.csv", twice.as_bytes(), false);
        assert_eq!(
            rejection(r),
            [
                "linje 3, kolonne 3 (kvartal): 2024K1 (total) står også på linje 2; velg ett kjønn og én næring i statistikkbanken",
                "linje 4, kolonne 3 (kvartal): «2024K9» er ikke et kvartal (2025K3)",
            ]
        );
        let r = naervaer::import::import(&mut c, Kind::National, "x.csv", b"a;b\n1;2\n", false);
        assert!(rejection(r)[0].contains("fant ingen kolonne med kvartaler"));
        assert_eq!(dump(&mut c), before);
    }
}

both_backends! {
    fn the_follow_up_commands_import_check_remind_estimate_and_report(t) {
        use crate::cli::naervaer;
        let mut c = t.conn();
        let f = closed_round(&mut c);
        absence_for_the_year(&mut c);
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.to_str().unwrap().to_string()
        };
        let year = chrono::Datelike::year(&naervaer::rounds::today());
        let targets = file("targets.csv", &format!("unit_code;year;target_percent\n1000;{year};0,5\n"));
        let (code, out, err) = naervaer(Some(&t), &["import", "targets", &targets, "--dry-run"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("Prøvekjøring") && !out.contains("enheter med måltall"), "{out}");
        assert_eq!(absence_targets::table.count().get_result::<i64>(&mut c).unwrap(), 0);
        let (code, out, err) = naervaer(Some(&t), &["import", "targets", &targets]);
        assert_eq!(code, 0, "{out}{err}");
        // After a targets import the units above them are asked at once.
        assert!(out.contains("enheter med måltall") && out.contains("nye redegjørelser bedt om"), "{out}");
        let asked = accounts::table.count().get_result::<i64>(&mut c).unwrap();
        assert!(asked > 0);
        let (code, out, _) = naervaer(Some(&t), &["followup", "check"]);
        assert_eq!(code, 0);
        assert!(out.contains("0 nye redegjørelser"), "asked once: {out}");
        let (code, out, _) = naervaer(Some(&t), &["followup", "remind"]);
        assert_eq!(code, 0);
        assert!(out.contains("0 påminnelser"), "{out}");
        let measures_file = file("measures.csv", "unit_code;title;type;started_on\n1210;Dialogmøte null;dialogmote_null;2026-01-15\n9999;Feil;bht;2026-01-15\n");
        let (code, _, err) = naervaer(Some(&t), &["import", "measures", &measures_file]);
        assert_eq!(code, 1);
        assert!(err.contains("linje 3, kolonne 1 (unit_code): enheten «9999» finnes ikke"), "{err}");
        let good = file("measures2.csv", "unit_code;title;type;started_on\n1210;Dialogmøte null;dialogmote_null;2026-01-15\n");
        assert_eq!(naervaer(Some(&t), &["import", "measures", &good]).0, 0);
        let national = file("ssb.csv", "kvartal;Sykefraværsprosent\n2025K1;6,9\n2025K2;6,3\n");
        let (code, out, err) = naervaer(Some(&t), &["import", "national", &national]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("2025K1 total"), "{out}");
        let (code, out, err) = naervaer(Some(&t), &["effect", "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(v.as_array().unwrap().iter().any(|e| e["type"] == "dialogmote_null"), "{out}");
        let (code, out, _) = naervaer(Some(&t), &["effect"]);
        assert_eq!(code, 0);
        assert!(out.contains("Dialogmøte null") && out.contains("valgte tiltakene selv"), "{out}");
        let html = dir.path().join("t.html");
        let (code, _, err) = naervaer(Some(&t), &["report", "tertial", "--out", html.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        let page = std::fs::read_to_string(&html).unwrap();
        assert!(page.contains("Tertialrapport") && page.contains("Enheter over måltall"), "{page}");
        let xlsx = dir.path().join("ia.xlsx");
        let (code, _, err) = naervaer(Some(&t), &["report", "ia", "--period", &format!("{year}H1"), "--format", "xlsx", "--out", xlsx.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        use calamine::Reader;
        let book = calamine::open_workbook_auto(&xlsx).unwrap();
        assert!(book.sheet_names().len() >= 4, "{:?}", book.sheet_names());
        let (code, _, err) = naervaer(Some(&t), &["report", "tertial", "--period", "2026T7"]);
        assert_eq!(code, 1);
        assert!(!err.is_empty());
        let _ = f;
    }
}
