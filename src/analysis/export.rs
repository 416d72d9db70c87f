//! The analysis as files and text: CSV, an Excel workbook, and the text
//! table `naervaer analyse` prints.

use super::model::{Analysis, FactorResult};
use super::summary;
use crate::export::{self, Table};
use crate::lang::Lang;
use crate::AppError;

const FACTOR_HEADER: [&str; 16] = [
    "factor",
    "groups",
    "r",
    "r_low",
    "r_high",
    "p",
    "q",
    "weighted_r",
    "spearman_rho",
    "spearman_p",
    "within_area_r",
    "within_area_p",
    "quartile_low_rate",
    "quartile_high_rate",
    "quartile_difference",
    "icc1",
];

fn f4(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.4}")).unwrap_or_default()
}

/// One row per factor.
fn factors(a: &Analysis) -> Table<'static> {
    Table {
        sheet: "Faktorer",
        header: &FACTOR_HEADER,
        rows: a
            .factors
            .iter()
            .map(|f| {
                let p = f.pearson.as_ref();
                let s = f.spearman.as_ref();
                let wa = f.within_area.as_ref();
                let c = f.contrast.as_ref();
                vec![
                    f.name.clone(),
                    f.m.to_string(),
                    f4(p.map(|x| x.r)),
                    f4(p.map(|x| x.low)),
                    f4(p.map(|x| x.high)),
                    f4(p.map(|x| x.p)),
                    f4(f.q),
                    f4(f.weighted_r),
                    f4(s.map(|x| x.r)),
                    f4(s.map(|x| x.p)),
                    f4(wa.map(|x| x.r)),
                    f4(wa.map(|x| x.p)),
                    f4(c.map(|x| x.low_rate)),
                    f4(c.map(|x| x.high_rate)),
                    f4(c.map(|x| x.difference)),
                    f4(f.icc1),
                ]
            })
            .collect(),
        numeric_from: 1,
        text_columns: &[],
        keep_empty: true,
    }
}

/// The reporting groups.
fn groups(a: &Analysis) -> Table<'static> {
    Table {
        sheet: "Enheter",
        header: &[
            "unit_code",
            "unit",
            "area",
            "absence_rate",
            "agreed_workdays",
            "lost_workdays",
            "target",
        ],
        rows: a
            .groups
            .iter()
            .map(|g| {
                vec![
                    g.code.clone(),
                    g.name.clone(),
                    g.area.clone(),
                    format!("{:.4}", g.absence_rate),
                    format!("{}", g.agreed),
                    format!("{}", g.lost),
                    g.target.map_or(String::new(), |t| format!("{t}")),
                ]
            })
            .collect(),
        numeric_from: 3,
        text_columns: &[],
        keep_empty: true,
    }
}

/// The flagged groups.
fn flagged(a: &Analysis) -> Table<'static> {
    Table {
        sheet: "Flagget",
        header: &["unit", "absence_rate", "low_on"],
        rows: a
            .summary
            .flagged
            .iter()
            .map(|f| {
                vec![
                    f.name.clone(),
                    format!("{:.4}", f.absence_rate),
                    f.factors.join(", "),
                ]
            })
            .collect(),
        numeric_from: 1,
        text_columns: &[2],
        keep_empty: true,
    }
}

/// One row per factor: the analysis as CSV.
pub fn to_csv(a: &Analysis) -> Result<Vec<u8>, AppError> {
    export::csv(&[factors(a)])
}

/// The analysis as an Excel workbook: "Faktorer" (as the CSV), "Enheter"
/// (the reporting groups), "Flagget" (the flagged groups).
pub fn to_xlsx(a: &Analysis) -> Result<Vec<u8>, AppError> {
    export::xlsx(&[factors(a), groups(a), flagged(a)])
}

/// The factors as a fixed-width text table, strongest association first.
pub fn table(a: &Analysis, lang: Lang) -> String {
    use std::fmt::Write as _;
    let n = |x: Option<f64>, p: usize| x.map_or("–".to_string(), |v| summary::num(v, p, lang));
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<38} {:>3} {:>6} {:>15} {:>6} {:>6} {:>6} {:>6} {:>6}",
        lang.pick("faktor", "faktor", "factor"),
        "m",
        "r",
        "95 % KI",
        "q",
        "r_w",
        "rho",
        "r_area",
        "ICC"
    );
    let mut order: Vec<&FactorResult> = a.factors.iter().collect();
    order.sort_by(|x, y| {
        let r = |f: &FactorResult| f.ranked(a.within_used).map_or(0.0, |c| c.r.abs());
        r(y).total_cmp(&r(x))
    });
    for f in order {
        let p = f.pearson.as_ref();
        let ci = p.map_or("–".into(), |c| {
            format!(
                "{}; {}",
                summary::num(c.low, 2, lang),
                summary::num(c.high, 2, lang)
            )
        });
        let name: String = f.name.chars().take(38).collect();
        let _ = writeln!(
            t,
            "{name:<38} {:>3} {:>6} {ci:>15} {:>6} {:>6} {:>6} {:>6} {:>6}",
            f.m,
            n(p.map(|c| c.r), 2),
            n(f.q, 3),
            n(f.weighted_r, 2),
            n(f.spearman.map(|c| c.r), 2),
            n(f.within_area.map(|c| c.r), 2),
            n(f.icc1, 2),
        );
    }
    t
}
