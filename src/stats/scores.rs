//! Scores (STATISTICS.md "Scores"): a respondent's factor score, a group's
//! mean with its Student's t interval, and the favourable / unfavourable
//! shares.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// One answer to one item, as stored: a value on the scale, or "vet ikke /
/// ikke relevant", which counts as missing. An item not answered at all has
/// no `Answer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Value(u8),
    DontKnow,
}

/// A respondent's score on a factor: the mean of their answered items, each
/// turned as 6 − v when reverse-coded, when at least half of the factor's
/// items (rounded up) are answered; otherwise no score.
pub fn respondent_score(answers: &[Option<Answer>], reverse: &[bool]) -> Option<f64> {
    debug_assert_eq!(answers.len(), reverse.len());
    let values: Vec<f64> = answers
        .iter()
        .zip(reverse)
        .filter_map(|(a, rev)| match a {
            Some(Answer::Value(v)) => Some(if *rev {
                6.0 - f64::from(*v)
            } else {
                f64::from(*v)
            }),
            _ => None,
        })
        .collect();
    let needed = answers.len().div_ceil(2);
    (!values.is_empty() && values.len() >= needed)
        .then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// A group's factor score.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Standard deviation with n − 1; None for a single score.
    pub sd: Option<f64>,
    /// 95 % interval from Student's t with n − 1 degrees of freedom.
    pub ci: Option<(f64, f64)>,
    /// Share of scores ≥ 4.
    pub favourable: f64,
    /// Share of scores ≤ 2.
    pub unfavourable: f64,
}

pub fn summarise(scores: &[f64]) -> Option<Summary> {
    let n = scores.len();
    if n == 0 {
        return None;
    }
    let mean = scores.iter().sum::<f64>() / n as f64;
    let (sd, ci) = if n >= 2 {
        let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let sd = var.sqrt();
        let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
            .expect("n - 1 > 0 degrees of freedom")
            .inverse_cdf(0.975);
        let half = t * sd / (n as f64).sqrt();
        (Some(sd), Some((mean - half, mean + half)))
    } else {
        (None, None)
    };
    let share =
        |f: &dyn Fn(f64) -> bool| scores.iter().filter(|s| f(**s)).count() as f64 / n as f64;
    Some(Summary {
        n,
        mean,
        sd,
        ci,
        favourable: share(&|s| s >= 4.0),
        unfavourable: share(&|s| s <= 2.0),
    })
}

/// Counts per answer option of one item: index 0 is "vet ikke", 1..=5 the
/// scale. Items not answered are not counted.
pub fn option_counts(answers: &[Option<Answer>]) -> [u32; 6] {
    let mut counts = [0u32; 6];
    for a in answers.iter().flatten() {
        match a {
            Answer::DontKnow => counts[0] += 1,
            Answer::Value(v) if (1..=5).contains(v) => counts[usize::from(*v)] += 1,
            Answer::Value(_) => {}
        }
    }
    counts
}
