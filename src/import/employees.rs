//! `employees.csv`: the people, their unit, the units they lead, their roles
//! and language. The file is everyone: people it no longer lists are
//! deactivated (and lose their leader units and roles), never deleted.

use super::table::{ColumnSpec, Columns, Table};
use super::{with_warnings, Change, Diff, ImportError, IssueKind, Outcome, Problems};
use crate::crypto::new_id;
use crate::db::models::{Employee, EmployeeRole, Unit, UnitLeader};
use crate::db::schema::{employee_roles, employees, unit_leaders};
use crate::db::{now_unix, DbConnection};
use crate::lang::Lang;
use diesel::prelude::*;
use std::collections::{BTreeSet, HashMap, HashSet};

pub const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "employee_id",
        aliases: &["ansattnummer", "ansattnr"],
        required: true,
    },
    ColumnSpec {
        name: "name",
        aliases: &["navn"],
        required: true,
    },
    ColumnSpec {
        name: "email",
        aliases: &["epost", "e-post"],
        required: false,
    },
    ColumnSpec {
        name: "unit_code",
        aliases: &["enhetskode"],
        required: true,
    },
    ColumnSpec {
        name: "leader_of",
        aliases: &["leder_for"],
        required: false,
    },
    ColumnSpec {
        name: "roles",
        aliases: &["roller"],
        required: false,
    },
    ColumnSpec {
        name: "language",
        aliases: &["språk", "sprak"],
        required: false,
    },
];

pub const ROLES: [&str; 2] = ["amu", "admin"];

#[derive(Debug, Clone)]
struct EmployeeRow {
    number: String,
    name: String,
    email: Option<String>,
    unit_code: String,
    leader_of: BTreeSet<String>,
    roles: BTreeSet<String>,
    language: Lang,
}

/// A deliberately plain check: one `@`, a non-empty local part, a domain
/// with a dot and no empty labels, no spaces. Good enough to catch the typos
/// HR exports contain; the mail relay is the final judge.
pub fn is_valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && domain
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == ',' || c == ';' || c == '<' || c == '>')
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split('|').map(str::trim).filter(|p| !p.is_empty())
}

pub(super) fn run(conn: &mut DbConnection, table: &Table) -> Result<Outcome, ImportError> {
    let (cols, warnings) = Columns::map(table, COLUMNS).map_err(ImportError::Rejected)?;
    let all_units = Unit::all(conn)?;
    let unit_by_code: HashMap<&str, &Unit> =
        all_units.iter().map(|u| (u.code.as_str(), u)).collect();
    let check_unit = |code: &str| -> Option<IssueKind> {
        match unit_by_code.get(code) {
            None => Some(IssueKind::UnknownUnit(code.to_string())),
            Some(u) if !u.active => Some(IssueKind::ClosedUnit(code.to_string())),
            Some(_) => None,
        }
    };

    let mut problems = Problems::default();
    let mut rows = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for row in cols.data(table) {
        let number = cols.get(row, "employee_id");
        let name = cols.get(row, "name");
        let email = cols.get(row, "email");
        let unit_code = cols.get(row, "unit_code");
        let mut ok = true;
        for (col, v) in [
            ("employee_id", number),
            ("name", name),
            ("unit_code", unit_code),
        ] {
            if v.is_empty() {
                problems.push(cols.loc(row, col), IssueKind::MissingValue);
                ok = false;
            }
        }
        if !number.is_empty() {
            if let Some(first) = first_line.get(number) {
                problems.push(
                    cols.loc(row, "employee_id"),
                    IssueKind::Duplicate {
                        value: number.into(),
                        first_line: *first,
                    },
                );
                ok = false;
            } else {
                first_line.insert(number.to_string(), row.line);
            }
        }
        if !unit_code.is_empty() {
            if let Some(kind) = check_unit(unit_code) {
                problems.push(cols.loc(row, "unit_code"), kind);
                ok = false;
            }
        }
        if !email.is_empty() && !is_valid_email(email) {
            problems.push(cols.loc(row, "email"), IssueKind::BadEmail(email.into()));
            ok = false;
        }
        let mut leader_of = BTreeSet::new();
        for code in split_list(cols.get(row, "leader_of")) {
            match check_unit(code) {
                Some(kind) => {
                    problems.push(cols.loc(row, "leader_of"), kind);
                    ok = false;
                }
                None => {
                    leader_of.insert(code.to_string());
                }
            }
        }
        let mut roles = BTreeSet::new();
        for role in split_list(cols.get(row, "roles")) {
            let r = role.to_lowercase();
            if ROLES.contains(&r.as_str()) {
                roles.insert(r);
            } else {
                problems.push(cols.loc(row, "roles"), IssueKind::UnknownRole(role.into()));
                ok = false;
            }
        }
        let lang_cell = cols.get(row, "language");
        let language = if lang_cell.is_empty() {
            Lang::Nb
        } else {
            match lang_cell.to_lowercase().as_str() {
                "nb" => Lang::Nb,
                "nn" => Lang::Nn,
                "en" => Lang::En,
                _ => {
                    problems.push(
                        cols.loc(row, "language"),
                        IssueKind::UnknownLanguage(lang_cell.into()),
                    );
                    ok = false;
                    Lang::Nb
                }
            }
        };
        if ok {
            rows.push(EmployeeRow {
                number: number.into(),
                name: name.into(),
                email: (!email.is_empty()).then(|| email.to_string()),
                unit_code: unit_code.into(),
                leader_of,
                roles,
                language,
            });
        }
    }
    problems.finish().map_err(|e| with_warnings(e, &warnings))?;
    let diff = apply(
        conn,
        &rows,
        &unit_by_code,
        cols.has("leader_of"),
        cols.has("roles"),
    )?;
    Ok(Outcome {
        diff,
        warnings,
        applied: false,
    })
}

/// Today's leader units (by code) and roles of every person, by id.
type Assignments = HashMap<String, BTreeSet<String>>;

fn current_assignments(
    conn: &mut DbConnection,
    code_of_unit: &HashMap<&str, &str>,
) -> Result<(Assignments, Assignments), ImportError> {
    let mut leaders: HashMap<String, BTreeSet<String>> = HashMap::new();
    for l in unit_leaders::table
        .select(UnitLeader::as_select())
        .load(conn)?
    {
        leaders.entry(l.employee_id).or_default().insert(
            code_of_unit
                .get(l.unit_id.as_str())
                .unwrap_or(&"?")
                .to_string(),
        );
    }
    let mut roles: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in employee_roles::table
        .select(EmployeeRole::as_select())
        .load(conn)?
    {
        roles.entry(r.employee_id).or_default().insert(r.role);
    }
    Ok((leaders, roles))
}

/// A person's leader units and roles as they are and as the file wants
/// them; a file without the column wants nothing changed there.
struct Sets<'a> {
    old_leaders: &'a BTreeSet<String>,
    old_roles: &'a BTreeSet<String>,
    want_leaders: Option<&'a BTreeSet<String>>,
    want_roles: Option<&'a BTreeSet<String>>,
}

impl Sets<'_> {
    fn leaders_change(&self) -> bool {
        self.want_leaders.is_some_and(|w| w != self.old_leaders)
    }
    fn roles_change(&self) -> bool {
        self.want_roles.is_some_and(|w| w != self.old_roles)
    }
}

/// What the file changes of one known person, field by field, as the
/// diff shows it.
fn changed_fields(
    old: &Employee,
    r: &EmployeeRow,
    unit_id: &str,
    code_of_unit: &HashMap<&str, &str>,
    sets: &Sets,
) -> Vec<String> {
    let mut fields = Vec::new();
    let show = |o: &Option<String>| o.clone().unwrap_or_else(|| "–".into());
    if old.name != r.name {
        fields.push(format!("name «{}» → «{}»", old.name, r.name));
    }
    if old.email != r.email {
        fields.push(format!(
            "email «{}» → «{}»",
            show(&old.email),
            show(&r.email)
        ));
    }
    if old.unit_id != unit_id {
        let from = code_of_unit.get(old.unit_id.as_str()).unwrap_or(&"?");
        fields.push(format!("unit_code «{from}» → «{}»", r.unit_code));
    }
    if old.language != r.language.code() {
        fields.push(format!("language «{}» → «{}»", old.language, r.language));
    }
    if !old.active {
        fields.push("active no → yes".into());
    }
    if let (true, Some(want)) = (sets.leaders_change(), sets.want_leaders) {
        fields.push(format!(
            "leader_of «{}» → «{}»",
            join(sets.old_leaders),
            join(want)
        ));
    }
    if let (true, Some(want)) = (sets.roles_change(), sets.want_roles) {
        fields.push(format!(
            "roles «{}» → «{}»",
            join(sets.old_roles),
            join(want)
        ));
    }
    fields
}

/// New people, and the leader units and roles of those whose sets the
/// file replaces, written in chunks that keep each statement under
/// SQLite's and PostgreSQL's limits on bound parameters while sparing one
/// round trip per row.
fn write_new(
    conn: &mut DbConnection,
    inserts: &[Employee],
    replaced_sets: &[String],
    new_leaders: &[UnitLeader],
    new_roles: &[EmployeeRole],
) -> Result<(), ImportError> {
    for chunk in inserts.chunks(500) {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(employees::table)
            .values(chunk)
            .execute(c))?;
    }
    for chunk in replaced_sets.chunks(500) {
        diesel::delete(unit_leaders::table.filter(unit_leaders::employee_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(employee_roles::table.filter(employee_roles::employee_id.eq_any(chunk)))
            .execute(conn)?;
    }
    for chunk in new_leaders.chunks(500) {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(unit_leaders::table)
            .values(chunk)
            .execute(c))?;
    }
    for chunk in new_roles.chunks(500) {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(employee_roles::table)
            .values(chunk)
            .execute(c))?;
    }

    Ok(())
}

/// Deactivates the active people missing from the file; a person who has
/// left keeps no access. Returns them as the diff shows them.
fn deactivate_missing(
    conn: &mut DbConnection,
    existing: &HashMap<String, Employee>,
    rows: &[EmployeeRow],
    now: i64,
) -> Result<Vec<String>, ImportError> {
    let in_file: HashSet<&str> = rows.iter().map(|r| r.number.as_str()).collect();
    let mut leaving: Vec<&Employee> = existing
        .values()
        .filter(|e| e.active && !in_file.contains(e.employee_number.as_str()))
        .collect();
    leaving.sort_by(|a, b| a.employee_number.cmp(&b.employee_number));
    let leaving_ids: Vec<&str> = leaving.iter().map(|e| e.id.as_str()).collect();
    for chunk in leaving_ids.chunks(500) {
        diesel::update(employees::table.filter(employees::id.eq_any(chunk)))
            .set((employees::active.eq(false), employees::updated_at.eq(now)))
            .execute(conn)?;
        // A person who has left keeps no access.
        diesel::delete(unit_leaders::table.filter(unit_leaders::employee_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(employee_roles::table.filter(employee_roles::employee_id.eq_any(chunk)))
            .execute(conn)?;
    }
    Ok(leaving
        .iter()
        .map(|e| format!("{} {}", e.employee_number, e.name))
        .collect())
}

fn apply(
    conn: &mut DbConnection,
    rows: &[EmployeeRow],
    unit_by_code: &HashMap<&str, &Unit>,
    has_leader_col: bool,
    has_roles_col: bool,
) -> Result<Diff, ImportError> {
    let existing: HashMap<String, Employee> = Employee::all(conn)?
        .into_iter()
        .map(|e| (e.employee_number.clone(), e))
        .collect();
    let code_of_unit: HashMap<&str, &str> = unit_by_code
        .iter()
        .map(|(c, u)| (u.id.as_str(), *c))
        .collect();
    let (leaders, roles) = current_assignments(conn, &code_of_unit)?;
    let empty = BTreeSet::new();
    let now = now_unix();
    let mut diff = Diff::default();
    let mut inserts = Vec::new();
    let mut new_leaders = Vec::new();
    let mut new_roles = Vec::new();
    let mut replaced_sets: Vec<String> = Vec::new();

    for r in rows {
        let unit_id = unit_by_code[r.unit_code.as_str()].id.clone();
        // A file without the column leaves those assignments as they are.
        let want_leaders = if has_leader_col { &r.leader_of } else { &empty };
        let want_roles = if has_roles_col { &r.roles } else { &empty };
        let id = match existing.get(&r.number) {
            None => {
                let id = new_id();
                inserts.push(Employee {
                    id: id.clone(),
                    employee_number: r.number.clone(),
                    name: r.name.clone(),
                    email: r.email.clone(),
                    unit_id,
                    language: r.language.code().into(),
                    active: true,
                    updated_at: now,
                });
                diff.added.push(format!("{} {}", r.number, r.name));
                id
            }
            Some(old) => {
                let sets = Sets {
                    old_leaders: leaders.get(&old.id).unwrap_or(&empty),
                    old_roles: roles.get(&old.id).unwrap_or(&empty),
                    want_leaders: has_leader_col.then_some(want_leaders),
                    want_roles: has_roles_col.then_some(want_roles),
                };
                let fields = changed_fields(old, r, &unit_id, &code_of_unit, &sets);
                if !fields.is_empty() {
                    diesel::update(employees::table.find(&old.id))
                        .set((
                            employees::name.eq(&r.name),
                            employees::email.eq(&r.email),
                            employees::unit_id.eq(&unit_id),
                            employees::language.eq(r.language.code()),
                            employees::active.eq(true),
                            employees::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                    diff.changed.push(Change {
                        key: r.number.clone(),
                        fields,
                    });
                }
                if sets.leaders_change() || sets.roles_change() {
                    replaced_sets.push(old.id.clone());
                } else {
                    continue;
                }
                old.id.clone()
            }
        };
        if has_leader_col {
            new_leaders.extend(want_leaders.iter().map(|c| UnitLeader {
                employee_id: id.clone(),
                unit_id: unit_by_code[c.as_str()].id.clone(),
            }));
        }
        if has_roles_col {
            new_roles.extend(want_roles.iter().map(|role| EmployeeRole {
                employee_id: id.clone(),
                role: role.clone(),
            }));
        }
    }

    write_new(conn, &inserts, &replaced_sets, &new_leaders, &new_roles)?;

    diff.deactivated = deactivate_missing(conn, &existing, rows, now)?;
    Ok(diff)
}

fn join(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "–".into()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join("|")
    }
}
