//! A report as files: the same rows as the page, as CSV and XLSX (through
//! [`crate::export`]).

use super::report::UnitReport;
use crate::export::{self, Table};
use crate::AppError;

fn opt(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.4}")).unwrap_or_default()
}

const FACTOR_HEADER: [&str; 14] = [
    "level",
    "unit_code",
    "unit",
    "factor",
    "n",
    "mean",
    "sd",
    "ci_low",
    "ci_high",
    "favourable",
    "unfavourable",
    "change",
    "change_low",
    "change_high",
];

/// Rows of the factor table, shared by CSV and XLSX: this group's figures,
/// then the comparison means. Hidden figures are empty cells.
fn factor_rows(r: &UnitReport) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for f in &r.factors {
        let s = f.figure.as_ref();
        let c = s.and_then(|s| s.change());
        rows.push(vec![
            "unit".into(),
            r.group.code.clone(),
            r.group.name.clone(),
            f.name.clone(),
            s.map(|s| s.n.to_string()).unwrap_or_default(),
            opt(s.map(|s| s.mean)),
            opt(s.map(|s| s.sd)),
            opt(s.map(|s| s.ci_low)),
            opt(s.map(|s| s.ci_high)),
            opt(s.map(|s| s.favourable)),
            opt(s.map(|s| s.unfavourable)),
            opt(c.map(|c| c.diff)),
            opt(c.map(|c| c.low)),
            opt(c.map(|c| c.high)),
        ]);
    }
    for (level, g, pick) in [("above", &r.above, 0), ("organisation", &r.organisation, 1)] {
        let Some(g) = g else { continue };
        for f in &r.factors {
            let m = if pick == 0 {
                f.above_mean
            } else {
                f.organisation_mean
            };
            let mut row = vec![level.into(), g.code.clone(), g.name.clone(), f.name.clone()];
            row.push(String::new());
            row.push(opt(m));
            row.resize(FACTOR_HEADER.len(), String::new());
            rows.push(row);
        }
    }
    // The norms for the unit type: level `norm: scope`, the type as unit.
    for f in &r.factors {
        for n in &f.norms {
            let mut row = vec![
                format!("norm: {}", n.scope),
                String::new(),
                r.unit_type.clone().unwrap_or_default(),
                f.name.clone(),
                String::new(),
                opt(Some(n.mean)),
            ];
            row.resize(FACTOR_HEADER.len(), String::new());
            rows.push(row);
        }
    }
    rows
}

const TREND_HEADER: [&str; 4] = ["round", "closes_on", "factor", "mean"];

/// The group's factors round by round, where released.
fn trend_rows(r: &UnitReport) -> Vec<Vec<String>> {
    let Some(t) = &r.trend else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for line in &t.factors {
        for (round, mean) in t.rounds.iter().zip(&line.means) {
            rows.push(vec![
                round.title.clone(),
                round.closes_on.clone(),
                line.name.clone(),
                opt(*mean),
            ]);
        }
    }
    rows
}

const ITEM_HEADER: [&str; 10] = [
    "factor",
    "item",
    "text",
    "dont_know",
    "1",
    "2",
    "3",
    "4",
    "5",
    "n",
];

fn item_rows(r: &UnitReport) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for f in &r.factors {
        for i in &f.items {
            let mut row = vec![f.name.clone(), i.key.clone(), i.text.clone()];
            match i.counts {
                Some(c) => {
                    row.extend(c.iter().map(|x| x.to_string()));
                    row.push(c.iter().sum::<u32>().to_string());
                }
                None => row.resize(ITEM_HEADER.len(), String::new()),
            }
            rows.push(row);
        }
    }
    rows
}

const BACKGROUND_HEADER: [&str; 5] = ["question", "option", "factor", "n", "mean"];
const RELIABILITY_HEADER: [&str; 3] = ["factor", "n", "cronbach_alpha"];

fn background_rows(r: &UnitReport) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for q in &r.background {
        for c in &q.cells {
            for (f, x) in r.factors.iter().zip(&c.factors) {
                rows.push(vec![
                    q.question.clone(),
                    c.option.clone(),
                    f.name.clone(),
                    x.as_ref().map(|x| x.n.to_string()).unwrap_or_default(),
                    opt(x.as_ref().map(|x| x.mean)),
                ]);
            }
        }
    }
    rows
}

fn reliability_rows(r: &UnitReport) -> Vec<Vec<String>> {
    r.reliability
        .iter()
        .map(|x| vec![x.factor.clone(), x.n.to_string(), format!("{:.4}", x.alpha)])
        .collect()
}

/// The report's tables: factors (with the norms) and items always; for the
/// organisation also background cells and reliability; where there is one,
/// the trend over rounds.
fn tables(r: &UnitReport) -> Vec<Table<'static>> {
    vec![
        Table {
            sheet: "Faktorer",
            header: &FACTOR_HEADER,
            rows: factor_rows(r),
            numeric_from: 4,
            text_columns: &[],
            keep_empty: true,
        },
        Table {
            sheet: "Spørsmål",
            header: &ITEM_HEADER,
            rows: item_rows(r),
            numeric_from: 3,
            text_columns: &[],
            keep_empty: true,
        },
        Table {
            sheet: "Bakgrunn",
            header: &BACKGROUND_HEADER,
            rows: background_rows(r),
            numeric_from: 3,
            text_columns: &[],
            keep_empty: false,
        },
        Table {
            sheet: "Pålitelighet",
            header: &RELIABILITY_HEADER,
            rows: reliability_rows(r),
            numeric_from: 1,
            text_columns: &[],
            keep_empty: false,
        },
        Table {
            sheet: "Utvikling",
            header: &TREND_HEADER,
            rows: trend_rows(r),
            numeric_from: 3,
            text_columns: &[],
            keep_empty: false,
        },
    ]
}

/// The report as CSV: the factor table, a blank line, the item table; for
/// the organisation also the background and reliability tables.
pub fn to_csv(r: &UnitReport) -> Result<Vec<u8>, AppError> {
    export::csv(&tables(r))
}

/// The report as an Excel workbook: sheets "Faktorer" and "Spørsmål", and
/// for the organisation "Bakgrunn" and "Pålitelighet".
pub fn to_xlsx(r: &UnitReport) -> Result<Vec<u8>, AppError> {
    export::xlsx(&tables(r))
}
