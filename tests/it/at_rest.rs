//! Anonymity at rest (ANONYMITY.md §6c), read from the raw tables after a
//! round closes, on both databases: no stored response is attributable to
//! fewer than k respondents by its unit, or by its unit and a background
//! answer; the snapshot and the analysis are the same as from the rows
//! before; raising k coarsens again.

use crate::both_backends;
use crate::results::{absence_for_the_year, answered_round, SMALL};
use diesel::prelude::*;
use naervaer::analysis::{self, Window};
use naervaer::cache::Cache;
use naervaer::db::schema::{responses, units};
use naervaer::db::DbConnection;
use naervaer::ids::RoundId;
use naervaer::lang::Lang;
use naervaer::rounds;
use std::collections::HashMap;

type PerUnit = HashMap<Option<String>, u32>;
type PerCell = HashMap<(Option<String>, String, String), u32>;
type PerCombination = HashMap<(Option<String>, Vec<Option<String>>), u32>;

/// Responses per stored unit, per (stored unit, question, option), and per
/// (stored unit, every background answer together, "none" included).
fn stored_counts(c: &mut DbConnection, round: &RoundId) -> (PerUnit, PerCell, PerCombination) {
    let surveys = rounds::Round::find(c, round).unwrap().surveys(c).unwrap();
    let layout = naervaer::survey::stored::Layout::of(&surveys);
    let rows = naervaer::snapshot::stored_rows(c, round).unwrap();
    let mut units = HashMap::new();
    let mut cells = HashMap::new();
    let mut combinations = HashMap::new();
    for (unit, answers, background) in rows {
        *units.entry(unit.clone()).or_default() += 1;
        let d = naervaer::survey::stored::decode(&surveys, &layout, &answers, &background).unwrap();
        let mut all = Vec::new();
        for (&(s, q), o) in layout.background.iter().zip(&d.background) {
            let question = &surveys[s].background[q];
            let option = o.map(|o| question.options[usize::from(o)].key.clone());
            if let Some(option) = &option {
                *cells
                    .entry((unit.clone(), question.key.clone(), option.clone()))
                    .or_default() += 1;
            }
            all.push(option);
        }
        *combinations.entry((unit.clone(), all)).or_default() += 1;
    }
    (units, cells, combinations)
}

fn assert_at_rest(c: &mut DbConnection, round: &RoundId, k: u32) {
    let (units, cells, combinations) = stored_counts(c, round);
    assert!(!units.is_empty());
    for (unit, n) in &units {
        assert!(
            *n >= k,
            "unit {unit:?} stores {n} responses, fewer than k = {k}"
        );
    }
    for (cell, n) in &cells {
        assert!(*n >= k, "{cell:?} stores {n} responses, fewer than k = {k}");
    }
    // Background answers together (and "none at all", where dropped ones
    // end up) never narrow a stored unit below k either.
    for (combination, n) in &combinations {
        assert!(
            *n >= k,
            "{combination:?} stores {n} responses, fewer than k = {k}"
        );
    }
}

/// Byte for byte, or where they part.
fn same_text(a: &str, b: &str, what: &str) {
    if a != b {
        let at = a
            .bytes()
            .zip(b.bytes())
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        let from = at.saturating_sub(200);
        panic!(
            "{what} differs at byte {at}:\n{}\n{}",
            &a[from..(at + 80).min(a.len())],
            &b[from..(at + 80).min(b.len())]
        );
    }
}

fn without_time(mut s: naervaer::snapshot::Snapshot) -> String {
    s.computed_at = 0;
    serde_json::to_string(&s).unwrap()
}

both_backends! {
    fn after_close_no_stored_response_is_attributable_to_fewer_than_k(t) {
        let mut c = t.conn();
        let round = answered_round(&mut c);
        absence_for_the_year(&mut c);
        let k = round.min_group_size as u32;
        // Before closing: the small unit's people are there, one by one,
        // and the rare background option stands out.
        let small: String = units::table.filter(units::code.eq(SMALL)).select(units::id).first(&mut c).unwrap();
        let (before_units, before_cells, before_combinations) = stored_counts(&mut c, &round.id);
        assert!(before_units[&Some(small.clone())] < k, "the fixture's small unit is below k");
        assert!(before_cells.values().any(|n| *n < k), "the fixture has background cells below k");
        assert!(
            before_combinations.iter().any(|((unit, _), n)| *n < k && before_cells.iter().filter(|((u, _, _), _)| u == unit).all(|(_, m)| *m >= k)),
            "the fixture has a unit whose single background answers all reach k but whose combinations do not"
        );
        // As stored: through its JSON text, as every snapshot is read back.
        let snapshot_before: naervaer::snapshot::Snapshot = serde_json::from_str(
            &serde_json::to_string(&naervaer::snapshot::compute_for(&mut c, &round).unwrap()).unwrap(),
        )
        .unwrap();

        rounds::close(&mut c, &round.id, true).unwrap();

        assert_at_rest(&mut c, &round.id, k);
        let (after_units, _, _) = stored_counts(&mut c, &round.id);
        assert!(!after_units.contains_key(&Some(small)), "the hidden unit's responses moved up");
        assert_eq!(
            after_units.values().sum::<u32>(),
            before_units.values().sum::<u32>(),
            "no response is lost"
        );
        // The released figures are those of the rows before.
        let stored = naervaer::snapshot::load(&mut c, &round.id).unwrap().unwrap();
        same_text(&without_time((*stored).clone()), &without_time(snapshot_before.clone()), "snapshot");
        // And so is every later analysis: the one the service makes after
        // close, and the one from the snapshot of the rows before.
        let after = analysis::run(&mut c, &Cache::none(), &round.id, Window::Before, None, Lang::Nb).unwrap();
        let closed = naervaer::rounds::Round::find(&mut c, &round.id).unwrap();
        let (from, to) = Window::Before.dates(closed.last_day());
        let own = analysis::own_absence(&mut c, from, to).unwrap();
        let periods = analysis::absence_periods(&mut c).unwrap();
        let surveys = closed.surveys(&mut c).unwrap();
        let scores = naervaer::snapshot::Scores::from(&snapshot_before);
        let from_before = analysis::compute(&analysis::Input {
            round_id: &round.id,
            round_title: &closed.title,
            snapshot: &scores,
            surveys: &surveys,
            own: &own,
            window: (from, to),
            periods: &periods,
            level: None,
            lang: Lang::Nb,
        });
        assert!(!after.too_few);
        same_text(&serde_json::to_string(&after).unwrap(), &serde_json::to_string(&from_before).unwrap(), "analysis");

        // Raising k hides more and coarsens the rows again.
        rounds::raise_k(&mut c, &round.id, 12).unwrap();
        assert_at_rest(&mut c, &round.id, 12);
        let (raised_units, _, _) = stored_counts(&mut c, &round.id);
        assert!(raised_units.len() < after_units.len(), "fewer groups hold the rows at k = 12");
        assert_eq!(raised_units.values().sum::<u32>(), before_units.values().sum::<u32>());
    }

    fn a_round_with_fewer_than_k_answers_keeps_no_responses(t) {
        let (mut c, round) = crate::rounds::open_demo_round(&t);
        let surveys = round.surveys(&mut c).unwrap();
        for inv in crate::rounds::invitation_ids(&mut c, &round.id).iter().take(3) {
            let hash = naervaer::crypto::lookup_hash(&crate::support::key().survey_token(inv));
            naervaer::rounds::answer::submit(&mut c, &hash, &surveys, &crate::rounds::numbered_answers(&surveys, 1)).unwrap();
        }
        rounds::close(&mut c, &round.id, true).unwrap();
        let s = naervaer::snapshot::load(&mut c, &round.id).unwrap().unwrap();
        assert!(s.groups.iter().all(|g| g.figures.is_none()), "three answers release nothing");
        let (units, _, _) = stored_counts(&mut c, &round.id);
        assert!(units.is_empty(), "nothing released, nothing kept: {units:?}");
    }
}

/// The JSON a response was stored as before version 1 of the stored
/// format, for the same answers.
fn as_stored_before_version_1(
    surveys: &[naervaer::survey::Survey],
    d: &naervaer::survey::stored::Decoded,
) -> (String, String) {
    use naervaer::stats::scores::Answer;
    let layout = naervaer::survey::stored::Layout::of(surveys);
    let mut items = serde_json::Map::new();
    for s in surveys {
        items.insert(s.id.clone(), serde_json::Value::Object(Default::default()));
    }
    for (&(s, i), a) in layout.items.iter().zip(&d.items) {
        let value = match a {
            None => continue,
            Some(Answer::DontKnow) => serde_json::Value::Null,
            Some(Answer::Value(v)) => (*v).into(),
        };
        items[&surveys[s].id]
            .as_object_mut()
            .unwrap()
            .insert(surveys[s].items[i].key.clone(), value);
    }
    let mut background = serde_json::Map::new();
    for (&(s, q), o) in layout.background.iter().zip(&d.background) {
        if let Some(o) = o {
            let question = &surveys[s].background[q];
            background.insert(
                question.key.clone(),
                question.options[usize::from(*o)].key.clone().into(),
            );
        }
    }
    (
        serde_json::Value::Object(items).to_string(),
        serde_json::Value::Object(background).to_string(),
    )
}

both_backends! {
    fn responses_stored_before_the_compact_format_give_the_same_results_and_are_rewritten_at_close(t) {
        let mut c = t.conn();
        let round = answered_round(&mut c);
        let surveys = round.surveys(&mut c).unwrap();
        let layout = naervaer::survey::stored::Layout::of(&surveys);
        let compact = without_time(naervaer::snapshot::compute_for(&mut c, &round).unwrap());
        // The same answers, stored as they were before version 1.
        let rows: Vec<(String, String, String)> = responses::table
            .filter(responses::round_id.eq(&round.id))
            .select((responses::id, responses::answers, responses::background))
            .load(&mut c)
            .unwrap();
        assert!(rows.iter().all(|r| r.1.starts_with("1:") && r.2.starts_with("1:")), "new answers are stored compact");
        for (id, answers, background) in &rows {
            let d = naervaer::survey::stored::decode(&surveys, &layout, answers, background).unwrap();
            let (a, b) = as_stored_before_version_1(&surveys, &d);
            diesel::update(responses::table.filter(responses::id.eq(id)))
                .set((responses::answers.eq(a), responses::background.eq(b)))
                .execute(&mut c)
                .unwrap();
        }
        let legacy = without_time(naervaer::snapshot::compute_for(&mut c, &round).unwrap());
        same_text(&legacy, &compact, "snapshot from rows stored before version 1");
        rounds::close(&mut c, &round.id, true).unwrap();
        // The stored text, as every snapshot is read back.
        let stored = naervaer::snapshot::load(&mut c, &round.id).unwrap().unwrap();
        let compact: naervaer::snapshot::Snapshot = serde_json::from_str(&compact).unwrap();
        same_text(&without_time((*stored).clone()), &without_time(compact), "snapshot at close");
        let after: Vec<(String, String)> = responses::table
            .filter(responses::round_id.eq(&round.id))
            .select((responses::answers, responses::background))
            .load(&mut c)
            .unwrap();
        assert_eq!(after.len(), rows.len());
        assert!(after.iter().all(|r| r.0.starts_with("1:") && r.1.starts_with("1:")), "close rewrites them compact");
    }
}
