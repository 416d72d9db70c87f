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
