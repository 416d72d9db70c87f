//! Which absence the AMU analysis reads: the 12 months before the day the
//! round really closed, and, when the imported absence does not cover
//! them, a plain statement of that with a window that has data, on the
//! page, on the command line and in the JSON.

use crate::both_backends;
use crate::results::{closed_round, sign_in};
use crate::support::{http_cookie, TestServer};
use chrono::{Datelike, Duration, Months, NaiveDate};
use diesel::prelude::*;
use naervaer::analysis::{self, CoverageStatus, NoCoefficients, Window};
use naervaer::db::DbConnection;
use naervaer::lang::Lang;
use naervaer::rounds::{self, Round};

/// Monthly absence for every demo unit with people: `months` calendar
/// months up to the one holding `end`, that one only up to `end`.
fn absence_months(c: &mut DbConnection, end: NaiveDate, months: u32) {
    let mut csv = String::from("unit_code;period_start;period_end;agreed_workdays;lost_workdays\n");
    let month_of_end = end.with_day(1).unwrap();
    for (i, (code, _, _, people)) in naervaer::demo::UNITS.iter().filter(|u| u.3 > 0).enumerate() {
        for m in 0..months {
            let first = month_of_end - Months::new(m);
            let last = (first + Months::new(1) - chrono::Days::new(1)).min(end);
            let agreed = *people as f64 * 21.0;
            let lost = agreed * (0.03 + 0.002 * ((i * 7 + m as usize) % 20) as f64);
            csv += &format!("{code};{first};{last};{agreed};{lost:.1}\n");
        }
    }
    naervaer::import::import(
        c,
        naervaer::import::Kind::Absence,
        "a.csv",
        csv.as_bytes(),
        false,
    )
    .unwrap();
}

fn analyse(
    c: &mut DbConnection,
    round: &naervaer::ids::RoundId,
    window: Window,
) -> analysis::Analysis {
    analysis::run(
        c,
        &naervaer::cache::Cache::none(),
        round,
        window,
        None,
        Lang::Nb,
    )
    .unwrap()
}

both_backends! {
    fn a_round_closed_by_hand_is_analysed_against_the_day_it_closed(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        // Planned to close in two months; closed by hand today.
        diesel::update(naervaer::db::schema::rounds::table.find(&f.round))
            .set(naervaer::db::schema::rounds::closes_on.eq((rounds::today() + Duration::days(60)).to_string()))
            .execute(&mut c)
            .unwrap();
        assert_eq!(Round::find(&mut c, &f.round).unwrap().last_day(), rounds::today());
        absence_months(&mut c, rounds::today(), 13);
        let a = analyse(&mut c, &f.round, Window::Before);
        assert_eq!(a.window_to, rounds::today(), "not the planned day");
        assert_eq!(a.window_from, rounds::today() - Months::new(12) + chrono::Days::new(1));
        assert_eq!(a.coverage.status, CoverageStatus::Full);
        assert_eq!(a.reason, None);
        assert!(!a.too_few && a.groups.len() >= 10, "{} groups", a.groups.len());
        assert!(!a.summary.text.contains("Importert"), "{}", a.summary.text);
    }

    fn a_window_without_absence_says_so_and_offers_the_latest_twelve_months(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        // Absence was imported for an older year only.
        let old_end = NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
        absence_months(&mut c, old_end, 12);
        let a = analyse(&mut c, &f.round, Window::Before);
        assert!(a.too_few);
        assert_eq!(a.reason, Some(NoCoefficients::NoAbsenceInWindow));
        assert_eq!(a.coverage.status, CoverageStatus::None);
        let first = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        assert_eq!(a.coverage.periods, vec![(first, old_end)]);
        assert_eq!(a.coverage.suggested, Some((first, old_end)));
        let text = &a.summary.text;
        assert!(text.contains("Det er ikke importert sykefravær for perioden"), "{text}");
        assert!(text.contains("Importert fravær dekker 01.01.2024–31.12.2024."), "{text}");
        assert!(text.contains("de siste 12 månedene med data: 01.01.2024–31.12.2024"), "{text}");
        assert!(!text.contains("for få enheter"), "the reason is no data, not too few units: {text}");

        // The command line: the same in its text, and a machine-readable reason.
        let (code, out, err) = crate::cli::naervaer(Some(&t), &["analyse", "--round", &f.round, "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(json["reason"], "no_absence_in_window");
        assert_eq!(json["coverage"]["status"], "none");
        assert_eq!(json["coverage"]["periods"][0], serde_json::json!(["2024-01-01", "2024-12-31"]));
        assert_eq!(json["coverage"]["suggested"], serde_json::json!(["2024-01-01", "2024-12-31"]));
        let (_, text_out, _) = crate::cli::naervaer(Some(&t), &["analyse", "--round", &f.round]);
        assert!(text_out.contains("Det er ikke importert sykefravær for perioden"), "{text_out}");
        let (code, out, _) = crate::cli::naervaer(Some(&t), &["analyse", "--round", &f.round, "--format", "json", "--window", "2024-01-01..2024-12-31"]);
        assert_eq!(code, 0);
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(json["reason"], serde_json::Value::Null);
        assert_eq!(json["coverage"]["status"], "full");

        // The AMU page: one click to the window with data.
        let server = TestServer::start(&t);
        let (cookie, _) = sign_in(&server, &mut c, &f.people[2].1);
        let page = http_cookie(server.addr, "GET", &format!("/amu?round={}&lang=nb", f.round), "", Some(&cookie));
        assert_eq!(page.status, 200);
        let link = format!("/amu?round={}&amp;window=2024-01-01..2024-12-31&amp;lang=nb", f.round);
        assert!(page.body.contains(&link), "{}", page.body);
        let with_data = http_cookie(server.addr, "GET", &link.replace("&amp;", "&"), "", Some(&cookie));
        assert_eq!(with_data.status, 200);
        assert!(with_data.body.contains("Alle faktorer"), "coefficients for the window with data");
        assert!(with_data.body.contains("selected>01.01.2024–31.12.2024"), "the chosen window stays chosen");
    }

    fn a_partly_covered_window_says_which_part_has_data(t) {
        let mut c = t.conn();
        let f = closed_round(&mut c);
        // Only the last four months before the round.
        absence_months(&mut c, rounds::today(), 4);
        let a = analyse(&mut c, &f.round, Window::Before);
        assert_eq!(a.coverage.status, CoverageStatus::Partial);
        assert!(a.summary.text.contains("Importert sykefravær dekker bare deler av perioden"), "{}", a.summary.text);
        assert_eq!(a.coverage.periods.last().unwrap().1, rounds::today());
        assert_eq!(a.coverage.suggested, None, "the latest 12 months with data are this window");
        // A window after the round, where nothing is imported yet.
        let after = analyse(&mut c, &f.round, Window::After);
        assert_eq!(after.reason, Some(NoCoefficients::NoAbsenceInWindow));
        let first = rounds::today().with_day(1).unwrap() - Months::new(3);
        assert_eq!(after.coverage.suggested, Some((rounds::today() - Months::new(12) + chrono::Days::new(1), rounds::today())));
        assert_eq!(after.coverage.periods, vec![(first, rounds::today())]);
    }
}

both_backends! {
    fn the_comparison_with_the_previous_round_is_that_rounds_own_r(t) {
        use naervaer::cache::Cache;
        let mut c = t.conn();
        naervaer::demo::seed(&mut c).unwrap();
        let key = naervaer::crypto::SecretKey::new(&naervaer::crypto::SecretKey::generate()).unwrap();
        let r = naervaer::demo::seed_rounds(&mut c, &key, 5, 21, false).unwrap();
        let run = |c: &mut DbConnection, round: &naervaer::ids::RoundId, cache: &Cache| {
            analysis::run(c, cache, round, Window::Before, None, Lang::Nb).unwrap()
        };
        let snapshot = naervaer::snapshot::load(&mut c, &r.closed_round).unwrap().unwrap();
        let prev_id = snapshot.previous_round.clone().expect("last year's round");
        // Which round came before is read from the head of the stored
        // scores, before they are parsed (the analysis reads that round
        // meanwhile).
        let read = naervaer::snapshot::read_scores(&mut c, &Cache::none(), &r.closed_round).unwrap().unwrap();
        assert_eq!(read.previous_round(), Some(Some(prev_id.clone())));
        let a = run(&mut c, &r.closed_round, &Cache::none());
        let previous = a.previous.as_ref().expect("a comparison");
        assert_eq!(previous.round_id, prev_id);
        // What it shows (computed on the other core) is last year's
        // analysis's own r per factor.
        let p = run(&mut c, &prev_id, &Cache::none());
        assert_eq!(previous.groups, p.groups.len());
        let expected: Vec<Option<f64>> = a
            .factors
            .iter()
            .map(|f| {
                let x = p.factors.iter().find(|x| x.survey == f.survey && x.key == f.key)?;
                x.ranked(p.within_used).map(|c| c.r)
            })
            .collect();
        assert_eq!(previous.r, expected);
        assert!(expected.iter().filter(|r| r.is_some()).count() >= 5, "{expected:?}");
        // The same from a cache that holds both rounds' scores already.
        let json = serde_json::to_string(&a).unwrap();
        let cache = Cache::new(100, 1 << 28);
        run(&mut c, &r.closed_round, &cache);
        assert_eq!(serde_json::to_string(&run(&mut c, &r.closed_round, &cache)).unwrap(), json);
        assert!(cache.stats().hits >= 2, "{:?}", cache.stats().hits);
        let cached = naervaer::snapshot::read_scores(&mut c, &cache, &r.closed_round).unwrap().unwrap();
        assert!(matches!(cached, naervaer::snapshot::ScoresRead::Ready(_)));
        assert_eq!(cached.previous_round(), Some(Some(prev_id.clone())));
        // The first round compares with none.
        let first = naervaer::snapshot::load(&mut c, &prev_id).unwrap().unwrap().previous_round.clone().expect("two years ago");
        assert!(run(&mut c, &first, &Cache::none()).previous.is_none());
    }
}
