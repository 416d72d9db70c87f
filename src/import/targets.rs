//! `targets.csv`: absence targets per unit and year (DATA-FORMATS.md). A
//! row sets the unit's own target of that year and kind; targets the file
//! does not name stay as they are. `target_percent` is a percentage
//! (`7,5`) or `nasjonalt` for the national level.

use super::table::{ColumnSpec, Table};
use super::{with_warnings, Change, Diff, ImportError, IssueKind, Outcome, Problems};
use crate::db::schema::{absence_targets, units};
use crate::db::DbConnection;
use crate::register::targets::{self, Kind, Value};
use diesel::prelude::*;
use std::collections::HashMap;

pub const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "unit_code",
        aliases: &["enhetskode"],
        required: true,
    },
    ColumnSpec {
        name: "year",
        aliases: &["år", "aar"],
        required: true,
    },
    ColumnSpec {
        name: "target_percent",
        aliases: &["mål", "måltall", "maal", "maaltall"],
        required: true,
    },
    ColumnSpec {
        name: "kind",
        aliases: &["type"],
        required: false,
    },
];

fn describe(v: Value) -> String {
    match v {
        Value::Percent(p) => format!("{p} %"),
        Value::National => "nasjonalt".into(),
    }
}

pub(super) fn run(conn: &mut DbConnection, table: &Table) -> Result<Outcome, ImportError> {
    let (cols, warnings) =
        super::table::Columns::map(table, COLUMNS).map_err(ImportError::Rejected)?;
    let known: HashMap<String, String> = units::table
        .select((units::code, units::id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut problems = Problems::default();
    let mut rows: Vec<(String, String, i32, Kind, Value)> = Vec::new();
    let mut seen: HashMap<(String, i32, Kind), usize> = HashMap::new();
    for row in cols.data(table) {
        let code = cols.get(row, "unit_code");
        let unit = match code {
            "" => {
                problems.push(cols.loc(row, "unit_code"), IssueKind::MissingValue);
                None
            }
            c => match known.get(c) {
                Some(id) => Some(id.clone()),
                None => {
                    problems.push(cols.loc(row, "unit_code"), IssueKind::UnknownUnit(c.into()));
                    None
                }
            },
        };
        let year = match cols.get(row, "year").trim() {
            "" => {
                problems.push(cols.loc(row, "year"), IssueKind::MissingValue);
                None
            }
            y => match y.parse::<i32>() {
                Ok(n) if (2000..=2100).contains(&n) => Some(n),
                _ => {
                    problems.push(cols.loc(row, "year"), IssueKind::BadYear(y.into()));
                    None
                }
            },
        };
        let value = match cols.get(row, "target_percent") {
            "" => {
                problems.push(cols.loc(row, "target_percent"), IssueKind::MissingValue);
                None
            }
            v => {
                let parsed = targets::parse_value(v);
                if parsed.is_none() {
                    problems.push(
                        cols.loc(row, "target_percent"),
                        IssueKind::BadTarget(v.into()),
                    );
                }
                parsed
            }
        };
        let kind = match Kind::parse(cols.get(row, "kind")) {
            Some(k) => Some(k),
            None => {
                problems.push(
                    cols.loc(row, "kind"),
                    IssueKind::BadKind(cols.get(row, "kind").into()),
                );
                None
            }
        };
        if let (Some(unit), Some(year), Some(kind), Some(value)) = (unit, year, kind, value) {
            match seen.get(&(unit.clone(), year, kind)) {
                Some(first) => problems.push(
                    cols.loc(row, "unit_code"),
                    IssueKind::Duplicate {
                        value: format!("{code} {year} {}", kind.key()),
                        first_line: *first,
                    },
                ),
                None => {
                    seen.insert((unit.clone(), year, kind), row.line);
                    rows.push((code.to_string(), unit, year, kind, value));
                }
            }
        }
    }
    problems.finish().map_err(|e| with_warnings(e, &warnings))?;
    let existing = targets::Targets::load(conn)?;
    let mut diff = Diff::default();
    for (code, unit, year, kind, value) in &rows {
        let key = format!("{code} {year} {}", kind.key());
        match existing.own(unit.as_str(), *year, *kind) {
            None => diff.added.push(format!("{key}: {}", describe(*value))),
            Some(old) if old != *value => diff.changed.push(Change {
                key,
                fields: vec![format!("{} → {}", describe(old), describe(*value))],
            }),
            Some(_) => {}
        }
        diesel::delete(
            absence_targets::table
                .filter(absence_targets::unit_id.eq(unit))
                .filter(absence_targets::year.eq(year))
                .filter(absence_targets::kind.eq(kind.key())),
        )
        .execute(conn)?;
        let (percent, national) = match value {
            Value::Percent(p) => (Some(*p), false),
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
    Ok(Outcome {
        diff,
        warnings,
        applied: false,
        rounds: Vec::new(),
    })
}
