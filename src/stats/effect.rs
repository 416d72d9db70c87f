//! The effect of measures on sickness absence (STATISTICS.md "Effect of
//! measures"): a difference in differences of each treated unit against
//! comparable units without a measure of the same type, pooled per type
//! with a robust interval, a placebo (permutation) check without random
//! numbers, and an event-study line. Pure: the caller reads the database,
//! decides which units' absence is released, and passes monthly sums.
//!
//! Months are indexes into one calendar the caller chose (0 = its first
//! month). A unit "has data" in a month when an imported period starts in
//! it; rates are always pooled as Σ lost / Σ agreed × 100 over the months
//! of a window, never averaged percentages.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Months before and after the start month that form the windows.
pub const WINDOW: usize = 12;
/// Months of data a window needs.
pub const MIN_MONTHS: usize = 3;
/// Below this many comparable units in the treated unit's area, the
/// controls come from the whole organisation.
pub const MIN_CONTROLS: usize = 5;

/// One unit's absence, month by month (lost and agreed working days of its
/// whole subtree; `None` without data).
#[derive(Debug, Clone, PartialEq)]
pub struct Monthly {
    pub months: Vec<Option<(f64, f64)>>,
}

impl Monthly {
    fn at(&self, m: isize) -> Option<(f64, f64)> {
        usize::try_from(m)
            .ok()
            .and_then(|m| self.months.get(m).copied().flatten())
    }
}

/// The units an estimate may draw on.
#[derive(Debug, Clone)]
pub struct Units {
    pub series: Vec<Monthly>,
    /// The service area of each unit (any id; equal means the same area).
    pub area: Vec<usize>,
    /// Depth in the unit tree: treated units are compared with units at
    /// their own depth, which never overlap them.
    pub depth: Vec<u32>,
    /// Whether the unit's absence may be shown (the anonymity engine).
    pub released: Vec<bool>,
}

/// One unit that started a measure in month `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Treated {
    pub unit: usize,
    pub start: usize,
}

/// Why there is no estimate for a treated unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoEstimate {
    /// Fewer than [`MIN_MONTHS`] months of data before the start.
    TooEarlyData,
    /// Fewer than [`MIN_MONTHS`] months of data after it.
    TooEarlyToTell,
    /// No comparable unit without such a measure.
    NoControls,
    /// The unit's own absence is not released.
    NotReleased,
}

/// A measure type's effect pooled over the units that started it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pooled {
    /// Σ wᵢ dᵢ / Σ wᵢ, percentage points.
    pub effect: f64,
    /// The robust (HC1) standard error of that weighted mean; None below
    /// three units.
    pub se: Option<f64>,
    /// 95 % interval from Student's t with n − 1 degrees of freedom.
    pub interval: Option<(f64, f64)>,
    pub n: usize,
}

/// The months of a window around `start` in which `unit` has data: before
/// (`-12..-1`) or after (`+1..+12`); the start month itself is left out.
fn window(u: &Monthly, start: usize, after: bool) -> Vec<isize> {
    let s = start as isize;
    let range: Vec<isize> = if after {
        (1..=WINDOW as isize).map(|k| s + k).collect()
    } else {
        (1..=WINDOW as isize).rev().map(|k| s - k).collect()
    };
    range.into_iter().filter(|m| u.at(*m).is_some()).collect()
}

/// Σ lost / Σ agreed × 100 of `units` over `months` (None without agreed
/// days).
fn pooled_rate(units: &Units, of: &[usize], months: &[isize]) -> Option<f64> {
    let (mut lost, mut agreed) = (0.0, 0.0);
    for &u in of {
        for &m in months {
            if let Some((l, a)) = units.series[u].at(m) {
                lost += l;
                agreed += a;
            }
        }
    }
    (agreed > 0.0).then(|| lost / agreed * 100.0)
}

/// The controls of one treated unit: the released units at its depth, in
/// its area (or, with `area` None, the whole organisation), without those
/// in `excluded` (the unit itself and those with a measure of the same
/// type around its start).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Controls {
    pub depth: u32,
    pub area: Option<usize>,
    pub excluded: Vec<usize>,
    pub count: usize,
    /// Which of the rules given to [`controls`] chose them.
    pub rule: usize,
}

/// Monthly sums of the released units of each depth, in all and per area:
/// a unit's controls are such a pool less a few units, so their rates cost
/// a subtraction, not a sum over hundreds of units.
pub struct Pools {
    months: usize,
    org: std::collections::HashMap<u32, Pool>,
    area: std::collections::HashMap<(u32, usize), Pool>,
    /// The released units of each pool, by depth and by (depth, area).
    org_members: std::collections::HashMap<u32, Vec<usize>>,
    area_members: std::collections::HashMap<(u32, usize), Vec<usize>>,
}

/// Lost and agreed days per month of some units, and how many units.
type Pool = (Vec<(f64, f64)>, usize);

impl Pools {
    pub fn new(units: &Units) -> Pools {
        let months = units
            .series
            .iter()
            .map(|s| s.months.len())
            .max()
            .unwrap_or(0);
        let mut org: std::collections::HashMap<u32, Pool> = std::collections::HashMap::new();
        let mut area: std::collections::HashMap<(u32, usize), Pool> =
            std::collections::HashMap::new();
        let mut org_members: std::collections::HashMap<u32, Vec<usize>> =
            std::collections::HashMap::new();
        let mut area_members: std::collections::HashMap<(u32, usize), Vec<usize>> =
            std::collections::HashMap::new();
        for u in 0..units.series.len() {
            if !units.released[u] {
                continue;
            }
            org_members.entry(units.depth[u]).or_default().push(u);
            area_members
                .entry((units.depth[u], units.area[u]))
                .or_default()
                .push(u);
            for pool in [
                org.entry(units.depth[u])
                    .or_insert_with(|| (vec![(0.0, 0.0); months], 0)),
                area.entry((units.depth[u], units.area[u]))
                    .or_insert_with(|| (vec![(0.0, 0.0); months], 0)),
            ] {
                pool.1 += 1;
                for (m, v) in units.series[u].months.iter().enumerate() {
                    if let Some((l, a)) = v {
                        pool.0[m].0 += l;
                        pool.0[m].1 += a;
                    }
                }
            }
        }
        Pools {
            months,
            org,
            area,
            org_members,
            area_members,
        }
    }

    /// The released units at `depth`, in `area` or (None) everywhere.
    fn members(&self, depth: u32, area: Option<usize>) -> &[usize] {
        match area {
            Some(a) => self.area_members.get(&(depth, a)),
            None => self.org_members.get(&depth),
        }
        .map_or(&[], Vec::as_slice)
    }

    /// Lost and agreed days of `c` in month `m` (None outside the calendar
    /// or without agreed days).
    fn at(&self, units: &Units, c: &Controls, m: isize) -> Option<(f64, f64)> {
        let m = usize::try_from(m).ok().filter(|m| *m < self.months)?;
        let pool = match c.area {
            Some(a) => self.area.get(&(c.depth, a)),
            None => self.org.get(&c.depth),
        }?;
        let (mut l, mut a) = pool.0[m];
        for &x in &c.excluded {
            if units.released[x] {
                if let Some((xl, xa)) = units.series[x].at(m as isize) {
                    l -= xl;
                    a -= xa;
                }
            }
        }
        (a > 0.0).then_some((l.max(0.0), a))
    }

    fn rate(&self, units: &Units, c: &Controls, months: &[isize]) -> Option<f64> {
        let (mut lost, mut agreed) = (0.0, 0.0);
        for &m in months {
            if let Some((l, a)) = self.at(units, c, m) {
                lost += l;
                agreed += a;
            }
        }
        (agreed > 0.0).then(|| lost / agreed * 100.0)
    }
}

/// Which units may not be controls: `during(u, from, to)` says whether
/// unit `u` had a measure in months `from ..= to`.
#[derive(Clone, Copy)]
pub struct Busy<'a> {
    pub during: &'a dyn Fn(usize, isize, isize) -> bool,
}

/// The controls of `unit` for a measure starting in `start`: released
/// units at its depth, other than it, not busy in `start − 12 ..= start +
/// 12`, in its area; from the whole organisation when its area has fewer
/// than [`MIN_CONTROLS`]. The rules are tried in order (the first is the
/// strictest: no measure of any kind) and the first that leaves
/// [`MIN_CONTROLS`] in the area or the organisation holds; when none
/// does, the last rule's organisation-wide controls.
pub fn controls(
    units: &Units,
    pools: &Pools,
    unit: usize,
    start: usize,
    rules: &[Busy],
) -> Controls {
    let (from, to) = (
        start as isize - WINDOW as isize,
        start as isize + WINDOW as isize,
    );
    let depth = units.depth[unit];
    let make = |ri: usize, area: Option<usize>| {
        let members = pools.members(depth, area);
        let excluded: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&u| u == unit || (rules[ri].during)(u, from, to))
            .collect();
        Controls {
            depth,
            area,
            count: members.len() - excluded.len(),
            excluded,
            rule: ri,
        }
    };
    let mut last = None;
    for ri in 0..rules.len() {
        let same_area = make(ri, Some(units.area[unit]));
        if same_area.count >= MIN_CONTROLS {
            return same_area;
        }
        let org = make(ri, None);
        if org.count >= MIN_CONTROLS {
            return org;
        }
        last = Some(org);
    }
    last.expect("at least one rule")
}

/// One treated unit's difference in differences.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UnitEffect {
    pub unit: usize,
    pub start: usize,
    /// Percentage points: (post − pre) of the unit minus (post − pre) of
    /// its controls.
    pub d: f64,
    pub pre: f64,
    pub post: f64,
    pub control_pre: f64,
    pub control_post: f64,
    /// Agreed days of the unit in its pre window: its weight when pooled.
    pub weight: f64,
    pub pre_months: usize,
    pub post_months: usize,
    pub controls: Controls,
}

/// One treated unit's difference in differences against `controls`.
pub fn unit_effect(
    units: &Units,
    pools: &Pools,
    t: Treated,
    controls: Controls,
) -> Result<UnitEffect, NoEstimate> {
    if !units.released[t.unit] {
        return Err(NoEstimate::NotReleased);
    }
    let u = &units.series[t.unit];
    let pre = window(u, t.start, false);
    if pre.len() < MIN_MONTHS {
        return Err(NoEstimate::TooEarlyData);
    }
    let post = window(u, t.start, true);
    if post.len() < MIN_MONTHS {
        return Err(NoEstimate::TooEarlyToTell);
    }
    if controls.count == 0 {
        return Err(NoEstimate::NoControls);
    }
    let own = |months: &[isize]| pooled_rate(units, &[t.unit], months);
    let (Some(p0), Some(p1)) = (own(&pre), own(&post)) else {
        return Err(NoEstimate::TooEarlyData);
    };
    let (Some(c0), Some(c1)) = (
        pools.rate(units, &controls, &pre),
        pools.rate(units, &controls, &post),
    ) else {
        return Err(NoEstimate::NoControls);
    };
    let weight: f64 = pre.iter().filter_map(|m| u.at(*m)).map(|(_, a)| a).sum();
    Ok(UnitEffect {
        unit: t.unit,
        start: t.start,
        d: (p1 - p0) - (c1 - c0),
        pre: p0,
        post: p1,
        control_pre: c0,
        control_post: c1,
        weight,
        pre_months: pre.len(),
        post_months: post.len(),
        controls,
    })
}

/// The 97.5 % quantile of Student's t with `df` degrees of freedom.
fn t975(df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df)
        .expect("positive degrees of freedom")
        .inverse_cdf(0.975)
}

/// The weighted mean of the units' effects with its robust standard
/// error: the intercept of a weighted least-squares fit of dᵢ on a
/// constant with weights wᵢ and HC1 covariance,
/// SE² = n/(n−1) · Σ wᵢ²(dᵢ − d̄)² / (Σ wᵢ)²; with n ≥ 3, the interval
/// d̄ ± t(n−1) · SE.
pub fn pool(effects: &[(f64, f64)]) -> Option<Pooled> {
    let n = effects.len();
    let total: f64 = effects.iter().map(|(_, w)| w).sum();
    if n == 0 || total <= 0.0 {
        return None;
    }
    let effect = effects.iter().map(|(d, w)| d * w).sum::<f64>() / total;
    let (se, interval) = if n >= 3 {
        let nf = n as f64;
        let spread: f64 = effects
            .iter()
            .map(|(d, w)| (w * (d - effect)).powi(2))
            .sum();
        let se = (nf / (nf - 1.0) * spread).sqrt() / total;
        let half = t975(nf - 1.0) * se;
        (Some(se), Some((effect - half, effect + half)))
    } else {
        (None, None)
    };
    Some(Pooled {
        effect,
        se,
        interval,
        n,
    })
}

/// Placebo differences already estimated under the first rule, by (unit,
/// start month): valid for every call whose first rule is the same.
pub type PlaceboMemo = std::collections::HashMap<(usize, usize), Option<f64>>;

/// The placebo check: every unit that could have been a control gets, in
/// turn, each treated unit's start month, and its own difference in
/// differences is computed the same way (with its own controls). Returns
/// the share of placebo effects at least as large in magnitude as
/// `estimate`, and how many there were.
pub fn placebo(
    units: &Units,
    pools: &Pools,
    candidates: &[usize],
    starts: &[usize],
    estimate: f64,
    rules: &[Busy],
    memo: &mut PlaceboMemo,
) -> Option<(f64, usize)> {
    let own = rules.last().expect("at least one rule");
    let mut at_least = 0;
    let mut all = 0;
    for &c in candidates {
        for &s in starts {
            let (from, to) = (s as isize - WINDOW as isize, s as isize + WINDOW as isize);
            // A unit that ran a measure of the same kind is no placebo.
            if (own.during)(c, from, to) {
                continue;
            }
            let ctrl = controls(units, pools, c, s, rules);
            // Under the first rule a placebo's d is the same for every
            // measure type: estimated once for all of them.
            let d = if ctrl.rule == 0 && rules.len() > 1 {
                *memo.entry((c, s)).or_insert_with(|| {
                    unit_effect(units, pools, Treated { unit: c, start: s }, ctrl)
                        .ok()
                        .map(|e| e.d)
                })
            } else {
                unit_effect(units, pools, Treated { unit: c, start: s }, ctrl)
                    .ok()
                    .map(|e| e.d)
            };
            if let Some(d) = d {
                all += 1;
                at_least += usize::from(d.abs() >= estimate.abs());
            }
        }
    }
    (all > 0).then(|| (at_least as f64 / all as f64, all))
}

/// The event-study line: for each month from −12 to +12 around the
/// starts, the pooled rate of the treated units minus that of their
/// controls in the same calendar months (None where either has no data).
pub fn event_study(
    units: &Units,
    pools: &Pools,
    effects: &[UnitEffect],
) -> Vec<(i32, Option<f64>)> {
    (-(WINDOW as i32)..=WINDOW as i32)
        .map(|r| {
            let (mut tl, mut ta, mut cl, mut ca) = (0.0, 0.0, 0.0, 0.0);
            for e in effects {
                let m = e.start as isize + r as isize;
                if let Some((l, a)) = units.series[e.unit].at(m) {
                    tl += l;
                    ta += a;
                }
                if let Some((l, a)) = pools.at(units, &e.controls, m) {
                    cl += l;
                    ca += a;
                }
            }
            let diff = (ta > 0.0 && ca > 0.0).then(|| tl / ta * 100.0 - cl / ca * 100.0);
            (r, diff)
        })
        .collect()
}

/// The survey side: the released change of a factor from one round to the
/// next in units that worked on it (`with`) against units that did not
/// (`without`), as a difference of means with Welch's 95 % interval. None
/// with fewer than two units on either side or no spread.
pub fn survey_difference(with: &[f64], without: &[f64]) -> Option<crate::stats::scores::Change> {
    let describe = |x: &[f64]| {
        let n = x.len();
        let mean = x.iter().sum::<f64>() / n as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
        (n, mean, var.sqrt())
    };
    if with.len() < 2 || without.len() < 2 {
        return None;
    }
    crate::stats::scores::welch(describe(with), describe(without))
}
