//! The units' action plans: a leader's measures for their own units after a
//! round, at most a few factors and a dozen measures per unit and round.

use crate::db::schema::{action_items, rounds, units};
use crate::db::DbConnection;
use crate::lang::Lang;
use crate::AppError;
use diesel::prelude::*;
use serde::Serialize;

/// One measure of a unit's action plan.
#[derive(Debug, Clone, Serialize, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::db::schema::action_items)]
pub struct ActionItem {
    pub id: String,
    pub round_id: crate::ids::RoundId,
    pub unit_id: String,
    pub factor: String,
    pub measure: String,
    pub responsible: String,
    pub due_on: String,
    pub done: bool,
    pub updated_at: i64,
}

/// Distinct factors one unit's plan may name for one round.
pub const MAX_PLAN_FACTORS: usize = 3;
pub const MAX_PLAN_ITEMS: i64 = 12;

/// What a leader submits for a new measure.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct NewAction {
    #[serde(default)]
    pub factor: String,
    #[serde(default)]
    pub measure: String,
    #[serde(default)]
    pub responsible: String,
    #[serde(default)]
    pub due_on: String,
}

pub fn for_unit(
    conn: &mut DbConnection,
    round_id: &str,
    unit_id: &str,
) -> QueryResult<Vec<ActionItem>> {
    action_items::table
        .filter(action_items::round_id.eq(round_id))
        .filter(action_items::unit_id.eq(unit_id))
        .order((action_items::due_on, action_items::id))
        .select(ActionItem::as_select())
        .load(conn)
}

/// Validates and stores a measure. `factors` are the round's factor
/// values (`survey/key`). Every problem is named, in the viewer's
/// language, and nothing is stored unless all is well.
pub fn add(
    conn: &mut DbConnection,
    round_id: &str,
    unit_id: &str,
    factors: &[String],
    new: &NewAction,
    lang: Lang,
) -> Result<ActionItem, AppError> {
    let mut problems = Vec::new();
    if !factors.contains(&new.factor) {
        problems.push(
            lang.pick(
                "Velg en av faktorene.",
                "Vel ein av faktorane.",
                "Choose one of the factors.",
            )
            .to_string(),
        );
    }
    let measure = new.measure.trim();
    if measure.is_empty() || measure.chars().count() > 2000 {
        problems.push(
            lang.pick(
                "Beskriv tiltaket (høyst 2000 tegn).",
                "Skildre tiltaket (høgst 2000 teikn).",
                "Describe the measure (at most 2000 characters).",
            )
            .to_string(),
        );
    }
    let responsible = new.responsible.trim();
    if responsible.is_empty() || responsible.chars().count() > 200 {
        problems.push(
            lang.pick(
                "Skriv hvem som er ansvarlig (høyst 200 tegn).",
                "Skriv kven som er ansvarleg (høgst 200 teikn).",
                "Name who is responsible (at most 200 characters).",
            )
            .to_string(),
        );
    }
    let due = chrono::NaiveDate::parse_from_str(new.due_on.trim(), crate::rounds::DATE_FORMAT);
    if due.is_err() {
        problems.push(
            lang.pick(
                "Fristen må være en dato (åååå-mm-dd).",
                "Fristen må vere ein dato (åååå-mm-dd).",
                "The due date must be a date (yyyy-mm-dd).",
            )
            .to_string(),
        );
    }
    crate::db::write_transaction(conn, |conn| {
        let existing = for_unit(conn, round_id, unit_id)?;
        let mut named: Vec<&str> = existing.iter().map(|i| i.factor.as_str()).collect();
        named.sort();
        named.dedup();
        if !named.contains(&new.factor.as_str()) && named.len() >= MAX_PLAN_FACTORS {
            problems.push(match lang {
                Lang::Nb => format!("En plan samler seg om høyst {MAX_PLAN_FACTORS} faktorer; legg tiltaket under en av dem."),
                Lang::Nn => format!("Ein plan samlar seg om høgst {MAX_PLAN_FACTORS} faktorar; legg tiltaket under ein av dei."),
                Lang::En => format!("A plan focuses on at most {MAX_PLAN_FACTORS} factors; put the measure under one of them."),
            });
        }
        if existing.len() as i64 >= MAX_PLAN_ITEMS {
            problems.push(match lang {
                Lang::Nb => format!("En plan har høyst {MAX_PLAN_ITEMS} tiltak."),
                Lang::Nn => format!("Ein plan har høgst {MAX_PLAN_ITEMS} tiltak."),
                Lang::En => format!("A plan holds at most {MAX_PLAN_ITEMS} measures."),
            });
        }
        if !problems.is_empty() {
            return Err(crate::error::UserError::ActionPlan(problems).into());
        }
        let item = ActionItem {
            id: crate::crypto::new_id(),
            round_id: round_id.into(),
            unit_id: unit_id.into(),
            factor: new.factor.clone(),
            measure: measure.into(),
            responsible: responsible.into(),
            due_on: new.due_on.trim().into(),
            done: false,
            updated_at: crate::db::now_unix(),
        };
        diesel::insert_into(action_items::table)
            .values((
                action_items::id.eq(&item.id),
                action_items::round_id.eq(&item.round_id),
                action_items::unit_id.eq(&item.unit_id),
                action_items::factor.eq(&item.factor),
                action_items::measure.eq(&item.measure),
                action_items::responsible.eq(&item.responsible),
                action_items::due_on.eq(&item.due_on),
                action_items::done.eq(false),
                action_items::updated_at.eq(item.updated_at),
            ))
            .execute(conn)?;
        Ok(item)
    })
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<ActionItem, AppError> {
    action_items::table
        .find(id)
        .select(ActionItem::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

pub fn set_done(conn: &mut DbConnection, id: &str, done: bool) -> Result<(), AppError> {
    diesel::update(action_items::table.find(id))
        .set((
            action_items::done.eq(done),
            action_items::updated_at.eq(crate::db::now_unix()),
        ))
        .execute(conn)?;
    Ok(())
}

/// One unit's plan for one round, counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStatus {
    pub round_title: String,
    pub unit_name: String,
    pub round_id: crate::ids::RoundId,
    pub unit_id: String,
    pub measures: usize,
    pub done: usize,
}

pub fn overview(conn: &mut DbConnection) -> QueryResult<Vec<PlanStatus>> {
    let rows: Vec<(String, String, crate::ids::RoundId, String, bool)> = action_items::table
        .inner_join(rounds::table)
        .inner_join(units::table)
        .order((rounds::created_at.desc(), units::code))
        .select((
            rounds::title,
            units::name,
            action_items::round_id,
            action_items::unit_id,
            action_items::done,
        ))
        .load(conn)?;
    let mut out: Vec<PlanStatus> = Vec::new();
    for (round_title, unit_name, round_id, unit_id, done) in rows {
        match out.last_mut() {
            Some(last) if last.round_id == round_id && last.unit_id == unit_id => {
                last.measures += 1;
                last.done += usize::from(done);
            }
            _ => out.push(PlanStatus {
                round_title,
                unit_name,
                round_id,
                unit_id,
                measures: 1,
                done: usize::from(done),
            }),
        }
    }
    Ok(out)
}
