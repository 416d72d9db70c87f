//! The analysis itself, pure: given a snapshot's scores, each unit's own
//! absence and the imported periods, it computes the reporting groups,
//! every coefficient of STATISTICS.md and the risk summary. No database:
//! [`super::run`] reads what it needs and calls [`compute`].

use super::model::*;
use super::summary;
use crate::lang::Lang;
use crate::snapshot::anonymity::{release, Node};
use crate::snapshot::model::{FactorRef, Scores};
use crate::stats::correlation::{self, NoCoefficient};
use chrono::NaiveDate;
use std::collections::HashMap;

/// Sums every unit's own absence up the snapshot's tree and lets the
/// engine decide which groups may show it: a group needs k employees, and
/// the remainder rule holds for the lost-days sums (they are sums over the
/// same people). `own` is keyed by the snapshot's group keys.
pub fn protect(snapshot: &Scores, own: &HashMap<String, Sums>, k: u32) -> Vec<GroupAbsence> {
    protect_with(snapshot, &snapshot.parent_indexes(), own, k)
}

/// [`protect`] with the snapshot's parent indexes already at hand.
fn protect_with(
    snapshot: &Scores,
    parent: &[Option<usize>],
    own: &HashMap<String, Sums>,
    k: u32,
) -> Vec<GroupAbsence> {
    let tree: Vec<(&str, &str, Option<usize>)> = snapshot
        .groups
        .iter()
        .zip(parent)
        .map(|(g, p)| (g.key.as_str(), g.code.as_str(), *p))
        .collect();
    protect_tree(&tree, own, k)
}

/// [`protect`] over any tree of (key, code, parent index) in which parents
/// come before their children: each node's absence summed over its
/// subtree, shown where the engine releases it.
pub fn protect_tree(
    tree: &[(&str, &str, Option<usize>)],
    own: &HashMap<String, Sums>,
    k: u32,
) -> Vec<GroupAbsence> {
    // Each unit's own sums, looked up once.
    let mut sums: Vec<Sums> = tree
        .iter()
        .map(|(key, _, _)| own.get(*key).copied().unwrap_or_default())
        .collect();
    let nodes: Vec<Node> = tree
        .iter()
        .zip(&sums)
        .map(|((_, code, parent), s)| Node {
            id: code.to_string(),
            parent: *parent,
            direct: s.headcount,
        })
        .collect();
    let shown = release(&nodes, k).expect("a unit tree is a tree").shown;
    // Parents come before children: add up from the end.
    for i in (0..sums.len()).rev() {
        if let Some(p) = tree[i].2 {
            let child = sums[i];
            sums[p].merge(&child);
        }
    }
    tree.iter()
        .zip(shown)
        .zip(sums)
        .map(|(((key, _, _), shown), sums)| {
            GroupAbsence::new(key.to_string(), shown && sums.agreed > 0.0, sums)
        })
        .collect()
}

/// The default level: just above the deepest groups the snapshot shows.
pub fn default_level(snapshot: &Scores) -> u32 {
    let deepest = snapshot
        .groups
        .iter()
        .filter(|g| g.figures.is_some())
        .map(|g| g.depth)
        .max()
        .unwrap_or(0);
    deepest.saturating_sub(1).max(1)
}

/// Everything of the analysis but reading the database.
pub struct Input<'a> {
    pub round_id: &'a crate::ids::RoundId,
    pub round_title: &'a str,
    pub snapshot: &'a Scores,
    pub surveys: &'a [crate::survey::Survey],
    pub own: &'a HashMap<String, Sums>,
    pub window: (NaiveDate, NaiveDate),
    /// Every distinct imported absence period (first day, last day).
    pub periods: &'a [(NaiveDate, NaiveDate)],
    pub level: Option<u32>,
    pub lang: Lang,
}

/// The service area of group `at`: the group just below the root on its
/// way up (the root's own key for the root).
fn area_key(s: &Scores, parents: &[Option<usize>], mut at: usize) -> String {
    while let Some(p) = parents[at] {
        if parents[p].is_none() {
            break;
        }
        at = p;
    }
    s.groups[at].key.clone()
}

/// Each factor's released n, mean and SD (None where hidden).
fn factor_stats(fig: &crate::snapshot::model::GroupScores) -> Vec<Option<(f64, f64, f64)>> {
    fig.factors
        .iter()
        .map(|f| f.as_ref().map(|x| (f64::from(x.n), x.mean, x.sd)))
        .collect()
}

/// n, mean and SD of a group less a part of it (from the sums Σx and Σx²
/// the three give back); None below two left.
fn less(whole: (f64, f64, f64), part: (f64, f64, f64)) -> Option<(f64, f64, f64)> {
    let ((nw, mw, sw), (np, mp, sp)) = (whole, part);
    let n = nw - np;
    let sum = nw * mw - np * mp;
    let sq = (nw - 1.0) * sw * sw + nw * mw * mw - ((np - 1.0) * sp * sp + np * mp * mp);
    (n >= 2.0).then(|| {
        let mean = sum / n;
        let var = ((sq - n * mean * mean) / (n - 1.0)).max(0.0);
        (n, mean, var.sqrt())
    })
}

/// The reporting groups at `level`: groups whose survey results and
/// absence are both released, each with its area (the group just below the
/// root on the way up), ordered by code.
fn reporting_groups(
    s: &Scores,
    lang: Lang,
    parents: &[Option<usize>],
    absence: &[GroupAbsence],
    level: u32,
) -> Vec<ReportingGroup> {
    let area_of = |at: usize| area_key(s, parents, at);
    let mut groups = Vec::new();
    for (i, g) in s.groups.iter().enumerate() {
        if g.depth != level {
            continue;
        }
        let (Some(fig), Some(abs)) = (&g.figures, absence[i].sums()) else {
            continue;
        };
        let Some(rate) = abs.rate() else { continue };
        groups.push(ReportingGroup {
            key: g.key.clone(),
            code: g.code.clone(),
            name: crate::lang::display_name(&g.name, lang),
            area: area_of(i),
            absence_rate: rate,
            agreed: abs.agreed,
            lost: abs.lost,
            scores: fig
                .factors
                .iter()
                .map(|f| f.as_ref().map(|x| x.mean))
                .collect(),
            stats: factor_stats(fig),
            sums: *abs,
            target: None,
        });
    }
    groups.sort_by(|a, b| a.code.cmp(&b.code));
    groups
}

/// The finest partition of the organisation into groups whose survey
/// results and absence are both released: every group shown for both,
/// less the groups shown for both below it. A group with none below it
/// stands as it is; one with some is represented by its rest ("– øvrige"),
/// whose figures follow from released ones by subtraction (Σx and Σx² of
/// the scores, the absence sums) and, by the engine's remainder rule, hold
/// 0 or at least k people — a rest below k is left out all the same.
fn finest_groups(
    s: &Scores,
    l: Lang,
    parents: &[Option<usize>],
    absence: &[GroupAbsence],
) -> Vec<ReportingGroup> {
    let k = f64::from(s.k);
    let both: Vec<bool> = (0..s.groups.len())
        .map(|i| s.groups[i].figures.is_some() && absence[i].sums().is_some())
        .collect();
    // Each group's nearest ancestor shown for both.
    let up = |mut i: usize| -> Option<usize> {
        while let Some(p) = parents[i] {
            if both[p] {
                return Some(p);
            }
            i = p;
        }
        None
    };
    let mut below: Vec<Vec<usize>> = vec![Vec::new(); s.groups.len()];
    for (i, _) in both.iter().enumerate().filter(|(_, b)| **b) {
        if let Some(p) = up(i) {
            below[p].push(i);
        }
    }
    let area_of = |at: usize| area_key(s, parents, at);
    let mut groups = Vec::new();
    for i in (0..s.groups.len()).filter(|i| both[*i]) {
        let g = &s.groups[i];
        let fig = g.figures.as_ref().expect("shown");
        let mut sums = *absence[i].sums().expect("shown");
        let mut n = f64::from(fig.n);
        let mut stats = factor_stats(fig);
        for &c in &below[i] {
            let cf = s.groups[c].figures.as_ref().expect("shown");
            let cs = absence[c].sums().expect("shown");
            n -= f64::from(cf.n);
            sums.remove(cs);
            for (st, cx) in stats.iter_mut().zip(factor_stats(cf)) {
                // A part whose figure is hidden: the rest cannot be
                // derived for this factor.
                *st = st.zip(cx).and_then(|(w, p)| less(w, p));
            }
        }
        for st in &mut stats {
            if st.is_some_and(|x| x.0 < k) {
                *st = None;
            }
        }
        let rest = !below[i].is_empty();
        if n < k || f64::from(sums.headcount) < k || sums.agreed <= 0.0 {
            continue;
        }
        let name = crate::lang::display_name(&g.name, l);
        groups.push(ReportingGroup {
            key: if rest {
                format!("{}#rest", g.key)
            } else {
                g.key.clone()
            },
            code: g.code.clone(),
            name: if rest {
                format!("{name} – {}", l.pick("øvrige", "andre", "others"))
            } else {
                name
            },
            area: area_of(i),
            absence_rate: sums.lost / sums.agreed * 100.0,
            agreed: sums.agreed,
            lost: sums.lost,
            scores: stats.iter().map(|x| x.map(|x| x.1)).collect(),
            stats,
            sums,
            target: None,
        });
    }
    groups.sort_by(|a, b| a.code.cmp(&b.code).then(a.key.cmp(&b.key)));
    groups
}

/// Of one factor, the reporting groups with a score on it, in order: the
/// groups, their areas (as [`Grouped::area_of`] numbers them), their
/// scores (x) and their absence rates (y).
struct FactorRows<'g> {
    rows: Vec<&'g ReportingGroup>,
    area_ids: Vec<usize>,
    x: Vec<f64>,
    y: Vec<f64>,
}

impl<'g> FactorRows<'g> {
    fn of(groups: &'g [ReportingGroup], area_of: &[usize], fi: usize) -> FactorRows<'g> {
        let (rows, area_ids): (Vec<&ReportingGroup>, Vec<usize>) = groups
            .iter()
            .zip(area_of)
            .filter(|(g, _)| g.scores[fi].is_some())
            .unzip();
        let x = rows
            .iter()
            .map(|g| g.scores[fi].unwrap_or_default())
            .collect();
        let y = rows.iter().map(|g| g.absence_rate).collect();
        FactorRows {
            rows,
            area_ids,
            x,
            y,
        }
    }
}

/// Every coefficient of one factor over the reporting groups that have a
/// score on it (none below [`MIN_GROUPS`]).
fn factor_result(
    input: &Input,
    groups: &[ReportingGroup],
    area_of: &[usize],
    by_rate: &[usize],
    fi: usize,
) -> FactorResult {
    let s = input.snapshot;
    let f = &s.factors[fi];
    let factor_name = |f: &FactorRef| {
        input
            .surveys
            .iter()
            .find(|x| x.id == f.survey)
            .and_then(|x| x.factors.iter().find(|y| y.key == f.key))
            .map_or(f.key.clone(), |y| y.name.get(input.lang).to_string())
    };
    let FactorRows {
        rows,
        area_ids,
        x,
        y,
    } = FactorRows::of(groups, area_of, fi);
    let w: Vec<f64> = rows.iter().map(|g| g.agreed).collect();
    let m = rows.len();
    let mut out = FactorResult {
        survey: f.survey.clone(),
        key: f.key.clone(),
        name: factor_name(f),
        m,
        pearson: None,
        weighted_r: None,
        spearman: None,
        within_area: None,
        q: None,
        contrast: None,
        icc1: None,
        other_measures: Vec::new(),
        missing: None,
    };
    if m < MIN_GROUPS {
        out.missing = Some("too_few");
        return out;
    }
    match correlation::pearson(&x, &y) {
        Ok(c) => out.pearson = Some(c),
        Err(NoCoefficient::Constant) => out.missing = Some("constant"),
        Err(NoCoefficient::TooFew) => out.missing = Some("too_few"),
    }
    out.weighted_r = correlation::weighted_pearson_r(&x, &y, &w);
    // Spearman's ρ (`correlation::spearman`): the rates' ranks from the
    // groups already in order of rate, those with a score on the factor.
    let mut place = vec![usize::MAX; groups.len()];
    for (at, g) in groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.scores[fi].is_some())
        .map(|(g, _)| g)
        .enumerate()
    {
        place[g] = at;
    }
    let y_sorted: Vec<(f64, usize)> = by_rate
        .iter()
        .filter(|&&g| place[g] != usize::MAX)
        .map(|&g| (groups[g].absence_rate, place[g]))
        .collect();
    let y_ranks = correlation::ranks_of_sorted(&y_sorted);
    out.spearman = correlation::pearson(&correlation::average_ranks(&x), &y_ranks).ok();
    out.within_area = correlation::within_area(&x, &y, &area_ids).ok();
    let lost: Vec<f64> = rows.iter().map(|g| g.lost).collect();
    out.contrast = correlation::quartile_contrast(&x, &lost, &w);
    out.icc1 = icc(&rows.iter().filter_map(|g| g.stats[fi]).collect::<Vec<_>>());
    for (label, pick) in [
        ("self_certified", 0usize),
        ("doctor_certified", 1),
        ("long_term", 2),
    ] {
        let ys: Option<Vec<f64>> = rows
            .iter()
            .map(|g| {
                let a = &g.sums;
                let part = [a.self_certified, a.doctor_certified, a.long_term][pick]?;
                Some(part / a.agreed * 100.0)
            })
            .collect();
        if let Some(ys) = ys {
            out.other_measures
                .push((label.to_string(), correlation::pearson_r(&x, &ys)));
        }
    }
    out
}

/// The reporting groups of an analysis, with what every factor's
/// coefficients take from them.
struct Grouped {
    /// Each snapshot group's absence, as [`protect`] releases it.
    absence: Vec<GroupAbsence>,
    level: u32,
    finest: bool,
    groups: Vec<ReportingGroup>,
    /// Distinct areas among the groups.
    areas: usize,
    /// Whether within-area r ranks the factors (every area ≥ 3 groups).
    within_used: bool,
    /// Each group's area as its place among the areas' keys in order:
    /// within-area coefficients follow that order.
    area_of: Vec<usize>,
}

impl Grouped {
    /// At `level`, or the finest partition with none.
    fn of(s: &Scores, own: &HashMap<String, Sums>, level: Option<u32>, lang: Lang) -> Grouped {
        let parents = s.parent_indexes();
        let absence = protect_with(s, &parents, own, s.k);
        let finest = level.is_none();
        let level = level.unwrap_or_else(|| default_level(s));
        let groups = if finest {
            finest_groups(s, lang, &parents, &absence)
        } else {
            reporting_groups(s, lang, &parents, &absence, level)
        };
        let mut area_counts: HashMap<&str, usize> = HashMap::new();
        for g in &groups {
            *area_counts.entry(g.area.as_str()).or_default() += 1;
        }
        let areas = area_counts.len();
        let within_used = areas >= 2 && area_counts.values().all(|n| *n >= MIN_GROUPS_PER_AREA);
        let area_of = {
            let mut names: Vec<&str> = area_counts.keys().copied().collect();
            names.sort_unstable();
            groups
                .iter()
                .map(|g| names.binary_search(&g.area.as_str()).unwrap_or(0))
                .collect()
        };
        Grouped {
            absence,
            level,
            finest,
            groups,
            areas,
            within_used,
            area_of,
        }
    }
}

/// Of the analysis of `snapshot` over the finest groups, what the next
/// round's comparison shows: the number of reporting groups and each
/// factor's r as the ranking uses it ([`FactorResult::ranked`]) — the
/// figures [`compute`] gives, without the other coefficients, the
/// questionnaires' names or the summary.
pub fn ranked_r(snapshot: &Scores, own: &HashMap<String, Sums>) -> (usize, Vec<Option<f64>>) {
    let Grouped {
        groups,
        within_used,
        area_of,
        ..
    } = Grouped::of(snapshot, own, None, Lang::Nb);
    let r = (0..snapshot.factors.len())
        .map(|fi| {
            let FactorRows { x, y, area_ids, .. } = FactorRows::of(&groups, &area_of, fi);
            if x.len() < MIN_GROUPS {
                return None;
            }
            let c = if within_used {
                correlation::within_area(&x, &y, &area_ids)
            } else {
                correlation::pearson(&x, &y)
            };
            c.ok().map(|c| c.r)
        })
        .collect();
    (groups.len(), r)
}

/// The analysis of one round against the absence in one window: reporting
/// groups, each factor's coefficients, q across factors, the coverage of
/// the window, and the risk summary.
pub fn compute(input: &Input) -> Analysis {
    let s = input.snapshot;
    let k = s.k;
    let g = Grouped::of(s, input.own, input.level, input.lang);
    let (groups, within_used, area_of) = (g.groups, g.within_used, g.area_of);
    let too_few = groups.len() < MIN_GROUPS;
    // The groups in order of absence rate, once for every factor's ranks.
    let mut by_rate: Vec<usize> = (0..groups.len()).collect();
    by_rate.sort_unstable_by(|a, b| groups[*a].absence_rate.total_cmp(&groups[*b].absence_rate));
    let mut factors: Vec<FactorResult> = (0..s.factors.len())
        .map(|fi| factor_result(input, &groups, &area_of, &by_rate, fi))
        .collect();
    // q across the factors, for the r the ranking uses.
    let ps: Vec<(usize, f64)> = factors
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.ranked(within_used).map(|c| (i, c.p)))
        .collect();
    let qs = correlation::benjamini_hochberg(&ps.iter().map(|x| x.1).collect::<Vec<_>>());
    for ((i, _), q) in ps.iter().zip(qs) {
        factors[*i].q = Some(q);
    }
    let root = g
        .absence
        .first()
        .and_then(|a| a.sums())
        .and_then(|s| s.rate());
    let coverage = Coverage::of(input.window, input.periods);
    let reason = too_few.then_some(match coverage.status {
        CoverageStatus::None => NoCoefficients::NoAbsenceInWindow,
        CoverageStatus::Partial => NoCoefficients::PartialAbsence,
        CoverageStatus::Full => NoCoefficients::TooFewGroups,
    });
    let mut analysis = Analysis {
        round_id: input.round_id.clone(),
        round_title: input.round_title.to_string(),
        window_from: input.window.0,
        window_to: input.window.1,
        level: g.level,
        grouping: if g.finest { "finest" } else { "level" },
        min_group_size: k,
        organisation_rate: root,
        groups,
        within_used,
        areas: g.areas,
        factors,
        too_few,
        reason,
        coverage,
        summary: RiskSummary::default(),
        previous: None,
    };
    analysis.summary = summary::summarise(&analysis, input.lang);
    analysis
}

/// ICC(1) of a factor over the reporting groups, from their n, mean and
/// SD (the one-way ANOVA's sums of squares follow from them).
fn icc(stats: &[(f64, f64, f64)]) -> Option<f64> {
    let g = stats.len();
    let n: f64 = stats.iter().map(|x| x.0).sum();
    if g < 2 || n <= g as f64 {
        return None;
    }
    let grand = stats.iter().map(|x| x.0 * x.1).sum::<f64>() / n;
    let ssb: f64 = stats.iter().map(|x| x.0 * (x.1 - grand).powi(2)).sum();
    let ssw: f64 = stats.iter().map(|x| (x.0 - 1.0) * x.2 * x.2).sum();
    let msb = ssb / (g - 1) as f64;
    let msw = ssw / (n - g as f64);
    let n0 = (n - stats.iter().map(|x| x.0 * x.0).sum::<f64>() / n) / (g - 1) as f64;
    let denom = msb + (n0 - 1.0) * msw;
    (denom > 0.0).then(|| (msb - msw) / denom)
}
