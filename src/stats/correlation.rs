//! Correlation between factor scores and absence across reporting groups
//! (STATISTICS.md "Correlation between factors and absence"). Pure; checked
//! against SciPy, statsmodels and pingouin in `tests/fixtures/`.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// A correlation with its 95 % Fisher interval and two-sided p.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Correlation {
    pub r: f64,
    pub low: f64,
    pub high: f64,
    pub p: f64,
    /// Groups it rests on.
    pub m: usize,
}

/// Why a coefficient could not be computed: said to the reader instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoCoefficient {
    /// Too few groups for an interval.
    TooFew,
    /// One of the columns does not vary.
    Constant,
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Plain Pearson r; None when a column is constant.
pub fn pearson_r(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len());
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    // Relative tolerance: a column of equal values may sum to a tiny
    // non-zero through rounding.
    let tiny = |s: f64, m: f64| s <= 1e-24 * (1.0 + m * m) * x.len() as f64;
    if tiny(sxx, mx) || tiny(syy, my) {
        return None;
    }
    Some((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Two-sided p of r from Student's t with `df` degrees of freedom.
fn p_value(r: f64, df: f64) -> f64 {
    if r.abs() >= 1.0 {
        return 0.0;
    }
    let t = r * (df / (1.0 - r * r)).sqrt();
    let dist = StudentsT::new(0.0, 1.0, df).expect("positive degrees of freedom");
    (2.0 * (1.0 - dist.cdf(t.abs()))).clamp(0.0, 1.0)
}

/// Fisher's interval: tanh(atanh(r) ± z / √(dof)), where z is the 97.5 %
/// normal quantile (1.959964…, the "1.96" of STATISTICS.md, exactly as
/// SciPy uses it).
fn fisher(r: f64, dof: f64) -> (f64, f64) {
    use statrs::distribution::Normal;
    let z975 = Normal::new(0.0, 1.0)
        .expect("the standard normal")
        .inverse_cdf(0.975);
    let z = r.clamp(-0.999_999_999_999, 0.999_999_999_999).atanh();
    let half = z975 / dof.sqrt();
    ((z - half).tanh(), (z + half).tanh())
}

/// Pearson r, Fisher interval with √(m − 3), p from t with m − 2 df.
pub fn pearson(x: &[f64], y: &[f64]) -> Result<Correlation, NoCoefficient> {
    let m = x.len();
    if m < 4 {
        return Err(NoCoefficient::TooFew);
    }
    let r = pearson_r(x, y).ok_or(NoCoefficient::Constant)?;
    let (low, high) = fisher(r, (m - 3) as f64);
    Ok(Correlation {
        r,
        low,
        high,
        p: p_value(r, (m - 2) as f64),
        m,
    })
}

/// Weighted Pearson r (weights: agreed workdays, so a large unit counts
/// more). None when a column is constant or the weights are all zero.
pub fn weighted_pearson_r(x: &[f64], y: &[f64], w: &[f64]) -> Option<f64> {
    let sw: f64 = w.iter().sum();
    if sw <= 0.0 {
        return None;
    }
    let wm = |v: &[f64]| v.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / sw;
    let (mx, my) = (wm(x), wm(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for ((a, b), c) in x.iter().zip(y).zip(w) {
        sxy += c * (a - mx) * (b - my);
        sxx += c * (a - mx).powi(2);
        syy += c * (b - my).powi(2);
    }
    if sxx <= 1e-24 * sw || syy <= 1e-24 * sw {
        return None;
    }
    Some((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Ranks from 1, ties sharing their mean rank.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    // Values beside their places, sorted by value: values equal by
    // `total_cmp` are the same bits, so their order among themselves
    // changes no rank and an unstable sort does.
    let mut sorted: Vec<(f64, usize)> = x.iter().copied().zip(0..).collect();
    sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    ranks_of_sorted(&sorted)
}

/// [`average_ranks`] of values already in order (by `total_cmp`), each
/// beside its place: the rank goes to that place.
pub fn ranks_of_sorted(sorted: &[(f64, usize)]) -> Vec<f64> {
    let mut ranks = vec![0.0; sorted.len()];
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1].0 == sorted[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &(_, at) in &sorted[i..=j] {
            ranks[at] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// Spearman ρ: Pearson on average ranks, p from the same t (as
/// `scipy.stats.spearmanr`), Fisher interval as for Pearson.
pub fn spearman(x: &[f64], y: &[f64]) -> Result<Correlation, NoCoefficient> {
    pearson(&average_ranks(x), &average_ranks(y))
}

/// Within-area r: the partial correlation controlling for the service
/// area, by subtracting each area's mean from both columns. With `a` areas,
/// p from t with m − a − 1 df and the Fisher interval with √(m − a − 2)
/// (what `pingouin.partial_corr` does with a − 1 area dummies).
pub fn within_area(x: &[f64], y: &[f64], area: &[usize]) -> Result<Correlation, NoCoefficient> {
    let m = x.len();
    // Each value's area as its place among the distinct areas in order.
    let at: Vec<usize> = match area.iter().max() {
        // Areas numbered from 0 (as the analysis numbers them): marked.
        Some(&top) if top < m => {
            let mut place = vec![usize::MAX; top + 1];
            for &ar in area {
                place[ar] = 0;
            }
            for (next, p) in place.iter_mut().filter(|p| **p == 0).enumerate() {
                *p = next;
            }
            area.iter().map(|&ar| place[ar]).collect()
        }
        _ => {
            let mut areas: Vec<usize> = area.to_vec();
            areas.sort_unstable();
            areas.dedup();
            area.iter()
                .map(|ar| areas.binary_search(ar).expect("every area is listed"))
                .collect()
        }
    };
    let a = at.iter().max().map_or(0, |top| top + 1);
    if m < a + 3 {
        return Err(NoCoefficient::TooFew);
    }
    let centred = |v: &[f64]| -> Vec<f64> {
        let mut sums = vec![(0.0, 0usize); a];
        for (val, &i) in v.iter().zip(&at) {
            sums[i].0 += val;
            sums[i].1 += 1;
        }
        v.iter()
            .zip(&at)
            .map(|(val, &i)| {
                let (s, n) = sums[i];
                val - s / n as f64
            })
            .collect()
    };
    let r = pearson_r(&centred(x), &centred(y)).ok_or(NoCoefficient::Constant)?;
    let (low, high) = fisher(r, (m - a - 2) as f64);
    Ok(Correlation {
        r,
        low,
        high,
        p: p_value(r, (m - a - 1) as f64),
        m,
    })
}

/// Benjamini–Hochberg adjusted p-values (q), in the input's order: as
/// statsmodels' `multipletests(method="fdr_bh")`.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let n = p.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
    let mut q = vec![0.0; n];
    let mut running = 1.0f64;
    for (rank, &i) in idx.iter().enumerate().rev() {
        running = running.min(p[i] * n as f64 / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

/// The pooled absence of the lowest- and highest-scoring quarter of groups.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct QuartileContrast {
    /// Groups in each quarter: ⌊m / 4⌋.
    pub groups: usize,
    /// Σ lost / Σ agreed × 100 of the lowest-scoring quarter.
    pub low_rate: f64,
    pub high_rate: f64,
    /// low − high, in percentage points.
    pub difference: f64,
    /// low / high; None when the high quarter has no absence.
    pub ratio: Option<f64>,
}

/// Groups sorted by score (ties by their order in the input, which the
/// caller makes the unit-code order); quarters of ⌊m / 4⌋ groups.
pub fn quartile_contrast(score: &[f64], lost: &[f64], agreed: &[f64]) -> Option<QuartileContrast> {
    let m = score.len();
    let q = m / 4;
    if q == 0 {
        return None;
    }
    // By score, ties by place: a total order, so unstable sorting gives
    // the one order there is.
    let mut idx: Vec<(f64, usize)> = score.iter().copied().zip(0..).collect();
    idx.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let rate = |ids: &[(f64, usize)]| {
        let l: f64 = ids.iter().map(|(_, i)| lost[*i]).sum();
        let a: f64 = ids.iter().map(|(_, i)| agreed[*i]).sum();
        (a > 0.0).then(|| l / a * 100.0)
    };
    let low_rate = rate(&idx[..q])?;
    let high_rate = rate(&idx[m - q..])?;
    Some(QuartileContrast {
        groups: q,
        low_rate,
        high_rate,
        difference: low_rate - high_rate,
        ratio: (high_rate > 0.0).then(|| low_rate / high_rate),
    })
}

/// ICC(1) from a one-way ANOVA of respondent scores by group, for unequal
/// group sizes: (MSB − MSW) / (MSB + (n₀ − 1) MSW) with
/// n₀ = (N − Σnᵢ² / N) / (g − 1). None with fewer than two groups of data
/// or no variation within groups.
pub fn icc1(groups: &[Vec<f64>]) -> Option<f64> {
    let groups: Vec<&Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).collect();
    let g = groups.len();
    let n_total: usize = groups.iter().map(|x| x.len()).sum();
    if g < 2 || n_total <= g {
        return None;
    }
    let grand = groups.iter().flat_map(|x| x.iter()).sum::<f64>() / n_total as f64;
    let mut ssb = 0.0;
    let mut ssw = 0.0;
    for x in &groups {
        let m = mean(x);
        ssb += x.len() as f64 * (m - grand).powi(2);
        ssw += x.iter().map(|v| (v - m).powi(2)).sum::<f64>();
    }
    let msb = ssb / (g - 1) as f64;
    let msw = ssw / (n_total - g) as f64;
    let n = n_total as f64;
    let n0 =
        (n - groups.iter().map(|x| (x.len() as f64).powi(2)).sum::<f64>() / n) / (g - 1) as f64;
    let denom = msb + (n0 - 1.0) * msw;
    (denom > 0.0).then(|| (msb - msw) / denom)
}

/// The words STATISTICS.md uses for a correlation's strength.
pub fn strength(r: f64) -> Strength {
    match r.abs() {
        a if a < 0.1 => Strength::Negligible,
        a if a < 0.3 => Strength::Weak,
        a if a < 0.5 => Strength::Moderate,
        _ => Strength::Strong,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    Negligible,
    Weak,
    Moderate,
    Strong,
}
