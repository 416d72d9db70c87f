//! `employees.csv`: the people, their unit, the units they lead, their roles
//! (and the units a safety or union representative represents), language,
//! e-mail and mobile number. The file is everyone: people it no longer
//! lists are deactivated (and lose their leader units, roles and
//! represented units), never deleted.

use super::table::{ColumnSpec, Columns, Table};
use super::{with_warnings, Change, Diff, ImportError, IssueKind, Outcome, Problems};
use crate::crypto::new_id;
use crate::db::models::{Employee, EmployeeRole, Unit, UnitLeader};
use crate::db::schema::{employee_roles, employees, unit_leaders, unit_representatives};
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
    ColumnSpec {
        name: "mobile",
        aliases: &["mobil", "mobilnummer", "mobiltelefon"],
        required: false,
    },
    ColumnSpec {
        name: "represents",
        aliases: &["representerer", "representant_for"],
        required: false,
    },
];

pub const ROLES: [&str; 4] = ["amu", "admin", "verneombud", "tillitsvalgt"];

/// The roles that represent units (listed in `represents`).
pub const REPRESENTATIVE_ROLES: [&str; 2] = ["verneombud", "tillitsvalgt"];

/// Whether these roles include one that represents units.
fn is_representative(roles: &BTreeSet<String>) -> bool {
    roles
        .iter()
        .any(|r| REPRESENTATIVE_ROLES.contains(&r.as_str()))
}

#[derive(Debug, Clone)]
struct EmployeeRow {
    number: String,
    name: String,
    email: Option<String>,
    unit_code: String,
    leader_of: BTreeSet<String>,
    roles: BTreeSet<String>,
    represents: BTreeSet<String>,
    language: Lang,
    mobile: Option<String>,
}

/// A mobile number in E.164 (`+4791234567`), or None when it cannot be
/// one. Spaces, dashes, dots and brackets are ignored, `00` stands for `+`.
/// A Norwegian number (eight digits, `+47` or `0047` before them or
/// nothing) must begin with 4 or 9: the others are landlines, which cannot
/// receive SMS. Another country's number is `+` and its country code with
/// 8 to 15 digits in all (E.164's limit).
pub fn normalise_mobile(cell: &str) -> Option<String> {
    let compact: String = cell
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')' | '/')))
        .collect();
    let (plus, digits) = if let Some(rest) = compact.strip_prefix('+') {
        (true, rest.to_string())
    } else if let Some(rest) = compact.strip_prefix("00") {
        (true, rest.to_string())
    } else {
        (false, compact)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let norwegian = |national: &str| {
        (national.len() == 8 && national.starts_with(['4', '9'])).then(|| format!("+47{national}"))
    };
    match (plus, digits.len()) {
        // Eight digits with no country code: a Norwegian number.
        (false, 8) => norwegian(&digits),
        // 47 and eight digits, the plus lost on the way through Excel.
        (false, 10) if digits.starts_with("47") => norwegian(&digits[2..]),
        (true, _) if digits.starts_with("47") => norwegian(&digits[2..]),
        (true, 8..=15) if !digits.starts_with('0') => Some(format!("+{digits}")),
        _ => None,
    }
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
        let mut represents = BTreeSet::new();
        for code in split_list(cols.get(row, "represents")) {
            match check_unit(code) {
                Some(kind) => {
                    problems.push(cols.loc(row, "represents"), kind);
                    ok = false;
                }
                None => {
                    represents.insert(code.to_string());
                }
            }
        }
        // Checked where the file has both columns; otherwise the roles or
        // the represented units on record decide (see `apply`).
        let representative = is_representative(&roles);
        if representative && represents.is_empty() && ok && cols.has("represents") {
            problems.push(cols.loc(row, "represents"), IssueKind::RepresentsNothing);
            ok = false;
        }
        if !representative && !represents.is_empty() && cols.has("roles") {
            problems.push(
                cols.loc(row, "represents"),
                IssueKind::RepresentsWithoutRole,
            );
            ok = false;
        }
        let mobile_cell = cols.get(row, "mobile");
        let mobile = if mobile_cell.is_empty() {
            None
        } else {
            let m = normalise_mobile(mobile_cell);
            if m.is_none() {
                problems.push(
                    cols.loc(row, "mobile"),
                    IssueKind::BadMobile(mobile_cell.into()),
                );
                ok = false;
            }
            m
        };
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
                represents,
                language,
                mobile,
            });
        }
    }
    problems.finish().map_err(|e| with_warnings(e, &warnings))?;
    let diff = apply(
        conn,
        &rows,
        &unit_by_code,
        Present {
            leader_of: cols.has("leader_of"),
            roles: cols.has("roles"),
            represents: cols.has("represents"),
            mobile: cols.has("mobile"),
        },
    )?;
    Ok(Outcome {
        diff,
        warnings,
        applied: false,
        rounds: Vec::new(),
    })
}

/// Which optional columns the file has: a file without one leaves that
/// part of everyone as it is.
#[derive(Debug, Clone, Copy)]
struct Present {
    leader_of: bool,
    roles: bool,
    represents: bool,
    mobile: bool,
}

/// Sets of something per person (leader units or represented units by
/// code, roles), by person id.
type Assignments = HashMap<String, BTreeSet<String>>;

/// Today's leader units, roles and represented units of every person.
struct Current {
    leaders: Assignments,
    roles: Assignments,
    represents: Assignments,
}

fn current_assignments(
    conn: &mut DbConnection,
    code_of_unit: &HashMap<&str, &str>,
) -> Result<Current, ImportError> {
    let code = |id: &str| code_of_unit.get(id).unwrap_or(&"?").to_string();
    let mut leaders: Assignments = HashMap::new();
    for l in unit_leaders::table
        .select(UnitLeader::as_select())
        .load(conn)?
    {
        leaders
            .entry(l.employee_id)
            .or_default()
            .insert(code(&l.unit_id));
    }
    let mut roles: Assignments = HashMap::new();
    for r in employee_roles::table
        .select(EmployeeRole::as_select())
        .load(conn)?
    {
        roles.entry(r.employee_id).or_default().insert(r.role);
    }
    let mut represents: Assignments = HashMap::new();
    for (employee, unit) in unit_representatives::table
        .select((
            unit_representatives::employee_id,
            unit_representatives::unit_id,
        ))
        .load::<(String, String)>(conn)?
    {
        represents.entry(employee).or_default().insert(code(&unit));
    }
    Ok(Current {
        leaders,
        roles,
        represents,
    })
}

/// One set of a person as it is and as the file wants it (None: the file
/// has no such column and wants nothing changed).
struct Set<'a> {
    column: &'static str,
    old: &'a BTreeSet<String>,
    want: Option<&'a BTreeSet<String>>,
}

impl Set<'_> {
    fn changes(&self) -> bool {
        self.want.is_some_and(|w| w != self.old)
    }
}

/// What the file changes of one known person, field by field, as the
/// diff shows it.
fn changed_fields(
    old: &Employee,
    r: &EmployeeRow,
    mobile: &Option<String>,
    unit_id: &str,
    code_of_unit: &HashMap<&str, &str>,
    sets: &[Set],
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
    if &old.mobile != mobile {
        fields.push(format!(
            "mobile «{}» → «{}»",
            show(&old.mobile),
            show(mobile)
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
    for set in sets {
        if let (true, Some(want)) = (set.changes(), set.want) {
            fields.push(format!(
                "{} «{}» → «{}»",
                set.column,
                join(set.old),
                join(want)
            ));
        }
    }
    fields
}

/// What is written after the people themselves: the new people, and the
/// sets of those whose sets the file replaces.
#[derive(Default)]
struct Writes {
    inserts: Vec<Employee>,
    replaced_sets: Vec<String>,
    leaders: Vec<UnitLeader>,
    roles: Vec<EmployeeRole>,
    represents: Vec<(String, String)>,
}

/// Deletes every leader unit, role and represented unit of these people.
fn clear_sets(conn: &mut DbConnection, ids: &[&str]) -> Result<(), ImportError> {
    for chunk in ids.chunks(500) {
        diesel::delete(unit_leaders::table.filter(unit_leaders::employee_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(employee_roles::table.filter(employee_roles::employee_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(
            unit_representatives::table.filter(unit_representatives::employee_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// New people, and the leader units, roles and represented units of those
/// whose sets the file replaces, written in chunks that keep each
/// statement under SQLite's and PostgreSQL's limits on bound parameters
/// while sparing one round trip per row.
fn write_new(conn: &mut DbConnection, w: &Writes) -> Result<(), ImportError> {
    for chunk in w.inserts.chunks(500) {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(employees::table)
            .values(chunk)
            .execute(c))?;
    }
    let replaced: Vec<&str> = w.replaced_sets.iter().map(String::as_str).collect();
    clear_sets(conn, &replaced)?;
    for chunk in w.leaders.chunks(500) {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(unit_leaders::table)
            .values(chunk)
            .execute(c))?;
    }
    for chunk in w.roles.chunks(500) {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(employee_roles::table)
            .values(chunk)
            .execute(c))?;
    }
    let represents: Vec<_> = w
        .represents
        .iter()
        .map(|(e, u)| {
            (
                unit_representatives::employee_id.eq(e),
                unit_representatives::unit_id.eq(u),
            )
        })
        .collect();
    for chunk in represents.chunks(500) {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(
            unit_representatives::table
        )
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
    }
    // A person who has left keeps no access.
    clear_sets(conn, &leaving_ids)?;
    Ok(leaving
        .iter()
        .map(|e| format!("{} {}", e.employee_number, e.name))
        .collect())
}

fn apply(
    conn: &mut DbConnection,
    rows: &[EmployeeRow],
    unit_by_code: &HashMap<&str, &Unit>,
    present: Present,
) -> Result<Diff, ImportError> {
    let existing: HashMap<String, Employee> = Employee::all(conn)?
        .into_iter()
        .map(|e| (e.employee_number.clone(), e))
        .collect();
    let code_of_unit: HashMap<&str, &str> = unit_by_code
        .iter()
        .map(|(c, u)| (u.id.as_str(), *c))
        .collect();
    let current = current_assignments(conn, &code_of_unit)?;
    let empty = BTreeSet::new();
    let now = now_unix();
    let mut diff = Diff::default();
    let mut w = Writes::default();
    let unit_id_of = |code: &String| unit_by_code[code.as_str()].id.clone();

    for r in rows {
        let unit_id = unit_id_of(&r.unit_code);
        let id = match existing.get(&r.number) {
            None => {
                let id = new_id();
                w.inserts.push(Employee {
                    id: id.clone(),
                    employee_number: r.number.clone(),
                    name: r.name.clone(),
                    email: r.email.clone(),
                    unit_id,
                    language: r.language.code().into(),
                    active: true,
                    updated_at: now,
                    mobile: r.mobile.clone(),
                });
                diff.added.push(format!("{} {}", r.number, r.name));
                id
            }
            Some(old) => {
                // A person who is no longer verneombud or tillitsvalgt
                // represents nothing, whatever the file's `represents` says
                // or (without the column) the record held.
                let old_represents = current.represents.get(&old.id).unwrap_or(&empty);
                let roles_after = if present.roles {
                    &r.roles
                } else {
                    current.roles.get(&old.id).unwrap_or(&empty)
                };
                let represents_after = match (is_representative(roles_after), present.represents) {
                    (false, _) => BTreeSet::new(),
                    (true, true) => r.represents.clone(),
                    (true, false) => old_represents.clone(),
                };
                let sets = [
                    Set {
                        column: "leader_of",
                        old: current.leaders.get(&old.id).unwrap_or(&empty),
                        want: present.leader_of.then_some(&r.leader_of),
                    },
                    Set {
                        column: "roles",
                        old: current.roles.get(&old.id).unwrap_or(&empty),
                        want: present.roles.then_some(&r.roles),
                    },
                    Set {
                        column: "represents",
                        old: old_represents,
                        want: Some(&represents_after),
                    },
                ];
                // A file without the column keeps the number on record.
                let mobile = if present.mobile {
                    r.mobile.clone()
                } else {
                    old.mobile.clone()
                };
                let fields = changed_fields(old, r, &mobile, &unit_id, &code_of_unit, &sets);
                if !fields.is_empty() {
                    diesel::update(employees::table.find(&old.id))
                        .set((
                            employees::name.eq(&r.name),
                            employees::email.eq(&r.email),
                            employees::mobile.eq(&mobile),
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
                if !sets.iter().any(Set::changes) {
                    continue;
                }
                // Every set is written again, each from the file or, where
                // the file has no column for it, as it is.
                w.replaced_sets.push(old.id.clone());
                let kept = |set: &Set| set.want.unwrap_or(set.old).clone();
                let (leaders, roles, represents) = (kept(&sets[0]), kept(&sets[1]), kept(&sets[2]));
                push_sets(&mut w, &old.id, &leaders, &roles, &represents, &unit_id_of);
                continue;
            }
        };
        let represents = if is_representative(&r.roles) {
            r.represents.clone()
        } else {
            BTreeSet::new()
        };
        push_sets(
            &mut w,
            &id,
            &r.leader_of,
            &r.roles,
            &represents,
            &unit_id_of,
        );
    }

    write_new(conn, &w)?;

    diff.deactivated = deactivate_missing(conn, &existing, rows, now)?;
    // The staff per unit may have changed, which the analysis counts for
    // units whose absence file gives no headcount: a cached analysis of
    // the staff before is not used again.
    crate::db::absence_series::rebuild_staff(conn)?;
    crate::db::absence_series::bump_revision(conn)?;
    Ok(diff)
}

fn push_sets(
    w: &mut Writes,
    id: &str,
    leaders: &BTreeSet<String>,
    roles: &BTreeSet<String>,
    represents: &BTreeSet<String>,
    unit_id_of: &dyn Fn(&String) -> String,
) {
    w.leaders.extend(leaders.iter().map(|c| UnitLeader {
        employee_id: id.to_string(),
        unit_id: unit_id_of(c),
    }));
    w.roles.extend(roles.iter().map(|role| EmployeeRole {
        employee_id: id.to_string(),
        role: role.clone(),
    }));
    w.represents
        .extend(represents.iter().map(|c| (id.to_string(), unit_id_of(c))));
}

fn join(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "–".into()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join("|")
    }
}
