//! The national reference: Statistics Norway's sickness-absence
//! percentages per quarter (imported from the statistics bank, see
//! [`crate::import::national`]), beside the organisation's own rates.
//!
//! SSB's quarterly tables split absence by certification (self- and
//! doctor-certified), not by duration. A long-term target "at the national
//! level" is measured against the national doctor-certified rate: absence
//! beyond the 16-day employer period is always doctor-certified, and most
//! doctor-certified days lie in long spells; the pages say which figure it
//! is.

use super::targets::Kind;
use crate::db::schema::national_rates;
use crate::db::DbConnection;
use crate::AppError;
use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use std::collections::BTreeMap;

/// The measures SSB reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Total,
    SelfCertified,
    DoctorCertified,
}

impl Measure {
    pub const ALL: [Measure; 3] = [
        Measure::Total,
        Measure::SelfCertified,
        Measure::DoctorCertified,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Measure::Total => "total",
            Measure::SelfCertified => "self_certified",
            Measure::DoctorCertified => "doctor_certified",
        }
    }

    pub fn parse(s: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.key() == s)
    }

    pub fn name(self, l: crate::lang::Lang) -> &'static str {
        match self {
            Measure::Total => l.pick("totalt", "totalt", "total"),
            Measure::SelfCertified => l.pick("egenmeldt", "eigenmeldt", "self-certified"),
            Measure::DoctorCertified => l.pick("legemeldt", "legemeldt", "doctor-certified"),
        }
    }
}

/// The national measure a target kind is compared with.
pub fn measure_for(kind: Kind) -> Measure {
    match kind {
        Kind::Total => Measure::Total,
        Kind::LongTerm => Measure::DoctorCertified,
    }
}

/// A quarter: year and 1–4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quarter {
    pub year: i32,
    pub q: u32,
}

impl Quarter {
    /// `2025K3` (SSB's spelling; `2025Q3` too).
    pub fn parse(s: &str) -> Option<Quarter> {
        let s = s.trim();
        let (y, q) = s.split_once(['K', 'k', 'Q', 'q'])?;
        let year: i32 = y.trim().parse().ok()?;
        let q: u32 = q.trim().parse().ok()?;
        ((1..=4).contains(&q) && (1900..=2200).contains(&year)).then_some(Quarter { year, q })
    }

    pub fn label(self) -> String {
        format!("{}K{}", self.year, self.q)
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, 3 * self.q - 2, 1).expect("a quarter's first day")
    }

    pub fn last_day(self) -> NaiveDate {
        let next = if self.q == 4 {
            NaiveDate::from_ymd_opt(self.year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(self.year, 3 * self.q + 1, 1)
        };
        next.expect("the next quarter") - chrono::Days::new(1)
    }

    pub fn of(d: NaiveDate) -> Quarter {
        Quarter {
            year: d.year(),
            q: (d.month() - 1) / 3 + 1,
        }
    }
}

/// Every imported national percentage.
#[derive(Debug, Clone, Default)]
pub struct NationalRates(pub BTreeMap<(Quarter, Measure), f64>);

impl NationalRates {
    pub fn load(conn: &mut DbConnection) -> Result<NationalRates, AppError> {
        let rows: Vec<(String, String, f64)> = national_rates::table
            .select((
                national_rates::quarter,
                national_rates::measure,
                national_rates::percent,
            ))
            .load(conn)?;
        let mut map = BTreeMap::new();
        for (q, m, p) in rows {
            let (Some(q), Some(m)) = (Quarter::parse(&q), Measure::parse(&m)) else {
                return Err(AppError::damaged(format!("a national rate for {q} {m}")));
            };
            map.insert((q, m), p);
        }
        Ok(NationalRates(map))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The latest quarter with a figure for `m`.
    pub fn latest(&self, m: Measure) -> Option<(Quarter, f64)> {
        self.0
            .iter()
            .filter(|((_, x), _)| *x == m)
            .map(|((q, _), p)| (*q, *p))
            .next_back()
    }
}

/// The national level of `m` over a period: the quarters' percentages,
/// each weighted by the days of the period it covers. None unless every
/// day of the period lies in a quarter with a figure.
pub fn level(rates: &NationalRates, m: Measure, period: (NaiveDate, NaiveDate)) -> Option<f64> {
    let (mut weighted, mut days) = (0.0, 0i64);
    let mut q = Quarter::of(period.0);
    loop {
        let from = q.first_day().max(period.0);
        let to = q.last_day().min(period.1);
        if from > period.1 {
            break;
        }
        let n = (to - from).num_days() + 1;
        let p = rates.0.get(&(q, m))?;
        weighted += p * n as f64;
        days += n;
        q = if q.q == 4 {
            Quarter {
                year: q.year + 1,
                q: 1,
            }
        } else {
            Quarter {
                year: q.year,
                q: q.q + 1,
            }
        };
    }
    (days > 0).then(|| weighted / days as f64)
}

/// Replaces the stored figures of the quarters and measures given. In the
/// caller's transaction (the import's), with the analysis' revision.
pub fn store(
    conn: &mut DbConnection,
    rows: &[(Quarter, Measure, f64)],
    source: &str,
) -> Result<(), AppError> {
    let now = crate::db::now_unix();
    for (q, m, p) in rows {
        diesel::delete(
            national_rates::table
                .filter(national_rates::quarter.eq(q.label()))
                .filter(national_rates::measure.eq(m.key())),
        )
        .execute(conn)?;
        diesel::insert_into(national_rates::table)
            .values((
                national_rates::quarter.eq(q.label()),
                national_rates::measure.eq(m.key()),
                national_rates::percent.eq(p),
                national_rates::source.eq(source),
                national_rates::imported_at.eq(now),
            ))
            .execute(conn)?;
    }
    // What shows the national level is cached by this revision.
    crate::db::absence_series::bump_revision(conn)?;
    Ok(())
}
