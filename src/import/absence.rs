//! `absence.csv`: sickness absence per unit and period (DATA-FORMATS.md).
//! Each row covers the unit's own employees. Rows for a period already
//! imported for that unit replace it; any other overlap is refused. Numbers
//! may carry a decimal comma and spaces as thousands separators; dates may
//! be `2025-01-31` or `31.01.2025`.

use super::table::{ColumnSpec, Columns, Row, Table};
use super::{with_warnings, Change, Diff, ImportError, IssueKind, Location, Outcome, Problems};
use crate::crypto::new_id;
use crate::db::schema::{absence, units};
use crate::db::{now_unix, DbConnection};
use chrono::NaiveDate;
use diesel::prelude::*;
use std::collections::HashMap;

pub const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "unit_code",
        aliases: &["enhetskode"],
        required: true,
    },
    ColumnSpec {
        name: "period_start",
        aliases: &["fra"],
        required: true,
    },
    ColumnSpec {
        name: "period_end",
        aliases: &["til"],
        required: true,
    },
    ColumnSpec {
        name: "agreed_workdays",
        aliases: &["avtalte_dagsverk"],
        required: true,
    },
    ColumnSpec {
        name: "lost_workdays",
        aliases: &["tapte_dagsverk"],
        required: true,
    },
    ColumnSpec {
        name: "lost_self_certified",
        aliases: &["egenmeldt"],
        required: false,
    },
    ColumnSpec {
        name: "lost_doctor_certified",
        aliases: &["legemeldt"],
        required: false,
    },
    ColumnSpec {
        name: "lost_long_term",
        aliases: &["langtid"],
        required: false,
    },
    ColumnSpec {
        name: "headcount",
        aliases: &["antall_ansatte"],
        required: false,
    },
];

/// Self- plus doctor-certified days may exceed the lost days by this much
/// (HR systems round each part).
pub const ROUNDING_DAYS: f64 = 0.5;

#[derive(Debug, Clone, PartialEq)]
pub struct AbsenceRow {
    pub line: usize,
    /// Where the period starts, for problems about overlapping periods.
    pub start_loc: Location,
    pub unit_code: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub agreed: f64,
    pub lost: f64,
    pub self_certified: Option<f64>,
    pub doctor_certified: Option<f64>,
    pub long_term: Option<f64>,
    pub headcount: Option<i32>,
}

pub use crate::lang::{parse_date, parse_number};

fn number(
    cols: &Columns,
    row: &Row,
    name: &str,
    required: bool,
    problems: &mut Problems,
) -> Option<f64> {
    let raw = cols.get(row, name);
    if raw.is_empty() {
        if required {
            problems.push(cols.loc(row, name), IssueKind::MissingValue);
        }
        return None;
    }
    match parse_number(raw) {
        None => {
            problems.push(cols.loc(row, name), IssueKind::BadNumber(raw.into()));
            None
        }
        Some(x) if x < 0.0 => {
            problems.push(cols.loc(row, name), IssueKind::Negative(raw.into()));
            None
        }
        Some(x) => Some(x),
    }
}

fn date(cols: &Columns, row: &Row, name: &str, problems: &mut Problems) -> Option<NaiveDate> {
    let raw = cols.get(row, name);
    if raw.is_empty() {
        problems.push(cols.loc(row, name), IssueKind::MissingValue);
        return None;
    }
    let d = parse_date(raw);
    if d.is_none() {
        problems.push(cols.loc(row, name), IssueKind::BadDate(raw.into()));
    }
    d
}

/// Parses and checks every row on its own, and the rows of the file against
/// each other (overlaps).
pub fn validate(
    table: &Table,
    known_units: &HashMap<String, String>,
) -> Result<(Vec<AbsenceRow>, Vec<super::Issue>), ImportError> {
    let (cols, warnings) = Columns::map(table, COLUMNS).map_err(ImportError::Rejected)?;
    let mut problems = Problems::default();
    let mut rows = Vec::new();
    for row in cols.data(table) {
        let code = cols.get(row, "unit_code");
        if code.is_empty() {
            problems.push(cols.loc(row, "unit_code"), IssueKind::MissingValue);
        } else if !known_units.contains_key(code) {
            problems.push(
                cols.loc(row, "unit_code"),
                IssueKind::UnknownUnit(code.into()),
            );
        }
        let start = date(&cols, row, "period_start", &mut problems);
        let end = date(&cols, row, "period_end", &mut problems);
        let agreed = number(&cols, row, "agreed_workdays", true, &mut problems);
        let lost = number(&cols, row, "lost_workdays", true, &mut problems);
        let self_c = number(&cols, row, "lost_self_certified", false, &mut problems);
        let doctor = number(&cols, row, "lost_doctor_certified", false, &mut problems);
        let long = number(&cols, row, "lost_long_term", false, &mut problems);
        let headcount = match cols.get(row, "headcount") {
            "" => None,
            raw => match raw.trim().parse::<i32>() {
                Ok(n) if n >= 0 => Some(n),
                _ => {
                    problems.push(cols.loc(row, "headcount"), IssueKind::BadNumber(raw.into()));
                    None
                }
            },
        };
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                problems.push(cols.loc(row, "period_end"), IssueKind::EndBeforeStart);
            }
        }
        if let (Some(a), Some(l)) = (agreed, lost) {
            if l > a {
                problems.push(cols.loc(row, "lost_workdays"), IssueKind::LostOverAgreed);
            }
        }
        if let Some(l) = lost {
            if self_c.unwrap_or(0.0) + doctor.unwrap_or(0.0) > l + ROUNDING_DAYS {
                let at = if cols.has("lost_doctor_certified") {
                    "lost_doctor_certified"
                } else {
                    "lost_self_certified"
                };
                problems.push(cols.loc(row, at), IssueKind::PartsOverLost);
            }
            if long.is_some_and(|x| x > l + ROUNDING_DAYS) {
                problems.push(cols.loc(row, "lost_long_term"), IssueKind::PartsOverLost);
            }
        }
        if let (false, Some(start), Some(end), Some(agreed), Some(lost)) =
            (code.is_empty(), start, end, agreed, lost)
        {
            rows.push(AbsenceRow {
                line: row.line,
                start_loc: cols.loc(row, "period_start"),
                unit_code: code.to_string(),
                start,
                end,
                agreed,
                lost,
                self_certified: self_c,
                doctor_certified: doctor,
                long_term: long,
                headcount,
            });
        }
    }
    // Overlaps within the file, per unit.
    let mut by_unit: HashMap<&str, Vec<&AbsenceRow>> = HashMap::new();
    for r in &rows {
        by_unit.entry(&r.unit_code).or_default().push(r);
    }
    for list in by_unit.values_mut() {
        list.sort_by_key(|r| (r.start, r.line));
        for w in list.windows(2) {
            if w[1].start <= w[0].end {
                problems.push(
                    w[1].start_loc.clone(),
                    IssueKind::OverlapInFile {
                        unit: w[1].unit_code.clone(),
                        line: w[0].line,
                    },
                );
            }
        }
    }
    problems.finish().map_err(|e| with_warnings(e, &warnings))?;
    Ok((rows, warnings))
}

fn period(start: &NaiveDate, end: &NaiveDate) -> (String, String) {
    (
        start.format("%Y-%m-%d").to_string(),
        end.format("%Y-%m-%d").to_string(),
    )
}

pub(super) fn run(conn: &mut DbConnection, table: &Table) -> Result<Outcome, ImportError> {
    // Absence history may name units closed since: every unit counts.
    let known: HashMap<String, String> = units::table
        .select((units::code, units::id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let (rows, warnings) = validate(table, &known)?;
    let existing: Vec<(String, String, String, String)> = absence::table
        .select((
            absence::id,
            absence::unit_id,
            absence::period_start,
            absence::period_end,
        ))
        .load(conn)?;
    let mut problems = Problems::default();
    let mut diff = Diff::default();
    let now = now_unix();
    let mut replace = Vec::new();
    for r in &rows {
        let unit_id = &known[&r.unit_code];
        let (s, e) = period(&r.start, &r.end);
        for (id, _, es, ee) in existing.iter().filter(|x| &x.1 == unit_id) {
            if *es == s && *ee == e {
                replace.push(id.clone());
                diff.changed.push(Change {
                    key: format!("{} {s}–{e}", r.unit_code),
                    fields: vec!["replaced".into()],
                });
            } else if *es <= e && s <= *ee {
                problems.push(
                    r.start_loc.clone(),
                    IssueKind::OverlapExisting {
                        unit: r.unit_code.clone(),
                        period: format!("{es}–{ee}"),
                    },
                );
            }
        }
    }
    problems.finish().map_err(|e| with_warnings(e, &warnings))?;
    for chunk in replace.chunks(500) {
        diesel::delete(absence::table.filter(absence::id.eq_any(chunk))).execute(conn)?;
    }
    let values: Vec<_> = rows
        .iter()
        .map(|r| {
            let (s, e) = period(&r.start, &r.end);
            (
                absence::id.eq(new_id()),
                absence::unit_id.eq(known[&r.unit_code].clone()),
                absence::period_start.eq(s),
                absence::period_end.eq(e),
                absence::agreed_workdays.eq(r.agreed),
                absence::lost_workdays.eq(r.lost),
                absence::lost_self_certified.eq(r.self_certified),
                absence::lost_doctor_certified.eq(r.doctor_certified),
                absence::lost_long_term.eq(r.long_term),
                absence::headcount.eq(r.headcount),
                absence::imported_at.eq(now),
            )
        })
        .collect();
    for chunk in values.chunks(500) {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(absence::table)
            .values(chunk)
            .execute(c))?;
    }
    crate::db::absence_series::rebuild(conn)?;
    let replaced: std::collections::HashSet<String> =
        diff.changed.iter().map(|c| c.key.clone()).collect();
    for r in &rows {
        let (s, e) = period(&r.start, &r.end);
        let key = format!("{} {s}–{e}", r.unit_code);
        if !replaced.contains(&key) {
            diff.added.push(key);
        }
    }
    Ok(Outcome {
        diff,
        warnings,
        applied: false,
        rounds: Vec::new(),
    })
}
