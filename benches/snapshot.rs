//! Snapshot time: closing a round of a large synthetic municipality, and
//! computing its results, on a real database.
//!
//!     cargo bench --bench snapshot -- [EMPLOYEES] [UNITS] [sqlite|postgres URL]
//!
//! Defaults: 50 000 employees in 3 000 units, 70 % answering both
//! questionnaires (66 items), on a SQLite file in a temporary folder. The
//! units form a four-level tree with a long tail of small teams, so many
//! groups are hidden and the remainder rule has work to do. Figures, not
//! pass/fail: see the README's performance section.

use naervaer::crypto::{lookup_hash, SecretKey};
use naervaer::rounds::answer::{self, Answers};
use naervaer::{db, demo, import, rounds, snapshot};
use rand::{Rng, SeedableRng};
use std::time::Instant;

const KEY: &str = "bench-key-0123456789abcdef0123456789abcdef";

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let employees: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let n_units: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3_000);
    let dir = tempfile::tempdir().unwrap();
    let url = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let mut conn = db::connect(&url).unwrap();
    naervaer::migrate::run(&mut conn).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(50);
    // The organisation of `naervaer bench`: a four-level tree with a long
    // tail of small teams.
    let (units, text) = naervaer::bench::organisation_files(employees, n_units, 50);
    let t = Instant::now();
    import::import(
        &mut conn,
        import::Kind::Units,
        "u.csv",
        units.as_bytes(),
        false,
    )
    .unwrap();
    import::import(
        &mut conn,
        import::Kind::Employees,
        "e.csv",
        text.as_bytes(),
        false,
    )
    .unwrap();
    println!(
        "import: {n_units} units, {employees} employees in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let key = SecretKey::new(KEY).unwrap();
    let today = rounds::today();
    let round = rounds::create(
        &mut conn,
        5,
        rounds::NewRound {
            title: "Bench".into(),
            surveys: vec![demo::SURVEY_10_FAKTOR.into(), demo::SURVEY_MODULE.into()],
            unit_code: None,
            opens_on: today,
            closes_on: today,
            min_group_size: 5,
            delivery: rounds::Delivery::Email,
        },
    )
    .unwrap();
    rounds::open(&mut conn, &key, &round.id).unwrap();
    let round = rounds::Round::find(&mut conn, &round.id).unwrap();
    let surveys = round.surveys(&mut conn).unwrap();
    use diesel::prelude::*;
    use naervaer::db::schema::invitations;
    let invs: Vec<String> = invitations::table
        .filter(invitations::round_id.eq(&round.id))
        .select(invitations::id)
        .load(&mut conn)
        .unwrap();
    let t = Instant::now();
    let mut answered = 0;
    for inv in &invs {
        if !rng.gen_bool(0.7) {
            continue;
        }
        let mut a = Answers::default();
        for s in surveys.iter() {
            for item in &s.items {
                if rng.gen_bool(0.95) {
                    a.items
                        .insert(answer::item_field(s, &item.key), rng.gen_range(0..=5));
                }
            }
        }
        answer::submit(
            &mut conn,
            &lookup_hash(&key.survey_token(inv)),
            &surveys,
            &a,
        )
        .unwrap();
        answered += 1;
    }
    println!(
        "answers: {answered} submitted in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    rounds::close(&mut conn, &round.id, false).unwrap();
    let close = t.elapsed().as_secs_f64();
    // The snapshot alone, again, on the closed round (the same work close
    // did inside its transaction).
    let closed = rounds::Round::find(&mut conn, &round.id).unwrap();
    let t = Instant::now();
    let s = snapshot::build(&mut conn, &closed).unwrap();
    let build = t.elapsed().as_secs_f64();
    let body: Vec<u8> = naervaer::db::schema::snapshots::table
        .find(&round.id)
        .select(naervaer::db::schema::snapshots::data)
        .first::<Option<Vec<u8>>>(&mut conn)
        .unwrap()
        .expect("stored in the compact form");
    let shown = s.groups.iter().filter(|g| g.figures.is_some()).count();
    let t = Instant::now();
    let loaded: snapshot::Snapshot = snapshot::stored::decode(&body).unwrap();
    let parse = t.elapsed().as_secs_f64();
    assert_eq!(loaded.groups.len(), s.groups.len());
    // The AMU analysis: one absence row per unit for the 12 months up to
    // the closing day, then the analysis at the default level.
    let (from, to) = naervaer::analysis::Window::Before.dates(closed.closes_on_date());
    let mut csv = String::from("unit_code;period_start;period_end;agreed_workdays;lost_workdays\n");
    for i in 0..n_units {
        let agreed = rng.gen_range(200.0..4000.0f64).round();
        let lost = (agreed * rng.gen_range(0.02..0.12f64)).round();
        csv += &format!("U{i};{from};{to};{agreed};{lost}\n");
    }
    import::import(
        &mut conn,
        import::Kind::Absence,
        "a.csv",
        csv.as_bytes(),
        false,
    )
    .unwrap();
    let t = Instant::now();
    let a = naervaer::analysis::run(
        &mut conn,
        &naervaer::cache::Cache::none(),
        &round.id,
        naervaer::analysis::Window::Before,
        None,
        naervaer::lang::Lang::Nb,
    )
    .unwrap();
    println!(
        "analysis: {:.0} ms at level {} ({} reporting groups, {} factors)",
        t.elapsed().as_secs_f64() * 1000.0,
        a.level,
        a.groups.len(),
        a.factors.len()
    );
    println!(
        "close (rewrite {answered} responses + snapshot + compaction): {close:.2} s; snapshot alone: {build:.2} s; \
         {} groups, {shown} shown; stored {:.1} MB, parsed in {:.0} ms",
        s.groups.len(),
        body.len() as f64 / 1e6,
        parse * 1000.0
    );
}
