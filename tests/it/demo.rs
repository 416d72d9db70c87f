use crate::both_backends;
use diesel::prelude::*;
use naervaer::db::models::{Employee, Unit};
use naervaer::demo;

#[test]
fn the_demo_is_the_same_every_time_and_shaped_like_a_municipality() {
    let a = demo::generate(demo::SEED);
    let b = demo::generate(demo::SEED);
    assert_eq!(
        a.employees_csv, b.employees_csv,
        "a fixed seed gives the same municipality"
    );
    assert_ne!(
        a.employees_csv,
        demo::generate(demo::SEED + 1).employees_csv
    );
    assert_eq!(a.employees, 800);
    let areas = demo::UNITS.iter().filter(|u| u.1 == "1000").count();
    assert_eq!(areas, 4);
    assert!(demo::UNITS.len() >= 40);
    let leaves_small = demo::UNITS
        .iter()
        .filter(|u| (1..=4).contains(&u.3))
        .count();
    assert!(leaves_small >= 5, "units of one to four people must exist");
    assert!(demo::UNITS.iter().any(|u| u.3 >= 50), "and large ones");
}

both_backends! {
    fn the_demo_loads_through_the_importers(t) {
        let mut c = t.conn();
        demo::seed(&mut c).unwrap();
        assert_eq!(Unit::all(&mut c).unwrap().len(), demo::UNITS.len());
        let people = Employee::all(&mut c).unwrap();
        assert_eq!(people.len(), 800);
        let mut amu = 0;
        let mut admin = 0;
        let mut multi_leader = 0;
        for p in &people {
            let roles = Employee::roles(&mut c, &p.id).unwrap();
            amu += roles.iter().filter(|r| *r == "amu").count();
            admin += roles.iter().filter(|r| *r == "admin").count();
            if Employee::led_unit_ids(&mut c, &p.id).unwrap().len() > 1 {
                multi_leader += 1;
            }
        }
        assert_eq!((amu, admin), (6, 2));
        assert!(multi_leader >= 2, "some people lead several units");
        assert!(people.iter().any(|p| p.email.is_none()), "some get paper letters");
        assert!(people.iter().any(|p| p.language == "nn") && people.iter().any(|p| p.language == "en"));
    }
}

both_backends! {
    fn the_demos_follow_up_tells_a_true_story(t) {
        use naervaer::followup::{self, effect, report};
        let mut c = t.conn();
        demo::seed(&mut c).unwrap();
        let key = naervaer::crypto::SecretKey::new(&naervaer::crypto::SecretKey::generate()).unwrap();
        let r = demo::seed_rounds(&mut c, &key, 5, 21, true).unwrap();
        // Staff with only a mobile number get their link by SMS.
        assert!(r.open_by_sms >= 10, "{}", r.open_by_sms);
        // Three closed rounds: a unit's trend has three points, beside the
        // norms for its unit type.
        let round = naervaer::rounds::Round::find(&mut c, &r.closed_round).unwrap();
        let snapshot = naervaer::snapshot::load(&mut c, &r.closed_round).unwrap().unwrap();
        let surveys = round.surveys(&mut c).unwrap();
        let school: String = naervaer::db::schema::units::table
            .filter(naervaer::db::schema::units::code.eq("1210"))
            .select(naervaer::db::schema::units::id)
            .first(&mut c)
            .unwrap();
        let report = naervaer::results::unit_report(&round, &snapshot, &surveys, &school.as_str().into(), naervaer::lang::Lang::Nb).unwrap();
        let report = naervaer::results::compare::attach(&mut c, &naervaer::cache::Cache::none(), &round, report).unwrap();
        let trend = report.trend.as_ref().expect("a trend");
        assert_eq!(trend.rounds.len(), 3);
        assert!(trend.factors.iter().all(|f| f.means.iter().all(Option::is_some)), "{trend:?}");
        assert_eq!(report.unit_type.as_deref(), Some("skole"));
        assert!(report.factors.iter().filter(|f| f.survey == "10-faktor").all(|f| f.norms.len() == 2));
        let f = &r.followup;
        assert_eq!(f.measures, demo::MEASURES.len());
        assert!(f.national_quarters >= 8);
        assert!(f.above >= 3 && f.accounts == f.above, "{f:?}");
        assert!(f.answered >= 1 && f.answered < f.accounts, "{f:?}");
        // The unit of three with its own target is never compared.
        let (_, tree, _, standings) = followup::latest_standings(&mut c, 5).unwrap().unwrap();
        let small = tree.by_code("1260").unwrap();
        assert!(standings.iter().all(|s| s.unit != small));
        assert!(standings.iter().any(|s| s.national), "the long-term target is the national level");
        // The measure that works is found; the one that does not is not
        // called effective, and its interval covers no effect.
        let data = effect::data(&mut c, 5).unwrap().unwrap();
        let all = effect::estimate_all(&data, 5);
        let of = |key: &str| all.iter().find(|e| e.type_key == key).unwrap().pooled.clone().unwrap();
        let works = of("leder_for_lege");
        let (lo, hi) = works.interval.unwrap();
        assert!(lo <= -1.5 && (-1.5..0.0).contains(&hi), "{lo}..{hi}");
        let none = of("innsatsgruppe");
        let (lo, hi) = none.interval.unwrap();
        assert!(lo <= 0.0 && 0.0 <= hi, "{lo}..{hi}");
        // The survey side: role clarity rose more where it was worked on.
        let (_, side) = effect::survey_side(&mut c).unwrap();
        let role = side.iter().find(|s| s.factor.ends_with("rolleklarhet")).unwrap();
        assert!(role.with >= 2 && role.without >= 5, "{role:?}");
        assert!(role.difference.as_ref().unwrap().diff > 0.0, "{role:?}");
        // Both reports have the story in them.
        for kind in [report::ReportKind::Tertial, report::ReportKind::Ia] {
            let period = report::latest(&mut c, kind).unwrap();
            let rep = report::build(&mut c, period, 5, naervaer::lang::Lang::Nb).unwrap();
            assert!(rep.has_data && rep.national_total.is_some());
            assert!(!rep.above.is_empty() && rep.above.iter().any(|a| a.answered));
            assert!(rep.effects.iter().any(|e| e.type_key == "leder_for_lege" && e.pooled.is_some()));
        }
    }
}

/// The demo seeded with its rounds: the id of its latest closed round.
fn demo_closed_round(c: &mut naervaer::db::DbConnection) -> naervaer::ids::RoundId {
    demo::seed(c).unwrap();
    let key = naervaer::crypto::SecretKey::new(&naervaer::crypto::SecretKey::generate()).unwrap();
    demo::seed_rounds(c, &key, 5, 21, true)
        .unwrap()
        .closed_round
}

both_backends! {
    fn the_amu_trend_shows_each_areas_target_its_own_inherited_or_the_national_level(t) {
        use naervaer::db::schema::units;
        use naervaer::register::targets::{self, Kind, Value};
        let mut c = t.conn();
        let round = demo_closed_round(&mut c);
        let cache = naervaer::cache::Cache::default();
        // Each area's target in the trend, by the area's code.
        let targets = |c: &mut naervaer::db::DbConnection| {
            let shown = naervaer::analysis::cached(c, &cache, &round, "before", None, naervaer::lang::Lang::Nb).unwrap();
            let trend = &shown.1;
            assert_eq!(trend.areas.len(), trend.targets.len());
            let by_code: std::collections::BTreeMap<&str, Option<f64>> = trend
                .areas
                .iter()
                .zip(&trend.targets)
                .map(|((name, _), target)| {
                    let code = demo::UNITS.iter().find(|u| u.2 == name).unwrap_or_else(|| panic!("{name}")).0;
                    (code, *target)
                })
                .collect();
            (format!("{by_code:?}"), trend.national)
        };
        // The demo's targets file: the organisation (1000) 6,5, areas 1100
        // and 1300 their own 7,5 and 5,5; 1200 and 1400 inherit 6,5.
        let (shown, national) = targets(&mut c);
        assert_eq!(shown, r#"{"1100": Some(7.5), "1200": Some(6.5), "1300": Some(5.5), "1400": Some(6.5)}"#);
        let national = national.expect("the demo imports SSB's quarters");
        // An area set to the national level shows it; the analysis shown
        // before is not served again from the cache.
        let area: naervaer::ids::UnitId = units::table
            .filter(units::code.eq("1200"))
            .select(units::id)
            .first::<String>(&mut c)
            .unwrap()
            .as_str()
            .into();
        let year = chrono::Datelike::year(&naervaer::rounds::today());
        for y in [year - 1, year] {
            targets::set(&mut c, &area, y, Kind::Total, Some(Value::National)).unwrap();
        }
        let (shown, again) = targets(&mut c);
        assert_eq!(again, Some(national));
        assert_eq!(shown, format!(r#"{{"1100": Some(7.5), "1200": Some({national:?}), "1300": Some(5.5), "1400": Some(6.5)}}"#));
        assert!((4.0..12.0).contains(&national), "{national}");
        // New national rates are seen at once.
        use naervaer::register::national::{self, Measure, Quarter};
        let rows: Vec<(Quarter, Measure, f64)> = (year - 2..=year)
            .flat_map(|y| (1..=4).map(move |q| (Quarter { year: y, q }, Measure::Total, 9.9)))
            .collect();
        national::store(&mut c, &rows, "test").unwrap();
        let (shown, again) = targets(&mut c);
        assert_eq!(again, Some(9.9));
        assert!(shown.contains(r#""1200": Some(9.9)"#), "{shown}");
        // Two changes within the same second are both seen.
        for value in [7.0, 8.0, 7.0, 8.0] {
            targets::set(&mut c, &area, year, Kind::Total, Some(Value::Percent(value))).unwrap();
            let (shown, _) = targets(&mut c);
            assert!(shown.contains(&format!(r#""1200": Some({value:?})"#)), "{value}: {shown}");
        }
        // Without its own target, an area moved under another area
        // inherits that one's (the tree is read as it is now).
        for y in [year - 1, year] {
            targets::set(&mut c, &area, y, Kind::Total, None).unwrap();
        }
        assert!(targets(&mut c).0.contains(r#""1200": Some(6.5)"#));
        let moved = demo::generate(demo::SEED).units_csv.replace("\n1200;1000;", "\n1200;1100;");
        assert_ne!(moved, demo::generate(demo::SEED).units_csv);
        naervaer::import::import(&mut c, naervaer::import::Kind::Units, "enheter.csv", moved.as_bytes(), false).unwrap();
        assert!(targets(&mut c).0.contains(r#""1200": Some(7.5)"#), "{}", targets(&mut c).0);
        // And a targets file, at once.
        let file = format!("enhetskode;år;måltall;type\n1400;{year};9;total\n");
        crate::import_text(&mut c, naervaer::import::Kind::Targets, &file, false).unwrap();
        assert!(targets(&mut c).0.contains(r#""1400": Some(9.0)"#), "{}", targets(&mut c).0);
    }

    fn the_amu_analysis_follows_a_raise_of_the_previous_rounds_k(t) {
        let mut c = t.conn();
        let round = demo_closed_round(&mut c);
        let cache = naervaer::cache::Cache::default();
        // The previous round's groups and r beside this round's, as cached
        // and as computed anew.
        let previous = |c: &mut naervaer::db::DbConnection, cache: &naervaer::cache::Cache| {
            let shown = naervaer::analysis::cached(c, cache, &round, "before", None, naervaer::lang::Lang::Nb).unwrap();
            let p = shown.0.previous.as_ref().expect("the demo's closed round has a previous one");
            (p.round_id.clone(), p.groups, format!("{:?}", p.r))
        };
        // This round shows only its larger groups, so a raise of the
        // previous round's k can hide groups this round shows no change
        // for: this round's snapshot, and its revision, stay as they are.
        naervaer::rounds::raise_k(&mut c, &round, 12).unwrap();
        let (previous_id, groups, _) = previous(&mut c, &cache);
        assert!(groups > 2, "{groups}");
        let revision = |c: &mut naervaer::db::DbConnection| naervaer::snapshot::revision(c, &round).unwrap();
        let mut k = naervaer::snapshot::load(&mut c, &previous_id).unwrap().unwrap().k;
        let mut unchanged_revision = 0;
        while k < 12 {
            let before = (revision(&mut c), previous(&mut c, &cache).1);
            k += 1;
            naervaer::rounds::raise_k(&mut c, &previous_id, k).unwrap();
            let fresh = previous(&mut c, &naervaer::cache::Cache::none());
            assert_eq!(previous(&mut c, &cache), fresh, "k = {k}");
            if fresh.1 < before.1 && revision(&mut c) == before.0 {
                unchanged_revision += 1;
            }
        }
        assert!(unchanged_revision > 0, "every raise that hid a group also withdrew a change");
    }
}
