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
use std::collections::HashMap;

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

/// For each unit, the months (from, to) during which a measure of `type`
/// covered it: at the unit itself, above it or below it.
fn busy_map(data: &Data, type_key: &str) -> HashMap<usize, Vec<(isize, isize)>> {
    let mut busy: HashMap<usize, Vec<(isize, isize)>> = HashMap::new();
    let n = data.tree.units.len();
    for m in data.measures.iter().filter(|m| m.type_key == type_key) {
        let from = data.calendar.index(m.started_on);
        let to = m
            .ended_on
            .map_or(isize::MAX / 4, |e| data.calendar.index(e));
        for u in m.units.iter().filter_map(|u| data.tree.get(u)) {
            for v in 0..n {
                if data.tree.is_within(v, u) || data.tree.is_within(u, v) {
                    busy.entry(v).or_default().push((from, to));
                }
            }
        }
    }
    busy
}

/// The estimate of every measure type in the register (those with at
/// least one unit), by type key.
pub fn estimate_all(data: &Data, k: u32) -> Vec<TypeEffect> {
    let mut keys: Vec<&str> = data.measures.iter().map(|m| m.type_key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let pools = Pools::new(&data.units);
    keys.into_iter()
        .map(|key| estimate_type(data, &pools, key, k))
        .collect()
}

pub fn estimate_type(data: &Data, pools: &Pools, type_key: &str, k: u32) -> TypeEffect {
    let busy = busy_map(data, type_key);
    let busy_units: Vec<usize> = {
        let mut v: Vec<usize> = busy.keys().copied().collect();
        v.sort_unstable();
        v
    };
    let is_busy = |u: usize, from: isize, to: isize| {
        busy.get(&u)
            .is_some_and(|spans| spans.iter().any(|(a, b)| *a <= to && from <= *b))
    };
    let mut treatments = Vec::new();
    for m in data.measures.iter().filter(|m| m.type_key == type_key) {
        let start = data.calendar.index(m.started_on);
        for unit in m.units.iter().filter_map(|u| data.tree.get(u)) {
            let estimate = if start < 0 {
                Err(NoEstimate::TooEarlyData)
            } else {
                let s = start as usize;
                let ctrl = did::controls(&data.units, unit, s, &busy_units, &is_busy);
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
            &busy_units,
            &is_busy,
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
