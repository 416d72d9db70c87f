//! The synthetic municipality: its HR files, an empty database to load
//! them into, rounds, and answers (random ones, and a whole form as the
//! answering page posts it).

use crate::db;
use crate::db::schema::{invitations, units};
use crate::db::DbConnection;
use crate::rounds::answer::{self, Answers};
use crate::{demo, import, rounds, AppError};
use diesel::prelude::*;
use rand::{Rng, SeedableRng};

/// Units and employees files of a synthetic organisation.
pub fn organisation_files(employees: usize, n_units: usize, seed: u64) -> (String, String) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let areas = 12.min(n_units - 1);
    let sections = (n_units / 10).max(areas);
    let mut units = String::from("unit_code;parent_code;name\nU0;;Kommune\n");
    for i in 1..n_units {
        let parent = if i <= areas {
            0
        } else if i <= areas + sections {
            1 + (i % areas)
        } else {
            areas + 1 + (i % sections)
        };
        units += &format!("U{i};U{parent};Enhet {i}\n");
    }
    let leaves: Vec<usize> = (areas + sections + 1..n_units).collect();
    let weights: Vec<f64> = leaves
        .iter()
        .map(|_| rng.gen_range(0.05f64..1.0).powi(3))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut text = String::from("employee_id;name;email;unit_code;leader_of\n");
    let mut placed = 0;
    for (leaf, w) in leaves.iter().zip(&weights) {
        let n = ((w / total) * employees as f64).round() as usize;
        for j in 0..n.max(1) {
            if placed >= employees {
                break;
            }
            // The first person of every team leads it.
            let leads = if j == 0 {
                format!("U{leaf}")
            } else {
                String::new()
            };
            text += &format!("{placed};P {placed};p{placed}@x.no;U{leaf};{leads}\n");
            placed += 1;
        }
    }
    while placed < employees {
        text += &format!(
            "{placed};P {placed};p{placed}@x.no;U{};\n",
            1 + placed % areas
        );
        placed += 1;
    }
    (units, text)
}

/// A migrated, empty database: `given`, or a new SQLite file `file` in
/// `temp`. Returns its URL and a connection.
pub fn empty_database(
    given: Option<&str>,
    temp: &std::path::Path,
    file: &str,
) -> Result<(String, DbConnection), AppError> {
    let url = given
        .map(str::to_string)
        .unwrap_or_else(|| format!("sqlite://{}", temp.join(file).display()));
    let mut conn = db::connect(&url)?;
    crate::migrate::run(&mut conn)?;
    let existing: i64 = units::table.count().get_result(&mut conn)?;
    if existing > 0 {
        return Err(AppError::config(
            "the benchmark needs an empty database: it creates its own municipality",
        ));
    }
    Ok((url, conn))
}

/// Imports [`organisation_files`] through the real importers.
pub fn import_organisation(
    conn: &mut DbConnection,
    employees: usize,
    n_units: usize,
    seed: u64,
) -> Result<(), AppError> {
    let (units_csv, employees_csv) = organisation_files(employees, n_units, seed);
    for (kind, text) in [
        (import::Kind::Units, units_csv),
        (import::Kind::Employees, employees_csv),
    ] {
        import::import(conn, kind, "bench.csv", text.as_bytes(), false)
            .map_err(|e| AppError::internal_by("importing the benchmark's own files", e))?;
    }
    Ok(())
}

pub fn new_round(
    conn: &mut DbConnection,
    title: &str,
    closes_in: i64,
) -> Result<rounds::Round, AppError> {
    let today = rounds::today();
    let r = rounds::create(
        conn,
        5,
        rounds::NewRound {
            title: title.into(),
            surveys: vec![demo::SURVEY_10_FAKTOR.into(), demo::SURVEY_MODULE.into()],
            unit_code: None,
            opens_on: today,
            closes_on: today + chrono::Duration::days(closes_in),
            min_group_size: 5,
            delivery: crate::rounds::Delivery::Email,
        },
    )?;
    Ok(r)
}

pub fn invitations_of(conn: &mut DbConnection, round: &str) -> Result<Vec<String>, AppError> {
    Ok(invitations::table
        .filter(invitations::round_id.eq(round))
        .order(invitations::id)
        .select(invitations::id)
        .load(conn)?)
}

pub fn random_answers(rng: &mut impl Rng, surveys: &[crate::survey::Survey]) -> Answers {
    let mut a = Answers::default();
    for s in surveys {
        for item in &s.items {
            if rng.gen_bool(0.95) {
                a.items
                    .insert(answer::item_field(s, &item.key), rng.gen_range(0..=5));
            }
        }
    }
    a
}

/// A complete questionnaire as the last page's form posts it (earlier
/// pages' answers travel in hidden fields, so one POST holds them all):
/// items and background questions, varied by `seed`.
pub fn complete_form(surveys: &[crate::survey::Survey], seed: usize) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for s in surveys {
        for (i, item) in s.items.iter().enumerate() {
            pairs.push((
                answer::item_field(s, &item.key),
                ((seed + i) % 6).to_string(),
            ));
        }
        for b in &s.background {
            pairs.push((
                answer::background_field(s, &b.key),
                b.options[seed % b.options.len()].key.clone(),
            ));
        }
    }
    pairs.push((
        "page".into(),
        (answer::pages(surveys).len() - 1).to_string(),
    ));
    pairs.push(("go".into(), "submit".into()));
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}
