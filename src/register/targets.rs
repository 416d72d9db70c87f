//! Absence targets (måltall, STATISTICS.md "Targets"): a unit's highest
//! acceptable absence rate in a year, for total or long-term absence, as a
//! percentage or as the national level of the same measure. A unit without
//! its own target has its nearest ancestor's.

use super::national::{self, NationalRates};
use super::org::OrgTree;
use crate::db::schema::absence_targets;
use crate::db::DbConnection;
use crate::ids::UnitId;
use crate::AppError;
use chrono::NaiveDate;
use diesel::prelude::*;

pub use crate::analysis::model::AbsenceKind as Kind;

/// A target's value.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Percent(f64),
    /// The national level of the same measure in the same period
    /// ([`national::level`]).
    National,
}

/// A target as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub unit_id: UnitId,
    pub year: i32,
    pub kind: Kind,
    pub value: Value,
}

/// Every stored target, by unit, then (year, kind): a unit holds a few,
/// and looking one up borrows the unit's id.
pub struct Targets(foldhash::HashMap<UnitId, Vec<(i32, Kind, Value)>>);

impl Targets {
    pub fn load(conn: &mut DbConnection) -> Result<Targets, AppError> {
        let rows: Vec<(String, i32, String, Option<f64>, bool)> = absence_targets::table
            .select((
                absence_targets::unit_id,
                absence_targets::year,
                absence_targets::kind,
                absence_targets::percent,
                absence_targets::national,
            ))
            .load(conn)?;
        let mut map: foldhash::HashMap<UnitId, Vec<(i32, Kind, Value)>> = Default::default();
        for (unit, year, kind, percent, national) in rows {
            let kind = Kind::parse(&kind)
                .ok_or_else(|| AppError::damaged(format!("a target of unknown kind {kind}")))?;
            let value = match (national, percent) {
                (true, _) => Value::National,
                (false, Some(p)) => Value::Percent(p),
                (false, None) => return Err(AppError::damaged("a target without a value")),
            };
            let own = map.entry(UnitId::from(unit)).or_default();
            match own.iter_mut().find(|(y, k, _)| (*y, *k) == (year, kind)) {
                Some(held) => held.2 = value,
                None => own.push((year, kind, value)),
            }
        }
        Ok(Targets(map))
    }

    /// Whether no unit has a target.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The unit's own target.
    pub fn own(&self, unit: &str, year: i32, kind: Kind) -> Option<Value> {
        self.0
            .get(unit)?
            .iter()
            .find(|(y, k, _)| (*y, *k) == (year, kind))
            .map(|(_, _, v)| *v)
    }

    /// The target that holds for `unit`: its own, else its nearest
    /// ancestor's; with the unit it was set on.
    pub fn effective(
        &self,
        tree: &OrgTree,
        unit: usize,
        year: i32,
        kind: Kind,
    ) -> Option<(Value, usize)> {
        let units = &tree.units;
        self.inherited(
            unit,
            |u| units[u].id.as_str(),
            |u| units[u].parent,
            units.len(),
            year,
            kind,
        )
    }

    /// [`Targets::effective`] in any form of the tree: from `unit` up
    /// through `parent` (None at a root), each unit named by `id`; the own
    /// target of the first that has one, with that unit. At most `units`
    /// units are looked at, so a damaged tree's cycle ends.
    pub fn inherited<'t, U: Copy>(
        &self,
        unit: U,
        id: impl Fn(U) -> &'t str,
        parent: impl Fn(U) -> Option<U>,
        units: usize,
        year: i32,
        kind: Kind,
    ) -> Option<(Value, U)> {
        let mut at = Some(unit);
        for _ in 0..units {
            let u = at?;
            if let Some(v) = self.own(id(u), year, kind) {
                return Some((v, u));
            }
            at = parent(u);
        }
        None
    }

    pub fn all(&self) -> Vec<Target> {
        let mut out: Vec<Target> = self
            .0
            .iter()
            .flat_map(|(unit_id, own)| {
                own.iter().map(|(year, kind, value)| Target {
                    unit_id: unit_id.clone(),
                    year: *year,
                    kind: *kind,
                    value: *value,
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.unit_id, a.year, a.kind).cmp(&(&b.unit_id, b.year, b.kind)));
        out
    }
}

/// A target's value as a percentage for a period: the national level of
/// the measure where the target says so (None when no national figure
/// covers the period).
pub fn resolve(
    value: Value,
    kind: Kind,
    period: (NaiveDate, NaiveDate),
    rates: &NationalRates,
) -> Option<f64> {
    match value {
        Value::Percent(p) => Some(p),
        Value::National => national::level(rates, national::measure_for(kind), period),
    }
}

/// Sets (or with None removes) a unit's own target.
pub fn set(
    conn: &mut DbConnection,
    unit: &UnitId,
    year: i32,
    kind: Kind,
    value: Option<Value>,
) -> Result<(), AppError> {
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(
            absence_targets::table
                .filter(absence_targets::unit_id.eq(unit))
                .filter(absence_targets::year.eq(year))
                .filter(absence_targets::kind.eq(kind.key())),
        )
        .execute(conn)?;
        if let Some(v) = value {
            let (percent, national) = match v {
                Value::Percent(p) => (Some(p), false),
                Value::National => (None, true),
            };
            diesel::insert_into(absence_targets::table)
                .values((
                    absence_targets::unit_id.eq(unit),
                    absence_targets::year.eq(year),
                    absence_targets::kind.eq(kind.key()),
                    absence_targets::percent.eq(percent),
                    absence_targets::national.eq(national),
                    absence_targets::updated_at.eq(crate::db::now_unix()),
                ))
                .execute(conn)?;
        }
        // What shows targets is cached by this revision.
        crate::db::absence_series::bump_revision(conn)?;
        Ok(())
    })
}

/// A target typed on a page or in a file: `7,5`, `7.5 %`, or `nasjonalt`
/// (national, nasjonalt nivå) for the national level. None when it is
/// neither, or outside 0–100.
pub fn parse_value(s: &str) -> Option<Value> {
    let t = s.trim().to_lowercase();
    if matches!(
        t.as_str(),
        "nasjonalt" | "nasjonalt nivå" | "nasjonalt nivå." | "national" | "nasjonal"
    ) {
        return Some(Value::National);
    }
    let number = crate::lang::parse_number(t.trim_end_matches('%').trim())?;
    (0.0..=100.0)
        .contains(&number)
        .then_some(Value::Percent(number))
}
