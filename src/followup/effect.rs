//! The effect of measures, from the database: each unit's monthly absence
//! (its whole subtree) is read once, the anonymity engine decides which
//! units' absence may be shown, and [`crate::stats::effect`] estimates a
//! difference in differences for every treated unit, pooled per measure
//! type with its interval, a placebo check and an event-study line.
//!
//! What is shown obeys the engine (STATISTICS.md, ANONYMITY.md §6): a
//! single unit's estimate only for a unit whose absence is released (every
//! unit here is one, or it gets no estimate), a pooled effect only when the
//! treated units together have at least k employees. Months are calendar
//! months; a period counts in the month it starts in.

use super::measures::{self, Measure};
use super::org::OrgTree;
use crate::db::schema::absence;
use crate::db::DbConnection;
use crate::stats::effect::{
    self as did, Monthly, NoEstimate, Pooled, Pools, Treated, UnitEffect, Units,
};
use crate::AppError;
use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;

/// The calendar: month 0 and how many months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Calendar {
    pub first: NaiveDate,
    pub months: usize,
}

impl Calendar {
    pub fn index(&self, d: NaiveDate) -> isize {
        (d.year() - self.first.year()) as isize * 12 + d.month() as isize
            - self.first.month() as isize
    }
    pub fn month(&self, i: isize) -> NaiveDate {
        let total = self.first.year() as isize * 12 + self.first.month0() as isize + i;
        NaiveDate::from_ymd_opt(
            (total.div_euclid(12)) as i32,
            (total.rem_euclid(12) + 1) as u32,
            1,
        )
        .unwrap_or(self.first)
    }
}

/// Everything the estimates rest on.
pub struct Data {
    pub tree: OrgTree,
    pub calendar: Calendar,
    pub units: Units,
    /// Employees of each unit's subtree (the largest headcount reported).
    pub headcount: Vec<u32>,
    pub measures: Vec<Measure>,
}

/// Reads the tree, the absence month by month, the engine's decision over
/// the whole imported span, and the register.
pub fn data(conn: &mut DbConnection, k: u32) -> Result<Option<Data>, AppError> {
    let tree = OrgTree::load(conn)?;
    let rows: Vec<(String, String, f64, f64)> = absence::table
        .select((
            absence::unit_id,
            absence::period_start,
            absence::agreed_workdays,
            absence::lost_workdays,
        ))
        .load(conn)?;
    let parse = |s: &str| NaiveDate::parse_from_str(s, crate::db::models::DATE_FORMAT).ok();
    let starts: Vec<NaiveDate> = rows.iter().filter_map(|r| parse(&r.1)).collect();
    let (Some(first), Some(last)) = (starts.iter().min(), starts.iter().max()) else {
        return Ok(None);
    };
    let first = first.with_day(1).unwrap_or(*first);
    let months = ((last.year() - first.year()) * 12 + last.month() as i32 - first.month() as i32
        + 1) as usize;
    let calendar = Calendar { first, months };
    let n = tree.units.len();
    let mut own = vec![vec![None::<(f64, f64)>; months]; n];
    for (unit, start, agreed, lost) in &rows {
        let (Some(i), Some(d)) = (tree.get(unit), parse(start)) else {
            continue;
        };
        let m = calendar.index(d) as usize;
        let slot = own[i][m].get_or_insert((0.0, 0.0));
        slot.0 += lost;
        slot.1 += agreed;
    }
    // Subtree sums: children come after their parents, so add from the end.
    let mut series = own;
    for i in (0..n).rev() {
        if let Some(p) = tree.units[i].parent {
            let child = series[i].clone();
            for (slot, v) in series[p].iter_mut().zip(child) {
                if let Some((l, a)) = v {
                    let s = slot.get_or_insert((0.0, 0.0));
                    s.0 += l;
                    s.1 += a;
                }
            }
        }
    }
    let span = (
        first,
        calendar.month(months as isize) - chrono::Days::new(1),
    );
    let released = super::absence::released(conn, &tree, span, k)?;
    let headcount = released
        .iter()
        .map(|g| g.sums().map_or(0, |s| s.headcount))
        .collect();
    let units = Units {
        area: (0..n).map(|i| tree.area(i)).collect(),
        depth: tree.units.iter().map(|u| u.depth).collect(),
        released: released.iter().map(|g| g.shown).collect(),
        series: series
            .into_iter()
            .map(|months| Monthly { months })
            .collect(),
    };
    let measures = measures::all(conn)?;
    Ok(Some(Data {
        tree,
        calendar,
        units,
        headcount,
        measures,
    }))
}

/// One treated unit of a measure: its estimate, or why there is none.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Treatment {
    pub measure_id: String,
    pub unit: usize,
    pub start: isize,
    pub estimate: Result<UnitEffect, NoEstimate>,
}

/// The effect of one type of measure.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TypeEffect {
    pub type_key: String,
    pub treatments: Vec<Treatment>,
    /// None with no unit estimate, or when the treated units together have
    /// fewer than k employees.
    pub pooled: Option<Pooled>,
    /// Share of placebo effects at least as large, and how many.
    pub placebo: Option<(f64, usize)>,
    pub event: Vec<(i32, Option<f64>)>,
}

/// For each unit (by tree index), the months (from, to) during which a
/// measure of `type` (of any type with None) covered it: at the unit
/// itself, above it or below it.
fn busy_map(data: &Data, type_key: Option<&str>) -> Vec<Vec<(isize, isize)>> {
    let n = data.tree.units.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, u) in data.tree.units.iter().enumerate() {
        if let Some(p) = u.parent {
            children[p].push(i);
        }
    }
    let mut busy: Vec<Vec<(isize, isize)>> = vec![Vec::new(); n];
    let mut stack = Vec::new();
    for m in data
        .measures
        .iter()
        .filter(|m| type_key.map_or(true, |t| m.type_key == t))
    {
        let from = data.calendar.index(m.started_on);
        let to = m
            .ended_on
            .map_or(isize::MAX / 4, |e| data.calendar.index(e));
        for u in m.units.iter().filter_map(|u| data.tree.get(u)) {
            // The unit and those above it.
            let mut at = Some(u);
            while let Some(v) = at {
                busy[v].push((from, to));
                at = data.tree.units[v].parent;
            }
            // Those below it.
            stack.extend_from_slice(&children[u]);
            while let Some(v) = stack.pop() {
                busy[v].push((from, to));
                stack.extend_from_slice(&children[v]);
            }
        }
    }
    busy
}

/// Whether `u` was busy in months `from ..= to`.
fn during(busy: &[Vec<(isize, isize)>], u: usize, from: isize, to: isize) -> bool {
    busy[u].iter().any(|(a, b)| *a <= to && from <= *b)
}

/// The estimate of every measure type in the register (those with at
/// least one unit), by type key.
pub fn estimate_all(data: &Data, k: u32) -> Vec<TypeEffect> {
    let keys: Vec<&str> = data.measures.iter().map(|m| m.type_key.as_str()).collect();
    estimate_types(data, &keys, k)
}

/// The estimates of the measure types `keys` (in key order, each once),
/// sharing the pools, the no-measure rule's spans and its placebos.
pub fn estimate_types(data: &Data, keys: &[&str], k: u32) -> Vec<TypeEffect> {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    let pools = Pools::new(&data.units);
    let any = busy_map(data, None);
    let mut memo = did::PlaceboMemo::new();
    keys.into_iter()
        .map(|key| estimate_with(data, &pools, &any, &mut memo, key, k))
        .collect()
}

fn estimate_with(
    data: &Data,
    pools: &Pools,
    any: &[Vec<(isize, isize)>],
    memo: &mut did::PlaceboMemo,
    type_key: &str,
    k: u32,
) -> TypeEffect {
    // Controls are units without any measure around the start (their
    // absence moves for no measure's sake); where that leaves too few,
    // units without a measure of the same type (STATISTICS.md).
    let same = busy_map(data, Some(type_key));
    let any_during = |u: usize, from: isize, to: isize| during(any, u, from, to);
    let same_during = |u: usize, from: isize, to: isize| during(&same, u, from, to);
    let rules = [
        did::Busy {
            during: &any_during,
        },
        did::Busy {
            during: &same_during,
        },
    ];
    let mut treatments = Vec::new();
    for m in data.measures.iter().filter(|m| m.type_key == type_key) {
        let start = data.calendar.index(m.started_on);
        for unit in m.units.iter().filter_map(|u| data.tree.get(u)) {
            let estimate = if start < 0 {
                Err(NoEstimate::TooEarlyData)
            } else {
                let s = start as usize;
                let ctrl = did::controls(&data.units, pools, unit, s, &rules);
                did::unit_effect(&data.units, pools, Treated { unit, start: s }, ctrl)
            };
            treatments.push(Treatment {
                measure_id: m.id.clone(),
                unit,
                start,
                estimate,
            });
        }
    }
    let estimated: Vec<&UnitEffect> = treatments
        .iter()
        .filter_map(|t| t.estimate.as_ref().ok())
        .collect();
    let employees: u32 = {
        let mut units: Vec<usize> = estimated.iter().map(|e| e.unit).collect();
        units.sort_unstable();
        units.dedup();
        units.iter().map(|u| data.headcount[*u]).sum()
    };
    let pooled = (employees >= k)
        .then(|| {
            did::pool(
                &estimated
                    .iter()
                    .map(|e| (e.d, e.weight))
                    .collect::<Vec<_>>(),
            )
        })
        .flatten();
    let placebo = pooled.as_ref().and_then(|p| {
        let mut starts: Vec<usize> = estimated.iter().map(|e| e.start).collect();
        starts.sort_unstable();
        starts.dedup();
        let treated: Vec<usize> = estimated.iter().map(|e| e.unit).collect();
        let depths: Vec<u32> = estimated.iter().map(|e| data.units.depth[e.unit]).collect();
        let candidates: Vec<usize> = (0..data.units.series.len())
            .filter(|u| {
                data.units.released[*u]
                    && depths.contains(&data.units.depth[*u])
                    && !treated.contains(u)
            })
            .collect();
        did::placebo(
            &data.units,
            pools,
            &candidates,
            &starts,
            p.effect,
            &rules,
            memo,
        )
    });
    let owned: Vec<UnitEffect> = estimated.into_iter().cloned().collect();
    let event = if pooled.is_some() {
        did::event_study(&data.units, pools, &owned)
    } else {
        Vec::new()
    };
    TypeEffect {
        type_key: type_key.to_string(),
        treatments,
        pooled,
        placebo,
        event,
    }
}

/// In plain words, how sure the estimate is (the text every page and
/// report gives beside the figures).
pub fn verdict(p: &Pooled, l: crate::lang::Lang) -> String {
    let pp = |x: f64| {
        format!(
            "{}\u{a0}{}",
            crate::lang::decimal(x, 2, l),
            l.pick("prosentpoeng", "prosentpoeng", "percentage points")
        )
    };
    match p.interval {
        Some((lo, hi)) if hi < 0.0 => match l {
            crate::lang::Lang::Nb => format!("Fraværet gikk ned med anslagsvis {} mer enn i sammenlignbare enheter (95 % sikkerhetsintervall {} til {}): trolig en reell nedgang.", pp(-p.effect), pp(lo), pp(hi)),
            crate::lang::Lang::Nn => format!("Fråværet gjekk ned med om lag {} meir enn i samanliknbare einingar (95 % tryggleiksintervall {} til {}): truleg ein reell nedgang.", pp(-p.effect), pp(lo), pp(hi)),
            crate::lang::Lang::En => format!("Absence fell by an estimated {} more than in comparable units (95 % interval {} to {}): probably a real decrease.", pp(-p.effect), pp(lo), pp(hi)),
        },
        Some((lo, hi)) if lo > 0.0 => match l {
            crate::lang::Lang::Nb => format!("Fraværet økte med anslagsvis {} mer enn i sammenlignbare enheter (95 % sikkerhetsintervall {} til {}).", pp(p.effect), pp(lo), pp(hi)),
            crate::lang::Lang::Nn => format!("Fråværet auka med om lag {} meir enn i samanliknbare einingar (95 % tryggleiksintervall {} til {}).", pp(p.effect), pp(lo), pp(hi)),
            crate::lang::Lang::En => format!("Absence rose by an estimated {} more than in comparable units (95 % interval {} to {}).", pp(p.effect), pp(lo), pp(hi)),
        },
        Some((lo, hi)) => match l {
            crate::lang::Lang::Nb => format!("Anslaget er {} mot sammenlignbare enheter, men usikkerheten er stor (95 % sikkerhetsintervall {} til {}): vi kan ikke si at tiltaket har virket.", pp(p.effect), pp(lo), pp(hi)),
            crate::lang::Lang::Nn => format!("Anslaget er {} mot samanliknbare einingar, men uvissa er stor (95 % tryggleiksintervall {} til {}): vi kan ikkje seie at tiltaket har verka.", pp(p.effect), pp(lo), pp(hi)),
            crate::lang::Lang::En => format!("The estimate is {} against comparable units, but the uncertainty is large (95 % interval {} to {}): we cannot say the measure worked.", pp(p.effect), pp(lo), pp(hi)),
        },
        None => match l {
            crate::lang::Lang::Nb => format!("Anslaget er {} mot sammenlignbare enheter, men det hviler på færre enn tre enheter, så usikkerheten kan ikke tallfestes.", pp(p.effect)),
            crate::lang::Lang::Nn => format!("Anslaget er {} mot samanliknbare einingar, men det kviler på færre enn tre einingar, så uvissa kan ikkje talfestast.", pp(p.effect)),
            crate::lang::Lang::En => format!("The estimate is {} against comparable units, but it rests on fewer than three units, so its uncertainty cannot be given.", pp(p.effect)),
        },
    }
}

/// The caveat every estimate carries.
pub fn caveat(l: crate::lang::Lang) -> &'static str {
    l.pick(
        "Enhetene valgte tiltakene selv: sammenligningen er ikke et forsøk med tilfeldig fordeling, og en enhet som startet et tiltak fordi fraværet var uvanlig høyt, kan få en nedgang som ville kommet uansett.",
        "Einingane valde tiltaka sjølve: samanlikninga er ikkje eit forsøk med tilfeldig fordeling, og ei eining som starta eit tiltak fordi fråværet var uvanleg høgt, kan få ein nedgang som ville ha kome uansett.",
        "The units chose their measures themselves: the comparison is not a randomised trial, and a unit that started a measure because its absence was unusually high may see a decrease that would have come anyway.",
    )
}

/// The survey side of one factor: the change of its released score from
/// the previous round to the latest, in the finest shown groups that
/// worked on it (a measure naming the factor at the group's unit or above
/// it, started between the two rounds' closing) against those that did not.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SurveySide {
    /// `survey/key`.
    pub factor: String,
    pub with: usize,
    pub without: usize,
    /// Mean change with measures minus without, Welch's 95 % interval.
    pub difference: Option<crate::stats::scores::Change>,
}

/// [`SurveySide`] for every factor measures name, for the latest closed
/// round that has a previous one.
pub fn survey_side(conn: &mut DbConnection) -> Result<(Option<String>, Vec<SurveySide>), AppError> {
    let Some((round, title)) = crate::analysis::analysable(conn)?.into_iter().next() else {
        return Ok((None, Vec::new()));
    };
    let cache = crate::cache::Cache::none();
    let Some(now) = crate::snapshot::load_scores(conn, &cache, &round)? else {
        return Ok((None, Vec::new()));
    };
    let Some(prev_id) = now.previous_round.clone() else {
        return Ok((Some(title), Vec::new()));
    };
    let Some(before) = crate::snapshot::load_scores(conn, &cache, &prev_id)? else {
        return Ok((Some(title), Vec::new()));
    };
    let closed =
        |id: &crate::ids::RoundId, conn: &mut DbConnection| -> Result<NaiveDate, AppError> {
            Ok(crate::db::models::Round::find(conn, id)?.last_day())
        };
    let (from, to) = (closed(&prev_id, conn)?, closed(&round, conn)?);
    let tree = OrgTree::load(conn)?;
    let all = measures::all(conn)?;
    let parents = now.parent_indexes();
    // The finest shown groups: shown, with no shown group below them.
    let shown: Vec<bool> = now.groups.iter().map(|g| g.figures.is_some()).collect();
    let mut has_shown_child = vec![false; shown.len()];
    for (i, p) in parents.iter().enumerate() {
        if let (Some(p), true) = (p, shown[i]) {
            has_shown_child[*p] = true;
        }
    }
    let before_at: std::collections::HashMap<&str, _> = before
        .groups
        .iter()
        .filter_map(|g| Some((g.key.as_str(), g.figures.as_ref()?)))
        .collect();
    let mut factors: Vec<&str> = all.iter().filter_map(|m| m.factor.as_deref()).collect();
    factors.sort_unstable();
    factors.dedup();
    let mut out = Vec::new();
    for f in factors {
        let (survey, key) = f.split_once('/').unwrap_or(("", f));
        let fi = |s: &crate::snapshot::Scores| {
            s.factors
                .iter()
                .position(|x| x.survey == survey && x.key == key)
        };
        let (Some(fn_), Some(fb)) = (fi(&now), fi(&before)) else {
            continue;
        };
        let at: Vec<usize> = all
            .iter()
            .filter(|m| {
                m.factor.as_deref() == Some(f) && m.started_on >= from && m.started_on <= to
            })
            .flat_map(|m| m.units.iter().filter_map(|u| tree.get(u)))
            .collect();
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for (i, g) in now.groups.iter().enumerate() {
            if !shown[i] || has_shown_child[i] {
                continue;
            }
            // Released figures only, in both rounds.
            let a = g.figures.as_ref().and_then(|f| f.factors[fn_].as_ref());
            let b = before_at
                .get(g.key.as_str())
                .and_then(|f| f.factors[fb].as_ref());
            let (Some(a), Some(b)) = (a, b) else {
                continue;
            };
            let Some(u) = tree.get(&g.key) else { continue };
            let covered = at.iter().any(|m| tree.is_within(u, *m));
            let partly = at.iter().any(|m| tree.is_within(*m, u) && *m != u);
            if covered {
                with.push(a.mean - b.mean);
            } else if !partly {
                without.push(a.mean - b.mean);
            }
        }
        out.push(SurveySide {
            factor: f.to_string(),
            with: with.len(),
            without: without.len(),
            difference: crate::stats::effect::survey_difference(&with, &without),
        });
    }
    Ok((Some(title), out))
}
