//! Response counts while a round runs (ANONYMITY.md §6b): invited,
//! answered and reminded per unit, and answers per day from the daily
//! counters. Counts only, never results; but beside a small unit a count
//! tells who has not answered ("2 of 3"), so a unit with fewer than k
//! invited is never a row of its own: it is counted inside its parent
//! (with the other small units there), and that row is shown only when it
//! reaches k. The rows partition the people, so no row is the difference
//! of others; where the top unit's own row stays below k, the smallest
//! shown row directly below it is counted into it too, so that the total
//! (which administrators see) cannot be used to work it out. Which unit is
//! counted in which row is decided once, when the round opens
//! ([`layout`]), so that people joining later never split a row and let
//! the difference tell a small unit's count.
//!
//! [`counts`] is pure; [`load`] reads what it needs.

use crate::db::schema::live_rows;
use crate::db::DbConnection;
use crate::register::org::OrgTree;
use crate::AppError;
use chrono::NaiveDate;
use diesel::prelude::*;
use std::collections::HashMap;

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

/// Where each unit is counted: `layout[i]` is the unit whose row unit `i`'s
/// people are counted in (itself, or an ancestor), None where no row is
/// shown (an organisation with fewer than k invited in all). Decided from
/// the invited counts when a round opens and kept for the round
/// ([`store_layout`]): were it decided again as people join, a unit
/// reaching k would leave its parent's row, and the parent's count before
/// and after would tell the small unit's.
pub fn layout(tree: &OrgTree, invited: &HashMap<usize, u32>, k: u32) -> Vec<Option<usize>> {
    let n = tree.units.len();
    let mut acc: Vec<u32> = (0..n)
        .map(|i| invited.get(&i).copied().unwrap_or(0))
        .collect();
    let mut into: Vec<usize> = (0..n).collect();
    // Children come after their parents in the tree: walking backwards, a
    // unit's row is complete when it is reached.
    for i in (0..n).rev() {
        if let Some(p) = tree.units[i].parent {
            if acc[i] < k {
                acc[p] += acc[i];
                into[i] = p;
            }
        }
    }
    // A top unit's own row below k: the smallest row below it (at any
    // depth) joins it, ties by code, until it reaches k or nothing is left;
    // else the total less the rows would tell the top row's count.
    for root in tree.roots() {
        while acc[root] > 0 && acc[root] < k {
            let smallest = (0..n)
                .filter(|c| *c != root && into[*c] == *c && tree.is_within(*c, root))
                .filter(|c| acc[*c] > 0)
                .min_by(|a, b| {
                    acc[*a]
                        .cmp(&acc[*b])
                        .then_with(|| tree.units[*a].code.cmp(&tree.units[*b].code))
                });
            let Some(c) = smallest else { break };
            acc[root] += acc[c];
            into[c] = root;
        }
    }
    // Follow each unit up to the row it ends in.
    (0..n)
        .map(|i| {
            let mut at = i;
            while into[at] != at {
                at = into[at];
            }
            (acc[at] >= k).then_some(at)
        })
        .collect()
}

/// The rows of a round by `layout`: `per_unit` are the invitations' counts
/// by unit (tree index), `daily` the answers per unit and day index. A row
/// names the units counted in it that have anyone invited.
pub fn counts(
    tree: &OrgTree,
    per_unit: &HashMap<usize, Count>,
    daily: &HashMap<(usize, usize), u32>,
    days: Vec<NaiveDate>,
    layout: &[Option<usize>],
) -> Live {
    let mut rows: std::collections::BTreeMap<usize, Row> = std::collections::BTreeMap::new();
    for i in 0..tree.units.len() {
        let Some(r) = layout.get(i).copied().flatten() else {
            continue;
        };
        let row = rows.entry(r).or_insert_with(|| Row {
            unit: r,
            count: Count::default(),
            includes: Vec::new(),
            cumulative: vec![0; days.len()],
        });
        let c = per_unit.get(&i).copied().unwrap_or_default();
        row.count.add(c);
        if i != r && c.invited > 0 {
            row.includes.push(i);
        }
        for (d, x) in row.cumulative.iter_mut().enumerate() {
            *x += daily.get(&(i, d)).copied().unwrap_or(0);
        }
    }
    let rows = rows
        .into_values()
        .map(|mut r| {
            let mut running = 0;
            for x in &mut r.cumulative {
                running += *x;
                *x = running;
            }
            r
        })
        .collect();
    Live { days, rows }
}

/// Keeps a round's layout ([`layout`]) from its invitations as they are
/// when it opens.
pub fn store_layout(conn: &mut DbConnection, round: &super::Round, k: u32) -> Result<(), AppError> {
    let tree = OrgTree::load(conn)?;
    let mut invited: HashMap<usize, u32> = HashMap::new();
    for c in super::counts(conn, &round.id)? {
        if let Some(i) = tree.get(&c.unit_id) {
            invited.insert(i, u32::try_from(c.invited).unwrap_or(0));
        }
    }
    let rows: Vec<_> = layout(&tree, &invited, k)
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| {
            r.map(|r| {
                (
                    live_rows::round_id.eq(round.id.to_string()),
                    live_rows::unit_id.eq(tree.units[i].id.to_string()),
                    live_rows::row_unit_id.eq(tree.units[r].id.to_string()),
                )
            })
        })
        .collect();
    for chunk in rows.chunks(500) {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(live_rows::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// A round's stored layout over `tree`: a unit that came after the round
/// opened is counted where its nearest ancestor is. None when the round
/// has none stored (opened before layouts were kept).
fn stored_layout(
    conn: &mut DbConnection,
    tree: &OrgTree,
    round: &super::Round,
) -> Result<Option<Vec<Option<usize>>>, AppError> {
    let stored: Vec<(String, String)> = live_rows::table
        .filter(live_rows::round_id.eq(&round.id))
        .select((live_rows::unit_id, live_rows::row_unit_id))
        .load(conn)?;
    if stored.is_empty() {
        return Ok(None);
    }
    let by_unit: HashMap<usize, usize> = stored
        .iter()
        .filter_map(|(u, r)| Some((tree.get(u)?, tree.get(r)?)))
        .collect();
    Ok(Some(
        (0..tree.units.len())
            .map(|i| {
                tree.path(i)
                    .into_iter()
                    .rev()
                    .find_map(|a| by_unit.get(&a).copied())
            })
            .collect(),
    ))
}

/// A round's rows, from its invitations (or, once reduced, the counts
/// stored in their place) and daily counters, by its layout: the days run
/// from the day it opened to today or its last day, whichever is first.
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
    for (unit, day, n) in super::daily(conn, &round.id)? {
        let (Some(u), Some(d)) = (tree.get(&unit), index.get(&day)) else {
            continue;
        };
        *daily.entry((u, *d)).or_default() += n.max(0) as u32;
    }
    let layout = match stored_layout(conn, tree, round)? {
        Some(l) => l,
        None => layout(
            tree,
            &per_unit.iter().map(|(u, c)| (*u, c.invited)).collect(),
            k,
        ),
    };
    Ok(counts(tree, &per_unit, &daily, days, &layout))
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
        let invited = sizes
            .iter()
            .map(|(id, i, _)| (t.get(id).unwrap(), *i))
            .collect();
        let l = counts(&t, &per_unit, &daily, vec![day], &layout(&t, &invited, k));
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

    #[test]
    fn people_joining_later_never_split_a_row() {
        // Opened with a1 at 2 (counted in a); then three join a1.
        let t = tree();
        let at_open: HashMap<usize, u32> = [("root", 2), ("a", 3), ("a1", 2), ("a2", 6), ("b", 9)]
            .into_iter()
            .map(|(id, n)| (t.get(id).unwrap(), n))
            .collect();
        let fixed = layout(&t, &at_open, 5);
        let later: HashMap<usize, Count> = [("root", 2), ("a", 3), ("a1", 5), ("a2", 6), ("b", 9)]
            .into_iter()
            .map(|(id, n)| (t.get(id).unwrap(), count(n, 1)))
            .collect();
        let l = counts(&t, &later, &HashMap::new(), vec![], &fixed);
        let units: Vec<&str> = l
            .rows
            .iter()
            .map(|r| t.units[r.unit].code.as_str())
            .collect();
        assert_eq!(units, ["root", "a2", "b"], "a1 stays inside the root's row");
        assert_eq!(l.rows[0].count.invited, 10);
        // Decided again, a1 would have had a row of its own.
        assert!(
            layout(&t, &later.iter().map(|(u, c)| (*u, c.invited)).collect(), 5)
                [t.get("a1").unwrap()]
            .is_some_and(|r| r == t.get("a1").unwrap())
        );
    }

    proptest::proptest! {
        /// On any tree and any sizes: every row has at least k invited,
        /// and the rows count everyone exactly once (when there are k in
        /// all); a row only names units counted in it.
        #[test]
        fn rows_have_k_and_count_everyone_once(
            parents in proptest::collection::vec(0usize..1000, 1..25),
            sizes in proptest::collection::vec(0u32..9, 25),
            k in 3u32..8,
        ) {
            let rows: Vec<(String, String, Option<String>, String, bool)> = (0..=parents.len())
                .map(|i| {
                    let parent = (i > 0).then(|| format!("u{:02}", parents[i - 1] % i));
                    (format!("u{i:02}"), format!("u{i:02}"), parent, format!("u{i:02}"), true)
                })
                .collect();
            let t = OrgTree::from_rows(rows).unwrap();
            let per_unit: HashMap<usize, Count> = (0..t.units.len())
                .map(|i| (i, count(sizes[i], sizes[i] / 2)))
                .collect();
            let invited = per_unit.iter().map(|(u, c)| (*u, c.invited)).collect();
            let l = counts(&t, &per_unit, &HashMap::new(), vec![], &layout(&t, &invited, k));
            let total: u32 = per_unit.values().map(|c| c.invited).sum();
            proptest::prop_assert!(l.rows.iter().all(|r| r.count.invited >= k));
            let shown: u32 = l.rows.iter().map(|r| r.count.invited).sum();
            if total >= k {
                proptest::prop_assert_eq!(shown, total);
            } else {
                proptest::prop_assert_eq!(shown, 0);
            }
        }
    }
}
