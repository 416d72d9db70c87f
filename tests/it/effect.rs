//! The effect of measures against numpy, SciPy and statsmodels
//! (tests/fixtures/make_effect.py wrote tests/fixtures/effect.json): each
//! treated unit's difference in differences and controls, the pooled effect
//! with its HC1 standard error and t interval, the placebo share, the
//! event-study line, the survey side's Welch interval; and a planted-effect
//! test: a measure that truly lowers absence by a known amount is found with
//! the right sign and an interval covering the truth, one without effect is
//! not called effective.

use naervaer::stats::effect::{self as did, Monthly, NoEstimate, Pools, Treated, Units};
use rand::{Rng, SeedableRng};
use serde_json::Value;

const TOLERANCE: f64 = 1e-9;

fn close(a: f64, b: &Value, what: &str) {
    let b = b
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: no reference value"));
    assert!((a - b).abs() <= TOLERANCE, "{what}: {a} vs numpy {b}");
}

fn units_of(f: &Value) -> Units {
    let us = f["units"].as_array().unwrap();
    Units {
        series: f["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|months| Monthly {
                months: months
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| {
                        m.as_array()
                            .map(|v| (v[0].as_f64().unwrap(), v[1].as_f64().unwrap()))
                    })
                    .collect(),
            })
            .collect(),
        area: us
            .iter()
            .map(|u| u["area"].as_u64().unwrap() as usize)
            .collect(),
        depth: us
            .iter()
            .map(|u| u["depth"].as_u64().unwrap() as u32)
            .collect(),
        released: us
            .iter()
            .map(|u| u["released"].as_bool().unwrap())
            .collect(),
    }
}

fn reason(e: NoEstimate) -> &'static str {
    match e {
        NoEstimate::TooEarlyData => "too_early_data",
        NoEstimate::TooEarlyToTell => "too_early_to_tell",
        NoEstimate::NoControls => "no_controls",
        NoEstimate::NotReleased => "not_released",
    }
}

#[test]
fn every_estimate_equals_numpy_and_statsmodels() {
    let f: Value = serde_json::from_str(include_str!("../fixtures/effect.json")).unwrap();
    let units = units_of(&f);
    let pools = Pools::new(&units);
    let measures = f["measures"].as_array().unwrap();
    for t in f["types"].as_array().unwrap() {
        let kind = t["type"].as_str().unwrap();
        let spans: Vec<(usize, isize, isize)> = measures
            .iter()
            .filter(|m| m["type"] == kind)
            .map(|m| {
                (
                    m["unit"].as_u64().unwrap() as usize,
                    m["start"].as_i64().unwrap() as isize,
                    m["end"].as_i64().map_or(isize::MAX / 4, |e| e as isize),
                )
            })
            .collect();
        let all_spans: Vec<(usize, isize, isize)> = measures
            .iter()
            .map(|m| {
                (
                    m["unit"].as_u64().unwrap() as usize,
                    m["start"].as_i64().unwrap() as isize,
                    m["end"].as_i64().map_or(isize::MAX / 4, |e| e as isize),
                )
            })
            .collect();
        let busy = |u: usize, from: isize, to: isize| {
            spans
                .iter()
                .any(|(v, a, b)| *v == u && *a <= to && from <= *b)
        };
        let any = |u: usize, from: isize, to: isize| {
            all_spans
                .iter()
                .any(|(v, a, b)| *v == u && *a <= to && from <= *b)
        };
        let rules = [did::Busy { during: &any }, did::Busy { during: &busy }];
        let mut effects = Vec::new();
        for x in t["treated"].as_array().unwrap() {
            let (unit, start) = (
                x["unit"].as_u64().unwrap() as usize,
                x["start"].as_u64().unwrap() as usize,
            );
            let ctrl = did::controls(&units, &pools, unit, start, &rules);
            let got = did::unit_effect(&units, &pools, Treated { unit, start }, ctrl);
            let want = &x["result"];
            let what = format!("type {kind}, unit {unit}");
            match (got, want.as_str()) {
                (Err(e), Some(r)) => assert_eq!(reason(e), r, "{what}"),
                (Ok(e), None) => {
                    close(e.d, &want["d"], &format!("{what}: d"));
                    close(e.pre, &want["pre"], &format!("{what}: pre"));
                    close(e.post, &want["post"], &format!("{what}: post"));
                    close(
                        e.control_pre,
                        &want["control_pre"],
                        &format!("{what}: controls before"),
                    );
                    close(
                        e.control_post,
                        &want["control_post"],
                        &format!("{what}: controls after"),
                    );
                    close(e.weight, &want["weight"], &format!("{what}: weight"));
                    assert_eq!(
                        e.controls.count,
                        want["controls"].as_array().unwrap().len(),
                        "{what}: controls"
                    );
                    effects.push(e);
                }
                (got, _) => panic!("{what}: {got:?} against {want}"),
            }
        }
        let pooled =
            did::pool(&effects.iter().map(|e| (e.d, e.weight)).collect::<Vec<_>>()).unwrap();
        close(pooled.effect, &t["effect"], &format!("type {kind}: effect"));
        close(
            pooled.se.unwrap(),
            &t["se"],
            &format!("type {kind}: HC1 standard error"),
        );
        let (low, high) = pooled.interval.unwrap();
        close(low, &t["low"], &format!("type {kind}: interval low"));
        close(high, &t["high"], &format!("type {kind}: interval high"));
        let mut starts: Vec<usize> = effects.iter().map(|e| e.start).collect();
        starts.sort_unstable();
        starts.dedup();
        let treated: Vec<usize> = effects.iter().map(|e| e.unit).collect();
        let candidates: Vec<usize> = (0..units.series.len())
            .filter(|u| units.released[*u] && !treated.contains(u))
            .collect();
        let (share, n) = did::placebo(
            &units,
            &pools,
            &candidates,
            &starts,
            pooled.effect,
            &rules,
            &mut did::PlaceboMemo::new(),
        )
        .unwrap();
        close(
            share,
            &t["placebo_share"],
            &format!("type {kind}: placebo share"),
        );
        assert_eq!(
            n as u64,
            t["placebo_n"].as_u64().unwrap(),
            "type {kind}: placebos"
        );
        let event = did::event_study(&units, &pools, &effects);
        for ((r, v), want) in event.iter().zip(t["event"].as_array().unwrap()) {
            assert_eq!(*r as i64, want[0].as_i64().unwrap());
            match v {
                Some(v) => close(*v, &want[1], &format!("type {kind}: event month {r}")),
                None => assert!(want[1].is_null(), "type {kind}: event month {r}"),
            }
        }
    }
    let s = &f["survey"];
    let x = |k: &str| -> Vec<f64> {
        s[k].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let c = did::survey_difference(&x("with"), &x("without")).unwrap();
    close(c.diff, &s["diff"], "survey side: difference");
    close(c.low, &s["low"], "survey side: Welch low");
    close(c.high, &s["high"], "survey side: Welch high");
}

/// 60 units in three areas over 36 months; `effect` percentage points
/// taken off the absence of the units of type "a" from the month after
/// their start, none from those of type "b".
fn planted(seed: u64, effect: f64) -> (Units, Vec<Treated>, Vec<Treated>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n = 60;
    let starts: Vec<Option<(char, usize)>> = (0..n)
        .map(|u| match u % 5 {
            0 => Some(('a', rng.gen_range(13..22))),
            1 => Some(('b', rng.gen_range(13..22))),
            _ => None,
        })
        .collect();
    let series = (0..n)
        .map(|u| {
            let base: f64 = rng.gen_range(5.0..9.0);
            Monthly {
                months: (0..36)
                    .map(|m| {
                        let agreed: f64 = rng.gen_range(300.0..700.0);
                        let shift = match starts[u] {
                            Some(('a', s)) if m > s => effect,
                            _ => 0.0,
                        };
                        let season = 0.8 * ((m as f64) / 12.0 * std::f64::consts::TAU).cos();
                        let rate = (base + season + shift + rng.gen_range(-0.6..0.6)).max(0.0);
                        Some((agreed * rate / 100.0, agreed))
                    })
                    .collect(),
            }
        })
        .collect();
    let units = Units {
        series,
        area: (0..n).map(|u| u / 20).collect(),
        depth: vec![2; n],
        released: vec![true; n],
    };
    let of = |kind: char| {
        (0..n)
            .filter_map(|u| match starts[u] {
                Some((k, s)) if k == kind => Some(Treated { unit: u, start: s }),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    (units, of('a'), of('b'))
}

/// As the service estimates a type: controls without any measure first
/// (`others` ran a measure of another type), else without one of the type.
fn estimate(units: &Units, treated: &[Treated], others: &[Treated]) -> did::Pooled {
    let pools = Pools::new(units);
    let busy_units: Vec<usize> = treated.iter().map(|t| t.unit).collect();
    let any_units: Vec<usize> = treated.iter().chain(others).map(|t| t.unit).collect();
    let busy = |u: usize, _: isize, _: isize| busy_units.contains(&u);
    let any = |u: usize, _: isize, _: isize| any_units.contains(&u);
    let rules = [did::Busy { during: &any }, did::Busy { during: &busy }];
    let effects: Vec<(f64, f64)> = treated
        .iter()
        .map(|t| {
            let ctrl = did::controls(units, &pools, t.unit, t.start, &rules);
            let e = did::unit_effect(units, &pools, *t, ctrl).unwrap();
            (e.d, e.weight)
        })
        .collect();
    did::pool(&effects).unwrap()
}

#[test]
fn a_planted_effect_is_found_and_a_measure_without_one_is_not_called_effective() {
    use naervaer::followup::effect::verdict;
    use naervaer::lang::Lang;
    let truth = -1.5;
    for seed in [1, 2, 3] {
        // The measure that works, found with its sign and an interval
        // around the truth.
        let (units, a, b) = planted(seed, truth);
        let found = estimate(&units, &a, &b);
        let (lo, hi) = found.interval.unwrap();
        assert!(
            hi < 0.0,
            "seed {seed}: the planted decrease is found ({lo}..{hi})"
        );
        assert!(
            lo <= truth && truth <= hi,
            "seed {seed}: the interval {lo}..{hi} covers {truth}"
        );
        assert!(verdict(&found, Lang::Nb).contains("trolig en reell nedgang"));
        // The one that does not: never called effective, and, its controls
        // being units without the measure that works, not made to look
        // worse either: its interval covers no effect.
        let none = estimate(&units, &b, &a);
        assert!(
            !verdict(&none, Lang::Nb).contains("reell nedgang"),
            "seed {seed}: {}",
            verdict(&none, Lang::Nb)
        );
        let (lo, hi) = none.interval.unwrap();
        assert!(
            lo <= 0.0 && 0.0 <= hi,
            "seed {seed}: beside a measure that works, no effect: {lo}..{hi}"
        );
        // With same-type controls only (the rule of STATISTICS.md), the
        // working measure's units sit among its controls and pull their
        // absence down: the measure without effect looks worse.
        let same_only = {
            let pools = Pools::new(&units);
            let busy_units: Vec<usize> = b.iter().map(|t| t.unit).collect();
            let busy = |u: usize, _: isize, _: isize| busy_units.contains(&u);
            let rules = [did::Busy { during: &busy }];
            let effects: Vec<(f64, f64)> = b
                .iter()
                .map(|t| {
                    let ctrl = did::controls(&units, &pools, t.unit, t.start, &rules);
                    let e = did::unit_effect(&units, &pools, *t, ctrl).unwrap();
                    (e.d, e.weight)
                })
                .collect();
            did::pool(&effects).unwrap()
        };
        assert!(
            same_only.effect > none.effect,
            "seed {seed}: {} against {}",
            same_only.effect,
            none.effect
        );
        // Alone, it gets an interval that covers no effect at all.
        let (units, _, b) = planted(seed, 0.0);
        let alone = estimate(&units, &b, &[]);
        let (lo, hi) = alone.interval.unwrap();
        assert!(
            lo <= 0.0 && 0.0 <= hi,
            "seed {seed}: no effect, and the interval {lo}..{hi} says so"
        );
        assert!(verdict(&alone, Lang::Nb).contains("kan ikke si at tiltaket har virket"));
    }
}
