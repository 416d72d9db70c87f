//! `units.csv`: the organisation tree. The file is the whole tree: units it
//! no longer lists are closed (deactivated), never deleted, because old
//! rounds refer to them.

use super::table::{ColumnSpec, Columns, Table};
use super::{with_warnings, Change, Diff, ImportError, IssueKind, Outcome, Problems};
use crate::crypto::new_id;
use crate::db::models::Unit;
use crate::db::schema::{employees, units};
use crate::db::{now_unix, DbConnection};
use diesel::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};

pub const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "unit_code",
        aliases: &["enhetskode"],
        required: true,
    },
    ColumnSpec {
        name: "parent_code",
        aliases: &["overordnet"],
        required: false,
    },
    ColumnSpec {
        name: "name",
        aliases: &["navn"],
        required: true,
    },
    ColumnSpec {
        name: "unit_type",
        aliases: &["enhetstype", "type"],
        required: false,
    },
];

/// A unit type as norms name it: trimmed, in lower case
/// (`Barnehage` and `barnehage ` are one type).
pub fn normalise_type(s: &str) -> Option<String> {
    let t = s.trim().to_lowercase();
    (!t.is_empty()).then_some(t)
}

#[derive(Debug, Clone)]
pub struct UnitRow {
    pub line: usize,
    pub code: String,
    pub parent_code: Option<String>,
    pub name: String,
    /// The kind of unit norms are given for (None: none given, or the file
    /// has no such column).
    pub unit_type: Option<String>,
    /// Where the parent cell is, for problems about the tree.
    pub parent_loc: super::Location,
}

/// Whether the file has the `unit_type` column: without it, each unit
/// keeps the type it has.
fn has_types(table: &Table) -> bool {
    Columns::map(table, COLUMNS).is_ok_and(|(cols, _)| cols.has("unit_type"))
}

/// Parses and validates the whole file; every problem is collected.
pub fn validate(table: &Table) -> Result<(Vec<UnitRow>, Vec<super::Issue>), ImportError> {
    let (cols, warnings) = Columns::map(table, COLUMNS).map_err(ImportError::Rejected)?;
    let mut problems = Problems::default();
    let mut rows = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for row in cols.data(table) {
        let code = cols.get(row, "unit_code");
        let name = cols.get(row, "name");
        let parent = cols.get(row, "parent_code");
        if code.is_empty() {
            problems.push(cols.loc(row, "unit_code"), IssueKind::MissingValue);
        }
        if name.is_empty() {
            problems.push(cols.loc(row, "name"), IssueKind::MissingValue);
        }
        if code.is_empty() {
            continue;
        }
        if let Some(first) = first_line.get(code) {
            problems.push(
                cols.loc(row, "unit_code"),
                IssueKind::Duplicate {
                    value: code.into(),
                    first_line: *first,
                },
            );
            continue;
        }
        first_line.insert(code.to_string(), row.line);
        rows.push(UnitRow {
            line: row.line,
            code: code.to_string(),
            parent_code: (!parent.is_empty()).then(|| parent.to_string()),
            name: name.to_string(),
            unit_type: normalise_type(cols.get(row, "unit_type")),
            parent_loc: cols.loc(row, "parent_code"),
        });
    }

    let by_code: HashMap<&str, &UnitRow> = rows.iter().map(|r| (r.code.as_str(), r)).collect();
    let mut root: Option<&UnitRow> = None;
    for r in &rows {
        match &r.parent_code {
            None => match root {
                None => root = Some(r),
                Some(first) => problems.push(
                    r.parent_loc.clone(),
                    IssueKind::SecondRoot {
                        code: r.code.clone(),
                        root_line: first.line,
                    },
                ),
            },
            Some(p) if !by_code.contains_key(p.as_str()) => {
                problems.push(r.parent_loc.clone(), IssueKind::UnknownParent(p.clone()))
            }
            Some(_) => {}
        }
    }
    if root.is_none() && !rows.is_empty() {
        problems.0.push(super::Issue::general(IssueKind::NoRoot));
    }

    // Cycles: walk up from every unit; a walk that meets itself is a cycle.
    // Each cycle is reported once, at the line of its first unit in the file.
    let mut reported: HashSet<String> = HashSet::new();
    for start in &rows {
        let mut path: Vec<&str> = vec![start.code.as_str()];
        let mut current = start;
        while let Some(p) = &current.parent_code {
            let Some(next) = by_code.get(p.as_str()) else {
                break;
            };
            if let Some(pos) = path.iter().position(|c| *c == next.code) {
                let mut cycle: Vec<String> = path[pos..].iter().map(|s| s.to_string()).collect();
                let mut key = cycle.clone();
                key.sort();
                if reported.insert(key.join("|")) {
                    let first = cycle
                        .iter()
                        .filter_map(|c| by_code.get(c.as_str()))
                        .min_by_key(|r| r.line)
                        .copied();
                    cycle.push(next.code.clone());
                    if let Some(first) = first {
                        problems.push(first.parent_loc.clone(), IssueKind::Cycle(cycle));
                    }
                }
                break;
            }
            if path.len() > rows.len() {
                break;
            }
            path.push(next.code.as_str());
            current = next;
        }
    }
    problems.finish().map_err(|e| with_warnings(e, &warnings))?;
    Ok((rows, warnings))
}

/// Validates, then applies: new units are inserted parents first, so every
/// foreign key holds at every statement.
pub(super) fn run(conn: &mut DbConnection, table: &Table) -> Result<Outcome, ImportError> {
    let (rows, mut warnings) = validate(table)?;
    let types = has_types(table);
    let existing: HashMap<String, Unit> = Unit::all(conn)?
        .into_iter()
        .map(|u| (u.code.clone(), u))
        .collect();
    let id_of: HashMap<&str, String> = rows
        .iter()
        .map(|r| {
            (
                r.code.as_str(),
                existing
                    .get(&r.code)
                    .map(|u| u.id.clone())
                    .unwrap_or_else(new_id),
            )
        })
        .collect();
    let code_of_id: HashMap<&str, &str> = existing
        .values()
        .map(|u| (u.id.as_str(), u.code.as_str()))
        .collect();

    // Parents before children.
    let mut children: BTreeMap<Option<&str>, Vec<&UnitRow>> = BTreeMap::new();
    for r in &rows {
        children
            .entry(r.parent_code.as_deref())
            .or_default()
            .push(r);
    }
    let mut ordered = Vec::with_capacity(rows.len());
    let mut queue: Vec<&UnitRow> = children.get(&None).cloned().unwrap_or_default();
    while let Some(r) = queue.pop() {
        ordered.push(r);
        if let Some(c) = children.get(&Some(r.code.as_str())) {
            queue.extend(c.iter().copied());
        }
    }

    let now = now_unix();
    let mut diff = Diff::default();
    for r in ordered {
        let parent_id = r.parent_code.as_deref().map(|p| id_of[p].clone());
        let wanted = Unit {
            id: id_of[r.code.as_str()].clone(),
            code: r.code.clone(),
            parent_id: parent_id.clone(),
            name: r.name.clone(),
            active: true,
            updated_at: now,
            unit_type: r.unit_type.clone(),
        };
        match existing.get(&r.code) {
            None => {
                diesel::insert_into(units::table)
                    .values(&wanted)
                    .execute(conn)?;
                diff.added.push(format!("{} {}", r.code, r.name));
            }
            Some(old) => {
                let mut fields = Vec::new();
                if old.name != r.name {
                    fields.push(format!("name «{}» → «{}»", old.name, r.name));
                }
                if old.parent_id != parent_id {
                    let old_parent = old
                        .parent_id
                        .as_deref()
                        .and_then(|id| code_of_id.get(id))
                        .copied()
                        .unwrap_or("–");
                    fields.push(format!(
                        "parent_code «{old_parent}» → «{}»",
                        r.parent_code.as_deref().unwrap_or("–")
                    ));
                }
                if !old.active {
                    fields.push("active no → yes".into());
                }
                let unit_type = if types {
                    wanted.unit_type.clone()
                } else {
                    old.unit_type.clone()
                };
                if old.unit_type != unit_type {
                    let show = |t: &Option<String>| t.clone().unwrap_or_else(|| "–".into());
                    fields.push(format!(
                        "unit_type «{}» → «{}»",
                        show(&old.unit_type),
                        show(&unit_type)
                    ));
                }
                if !fields.is_empty() {
                    diesel::update(units::table.find(&old.id))
                        .set((
                            units::name.eq(&wanted.name),
                            units::parent_id.eq(&wanted.parent_id),
                            units::active.eq(true),
                            units::unit_type.eq(&unit_type),
                            units::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                    diff.changed.push(Change {
                        key: r.code.clone(),
                        fields,
                    });
                }
            }
        }
    }
    let in_file: HashSet<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    let mut closing: Vec<&Unit> = existing
        .values()
        .filter(|u| u.active && !in_file.contains(u.code.as_str()))
        .collect();
    closing.sort_by(|a, b| a.code.cmp(&b.code));
    for u in &closing {
        diesel::update(units::table.find(&u.id))
            .set((units::active.eq(false), units::updated_at.eq(now)))
            .execute(conn)?;
        diff.deactivated.push(format!("{} {}", u.code, u.name));
    }
    if !closing.is_empty() {
        let ids: Vec<&str> = closing.iter().map(|u| u.id.as_str()).collect();
        let stranded: i64 = employees::table
            .filter(employees::active.eq(true))
            .filter(employees::unit_id.eq_any(&ids))
            .count()
            .get_result(conn)?;
        if stranded > 0 {
            warnings.push(super::Issue::general(IssueKind::StrandedEmployees(
                stranded,
            )));
        }
    }
    // The tree decides which target a unit inherits: what shows targets
    // is cached by this revision.
    crate::db::absence_series::bump_revision(conn)?;
    Ok(Outcome {
        diff,
        warnings,
        applied: false,
        rounds: Vec::new(),
    })
}
