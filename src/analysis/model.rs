//! What the analysis is made of: its windows, the coverage of the
//! imported absence, absence sums, reporting groups, coefficients per
//! factor and the risk summary. Types only (and the little arithmetic that
//! belongs to them), so that [`super::summary`] and [`super::compute`] can
//! share them without needing each other.

use crate::stats::correlation::{Correlation, QuartileContrast};
use crate::AppError;
use chrono::{Months, NaiveDate};
use serde::Serialize;

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
                    AppError::from(crate::error::UserError::BadWindow {
                        given: range.to_string(),
                    })
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
    pub fn merge(&mut self, o: &Sums) {
        self.agreed += o.agreed;
        self.lost += o.lost;
        self.self_certified = add_opt(self.self_certified, o.self_certified);
        self.doctor_certified = add_opt(self.doctor_certified, o.doctor_certified);
        self.long_term = add_opt(self.long_term, o.long_term);
        self.headcount += o.headcount;
    }
    /// Takes out a part of these sums (the rest of a group less a group
    /// inside it); a part measure unknown in the whole stays unknown.
    pub fn remove(&mut self, o: &Sums) {
        let minus = |a: Option<f64>, b: Option<f64>| Some(a? - b.unwrap_or(0.0));
        self.agreed -= o.agreed;
        self.lost -= o.lost;
        self.self_certified = minus(self.self_certified, o.self_certified);
        self.doctor_certified = minus(self.doctor_certified, o.doctor_certified);
        self.long_term = minus(self.long_term, o.long_term);
        self.headcount = self.headcount.saturating_sub(o.headcount);
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
    /// The sums stay private: only [`GroupAbsence::sums`] gives them, and
    /// only when shown.
    pub fn new(key: String, shown: bool, sums: Sums) -> GroupAbsence {
        GroupAbsence { key, shown, sums }
    }

    /// The released sums; None when hidden.
    pub fn sums(&self) -> Option<&Sums> {
        self.shown.then_some(&self.sums)
    }
}

/// One reporting group of the analysis: survey results and absence both
/// shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    /// By factor: the released (or, for the rest of a shown group,
    /// derived) n, mean and SD the ICC uses.
    #[serde(skip)]
    pub stats: Vec<Option<(f64, f64, f64)>>,
    /// The group's absence sums (released, or derived for a rest).
    #[serde(skip)]
    pub sums: Sums,
    /// The total-absence target that holds for the group in the window's
    /// last year (its own or inherited; a rest has its unit's), as a
    /// percentage for the window; None without one.
    pub target: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Analysis {
    pub round_id: crate::ids::RoundId,
    pub round_title: String,
    pub window_from: NaiveDate,
    pub window_to: NaiveDate,
    pub level: u32,
    /// `finest`: the finest partition into groups whose results and
    /// absence are released (or derivable); `level`: the groups at one
    /// depth, as asked for.
    pub grouping: &'static str,
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
    pub summary: RiskSummary,
    /// The same analysis of the previous round of the questionnaire (its
    /// own window and default level), for comparison; None when there is
    /// none.
    pub previous: Option<Previous>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Previous {
    pub round_id: crate::ids::RoundId,
    pub round_title: String,
    pub groups: usize,
    /// The ranking's r per factor, in the order of [`Analysis::factors`]
    /// (matched by questionnaire and factor key).
    pub r: Vec<Option<f64>>,
}

/// Absence per service area (the level below the root) for every period
/// in the data, oldest first: the AMU trend chart. Each period is released
/// by the engine on its own, so an area below k in a period shows a gap.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Trend {
    pub periods: Vec<(NaiveDate, NaiveDate)>,
    /// (area name, rate per period)
    pub areas: Vec<(String, Vec<Option<f64>>)>,
    /// Each area's total-absence target for the latest period, as a
    /// percentage; None without one.
    pub targets: Vec<Option<f64>>,
    /// The national level of total absence (SSB) over the latest period;
    /// None when no imported quarter covers it.
    pub national: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct RiskSummary {
    pub ranked: Vec<RankedFactor>,
    pub flagged: Vec<Flagged>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RankedFactor {
    /// Index into [`Analysis::factors`].
    pub factor: usize,
    pub name: String,
    pub r: f64,
    pub low: f64,
    pub high: f64,
    pub q: f64,
    /// q < 0.10.
    pub counts: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Flagged {
    pub key: String,
    pub name: String,
    pub absence_rate: f64,
    /// The group's total-absence target, as [`ReportingGroup::target`].
    pub target: Option<f64>,
    /// The counting, negatively associated factors on which the group is in
    /// the lowest-scoring quarter.
    pub factors: Vec<String>,
}

/// Which absence a target (or an account of a unit above it) is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AbsenceKind {
    Total,
    LongTerm,
}

impl AbsenceKind {
    pub const ALL: [AbsenceKind; 2] = [AbsenceKind::Total, AbsenceKind::LongTerm];

    pub fn key(self) -> &'static str {
        match self {
            AbsenceKind::Total => "total",
            AbsenceKind::LongTerm => "long_term",
        }
    }

    /// `total` (also empty, `totalt`) or `long_term` (`langtid`).
    pub fn parse(s: &str) -> Option<AbsenceKind> {
        match s.trim().to_lowercase().as_str() {
            "" | "total" | "totalt" => Some(AbsenceKind::Total),
            "long_term" | "langtid" | "langtidsfravær" | "langtidsfravaer" => {
                Some(AbsenceKind::LongTerm)
            }
            _ => None,
        }
    }

    pub fn name(self, l: crate::lang::Lang) -> &'static str {
        match self {
            AbsenceKind::Total => l.pick("totalt fravær", "totalt fråvær", "total absence"),
            AbsenceKind::LongTerm => {
                l.pick("langtidsfravær", "langtidsfråvær", "long-term absence")
            }
        }
    }
}
