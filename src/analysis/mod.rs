//! The AMU analysis (STATISTICS.md "Absence", "Correlation", "Risk
//! summary"): sickness absence summed up the same unit tree as a round's
//! snapshot, protected by the same anonymity engine (ANONYMITY.md §6), and
//! correlated with the snapshot's released factor scores across reporting
//! groups. [`compute`] is pure; [`run`] reads the database.

pub mod summary;

use crate::db::schema::{absence, employees};
use crate::db::DbConnection;
use crate::lang::Lang;
use crate::rounds::Round;
use crate::snapshot::anonymity::{release, Node};
use crate::snapshot::Scores;
use crate::stats::correlation::{self, Correlation, NoCoefficient, QuartileContrast};
use crate::AppError;
use chrono::{Months, NaiveDate};
use diesel::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

/// With fewer reporting groups the analysis shows no coefficients.
pub const MIN_GROUPS: usize = 10;
/// An association counts in the risk summary when q is below this.
pub const Q_COUNTS: f64 = 0.10;
/// Within-area r ranks the factors when every area has this many groups.
pub const MIN_GROUPS_PER_AREA: usize = 3;

/// Which absence the survey is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The 12 months ending on the round's last day (the default): its
    /// closing day, or the day it was closed by hand before that.
    Before,
    /// The 12 months after it: does the survey predict absence?
    After,
    Range(NaiveDate, NaiveDate),
}

impl Window {
    /// `before`, `after` or `FROM..TO` (ISO dates).
    pub fn parse(s: &str) -> Result<Window, AppError> {
        match s {
            "before" | "" => Ok(Window::Before),
            "after" => Ok(Window::After),
            range => {
                let bad = || {
                    AppError::BadRequest(format!(
                        "window '{range}': use before, after or YYYY-MM-DD..YYYY-MM-DD"
                    ))
                };
                let (a, b) = range.split_once("..").ok_or_else(bad)?;
                let d =
                    |x: &str| NaiveDate::parse_from_str(x.trim(), "%Y-%m-%d").map_err(|_| bad());
                let (a, b) = (d(a)?, d(b)?);
                if b < a {
                    return Err(bad());
                }
                Ok(Window::Range(a, b))
            }
        }
    }

    /// First and last day, inclusive, around the round's last day.
    pub fn dates(self, last_day: NaiveDate) -> (NaiveDate, NaiveDate) {
        let year = Months::new(12);
        match self {
            Window::Before => (last_day - year + chrono::Days::new(1), last_day),
            Window::After => (last_day + chrono::Days::new(1), last_day + year),
            Window::Range(a, b) => (a, b),
        }
    }
}

/// How much of the window the imported absence covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageStatus {
    /// Every day of the window lies in an imported period.
    Full,
    /// Some days do, some do not.
    Partial,
    /// No imported period lies inside the window.
    None,
}

/// The imported absence against the chosen window: machine-readable, so
/// that a page, the command line and the API can all say why an analysis
/// has few groups, and offer a window that has data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    pub status: CoverageStatus,
    /// What the imported absence covers: its periods, merged where they
    /// touch or overlap, oldest first.
    pub periods: Vec<(NaiveDate, NaiveDate)>,
    /// The latest 12 months that have data, when the window is not fully
    /// covered and that is another window.
    pub suggested: Option<(NaiveDate, NaiveDate)>,
}

impl Coverage {
    /// `periods`: every distinct imported (first day, last day). The sums
    /// use only periods wholly inside the window; a window holding none is
    /// [`CoverageStatus::None`]. Otherwise it is full when every day of it
    /// lies in some imported period (a month straddling its first day
    /// counts as data for that day, though the sums leave it out).
    pub fn of(window: (NaiveDate, NaiveDate), periods: &[(NaiveDate, NaiveDate)]) -> Coverage {
        let spans = merge(periods.iter().copied());
        let any_inside = periods
            .iter()
            .any(|(a, b)| *a >= window.0 && *b <= window.1);
        let covered: i64 = spans
            .iter()
            .map(|(a, b)| ((*a).max(window.0), (*b).min(window.1)))
            .filter(|(a, b)| a <= b)
            .map(|(a, b)| (b - a).num_days() + 1)
            .sum();
        let length = (window.1 - window.0).num_days() + 1;
        let status = if !any_inside {
            CoverageStatus::None
        } else if covered < length {
            CoverageStatus::Partial
        } else {
            CoverageStatus::Full
        };
        let suggested = spans.last().and_then(|&(_, last)| {
            let from = last - Months::new(12) + chrono::Days::new(1);
            (status != CoverageStatus::Full && (from, last) != window).then_some((from, last))
        });
        Coverage {
            status,
            periods: spans,
            suggested,
        }
    }
}

/// Periods merged where they overlap or follow each other day by day.
fn merge(periods: impl Iterator<Item = (NaiveDate, NaiveDate)>) -> Vec<(NaiveDate, NaiveDate)> {
    let mut sorted: Vec<(NaiveDate, NaiveDate)> = periods.collect();
    sorted.sort();
    let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for (a, b) in sorted {
        match out.last_mut() {
            Some(last) if a <= last.1 + chrono::Days::new(1) => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Why an analysis shows no coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoCoefficients {
    /// No imported absence lies in the window.
    NoAbsenceInWindow,
    /// The window is only partly covered, and too few groups have absence.
    PartialAbsence,
    /// The data is there, but fewer than [`MIN_GROUPS`] groups have both
    /// results and absence shown.
    TooFewGroups,
}

/// Absence sums of one unit's own employees in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Sums {
    pub agreed: f64,
    pub lost: f64,
    pub self_certified: Option<f64>,
    pub doctor_certified: Option<f64>,
    pub long_term: Option<f64>,
    /// Employees: the largest headcount reported in the window, or the
    /// unit's active employees when the file has no headcount.
    pub headcount: u32,
}

fn add_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (None, None) => None,
        (x, y) => Some(x.unwrap_or(0.0) + y.unwrap_or(0.0)),
    }
}

impl Sums {
    fn merge(&mut self, o: &Sums) {
        self.agreed += o.agreed;
        self.lost += o.lost;
        self.self_certified = add_opt(self.self_certified, o.self_certified);
        self.doctor_certified = add_opt(self.doctor_certified, o.doctor_certified);
        self.long_term = add_opt(self.long_term, o.long_term);
        self.headcount += o.headcount;
    }
    /// Σ lost / Σ agreed × 100; never an average of percentages.
    pub fn rate(&self) -> Option<f64> {
        (self.agreed > 0.0).then(|| self.lost / self.agreed * 100.0)
    }
}

/// Absence of one snapshot group (a unit's whole subtree); the figures are
/// None when the anonymity rules hide them.
#[derive(Debug, Clone, Serialize)]
pub struct GroupAbsence {
    pub key: String,
    pub shown: bool,
    #[serde(skip)]
    sums: Sums,
}

impl GroupAbsence {
    /// The released sums; None when hidden.
    pub fn sums(&self) -> Option<&Sums> {
        self.shown.then_some(&self.sums)
    }
}

/// Sums every unit's own absence up the snapshot's tree and lets the
/// engine decide which groups may show it: a group needs k employees, and
/// the remainder rule holds for the lost-days sums (they are sums over the
/// same people). `own` is keyed by the snapshot's group keys.
pub fn protect(snapshot: &Scores, own: &HashMap<String, Sums>, k: u32) -> Vec<GroupAbsence> {
    let parent = snapshot.parent_indexes();
    let nodes: Vec<Node> = snapshot
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| Node {
            id: g.code.clone(),
            parent: parent[i],
            direct: own.get(&g.key).map_or(0, |s| s.headcount),
        })
        .collect();
    let shown = release(&nodes, k)
        .expect("a snapshot's tree is a tree")
        .shown;
    let mut sums: Vec<Sums> = snapshot
        .groups
        .iter()
        .map(|g| own.get(&g.key).copied().unwrap_or_default())
        .collect();
    // Parents come before children in a snapshot: add up from the end.
    for i in (0..sums.len()).rev() {
        if let Some(p) = parent[i] {
            let child = sums[i];
            sums[p].merge(&child);
        }
    }
    snapshot
        .groups
        .iter()
        .zip(shown)
        .zip(sums)
        .map(|((g, shown), sums)| GroupAbsence {
            key: g.key.clone(),
            shown: shown && sums.agreed > 0.0,
            sums,
        })
        .collect()
}

/// One reporting group of the analysis: survey results and absence both
/// shown.
#[derive(Debug, Clone, Serialize)]
pub struct ReportingGroup {
    pub key: String,
    pub code: String,
    pub name: String,
    /// The service area (the level below the root) it belongs to.
    pub area: String,
    pub absence_rate: f64,
    pub agreed: f64,
    pub lost: f64,
    /// By factor; None where the factor's figure is hidden.
    pub scores: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FactorResult {
    pub survey: String,
    pub key: String,
    pub name: String,
    /// Groups with a score on this factor.
    pub m: usize,
    pub pearson: Option<Correlation>,
    pub weighted_r: Option<f64>,
    pub spearman: Option<Correlation>,
    pub within_area: Option<Correlation>,
    /// Benjamini–Hochberg q across the factors, for the ranking's r.
    pub q: Option<f64>,
    pub contrast: Option<QuartileContrast>,
    pub icc1: Option<f64>,
    /// Pearson r with the self-certified, doctor-certified and long-term
    /// rates, where the data has them.
    pub other_measures: Vec<(String, Option<f64>)>,
    /// Why there is no coefficient, when there is none.
    pub missing: Option<&'static str>,
}

impl FactorResult {
    /// The correlation the ranking uses: within-area where the analysis
    /// says so, else the plain r.
    pub fn ranked(&self, within: bool) -> Option<&Correlation> {
        if within {
            self.within_area.as_ref()
        } else {
            self.pearson.as_ref()
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub round_id: String,
    pub round_title: String,
    pub window_from: NaiveDate,
    pub window_to: NaiveDate,
    pub level: u32,
    pub min_group_size: u32,
    /// The organisation's absence rate, when shown.
    pub organisation_rate: Option<f64>,
    pub groups: Vec<ReportingGroup>,
    /// Whether within-area r ranks the factors (every area ≥ 3 groups).
    pub within_used: bool,
    pub areas: usize,
    pub factors: Vec<FactorResult>,
    /// Fewer than [`MIN_GROUPS`] groups: no coefficients.
    pub too_few: bool,
    /// Why there are no coefficients, when there are none.
    pub reason: Option<NoCoefficients>,
    /// The imported absence against the window.
    pub coverage: Coverage,
    pub summary: summary::RiskSummary,
    /// The same analysis of the previous round of the questionnaire (its
    /// own window and default level), for comparison; None when there is
    /// none.
    pub previous: Option<Previous>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Previous {
    pub round_id: String,
    pub round_title: String,
    pub groups: usize,
    /// The ranking's r per factor, in the order of [`Analysis::factors`]
    /// (matched by questionnaire and factor key).
    pub r: Vec<Option<f64>>,
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
    pub round: &'a Round,
    pub snapshot: &'a Scores,
    pub surveys: &'a [crate::survey::Survey],
    pub own: &'a HashMap<String, Sums>,
    pub window: (NaiveDate, NaiveDate),
    /// Every distinct imported absence period (first day, last day).
    pub periods: &'a [(NaiveDate, NaiveDate)],
    pub level: Option<u32>,
    pub lang: Lang,
}

pub fn compute(input: &Input) -> Analysis {
    let s = input.snapshot;
    let k = s.k;
    let absence = protect(s, input.own, k);
    let level = input.level.unwrap_or_else(|| default_level(s));
    let by_key: HashMap<&str, usize> = s
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.key.as_str(), i))
        .collect();
    // The service area: the group just below the root on the way up.
    let parents = s.parent_indexes();
    let area_of = |mut at: usize| -> String {
        while let Some(p) = parents[at] {
            if parents[p].is_none() {
                break;
            }
            at = p;
        }
        s.groups[at].key.clone()
    };
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
            name: crate::results::display_name(&g.name, input.lang),
            area: area_of(i),
            absence_rate: rate,
            agreed: abs.agreed,
            lost: abs.lost,
            scores: fig
                .factors
                .iter()
                .map(|f| f.as_ref().map(|x| x.mean))
                .collect(),
        });
    }
    groups.sort_by(|a, b| a.code.cmp(&b.code));
    let mut area_counts: HashMap<&str, usize> = HashMap::new();
    for g in &groups {
        *area_counts.entry(g.area.as_str()).or_default() += 1;
    }
    let areas = area_counts.len();
    let within_used = areas >= 2 && area_counts.values().all(|n| *n >= MIN_GROUPS_PER_AREA);
    let too_few = groups.len() < MIN_GROUPS;
    let factor_name = |f: &crate::snapshot::FactorRef| {
        input
            .surveys
            .iter()
            .find(|x| x.id == f.survey)
            .and_then(|x| x.factors.iter().find(|y| y.key == f.key))
            .map_or(f.key.clone(), |y| y.name.get(input.lang).to_string())
    };
    let mut factors: Vec<FactorResult> = s
        .factors
        .iter()
        .enumerate()
        .map(|(fi, f)| {
            let rows: Vec<&ReportingGroup> =
                groups.iter().filter(|g| g.scores[fi].is_some()).collect();
            let x: Vec<f64> = rows
                .iter()
                .map(|g| g.scores[fi].unwrap_or_default())
                .collect();
            let y: Vec<f64> = rows.iter().map(|g| g.absence_rate).collect();
            let w: Vec<f64> = rows.iter().map(|g| g.agreed).collect();
            let area_ids: Vec<usize> = {
                let mut names: Vec<&str> = rows.iter().map(|g| g.area.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                rows.iter()
                    .map(|g| names.binary_search(&g.area.as_str()).unwrap_or(0))
                    .collect()
            };
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
            out.spearman = correlation::spearman(&x, &y).ok();
            out.within_area = correlation::within_area(&x, &y, &area_ids).ok();
            let lost: Vec<f64> = rows.iter().map(|g| g.lost).collect();
            out.contrast = correlation::quartile_contrast(&x, &lost, &w);
            out.icc1 = icc_from_figures(
                s,
                &rows
                    .iter()
                    .map(|g| by_key[g.key.as_str()])
                    .collect::<Vec<_>>(),
                fi,
            );
            for (label, pick) in [
                ("self_certified", 0usize),
                ("doctor_certified", 1),
                ("long_term", 2),
            ] {
                let ys: Option<Vec<f64>> = rows
                    .iter()
                    .map(|g| {
                        let a = absence[by_key[g.key.as_str()]].sums()?;
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
        })
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
    let root = absence
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
        round_id: input.round.id.clone(),
        round_title: input.round.title.clone(),
        window_from: input.window.0,
        window_to: input.window.1,
        level,
        min_group_size: k,
        organisation_rate: root,
        groups,
        within_used,
        areas,
        factors,
        too_few,
        reason,
        coverage,
        summary: summary::RiskSummary::default(),
        previous: None,
    };
    analysis.summary = summary::summarise(&analysis, input.lang);
    analysis
}

/// ICC(1) of a factor over the reporting groups, from their released n,
/// mean and SD (the one-way ANOVA's sums of squares follow from them).
fn icc_from_figures(s: &Scores, groups: &[usize], f: usize) -> Option<f64> {
    let stats: Vec<(f64, f64, f64)> = groups
        .iter()
        .filter_map(|i| {
            let x = s.groups[*i].figures.as_ref()?.factors[f].as_ref()?;
            Some((f64::from(x.n), x.mean, x.sd))
        })
        .collect();
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

/// Working days are summed in millionths of a day (see [`own_absence`]).
const MICRO: i64 = 1_000_000;

/// Each unit's own absence in the window, keyed by unit id.
pub fn own_absence(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<String, Sums>, AppError> {
    let (f, t) = (
        from.format("%Y-%m-%d").to_string(),
        to.format("%Y-%m-%d").to_string(),
    );
    // Summed in the database: SQL's SUM and MAX skip NULLs and give NULL
    // when every value is NULL, which is exactly how parts and headcounts
    // that some rows leave out add up. Days are summed as whole millionths
    // of a day: integer sums are exact, so the figures are the same on
    // SQLite and PostgreSQL and in any row order (floating-point SUM is
    // compensated on one and plain on the other, and follows the order).
    use diesel::dsl::{max, sql};
    use diesel::sql_types::{BigInt, Nullable};
    fn micro_sum(column: &str) -> diesel::expression::SqlLiteral<Nullable<BigInt>> {
        sql::<Nullable<BigInt>>(&format!(
            "CAST(SUM(CAST(ROUND({column} * {MICRO}) AS BIGINT)) AS BIGINT)"
        ))
    }
    type Row = (
        String,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i32>,
    );
    let rows: Vec<Row> = absence::table
        .filter(absence::period_start.ge(&f))
        .filter(absence::period_end.le(&t))
        .group_by(absence::unit_id)
        .select((
            absence::unit_id,
            micro_sum("agreed_workdays"),
            micro_sum("lost_workdays"),
            micro_sum("lost_self_certified"),
            micro_sum("lost_doctor_certified"),
            micro_sum("lost_long_term"),
            max(absence::headcount),
        ))
        .load(conn)?;
    let days = |micro: Option<i64>| micro.map(|m| m as f64 / MICRO as f64);
    // Units that report no headcount count their current staff.
    let staff: HashMap<String, i64> = if rows.iter().any(|r| r.6.is_none()) {
        employees::table
            .filter(employees::active.eq(true))
            .group_by(employees::unit_id)
            .select((employees::unit_id, diesel::dsl::count_star()))
            .load::<(String, i64)>(conn)?
            .into_iter()
            .collect()
    } else {
        HashMap::new()
    };
    let mut out: HashMap<String, Sums> = HashMap::new();
    for (unit, agreed, lost, sc, dc, lt, hc) in rows {
        let headcount = match hc {
            Some(h) => h.max(0) as u32,
            None => staff.get(&unit).copied().unwrap_or(0) as u32,
        };
        out.insert(
            unit,
            Sums {
                agreed: days(agreed).unwrap_or(0.0),
                lost: days(lost).unwrap_or(0.0),
                self_certified: days(sc),
                doctor_certified: days(dc),
                long_term: days(lt),
                headcount,
            },
        );
    }
    Ok(out)
}

/// Every distinct imported absence period, for [`Coverage`].
pub fn absence_periods(conn: &mut DbConnection) -> Result<Vec<(NaiveDate, NaiveDate)>, AppError> {
    let rows: Vec<(String, String)> = absence::table
        .select((absence::period_start, absence::period_end))
        .distinct()
        .load(conn)?;
    let date = |s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|e| AppError::Damaged(format!("absence period {s}: {e}")))
    };
    rows.iter().map(|(a, b)| Ok((date(a)?, date(b)?))).collect()
}

/// The analysis of a closed round, from its snapshot and the absence data.
pub fn run(
    conn: &mut DbConnection,
    round_id: &str,
    window: Window,
    level: Option<u32>,
    lang: Lang,
) -> Result<Analysis, AppError> {
    let round = Round::find(conn, round_id)?;
    let snapshot = crate::snapshot::load_scores(conn, &round.id)?.ok_or_else(|| {
        AppError::BadRequest(
            "the round has no results yet: only a closed round can be analysed".into(),
        )
    })?;
    let surveys = round.surveys(conn)?;
    let (from, to) = window.dates(round.last_day());
    let own = own_absence(conn, from, to)?;
    let periods = absence_periods(conn)?;
    let mut analysis = compute(&Input {
        round: &round,
        snapshot: &snapshot,
        surveys: &surveys,
        own: &own,
        window: (from, to),
        periods: &periods,
        level,
        lang,
    });
    if let Some(prev_id) = &snapshot.previous_round {
        let prev_round = Round::find(conn, prev_id)?;
        if let Some(prev_snap) = crate::snapshot::load_scores(conn, prev_id)? {
            let prev_surveys = prev_round.surveys(conn)?;
            let (pf, pt) = Window::Before.dates(prev_round.last_day());
            let prev_own = own_absence(conn, pf, pt)?;
            let p = compute(&Input {
                round: &prev_round,
                snapshot: &prev_snap,
                surveys: &prev_surveys,
                own: &prev_own,
                window: (pf, pt),
                periods: &periods,
                level: None,
                lang,
            });
            analysis.previous = Some(Previous {
                round_id: p.round_id.clone(),
                round_title: p.round_title.clone(),
                groups: p.groups.len(),
                r: analysis
                    .factors
                    .iter()
                    .map(|f| {
                        p.factors
                            .iter()
                            .find(|x| x.survey == f.survey && x.key == f.key)
                            .and_then(|x| x.ranked(p.within_used))
                            .map(|c| c.r)
                    })
                    .collect(),
            });
        }
    }
    Ok(analysis)
}

/// The analysis as an Excel workbook: "Faktorer" (as the CSV), "Enheter"
/// (the reporting groups), "Flagget" (the flagged groups).
pub fn to_xlsx(a: &Analysis) -> Result<Vec<u8>, AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| AppError::Damaged(e.to_string());
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let factors: Vec<Vec<String>> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&to_csv(a)?[..])
        .records()
        .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
        .collect::<Result<_, _>>()
        .map_err(|e| AppError::Damaged(e.to_string()))?;
    let groups: Vec<Vec<String>> = std::iter::once(
        [
            "unit_code",
            "unit",
            "area",
            "absence_rate",
            "agreed_workdays",
            "lost_workdays",
        ]
        .map(String::from)
        .to_vec(),
    )
    .chain(a.groups.iter().map(|g| {
        vec![
            g.code.clone(),
            g.name.clone(),
            g.area.clone(),
            format!("{:.4}", g.absence_rate),
            format!("{}", g.agreed),
            format!("{}", g.lost),
        ]
    }))
    .collect();
    let flagged: Vec<Vec<String>> = std::iter::once(
        ["unit", "absence_rate", "low_on"]
            .map(String::from)
            .to_vec(),
    )
    .chain(a.summary.flagged.iter().map(|f| {
        vec![
            f.name.clone(),
            format!("{:.4}", f.absence_rate),
            f.factors.join(", "),
        ]
    }))
    .collect();
    for (name, rows, text_cols) in [
        ("Faktorer", factors, 1),
        ("Enheter", groups, 3),
        ("Flagget", flagged, 1),
    ] {
        let sheet = book.add_worksheet().set_name(name).map_err(err)?;
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (rr, cc) = (r as u32, c as u16);
                match v.parse::<f64>() {
                    _ if r == 0 => sheet.write_with_format(rr, cc, v, &bold).map(|_| ()),
                    Ok(x) if c >= text_cols && !(name == "Flagget" && c == 2) => {
                        sheet.write_number(rr, cc, x).map(|_| ())
                    }
                    _ => sheet.write_string(rr, cc, v).map(|_| ()),
                }
                .map_err(err)?;
            }
        }
    }
    book.save_to_buffer().map_err(err)
}

const CSV_HEADER: [&str; 16] = [
    "factor",
    "groups",
    "r",
    "r_low",
    "r_high",
    "p",
    "q",
    "weighted_r",
    "spearman_rho",
    "spearman_p",
    "within_area_r",
    "within_area_p",
    "quartile_low_rate",
    "quartile_high_rate",
    "quartile_difference",
    "icc1",
];

fn f4(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.4}")).unwrap_or_default()
}

/// One row per factor: the analysis as CSV.
pub fn to_csv(a: &Analysis) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| AppError::Damaged(e.to_string());
    w.write_record(CSV_HEADER).map_err(err)?;
    for f in &a.factors {
        let p = f.pearson.as_ref();
        let s = f.spearman.as_ref();
        let wa = f.within_area.as_ref();
        let c = f.contrast.as_ref();
        w.write_record([
            f.name.clone(),
            f.m.to_string(),
            f4(p.map(|x| x.r)),
            f4(p.map(|x| x.low)),
            f4(p.map(|x| x.high)),
            f4(p.map(|x| x.p)),
            f4(f.q),
            f4(f.weighted_r),
            f4(s.map(|x| x.r)),
            f4(s.map(|x| x.p)),
            f4(wa.map(|x| x.r)),
            f4(wa.map(|x| x.p)),
            f4(c.map(|x| x.low_rate)),
            f4(c.map(|x| x.high_rate)),
            f4(c.map(|x| x.difference)),
            f4(f.icc1),
        ])
        .map_err(err)?;
    }
    w.into_inner().map_err(|e| AppError::Damaged(e.to_string()))
}

/// The factors as a fixed-width text table, strongest association first.
pub fn table(a: &Analysis, lang: Lang) -> String {
    use std::fmt::Write as _;
    let n = |x: Option<f64>, p: usize| x.map_or("–".to_string(), |v| summary::num(v, p, lang));
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<38} {:>3} {:>6} {:>15} {:>6} {:>6} {:>6} {:>6} {:>6}",
        lang.pick("faktor", "faktor", "factor"),
        "m",
        "r",
        "95 % KI",
        "q",
        "r_w",
        "rho",
        "r_area",
        "ICC"
    );
    let mut order: Vec<&FactorResult> = a.factors.iter().collect();
    order.sort_by(|x, y| {
        let r = |f: &FactorResult| f.ranked(a.within_used).map_or(0.0, |c| c.r.abs());
        r(y).total_cmp(&r(x))
    });
    for f in order {
        let p = f.pearson.as_ref();
        let ci = p.map_or("–".into(), |c| {
            format!(
                "{}; {}",
                summary::num(c.low, 2, lang),
                summary::num(c.high, 2, lang)
            )
        });
        let name: String = f.name.chars().take(38).collect();
        let _ = writeln!(
            t,
            "{name:<38} {:>3} {:>6} {ci:>15} {:>6} {:>6} {:>6} {:>6} {:>6}",
            f.m,
            n(p.map(|c| c.r), 2),
            n(f.q, 3),
            n(f.weighted_r, 2),
            n(f.spearman.map(|c| c.r), 2),
            n(f.within_area.map(|c| c.r), 2),
            n(f.icc1, 2),
        );
    }
    t
}

/// Absence per service area (the level below the root) for every period
/// in the data, oldest first: the AMU trend chart. Each period is released
/// by the engine on its own, so an area below k in a period shows a gap.
#[derive(Debug, Clone, Serialize)]
pub struct Trend {
    pub periods: Vec<(NaiveDate, NaiveDate)>,
    /// (area name, rate per period)
    pub areas: Vec<(String, Vec<Option<f64>>)>,
}

pub fn trend(conn: &mut DbConnection, snapshot: &Scores, lang: Lang) -> Result<Trend, AppError> {
    let periods: Vec<(String, String)> = absence::table
        .select((absence::period_start, absence::period_end))
        .distinct()
        .order((absence::period_start, absence::period_end))
        .load(conn)?;
    let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN);
    let areas: Vec<usize> = snapshot
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.depth == 1)
        .map(|(i, _)| i)
        .collect();
    let mut rates: Vec<Vec<Option<f64>>> = vec![Vec::new(); areas.len()];
    let mut out_periods = Vec::new();
    for (s, e) in &periods {
        let (from, to) = (parse(s), parse(e));
        let own = own_absence(conn, from, to)?;
        let released = protect(snapshot, &own, snapshot.k);
        for (j, &i) in areas.iter().enumerate() {
            rates[j].push(released[i].sums().and_then(|x| x.rate()));
        }
        out_periods.push((from, to));
    }
    Ok(Trend {
        periods: out_periods,
        areas: areas
            .iter()
            .zip(rates)
            .map(|(&i, r)| {
                (
                    crate::results::display_name(&snapshot.groups[i].name, lang),
                    r,
                )
            })
            .collect(),
    })
}
