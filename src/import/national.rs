//! The national reference: a semicolon CSV (or XLSX) downloaded from
//! Statistics Norway's statistics bank as it is — table 12441
//! «Sykefravær for lønnstakere» for the whole country, or 12524 for the
//! municipal sector — with SSB's title lines above the header and decimal
//! commas. Two layouts are read:
//!
//! - quarters down a column (a header cell «kvartal»), a column of the
//!   absence type («sykefraværstype»: «Egenmeldt og legemeldt»,
//!   «Egenmeldt», «Legemeldt») and the percentage in the last column, or a
//!   column whose header names it («Sykefraværsprosent»);
//! - quarters across the header («2025K1», «Sykefraværsprosent 2025K1»),
//!   one row per absence type.
//!
//! SSB's symbols for a missing figure («.», «..», «:», «-») are skipped.
//! A quarter and type already stored are replaced.

use super::table::{Row, Table};
use super::{Change, Diff, ImportError, IssueKind, Location, Outcome, Problems};
use crate::db::DbConnection;
use crate::register::national::{self, Measure, NationalRates, Quarter};
use std::collections::HashMap;

/// A quarter somewhere in a cell: `2025K3`, also after a label.
fn quarter_in(cell: &str) -> Option<Quarter> {
    cell.split(|c: char| c.is_whitespace() || c == '"' || c == '(' || c == ')')
        .find_map(Quarter::parse)
}

fn measure_of(text: &str) -> Option<Measure> {
    let t = text.to_lowercase();
    if t.contains("egenmeldt og legemeldt")
        || t.contains("i alt")
        || t.contains("totalt")
        || t == "total"
    {
        Some(Measure::Total)
    } else if t.contains("egenmeldt") {
        Some(Measure::SelfCertified)
    } else if t.contains("legemeldt") {
        Some(Measure::DoctorCertified)
    } else {
        None
    }
}

/// SSB's marks for a figure that is missing, confidential or not given.
fn missing(cell: &str) -> bool {
    matches!(cell.trim(), "" | "." | ".." | "..." | ":" | "-")
}

fn loc(table: &Table, row: &Row, index: usize, header: &Row) -> Location {
    Location::cell(
        table.kind,
        row.line,
        index,
        header.cells.get(index).map_or("", String::as_str),
    )
}

/// What the file holds: (quarter, measure, percent, line), every problem
/// listed.
fn read(table: &Table) -> Result<Vec<(Quarter, Measure, f64, usize)>, ImportError> {
    let top: Vec<&Row> = table
        .rows
        .iter()
        .take_while(|r| r.line <= super::table::HEADER_SEARCH_ROWS)
        .collect();
    let is_long_header = |r: &Row| {
        r.cells
            .iter()
            .any(|c| matches!(c.trim().to_lowercase().as_str(), "kvartal" | "quarter"))
    };
    let is_wide_header = |r: &Row| r.cells.iter().filter(|c| quarter_in(c).is_some()).count() >= 1;
    let header_at = top
        .iter()
        .position(|r| is_long_header(r))
        .map(|i| (i, true))
        .or_else(|| {
            top.iter()
                .position(|r| is_wide_header(r))
                .map(|i| (i, false))
        });
    let Some((h, long)) = header_at else {
        return Err(ImportError::Rejected(vec![super::Issue::general(
            IssueKind::NoQuarters,
        )]));
    };
    let header = top[h];
    let data = &table.rows[h + 1..];
    let mut problems = Problems::default();
    let mut out: Vec<(Quarter, Measure, f64, usize)> = Vec::new();
    let mut seen: HashMap<(Quarter, Measure), usize> = HashMap::new();
    let mut keep =
        |q: Quarter, m: Measure, p: f64, row: &Row, at: Location, problems: &mut Problems| {
            match seen.get(&(q, m)) {
                Some(first) => problems.push(
                    at,
                    IssueKind::SameQuarterTwice {
                        quarter: format!("{} ({})", q.label(), m.key()),
                        line: *first,
                    },
                ),
                None => {
                    seen.insert((q, m), row.line);
                    out.push((q, m, p, row.line));
                }
            }
        };
    let number = |cell: &str, at: Location, problems: &mut Problems| -> Option<f64> {
        match crate::lang::parse_number(cell) {
            Some(x) if (0.0..=100.0).contains(&x) => Some(x),
            _ => {
                problems.push(at, IssueKind::BadNumber(cell.trim().into()));
                None
            }
        }
    };
    let lower: Vec<String> = header
        .cells
        .iter()
        .map(|c| c.trim().to_lowercase())
        .collect();
    if long {
        let qi = lower
            .iter()
            .position(|c| c == "kvartal" || c == "quarter")
            .expect("a long header has a quarter column");
        let ti = lower
            .iter()
            .position(|c| c.contains("sykefraværstype") || c.contains("fraværstype"));
        let vi = lower
            .iter()
            .enumerate()
            .rposition(|(i, c)| {
                Some(i) != ti && i != qi && (c.contains("prosent") || c.contains('%'))
            })
            .unwrap_or(header.cells.len().saturating_sub(1));
        for row in data {
            let cell = |i: usize| row.cells.get(i).map_or("", String::as_str);
            if row.cells.iter().filter(|c| !c.trim().is_empty()).count() <= 1 {
                continue; // SSB's notes below the table.
            }
            let Some(q) = Quarter::parse(cell(qi)) else {
                problems.push(
                    loc(table, row, qi, header),
                    IssueKind::BadQuarter(cell(qi).into()),
                );
                continue;
            };
            let m = match ti {
                Some(t) => match measure_of(cell(t)) {
                    Some(m) => m,
                    None => {
                        problems.push(
                            loc(table, row, t, header),
                            IssueKind::UnknownMeasure(cell(t).into()),
                        );
                        continue;
                    }
                },
                None => Measure::Total,
            };
            if missing(cell(vi)) {
                continue;
            }
            if let Some(p) = number(cell(vi), loc(table, row, vi, header), &mut problems) {
                keep(q, m, p, row, loc(table, row, qi, header), &mut problems);
            }
        }
    } else {
        let quarters: Vec<(usize, Quarter)> = header
            .cells
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((i, quarter_in(c)?)))
            .collect();
        let first_q = quarters.first().map_or(0, |q| q.0);
        for row in data {
            let label: String = row.cells[..first_q.min(row.cells.len())].join(" ");
            if row.cells.iter().filter(|c| !c.trim().is_empty()).count() <= 1 {
                continue;
            }
            let m = match measure_of(&label) {
                Some(m) => m,
                None if data.len() == 1 => Measure::Total,
                None => {
                    problems.push(
                        loc(table, row, 0, header),
                        IssueKind::UnknownMeasure(label.trim().into()),
                    );
                    continue;
                }
            };
            for &(i, q) in &quarters {
                let cell = row.cells.get(i).map_or("", String::as_str);
                if missing(cell) {
                    continue;
                }
                if let Some(p) = number(cell, loc(table, row, i, header), &mut problems) {
                    keep(q, m, p, row, loc(table, row, i, header), &mut problems);
                }
            }
        }
    }
    problems.finish()?;
    if out.is_empty() {
        return Err(ImportError::Rejected(vec![super::Issue::general(
            IssueKind::NoQuarters,
        )]));
    }
    Ok(out)
}

pub(super) fn run(
    conn: &mut DbConnection,
    table: &Table,
    source: &str,
) -> Result<Outcome, ImportError> {
    let rows = read(table)?;
    let before = NationalRates::load(conn)?;
    let mut diff = Diff::default();
    for (q, m, p, _) in &rows {
        let key = format!("{} {}", q.label(), m.key());
        match before.0.get(&(*q, *m)) {
            None => diff.added.push(format!("{key}: {p} %")),
            Some(old) if old != p => diff.changed.push(Change {
                key,
                fields: vec![format!("{old} → {p}")],
            }),
            Some(_) => {}
        }
    }
    let stored: Vec<(Quarter, Measure, f64)> =
        rows.iter().map(|(q, m, p, _)| (*q, *m, *p)).collect();
    national::store(conn, &stored, source)?;
    Ok(Outcome {
        diff,
        warnings: Vec::new(),
        applied: false,
        rounds: Vec::new(),
    })
}
