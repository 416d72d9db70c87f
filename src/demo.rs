//! The demo municipality: a unit tree of very different sizes (including
//! units of one to four people), about 800 employees, leaders, AMU members
//! and administrators, generated from a fixed seed. It is written as the two
//! HR files and loaded through the real importers, so the demo exercises the
//! same code path as a municipality's own files.

use crate::db::DbConnection;
use crate::import::{self, Kind};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;

pub const SEED: u64 = 2026;

/// (code, parent code, name, people placed directly in the unit).
pub const UNITS: &[(&str, &str, &str, usize)] = &[
    ("1000", "", "Demo kommune", 3),
    ("1100", "1000", "Helse og mestring", 2),
    ("1110", "1100", "Rossvoll sykehjem", 4),
    ("1111", "1110", "Avdeling A", 52),
    ("1112", "1110", "Avdeling B", 40),
    ("1113", "1110", "Skjermet avdeling", 20),
    ("1114", "1110", "Nattevakter", 14),
    ("1120", "1100", "Hjemmetjenesten", 3),
    ("1121", "1120", "Hjemmesykepleie sone nord", 70),
    ("1122", "1120", "Hjemmesykepleie sone sør", 55),
    ("1123", "1120", "Praktisk bistand", 16),
    ("1130", "1100", "Bo- og aktivitetstilbud", 2),
    ("1131", "1130", "Bofellesskap Lia", 34),
    ("1132", "1130", "Dagsenteret", 6),
    ("1140", "1100", "Legekontoret", 18),
    ("1150", "1100", "Friskliv og rehabilitering", 4),
    ("1200", "1000", "Oppvekst", 3),
    ("1210", "1200", "Sentrum skole", 80),
    ("1220", "1200", "Lia skole", 45),
    ("1230", "1200", "Fjellheim ungdomsskole", 58),
    ("1240", "1200", "Solsiden barnehage", 38),
    ("1250", "1200", "Eventyrskogen barnehage", 28),
    ("1260", "1200", "Tuntreet barnehage", 3),
    ("1270", "1200", "Helsestasjon og skolehelsetjeneste", 13),
    ("1280", "1200", "PPT", 2),
    ("1290", "1200", "Kulturskolen", 12),
    ("1300", "1000", "Samfunnsutvikling", 2),
    ("1310", "1300", "Teknisk drift", 3),
    ("1311", "1310", "Vei og park", 25),
    ("1312", "1310", "Vann og avløp", 18),
    ("1313", "1310", "Renhold", 34),
    ("1320", "1300", "Byggesak og plan", 11),
    ("1330", "1300", "Eiendom", 1),
    ("1340", "1300", "Brann og redning", 36),
    ("1400", "1000", "Stab og støtte", 2),
    ("1410", "1400", "Økonomi", 16),
    ("1420", "1400", "HR og organisasjon", 10),
    ("1430", "1400", "IKT", 6),
    ("1440", "1400", "Servicetorget", 5),
    ("1450", "1400", "Arkiv", 4),
    ("1460", "1400", "Politisk sekretariat", 2),
];

/// (role, unit code): the verneombud and the tillitsvalgt of the demo, the
/// second person of each unit.
pub const REPRESENTATIVES: [(&str, &str); 2] = [("verneombud", "1200"), ("tillitsvalgt", "1100")];

/// The unit types the demo's norms are given for.
pub fn unit_type(code: &str) -> Option<&'static str> {
    match code {
        "1111" | "1112" | "1113" | "1114" => Some("sykehjem"),
        "1121" | "1122" | "1123" => Some("hjemmetjeneste"),
        "1210" | "1220" | "1230" => Some("skole"),
        "1240" | "1250" | "1260" => Some("barnehage"),
        _ => None,
    }
}

/// A mobile number for person `i` as an HR export writes it (spaces,
/// sometimes +47): every second person without e-mail has one, so the
/// demo has staff reached only by SMS beside those who get a paper letter,
/// and every tenth with e-mail too. Derived from the index, not drawn, so
/// the demo's random sequence is the one it always was.
fn mobile(i: usize, has_email: bool) -> Option<String> {
    let has = if has_email { i % 10 == 3 } else { i % 2 == 0 };
    has.then(|| {
        let n = 40_000_000 + (i * 7919) % 9_999_999;
        let d = format!("{}{:07}", if i % 3 == 0 { 9 } else { 4 }, n % 10_000_000);
        if i % 4 == 0 {
            format!("+47 {} {} {}", &d[..3], &d[3..5], &d[5..])
        } else {
            format!("{} {} {}", &d[..3], &d[3..5], &d[5..])
        }
    })
}

/// Units led by the leader of another unit: a person may lead several.
const SHARED_LEADERS: &[(&str, &str)] = &[("1132", "1130"), ("1330", "1310")];

const FIRST: &[&str] = &[
    "Anne",
    "Kari",
    "Ingrid",
    "Marit",
    "Liv",
    "Nora",
    "Emma",
    "Sara",
    "Ida",
    "Hanne",
    "Silje",
    "Maria",
    "Tone",
    "Randi",
    "Hilde",
    "Camilla",
    "Aisha",
    "Fatima",
    "Agnieszka",
    "Linh",
    "Ole",
    "Lars",
    "Jan",
    "Per",
    "Bjørn",
    "Kjetil",
    "Erik",
    "Jonas",
    "Magnus",
    "Emil",
    "Sindre",
    "Tor",
    "Ahmed",
    "Tomasz",
    "Mohammed",
    "Stian",
    "Geir",
    "Håkon",
    "Øystein",
    "Åse",
];
const LAST: &[&str] = &[
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Johannessen",
    "Andreassen",
    "Jacobsen",
    "Dahl",
    "Jørgensen",
    "Halvorsen",
    "Henriksen",
    "Lund",
    "Sørensen",
    "Jakobsen",
    "Moen",
    "Gundersen",
    "Iversen",
    "Strand",
    "Solberg",
    "Svendsen",
    "Eide",
    "Knutsen",
    "Martinsen",
    "Paulsen",
    "Bakken",
    "Kowalski",
    "Nguyen",
    "Ali",
];

/// The two HR files of the demo municipality, as CSV text.
pub struct DemoFiles {
    pub units_csv: String,
    pub employees_csv: String,
    pub employees: usize,
}

fn ascii_mail_part(s: &str) -> String {
    s.to_lowercase()
        .replace('æ', "ae")
        .replace('ø', "o")
        .replace('å', "a")
}

pub fn generate(seed: u64) -> DemoFiles {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut units_csv = String::from("unit_code;parent_code;name;unit_type\n");
    for (code, parent, name, _) in UNITS {
        let _ = writeln!(
            units_csv,
            "{code};{parent};{name};{}",
            unit_type(code).unwrap_or("")
        );
    }

    // Everyone, in unit order; the first person of each unit leads it.
    let mut people: Vec<(String, String, Option<String>, &str, &str)> = Vec::new();
    let mut first_of_unit = std::collections::HashMap::new();
    for (code, _, _, size) in UNITS {
        for i in 0..*size {
            let n = people.len() + 1;
            let first = FIRST.choose(&mut rng).expect("names");
            let last = LAST.choose(&mut rng).expect("names");
            // About one in fifteen has no e-mail and gets a paper letter.
            let email = (!rng.gen_bool(1.0 / 15.0)).then(|| {
                format!(
                    "{}.{}{n}@demo-kommune.no",
                    ascii_mail_part(first),
                    ascii_mail_part(last)
                )
            });
            let language = match rng.gen_range(0..100) {
                0..=84 => "nb",
                85..=96 => "nn",
                _ => "en",
            };
            if i == 0 {
                first_of_unit.insert(*code, people.len());
            }
            people.push((
                format!("E{n:05}"),
                format!("{first} {last}"),
                email,
                code,
                language,
            ));
        }
    }
    let mut leads: Vec<Vec<&str>> = vec![Vec::new(); people.len()];
    for (code, _, _, _) in UNITS {
        let from = SHARED_LEADERS
            .iter()
            .find(|(u, _)| u == code)
            .map(|(_, l)| *l)
            .unwrap_or(code);
        leads[first_of_unit[from]].push(code);
    }
    let mut roles: Vec<Vec<&str>> = vec![Vec::new(); people.len()];
    // The chief executive and the HR leader sit in AMU; so do four employee
    // representatives drawn from the big service areas.
    roles[first_of_unit["1000"]].push("amu");
    roles[first_of_unit["1420"]].push("amu");
    for code in ["1111", "1121", "1210", "1313"] {
        roles[first_of_unit[code] + 1].push("amu");
    }
    roles[first_of_unit["1420"] + 1].push("admin");
    roles[first_of_unit["1420"] + 2].push("admin");
    // The safety representative of Oppvekst and the union representative
    // of Helse og mestring go through their units' results with them.
    let mut represents: Vec<&str> = vec![""; people.len()];
    for (role, unit) in REPRESENTATIVES {
        let i = first_of_unit[unit] + 1;
        roles[i].push(role);
        represents[i] = unit;
    }

    let mut employees_csv = String::from(
        "employee_id;name;email;unit_code;leader_of;roles;language;mobile;represents\n",
    );
    for (i, (id, name, email, unit, lang)) in people.iter().enumerate() {
        let _ = writeln!(
            employees_csv,
            "{id};{name};{};{unit};{};{};{lang};{};{}",
            email.as_deref().unwrap_or(""),
            leads[i].join("|"),
            roles[i].join("|"),
            mobile(i, email.is_some()).unwrap_or_default(),
            represents[i],
        );
    }
    DemoFiles {
        units_csv,
        employees_csv,
        employees: people.len(),
    }
}

/// Imports a file the demo wrote itself, through the real importer; a
/// rejection is the demo's own defect.
fn import_own(
    conn: &mut DbConnection,
    kind: Kind,
    name: &str,
    text: &str,
) -> Result<(), crate::AppError> {
    import::import(conn, kind, name, text.as_bytes(), false).map_err(|e| match e {
        import::ImportError::App(e) => e,
        import::ImportError::Rejected(issues) => crate::AppError::damaged(format!(
            "demo file {name} rejected: {}",
            issues[0].render(crate::lang::Lang::En)
        )),
    })?;
    Ok(())
}

/// Loads the demo organisation into an empty database.
pub fn seed(conn: &mut DbConnection) -> Result<DemoFiles, import::ImportError> {
    let files = generate(SEED);
    import::import(
        conn,
        Kind::Units,
        "demo-units.csv",
        files.units_csv.as_bytes(),
        false,
    )?;
    import::import(
        conn,
        Kind::Employees,
        "demo-employees.csv",
        files.employees_csv.as_bytes(),
        false,
    )?;
    Ok(files)
}

/// The shipped questionnaires, compiled in so the demo runs from anywhere.
pub use crate::survey::builtin::{
    PRESENCE_MODULE as SURVEY_MODULE, TEN_FACTOR as SURVEY_10_FAKTOR,
};

/// Share of invited people who answer the demo's closed round.
pub const RESPONSE_RATE: f64 = 0.7;

pub struct DemoRounds {
    pub closed_round: crate::ids::RoundId,
    pub closed_responses: usize,
    /// Monthly absence rows imported (24 months per unit with people).
    pub absence_rows: usize,
    pub open_round: crate::ids::RoundId,
    pub open_invited: usize,
    /// Of those, invited by SMS (alone or beside an e-mail).
    pub open_by_sms: usize,
    pub followup: DemoFollowUp,
}

/// What the demo's follow-up cycle holds.
#[derive(Debug, Clone, Default)]
pub struct DemoFollowUp {
    pub targets: usize,
    pub measures: usize,
    pub national_quarters: usize,
    /// Units above their target in the latest month, accounts asked for
    /// and answered.
    pub above: usize,
    pub accounts: usize,
    pub answered: usize,
}

/// A measure of the demo: the unit, its type, its title, when it started
/// (days before today), the survey factor it addresses, and what it truly
/// does to the unit's absence from its start (percentage points).
pub struct PlannedMeasure {
    pub unit: &'static str,
    pub kind: &'static str,
    pub title: &'static str,
    pub started_days_ago: i64,
    pub factor: Option<&'static str>,
    pub absence_effect: f64,
}

/// «Leder før lege» truly lowers absence by 1.5 points in the units that
/// run it; «innsatsgruppe» does nothing; the follow-up of last year's
/// survey on role clarity (between the two closed rounds) raises that
/// factor in its units by half a point; a few others are there as a
/// register has them (one from before the absence data, one too recent to
/// tell, one in a unit too small to show). Enough units run none, at each
/// depth, to be the comparison (STATISTICS.md's controls).
pub const MEASURES: &[PlannedMeasure] = &[
    PlannedMeasure {
        unit: "1111",
        kind: "leder_for_lege",
        title: "Leder før lege ved egenmelding",
        started_days_ago: 420,
        factor: None,
        absence_effect: -1.5,
    },
    PlannedMeasure {
        unit: "1121",
        kind: "leder_for_lege",
        title: "Leder før lege",
        started_days_ago: 390,
        factor: None,
        absence_effect: -1.5,
    },
    PlannedMeasure {
        unit: "1311",
        kind: "leder_for_lege",
        title: "Leder før lege i uteseksjonen",
        started_days_ago: 400,
        factor: None,
        absence_effect: -1.5,
    },
    PlannedMeasure {
        unit: "1210",
        kind: "leder_for_lege",
        title: "Leder før lege",
        started_days_ago: 330,
        factor: None,
        absence_effect: -1.5,
    },
    PlannedMeasure {
        unit: "1230",
        kind: "leder_for_lege",
        title: "Leder før lege",
        started_days_ago: 300,
        factor: None,
        absence_effect: -1.5,
    },
    PlannedMeasure {
        unit: "1340",
        kind: "leder_for_lege",
        title: "Samtale med leder før legebesøk",
        started_days_ago: 350,
        factor: None,
        absence_effect: -1.5,
    },
    PlannedMeasure {
        unit: "1112",
        kind: "innsatsgruppe",
        title: "Innsatsgruppe med BHT",
        started_days_ago: 410,
        factor: None,
        absence_effect: 0.0,
    },
    PlannedMeasure {
        unit: "1312",
        kind: "innsatsgruppe",
        title: "Innsatsgruppe",
        started_days_ago: 370,
        factor: None,
        absence_effect: 0.0,
    },
    PlannedMeasure {
        unit: "1220",
        kind: "innsatsgruppe",
        title: "Innsatsgruppe for langtidssyke",
        started_days_ago: 340,
        factor: None,
        absence_effect: 0.0,
    },
    PlannedMeasure {
        unit: "1410",
        kind: "innsatsgruppe",
        title: "Innsatsgruppe",
        started_days_ago: 320,
        factor: None,
        absence_effect: 0.0,
    },
    PlannedMeasure {
        unit: "1250",
        kind: "oppfolging_undersokelse",
        title: "Hvem gjør hva i barnehagen",
        started_days_ago: 300,
        factor: Some("rolleklarhet"),
        absence_effect: 0.0,
    },
    PlannedMeasure {
        unit: "1320",
        kind: "oppfolging_undersokelse",
        title: "Tydelige roller i saksbehandlingen",
        started_days_ago: 260,
        factor: Some("rolleklarhet"),
        absence_effect: 0.0,
    },
    PlannedMeasure {
        unit: "1420",
        kind: "oppfolging_undersokelse",
        title: "Roller og ansvar i HR",
        started_days_ago: 250,
        factor: Some("rolleklarhet"),
        absence_effect: 0.0,
    },
    PlannedMeasure {
        unit: "1114",
        kind: "vernerunde",
        title: "Vernerunde på natt",
        started_days_ago: 800,
        factor: None,
        absence_effect: 0.0,
    },
    PlannedMeasure {
        unit: "1132",
        kind: "dialogmote_null",
        title: "Dialogmøte null ved gjentatt fravær",
        started_days_ago: 45,
        factor: None,
        absence_effect: 0.0,
    },
    PlannedMeasure {
        unit: "1150",
        kind: "nav_arbeidslivssenter",
        title: "IA-samarbeid med NAV arbeidslivssenter",
        started_days_ago: 500,
        factor: None,
        absence_effect: 0.0,
    },
];

/// How much a planned survey follow-up raises its factor in the round
/// after it started.
const SURVEY_EFFECT: f64 = 0.5;

/// A score from 1 to 5 around `mean`: a sum of uniforms is close enough to
/// normal noise for demo data.
fn likert(rng: &mut ChaCha8Rng, mean: f64) -> u8 {
    let noise: f64 = (0..4).map(|_| rng.gen_range(-0.5..0.5)).sum::<f64>() * 0.9;
    (mean + noise).round().clamp(1.0, 5.0) as u8
}

/// Four rounds: three closed (two years ago, last year and this autumn),
/// each answered by about 70 % through the same function a web submission
/// calls (so this autumn's results show changes since last year, and every
/// unit a trend of three points); and the next, open, its invitations (by
/// e-mail, and by SMS to those with only a mobile number when `sms`)
/// waiting in the outbox. Of the closed rounds only this autumn's "results
/// are ready" messages wait; the older ones went out long ago.
pub fn seed_rounds(
    conn: &mut DbConnection,
    key: &crate::crypto::SecretKey,
    k: u32,
    account_days: u32,
    sms: bool,
) -> Result<DemoRounds, crate::AppError> {
    use crate::crypto::lookup_hash;
    use crate::db::schema::invitations;
    use crate::rounds::answer::{self, Answers};
    use crate::rounds::{self, NewRound};
    use diesel::prelude::*;

    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 1);
    let today = rounds::today();
    // Each unit has its own climate: a shift per factor shared by its
    // people, drifting a little from one year to the next. The factors that
    // drive the demo's absence share one "leadership climate" per unit, as
    // such factors do in real data; the others vary on their own. Keys are
    // unit codes and maps are ordered, so the same seed gives the same
    // municipality every time.
    let mut unit_shift: std::collections::BTreeMap<(String, String), f64> =
        std::collections::BTreeMap::new();
    let mut common: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
    let is_driver = |factor: &str| {
        ABSENCE_DRIVERS
            .iter()
            .any(|d| factor == format!("10-faktor.{d}"))
    };
    let mut last = (crate::ids::RoundId::default(), 0);
    for (title, ago) in [
        ("Medarbeiderundersøkelse høsten 2024", 730),
        ("Medarbeiderundersøkelse høsten 2025", 365),
        ("Medarbeiderundersøkelse høsten 2026", 0),
    ] {
        let closed = rounds::create(
            conn,
            k,
            NewRound {
                title: title.into(),
                surveys: vec![SURVEY_10_FAKTOR.into(), SURVEY_MODULE.into()],
                unit_code: None,
                opens_on: today - chrono::Duration::days(21),
                closes_on: today,
                min_group_size: k,
                delivery: crate::rounds::Delivery::Email,
            },
        )?;
        rounds::open(conn, key, &closed.id)?;
        let surveys = closed.surveys(conn)?;
        use crate::db::schema::{employees, units};
        let invs: Vec<(String, String)> = invitations::table
            .inner_join(employees::table)
            .inner_join(units::table.on(units::id.eq(invitations::unit_id)))
            .filter(invitations::round_id.eq(&closed.id))
            .order(employees::employee_number)
            .select((invitations::id, units::code))
            .load(conn)?;
        let mut drift: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
        for ((unit, factor), v) in unit_shift.iter_mut() {
            *v += if is_driver(factor) {
                *drift
                    .entry(unit.clone())
                    .or_insert_with(|| rng.gen_range(-0.3..0.3))
            } else {
                rng.gen_range(-0.6..0.6)
            };
            // A follow-up of last year's survey that started before this
            // round closed lifts its factor.
            if MEASURES.iter().any(|m| {
                m.unit == unit.as_str()
                    && m.started_days_ago < ago + 365
                    && m.started_days_ago > ago
                    && m.factor
                        .is_some_and(|f| *factor == format!("10-faktor.{f}"))
            }) {
                *v += SURVEY_EFFECT;
            }
        }
        let mut responses = 0;
        for (inv, unit) in &invs {
            if !rng.gen_bool(RESPONSE_RATE) {
                continue;
            }
            let mut a = Answers::default();
            for s in surveys.iter() {
                for item in &s.items {
                    let factor = format!("{}.{}", s.id, item.factor);
                    let shift = match unit_shift.get(&(unit.clone(), factor.clone())) {
                        Some(v) => *v,
                        None => {
                            let v = if is_driver(&factor) {
                                let c = *common
                                    .entry(unit.clone())
                                    .or_insert_with(|| rng.gen_range(-0.8..0.8));
                                0.9 * c + rng.gen_range(-0.1..0.1)
                            } else {
                                rng.gen_range(-0.8..0.8)
                            };
                            unit_shift.insert((unit.clone(), factor), v);
                            v
                        }
                    };
                    let field = answer::item_field(s, &item.key);
                    match rng.gen_range(0..100) {
                        0..=3 => continue,
                        4..=7 => {
                            a.items.insert(field, 0);
                        }
                        _ => {
                            let v = likert(&mut rng, 3.7 + shift);
                            a.items.insert(field, if item.reverse { 6 - v } else { v });
                        }
                    }
                }
                for b in &s.background {
                    if rng.gen_bool(0.85) {
                        let o = &b.options[rng.gen_range(0..b.options.len())];
                        a.background
                            .insert(answer::background_field(s, &b.key), o.key.clone());
                    }
                }
            }
            let hash = lookup_hash(&key.survey_token(inv));
            if answer::submit(conn, &hash, &surveys, &a)? == answer::Submitted::Stored {
                responses += 1;
            }
        }
        rounds::close(conn, &closed.id, true)?;
        if ago > 0 {
            // Answers are only taken while a round is open, so last year's
            // round ran today and is dated back afterwards.
            use crate::db::schema::rounds as r;
            let date = |d: chrono::NaiveDate| d.format(rounds::DATE_FORMAT).to_string();
            diesel::update(r::table.find(&closed.id))
                .set((
                    r::opens_on.eq(date(today - chrono::Duration::days(ago + 21))),
                    r::closes_on.eq(date(today - chrono::Duration::days(ago))),
                    r::created_at.eq(crate::db::now_unix() - ago * 86_400),
                    r::closed_at.eq(crate::db::now_unix() - ago * 86_400),
                ))
                .execute(conn)?;
            use crate::db::schema::{outbox, results_batches};
            diesel::delete(
                outbox::table
                    .filter(outbox::round_id.eq(&closed.id))
                    .filter(outbox::kind.eq("results")),
            )
            .execute(conn)?;
            diesel::delete(results_batches::table.filter(results_batches::round_id.eq(&closed.id)))
                .execute(conn)?;
        }
        last = (closed.id, responses);
    }
    let (closed_id, responses) = last;
    let absence_rows = seed_absence(conn, &unit_shift, &mut rng)?;

    let open = rounds::create(
        conn,
        k,
        NewRound {
            title: "Medarbeiderundersøkelse 2027".into(),
            surveys: vec![SURVEY_10_FAKTOR.into(), SURVEY_MODULE.into()],
            unit_code: None,
            opens_on: today,
            closes_on: today + chrono::Duration::days(14),
            min_group_size: k,
            delivery: crate::rounds::Delivery::Email,
        },
    )?;
    let summary = rounds::open_reaching(conn, key, &open.id, sms)?;
    let followup = seed_followup(conn, k, account_days)?;
    import_own(conn, Kind::Norms, "normer.csv", &norms_csv())?;
    Ok(DemoRounds {
        closed_round: closed_id,
        closed_responses: responses,
        absence_rows,
        open_round: open.id,
        open_invited: summary.invited,
        open_by_sms: summary.by_sms,
        followup,
    })
}

/// A norm file as a municipality brings it (these figures are made up for
/// the demo): factor means per unit type in two scopes, with decimal
/// commas, as the published tables give them.
pub fn norms_csv() -> String {
    let mut csv = String::from("enhetstype;faktor;snitt;utvalg\r\n");
    let factors = [
        ("indre_motivasjon", 4.3),
        ("mestringstro", 4.2),
        ("autonomi", 4.0),
        ("bruk_av_kompetanse", 4.1),
        ("mestringsorientert_ledelse", 3.8),
        ("rolleklarhet", 4.0),
        ("relevant_kompetanseutvikling", 3.6),
        ("fleksibilitetsvilje", 4.2),
        ("mestringsklima", 3.9),
        ("prososial_motivasjon", 4.5),
    ];
    for (t, shift) in [
        ("sykehjem", -0.15),
        ("hjemmetjeneste", -0.1),
        ("skole", 0.05),
        ("barnehage", 0.1),
    ] {
        for (f, mean) in factors {
            for (scope, by) in [("nasjonalt", 0.0), ("fylket", -0.05)] {
                let v = format!("{:.2}", mean + shift + by).replace('.', ",");
                let _ = write!(csv, "{t};10-faktor/{f};{v};{scope}\r\n");
            }
        }
    }
    csv
}

/// The factors whose unit climate drives the demo's absence; the others
/// do not, so the AMU analysis has a true story to tell.
pub const ABSENCE_DRIVERS: [&str; 3] = [
    "mestringsklima",
    "rolleklarhet",
    "mestringsorientert_ledelse",
];

/// 24 months of absence per unit with people, through the real importer:
/// a base rate per service area (the work itself differs), plus an effect
/// of the unit's climate on [`ABSENCE_DRIVERS`] only, plus noise.
fn seed_absence(
    conn: &mut DbConnection,
    unit_shift: &std::collections::BTreeMap<(String, String), f64>,
    rng: &mut ChaCha8Rng,
) -> Result<usize, crate::AppError> {
    use chrono::Datelike;
    let today = crate::rounds::today();
    let first_of_month =
        |y: i32, m: u32| chrono::NaiveDate::from_ymd_opt(y, m, 1).expect("a month");
    // The 24 whole months before this one.
    let mut months = Vec::new();
    let (mut y, mut m) = (today.year(), today.month());
    for _ in 0..24 {
        if m == 1 {
            y -= 1;
            m = 12;
        } else {
            m -= 1;
        }
        months.push(first_of_month(y, m));
    }
    months.reverse();
    let mut csv = String::from(
        "enhetskode;fra;til;avtalte_dagsverk;tapte_dagsverk;egenmeldt;legemeldt;langtid;antall_ansatte\n",
    );
    let mut rows = 0;
    for (code, _, _, people) in UNITS.iter().filter(|u| u.3 > 0) {
        let area_base = match &code[..2] {
            "11" => 7.0,
            "12" => 6.2,
            "13" => 5.8,
            _ => 5.0,
        };
        let climate: f64 = ABSENCE_DRIVERS
            .iter()
            .map(|f| {
                unit_shift
                    .get(&(code.to_string(), format!("10-faktor.{f}")))
                    .copied()
                    .unwrap_or(0.0)
            })
            .sum::<f64>()
            / ABSENCE_DRIVERS.len() as f64;
        let unit_rate = (area_base - 4.5 * climate + rng.gen_range(-1.0..1.0)).max(1.0);
        for start in &months {
            let next = if start.month() == 12 {
                first_of_month(start.year() + 1, 1)
            } else {
                first_of_month(start.year(), start.month() + 1)
            };
            let end = next - chrono::Duration::days(1);
            let season = 1.0
                + 0.25 * ((f64::from(start.month()) - 1.0) / 12.0 * std::f64::consts::TAU).cos();
            let agreed = *people as f64 * 21.0;
            let effect: f64 = MEASURES
                .iter()
                .filter(|m| {
                    m.unit == *code && today - chrono::Duration::days(m.started_days_ago) <= *start
                })
                .map(|m| m.absence_effect)
                .sum();
            let rate = (unit_rate * season + effect).max(0.5);
            let lost = (agreed * rate / 100.0 * rng.gen_range(0.8..1.2)).min(agreed);
            let lost = (lost * 2.0).round() / 2.0;
            let own = (lost * 0.2 * 2.0).round() / 2.0;
            let long = (lost * 0.5 * 2.0).round() / 2.0;
            let _ = writeln!(
                csv,
                "{code};{};{};{};{};{};{};{};{people}",
                start.format("%d.%m.%Y"),
                end.format("%d.%m.%Y"),
                format!("{agreed:.1}").replace('.', ","),
                format!("{lost:.1}").replace('.', ","),
                format!("{own:.1}").replace('.', ","),
                format!("{:.1}", lost - own).replace('.', ","),
                format!("{long:.1}").replace('.', ","),
            );
            rows += 1;
        }
    }
    import_own(conn, Kind::Absence, "fravaer.csv", &csv)?;
    Ok(rows)
}

/// Through the real importers: targets (the organisation's, two areas',
/// a unit's own, and one of a unit too small to be named), the national
/// reference as SSB's statistics bank gives it, and [`MEASURES`]; then the
/// check of the latest month asks the units above target for a written
/// account, and some of their leaders answer.
fn seed_followup(
    conn: &mut DbConnection,
    k: u32,
    account_days: u32,
) -> Result<DemoFollowUp, crate::AppError> {
    use chrono::Datelike;
    let today = crate::rounds::today();
    let mut out = DemoFollowUp::default();
    let mut targets = String::from("enhetskode;år;måltall;type\r\n");
    for year in [today.year() - 1, today.year()] {
        for (unit, value, kind) in [
            ("1000", "6,5", "total"),
            ("1100", "7,5", "total"),
            ("1300", "5,5", "total"),
            ("1111", "6", "total"),
            // Three employees: never named as above or below.
            ("1260", "3", "total"),
            ("1000", "nasjonalt", "langtid"),
        ] {
            let _ = write!(targets, "{unit};{year};{value};{kind}\r\n");
            out.targets += 1;
        }
    }
    import_own(conn, Kind::Targets, "maltall.csv", &targets)?;
    // SSB table 12524, the municipal sector, both sexes: the quarters of
    // the last three years.
    let mut ssb = String::from(
        "\"12524: Sykefravær for lønnstakere i kommuneforvaltningen, etter sykefraværstype, statistikkvariabel og kvartal\"\r\n\r\n\"sykefraværstype\";\"kvartal\";\"Sykefraværsprosent\"\r\n",
    );
    for year in today.year() - 2..=today.year() {
        for q in 1..=4u32 {
            let season = [0.8, -0.4, -0.6, 0.2][q as usize - 1];
            for (name, base) in [
                ("Egenmeldt og legemeldt", 8.1),
                ("Egenmeldt", 1.2),
                ("Legemeldt", 6.9),
            ] {
                let v = base + season * base / 8.1;
                let _ = write!(
                    ssb,
                    "\"{name}\";\"{year}K{q}\";{}\r\n",
                    format!("{v:.1}").replace('.', ",")
                );
            }
            out.national_quarters += 1;
        }
    }
    import_own(conn, Kind::National, "12524.csv", &ssb)?;
    let mut csv = String::from("enhetskode;tiltak;type;start;slutt;ansvarlig;faktor\r\n");
    for m in MEASURES {
        let start = today - chrono::Duration::days(m.started_days_ago);
        let end = (m.kind == "vernerunde").then(|| start + chrono::Duration::days(14));
        let _ = write!(
            csv,
            "{};{};{};{};{};Enhetsleder;{}\r\n",
            m.unit,
            m.title,
            m.kind,
            start.format("%d.%m.%Y"),
            end.map_or(String::new(), |d| d.format("%d.%m.%Y").to_string()),
            m.factor.map_or(String::new(), |f| format!("10-faktor/{f}")),
        );
        out.measures += 1;
    }
    import_own(conn, Kind::Measures, "tiltak.csv", &csv)?;
    let checked = crate::followup::check(conn, k, account_days)?;
    out.above = checked.above;
    let accounts = crate::followup::accounts::all(conn)?;
    out.accounts = accounts.len();
    for a in accounts.iter().step_by(2) {
        crate::followup::accounts::answer(
            conn,
            &a.id,
            &crate::followup::accounts::Answer {
                done_now: "Vi følger opp sykmeldte tett med samtaler hver uke og har sykefravær som fast sak på personalmøtene.".into(),
                planned: "Vi innfører «leder før lege» fra neste måned og ber BHT om en gjennomgang av arbeidsmiljøet.".into(),
                support: vec!["bht".into(), "hr".into()],
                support_other: String::new(),
            },
        )?;
        out.answered += 1;
    }
    Ok(out)
}

/// Someone the demo prints a sign-in link for.
#[derive(Debug, Clone)]
pub struct DemoPerson {
    pub role: &'static str,
    pub name: String,
    pub email: String,
    pub id: crate::ids::EmployeeId,
}

/// The people the demo prints sign-in links for: the leader of Oppvekst
/// (whose units include hidden groups), an AMU member who is not a leader,
/// an administrator, and the verneombud and the tillitsvalgt.
pub fn sign_in_people(conn: &mut DbConnection) -> Result<Vec<DemoPerson>, crate::AppError> {
    use crate::db::schema::{employee_roles, employees, unit_leaders, units};
    use diesel::prelude::*;
    let mut out = Vec::new();
    let leader: (String, String, Option<String>) = unit_leaders::table
        .inner_join(units::table)
        .inner_join(employees::table)
        .filter(units::code.eq("1200"))
        .select((employees::id, employees::name, employees::email))
        .first(conn)?;
    out.push(("leader", leader));
    let leaders: Vec<String> = unit_leaders::table
        .select(unit_leaders::employee_id)
        .load(conn)?;
    for role in ["amu", "admin", "verneombud", "tillitsvalgt"] {
        let mut q = employee_roles::table
            .inner_join(employees::table)
            .filter(employee_roles::role.eq(role))
            .filter(employees::id.ne_all(&leaders))
            .into_boxed();
        // AMU and administrators with an address, to ask for a new link.
        if role == "amu" || role == "admin" {
            q = q.filter(employees::email.is_not_null());
        }
        let p: (String, String, Option<String>) = q
            .order(employees::employee_number)
            .select((employees::id, employees::name, employees::email))
            .first(conn)?;
        out.push((role, p));
    }
    Ok(out
        .into_iter()
        .map(|(role, (id, name, email))| DemoPerson {
            role,
            name,
            email: email.unwrap_or_default(),
            id: id.into(),
        })
        .collect())
}
