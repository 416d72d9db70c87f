//! Results of closed rounds. When a round closes its responses are read
//! once, [`compute`] turns them into figures, the [`anonymity`] engine
//! decides which may be shown, and only those are stored as the round's
//! frozen [`Snapshot`]. Pages, exports and the API read snapshots, never
//! responses. The one later change is [`raise_k`], which can only hide more.

pub mod anonymity;
pub mod compute;
pub mod model;
pub mod stored;

pub use model::*;

use crate::cache::{Cache, Key};
use crate::db::models::Round;
use crate::db::schema::{
    invitation_counts, invitations, responses, round_surveys, rounds, snapshots, units,
};
use crate::db::DbConnection;
use crate::ids::RoundId;
use crate::AppError;
use compute::{Input, RawResponse, TreeUnit};
use diesel::prelude::*;
// foldhash: the tree maps hash a unit id per response (~35 000 per
// snapshot at 50 000 employees), where SipHash took ~3 ms.
use foldhash::{HashMap, HashMapExt, HashSet};
use std::sync::Arc;

/// A stored response as read: its unit (None: the organisation above
/// several top units), its answers and background answers
/// ([`crate::survey::stored`]).
pub type StoredRow = (Option<String>, String, String);

/// A round's stored responses.
pub fn stored_rows(conn: &mut DbConnection, round: &RoundId) -> Result<Vec<StoredRow>, AppError> {
    Ok(responses::table
        .filter(responses::round_id.eq(round))
        .select((
            responses::unit_id,
            responses::answers,
            responses::background,
        ))
        .load(conn)?)
}

/// Computes and stores the snapshot of a round that has just closed. Runs
/// inside the closing transaction, before invitations may be reduced.
pub fn build(conn: &mut DbConnection, round: &Round) -> Result<Snapshot, AppError> {
    let rows = stored_rows(conn, &round.id)?;
    build_from(conn, round, &rows)
}

/// [`build`] from responses the caller has read already.
pub fn build_from(
    conn: &mut DbConnection,
    round: &Round,
    rows: &[StoredRow],
) -> Result<Snapshot, AppError> {
    crate::metrics::timed(&crate::metrics::get().snapshot_seconds, || {
        let snapshot = compute_from(conn, round, rows)?;
        store(conn, &snapshot, 1)?;
        Ok(snapshot)
    })
}

/// The snapshot of a round's responses as they are stored now, without
/// storing it.
pub fn compute_for(conn: &mut DbConnection, round: &Round) -> Result<Snapshot, AppError> {
    let rows = stored_rows(conn, &round.id)?;
    compute_from(conn, round, &rows)
}

/// The snapshot of `rows`, the responses of `round`, without storing it.
pub fn compute_from(
    conn: &mut DbConnection,
    round: &Round,
    rows: &[StoredRow],
) -> Result<Snapshot, AppError> {
    let surveys = round.surveys(conn)?;
    let all_units: Vec<UnitRow> = units::table
        .select((units::id, units::code, units::parent_id, units::name))
        .load(conn)?;
    let mut invited: HashMap<String, u32> = HashMap::new();
    let live: Vec<(String, i64)> = invitations::table
        .filter(invitations::round_id.eq(&round.id))
        .group_by(invitations::unit_id)
        .select((invitations::unit_id, diesel::dsl::count_star()))
        .load(conn)?;
    for (u, n) in live {
        invited.insert(u, n as u32);
    }
    if invited.is_empty() {
        let stored: Vec<(String, i32)> = invitation_counts::table
            .filter(invitation_counts::round_id.eq(&round.id))
            .select((invitation_counts::unit_id, invitation_counts::invited))
            .load(conn)?;
        for (u, n) in stored {
            invited.insert(u, n.max(0) as u32);
        }
    }
    let (tree, index) = round_tree(
        &all_units,
        &invited,
        rows.iter().filter_map(|r| r.0.as_deref()),
        round.root_unit_id.as_deref(),
    )?;
    // A response stores no unit when it belongs to the organisation above
    // several top units (coarsened at rest): the tree's root.
    let responses = rows
        .iter()
        .map(|(unit, answers, background)| RawResponse {
            unit: unit.as_deref().map_or(0, |u| index[u]),
            answers,
            background,
        })
        .collect();
    let previous = previous_scores(conn, round)?;
    let snapshot = compute::compute(&Input {
        round_id: &round.id,
        k: round.min_group_size.max(3) as u32,
        computed_at: crate::db::now_unix(),
        surveys: &surveys,
        units: tree,
        responses,
        previous: previous.as_deref(),
    })
    .map_err(|e| {
        AppError::damaged_by(format!("computing the snapshot of round {}", round.id), e)
    })?;
    Ok(snapshot)
}

/// A unit as [`round_tree`] reads it: id, code, parent id, name.
type UnitRow = (String, String, Option<String>, String);

/// The round's tree: every unit invited or answered in, and its ancestors
/// up to the round's root. Index 0 is the root: the round's unit, the one
/// top unit of the organisation, or else a group above all top units.
/// Units are placed in the order of their codes, so that the snapshot's
/// order of groups follows the organisation's own codes, not the random
/// ids a database gave its rows. Returns the tree and each unit id's index.
fn round_tree<'a>(
    all_units: &'a [UnitRow],
    invited: &'a HashMap<String, u32>,
    answered_in: impl Iterator<Item = &'a str>,
    root_unit: Option<&'a str>,
) -> Result<(Vec<TreeUnit>, HashMap<&'a str, usize>), AppError> {
    let by_id: HashMap<&str, &UnitRow> = all_units.iter().map(|u| (u.0.as_str(), u)).collect();
    let wanted: HashSet<&str> = invited
        .keys()
        .map(String::as_str)
        .chain(answered_in)
        .collect();
    let mut wanted: Vec<&str> = wanted.into_iter().collect();
    let code = |id: &str| by_id.get(id).map(|u| u.1.as_str());
    wanted.sort_by(|a, b| code(a).cmp(&code(b)).then(a.cmp(b)));
    let top_of = |id: &'a str| -> Result<&'a str, AppError> {
        let mut at = id;
        for _ in 0..=by_id.len() {
            match by_id.get(at).and_then(|u| u.2.as_deref()) {
                Some(p) => at = p,
                None => return Ok(at),
            }
        }
        Err(AppError::damaged(format!(
            "the unit tree has a cycle at {id}"
        )))
    };
    let root: Option<&str> = match root_unit {
        Some(r) => Some(r),
        None => {
            let tops: HashSet<&str> = wanted.iter().map(|w| top_of(w)).collect::<Result<_, _>>()?;
            (tops.len() == 1).then(|| tops.into_iter().next().expect("one"))
        }
    };
    let mut tree = Vec::with_capacity(wanted.len() + 1);
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(wanted.len() + 1);
    match root {
        Some(r) => {
            let u = by_id
                .get(r)
                .ok_or_else(|| AppError::damaged(format!("unit {r} is gone")))?;
            tree.push(TreeUnit {
                key: u.0.clone(),
                code: u.1.clone(),
                name: u.3.clone(),
                parent: None,
                invited: 0,
            });
            index.insert(u.0.as_str(), 0);
        }
        None => tree.push(TreeUnit {
            key: ORGANISATION.into(),
            code: String::new(),
            name: String::new(),
            parent: None,
            invited: 0,
        }),
    }
    fn place<'a>(
        id: &str,
        by_id: &HashMap<&str, &'a UnitRow>,
        index: &mut HashMap<&'a str, usize>,
        tree: &mut Vec<TreeUnit>,
        depth: usize,
    ) -> Result<usize, AppError> {
        if let Some(i) = index.get(id) {
            return Ok(*i);
        }
        let u = by_id
            .get(id)
            .ok_or_else(|| AppError::damaged(format!("unit {id} is gone")))?;
        if depth > by_id.len() {
            return Err(AppError::damaged(format!(
                "the unit tree has a cycle at {id}"
            )));
        }
        let parent = match &u.2 {
            Some(p) => place(p, by_id, index, tree, depth + 1)?,
            None => 0,
        };
        tree.push(TreeUnit {
            key: u.0.clone(),
            code: u.1.clone(),
            name: u.3.clone(),
            parent: Some(parent),
            invited: 0,
        });
        index.insert(u.0.as_str(), tree.len() - 1);
        Ok(tree.len() - 1)
    }
    for id in &wanted {
        place(id, &by_id, &mut index, &mut tree, 0)?;
    }
    for (u, n) in invited {
        tree[index[u.as_str()]].invited = *n;
    }
    Ok((tree, index))
}

/// The released scores of the latest earlier closed round sharing a
/// questionnaire with `round` that has a snapshot: what changes are
/// measured against (n, mean and SD per group and factor).
fn previous_scores(
    conn: &mut DbConnection,
    round: &Round,
) -> Result<Option<Arc<Scores>>, AppError> {
    let ours: Vec<String> = round_surveys::table
        .filter(round_surveys::round_id.eq(&round.id))
        .select(round_surveys::survey_id)
        .load(conn)?;
    let candidates: Vec<RoundId> = rounds::table
        .inner_join(snapshots::table)
        .inner_join(round_surveys::table)
        .filter(rounds::id.ne(&round.id))
        .filter(round_surveys::survey_id.eq_any(&ours))
        .order((rounds::closed_at.desc(), rounds::id))
        .select(rounds::id)
        .limit(1)
        .load(conn)?;
    match candidates.first() {
        Some(id) => load_scores(conn, &Cache::none(), id),
        None => Ok(None),
    }
}

/// Writes a snapshot and, beside it, its [`Scores`] for the analysis, in
/// the compact stored form ([`stored`]).
fn store(conn: &mut DbConnection, s: &Snapshot, revision: i32) -> Result<(), AppError> {
    let data = stored::encode(s);
    let scores = stored::encode(&Scores::from(s));
    // One transaction (or savepoint): a reader never sees the round
    // without its snapshot, and SQLite syncs once.
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(snapshots::table.find(&s.round_id)).execute(conn)?;
        diesel::insert_into(snapshots::table)
            .values((
                snapshots::round_id.eq(&s.round_id),
                snapshots::min_group_size.eq(s.k as i32),
                snapshots::computed_at.eq(s.computed_at),
                snapshots::revision.eq(revision),
                snapshots::data.eq(data),
                snapshots::scores_data.eq(scores),
            ))
            .execute(conn)
    })?;
    Ok(())
}

/// A stored snapshot or scores as read: the compact bytes ([`stored`]), or
/// the JSON text of a snapshot stored before them.
pub enum Stored {
    Bytes(Vec<u8>),
    Json(String),
}

impl Stored {
    /// The form a row holds, from its bytes column and its text column.
    fn of(bytes: Option<Vec<u8>>, text: Option<String>) -> Option<Stored> {
        bytes.map(Stored::Bytes).or(text.map(Stored::Json))
    }

    fn parse<T: serde::de::DeserializeOwned>(&self, round_id: &str) -> Result<T, AppError> {
        let what = || format!("snapshot of round {round_id}");
        match self {
            Stored::Bytes(b) => stored::decode(b).map_err(|e| AppError::damaged_by(what(), e)),
            Stored::Json(t) => serde_json::from_str(t).map_err(|e| AppError::damaged_by(what(), e)),
        }
    }

    /// About what the parsed value weighs in a cache: its JSON's length
    /// (`per_byte` times the compact form's: about five for a snapshot,
    /// three for its scores).
    fn weight(&self, per_byte: usize) -> usize {
        match self {
            Stored::Bytes(b) => b.len() * per_byte,
            Stored::Json(t) => t.len(),
        }
    }
}

/// A round's snapshot, None while the round has none.
pub fn load(
    conn: &mut DbConnection,
    round_id: &RoundId,
) -> Result<Option<Arc<Snapshot>>, AppError> {
    load_cached(conn, &Cache::none(), round_id)
}

/// [`load`], parsed once per revision while `cache` keeps it; another
/// node's `raise_k` bumps the revision, which every read checks.
pub fn load_cached(
    conn: &mut DbConnection,
    cache: &Cache,
    round_id: &RoundId,
) -> Result<Option<Arc<Snapshot>>, AppError> {
    let Some(revision) = revision(conn, round_id)? else {
        return Ok(None);
    };
    let key = Key::Snapshot {
        round: round_id.clone(),
        revision,
    };
    cache
        .get_or_try(key, || {
            let (data, body): (Option<Vec<u8>>, Option<String>) = snapshots::table
                .find(round_id)
                .filter(snapshots::revision.eq(revision))
                .select((snapshots::data, snapshots::body))
                .get_result(conn)?;
            let stored = Stored::of(data, body).ok_or_else(|| empty(round_id))?;
            let parsed: Snapshot = stored.parse(round_id)?;
            Ok((parsed, stored.weight(5)))
        })
        .map(Some)
}

/// What the AMU analysis reads of a round's snapshot ([`Scores`]), None
/// while the round has none. A snapshot stored before scores were kept
/// beside it gives them from its body.
pub fn load_scores(
    conn: &mut DbConnection,
    cache: &Cache,
    round_id: &RoundId,
) -> Result<Option<Arc<Scores>>, AppError> {
    match read_scores(conn, cache, round_id)? {
        Some(read) => read.parse(cache).map(Some),
        None => Ok(None),
    }
}

/// A round's [`Scores`] as read from the database: parsed already (from
/// the cache), or the stored form still to parse. Parsing needs no
/// connection, so the analysis parses on another core while it reads the
/// rest.
pub enum ScoresRead {
    Ready(Arc<Scores>),
    Stored {
        key: Key,
        round_id: RoundId,
        stored: Stored,
        /// A snapshot stored before scores were kept beside it: the
        /// scores are made from the whole snapshot.
        from_body: bool,
    },
}

/// Reads a round's scores without parsing them; None while it has none.
pub fn read_scores(
    conn: &mut DbConnection,
    cache: &Cache,
    round_id: &RoundId,
) -> Result<Option<ScoresRead>, AppError> {
    let Some(revision) = revision(conn, round_id)? else {
        return Ok(None);
    };
    let key = Key::Scores {
        round: round_id.clone(),
        revision,
    };
    if let Some(ready) = cache.get::<Scores>(&key) {
        return Ok(Some(ScoresRead::Ready(ready)));
    }
    let row = || {
        snapshots::table
            .find(round_id)
            .filter(snapshots::revision.eq(revision))
    };
    let (bytes, text): (Option<Vec<u8>>, Option<String>) = row()
        .select((snapshots::scores_data, snapshots::scores))
        .get_result(conn)?;
    let (stored, from_body) = match Stored::of(bytes, text) {
        Some(stored) => (stored, false),
        None => {
            let (data, body) = row()
                .select((snapshots::data, snapshots::body))
                .get_result(conn)?;
            (Stored::of(data, body).ok_or_else(|| empty(round_id))?, true)
        }
    };
    Ok(Some(ScoresRead::Stored {
        key,
        round_id: round_id.clone(),
        stored,
        from_body,
    }))
}

impl ScoresRead {
    /// The scores, parsed and kept in `cache` if they were not yet.
    /// The round the scores compare with, read from the head of the
    /// stored bytes without parsing the rest: Some(None) when there is
    /// none, None when only parsing tells (scores stored as JSON or made
    /// from an older snapshot's body).
    pub fn previous_round(&self) -> Option<Option<RoundId>> {
        match self {
            ScoresRead::Ready(scores) => Some(scores.previous_round.clone()),
            ScoresRead::Stored {
                stored: Stored::Bytes(bytes),
                from_body: false,
                ..
            } => stored::decode_head::<ScoresHead>(bytes)
                .ok()
                .map(|h| h.previous_round),
            ScoresRead::Stored { .. } => None,
        }
    }

    pub fn parse(self, cache: &Cache) -> Result<Arc<Scores>, AppError> {
        let (key, round_id, stored, from_body) = match self {
            ScoresRead::Ready(ready) => return Ok(ready),
            ScoresRead::Stored {
                key,
                round_id,
                stored,
                from_body,
            } => (key, round_id, stored, from_body),
        };
        let (scores, weight) = if from_body {
            let snapshot: Snapshot = stored.parse(&round_id)?;
            (Scores::from(&snapshot), stored.weight(5) / 6)
        } else {
            (stored.parse(&round_id)?, stored.weight(3))
        };
        let scores = Arc::new(scores);
        cache.insert(key, scores.clone(), weight);
        Ok(scores)
    }
}

/// The revision of a round's snapshot, None when it has none.
pub fn revision(conn: &mut DbConnection, round_id: &RoundId) -> Result<Option<i32>, AppError> {
    Ok(snapshots::table
        .find(round_id)
        .select(snapshots::revision)
        .get_result::<i32>(conn)
        .optional()?)
}

/// A snapshot row that holds neither form (the table's check forbids it).
fn empty(round_id: &str) -> AppError {
    AppError::damaged(format!("snapshot of round {round_id}: no stored figures"))
}

/// Raises a closed round's minimum group size and re-applies suppression:
/// more may be hidden, nothing hidden comes back.
pub fn raise_k(conn: &mut DbConnection, round_id: &RoundId, k: u32) -> Result<Snapshot, AppError> {
    crate::db::write_transaction(conn, |conn| {
        crate::db::lock_snapshots(conn)?;
        let current = load(conn, round_id)?.ok_or(crate::error::UserError::NoResultsYet)?;
        if k < current.k {
            return Err(crate::error::UserError::GroupSizeOnlyUp {
                current: current.k,
                asked: k,
            }
            .into());
        }
        let revision: i32 = snapshots::table
            .find(round_id)
            .select(snapshots::revision)
            .get_result(conn)?;
        let raised = compute::raise_k(&current, k);
        store(conn, &raised, revision + 1)?;
        withdraw_changes_against(conn, &raised)?;
        diesel::update(rounds::table.find(round_id))
            .set(rounds::min_group_size.eq(k as i32))
            .execute(conn)?;
        // A later round's analysis compares with this round's groups (their
        // count and ranked r), under a key that names only the later
        // round's own revision and this count.
        crate::db::absence_series::bump_revision(conn)?;
        Ok(raised)
    })
}

/// The first fields of [`Scores`], as stored.
#[derive(serde::Deserialize)]
struct ScoresHead {
    #[allow(dead_code)]
    round_id: RoundId,
    #[allow(dead_code)]
    k: u32,
    previous_round: Option<RoundId>,
}

/// After `previous` was raised: every snapshot whose changes were measured
/// against it loses those against figures it now hides
/// ([`compute::withdraw_changes`]), stored anew under a new revision.
fn withdraw_changes_against(conn: &mut DbConnection, previous: &Snapshot) -> Result<(), AppError> {
    let scores = Scores::from(previous);
    each_measured(conn, Some(&previous.round_id), |conn, revision, later| {
        withdraw_from(conn, later, revision, &scores).map(drop)
    })
}

/// Calls `f` with the revision and snapshot of every round whose changes
/// were measured against a previous round (against `against` only, when
/// given). A snapshot that does not read cannot show anything either: it
/// is passed over, and does not stop the caller.
fn each_measured(
    conn: &mut DbConnection,
    against: Option<&RoundId>,
    mut f: impl FnMut(&mut DbConnection, i32, &Snapshot) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let heads: Vec<(RoundId, Option<Vec<u8>>)> = snapshots::table
        .select((snapshots::round_id, snapshots::scores_data))
        .order(snapshots::round_id)
        .load(conn)?;
    let measured = |previous: Option<&RoundId>| match against {
        Some(against) => previous == Some(against),
        None => previous.is_some(),
    };
    for (id, head) in heads {
        // The scores stored beside a snapshot name the round it was
        // compared with; without them only the snapshot tells.
        let head = head.and_then(|h| stored::decode_head::<ScoresHead>(&h).ok());
        if head.is_some_and(|h| !measured(h.previous_round.as_ref())) {
            continue;
        }
        let (Some(revision), Some(later)) = (revision(conn, &id)?, readable(load(conn, &id))?)
        else {
            continue;
        };
        if measured(later.previous_round.as_ref()) {
            f(conn, revision, &later)?;
        }
    }
    Ok(())
}

/// Stores `later` anew, under the revision after `revision`, without its
/// changes against figures `previous` does not show. True when any went.
fn withdraw_from(
    conn: &mut DbConnection,
    later: &Snapshot,
    revision: i32,
    previous: &Scores,
) -> Result<bool, AppError> {
    match compute::withdraw_changes(later, previous) {
        Some(withdrawn) => store(conn, &withdrawn, revision + 1).map(|()| true),
        None => Ok(false),
    }
}

/// Every snapshot loses its changes against figures its previous round's
/// snapshot does not show now. A close only measures against figures both
/// rounds show, so such a change can only come from raising the previous
/// round's k before [`raise_k`] withdrew them (format version 2): the
/// figures it hid stayed visible as the later round's previous mean. Run
/// once, by the migration that follows that version (see
/// [`crate::migrate::after`]), in its transaction. A snapshot that does
/// not read is left as it is, as [`raise_k`] leaves it; a database error
/// ends it. Returns how many snapshots were stored anew.
pub fn withdraw_changes_against_hidden_figures(conn: &mut DbConnection) -> Result<usize, AppError> {
    crate::db::lock_snapshots(conn)?;
    let mut stored = 0;
    each_measured(conn, None, |conn, revision, later| {
        let previous_id = later
            .previous_round
            .as_ref()
            .expect("measured against a round");
        if let Some(previous) = readable(load_scores(conn, &Cache::none(), previous_id))? {
            stored += withdraw_from(conn, later, revision, &previous)? as usize;
        }
        Ok(())
    })?;
    Ok(stored)
}

/// What was read, or None when the stored figures do not read (damaged, or
/// from a newer version). Any other error stays one: on PostgreSQL a
/// failed statement ends the transaction, which must not commit as if the
/// rest had run.
fn readable<T>(read: Result<Option<T>, AppError>) -> Result<Option<T>, AppError> {
    match read {
        Err(AppError::Damaged(..)) => Ok(None),
        other => other,
    }
}
