//! The AMU analysis (STATISTICS.md "Absence", "Correlation", "Risk
//! summary"): sickness absence summed up the same unit tree as a round's
//! snapshot, protected by the same anonymity engine (ANONYMITY.md §6), and
//! correlated with the snapshot's released factor scores across reporting
//! groups. [`compute`] is pure; [`run`] reads the database.

pub mod compute;
pub mod export;
pub mod model;
pub mod summary;

pub use compute::*;
pub use export::{table, to_csv, to_xlsx};
pub use model::*;

use crate::cache::{Cache, Key};
use crate::db::absence_series::{self, Figures, Series, MICRO};
use crate::db::models::Round;
use crate::db::DbConnection;
use crate::ids::RoundId;
use crate::lang::Lang;
use crate::snapshot::Scores;
use crate::AppError;
use chrono::NaiveDate;
use diesel::prelude::*;
use std::collections::HashMap;

/// Each unit's own absence in the window, keyed by unit id.
pub fn own_absence(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<String, Sums>, AppError> {
    OwnAbsence::load(conn)?.window(conn, from, to)
}

/// Every unit's absence, read once ([`absence_series`]) and summed for as
/// many windows as asked: the analysis asks for its round's and the
/// previous round's, the trend for every imported period.
pub struct OwnAbsence {
    series: Series,
    staff: Option<foldhash::HashMap<String, i64>>,
}

impl OwnAbsence {
    pub fn load(conn: &mut DbConnection) -> Result<OwnAbsence, AppError> {
        Ok(OwnAbsence {
            series: absence_series::load(conn)?,
            staff: None,
        })
    }

    /// Each unit's own absence in the window, keyed by unit id. SQL's
    /// `SUM` and `MAX` semantics: parts and headcounts that some rows
    /// leave out add up as they do there ([`Series::window`]).
    pub fn window(
        &mut self,
        conn: &mut DbConnection,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<HashMap<String, Sums>, AppError> {
        let sums = self.series.window(from, to)?;
        to_sums(conn, &mut self.staff, sums)
    }

    /// [`OwnAbsence::window`] for several windows, in one pass.
    pub fn windows(
        &mut self,
        conn: &mut DbConnection,
        windows: &[(NaiveDate, NaiveDate)],
    ) -> Result<Vec<HashMap<String, Sums>>, AppError> {
        Ok(self.windows_and_periods(conn, windows)?.0)
    }

    /// [`OwnAbsence::windows`], and every distinct imported period
    /// ([`absence_periods`]) from the same pass.
    #[allow(clippy::type_complexity)]
    pub fn windows_and_periods(
        &mut self,
        conn: &mut DbConnection,
        windows: &[(NaiveDate, NaiveDate)],
    ) -> Result<(Vec<HashMap<String, Sums>>, Vec<(NaiveDate, NaiveDate)>), AppError> {
        let (all, periods) = self.series.windows_and_periods(windows)?;
        let sums = all
            .into_iter()
            .map(|sums| to_sums(conn, &mut self.staff, sums))
            .collect::<Result<_, _>>()?;
        Ok((sums, periods))
    }
}

/// Working days from millionths; units that report no headcount count
/// their current staff (read once, when first needed).
fn to_sums(
    conn: &mut DbConnection,
    staff: &mut Option<foldhash::HashMap<String, i64>>,
    sums: Vec<(&str, Figures)>,
) -> Result<HashMap<String, Sums>, AppError> {
    if staff.is_none() && sums.iter().any(|(_, s)| s.headcount.is_none()) {
        *staff = Some(absence_series::staff(conn)?.into_iter().collect());
    }
    let days = |micro: i64| micro as f64 / MICRO as f64;
    let mut out: HashMap<String, Sums> = HashMap::with_capacity(sums.len());
    for (unit, s) in sums {
        let headcount = match s.headcount {
            Some(h) => h.max(0) as u32,
            None => staff
                .as_ref()
                .and_then(|st| st.get(unit))
                .copied()
                .unwrap_or(0) as u32,
        };
        out.insert(
            unit.to_string(),
            Sums {
                agreed: days(s.agreed),
                lost: days(s.lost),
                self_certified: s.self_certified.map(days),
                doctor_certified: s.doctor_certified.map(days),
                long_term: s.long_term.map(days),
                headcount,
            },
        );
    }
    Ok(out)
}

/// Every distinct imported absence period, for [`Coverage`], oldest first.
///
/// A `SELECT DISTINCT` reads every row of the index on (period_start,
/// period_end) — 72 000 for 3 000 units over two years, ~7 ms on SQLite —
/// to find two dozen periods. This skips through the same index instead:
/// from each period to the next one, one index seek per period found
/// (0.2 ms).
pub fn absence_periods(conn: &mut DbConnection) -> Result<Vec<(NaiveDate, NaiveDate)>, AppError> {
    #[derive(QueryableByName)]
    struct Period {
        #[diesel(sql_type = diesel::sql_types::Text)]
        s: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        e: String,
    }
    // The next period after (p.s, p.e): a later end on the same first
    // day, else the first period of the next first day. The step after
    // the last period gives NULLs, which end the recursion.
    const NEXT_SAME_START: &str = "FROM absence a WHERE a.period_start = p.s \
        AND a.period_end > p.e ORDER BY a.period_end LIMIT 1";
    const NEXT_START: &str = "FROM absence a WHERE a.period_start > p.s \
        ORDER BY a.period_start, a.period_end LIMIT 1";
    let query = format!(
        "WITH RECURSIVE p(s, e) AS ( \
           SELECT first.period_start, first.period_end FROM ( \
             SELECT period_start, period_end FROM absence \
             ORDER BY period_start, period_end LIMIT 1) first \
           UNION ALL \
           SELECT COALESCE((SELECT a.period_start {NEXT_SAME_START}), \
                           (SELECT a.period_start {NEXT_START})), \
                  COALESCE((SELECT a.period_end {NEXT_SAME_START}), \
                           (SELECT a.period_end {NEXT_START})) \
           FROM p WHERE p.s IS NOT NULL) \
         SELECT s, e FROM p WHERE s IS NOT NULL"
    );
    let found: Vec<Period> =
        crate::on_backend!(conn, |c| diesel::sql_query(&query).load::<Period>(c))?;
    let rows: Vec<(String, String)> = found.into_iter().map(|p| (p.s, p.e)).collect();
    let date = |s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|e| AppError::damaged_by(format!("absence period {s}"), e))
    };
    rows.iter().map(|(a, b)| Ok((date(a)?, date(b)?))).collect()
}

/// The closed rounds with a snapshot, newest first: (id, title).
pub fn analysable(conn: &mut DbConnection) -> Result<Vec<(RoundId, String)>, AppError> {
    let mut out = Vec::new();
    for r in Round::all(conn)? {
        if crate::snapshot::revision(conn, &r.id)?.is_some() {
            out.push((r.id, r.title));
        }
    }
    Ok(out)
}

/// The analysis of a round and the absence trend beside it, as the AMU
/// pages show them: computed once per round, snapshot revision, window,
/// level, language and state of the absence data while `cache` keeps them.
/// `window` is as [`Window::parse`] reads it.
pub fn cached(
    conn: &mut DbConnection,
    cache: &Cache,
    round_id: &RoundId,
    window: &str,
    level: Option<u32>,
    lang: Lang,
) -> Result<std::sync::Arc<(Analysis, Trend)>, AppError> {
    let w = Window::parse(window)?;
    let revision = crate::snapshot::revision(conn, round_id)?.ok_or(AppError::NotFound)?;
    let absence_state = absence_series::revision(conn)?;
    let key = Key::Analysis {
        round: round_id.clone(),
        revision,
        window: window.to_string(),
        level,
        lang,
        absence: absence_state,
    };
    cache.get_or_try(key, || {
        let started = std::time::Instant::now();
        let a = run(conn, cache, round_id, w, level, lang)?;
        let scores =
            crate::snapshot::load_scores(conn, cache, round_id)?.ok_or(AppError::NotFound)?;
        let t = trend(conn, &scores, lang)?;
        // Groups and factors make most of the weight.
        crate::metrics::get()
            .analysis_seconds
            .observe(started.elapsed().as_secs_f64());
        let bytes = 4096 + a.groups.len() * 512 + a.factors.len() * 1024;
        Ok(((a, t), bytes))
    })
}

/// The targets and national rates every absence view shows beside a rate.
struct TargetsBeside {
    /// Each unit's parent, by id, every unit (closed ones too): of the
    /// tree, all that a target's inheritance takes. Not read when no unit
    /// has a target.
    parents: foldhash::HashMap<String, Option<String>>,
    targets: crate::register::targets::Targets,
    national: crate::register::national::NationalRates,
}

impl TargetsBeside {
    fn load(conn: &mut DbConnection) -> Result<TargetsBeside, AppError> {
        use crate::db::schema::units;
        let targets = crate::register::targets::Targets::load(conn)?;
        let parents = if targets.is_empty() {
            Default::default()
        } else {
            units::table
                .select((units::id, units::parent_id))
                .load::<(String, Option<String>)>(conn)?
                .into_iter()
                .collect()
        };
        Ok(TargetsBeside {
            parents,
            targets,
            national: crate::register::national::NationalRates::load(conn)?,
        })
    }

    /// The total-absence target that holds for the unit in the period's
    /// last year, as a percentage for the period: its own, else its
    /// nearest ancestor's ([`crate::register::targets::Targets::inherited`]).
    fn total(&self, unit: &str, period: (NaiveDate, NaiveDate)) -> Option<f64> {
        use crate::register::targets::{resolve, Kind};
        use chrono::Datelike;
        let parents = &self.parents;
        // Each unit as the map's own key: a parent the map does not hold is
        // a root, as in the tree.
        let known = |id: &str| parents.get_key_value(id).map(|(id, _)| id.as_str());
        let (value, _) = self.targets.inherited(
            known(unit)?,
            |u| u,
            |u| parents.get(u)?.as_deref().and_then(known),
            parents.len(),
            period.1.year(),
            Kind::Total,
        )?;
        resolve(value, Kind::Total, period, &self.national)
    }

    fn national_total(&self, period: (NaiveDate, NaiveDate)) -> Option<f64> {
        use crate::register::national::{level, measure_for};
        level(
            &self.national,
            measure_for(crate::register::targets::Kind::Total),
            period,
        )
    }
}

/// The analysis of a closed round, from its snapshot and the absence data.
///
/// The two cores share the work. This thread reads the database; the
/// other parses the round's scores (0.9 MB at 3 000 units) as soon as they
/// are read, then the previous round's scores, and computes the previous
/// round's comparison (its groups and ranked r) once its absence is summed
/// here, while this thread reads the targets and computes the round's own.
/// Which round came before is read from the head of the stored scores, so
/// the previous round is read before this round's scores are parsed. Every
/// figure is the same as one thread gives; only the order of the work
/// differs.
pub fn run(
    conn: &mut DbConnection,
    cache: &Cache,
    round_id: &RoundId,
    window: Window,
    level: Option<u32>,
    lang: Lang,
) -> Result<Analysis, AppError> {
    let round = Round::find(conn, round_id)?;
    let read = crate::snapshot::read_scores(conn, cache, &round.id)?
        .ok_or(crate::error::UserError::NoResultsYet)?;
    let (from, to) = window.dates(round.last_day());
    std::thread::scope(|threads| {
        let peeked = read.previous_round();
        let parsing = threads.spawn(|| read.parse(cache));
        let mut previous = match &peeked {
            Some(Some(prev_id)) => start_previous(threads, conn, cache, prev_id)?,
            _ => None,
        };
        let surveys_read = crate::rounds::read_surveys(conn, cache, &round.id)?;
        let mut absence = OwnAbsence::load(conn)?;
        let snapshot = joined(parsing)?;
        // The head read before the parse names the round the parse does,
        // or the previous round under way is another round's.
        if peeked
            .as_ref()
            .is_some_and(|p| *p != snapshot.previous_round)
        {
            return Err(AppError::damaged(format!(
                "the stored scores of round {} name another previous round in their head",
                round.id
            )));
        }
        if peeked.is_none() {
            if let Some(prev_id) = &snapshot.previous_round {
                previous = start_previous(threads, conn, cache, prev_id)?;
            }
        }
        let mut windows = vec![(from, to)];
        windows.extend(previous.as_ref().map(|p| p.window));
        let (sums, periods) = absence.windows_and_periods(conn, &windows)?;
        let mut sums = sums.into_iter();
        let own = sums.next().unwrap_or_default();
        let previous = match (previous, sums.next()) {
            (Some(p), Some(prev_own)) => {
                // A send fails only when the other thread has failed
                // already; its join below gives that error.
                let _ = p.absence.send(prev_own);
                Some(p.computing)
            }
            _ => None,
        };
        let targets = TargetsBeside::load(conn)?;
        let surveys = surveys_read.parse(cache)?;
        let mut analysis = compute(&Input {
            round_id: &round.id,
            round_title: &round.title,
            snapshot: &snapshot,
            surveys: &surveys,
            own: &own,
            window: (from, to),
            periods: &periods,
            level,
            lang,
        });
        for g in &mut analysis.groups {
            g.target = targets.total(g.key.trim_end_matches("#rest"), (from, to));
        }
        for f in &mut analysis.summary.flagged {
            f.target = targets.total(f.key.trim_end_matches("#rest"), (from, to));
        }
        if let Some(previous) = previous {
            let p = joined(previous)?;
            analysis.previous = Some(Previous {
                round_id: p.round_id,
                round_title: p.round_title,
                groups: p.groups,
                r: analysis
                    .factors
                    .iter()
                    .map(|f| {
                        p.r.iter()
                            .find(|(survey, key, _)| *survey == f.survey && *key == f.key)
                            .and_then(|(_, _, r)| *r)
                    })
                    .collect(),
            });
        }
        Ok(analysis)
    })
}

/// The previous round's comparison under way on another thread: it waits
/// for that round's absence, summed by the caller over `window`.
struct PreviousRun<'scope> {
    computing: std::thread::ScopedJoinHandle<'scope, Result<PreviousRanked, AppError>>,
    absence: std::sync::mpsc::Sender<HashMap<String, Sums>>,
    window: (NaiveDate, NaiveDate),
}

/// Of the previous round's analysis, what the comparison shows: its groups
/// and each factor's ranked r, by questionnaire and factor key.
struct PreviousRanked {
    round_id: RoundId,
    round_title: String,
    groups: usize,
    r: Vec<(String, String, Option<f64>)>,
}

/// Reads the previous round and starts its comparison on another thread:
/// its scores are parsed there while the caller sums the absence. None
/// when that round has no snapshot.
fn start_previous<'scope, 'env>(
    threads: &'scope std::thread::Scope<'scope, 'env>,
    conn: &mut DbConnection,
    cache: &'env Cache,
    prev_id: &RoundId,
) -> Result<Option<PreviousRun<'scope>>, AppError> {
    let prev_round = Round::find(conn, prev_id)?;
    let Some(prev_read) = crate::snapshot::read_scores(conn, cache, prev_id)? else {
        return Ok(None);
    };
    let window = Window::Before.dates(prev_round.last_day());
    let (send, receive) = std::sync::mpsc::channel::<HashMap<String, Sums>>();
    let computing = threads.spawn(move || -> Result<PreviousRanked, AppError> {
        let prev_snap = prev_read.parse(cache)?;
        // Nothing sent: the caller failed, and gives its own error.
        let prev_own = receive
            .recv()
            .map_err(|_| AppError::internal("the absence was never summed"))?;
        // Only what the comparison shows: no questionnaire names, no
        // other coefficients, no summary.
        let (groups, r) = compute::ranked_r(&prev_snap, &prev_own);
        Ok(PreviousRanked {
            groups,
            r: prev_snap
                .factors
                .iter()
                .zip(r)
                .map(|(f, r)| (f.survey.clone(), f.key.clone(), r))
                .collect(),
            round_id: prev_round.id,
            round_title: prev_round.title,
        })
    });
    Ok(Some(PreviousRun {
        computing,
        absence: send,
        window,
    }))
}

/// What a scoped thread gave; its panic goes on in this thread.
fn joined<T>(
    handle: std::thread::ScopedJoinHandle<'_, Result<T, AppError>>,
) -> Result<T, AppError> {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

pub fn trend(conn: &mut DbConnection, snapshot: &Scores, lang: Lang) -> Result<Trend, AppError> {
    let periods = absence_periods(conn)?;
    let areas: Vec<usize> = snapshot
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.depth == 1)
        .map(|(i, _)| i)
        .collect();
    let beside = TargetsBeside::load(conn)?;
    let mut rates: Vec<Vec<Option<f64>>> = vec![Vec::new(); areas.len()];
    let mut out_periods = Vec::new();
    let own_per_period = OwnAbsence::load(conn)?.windows(conn, &periods)?;
    for (&(from, to), own) in periods.iter().zip(&own_per_period) {
        let released = protect(snapshot, own, snapshot.k);
        for (j, &i) in areas.iter().enumerate() {
            rates[j].push(released[i].sums().and_then(|x| x.rate()));
        }
        out_periods.push((from, to));
    }
    let last = out_periods.last().copied();
    Ok(Trend {
        targets: areas
            .iter()
            .map(|&i| last.and_then(|p| beside.total(&snapshot.groups[i].key, p)))
            .collect(),
        national: last.and_then(|p| beside.national_total(p)),
        periods: out_periods,
        areas: areas
            .iter()
            .zip(rates)
            .map(|(&i, r)| (crate::lang::display_name(&snapshot.groups[i].name, lang), r))
            .collect(),
    })
}
