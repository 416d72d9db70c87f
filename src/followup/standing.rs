//! Which units are above their targets in a period (STATISTICS.md
//! "Targets, and units above them"). "Above target" is a figure about the
//! unit's health data: it exists only for units whose absence the engine
//! releases, so a unit too small to show is never named as above or below
//! (its absence counts in the nearest shown unit above it). Pure.

use super::absence::Rates;
use super::national::NationalRates;
use super::org::OrgTree;
use super::targets::{self, Kind, Targets, Value};
use chrono::{Datelike, NaiveDate};

/// One released unit against one of its targets in a period.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Standing {
    /// [`OrgTree`] index.
    pub unit: usize,
    pub kind: Kind,
    pub rate: f64,
    /// The target in percent for this period.
    pub target: f64,
    /// The unit the target was set on (the unit itself, or the ancestor it
    /// inherits from).
    pub set_on: usize,
    pub national: bool,
    pub above: bool,
}

/// Every released unit's standing against each kind of target that holds
/// for it in `period` (the target of the year the period ends in).
pub fn standings(
    tree: &OrgTree,
    rates: &[Option<Rates>],
    targets: &Targets,
    national: &NationalRates,
    period: (NaiveDate, NaiveDate),
) -> Vec<Standing> {
    let year = period.1.year();
    let mut out = Vec::new();
    for (i, r) in rates.iter().enumerate() {
        let Some(r) = r else { continue };
        for kind in Kind::ALL {
            let Some(rate) = r.of_kind(kind) else {
                continue;
            };
            let Some((value, set_on)) = targets.effective(tree, i, year, kind) else {
                continue;
            };
            let Some(target) = targets::resolve(value, kind, period, national) else {
                continue;
            };
            out.push(Standing {
                unit: i,
                kind,
                rate,
                target,
                set_on,
                national: value == Value::National,
                above: rate > target,
            });
        }
    }
    out
}
