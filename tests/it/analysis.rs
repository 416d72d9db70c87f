//! The AMU analysis: a planted effect is found, absence is protected by the
//! engine, and the text follows STATISTICS.md.

use naervaer::analysis::{self, Sums};
use naervaer::lang::Lang;
use naervaer::rounds::answer::{item_field, stored_texts, Answers};
use naervaer::snapshot::compute::{compute, Input, RawResponse, TreeUnit};
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

const DRIVERS: [&str; 2] = ["rolleklarhet", "mestringsklima"];

fn survey() -> naervaer::survey::Survey {
    naervaer::survey::load(std::path::Path::new("surveys/10-faktor.toml")).unwrap()
}

fn round() -> naervaer::rounds::Round {
    naervaer::rounds::Round {
        id: "r".into(),
        title: "Planted".into(),
        status: "closed".into(),
        root_unit_id: None,
        opens_on: "2026-10-01".into(),
        closes_on: "2026-10-31".into(),
        min_group_size: 5,
        created_at: 0,
        opened_at: None,
        closed_at: None,
        delivery: "email".into(),
    }
}

/// Root, 4 areas, 10 units each with 12 respondents. Every unit has its
/// own climate on every factor; absence depends on the two DRIVERS only
/// (plus an area base and noise). Units 0, 4, 8, ... are built to be at
/// risk: low on both drivers.
fn planted(
    seed: u64,
) -> (
    naervaer::snapshot::Snapshot,
    HashMap<String, Sums>,
    Vec<String>,
) {
    let s = survey();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut units = vec![TreeUnit {
        key: "root".into(),
        code: "0".into(),
        name: "Kommune".into(),
        parent: None,
        invited: 0,
    }];
    let mut stored: Vec<(usize, String, String)> = Vec::new();
    let mut own = HashMap::new();
    let mut at_risk = Vec::new();
    for a in 0..4 {
        units.push(TreeUnit {
            key: format!("a{a}"),
            code: format!("{a}"),
            name: format!("Område {a}"),
            parent: Some(0),
            invited: 0,
        });
        let area_idx = units.len() - 1;
        for u in 0..10 {
            let code = format!("{a}{u:02}");
            let risky = u % 4 == 0;
            if risky {
                at_risk.push(format!("Enhet {code}"));
            }
            units.push(TreeUnit {
                key: code.clone(),
                code: code.clone(),
                name: format!("Enhet {code}"),
                parent: Some(area_idx),
                invited: 12,
            });
            let idx = units.len() - 1;
            let climate: HashMap<&str, f64> = s
                .factors
                .iter()
                .map(|f| {
                    let c = if risky && DRIVERS.contains(&f.key.as_str()) {
                        -0.8
                    } else {
                        rng.gen_range(-0.5..0.5)
                    };
                    (f.key.as_str(), c)
                })
                .collect();
            for _ in 0..12 {
                let mut ans = Answers::default();
                for item in &s.items {
                    let v = (3.6 + climate[item.factor.as_str()] + rng.gen_range(-0.9..0.9))
                        .round()
                        .clamp(1.0, 5.0) as u8;
                    ans.items.insert(
                        item_field(&s, &item.key),
                        if item.reverse { 6 - v } else { v },
                    );
                }
                let (answers, background) = stored_texts(std::slice::from_ref(&s), &ans);
                stored.push((idx, answers, background));
            }
            let rate = 5.0 + 0.5 * a as f64
                - 2.5 * (climate["rolleklarhet"] + climate["mestringsklima"])
                + rng.gen_range(-0.3..0.3);
            let agreed = 12.0 * 230.0;
            own.insert(
                code,
                Sums {
                    agreed,
                    lost: agreed * rate / 100.0,
                    headcount: 12,
                    ..Sums::default()
                },
            );
        }
    }
    let snap = snapshot_of(&s, units, &stored);
    (snap, own, at_risk)
}

fn analyse(
    snap: &naervaer::snapshot::Snapshot,
    own: &HashMap<String, Sums>,
    lang: Lang,
) -> analysis::Analysis {
    // The units themselves: the default (the finest partition) would be
    // the same forty here, but these tests are about one level.
    analyse_at(snap, own, Some(2), lang)
}

/// The snapshot of stored answers (unit index, answers, background) at
/// k = 5.
fn snapshot_of(
    s: &naervaer::survey::Survey,
    units: Vec<TreeUnit>,
    stored: &[(usize, String, String)],
) -> naervaer::snapshot::Snapshot {
    compute(&Input {
        round_id: &naervaer::ids::RoundId::from("r"),
        k: 5,
        computed_at: 0,
        surveys: std::slice::from_ref(s),
        units,
        responses: stored
            .iter()
            .map(|(unit, answers, background)| RawResponse {
                unit: *unit,
                answers,
                background,
            })
            .collect(),
        previous: None,
    })
    .unwrap()
}

#[test]
fn a_planted_effect_is_ranked_first_and_the_units_built_at_risk_are_flagged() {
    for seed in [1, 2, 3] {
        let (snap, own, at_risk) = planted(seed);
        let a = analyse(&snap, &own, Lang::Nb);
        assert_eq!(a.level, 2);
        assert_eq!(a.groups.len(), 40);
        assert!(
            a.within_used,
            "four areas of ten groups: within-area r ranks"
        );
        let top: Vec<&str> = a
            .summary
            .ranked
            .iter()
            .take(2)
            .map(|r| a.factors[r.factor].key.as_str())
            .collect();
        assert!(
            top.contains(&DRIVERS[0]) && top.contains(&DRIVERS[1]),
            "seed {seed}: {top:?}"
        );
        assert!(a.summary.ranked[..2].iter().all(|r| r.counts && r.r < 0.0));
        let flagged: Vec<&str> = a.summary.flagged.iter().map(|f| f.name.as_str()).collect();
        let found = at_risk
            .iter()
            .filter(|u| flagged.contains(&u.as_str()))
            .count();
        assert!(
            found * 4 >= at_risk.len() * 3,
            "seed {seed}: {found} of {} at-risk units flagged: {flagged:?}",
            at_risk.len()
        );
        // The text names them, with decimal commas and both caveats.
        let t = &a.summary.text;
        assert!(
            t.contains("Rolleklarhet") && t.contains("Mestringsklima"),
            "{t}"
        );
        assert!(t.contains("r = −0,"), "{t}");
        assert!(t.contains("\u{a0}%"));
        assert!(
            t.contains("ikke årsaker") && t.contains("usikre tall"),
            "{t}"
        );
    }
}

#[test]
fn fewer_than_ten_groups_give_an_explanation_instead_of_numbers() {
    let (snap, mut own, _) = planted(4);
    // Absence for only nine units.
    let keep: Vec<String> = own
        .keys()
        .filter(|k| k.starts_with('0'))
        .take(9)
        .cloned()
        .collect();
    own.retain(|k, _| keep.contains(k));
    let a = analyse(&snap, &own, Lang::Nb);
    assert!(a.too_few);
    assert_eq!(a.reason, Some(analysis::NoCoefficients::TooFewGroups));
    assert!(a
        .factors
        .iter()
        .all(|f| f.pearson.is_none() && f.q.is_none()));
    assert!(
        a.summary.text.contains("for få enheter"),
        "{}",
        a.summary.text
    );
    let en = analyse(&snap, &own, Lang::En);
    assert!(
        en.summary.text.contains("too few units"),
        "{}",
        en.summary.text
    );
}

#[test]
fn absence_of_a_unit_below_k_employees_is_never_released() {
    let (snap, mut own, _) = planted(5);
    // One unit with four employees: hidden, and its parent's remainder
    // rule holds for the lost-days sums.
    own.get_mut("000").unwrap().headcount = 4;
    let released = analysis::protect(&naervaer::snapshot::Scores::from(&snap), &own, 5);
    let small = snap.groups.iter().position(|g| g.code == "000").unwrap();
    assert!(released[small].sums().is_none());
    let a = analyse(&snap, &own, Lang::Nb);
    assert!(a.groups.iter().all(|g| g.code != "000"));
    // The attacker on lost-days sums: no ±1 combination of up to three
    // released groups singles out 1 to 4 employees.
    let shown: Vec<usize> = (0..snap.groups.len())
        .filter(|i| released[*i].sums().is_some())
        .collect();
    let heads: Vec<u32> = snap
        .groups
        .iter()
        .map(|g| own.get(&g.key).map_or(0, |s| s.headcount))
        .collect();
    let inside = |g: usize, u: usize| snap.is_within(&snap.groups[u].key, &snap.groups[g].key);
    let mut tried = 0;
    for (ai, &a1) in shown.iter().enumerate() {
        for (bi, &b1) in shown.iter().enumerate().skip(ai) {
            for &c1 in shown.iter().skip(bi) {
                for signs in [[1, -1, 0], [1, -1, -1], [1, 0, -1], [1, 1, -1]] {
                    tried += 1;
                    let mut isolated = 0;
                    let mut ok = true;
                    for (u, head) in heads.iter().enumerate() {
                        let c = signs[0] * i32::from(inside(a1, u))
                            + signs[1] * i32::from(b1 != a1 && inside(b1, u))
                            + signs[2] * i32::from(c1 != b1 && inside(c1, u));
                        match (*head, c) {
                            (0, _) | (_, 0) => {}
                            (h, 1) => isolated += h,
                            _ => {
                                ok = false;
                                break;
                            }
                        }
                    }
                    if ok {
                        assert!(
                            isolated == 0 || isolated >= 5,
                            "{a1} {b1} {c1} {signs:?}: {isolated}"
                        );
                    }
                }
            }
        }
    }
    assert!(tried > 10_000);
}

#[test]
fn a_factor_hidden_in_some_groups_is_analysed_over_the_others() {
    let (mut snap, own, _) = planted(6);
    let units: Vec<usize> = (0..snap.groups.len())
        .filter(|i| snap.groups[*i].depth == 2)
        .take(5)
        .collect();
    for &i in &units {
        snap.groups[i].figures.as_mut().unwrap().factors[0] = None;
    }
    let a = analyse(&snap, &own, Lang::Nb);
    let f = &a.factors[0];
    assert_eq!(f.m, 35);
    let (x, y): (Vec<f64>, Vec<f64>) = a
        .groups
        .iter()
        .filter_map(|g| Some((g.scores[0]?, g.absence_rate)))
        .unzip();
    assert_eq!(x.len(), 35);
    let expected = naervaer::stats::correlation::pearson(&x, &y).unwrap();
    assert_eq!(f.pearson.unwrap(), expected);
    assert_eq!(a.factors[1].m, 40);
    // Spearman's ρ takes the rates' ranks from one ordering of all groups:
    // over the 35 with a score, and over all 40, it is the reference
    // function's on those groups' own columns, to the bit.
    for (fi, m) in [(0, 35), (1, 40)] {
        let (x, y): (Vec<f64>, Vec<f64>) = a
            .groups
            .iter()
            .filter_map(|g| Some((g.scores[fi]?, g.absence_rate)))
            .unzip();
        assert_eq!(x.len(), m);
        let reference = naervaer::stats::correlation::spearman(&x, &y).unwrap();
        assert_eq!(a.factors[fi].spearman.unwrap(), reference, "factor {fi}");
    }
}

/// Root, 4 areas; each area has 12 people of its own, 8 units of 12 and 2
/// units of 3 (hidden). With `merged`, an area's own people and its two
/// small units' people are one unit of 18 of their own instead: the
/// snapshot then shows directly what the finest partition must derive as
/// the area's rest.
fn with_rests(seed: u64, merged: bool) -> (naervaer::snapshot::Snapshot, HashMap<String, Sums>) {
    let s = survey();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut units = vec![TreeUnit {
        key: "root".into(),
        code: "0".into(),
        name: "Kommune".into(),
        parent: None,
        invited: 0,
    }];
    let mut stored: Vec<(usize, String, String)> = Vec::new();
    let mut own: HashMap<String, Sums> = HashMap::new();
    let add = |own: &mut HashMap<String, Sums>, key: &str, n: u32, rate: f64| {
        let agreed = f64::from(n) * 230.0;
        let e = own.entry(key.to_string()).or_default();
        e.agreed += agreed;
        e.lost += agreed * rate / 100.0;
        e.headcount += n;
    };
    for a in 0..4 {
        let area_key = format!("a{a}");
        units.push(TreeUnit {
            key: area_key.clone(),
            code: format!("{a}"),
            name: format!("Område {a}"),
            parent: Some(0),
            invited: 12,
        });
        let area_idx = units.len() - 1;
        let rest_idx = if merged {
            units.push(TreeUnit {
                key: format!("{area_key}r"),
                code: format!("{a}99"),
                name: format!("Rest {a}"),
                parent: Some(area_idx),
                invited: 18,
            });
            Some(units.len() - 1)
        } else {
            None
        };
        // Places: the area itself, then its ten units (the last two small).
        for u in 0..11usize {
            let (n, idx, key) = if u == 0 {
                (
                    12,
                    rest_idx.unwrap_or(area_idx),
                    rest_idx.map_or(area_key.clone(), |_| format!("{area_key}r")),
                )
            } else {
                let small = u > 8;
                let code = format!("{a}{u:02}");
                if small && merged {
                    (3, rest_idx.unwrap(), format!("{area_key}r"))
                } else {
                    units.push(TreeUnit {
                        key: code.clone(),
                        code: code.clone(),
                        name: format!("Enhet {code}"),
                        parent: Some(area_idx),
                        invited: if small { 3 } else { 12 },
                    });
                    (if small { 3 } else { 12 }, units.len() - 1, code)
                }
            };
            let climate: f64 = rng.gen_range(-0.6..0.6);
            for _ in 0..n {
                let mut ans = Answers::default();
                for item in &s.items {
                    let v = (3.6 + climate + rng.gen_range(-0.9..0.9))
                        .round()
                        .clamp(1.0, 5.0) as u8;
                    ans.items.insert(
                        item_field(&s, &item.key),
                        if item.reverse { 6 - v } else { v },
                    );
                }
                let (answers, background) = stored_texts(std::slice::from_ref(&s), &ans);
                stored.push((idx, answers, background));
            }
            add(
                &mut own,
                &key,
                n,
                5.0 - 2.0 * climate + rng.gen_range(-0.3..0.3),
            );
        }
    }
    let snap = snapshot_of(&s, units, &stored);
    (snap, own)
}

fn analyse_at(
    snap: &naervaer::snapshot::Snapshot,
    own: &HashMap<String, Sums>,
    level: Option<u32>,
    lang: Lang,
) -> analysis::Analysis {
    let s = survey();
    let r = round();
    let scores = naervaer::snapshot::Scores::from(snap);
    let window = (
        chrono::NaiveDate::from_ymd_opt(2025, 11, 1).unwrap(),
        chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
    );
    analysis::compute(&analysis::Input {
        round_id: &r.id,
        round_title: &r.title,
        snapshot: &scores,
        surveys: std::slice::from_ref(&s),
        own,
        window,
        periods: &[window],
        level,
        lang,
    })
}

/// What the next round's comparison takes of an analysis
/// ([`analysis::ranked_r`]) is what the whole analysis of the finest groups
/// gives: its number of groups and each factor's ranked r, bit for bit,
/// within areas and plain.
#[test]
fn the_comparison_takes_the_groups_and_ranked_r_of_the_whole_analysis() {
    let (planted_snap, planted_own, _) = planted(1);
    // One area's absence only for one unit: that area has one group, so
    // the plain r ranks.
    let mut one_area_short = planted_own.clone();
    for u in 0..9 {
        one_area_short.remove(&format!("3{u:02}"));
    }
    let (rests, rests_own) = with_rests(7, true);
    let mut compared = (false, false);
    for (snap, own) in [
        (&planted_snap, &planted_own),
        (&planted_snap, &one_area_short),
        (&rests, &rests_own),
    ] {
        let whole = analyse_at(snap, own, None, Lang::Nb);
        let (groups, r) = analysis::ranked_r(&naervaer::snapshot::Scores::from(snap), own);
        assert_eq!(groups, whole.groups.len());
        let expected: Vec<Option<f64>> = whole
            .factors
            .iter()
            .map(|f| f.ranked(whole.within_used).map(|c| c.r))
            .collect();
        assert!(expected.iter().any(Option::is_some));
        assert_eq!(
            r.iter().map(|x| x.map(f64::to_bits)).collect::<Vec<_>>(),
            expected
                .iter()
                .map(|x| x.map(f64::to_bits))
                .collect::<Vec<_>>()
        );
        if whole.within_used {
            compared.0 = true;
        } else {
            compared.1 = true;
        }
    }
    assert_eq!(
        compared,
        (true, true),
        "within-area and plain r both compared"
    );
}

#[test]
fn the_finest_partition_adds_each_areas_rest_with_figures_derived_exactly() {
    let (snap, own) = with_rests(7, false);
    let by_level = analyse_at(&snap, &own, Some(2), Lang::Nb);
    // Level 2: the 32 units of 12; the eight of 3 are hidden.
    assert_eq!(by_level.grouping, "level");
    assert_eq!(by_level.groups.len(), 32);
    let finest = analyse_at(&snap, &own, None, Lang::Nb);
    assert_eq!(finest.grouping, "finest");
    // And each area's rest: its own 12 and its two small units' 6.
    assert_eq!(
        finest.groups.len(),
        36,
        "{:?}",
        finest.groups.iter().map(|g| &g.name).collect::<Vec<_>>()
    );
    let rests: Vec<_> = finest
        .groups
        .iter()
        .filter(|g| g.key.ends_with("#rest"))
        .collect();
    assert_eq!(rests.len(), 4);
    assert!(
        rests.iter().all(|g| g.name.ends_with("– øvrige")),
        "{:?}",
        rests[0].name
    );
    assert!(
        finest
            .summary
            .text
            .contains("36 enheter er sammenlignet – den fineste inndelingen"),
        "{}",
        finest.summary.text
    );
    assert!(
        finest.summary.text.contains("minst 5 personer"),
        "{}",
        finest.summary.text
    );
    // The rest's figures are those of its people counted as a unit.
    let (merged, merged_own) = with_rests(7, true);
    let direct = analyse_at(&merged, &merged_own, Some(2), Lang::Nb);
    for a in 0..4 {
        let rest = rests
            .iter()
            .find(|g| g.key == format!("a{a}#rest"))
            .unwrap();
        let unit = direct
            .groups
            .iter()
            .find(|g| g.code == format!("{a}99"))
            .unwrap();
        assert!(
            (rest.absence_rate - unit.absence_rate).abs() < 1e-9,
            "{} {}",
            rest.absence_rate,
            unit.absence_rate
        );
        assert!((rest.agreed - unit.agreed).abs() < 1e-9);
        for (x, y) in rest.scores.iter().zip(&unit.scores) {
            assert!((x.unwrap() - y.unwrap()).abs() < 1e-9, "{x:?} {y:?}");
        }
        // The shown figures of the merged unit: n, mean and SD.
        let g = merged
            .groups
            .iter()
            .find(|g| g.code == format!("{a}99"))
            .unwrap();
        let fig = g.figures.as_ref().unwrap();
        for (fi, x) in fig.factors.iter().enumerate() {
            let x = x.as_ref().unwrap();
            let (n, mean, sd) = rest.stats[fi].unwrap();
            assert_eq!(n, f64::from(x.n));
            assert!(
                (mean - x.mean).abs() < 1e-9 && (sd - x.sd).abs() < 1e-9,
                "{sd} {}",
                x.sd
            );
        }
    }
    // Every rest holds at least k people in the survey and in absence.
    for g in &rests {
        assert!(g.sums.headcount >= 5);
        assert!(g.stats.iter().all(|x| x.is_some_and(|x| x.0 >= 5.0)));
    }
    let en = analyse_at(&snap, &own, None, Lang::En);
    assert!(
        en.summary.text.contains("the finest division"),
        "{}",
        en.summary.text
    );
}

#[test]
fn a_rest_is_never_derived_from_a_hidden_figure() {
    // One unit of area 0 has its first factor hidden (as the engine hides
    // a factor with too few answers): the rest of area 0 would be the area
    // less that unit, so its first factor must not be shown, the others
    // must, and the other areas' rests keep all theirs.
    let (mut snap, own) = with_rests(9, false);
    let unit = snap.groups.iter().position(|g| g.code == "001").unwrap();
    snap.groups[unit].figures.as_mut().unwrap().factors[0] = None;
    let a = analyse_at(&snap, &own, None, Lang::Nb);
    let rest = |area: &str| {
        a.groups
            .iter()
            .find(|g| g.key == format!("{area}#rest"))
            .unwrap()
    };
    let r0 = rest("a0");
    assert!(
        r0.scores[0].is_none() && r0.stats[0].is_none(),
        "{:?}",
        r0.scores[0]
    );
    assert!(r0.scores[1..].iter().all(Option::is_some));
    assert!(rest("a1").scores.iter().all(Option::is_some));
    // The unit itself still compares on the factors it shows.
    let u = a.groups.iter().find(|g| g.code == "001").unwrap();
    assert!(u.scores[0].is_none() && u.scores[1].is_some());
}
