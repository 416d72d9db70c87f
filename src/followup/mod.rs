//! The follow-up cycle the municipal documents ask for, after the survey
//! and the analysis: absence targets per unit ([`targets`]), the national
//! reference ([`national`]), which units are above their targets
//! ([`standing`]) and their leaders' written accounts ([`accounts`]), the
//! register of measures ([`measures`], with the survey action plans in
//! [`plans`]), the estimated effect of measures ([`effect`]), and the
//! tertial and IA reports ([`report`]).
//!
//! Every absence figure here is released by the anonymity engine over the
//! organisation's tree ([`absence`]): a unit too small to show is never
//! named as above or below its target, and its absence counts in the
//! nearest shown unit above it.

pub mod absence;
pub mod accounts;
pub mod effect;
pub mod plans;
pub mod report;
pub mod standing;
pub mod view;

pub use crate::register::{measures, national, org, targets};

use crate::db::DbConnection;
use crate::AppError;
use chrono::NaiveDate;

/// What a check of the latest period found and did.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct Checked {
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// Released units with a target, and how many of them are above it.
    pub compared: usize,
    pub above: usize,
    pub requested: accounts::Requested,
}

/// The latest period, the tree, every unit's released rates in it, and
/// the standings against the targets.
pub type Latest = (
    (NaiveDate, NaiveDate),
    org::OrgTree,
    Vec<Option<absence::Rates>>,
    Vec<standing::Standing>,
);

/// The latest period's standings: which released units are above a target.
pub fn latest_standings(conn: &mut DbConnection, k: u32) -> Result<Option<Latest>, AppError> {
    let Some(period) = absence::latest_period(conn)? else {
        return Ok(None);
    };
    let tree = org::OrgTree::load(conn)?;
    let released = absence::released(conn, &tree, period, k)?;
    let rates = absence::rates(&released);
    let targets = targets::Targets::load(conn)?;
    let national = national::NationalRates::load(conn)?;
    let standings = standing::standings(&tree, &rates, &targets, &national, period);
    Ok(Some((period, tree, rates, standings)))
}

/// Finds the units above their targets in the latest imported period and
/// asks each for a written account it has not been asked for yet. Runs
/// after every absence, target or national import, and on demand.
pub fn check(conn: &mut DbConnection, k: u32, account_days: u32) -> Result<Checked, AppError> {
    let Some((period, tree, _, standings)) = latest_standings(conn, k)? else {
        return Ok(Checked::default());
    };
    let requested = accounts::request(conn, &tree, &standings, period, account_days)?;
    Ok(Checked {
        period: Some(period),
        compared: standings.len(),
        above: standings.iter().filter(|s| s.above).count(),
        requested,
    })
}
