//! Anonymity at rest (ANONYMITY.md §6c): after a round's snapshot is
//! computed, whoever reads the database must not be able to single anyone
//! out from the stored responses either. At close (and when k is raised)
//! the responses are read once, coarsened in memory, and written back as
//! new rows in random order under fresh ids ([`rewrite`]).
//!
//! - **Units.** Each response's unit becomes the smallest *released* group
//!   containing it: its own unit if that is shown, else the nearest shown
//!   group above (whose remainder it then belongs to). The engine keeps
//!   every remainder at 0 or ≥ k, so every stored unit then holds 0 or ≥ k
//!   responses. The group above several top units has no unit: its
//!   responses store no unit (NULL). When nothing at all is released (the
//!   round had fewer than k respondents), the responses are deleted:
//!   there is no group they could be kept in.
//! - **Background answers** are kept as a whole: a response keeps its
//!   background answers only where at least k responses of the same stored
//!   unit gave exactly the same ones (every question alike). Single
//!   answers are not enough — someone who knows a colleague's gender, age
//!   band and position size could otherwise find the one row with all
//!   three. The responses whose combination is not kept, with those that
//!   gave none, form one group per stored unit that must again hold 0 or
//!   ≥ k (the remainder rule of the engine's cells: else the next smallest
//!   combination is dropped too), so no one is singled out as "the one
//!   whose background was dropped" either. Dropping keeps each response's
//!   unit and item answers for a later re-analysis by unit; the
//!   alternative, moving the whole response to the organisation level,
//!   would lose that for the sake of answers that may only ever be
//!   reported for the organisation as a whole. The snapshot already holds
//!   every released background figure, computed before.
//!
//! Raising k coarsens again with the new, smaller set of shown groups.

use crate::crypto::new_id;
use crate::db::schema::responses;
use crate::db::DbConnection;
use crate::ids::RoundId;
use crate::snapshot::anonymity::release_cells;
use crate::snapshot::{Snapshot, StoredRow, ORGANISATION};
use crate::survey::stored::{self, Layout};
use crate::survey::Survey;
use crate::AppError;
use diesel::prelude::*;
use rand::seq::SliceRandom;
use std::collections::{BTreeMap, HashMap};

/// What coarsening changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Coarsened {
    /// Responses moved to a group above their own unit.
    pub moved: usize,
    /// Responses deleted because nothing of the round is released.
    pub deleted: usize,
    /// Background answers dropped.
    pub answers_dropped: usize,
}

/// For each stored unit (None: the organisation above several top units),
/// the unit it is stored under after coarsening: Some(Some(unit)), Some(None)
/// for the organisation, None when no group above it is released.
fn targets(snapshot: &Snapshot) -> HashMap<Option<String>, Option<Option<String>>> {
    let parent = snapshot.parent_indexes();
    let mut out = HashMap::new();
    for (i, g) in snapshot.groups.iter().enumerate() {
        let mut at = Some(i);
        let mut target = None;
        while let Some(j) = at {
            if snapshot.groups[j].figures.is_some() {
                let key = &snapshot.groups[j].key;
                target = Some((key != ORGANISATION).then(|| key.clone()));
                break;
            }
            at = parent[j];
        }
        let own = (g.key != ORGANISATION).then(|| g.key.clone());
        out.insert(own, target);
    }
    out
}

/// The rows `snapshot` lets the database keep, in the current format
/// ([`crate::survey::stored`]): units coarsened, background answers kept
/// only as combinations of at least k per stored unit. Pure.
pub fn coarsen(
    surveys: &[Survey],
    snapshot: &Snapshot,
    rows: Vec<StoredRow>,
) -> Result<(Vec<StoredRow>, Coarsened), AppError> {
    let unreadable = |e: stored::Unreadable| {
        AppError::damaged_by(
            format!("a stored response of round {}", snapshot.round_id),
            e,
        )
    };
    let layout = Layout::of(surveys);
    let targets = targets(snapshot);
    let mut done = Coarsened::default();
    let mut kept: Vec<(Option<String>, String, Vec<Option<u8>>)> = Vec::with_capacity(rows.len());
    let mut items = Vec::new();
    for (unit, answers, background) in rows {
        let unit = match targets.get(&unit) {
            Some(Some(t)) => {
                done.moved += usize::from(*t != unit);
                t.clone()
            }
            // Nothing above it is released (or the unit is not in the
            // snapshot's tree at all, which close never leaves).
            Some(None) | None => {
                done.deleted += 1;
                continue;
            }
        };
        // Rows from before the current format are rewritten in it.
        let answers = if answers.starts_with('{') {
            stored::decode_items(surveys, &layout, &answers, &mut items).map_err(unreadable)?;
            stored::encode_items(&items)
        } else {
            answers
        };
        let mut bg = Vec::new();
        stored::decode_background(surveys, &layout, &background, &mut bg).map_err(unreadable)?;
        kept.push((unit, answers, bg));
    }
    // Per stored unit: how many gave each whole combination.
    let mut combinations: HashMap<&Option<String>, BTreeMap<String, u32>> = HashMap::new();
    let mut totals: HashMap<&Option<String>, u32> = HashMap::new();
    for (unit, _, bg) in &kept {
        *totals.entry(unit).or_default() += 1;
        if bg.iter().any(Option::is_some) {
            *combinations
                .entry(unit)
                .or_default()
                .entry(stored::encode_background(bg))
                .or_default() += 1;
        }
    }
    let released: HashMap<&Option<String>, BTreeMap<String, bool>> = combinations
        .iter()
        .map(|(unit, cells)| (*unit, release_cells(cells, totals[unit], snapshot.k)))
        .collect();
    let none = stored::encode_background(&vec![None; layout.background.len()]);
    let out = kept
        .iter()
        .map(|(unit, answers, bg)| {
            let text = stored::encode_background(bg);
            let keep = released
                .get(unit)
                .and_then(|r| r.get(&text))
                .copied()
                .unwrap_or(false);
            if keep {
                (unit.clone(), answers.clone(), text)
            } else {
                done.answers_dropped += bg.iter().flatten().count();
                (unit.clone(), answers.clone(), none.clone())
            }
        })
        .collect();
    Ok((out, done))
}

/// Replaces a round's stored responses by `rows`, in random order under
/// fresh random ids, so that neither the order nor the ids of the rows
/// reflect the order of answering. Runs inside the caller's transaction.
pub fn rewrite(
    conn: &mut DbConnection,
    round_id: &RoundId,
    mut rows: Vec<StoredRow>,
) -> Result<(), AppError> {
    rows.shuffle(&mut rand::thread_rng());
    diesel::delete(responses::table.filter(responses::round_id.eq(round_id))).execute(conn)?;
    let fresh: Vec<_> = rows
        .iter()
        .map(|(unit, answers, background)| {
            (
                responses::id.eq(new_id()),
                responses::round_id.eq(round_id),
                responses::unit_id.eq(unit),
                responses::answers.eq(answers),
                responses::background.eq(background),
            )
        })
        .collect();
    for chunk in fresh.chunks(500) {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(responses::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Coarsens the stored responses of a round to what `snapshot` releases
/// and rewrites them ([`coarsen`], [`rewrite`]).
pub fn coarsen_stored(
    conn: &mut DbConnection,
    round_id: &RoundId,
    surveys: &[Survey],
    snapshot: &Snapshot,
) -> Result<Coarsened, AppError> {
    let rows = crate::snapshot::stored_rows(conn, round_id)?;
    let (rows, done) = coarsen(surveys, snapshot, rows)?;
    rewrite(conn, round_id, rows)?;
    Ok(done)
}
