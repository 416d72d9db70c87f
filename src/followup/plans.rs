//! The action plans of survey results: after a round, a leader agrees on a
//! few measures for their unit, each under one of the round's factors,
//! with someone responsible and a due date. They are measures of the one
//! register ([`super::measures`]) that name the round they follow up and
//! a factor; the result page shows them as the unit's plan.

use super::measures::{self, Measure, NewMeasure, Status};
use crate::db::DbConnection;
use crate::error::MeasureProblem;
use crate::ids::{RoundId, UnitId};
use crate::AppError;

/// Distinct factors one unit's plan may name for one round.
pub const MAX_PLAN_FACTORS: usize = 3;
/// Measures in one unit's plan for one round.
pub const MAX_PLAN_ITEMS: usize = 12;
/// The catalogue type of a plan's measures.
pub const PLAN_TYPE: &str = "oppfolging_undersokelse";

/// One measure of a unit's plan, as the result page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActionItem {
    pub id: String,
    pub round_id: RoundId,
    pub unit_id: UnitId,
    /// `survey/key`.
    pub factor: String,
    pub measure: String,
    pub responsible: String,
    pub due_on: String,
    pub done: bool,
}

impl ActionItem {
    fn of(m: Measure, unit: &UnitId) -> Option<ActionItem> {
        Some(ActionItem {
            round_id: m.round_id?,
            factor: m.factor?,
            unit_id: unit.clone(),
            due_on: m
                .ended_on
                .unwrap_or(m.started_on)
                .format(crate::db::models::DATE_FORMAT)
                .to_string(),
            done: m.status == Status::Done,
            measure: m.title,
            responsible: m.responsible,
            id: m.id,
        })
    }
}

/// What a leader submits for a new measure of the plan.
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

/// A unit's plan for a round, by due date.
pub fn for_unit(
    conn: &mut DbConnection,
    round_id: &RoundId,
    unit_id: &UnitId,
) -> Result<Vec<ActionItem>, AppError> {
    let mut items: Vec<ActionItem> = measures::of_plan(conn, round_id, unit_id)?
        .into_iter()
        .filter_map(|m| ActionItem::of(m, unit_id))
        .collect();
    items.sort_by(|a, b| (&a.due_on, &a.id).cmp(&(&b.due_on, &b.id)));
    Ok(items)
}

/// Checks and stores a measure of the plan. `factors` are the round's
/// factors (`survey/key`). Every problem is named; nothing is stored
/// unless all is well.
pub fn add(
    conn: &mut DbConnection,
    round_id: &RoundId,
    unit_id: &UnitId,
    factors: &[String],
    new: &NewAction,
) -> Result<String, AppError> {
    crate::db::write_transaction(conn, |conn| {
        let mut problems = Vec::new();
        if !factors.contains(&new.factor) {
            problems.push(MeasureProblem::ChooseFactor);
        }
        if new.responsible.trim().is_empty() {
            problems.push(MeasureProblem::ResponsibleMissing);
        }
        let existing = for_unit(conn, round_id, unit_id)?;
        let mut named: Vec<&str> = existing.iter().map(|i| i.factor.as_str()).collect();
        named.sort();
        named.dedup();
        if !named.contains(&new.factor.as_str()) && named.len() >= MAX_PLAN_FACTORS {
            problems.push(MeasureProblem::TooManyFactors(MAX_PLAN_FACTORS));
        }
        if existing.len() >= MAX_PLAN_ITEMS {
            problems.push(MeasureProblem::TooManyMeasures(MAX_PLAN_ITEMS));
        }
        let today = crate::db::models::today();
        let measure = NewMeasure {
            title: new.measure.clone(),
            type_key: PLAN_TYPE.into(),
            started_on: today.format(crate::db::models::DATE_FORMAT).to_string(),
            ended_on: new.due_on.clone(),
            responsible: new.responsible.clone(),
            status: Status::Ongoing.key().into(),
            factor: new.factor.clone(),
            units: vec![unit_id.clone()],
            round_id: Some(round_id.clone()),
        };
        let types = measures::types(conn)?;
        // A plan's due date may lie before today's start only if mistyped.
        let checked = match measures::check(&measure, &types, factors, today) {
            Ok(c) => Some(c),
            Err(p) => {
                // In a plan's words: the factor and the due date.
                problems.extend(p.into_iter().filter_map(|(field, x)| match (field, x) {
                    ("factor", _) => None,
                    ("ended_on", MeasureProblem::BadDate { .. }) => Some(MeasureProblem::BadDue),
                    (_, x) => Some(x),
                }));
                None
            }
        };
        if new.due_on.trim().is_empty() && !problems.contains(&MeasureProblem::BadDue) {
            problems.push(MeasureProblem::BadDue);
        }
        problems.dedup();
        match checked {
            Some(c) if problems.is_empty() => measures::insert(conn, &measure, &c, &types),
            _ => Err(crate::error::UserError::Measure(problems).into()),
        }
    })
}

/// A plan's measure, with the units it belongs to.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Measure, AppError> {
    measures::find(conn, id)?.ok_or(AppError::NotFound)
}

pub fn set_done(conn: &mut DbConnection, id: &str, done: bool) -> Result<(), AppError> {
    measures::set_status(conn, id, if done { Status::Done } else { Status::Ongoing })
}

/// One unit's plan for one round, counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStatus {
    pub round_id: RoundId,
    pub unit_id: UnitId,
    pub measures: usize,
    pub done: usize,
}

/// Every unit's plan for every round, counted.
pub fn overview(conn: &mut DbConnection) -> Result<Vec<PlanStatus>, AppError> {
    let mut out: Vec<PlanStatus> = Vec::new();
    for m in measures::all(conn)? {
        let Some(round) = &m.round_id else { continue };
        for u in &m.units {
            match out
                .iter_mut()
                .find(|p| &p.round_id == round && &p.unit_id == u)
            {
                Some(p) => {
                    p.measures += 1;
                    p.done += usize::from(m.status == Status::Done);
                }
                None => out.push(PlanStatus {
                    round_id: round.clone(),
                    unit_id: u.clone(),
                    measures: 1,
                    done: usize::from(m.status == Status::Done),
                }),
            }
        }
    }
    Ok(out)
}
