//! The register of measures (tiltak): one list for everything units do to
//! bring absence down or to follow up a survey — entered on a unit's page,
//! by AMU or administrators, imported from `measures.csv`, and the action
//! plans of survey results (a measure that names the round it follows up
//! and one of its factors). Types come from a catalogue seeded from the
//! municipal documents; administrators may add types.

use super::org::OrgTree;
use crate::db::schema::{measure_types, measure_units, measures};
use crate::db::{now_unix, DbConnection};
use crate::error::MeasureProblem;
use crate::ids::{RoundId, UnitId};
use crate::lang::Lang;
use crate::AppError;
use chrono::NaiveDate;
use diesel::prelude::*;
use std::collections::HashMap;

pub const MAX_TITLE: usize = 2000;
pub const MAX_RESPONSIBLE: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = measure_types)]
pub struct MeasureType {
    pub key: String,
    pub name_nb: String,
    pub name_nn: String,
    pub name_en: String,
    pub builtin: bool,
}

impl MeasureType {
    pub fn name(&self, l: Lang) -> &str {
        l.pick(&self.name_nb, &self.name_nn, &self.name_en)
    }
}

/// The catalogue, by key.
pub fn types(conn: &mut DbConnection) -> Result<Vec<MeasureType>, AppError> {
    Ok(measure_types::table
        .order((measure_types::builtin.desc(), measure_types::key))
        .select(MeasureType::as_select())
        .load(conn)?)
}

/// Adds a type to the catalogue (administrators).
pub fn add_type(conn: &mut DbConnection, t: &MeasureType) -> Result<(), AppError> {
    let mut problems = Vec::new();
    let key = t.key.trim();
    if key.is_empty()
        || key.len() > 60
        || !key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        problems.push(MeasureProblem::BadTypeKey(key.to_string()));
    }
    if [&t.name_nb, &t.name_nn, &t.name_en]
        .iter()
        .any(|n| n.trim().is_empty() || n.chars().count() > 200)
    {
        problems.push(MeasureProblem::TypeNameMissing);
    }
    crate::db::write_transaction(conn, |conn| {
        let exists: i64 = measure_types::table
            .filter(measure_types::key.eq(key))
            .count()
            .get_result(conn)?;
        if exists > 0 {
            problems.push(MeasureProblem::TypeExists(key.to_string()));
        }
        if !problems.is_empty() {
            return Err(crate::error::UserError::Measure(problems.clone()).into());
        }
        diesel::insert_into(measure_types::table)
            .values((
                measure_types::key.eq(key),
                measure_types::name_nb.eq(t.name_nb.trim()),
                measure_types::name_nn.eq(t.name_nn.trim()),
                measure_types::name_en.eq(t.name_en.trim()),
                measure_types::builtin.eq(false),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Where a measure stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Planned,
    Ongoing,
    Done,
    Stopped,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Planned,
        Status::Ongoing,
        Status::Done,
        Status::Stopped,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::Ongoing => "ongoing",
            Status::Done => "done",
            Status::Stopped => "stopped",
        }
    }

    /// A key, or its name in any of the three languages.
    pub fn parse(s: &str) -> Option<Status> {
        let s = s.trim().to_lowercase();
        Status::ALL
            .into_iter()
            .find(|st| st.key() == s || Lang::ALL.iter().any(|l| st.name(*l).to_lowercase() == s))
    }

    pub fn name(self, l: Lang) -> &'static str {
        match self {
            Status::Planned => l.pick("planlagt", "planlagt", "planned"),
            Status::Ongoing => l.pick("pågår", "pågår", "ongoing"),
            Status::Done => l.pick("fullført", "fullført", "done"),
            Status::Stopped => l.pick("avbrutt", "avbrote", "stopped"),
        }
    }
}

/// A measure of the register.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Measure {
    pub id: String,
    pub title: String,
    pub type_key: String,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub responsible: String,
    pub status: Status,
    /// `survey/key` of a survey factor it addresses.
    pub factor: Option<String>,
    /// The survey round it follows up (an action plan's measure).
    pub round_id: Option<RoundId>,
    pub units: Vec<UnitId>,
    pub updated_at: i64,
}

type Row = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<RoundId>,
    i64,
);

fn date(s: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(s, crate::db::models::DATE_FORMAT)
        .map_err(|e| AppError::damaged_by(format!("a measure's date {s}"), e))
}

fn day(d: NaiveDate) -> String {
    d.format(crate::db::models::DATE_FORMAT).to_string()
}

/// Every measure with its units, oldest start first.
pub fn all(conn: &mut DbConnection) -> Result<Vec<Measure>, AppError> {
    load(conn, None)
}

/// The measures of a round's action plan at one unit.
pub fn of_plan(
    conn: &mut DbConnection,
    round_id: &crate::ids::RoundId,
    unit_id: &UnitId,
) -> Result<Vec<Measure>, AppError> {
    let ids: Vec<String> = measures::table
        .inner_join(measure_units::table)
        .filter(measures::round_id.eq(round_id))
        .filter(measure_units::unit_id.eq(unit_id))
        .select(measures::id)
        .load(conn)?;
    load(conn, Some(&ids))
}

/// The measures with the given ids (every one with None), by start.
fn load(conn: &mut DbConnection, only: Option<&[String]>) -> Result<Vec<Measure>, AppError> {
    let mut q = measures::table.into_boxed();
    let mut u = measure_units::table.into_boxed();
    if let Some(ids) = only {
        q = q.filter(measures::id.eq_any(ids));
        u = u.filter(measure_units::measure_id.eq_any(ids));
    }
    let rows: Vec<Row> = q
        .order((measures::started_on, measures::id))
        .select((
            measures::id,
            measures::title,
            measures::type_key,
            measures::started_on,
            measures::ended_on,
            measures::responsible,
            measures::status,
            measures::factor,
            measures::round_id,
            measures::updated_at,
        ))
        .load(conn)?;
    let mut units: HashMap<String, Vec<UnitId>> = HashMap::new();
    for (m, u) in u
        .order((measure_units::measure_id, measure_units::unit_id))
        .select((measure_units::measure_id, measure_units::unit_id))
        .load::<(String, UnitId)>(conn)?
    {
        units.entry(m).or_default().push(u);
    }
    rows.into_iter()
        .map(
            |(
                id,
                title,
                type_key,
                start,
                end,
                responsible,
                status,
                factor,
                round_id,
                updated_at,
            )| {
                Ok(Measure {
                    units: units.remove(&id).unwrap_or_default(),
                    id,
                    title,
                    type_key,
                    started_on: date(&start)?,
                    ended_on: end.as_deref().map(date).transpose()?,
                    responsible,
                    status: Status::parse(&status)
                        .ok_or_else(|| AppError::damaged(format!("a measure's status {status}")))?,
                    factor,
                    round_id,
                    updated_at,
                })
            },
        )
        .collect()
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Measure>, AppError> {
    Ok(load(conn, Some(&[id.to_string()]))?.pop())
}

/// Which measures a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub type_key: Option<String>,
    /// A service area (or any unit): measures at it or below it.
    pub area: Option<usize>,
    pub factor: Option<String>,
    pub status: Option<Status>,
    /// Only measures at or below these units (a leader's own), when given.
    pub within: Option<Vec<usize>>,
}

impl Filter {
    pub fn keeps(&self, tree: &OrgTree, m: &Measure) -> bool {
        let at: Vec<usize> = m.units.iter().filter_map(|u| tree.get(u)).collect();
        self.type_key.as_ref().map_or(true, |t| &m.type_key == t)
            && self
                .factor
                .as_ref()
                .map_or(true, |f| m.factor.as_ref() == Some(f))
            && self.status.map_or(true, |s| m.status == s)
            && self
                .area
                .map_or(true, |a| at.iter().any(|u| tree.is_within(*u, a)))
            && self.within.as_ref().map_or(true, |own| {
                at.iter()
                    .any(|u| own.iter().any(|o| tree.is_within(*u, *o)))
            })
    }
}

/// A measure as a person enters it or a file gives it.
#[derive(Debug, Clone, Default)]
pub struct NewMeasure {
    pub title: String,
    pub type_key: String,
    pub started_on: String,
    pub ended_on: String,
    pub responsible: String,
    pub status: String,
    pub factor: String,
    pub units: Vec<UnitId>,
    pub round_id: Option<RoundId>,
}

/// The factors a measure may name: `survey/key` of every factor of the
/// shipped questionnaires and of every round's; a bare key is found among
/// them.
pub fn known_factors(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: &crate::survey::Survey| {
        for f in &s.factors {
            out.push(format!("{}/{}", s.id, f.key));
        }
    };
    for text in [
        crate::survey::builtin::TEN_FACTOR,
        crate::survey::builtin::PRESENCE_MODULE,
    ] {
        if let Ok(s) = crate::survey::parse(text) {
            add(&s);
        }
    }
    use crate::db::schema::round_surveys;
    let contents: Vec<String> = round_surveys::table
        .select(round_surveys::content)
        .distinct()
        .load(conn)?;
    for c in contents {
        if let Ok(s) = crate::survey::parse(&c) {
            add(&s);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `survey/key`, or a bare factor key that names one known factor.
pub fn canonical_factor(known: &[String], given: &str) -> Option<String> {
    let g = given.trim();
    if known.iter().any(|k| k == g) {
        return Some(g.to_string());
    }
    let matching: Vec<&String> = known
        .iter()
        .filter(|k| k.rsplit('/').next() == Some(g))
        .collect();
    (matching.len() == 1).then(|| matching[0].clone())
}

/// The measure, checked: every problem, or the values to store.
pub struct Checked {
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub status: Status,
    pub factor: Option<String>,
}

/// Checks a measure against the catalogue, the known factors and today;
/// every problem is returned, with the field it concerns.
pub fn check(
    new: &NewMeasure,
    types: &[MeasureType],
    factors: &[String],
    today: NaiveDate,
) -> Result<Checked, Vec<(&'static str, MeasureProblem)>> {
    let mut p = Vec::new();
    let title = new.title.trim();
    if title.is_empty() {
        p.push(("title", MeasureProblem::TitleMissing));
    } else if title.chars().count() > MAX_TITLE {
        p.push((
            "title",
            MeasureProblem::TooLong {
                field: "title",
                max: MAX_TITLE,
            },
        ));
    }
    if new.responsible.trim().chars().count() > MAX_RESPONSIBLE {
        p.push((
            "responsible",
            MeasureProblem::TooLong {
                field: "responsible",
                max: MAX_RESPONSIBLE,
            },
        ));
    }
    let key = new.type_key.trim();
    if !types.iter().any(|t| {
        t.key == key
            || Lang::ALL
                .iter()
                .any(|l| t.name(*l).eq_ignore_ascii_case(key))
    }) {
        p.push(("type", MeasureProblem::UnknownType(key.to_string())));
    }
    let parse = |field: &'static str, s: &str, p: &mut Vec<_>| -> Option<NaiveDate> {
        let d = crate::lang::parse_date(s);
        if d.is_none() {
            p.push((
                field,
                MeasureProblem::BadDate {
                    field,
                    given: s.trim().to_string(),
                },
            ));
        }
        d
    };
    let start = parse("started_on", &new.started_on, &mut p);
    let end = match new.ended_on.trim() {
        "" => None,
        e => parse("ended_on", e, &mut p),
    };
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            p.push(("ended_on", MeasureProblem::EndBeforeStart));
        }
    }
    if start.is_some_and(|s| s > today + chrono::Months::new(12)) {
        p.push(("started_on", MeasureProblem::StartTooFarAhead));
    }
    let status = match new.status.trim() {
        "" => Some(match (start, end) {
            (Some(s), _) if s > today => Status::Planned,
            (_, Some(e)) if e <= today => Status::Done,
            _ => Status::Ongoing,
        }),
        s => {
            let st = Status::parse(s);
            if st.is_none() {
                p.push(("status", MeasureProblem::BadStatus(s.to_string())));
            }
            st
        }
    };
    let factor = match new.factor.trim() {
        "" => None,
        f => {
            let c = canonical_factor(factors, f);
            if c.is_none() {
                p.push(("factor", MeasureProblem::UnknownFactor(f.to_string())));
            }
            c
        }
    };
    if new.units.is_empty() {
        p.push(("unit_code", MeasureProblem::NoUnit));
    }
    match (p.is_empty(), start, status) {
        (true, Some(start), Some(status)) => Ok(Checked {
            start,
            end,
            status,
            factor,
        }),
        _ => Err(p),
    }
}

/// The catalogue key of a type given by key or name.
pub fn type_key(types: &[MeasureType], given: &str) -> Option<String> {
    let g = given.trim();
    types
        .iter()
        .find(|t| t.key == g || Lang::ALL.iter().any(|l| t.name(*l).eq_ignore_ascii_case(g)))
        .map(|t| t.key.clone())
}

/// Stores a checked measure; returns its id.
pub fn insert(
    conn: &mut DbConnection,
    new: &NewMeasure,
    checked: &Checked,
    types: &[MeasureType],
) -> Result<String, AppError> {
    let id = crate::crypto::new_id();
    let now = now_unix();
    let key = type_key(types, &new.type_key)
        .ok_or_else(|| AppError::internal("a checked measure has a known type"))?;
    crate::db::write_transaction(conn, |conn| {
        diesel::insert_into(measures::table)
            .values((
                measures::id.eq(&id),
                measures::title.eq(new.title.trim()),
                measures::type_key.eq(&key),
                measures::started_on.eq(day(checked.start)),
                measures::ended_on.eq(checked.end.map(day)),
                measures::responsible.eq(new.responsible.trim()),
                measures::status.eq(checked.status.key()),
                measures::factor.eq(&checked.factor),
                measures::round_id.eq(&new.round_id),
                measures::created_at.eq(now),
                measures::updated_at.eq(now),
            ))
            .execute(conn)?;
        let mut units = new.units.clone();
        units.sort();
        units.dedup();
        for u in units {
            diesel::insert_into(measure_units::table)
                .values((
                    measure_units::measure_id.eq(&id),
                    measure_units::unit_id.eq(u),
                ))
                .execute(conn)?;
        }
        Ok(id.clone())
    })
}

/// Checks and stores a measure entered on a page; every problem in the
/// person's language, nothing stored unless all is well.
pub fn add(conn: &mut DbConnection, new: &NewMeasure) -> Result<String, AppError> {
    let types = types(conn)?;
    let factors = known_factors(conn)?;
    let checked = check(new, &types, &factors, crate::db::models::today()).map_err(|p| {
        AppError::from(crate::error::UserError::Measure(
            p.into_iter().map(|(_, x)| x).collect(),
        ))
    })?;
    insert(conn, new, &checked, &types)
}

/// Changes a measure's status. A measure that ends keeps the end date it
/// had (a plan's due date), else ends today; one that goes on again keeps
/// its planned end.
pub fn set_status(conn: &mut DbConnection, id: &str, status: Status) -> Result<(), AppError> {
    let current: Option<Option<String>> = measures::table
        .find(id)
        .select(measures::ended_on)
        .get_result(conn)
        .optional()?;
    let Some(current) = current else {
        return Err(AppError::NotFound);
    };
    let ended = match status {
        Status::Done | Status::Stopped => {
            Some(current.unwrap_or_else(|| day(crate::db::models::today())))
        }
        Status::Planned | Status::Ongoing => current,
    };
    let n = diesel::update(measures::table.find(id))
        .set((
            measures::status.eq(status.key()),
            measures::ended_on.eq(ended),
            measures::updated_at.eq(now_unix()),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}
