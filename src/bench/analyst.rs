//! The analyst comparison: the closed round's stored answers written as
//! the CSV an HR analyst would be handed (one row per response, one column
//! per item), with the absence file, and `benches/analyst.py` — a vectorised
//! pandas + SciPy pipeline of factor means per unit correlated with absence —
//! timed beside the snapshot and the analysis. Only the benchmark writes
//! such a file, of synthetic answers: the product never exports responses.

use crate::db::schema::units;
use crate::db::DbConnection;
use crate::survey::stored::{decode_items, Layout};
use crate::AppError;
use diesel::prelude::*;
use serde::Deserialize;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// The script, carried in the binary so that the bench needs no source tree.
const SCRIPT: &str = include_str!("../../benches/analyst.py");

/// Writes `responses.csv`, `items.csv`, `absence.csv` and the script into
/// `dir`; returns the number of responses written.
pub fn export(
    conn: &mut DbConnection,
    round: &crate::db::models::Round,
    absence_csv: &str,
    dir: &Path,
) -> Result<usize, AppError> {
    let surveys = round.surveys(conn)?;
    let layout = Layout::of(&surveys);
    let codes: HashMap<String, String> = units::table
        .select((units::id, units::code))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let rows = crate::snapshot::stored_rows(conn, &round.id)?;
    let columns: Vec<String> = layout
        .items
        .iter()
        .map(|&(s, i)| format!("{}.{}", surveys[s].id, surveys[s].items[i].key))
        .collect();
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("responses.csv"))?);
    write!(out, "unit_code")?;
    for c in &columns {
        write!(out, ";{c}")?;
    }
    writeln!(out)?;
    let mut items = Vec::new();
    for (unit, answers, _) in &rows {
        decode_items(&surveys, &layout, answers, &mut items)
            .map_err(|e| AppError::damaged_by("a stored response", e))?;
        let code = unit
            .as_deref()
            .and_then(|u| codes.get(u))
            .map_or("", String::as_str);
        write!(out, "{code}")?;
        for a in &items {
            match a {
                None => write!(out, ";")?,
                Some(crate::stats::scores::Answer::DontKnow) => write!(out, ";0")?,
                Some(crate::stats::scores::Answer::Value(v)) => write!(out, ";{v}")?,
            }
        }
        writeln!(out)?;
    }
    out.flush()?;
    let mut map = String::from("item;factor;reverse\n");
    for (c, &(s, i)) in columns.iter().zip(&layout.items) {
        let item = &surveys[s].items[i];
        map += &format!(
            "{c};{}.{};{}\n",
            surveys[s].id,
            item.factor,
            u8::from(item.reverse)
        );
    }
    std::fs::write(dir.join("items.csv"), map)?;
    std::fs::write(dir.join("absence.csv"), absence_csv)?;
    std::fs::write(dir.join("analyst.py"), SCRIPT)?;
    Ok(rows.len())
}

/// What the script measured, in milliseconds per run.
#[derive(Debug, Deserialize)]
pub struct Measured {
    pub load_ms: Vec<f64>,
    pub aggregate_ms: Vec<f64>,
    pub correlate_ms: Vec<f64>,
    pub total_ms: Vec<f64>,
    pub rows: usize,
    pub groups: usize,
    pub factors: usize,
    pub pandas: String,
}

/// Runs the script in `dir` with `NAERVAER_BENCH_PYTHON` (default
/// `python3`). Err with the reason when Python or pandas is missing.
pub fn run_script(dir: &Path, runs: usize, k: u32) -> Result<Measured, String> {
    let python = std::env::var("NAERVAER_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .arg(dir.join("analyst.py"))
        .arg(dir)
        .arg(runs.to_string())
        .arg(k.to_string())
        .output()
        .map_err(|e| format!("{python}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("failed").to_string());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("the script's output: {e}"))
}
