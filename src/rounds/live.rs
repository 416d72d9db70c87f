//! Response counts while a round runs (ANONYMITY.md §6b): invited,
//! answered and reminded per unit, and answers per day from the daily
//! counters. Counts only, never results; but beside a small unit a count
//! tells who has not answered ("2 of 3"), so a unit with fewer than k
//! invited is never a row of its own: it is counted inside its parent
//! (with the other small units there), and that row is shown only when it
//! reaches k. The rows partition the people, so no row is the difference
//! of others; where the top unit's own row stays below k, the smallest
//! shown row directly below it is counted into it too, so that the total
//! (which administrators see) cannot be used to work it out.
//!
//! [`counts`] is pure; [`load`] reads what it needs.

use crate::db::schema::daily_counts;
use crate::db::DbConnection;
use crate::register::org::OrgTree;
use crate::AppError;
use chrono::NaiveDate;
use diesel::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// Invited, answered and reminded at least once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub invited: u32,
    pub answered: u32,
    pub reminded: u32,
}

impl Count {
    fn add(&mut self, o: Count) {
        self.invited += o.invited;
        self.answered += o.answered;
        self.reminded += o.reminded;
    }

    /// Answered of invited, in per cent.
    pub fn rate(&self) -> f64 {
        if self.invited == 0 {
            0.0
        } else {
            f64::from(self.answered) * 100.0 / f64::from(self.invited)
        }
    }
}

/// One shown row: a unit, with the small units counted inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Index into the tree.
    pub unit: usize,
    pub count: Count,
    /// The units (tree indexes) whose people are counted here besides the
    /// unit's own, in tree order.
    pub includes: Vec<usize>,
    /// Answers so far at the end of each day of [`Live::days`].
    pub cumulative: Vec<u32>,
}

/// A round's counts, as rows of at least k invited each.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    pub days: Vec<NaiveDate>,
    /// In tree order.
    pub rows: Vec<Row>,
}

impl Live {
    /// The rows `keep` allows (the viewer's units), and their sum.
    pub fn within(&self, keep: impl Fn(usize) -> bool) -> (Vec<&Row>, Count, Vec<u32>) {
        let rows: Vec<&Row> = self.rows.iter().filter(|r| keep(r.unit)).collect();
        let mut total = Count::default();
        let mut cumulative = vec![0; self.days.len()];
        for r in &rows {
            total.add(r.count);
            for (c, x) in cumulative.iter_mut().zip(&r.cumulative) {
                *c += x;
            }
        }
        (rows, total, cumulative)
    }
}

/// The rows of a round: `per_unit` are the invitations' counts by unit
/// (tree index), `daily` the answers per unit and day index.
pub fn counts(
    tree: &OrgTree,
    per_unit: &HashMap<usize, Count>,
    daily: &HashMap<(usize, usize), u32>,
    days: Vec<NaiveDate>,
    k: u32,
) -> Live {
    let n = tree.units.len();
    let mut acc: Vec<Count> = (0..n)
        .map(|i| per_unit.get(&i).copied().unwrap_or_default())
        .collect();
    let mut per_day: Vec<Vec<u32>> = (0..n)
        .map(|i| {
            (0..days.len())
                .map(|d| daily.get(&(i, d)).copied().unwrap_or(0))
                .collect()
        })
        .collect();
    let mut includes: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let mut merged = vec![false; n];
    let absorb = |into: usize,
                  from: usize,
                  acc: &mut Vec<Count>,
                  per_day: &mut Vec<Vec<u32>>,
                  includes: &mut Vec<BTreeSet<usize>>| {
        let c = acc[from];
        acc[into].add(c);
        let days_from = std::mem::take(&mut per_day[from]);
        for (a, b) in per_day[into].iter_mut().zip(&days_from) {
            *a += b;
        }
        let inner = std::mem::take(&mut includes[from]);
        includes[into].insert(from);
        includes[into].extend(inner);
    };
    // Children come after their parents in the tree: walking backwards, a
    // unit's row is complete when it is reached.
    for i in (0..n).rev() {
        if let Some(p) = tree.units[i].parent {
            if acc[i].invited < k {
                absorb(p, i, &mut acc, &mut per_day, &mut includes);
                merged[i] = true;
            }
        }
    }
    // A top unit's own row below k: the smallest shown row directly below
    // it joins it (ties by code), until it reaches k or nothing is left.
    for root in tree.roots() {
        while acc[root].invited > 0 && acc[root].invited < k {
            let smallest = (0..n)
                .filter(|c| tree.units[*c].parent == Some(root) && !merged[*c])
                .filter(|c| acc[*c].invited > 0)
                .min_by(|a, b| {
                    acc[*a]
                        .invited
                        .cmp(&acc[*b].invited)
                        .then_with(|| tree.units[*a].code.cmp(&tree.units[*b].code))
                });
            let Some(c) = smallest else { break };
            absorb(root, c, &mut acc, &mut per_day, &mut includes);
            merged[c] = true;
        }
    }
    let rows = (0..n)
        .filter(|i| !merged[*i] && acc[*i].invited >= k)
        .map(|i| {
            let mut running = 0;
            Row {
                unit: i,
                count: acc[i],
                includes: includes[i].iter().copied().collect(),
                cumulative: per_day[i]
                    .iter()
                    .map(|x| {
                        running += x;
                        running
                    })
                    .collect(),
            }
        })
        .collect();
    Live { days, rows }
}

/// A round's rows, from its invitations (or, once reduced, the counts
/// stored in their place) and daily counters: the days run from the day
/// it opened to today or its last day, whichever is first.
pub fn load(
    conn: &mut DbConnection,
    tree: &OrgTree,
    round: &super::Round,
    k: u32,
) -> Result<Live, AppError> {
    // From the invitations, or once they are reduced, the stored counts.
    let mut per_unit: HashMap<usize, Count> = HashMap::new();
    for c in super::counts(conn, &round.id)? {
        let Some(i) = tree.get(&c.unit_id) else {
            continue;
        };
        let to = |x: i32| u32::try_from(x).unwrap_or(0);
        per_unit.insert(
            i,
            Count {
                invited: to(c.invited),
                answered: to(c.responded),
                reminded: to(c.reminded),
            },
        );
    }
    let first = round
        .opened_at
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map_or_else(super::today, |t| t.date_naive());
    let last = super::today().min(round.closes_on_date()).max(first);
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
    let index: HashMap<String, usize> = days
        .iter()
        .enumerate()
        .map(|(i, d)| (d.format(super::DATE_FORMAT).to_string(), i))
        .collect();
    let mut daily: HashMap<(usize, usize), u32> = HashMap::new();
    for (unit, day, n) in daily_counts::table
        .filter(daily_counts::round_id.eq(&round.id))
        .select((
            daily_counts::unit_id,
            daily_counts::day,
            daily_counts::responses,
        ))
        .load::<(String, String, i32)>(conn)?
    {
        let (Some(u), Some(d)) = (tree.get(&unit), index.get(&day)) else {
            continue;
        };
        *daily.entry((u, *d)).or_default() += n.max(0) as u32;
    }
    Ok(counts(tree, &per_unit, &daily, days, k))
}

/// One row as a page shows it.
#[derive(Debug, Clone)]
pub struct NamedRow {
    pub code: String,
    pub name: String,
    pub depth: u32,
    /// Names of the small units counted in this row.
    pub includes: Vec<String>,
    pub count: Count,
}

/// What one viewer may see of one open round's counts.
#[derive(Debug, Clone)]
pub struct Seen {
    pub round: super::Round,
    pub rows: Vec<NamedRow>,
    /// The sum of the rows shown.
    pub total: Count,
    /// (day, answers that day, answers so far) over the rows shown.
    pub days: Vec<(NaiveDate, u32, u32)>,
}

/// A round's rows that `viewer` may see ([`crate::access::Resource::ResponseCounts`]).
pub fn seen(
    conn: &mut DbConnection,
    tree: &OrgTree,
    round: &super::Round,
    viewer: &crate::access::Viewer,
) -> Result<Seen, AppError> {
    let k = u32::try_from(round.min_group_size).unwrap_or(crate::config::MIN_GROUP_SIZE_FLOOR);
    let live = load(conn, tree, round, k)?;
    let (rows, total, cumulative) = live.within(|i| {
        crate::access::decide(
            Some(viewer),
            crate::access::Resource::ResponseCounts {
                path: &tree.path_ids(i),
            },
        ) == crate::access::Decision::Allowed
    });
    let top = rows
        .iter()
        .map(|r| tree.units[r.unit].depth)
        .min()
        .unwrap_or(0);
    let rows = rows
        .into_iter()
        .map(|r| NamedRow {
            code: tree.units[r.unit].code.clone(),
            name: tree.units[r.unit].name.clone(),
            depth: tree.units[r.unit].depth - top,
            includes: r
                .includes
                .iter()
                .map(|i| tree.units[*i].name.clone())
                .collect(),
            count: r.count,
        })
        .collect();
    let mut before = 0;
    let days = live
        .days
        .iter()
        .zip(&cumulative)
        .map(|(d, c)| {
            let new = c - before;
            before = *c;
            (*d, new, *c)
        })
        .collect();
    Ok(Seen {
        round: round.clone(),
        rows,
        total,
        days,
    })
}

/// Every open round's counts as `viewer` may see them (rounds where they
/// see no row left out).
pub fn open_rounds(
    conn: &mut DbConnection,
    viewer: &crate::access::Viewer,
) -> Result<Vec<Seen>, AppError> {
    use crate::db::schema::rounds;
    let open: Vec<super::Round> = rounds::table
        .filter(rounds::status.eq("open"))
        .order(rounds::created_at.desc())
        .select(super::Round::as_select())
        .load(conn)?;
    if open.is_empty() {
        return Ok(Vec::new());
    }
    let tree = OrgTree::load(conn)?;
    let mut out = Vec::new();
    for r in &open {
        let s = seen(conn, &tree, r, viewer)?;
        if !s.rows.is_empty() {
            out.push(s);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// root(2) ─ a(3) ─ a1(2)
    ///         │      └ a2(6)
    ///         └ b(9)
    fn tree() -> OrgTree {
        let row = |id: &str, parent: Option<&str>| {
            (
                id.to_string(),
                id.to_string(),
                parent.map(str::to_string),
                id.to_string(),
                true,
            )
        };
        OrgTree::from_rows(vec![
            row("root", None),
            row("a", Some("root")),
            row("a1", Some("a")),
            row("a2", Some("a")),
            row("b", Some("root")),
        ])
        .unwrap()
    }

    fn count(invited: u32, answered: u32) -> Count {
        Count {
            invited,
            answered,
            reminded: 0,
        }
    }

    fn live(k: u32, sizes: &[(&str, u32, u32)]) -> (OrgTree, Live) {
        let t = tree();
        let per_unit = sizes
            .iter()
            .map(|(id, i, a)| (t.get(id).unwrap(), count(*i, *a)))
            .collect();
        let day = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let daily = sizes
            .iter()
            .map(|(id, _, a)| ((t.get(id).unwrap(), 0), *a))
            .collect();
        let l = counts(&t, &per_unit, &daily, vec![day], k);
        (t, l)
    }

    fn shown(t: &OrgTree, l: &Live) -> Vec<(String, u32, u32, Vec<String>)> {
        l.rows
            .iter()
            .map(|r| {
                (
                    t.units[r.unit].code.clone(),
                    r.count.invited,
                    r.count.answered,
                    r.includes
                        .iter()
                        .map(|i| t.units[*i].code.clone())
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn a_small_unit_is_counted_inside_its_parent_never_alone() {
        let (t, l) = live(
            5,
            &[
                ("root", 2, 1),
                ("a", 3, 2),
                ("a1", 2, 1),
                ("a2", 6, 3),
                ("b", 9, 4),
            ],
        );
        // a1 (2) joins a: 3 + 2 = 5 ≥ 5; the root's own 2 is below k, so
        // the smallest row below it (a, 5) joins the root.
        assert_eq!(
            shown(&t, &l),
            [
                (
                    "root".to_string(),
                    7,
                    4,
                    vec!["a".to_string(), "a1".to_string()]
                ),
                ("a2".to_string(), 6, 3, vec![]),
                ("b".to_string(), 9, 4, vec![]),
            ]
        );
        assert_eq!(l.rows.iter().map(|r| r.count.invited).sum::<u32>(), 22);
        assert!(l.rows.iter().all(|r| r.count.invited >= 5));
    }

    #[test]
    fn every_row_has_k_invited_and_the_rows_count_everyone_once() {
        for k in 3..=10 {
            let (_, l) = live(
                k,
                &[
                    ("root", 1, 1),
                    ("a", 3, 2),
                    ("a1", 2, 1),
                    ("a2", 6, 3),
                    ("b", 9, 4),
                ],
            );
            let total: u32 = l.rows.iter().map(|r| r.count.invited).sum();
            assert_eq!(total, 21, "k = {k}");
            assert!(l.rows.iter().all(|r| r.count.invited >= k), "k = {k}");
            assert_eq!(l.rows.iter().map(|r| r.cumulative[0]).sum::<u32>(), 11);
        }
    }

    #[test]
    fn an_organisation_smaller_than_k_shows_no_row() {
        let (_, l) = live(5, &[("root", 1, 1), ("a1", 2, 1)]);
        assert!(l.rows.is_empty());
    }
}
