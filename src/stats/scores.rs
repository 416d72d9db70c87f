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
    respondent_score_exact(answers, reverse).map(Score::value)
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
        let half = t_quantile((n - 1) as f64) * sd / (n as f64).sqrt();
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

/// The least common multiple of 1..=12: every respondent's factor score (a
/// mean of at most [`crate::survey::MAX_ITEMS_PER_FACTOR`] answers of 1..=5)
/// times this is a whole number.
pub const SCALE: u64 = 27_720;

/// A respondent's factor score as a fraction: the sum of the answered items
/// (reverse-coded ones turned) over how many were answered. Exact, unlike
/// its value as a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    pub total: u32,
    pub answered: u32,
}

impl Score {
    /// The score times [`SCALE`]: a whole number.
    pub fn scaled(self) -> u64 {
        u64::from(self.total) * (SCALE / u64::from(self.answered))
    }
    pub fn value(self) -> f64 {
        f64::from(self.total) / f64::from(self.answered)
    }
}

/// [`respondent_score`] as an exact fraction.
pub fn respondent_score_exact(answers: &[Option<Answer>], reverse: &[bool]) -> Option<Score> {
    debug_assert_eq!(answers.len(), reverse.len());
    let (mut total, mut answered) = (0u32, 0u32);
    for (a, rev) in answers.iter().zip(reverse) {
        if let Some(Answer::Value(v)) = a {
            total += if *rev {
                6 - u32::from(*v)
            } else {
                u32::from(*v)
            };
            answered += 1;
        }
    }
    let needed = answers.len().div_ceil(2) as u32;
    (answered > 0 && answered >= needed).then_some(Score { total, answered })
}

/// Running sums of a group's factor scores: enough to give the same
/// [`Summary`] as [`summarise`] without keeping the scores, so that groups
/// can be added up a unit tree.
///
/// The sums are whole numbers (scores times [`SCALE`]), so they are exact:
/// the same whatever order the responses are stored or added in, on any
/// database. Floating-point sums are not — their last bits follow the
/// order, and a tie between two groups' means could come and go with it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    pub n: u32,
    sum: u64,
    sum_sq: u128,
    favourable: u32,
    unfavourable: u32,
}

impl Moments {
    pub fn add(&mut self, score: Score) {
        let s = score.scaled();
        self.n += 1;
        self.sum += s;
        self.sum_sq += u128::from(s) * u128::from(s);
        self.favourable += u32::from(s >= 4 * SCALE);
        self.unfavourable += u32::from(s <= 2 * SCALE);
    }

    pub fn merge(&mut self, other: &Moments) {
        self.n += other.n;
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.favourable += other.favourable;
        self.unfavourable += other.unfavourable;
    }

    pub fn summary(&self) -> Option<Summary> {
        let n = self.n as usize;
        if n == 0 {
            return None;
        }
        let nf = n as f64;
        // One rounding each, from exact integers.
        let mean = self.sum as f64 / (nf * SCALE as f64);
        let (sd, ci) = if n >= 2 {
            // n·Σs² − (Σs)² is n(n−1)·var·SCALE², exactly.
            let num =
                u128::from(self.n) * self.sum_sq - u128::from(self.sum) * u128::from(self.sum);
            let den = (nf * (nf - 1.0)) * (SCALE as f64 * SCALE as f64);
            let var = num as f64 / den;
            let sd = var.sqrt();
            (Some(sd), Some(mean_interval(self.n, mean, sd)))
        } else {
            (None, None)
        };
        Some(Summary {
            n,
            mean,
            sd,
            ci,
            favourable: share(self.favourable, self.n),
            unfavourable: share(self.unfavourable, self.n),
        })
    }
}

/// The 95 % interval of a mean of `n` ≥ 2 scores with this SD, exactly as
/// [`Moments::summary`] gives it.
pub fn mean_interval(n: u32, mean: f64, sd: f64) -> (f64, f64) {
    let nf = f64::from(n);
    let half = t_quantile(nf - 1.0) * sd / nf.sqrt();
    (mean - half, mean + half)
}

/// `count` of `n` as a share, exactly as [`Moments::summary`] gives it.
pub fn share(count: u32, n: u32) -> f64 {
    f64::from(count) / f64::from(n)
}

/// The 97.5 % quantile of Student's t: the half-width factor of a 95 %
/// interval. A snapshot asks for it for every group and factor, mostly
/// with the same whole degrees of freedom, and each answer costs an
/// iterative inverse of the incomplete beta function: whole degrees of
/// freedom are remembered per thread (the same value, computed once).
fn t_quantile(df: f64) -> f64 {
    const REMEMBERED: usize = 4096;
    thread_local! {
        static WHOLE: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let compute = |df: f64| {
        StudentsT::new(0.0, 1.0, df)
            .expect("positive degrees of freedom")
            .inverse_cdf(0.975)
    };
    if df.fract() != 0.0 || !(1.0..REMEMBERED as f64).contains(&df) {
        return compute(df);
    }
    WHOLE.with(|w| {
        let mut w = w.borrow_mut();
        if w.is_empty() {
            w.resize(REMEMBERED, f64::NAN);
        }
        let slot = &mut w[df as usize];
        if slot.is_nan() {
            *slot = compute(df);
        }
        *slot
    })
}

/// A change between two group means with Welch's 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Change {
    /// Now minus before.
    pub diff: f64,
    pub low: f64,
    pub high: f64,
}

impl Change {
    /// A change counts only when its interval excludes 0.
    pub fn is_real(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
}

/// Difference of means (`now` − `before`) with Welch's interval; None when
/// either group has fewer than two scores or neither varies.
pub fn welch(now: (usize, f64, f64), before: (usize, f64, f64)) -> Option<Change> {
    Some(Welch::new(now, before)?.interval())
}

/// Welch's comparison of two means before its interval: the difference,
/// its squared standard error and the degrees of freedom. Cheap; the
/// interval ([`Welch::interval`]) costs an iterative quantile at a
/// fractional degree of freedom, so a snapshot stores what this is made
/// from and shows the interval when asked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    diff: f64,
    se2: f64,
    df: f64,
}

impl Welch {
    /// None when either group has fewer than two scores or neither varies.
    pub fn new(now: (usize, f64, f64), before: (usize, f64, f64)) -> Option<Welch> {
        let ((n1, m1, s1), (n2, m2, s2)) = (now, before);
        if n1 < 2 || n2 < 2 {
            return None;
        }
        let (v1, v2) = (s1 * s1 / n1 as f64, s2 * s2 / n2 as f64);
        let se2 = v1 + v2;
        if se2 <= 0.0 {
            return None;
        }
        let df = se2 * se2 / (v1 * v1 / (n1 - 1) as f64 + v2 * v2 / (n2 - 1) as f64);
        // Only from figures no close makes (a damaged stored one): no
        // interval rather than a quantile at no degrees of freedom.
        if df.is_nan() {
            return None;
        }
        Some(Welch {
            diff: m1 - m2,
            se2,
            df,
        })
    }

    /// The difference with its 95 % interval.
    pub fn interval(&self) -> Change {
        let half = t_quantile(self.df) * self.se2.sqrt();
        Change {
            diff: self.diff,
            low: self.diff - half,
            high: self.diff + half,
        }
    }
}

/// Cronbach's alpha of a factor over respondents who answered all its
/// items (rows of item values, already reverse-coded). None with fewer than
/// two items or two rows, or when the total score does not vary.
pub fn cronbach_alpha(rows: &[Vec<f64>]) -> Option<f64> {
    let mut sums = AlphaSums::new(rows.first()?.len());
    for r in rows {
        sums.add(r.iter().map(|x| *x as u64));
    }
    sums.alpha()
}

/// The sums Cronbach's alpha needs, gathered one row (one respondent's
/// reverse-coded whole-number answers) at a time: per item Σx and Σx², and
/// the same of the row totals. Whole numbers, so exact in any order.
#[derive(Debug, Clone)]
pub struct AlphaSums {
    rows: u64,
    item_sum: Vec<u64>,
    item_sq: Vec<u64>,
    total_sum: u64,
    total_sq: u64,
}

impl AlphaSums {
    pub fn new(items: usize) -> AlphaSums {
        AlphaSums {
            rows: 0,
            item_sum: vec![0; items],
            item_sq: vec![0; items],
            total_sum: 0,
            total_sq: 0,
        }
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn add(&mut self, row: impl IntoIterator<Item = u64>) {
        let mut total = 0;
        for ((x, sum), sq) in row
            .into_iter()
            .zip(&mut self.item_sum)
            .zip(&mut self.item_sq)
        {
            *sum += x;
            *sq += x * x;
            total += x;
        }
        self.rows += 1;
        self.total_sum += total;
        self.total_sq += total * total;
    }

    /// Adds the rows another gathered (of the same items).
    pub fn merge(&mut self, other: &AlphaSums) {
        debug_assert_eq!(self.item_sum.len(), other.item_sum.len());
        self.rows += other.rows;
        for (a, b) in self.item_sum.iter_mut().zip(&other.item_sum) {
            *a += b;
        }
        for (a, b) in self.item_sq.iter_mut().zip(&other.item_sq) {
            *a += b;
        }
        self.total_sum += other.total_sum;
        self.total_sq += other.total_sq;
    }

    pub fn alpha(&self) -> Option<f64> {
        let items = self.item_sum.len();
        if self.rows < 2 || items < 2 {
            return None;
        }
        let m = self.rows as f64;
        let var = |sum: u64, sum_sq: u64| {
            let (sum, sum_sq) = (sum as f64, sum_sq as f64);
            (m * sum_sq - sum * sum) / (m * (m - 1.0))
        };
        let item_var: f64 = (0..items)
            .map(|j| var(self.item_sum[j], self.item_sq[j]))
            .sum();
        let total_var = var(self.total_sum, self.total_sq);
        if total_var <= 0.0 {
            return None;
        }
        let k = items as f64;
        Some(k / (k - 1.0) * (1.0 - item_var / total_var))
    }
}
