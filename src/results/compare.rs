//! A group's results beside other figures, all of them released ones: its
//! factors over the earlier closed rounds of the same questionnaire (the
//! trend), the norms for its unit type, and the heatmap of the groups of a
//! scope. Nothing here computes a figure; it places figures the snapshots
//! released side by side.

use super::report::{Norm, UnitReport};
use crate::access::{decide, Decision, Resource, Viewer};
use crate::cache::Cache;
use crate::db::models::Round;
use crate::db::schema::{norms, round_surveys, rounds, snapshots, units};
use crate::db::DbConnection;
use crate::ids::{GroupKey, RoundId};
use crate::lang::Lang;
use crate::snapshot::Snapshot;
use crate::AppError;
use diesel::prelude::*;
use serde::Serialize;

/// Each factor of a group over rounds, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Trend {
    pub rounds: Vec<TrendRound>,
    /// In the order of the report's factors.
    pub factors: Vec<TrendLine>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrendRound {
    pub id: RoundId,
    pub title: String,
    pub closes_on: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrendLine {
    pub name: String,
    /// The group's released mean in each round; None where it was hidden
    /// (or the group did not exist).
    pub means: Vec<Option<f64>>,
}

/// The closed rounds with a snapshot that share a questionnaire with
/// `round` and closed no later than it, oldest first.
fn comparable_rounds(conn: &mut DbConnection, round: &Round) -> Result<Vec<Round>, AppError> {
    let ours: Vec<String> = round_surveys::table
        .filter(round_surveys::round_id.eq(&round.id))
        .select(round_surveys::survey_id)
        .load(conn)?;
    let mut found: Vec<Round> = rounds::table
        .inner_join(snapshots::table)
        .filter(rounds::status.eq("closed"))
        .filter(rounds::closes_on.le(&round.closes_on))
        .filter(
            rounds::id.eq_any(
                round_surveys::table
                    .filter(round_surveys::survey_id.eq_any(&ours))
                    .select(round_surveys::round_id),
            ),
        )
        .select(Round::as_select())
        .load(conn)?;
    found.sort_by(|a, b| (&a.closes_on, a.closed_at).cmp(&(&b.closes_on, b.closed_at)));
    Ok(found)
}

/// The trend of the report's group: None unless at least two rounds
/// released a figure of it.
pub fn trend(
    conn: &mut DbConnection,
    cache: &Cache,
    round: &Round,
    report: &UnitReport,
) -> Result<Option<Trend>, AppError> {
    let rounds = comparable_rounds(conn, round)?;
    let mut lines: Vec<TrendLine> = report
        .factors
        .iter()
        .map(|f| TrendLine {
            name: f.name.clone(),
            means: Vec::new(),
        })
        .collect();
    let mut kept = Vec::new();
    for r in rounds {
        let Some(scores) = crate::snapshot::load_scores(conn, cache, &r.id)? else {
            continue;
        };
        let group = scores
            .groups
            .iter()
            .find(|g| g.key == report.group.id)
            .and_then(|g| g.figures.as_ref());
        for (line, f) in lines.iter_mut().zip(&report.factors) {
            let at = scores
                .factors
                .iter()
                .position(|x| x.survey == f.survey && x.key == f.key);
            line.means.push(
                group
                    .zip(at)
                    .and_then(|(g, i)| g.factors.get(i).copied().flatten())
                    .map(|s| s.mean),
            );
        }
        kept.push(TrendRound {
            id: r.id.clone(),
            title: r.title.clone(),
            closes_on: r.closes_on.clone(),
        });
    }
    let shown = (0..kept.len())
        .filter(|i| lines.iter().any(|l| l.means[*i].is_some()))
        .count();
    Ok((shown >= 2).then_some(Trend {
        rounds: kept,
        factors: lines,
    }))
}

/// The group's unit type and the norms for it, factor by factor.
pub fn norms_for(conn: &mut DbConnection, report: &mut UnitReport) -> Result<(), AppError> {
    let unit_type: Option<String> = units::table
        .find(&report.group.id)
        .select(units::unit_type)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten();
    let Some(t) = unit_type else {
        return Ok(());
    };
    let rows: Vec<(String, String, f64)> = norms::table
        .filter(norms::unit_type.eq(&t))
        .order((norms::factor, norms::scope))
        .select((norms::factor, norms::scope, norms::mean))
        .load(conn)?;
    for f in &mut report.factors {
        let key = format!("{}/{}", f.survey, f.key);
        f.norms = rows
            .iter()
            .filter(|(factor, _, _)| *factor == key)
            .map(|(_, scope, mean)| Norm {
                scope: scope.clone(),
                mean: *mean,
            })
            .collect();
    }
    report.unit_type = Some(t);
    Ok(())
}

/// A report with what it is compared with: its trend and its norms. Every
/// view of a report (page, print, CSV, XLSX, JSON, results link) is built
/// through here, so an export holds what the page shows.
pub fn attach(
    conn: &mut DbConnection,
    cache: &Cache,
    round: &Round,
    mut report: UnitReport,
) -> Result<UnitReport, AppError> {
    norms_for(conn, &mut report)?;
    report.trend = trend(conn, cache, round, &report)?;
    Ok(report)
}

/// What the heatmap's cells are coloured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Score,
    Change,
}

/// A cell: the group's released mean and its change since the last round
/// (with whether Welch's interval excludes no change); None when hidden.
#[derive(Debug, Clone)]
pub struct Cell {
    pub mean: f64,
    pub change: Option<(f64, bool)>,
}

#[derive(Debug, Clone)]
pub struct HeatRow {
    pub key: String,
    pub name: String,
    pub depth: u32,
    /// None when the group is hidden; else by factor.
    pub cells: Option<Vec<Option<Cell>>>,
}

#[derive(Debug, Clone)]
pub struct Heatmap {
    pub factors: Vec<String>,
    pub rows: Vec<HeatRow>,
}

/// Units × factors of a round for the groups at and below `top` that the
/// viewer may open, in tree order, from the snapshot's released figures
/// only.
pub fn heatmap(
    snapshot: &Snapshot,
    surveys: &[crate::survey::Survey],
    viewer: &Viewer,
    top: &GroupKey,
    lang: Lang,
) -> Heatmap {
    let factors = snapshot
        .factors
        .iter()
        .map(|f| {
            surveys
                .iter()
                .find(|s| s.id == f.survey)
                .and_then(|s| s.factors.iter().find(|x| x.key == f.key))
                .map_or(f.key.clone(), |x| x.name.get(lang).to_string())
        })
        .collect();
    let base = snapshot.group(top).map_or(0, |g| g.depth);
    let rows = snapshot
        .groups
        .iter()
        .filter(|g| snapshot.is_within(&g.key, top))
        .filter(|g| {
            decide(
                Some(viewer),
                Resource::GroupResults {
                    snapshot,
                    group: &GroupKey::from(g.key.as_str()),
                },
            ) == Decision::Allowed
        })
        .map(|g| HeatRow {
            key: g.key.clone(),
            name: super::report::group_name(g, lang),
            depth: g.depth - base,
            cells: g.figures.as_ref().map(|fig| {
                fig.factors
                    .iter()
                    .map(|x| {
                        x.as_ref().map(|x| Cell {
                            mean: x.mean,
                            change: x.change().map(|c| (c.diff, c.is_real())),
                        })
                    })
                    .collect()
            }),
        })
        .collect();
    Heatmap { factors, rows }
}
