//! Anonymity at rest (ANONYMITY.md §6c): after a round's snapshot is
//! computed, whoever reads the database must not be able to single anyone
//! out from the stored responses either.
//!
//! - **Units.** Each response's unit becomes the smallest *released* group
//!   containing it: its own unit if that is shown, else the nearest shown
//!   group above (whose remainder it then belongs to). The engine keeps
//!   every remainder at 0 or ≥ k, so every stored unit then holds 0 or ≥ k
//!   responses. The group above several top units has no unit: its
//!   responses store no unit (NULL). When nothing at all is released (the
//!   round had fewer than k respondents), the responses are deleted:
//!   there is no group they could be kept in.
//! - **Background answers** are kept only where the stored unit, the
//!   question and the option together have at least k responses; the others
//!   are **dropped** (the answer, not the response). Dropping keeps each
//!   response's unit and item answers for a later re-analysis by unit; the
//!   alternative, moving the whole response to the organisation level,
//!   would lose that for the sake of an answer that may only ever be
//!   reported for the organisation as a whole. The snapshot already holds
//!   every released background figure, computed before.
//!
//! Raising k coarsens again with the new, smaller set of shown groups.

use crate::db::schema::responses;
use crate::db::DbConnection;
use crate::ids::RoundId;
use crate::snapshot::{Snapshot, ORGANISATION};
use crate::AppError;
use diesel::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// What coarsening changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Coarsened {
    /// Responses moved to a group above their own unit.
    pub moved: usize,
    /// Responses deleted because nothing of the round is released.
    pub deleted: usize,
    /// Background answers dropped from cells below k.
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

/// Coarsens the stored responses of `round_id` to what `snapshot`
/// releases. Runs inside the caller's transaction (closing, raising k).
pub fn coarsen(
    conn: &mut DbConnection,
    round_id: &RoundId,
    snapshot: &Snapshot,
) -> Result<Coarsened, AppError> {
    let mut done = Coarsened::default();
    let targets = targets(snapshot);
    let units: Vec<Option<String>> = responses::table
        .filter(responses::round_id.eq(round_id))
        .select(responses::unit_id)
        .distinct()
        .load(conn)?;
    for unit in units {
        match targets.get(&unit) {
            // Released where it is.
            Some(Some(t)) if *t == unit => {}
            Some(Some(t)) => done.moved += move_unit(conn, round_id, &unit, Some(t))?,
            // Nothing above it is released (or the unit is not in the
            // snapshot's tree at all, which close never leaves).
            Some(None) | None => done.deleted += move_unit(conn, round_id, &unit, None)?,
        }
    }
    done.answers_dropped = drop_small_background_cells(conn, round_id, snapshot.k)?;
    Ok(done)
}

/// Stores the responses of `from` under `to` (Some(None): the
/// organisation), or deletes them (None).
fn move_unit(
    conn: &mut DbConnection,
    round_id: &RoundId,
    from: &Option<String>,
    to: Option<&Option<String>>,
) -> Result<usize, AppError> {
    let round = responses::round_id.eq(round_id);
    Ok(match (from, to) {
        (Some(u), Some(t)) => diesel::update(
            responses::table
                .filter(round)
                .filter(responses::unit_id.eq(u)),
        )
        .set(responses::unit_id.eq(t))
        .execute(conn)?,
        (None, Some(t)) => diesel::update(
            responses::table
                .filter(round)
                .filter(responses::unit_id.is_null()),
        )
        .set(responses::unit_id.eq(t))
        .execute(conn)?,
        (Some(u), None) => diesel::delete(
            responses::table
                .filter(round)
                .filter(responses::unit_id.eq(u)),
        )
        .execute(conn)?,
        (None, None) => diesel::delete(
            responses::table
                .filter(round)
                .filter(responses::unit_id.is_null()),
        )
        .execute(conn)?,
    })
}

/// Drops the background answers whose (stored unit, question, option)
/// cell has fewer than `k` responses. Returns how many were dropped.
fn drop_small_background_cells(
    conn: &mut DbConnection,
    round_id: &RoundId,
    k: u32,
) -> Result<usize, AppError> {
    let rows: Vec<(String, Option<String>, String)> = responses::table
        .filter(responses::round_id.eq(round_id))
        .select((responses::id, responses::unit_id, responses::background))
        .load(conn)?;
    let mut parsed = Vec::with_capacity(rows.len());
    let mut cells: HashMap<(Option<String>, String, String), u32> = HashMap::new();
    for (id, unit, background) in rows {
        let answers: BTreeMap<String, String> = serde_json::from_str(&background).map_err(|e| {
            AppError::damaged_by(
                format!("the background answers of a response of round {round_id}"),
                e,
            )
        })?;
        for (q, o) in &answers {
            *cells
                .entry((unit.clone(), q.clone(), o.clone()))
                .or_default() += 1;
        }
        parsed.push((id, unit, answers));
    }
    let mut dropped = 0;
    for (id, unit, mut answers) in parsed {
        let before = answers.len();
        answers.retain(|q, o| cells[&(unit.clone(), q.clone(), o.clone())] >= k);
        if answers.len() < before {
            dropped += before - answers.len();
            let text = serde_json::to_string(&answers)
                .map_err(|e| AppError::internal_by("writing background answers", e))?;
            diesel::update(responses::table.find(&id))
                .set(responses::background.eq(text))
                .execute(conn)?;
        }
    }
    Ok(dropped)
}
