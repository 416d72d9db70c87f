//! `measures.csv`: measures already under way (DATA-FORMATS.md), into the
//! register. A row is one measure at one unit; a row whose unit, title,
//! type and start match a measure already in the register updates it (its
//! end, responsible and factor), so importing the same file twice adds
//! nothing. The status follows the dates: planned before the start, done
//! after the end, else ongoing.

use super::table::{ColumnSpec, Table};
use super::{with_warnings, Change, Diff, ImportError, IssueKind, Outcome, Problems};
use crate::db::schema::{measures as m_table, units};
use crate::db::DbConnection;
use crate::ids::UnitId;
use crate::register::measures::{self, NewMeasure};
use diesel::prelude::*;
use std::collections::HashMap;

pub const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "unit_code",
        aliases: &["enhetskode"],
        required: true,
    },
    ColumnSpec {
        name: "title",
        aliases: &["tiltak"],
        required: true,
    },
    ColumnSpec {
        name: "type",
        aliases: &["kategori"],
        required: true,
    },
    ColumnSpec {
        name: "started_on",
        aliases: &["start", "fra"],
        required: true,
    },
    ColumnSpec {
        name: "ended_on",
        aliases: &["slutt", "til"],
        required: false,
    },
    ColumnSpec {
        name: "responsible",
        aliases: &["ansvarlig"],
        required: false,
    },
    ColumnSpec {
        name: "factor",
        aliases: &["faktor"],
        required: false,
    },
];

/// The column a problem of [`measures::check`] is about.
fn column(field: &str) -> &'static str {
    match field {
        "title" => "title",
        "type" => "type",
        "started_on" => "started_on",
        "ended_on" => "ended_on",
        "responsible" => "responsible",
        "factor" => "factor",
        _ => "unit_code",
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
    let types = measures::types(conn)?;
    let factors = measures::known_factors(conn)?;
    let today = crate::db::models::today();
    let mut problems = Problems::default();
    let mut checked = Vec::new();
    for row in cols.data(table) {
        let code = cols.get(row, "unit_code");
        let unit = match code {
            "" => {
                problems.push(cols.loc(row, "unit_code"), IssueKind::MissingValue);
                None
            }
            c => match known.get(c) {
                Some(id) => Some(UnitId::from(id.as_str())),
                None => {
                    problems.push(cols.loc(row, "unit_code"), IssueKind::UnknownUnit(c.into()));
                    None
                }
            },
        };
        let new = NewMeasure {
            title: cols.get(row, "title").to_string(),
            type_key: cols.get(row, "type").to_string(),
            started_on: cols.get(row, "started_on").to_string(),
            ended_on: cols.get(row, "ended_on").to_string(),
            responsible: cols.get(row, "responsible").to_string(),
            status: String::new(),
            factor: cols.get(row, "factor").to_string(),
            units: unit.clone().into_iter().collect(),
            round_id: None,
        };
        match measures::check(&new, &types, &factors, today) {
            Ok(c) => checked.push((code.to_string(), new, c)),
            Err(list) => {
                for (field, p) in list {
                    // An unknown unit is already named above.
                    if field == "unit_code" && unit.is_none() {
                        continue;
                    }
                    problems.push(cols.loc(row, column(field)), IssueKind::Measure(p));
                }
            }
        }
    }
    problems.finish().map_err(|e| with_warnings(e, &warnings))?;
    let existing = measures::all(conn)?;
    let mut diff = Diff::default();
    for (code, new, c) in &checked {
        let key = measures::type_key(&types, &new.type_key).unwrap_or_default();
        let label = format!("{code} {}: {}", c.start, new.title.trim());
        let same = existing.iter().find(|m| {
            m.units == new.units
                && m.title == new.title.trim()
                && m.type_key == key
                && m.started_on == c.start
        });
        match same {
            Some(m) => {
                let mut fields = Vec::new();
                if m.ended_on != c.end {
                    fields.push("ended_on".to_string());
                }
                if m.responsible != new.responsible.trim() {
                    fields.push("responsible".to_string());
                }
                if m.factor != c.factor {
                    fields.push("factor".to_string());
                }
                if m.status != c.status {
                    fields.push("status".to_string());
                }
                if fields.is_empty() {
                    continue;
                }
                diesel::update(m_table::table.find(&m.id))
                    .set((
                        m_table::ended_on.eq(c
                            .end
                            .map(|d| d.format(crate::db::models::DATE_FORMAT).to_string())),
                        m_table::responsible.eq(new.responsible.trim()),
                        m_table::factor.eq(&c.factor),
                        m_table::status.eq(c.status.key()),
                        m_table::updated_at.eq(crate::db::now_unix()),
                    ))
                    .execute(conn)?;
                diff.changed.push(Change { key: label, fields });
            }
            None => {
                measures::insert(conn, new, c, &types)?;
                diff.added.push(label);
            }
        }
    }
    Ok(Outcome {
        diff,
        warnings,
        applied: false,
        rounds: Vec::new(),
    })
}
