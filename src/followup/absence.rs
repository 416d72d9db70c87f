//! Sickness absence over the organisation's own tree (not a round's
//! snapshot): each unit's whole subtree, released by the anonymity engine
//! exactly as the AMU analysis releases it (ANONYMITY.md §6).

use super::org::OrgTree;
use crate::analysis::{protect_tree, GroupAbsence, Sums};
use crate::db::DbConnection;
use crate::AppError;
use chrono::NaiveDate;

/// Every distinct imported period, oldest first.
pub fn periods(conn: &mut DbConnection) -> Result<Vec<(NaiveDate, NaiveDate)>, AppError> {
    let mut p = crate::analysis::absence_periods(conn)?;
    p.sort();
    Ok(p)
}

/// The latest imported period: the one that ends last (the shortest of
/// those, so a month wins over a quarter ending the same day).
pub fn latest_period(conn: &mut DbConnection) -> Result<Option<(NaiveDate, NaiveDate)>, AppError> {
    Ok(periods(conn)?
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))))
}

/// Each unit's absence over `window`, summed over its subtree, released or
/// hidden; by [`OrgTree`] index.
pub fn released(
    conn: &mut DbConnection,
    tree: &OrgTree,
    window: (NaiveDate, NaiveDate),
    k: u32,
) -> Result<Vec<GroupAbsence>, AppError> {
    let own = crate::analysis::own_absence(conn, window.0, window.1)?;
    Ok(protect_tree(&tree.as_nodes(), &own, k))
}

/// The rates a released group's sums give, in percent.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Rates {
    pub total: f64,
    pub long_term: Option<f64>,
    pub short_term: Option<f64>,
    pub self_certified: Option<f64>,
    pub doctor_certified: Option<f64>,
    pub agreed: f64,
}

impl Rates {
    pub fn of(s: &Sums) -> Option<Rates> {
        let total = s.rate()?;
        let part = |x: Option<f64>| x.map(|v| v / s.agreed * 100.0);
        let long_term = part(s.long_term);
        Some(Rates {
            total,
            long_term,
            short_term: long_term.map(|l| (total - l).max(0.0)),
            self_certified: part(s.self_certified),
            doctor_certified: part(s.doctor_certified),
            agreed: s.agreed,
        })
    }

    pub fn of_kind(&self, kind: super::targets::Kind) -> Option<f64> {
        match kind {
            super::targets::Kind::Total => Some(self.total),
            super::targets::Kind::LongTerm => self.long_term,
        }
    }
}

/// The released rates of each unit (None where hidden).
pub fn rates(released: &[GroupAbsence]) -> Vec<Option<Rates>> {
    released
        .iter()
        .map(|g| g.sums().and_then(Rates::of))
        .collect()
}
