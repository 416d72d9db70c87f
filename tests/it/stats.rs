//! The score rules against reference values from SciPy
//! (tests/fixtures/make_scores.py wrote tests/fixtures/scores.json).

use naervaer::stats::scores::{option_counts, respondent_score, summarise, Answer};
use serde_json::Value;

const TOLERANCE: f64 = 1e-9;

fn fixtures() -> Value {
    serde_json::from_str(include_str!("../fixtures/scores.json")).unwrap()
}

fn answer(v: &Value) -> Option<Answer> {
    match v.as_u64() {
        None => None,
        Some(0) => Some(Answer::DontKnow),
        Some(x) => Some(Answer::Value(x as u8)),
    }
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= TOLERANCE, "{what}: {a} vs SciPy {b}");
}

#[test]
fn respondent_scores_follow_the_half_of_the_items_rule_and_reverse_coding() {
    let f = fixtures();
    let cases = f["respondents"].as_array().unwrap();
    let (mut scored, mut unscored) = (0, 0);
    for c in cases {
        let answers: Vec<Option<Answer>> = c["answers"]
            .as_array()
            .unwrap()
            .iter()
            .map(answer)
            .collect();
        let reverse: Vec<bool> = c["reverse"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_bool().unwrap())
            .collect();
        let got = respondent_score(&answers, &reverse);
        match c["score"].as_f64() {
            Some(expected) => {
                close(got.expect("a score"), expected, &format!("{c}"));
                scored += 1;
            }
            None => {
                assert_eq!(got, None, "{c}");
                unscored += 1;
            }
        }
    }
    assert!(
        scored > 50 && unscored > 15,
        "the fixtures exercise both outcomes ({scored}/{unscored})"
    );
}

#[test]
fn group_means_sds_t_intervals_and_shares_match_scipy() {
    let f = fixtures();
    for g in f["groups"].as_array().unwrap() {
        let scores: Vec<f64> = g["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let s = summarise(&scores).unwrap();
        assert_eq!(s.n as u64, g["n"].as_u64().unwrap());
        close(s.mean, g["mean"].as_f64().unwrap(), "mean");
        match g["sd"].as_f64() {
            None => assert!(s.sd.is_none() && s.ci.is_none(), "one score has no spread"),
            Some(sd) => {
                close(s.sd.unwrap(), sd, "sd");
                let (lo, hi) = s.ci.unwrap();
                close(
                    lo,
                    g["ci_low"].as_f64().unwrap(),
                    &format!("ci low (n = {})", s.n),
                );
                close(
                    hi,
                    g["ci_high"].as_f64().unwrap(),
                    &format!("ci high (n = {})", s.n),
                );
            }
        }
        close(
            s.favourable,
            g["favourable"].as_f64().unwrap(),
            "favourable",
        );
        close(
            s.unfavourable,
            g["unfavourable"].as_f64().unwrap(),
            "unfavourable",
        );
    }
    assert!(summarise(&[]).is_none());
}

#[test]
fn option_counts_keep_dont_know_apart_and_skip_unanswered() {
    let answers = [
        Some(Answer::Value(1)),
        Some(Answer::Value(5)),
        Some(Answer::Value(5)),
        Some(Answer::DontKnow),
        None,
    ];
    assert_eq!(option_counts(&answers), [1, 1, 0, 0, 0, 2]);
}

mod correlation {
    //! Correlation statistics against SciPy, statsmodels and pingouin
    //! (tests/fixtures/make_correlation.py wrote correlation.json).

    use naervaer::stats::correlation::*;
    use naervaer::stats::scores::cronbach_alpha;
    use serde_json::Value;

    fn fixtures() -> Value {
        serde_json::from_str(include_str!("../fixtures/correlation.json")).unwrap()
    }

    fn v(x: &Value) -> Vec<f64> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_f64().unwrap())
            .collect()
    }

    fn close(a: f64, b: &Value, what: &str) {
        let b = b.as_f64().unwrap();
        assert!((a - b).abs() <= 1e-9, "{what}: {a} vs reference {b}");
    }

    #[test]
    fn pearson_fisher_interval_p_spearman_weighted_and_within_area_match() {
        let f = fixtures();
        let cases = f["cases"].as_array().unwrap();
        assert!(cases.iter().any(|c| c["x"].as_array().unwrap().len() == 10));
        for (i, c) in cases.iter().enumerate() {
            let (x, y, w) = (v(&c["x"]), v(&c["y"]), v(&c["w"]));
            let area: Vec<usize> = c["area"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_u64().unwrap() as usize)
                .collect();
            let p = pearson(&x, &y).unwrap();
            close(p.r, &c["pearson"]["r"], &format!("{i} pearson r"));
            close(p.p, &c["pearson"]["p"], &format!("{i} pearson p"));
            close(p.low, &c["pearson"]["low"], &format!("{i} fisher low"));
            close(p.high, &c["pearson"]["high"], &format!("{i} fisher high"));
            let s = spearman(&x, &y).unwrap();
            close(s.r, &c["spearman"]["r"], &format!("{i} spearman r"));
            close(s.p, &c["spearman"]["p"], &format!("{i} spearman p"));
            close(
                weighted_pearson_r(&x, &y, &w).unwrap(),
                &c["weighted_r"],
                &format!("{i} weighted"),
            );
            let wa = within_area(&x, &y, &area).unwrap();
            // The same areas numbered far apart (not 0, 1, …) are placed
            // another way; the coefficient is the same to the bit.
            let far: Vec<usize> = area.iter().map(|a| 1000 + 7 * a).collect();
            assert_eq!(
                within_area(&x, &y, &far).unwrap(),
                wa,
                "{i}: areas numbered apart"
            );
            close(wa.r, &c["within"]["r"], &format!("{i} within r"));
            close(wa.p, &c["within"]["p"], &format!("{i} within p"));
            close(wa.low, &c["within"]["low"], &format!("{i} within low"));
            close(wa.high, &c["within"]["high"], &format!("{i} within high"));
            // pingouin prints its interval to two decimals.
            let ci2 = v(&c["within"]["ci2"]);
            assert!(
                (wa.low - ci2[0]).abs() <= 0.005 + 1e-12
                    && (wa.high - ci2[1]).abs() <= 0.005 + 1e-12,
                "{i}: {wa:?} vs {ci2:?}"
            );
        }
    }

    #[test]
    fn a_constant_column_or_too_few_groups_gives_no_coefficient() {
        let f = fixtures();
        let (x, y) = (v(&f["constant"]["x"]), v(&f["constant"]["y"]));
        assert_eq!(pearson(&x, &y), Err(NoCoefficient::Constant));
        assert_eq!(spearman(&x, &y), Err(NoCoefficient::Constant));
        assert_eq!(weighted_pearson_r(&x, &y, &[1.0; 10]), None);
        assert_eq!(
            pearson(&[1.0, 2.0, 3.0], &[2.0, 1.0, 3.0]),
            Err(NoCoefficient::TooFew)
        );
    }

    #[test]
    fn benjamini_hochberg_matches_statsmodels() {
        let f = fixtures();
        let q = benjamini_hochberg(&v(&f["bh"]["p"]));
        for (i, (a, b)) in q.iter().zip(f["bh"]["q"].as_array().unwrap()).enumerate() {
            close(*a, b, &format!("q[{i}]"));
        }
    }

    #[test]
    fn quartile_contrast_icc_and_alpha_match() {
        let f = fixtures();
        for c in f["contrasts"].as_array().unwrap() {
            let q = quartile_contrast(&v(&c["score"]), &v(&c["lost"]), &v(&c["agreed"])).unwrap();
            assert_eq!(q.groups as u64, c["groups"].as_u64().unwrap());
            close(q.low_rate, &c["low_rate"], "low");
            close(q.high_rate, &c["high_rate"], "high");
            close(q.difference, &c["difference"], "difference");
            close(q.ratio.unwrap(), &c["ratio"], "ratio");
        }
        for c in f["icc"].as_array().unwrap() {
            let groups: Vec<Vec<f64>> = c["groups"].as_array().unwrap().iter().map(v).collect();
            close(icc1(&groups).unwrap(), &c["icc1"], "icc1");
        }
        for c in f["alpha"].as_array().unwrap() {
            let rows: Vec<Vec<f64>> = c["rows"].as_array().unwrap().iter().map(v).collect();
            close(cronbach_alpha(&rows).unwrap(), &c["alpha"], "alpha");
        }
    }

    #[test]
    fn ties_share_their_mean_rank_and_strength_has_words() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0, 3.0]),
            vec![4.0, 1.0, 4.0, 2.0, 4.0]
        );
        // Minus and plus zero are one value, tied.
        assert_eq!(
            average_ranks(&[0.0, -1.0, -0.0, 2.0]),
            vec![2.5, 1.0, 2.5, 4.0]
        );
        assert_eq!(strength(-0.05), Strength::Negligible);
        assert_eq!(strength(0.29), Strength::Weak);
        assert_eq!(strength(-0.3), Strength::Moderate);
        assert_eq!(strength(0.5), Strength::Strong);
    }
}

/// Groups without a score on a factor drop out of that factor's analysis,
/// as the complete pairs of the reference do.
#[test]
fn missing_factor_scores_drop_the_group_as_the_reference_does() {
    let f: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/correlation.json")).unwrap();
    let c = &f["missing"];
    let x: Vec<Option<f64>> = c["x"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64())
        .collect();
    let y: Vec<f64> = c["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let (xs, ys): (Vec<f64>, Vec<f64>) = x
        .iter()
        .zip(&y)
        .filter_map(|(a, b)| Some(((*a)?, *b)))
        .unzip();
    let r = naervaer::stats::correlation::pearson(&xs, &ys).unwrap();
    assert_eq!(r.m as u64, c["m"].as_u64().unwrap());
    assert!((r.r - c["r"].as_f64().unwrap()).abs() <= 1e-9);
    assert!((r.p - c["p"].as_f64().unwrap()).abs() <= 1e-9);
}
