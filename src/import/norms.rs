//! `norms.csv`: factor means per unit type and scope that the municipality
//! brings (its licensed or published figures: national averages for
//! kindergartens, schools, home care …), to be shown beside a unit's own
//! score. A file replaces the norms of the scopes it names; other scopes
//! stay as they are.

use super::table::{ColumnSpec, Columns, Table};
use super::{with_warnings, Change, Diff, ImportError, Issue, IssueKind, Outcome, Problems};
use crate::db::schema::{norms, units};
use crate::db::DbConnection;
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "unit_type",
        aliases: &["enhetstype", "type"],
        required: true,
    },
    ColumnSpec {
        name: "factor",
        aliases: &["faktor"],
        required: true,
    },
    ColumnSpec {
        name: "mean",
        aliases: &["snitt", "gjennomsnitt", "norm"],
        required: true,
    },
    ColumnSpec {
        name: "scope",
        aliases: &["utvalg", "omfang"],
        required: false,
    },
];

/// The scope of a row that names none.
pub const DEFAULT_SCOPE: &str = "nasjonalt";

/// (unit type, factor as `survey/key`, scope) → mean.
type Norms = BTreeMap<(String, String, String), f64>;

pub(super) fn run(
    conn: &mut DbConnection,
    table: &Table,
    source: &str,
) -> Result<Outcome, ImportError> {
    let (cols, mut warnings) = Columns::map(table, COLUMNS).map_err(ImportError::Rejected)?;
    let factors = crate::register::measures::known_factors(conn)?;
    let types: BTreeSet<String> = units::table
        .filter(units::active.eq(true))
        .select(units::unit_type)
        .load::<Option<String>>(conn)?
        .into_iter()
        .flatten()
        .collect();
    let mut problems = Problems::default();
    let mut rows: Norms = BTreeMap::new();
    let mut first_line: HashMap<(String, String, String), usize> = HashMap::new();
    let mut unknown_types: BTreeSet<String> = BTreeSet::new();
    for row in cols.data(table) {
        let unit_type = super::units::normalise_type(cols.get(row, "unit_type"));
        if unit_type.is_none() {
            problems.push(cols.loc(row, "unit_type"), IssueKind::MissingValue);
        }
        let factor_cell = cols.get(row, "factor");
        let factor = resolve_factor(&factors, factor_cell);
        match (&factor, factor_cell.is_empty()) {
            (_, true) => problems.push(cols.loc(row, "factor"), IssueKind::MissingValue),
            (None, false) => problems.push(
                cols.loc(row, "factor"),
                IssueKind::UnknownFactor(factor_cell.into()),
            ),
            _ => {}
        }
        let mean_cell = cols.get(row, "mean");
        let mean = match crate::lang::parse_number(mean_cell) {
            _ if mean_cell.is_empty() => {
                problems.push(cols.loc(row, "mean"), IssueKind::MissingValue);
                None
            }
            Some(m) if (1.0..=5.0).contains(&m) => Some(m),
            _ => {
                problems.push(cols.loc(row, "mean"), IssueKind::BadNorm(mean_cell.into()));
                None
            }
        };
        let scope = match cols.get(row, "scope").trim() {
            "" => DEFAULT_SCOPE.to_string(),
            s => s.to_string(),
        };
        let (Some(t), Some(f), Some(m)) = (unit_type, factor, mean) else {
            continue;
        };
        let key = (t.clone(), f.clone(), scope.clone());
        if let Some(first) = first_line.get(&key) {
            problems.push(
                cols.loc(row, "factor"),
                IssueKind::Duplicate {
                    value: format!("{t} {f} {scope}"),
                    first_line: *first,
                },
            );
            continue;
        }
        first_line.insert(key.clone(), row.line);
        if !types.contains(&t) {
            unknown_types.insert(t);
        }
        rows.insert(key, m);
    }
    problems.finish().map_err(|e| with_warnings(e, &warnings))?;
    // A type no unit has is a warning: units.csv may not have it yet.
    warnings.extend(
        unknown_types
            .into_iter()
            .map(|t| Issue::general(IssueKind::NoUnitOfType(t))),
    );
    let scopes: BTreeSet<&String> = rows.keys().map(|(_, _, s)| s).collect();
    let existing: Norms = norms::table
        .select((norms::unit_type, norms::factor, norms::scope, norms::mean))
        .load::<(String, String, String, f64)>(conn)?
        .into_iter()
        .filter(|(_, _, s, _)| scopes.contains(s))
        .map(|(t, f, s, m)| ((t, f, s), m))
        .collect();
    let name = |(t, f, s): &(String, String, String)| format!("{t} {f} ({s})");
    let mut diff = Diff::default();
    for (key, mean) in &rows {
        match existing.get(key) {
            None => diff.added.push(format!("{}: {mean}", name(key))),
            Some(old) if (old - mean).abs() > 1e-9 => diff.changed.push(Change {
                key: name(key),
                fields: vec![format!("mean {old} → {mean}")],
            }),
            Some(_) => {}
        }
    }
    diff.deactivated = existing
        .keys()
        .filter(|k| !rows.contains_key(*k))
        .map(name)
        .collect();
    let scopes: Vec<&String> = scopes.into_iter().collect();
    diesel::delete(norms::table.filter(norms::scope.eq_any(&scopes))).execute(conn)?;
    let now = crate::db::now_unix();
    let values: Vec<_> = rows
        .iter()
        .map(|((t, f, s), m)| {
            (
                norms::unit_type.eq(t),
                norms::factor.eq(f),
                norms::scope.eq(s),
                norms::mean.eq(m),
                norms::source.eq(source),
                norms::imported_at.eq(now),
            )
        })
        .collect();
    for chunk in values.chunks(500) {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(norms::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(Outcome {
        diff,
        warnings,
        applied: false,
        rounds: Vec::new(),
    })
}

/// `10-faktor/rolleklarhet`, or `rolleklarhet` where only one
/// questionnaire has a factor of that key.
fn resolve_factor(known: &[String], cell: &str) -> Option<String> {
    let cell = cell.trim();
    if known.iter().any(|k| k == cell) {
        return Some(cell.to_string());
    }
    let mut by_key = known.iter().filter(|k| k.rsplit('/').next() == Some(cell));
    match (by_key.next(), by_key.next()) {
        (Some(one), None) => Some(one.clone()),
        _ => None,
    }
}
