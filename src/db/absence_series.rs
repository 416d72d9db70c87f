//! Each unit's absence periods in one compact row, kept beside the
//! `absence` table (issue 17).
//!
//! The AMU analysis sums each unit's absence over a window of twelve
//! months, for its round and the round before, and the trend for every
//! imported period. As one SQL aggregate per window that read 36 000 of
//! 72 000 rows of a 5.6 MB index for 3 000 units (17 ms warm, ~30 ms in a
//! fresh process, twice per analysis). Read from here it is 3 000 rows
//! once, and every window is summed in memory.
//!
//! `absence_revision` counts every change of what the analysis and the
//! absence views read beside the survey: the rebuilds, the employees
//! imports (the staff of units without a headcount), the targets (set or
//! imported), the national rates and the units imports (the tree decides
//! which target a unit inherits). The analysis cache's key: a count, so
//! two changes within one second are two revisions.
//!
//! **Kept in step**: the only writers of `absence` (the absence import and
//! the retention) call [`rebuild`] in the same transaction; the migration
//! that made the table is followed by a rebuild in its transaction
//! ([`crate::migrate::after`]).
//! A test compares [`Series::window`] with the SQL aggregate on both
//! backends after imports, replacements and retention.
//!
//! **Format** of `periods`, version 1: the byte `1`, then one record per
//! period, oldest first (by first day, then last day). Every number is a
//! LEB128 varint (7 bits a byte, low first), signed ones zigzagged; a
//! month of a unit takes 7–10 bytes (52 as fixed-width integers, and the
//! cold read of the table was what cost). A record:
//!
//! | field | |
//! |---|---|
//! | first day | days after the previous record's first day (the first record: since 0001-01-01), unsigned |
//! | last day | days after its first day, unsigned |
//! | flags | bit 0–2: self-, doctor-certified, long-term given; bit 3: headcount given; bit 4: the days below are in hundredths, not millionths |
//! | days | agreed, lost, then the parts given, each unsigned, in millionths of a working day or (bit 4) hundredths |
//! | headcount | if given, signed |
//!
//! Millionths are integers: sums are exact, so every window gives the same
//! figures on SQLite and PostgreSQL and in any order, as the SQL aggregate
//! before did (`ROUND(days × 10⁶)` per row, summed as integers).

use super::schema::{absence, absence_revision, absence_series};
use super::DbConnection;
use crate::AppError;
use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;

/// Working days are kept in millionths of a day.
pub const MICRO: i64 = 1_000_000;
const VERSION: u8 = 1;
/// Millionths per hundredth: most files give days to two decimals.
const HUNDREDTH: i64 = MICRO / 100;
const HUNDREDTHS: u8 = 1 << 4;
const HEADCOUNT: u8 = 1 << 3;

/// One imported period of one unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Period {
    /// First and last day as days since 0001-01-01 (chrono's
    /// `num_days_from_ce`): compared as integers for every window.
    pub start_day: i32,
    pub end_day: i32,
    pub figures: Figures,
}

impl Period {
    pub fn start(&self) -> NaiveDate {
        date_of(self.start_day)
    }

    pub fn end(&self) -> NaiveDate {
        date_of(self.end_day)
    }
}

fn date_of(day: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day).unwrap_or(NaiveDate::MIN)
}

/// A unit's absence in one period, or summed over a window as SQL's `SUM`
/// and `MAX` give them: a part every row of the window leaves out is
/// `None`. Days in millionths of a working day.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Figures {
    pub agreed: i64,
    pub lost: i64,
    pub self_certified: Option<i64>,
    pub doctor_certified: Option<i64>,
    pub long_term: Option<i64>,
    pub headcount: Option<i32>,
}

/// Days in millionths, rounded half away from zero.
pub fn micro(days: f64) -> i64 {
    (days * MICRO as f64).round() as i64
}

fn day_number(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn encode(periods: &[Period]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + periods.len() * 10);
    out.push(VERSION);
    let mut previous = 0i64;
    for period in periods {
        let (p, f) = (period, &period.figures);
        let start = i64::from(p.start_day);
        put(&mut out, (start - previous) as u64);
        previous = start;
        put(&mut out, (i64::from(p.end_day) - start) as u64);
        let parts = [f.self_certified, f.doctor_certified, f.long_term];
        let days: Vec<i64> = [Some(f.agreed), Some(f.lost)]
            .into_iter()
            .chain(parts)
            .flatten()
            .collect();
        let mut flags = 0u8;
        for (bit, part) in parts.iter().enumerate() {
            if part.is_some() {
                flags |= 1 << bit;
            }
        }
        if f.headcount.is_some() {
            flags |= HEADCOUNT;
        }
        let scale = if days.iter().all(|d| d % HUNDREDTH == 0) {
            flags |= HUNDREDTHS;
            HUNDREDTH
        } else {
            1
        };
        out.push(flags);
        for d in days {
            put(&mut out, (d / scale) as u64);
        }
        if let Some(h) = f.headcount {
            put(&mut out, zigzag(i64::from(h)));
        }
    }
    out
}

/// Reads what [`encode`] wrote.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    #[inline]
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    #[inline]
    fn uint(&mut self) -> Option<u64> {
        let first = self.byte()?;
        if first < 0x80 {
            return Some(u64::from(first));
        }
        self.at -= 1;
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }
}

/// Calls `each` with every period of a unit's series, in order, without
/// keeping them: decoding 72 000 periods takes ~3 ms, keeping them
/// (5.8 MB of fresh memory) as much again.
fn visit(unit: &str, bytes: &[u8], mut each: impl FnMut(&Period)) -> Result<(), AppError> {
    let damaged = || AppError::damaged(format!("absence series of unit {unit}"));
    let (&version, _) = bytes.split_first().ok_or_else(damaged)?;
    if version != VERSION {
        return Err(AppError::damaged(format!(
            "absence series of unit {unit}: unknown format version {version}"
        )));
    }
    // The days chrono can name; others are damage, not dates.
    let (first, last) = (
        i64::from(day_number(NaiveDate::MIN)),
        i64::from(day_number(NaiveDate::MAX)),
    );
    let mut r = Reader { bytes, at: 1 };
    let mut start = 0i64;
    while r.at < bytes.len() {
        let mut next = || -> Option<Period> {
            start = start.checked_add(r.uint()? as i64)?;
            let end = start.checked_add(r.uint()? as i64)?;
            let day = |n: i64| (first..=last).contains(&n).then_some(n as i32);
            let flags = r.byte()?;
            let scale = if flags & HUNDREDTHS != 0 {
                HUNDREDTH
            } else {
                1
            };
            let mut days = || -> Option<i64> { (r.uint()? as i64).checked_mul(scale) };
            let agreed = days()?;
            let lost = days()?;
            let mut part = |bit: u8| -> Option<Option<i64>> {
                if flags & (1 << bit) != 0 {
                    days().map(Some)
                } else {
                    Some(None)
                }
            };
            let (sc, dc, lt) = (part(0)?, part(1)?, part(2)?);
            let headcount = if flags & HEADCOUNT != 0 {
                let z = r.uint()?;
                Some(i32::try_from((z >> 1) as i64 ^ -((z & 1) as i64)).ok()?)
            } else {
                None
            };
            Some(Period {
                start_day: day(start)?,
                end_day: day(end)?,
                figures: Figures {
                    agreed,
                    lost,
                    self_certified: sc,
                    doctor_certified: dc,
                    long_term: lt,
                    headcount,
                },
            })
        };
        each(&next().ok_or_else(damaged)?);
    }
    Ok(())
}

fn decode(unit: &str, bytes: &[u8]) -> Result<Vec<Period>, AppError> {
    let mut out = Vec::new();
    visit(unit, bytes, |p| out.push(*p))?;
    Ok(out)
}

/// Writes every unit's series anew from the `absence` table. Call it in
/// the transaction that changed `absence`.
pub fn rebuild(conn: &mut DbConnection) -> Result<usize, AppError> {
    // Two app nodes importing at once on PostgreSQL: the second waits here
    // until the first commits, then reads the absence with its rows
    // (each statement sees what is committed) instead of failing on the
    // first one's series or writing series without its rows.
    if let DbConnection::Pg(c) = conn {
        use diesel::connection::SimpleConnection;
        c.batch_execute("SELECT pg_advisory_xact_lock(7316002)")?;
    }
    type Row = (
        String,
        String,
        String,
        f64,
        f64,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<i32>,
    );
    let rows: Vec<Row> = absence::table
        .order((absence::unit_id, absence::period_start, absence::period_end))
        .select((
            absence::unit_id,
            absence::period_start,
            absence::period_end,
            absence::agreed_workdays,
            absence::lost_workdays,
            absence::lost_self_certified,
            absence::lost_doctor_certified,
            absence::lost_long_term,
            absence::headcount,
        ))
        .load(conn)?;
    let date = |s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|e| AppError::damaged_by(format!("absence period {s}"), e))
    };
    let mut series: Vec<(String, Vec<u8>)> = Vec::new();
    let mut periods: Vec<Period> = Vec::new();
    let mut current: Option<String> = None;
    for (unit, s, e, agreed, lost, sc, dc, lt, hc) in rows {
        if current.as_deref() != Some(unit.as_str()) {
            if let Some(done) = current.take() {
                series.push((done, encode(&periods)));
            }
            periods.clear();
            current = Some(unit);
        }
        periods.push(Period {
            start_day: day_number(date(&s)?),
            end_day: day_number(date(&e)?),
            figures: Figures {
                agreed: micro(agreed),
                lost: micro(lost),
                self_certified: sc.map(micro),
                doctor_certified: dc.map(micro),
                long_term: lt.map(micro),
                headcount: hc,
            },
        });
    }
    if let Some(done) = current {
        series.push((done, encode(&periods)));
    }
    diesel::delete(absence_series::table).execute(conn)?;
    let values: Vec<_> = series
        .iter()
        .map(|(u, p)| (absence_series::unit_id.eq(u), absence_series::periods.eq(p)))
        .collect();
    for chunk in values.chunks(500) {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(absence_series::table)
            .values(chunk)
            .execute(c))?;
    }
    bump_revision(conn)?;
    Ok(series.len())
}

/// One more change of what the analysis of a round reads beside that
/// round's own snapshot: a [`rebuild`], an employees import (a unit whose
/// file gives no headcount counts its active staff, which decides whether
/// its absence may be shown), a change of the targets, the national rates
/// or the unit tree, and raising a round's k (the next round's analysis
/// compares with its groups). In the caller's transaction, after its
/// writes.
pub fn bump_revision(conn: &mut DbConnection) -> diesel::QueryResult<usize> {
    diesel::update(absence_revision::table)
        .set(absence_revision::revision.eq(absence_revision::revision + 1))
        .execute(conn)
}

/// Rebuilds `unit_staff`, each unit's active staff, from the employees:
/// what a unit whose absence file gives no headcount counts instead. The
/// employees import, the only writer of who is active where, calls it in
/// its transaction; a test compares it with the employees after imports.
pub fn rebuild_staff(conn: &mut DbConnection) -> diesel::QueryResult<usize> {
    use crate::db::schema::{employees, unit_staff};
    diesel::delete(unit_staff::table).execute(conn)?;
    diesel::insert_into(unit_staff::table)
        .values(
            employees::table
                .filter(employees::active.eq(true))
                .group_by(employees::unit_id)
                .select((employees::unit_id, diesel::dsl::count_star())),
        )
        .into_columns((unit_staff::unit_id, unit_staff::active))
        .execute(conn)
}

/// Each unit's active staff as [`rebuild_staff`] keeps it; units without
/// active staff are left out.
pub fn staff(conn: &mut DbConnection) -> Result<Vec<(String, i64)>, AppError> {
    use crate::db::schema::unit_staff;
    Ok(unit_staff::table
        .select((unit_staff::unit_id, unit_staff::active))
        .load(conn)?)
}

/// Counts the changes of the absence data: one more with every
/// [`rebuild`] and [`bump_revision`]. Results computed from the absence
/// are kept under it.
pub fn revision(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(absence_revision::table
        .select(absence_revision::revision)
        .get_result(conn)?)
}

/// Every unit's periods, as [`load`] reads them.
pub struct Series {
    /// Each unit's `periods` as stored, decoded as each window is summed.
    units: Vec<(String, Vec<u8>)>,
}

/// Reads every unit's series.
pub fn load(conn: &mut DbConnection) -> Result<Series, AppError> {
    let units = absence_series::table
        .select((absence_series::unit_id, absence_series::periods))
        .load(conn)?;
    Ok(Series { units })
}

fn add(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (None, y) => y,
        (x, None) => x,
        (Some(x), Some(y)) => Some(x + y),
    }
}

impl Figures {
    fn add(&mut self, o: &Figures) {
        self.agreed += o.agreed;
        self.lost += o.lost;
        self.self_certified = add(self.self_certified, o.self_certified);
        self.doctor_certified = add(self.doctor_certified, o.doctor_certified);
        self.long_term = add(self.long_term, o.long_term);
        self.headcount = self.headcount.max(o.headcount);
    }
}

impl Series {
    /// Each unit's sums over the periods that lie wholly in `from..=to`;
    /// units without such a period are left out.
    pub fn window(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<(&str, Figures)>, AppError> {
        Ok(self.windows(&[(from, to)])?.pop().unwrap_or_default())
    }

    /// [`Series::window`] for several windows, in one pass over the
    /// periods.
    pub fn windows(
        &self,
        windows: &[(NaiveDate, NaiveDate)],
    ) -> Result<Vec<Vec<(&str, Figures)>>, AppError> {
        Ok(self.windows_and_periods(windows)?.0)
    }

    /// [`Series::windows`], and every distinct period of every unit
    /// (first day, last day) in order, as `analysis::absence_periods`
    /// reads them from the `absence` table, from the same pass.
    #[allow(clippy::type_complexity)]
    pub fn windows_and_periods(
        &self,
        windows: &[(NaiveDate, NaiveDate)],
    ) -> Result<(Vec<Vec<(&str, Figures)>>, Vec<(NaiveDate, NaiveDate)>), AppError> {
        let days: Vec<(i32, i32)> = windows
            .iter()
            .map(|&(f, t)| (day_number(f), day_number(t)))
            .collect();
        let mut out = vec![Vec::with_capacity(self.units.len()); windows.len()];
        let mut sums: Vec<Option<Figures>> = vec![None; windows.len()];
        // In order, as each unit's own are: most units have the same
        // periods, so a cursor through those seen finds each at once.
        let mut periods: Vec<(i32, i32)> = Vec::new();
        for (unit, bytes) in &self.units {
            sums.fill(None);
            let mut cursor = 0;
            visit(unit, bytes, |p| {
                let key = (p.start_day, p.end_day);
                if cursor > 0 && periods[cursor - 1] >= key {
                    // Not after the unit's period before (the format does
                    // not allow it): look from the start again.
                    cursor = 0;
                }
                while cursor < periods.len() && periods[cursor] < key {
                    cursor += 1;
                }
                if periods.get(cursor) != Some(&key) {
                    periods.insert(cursor, key);
                }
                cursor += 1;
                for (w, &(from, to)) in days.iter().enumerate() {
                    if p.start_day >= from && p.end_day <= to {
                        sums[w].get_or_insert_with(Figures::default).add(&p.figures);
                    }
                }
            })?;
            for (w, s) in sums.iter().enumerate() {
                if let Some(s) = s {
                    out[w].push((unit.as_str(), *s));
                }
            }
        }
        let periods = periods
            .into_iter()
            .map(|(s, e)| (date_of(s), date_of(e)))
            .collect();
        Ok((out, periods))
    }

    /// Every unit's periods, decoded (for tests and checks).
    pub fn units(&self) -> Result<Vec<(String, Vec<Period>)>, AppError> {
        self.units
            .iter()
            .map(|(u, b)| Ok((u.clone(), decode(u, b)?)))
            .collect()
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn period(start: &str, end: &str, days: [Option<i64>; 5], headcount: Option<i32>) -> Period {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        Period {
            start_day: day_number(d(start)),
            end_day: day_number(d(end)),
            figures: Figures {
                agreed: days[0].unwrap(),
                lost: days[1].unwrap(),
                self_certified: days[2],
                doctor_certified: days[3],
                long_term: days[4],
                headcount,
            },
        }
    }

    #[test]
    fn every_period_reads_back_as_written() {
        let periods = vec![
            period(
                "2024-12-01",
                "2024-12-31",
                [Some(132_000_000), Some(14_000_000), None, None, None],
                None,
            ),
            period(
                "2025-01-01",
                "2025-03-31",
                [
                    Some(1_210_500_000),
                    Some(131_125_000),
                    Some(333_333),
                    Some(0),
                    None,
                ],
                Some(14),
            ),
            period(
                "2025-01-01",
                "2025-06-30",
                [Some(0), Some(0), None, Some(5_000_000), Some(7)],
                Some(-3),
            ),
            period(
                "9999-01-01",
                "9999-12-31",
                [Some(i64::MAX / 2), Some(1), Some(2), Some(3), Some(4)],
                Some(i32::MAX),
            ),
        ];
        let bytes = encode(&periods);
        assert_eq!(decode("u", &bytes).unwrap(), periods);
        // Hundredths make a month of a unit small.
        assert!(
            encode(&periods[..1]).len() <= 1 + 10,
            "{:?}",
            encode(&periods[..1])
        );
        assert_eq!(decode("u", &encode(&[])).unwrap(), []);
    }

    #[test]
    fn every_period_of_every_unit_is_listed_once_in_order() {
        let p = |s: &str, e: &str| period(s, e, [Some(1), Some(0), None, None, None], None);
        let series = Series {
            units: vec![
                (
                    "b".into(),
                    encode(&[p("2025-02-01", "2025-02-28"), p("2025-03-01", "2025-03-31")]),
                ),
                (
                    "a".into(),
                    encode(&[
                        p("2025-01-01", "2025-01-31"),
                        p("2025-01-01", "2025-03-31"),
                        p("2025-02-01", "2025-02-28"),
                        p("2025-04-01", "2025-04-30"),
                    ]),
                ),
                ("c".into(), encode(&[])),
                // Not as the format has them: one twice, then earlier ones.
                (
                    "d".into(),
                    encode(&[
                        p("2025-03-01", "2025-03-31"),
                        p("2025-03-01", "2025-03-31"),
                        p("2025-01-01", "2025-01-31"),
                        p("2024-12-01", "2024-12-31"),
                    ]),
                ),
            ],
        };
        let (_, periods) = series.windows_and_periods(&[]).unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let expected = [
            ("2024-12-01", "2024-12-31"),
            ("2025-01-01", "2025-01-31"),
            ("2025-01-01", "2025-03-31"),
            ("2025-02-01", "2025-02-28"),
            ("2025-03-01", "2025-03-31"),
            ("2025-04-01", "2025-04-30"),
        ]
        .map(|(a, b)| (d(a), d(b)));
        assert_eq!(periods, expected);
    }

    #[test]
    fn a_damaged_series_is_an_error_not_a_figure() {
        let periods = vec![period(
            "2025-01-01",
            "2025-01-31",
            [Some(100), Some(1), Some(1), None, None],
            Some(4),
        )];
        let bytes = encode(&periods);
        // Cut anywhere inside the record (the version byte alone is an
        // empty series).
        for cut in 2..bytes.len() {
            assert!(decode("u", &bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut other = bytes.clone();
        other[0] = 2;
        assert!(decode("u", &other).is_err());
        assert!(decode("u", &[]).is_err());
    }
}
