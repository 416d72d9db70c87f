//! The same answers give the same figures, byte for byte, whatever order
//! they were stored in and whichever database holds them: group sums are
//! exact integers (scores × 27 720, absence in millionths of a day), not
//! floating-point sums whose last bits follow the storage order — where a
//! mean of exactly 4.0 on one backend and 3.9999999999999996 on another
//! changed Spearman's ranks.

use crate::support::{key, Backend, TestDb};
use diesel::prelude::*;
use naervaer::analysis::{self, Window};
use naervaer::crypto::lookup_hash;
use naervaer::db::schema::{employees, invitations};
use naervaer::db::DbConnection;
use naervaer::demo;
use naervaer::lang::Lang;
use naervaer::rounds::answer::{self, Answers};
use naervaer::rounds::{self, Round};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// Every invited person's answers, by employee number: the same people give
/// the same answers in every run. Many means land on whole numbers (ties),
/// the rest on thirds and fifths, whose float sums depend on order.
fn answers_for(number: &str, surveys: &[naervaer::survey::Survey]) -> Option<Answers> {
    let seed: u64 = number
        .bytes()
        .fold(7, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    if rng.gen_bool(0.3) {
        return None;
    }
    let mut a = Answers::default();
    let level = rng.gen_range(2..=4);
    for s in surveys {
        for item in &s.items {
            let v = if rng.gen_bool(0.5) {
                level
            } else {
                rng.gen_range(1..=5)
            };
            a.items.insert(answer::item_field(s, &item.key), v);
        }
        for b in &s.background {
            if rng.gen_bool(0.8) {
                let o = &b.options[rng.gen_range(0..b.options.len())];
                a.background
                    .insert(answer::background_field(s, &b.key), o.key.clone());
            }
        }
    }
    Some(a)
}

/// Monthly absence with decimals whose float sums are not exact.
fn absence(c: &mut DbConnection) {
    let end = rounds::today();
    let mut csv = String::from(
        "unit_code;period_start;period_end;agreed_workdays;lost_workdays;lost_long_term\n",
    );
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for (code, _, _, people) in demo::UNITS.iter().filter(|u| u.3 > 0) {
        for m in 0..12 {
            let last = end - chrono::Duration::days(30 * m);
            let first = last - chrono::Duration::days(29);
            let agreed = *people as f64 * 20.7 + rng.gen_range(0.0..1.0);
            let lost = agreed * rng.gen_range(0.03..0.12);
            let long = lost * rng.gen_range(0.1..0.6);
            csv += &format!("{code};{first};{last};{agreed:.1};{lost:.1};{long:.1}\n");
        }
    }
    naervaer::import::import(
        c,
        naervaer::import::Kind::Absence,
        "a.csv",
        csv.as_bytes(),
        false,
    )
    .unwrap();
}

/// The demo organisation, one round answered in `order`, closed; returns
/// the snapshot and the analysis as JSON with every database-made id
/// replaced by the unit's code (ids are random per database).
fn run(backend: Backend, order: &str) -> (String, String) {
    let t = TestDb::new(backend);
    let mut c = t.conn();
    demo::seed(&mut c).unwrap();
    absence(&mut c);
    let round = crate::rounds::new_round(&mut c, None);
    rounds::open(&mut c, &key(), &round.id).unwrap();
    let round = Round::find(&mut c, &round.id).unwrap();
    let surveys = round.surveys(&mut c).unwrap();
    let mut people: Vec<(String, String)> = invitations::table
        .inner_join(employees::table)
        .filter(invitations::round_id.eq(&round.id))
        .select((employees::employee_number, invitations::id))
        .load(&mut c)
        .unwrap();
    people.sort();
    match order {
        "file" => {}
        "reversed" => people.reverse(),
        shuffled => people.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(
            shuffled.len() as u64
        )),
    }
    for (number, inv) in &people {
        if let Some(a) = answers_for(number, &surveys) {
            let hash = lookup_hash(&key().survey_token(inv));
            answer::submit(&mut c, &hash, &surveys, &a).unwrap();
        }
    }
    rounds::close(&mut c, &round.id, true).unwrap();
    let mut snapshot = (*naervaer::snapshot::load(&mut c, &round.id)
        .unwrap()
        .unwrap())
    .clone();
    snapshot.computed_at = 0;
    let snapshot = serde_json::to_string(&snapshot).unwrap();
    let a = analysis::run(
        &mut c,
        &naervaer::cache::Cache::none(),
        &round.id,
        Window::Before,
        None,
        Lang::Nb,
    )
    .unwrap();
    assert!(!a.too_few, "the analysis has coefficients to compare");
    let analysis = serde_json::to_string(&a).unwrap();
    // Ids made by this database, as the codes every database shares.
    let ids: Vec<(String, String)> = naervaer::db::schema::units::table
        .select((
            naervaer::db::schema::units::id,
            naervaer::db::schema::units::code,
        ))
        .load(&mut c)
        .unwrap();
    let normal = |mut s: String| {
        s = s.replace(round.id.as_str(), "ROUND");
        for (id, code) in &ids {
            s = s.replace(id, &format!("unit:{code}"));
        }
        s
    };
    (normal(snapshot), normal(analysis))
}

#[test]
fn the_same_answers_in_any_stored_order_on_either_database_give_byte_identical_figures() {
    let reference = run(Backend::Sqlite, "file");
    assert!(reference.0.len() > 10_000 && reference.1.contains("\"spearman\""));
    for (backend, order) in [
        (Backend::Sqlite, "reversed"),
        (Backend::Sqlite, "shuffled"),
        (Backend::Postgres, "file"),
        (Backend::Postgres, "shuffled-again"),
    ] {
        let other = run(backend, order);
        if other.0 != reference.0 {
            let at = other
                .0
                .bytes()
                .zip(reference.0.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "snapshot differs: {backend:?} {order} at {at}:\n{}\n{}",
                &reference.0[at.saturating_sub(300)..(at + 100).min(reference.0.len())],
                &other.0[at.saturating_sub(300)..(at + 100).min(other.0.len())]
            );
        }
        assert!(
            other.1 == reference.1,
            "analysis differs: {backend:?} {order}"
        );
    }
}
