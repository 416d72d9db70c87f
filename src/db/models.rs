//! Rows of the organisation tables. Each model has plain methods first, then
//! database methods (`all`, `find_by_*`).

use super::schema::{employee_roles, employees, round_surveys, rounds, unit_leaders, units};
use super::DbConnection;
use crate::ids::RoundId;
use crate::survey::{self, Survey};
use crate::AppError;
use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

/// Dates are stored as ISO text.
pub const DATE_FORMAT: &str = "%Y-%m-%d";

/// Today in UTC, the day every date of a round is compared with.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = units)]
pub struct Unit {
    pub id: String,
    pub code: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub active: bool,
    pub updated_at: i64,
    /// The kind of unit (kindergarten, school, home care …) that norms are
    /// given for; from the `unit_type` column of units.csv.
    pub unit_type: Option<String>,
}

impl Unit {
    pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Unit>> {
        units::table
            .order(units::code)
            .select(Unit::as_select())
            .load(conn)
    }

    pub fn find_by_code(conn: &mut DbConnection, code: &str) -> QueryResult<Option<Unit>> {
        units::table
            .filter(units::code.eq(code))
            .select(Unit::as_select())
            .get_result(conn)
            .optional()
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = employees)]
#[diesel(treat_none_as_null = true)]
pub struct Employee {
    pub id: String,
    pub employee_number: String,
    pub name: String,
    pub email: Option<String>,
    pub unit_id: String,
    pub language: String,
    pub active: bool,
    pub updated_at: i64,
    /// A Norwegian or international mobile number in E.164 (`+4791234567`).
    pub mobile: Option<String>,
}

impl Employee {
    pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Employee>> {
        employees::table
            .order(employees::employee_number)
            .select(Employee::as_select())
            .load(conn)
    }

    pub fn find_by_number(conn: &mut DbConnection, number: &str) -> QueryResult<Option<Employee>> {
        employees::table
            .filter(employees::employee_number.eq(number))
            .select(Employee::as_select())
            .get_result(conn)
            .optional()
    }

    /// Unit ids this person leads.
    pub fn led_unit_ids(conn: &mut DbConnection, employee_id: &str) -> QueryResult<Vec<String>> {
        unit_leaders::table
            .filter(unit_leaders::employee_id.eq(employee_id))
            .select(unit_leaders::unit_id)
            .order(unit_leaders::unit_id)
            .load(conn)
    }

    pub fn roles(conn: &mut DbConnection, employee_id: &str) -> QueryResult<Vec<String>> {
        employee_roles::table
            .filter(employee_roles::employee_id.eq(employee_id))
            .select(employee_roles::role)
            .order(employee_roles::role)
            .load(conn)
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = unit_leaders)]
pub struct UnitLeader {
    pub employee_id: String,
    pub unit_id: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = employee_roles)]
pub struct EmployeeRole {
    pub employee_id: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = rounds)]
pub struct Round {
    pub id: RoundId,
    pub title: String,
    pub status: String,
    pub root_unit_id: Option<String>,
    pub opens_on: String,
    pub closes_on: String,
    pub min_group_size: i32,
    pub created_at: i64,
    pub opened_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// How invitations and reminders reach people: `email` (e-mail where
    /// there is an address, else SMS), `sms` (SMS where there is a mobile
    /// number, else e-mail) or `both`; paper for those with neither.
    pub delivery: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = round_surveys)]
pub struct RoundSurvey {
    pub round_id: RoundId,
    pub position: i32,
    pub survey_id: String,
    pub version: String,
    pub sha256: String,
    pub content: String,
}

impl RoundSurvey {
    /// A round's questionnaires as stored, in order, not yet parsed
    /// ([`RoundSurvey::parse_all`]).
    pub fn of_round(
        conn: &mut DbConnection,
        round_id: &RoundId,
    ) -> Result<Vec<RoundSurvey>, AppError> {
        Ok(round_surveys::table
            .filter(round_surveys::round_id.eq(round_id))
            .order(round_surveys::position)
            .select(RoundSurvey::as_select())
            .load(conn)?)
    }

    /// Each stored questionnaire parsed, in order.
    pub fn parse_all(stored: &[RoundSurvey]) -> Result<Vec<Survey>, AppError> {
        stored
            .iter()
            .map(|s| {
                survey::parse(&s.content).map_err(|e| {
                    AppError::damaged(format!(
                        "stored survey {} no longer parses: {}",
                        s.survey_id, e[0]
                    ))
                })
            })
            .collect()
    }
}

impl Round {
    pub fn find(conn: &mut DbConnection, id: &RoundId) -> Result<Round, AppError> {
        rounds::table
            .find(id)
            .select(Round::as_select())
            .get_result(conn)
            .optional()?
            .ok_or(AppError::NotFound)
    }

    /// A round by its id or an unambiguous prefix of it (for the CLI).
    pub fn find_by_prefix(conn: &mut DbConnection, prefix: &str) -> Result<Round, AppError> {
        let found: Vec<Round> = rounds::table
            .filter(rounds::id.like(format!("{}%", prefix.replace(['%', '_'], ""))))
            .select(Round::as_select())
            .limit(2)
            .load(conn)?;
        match found.len() {
            1 => Ok(found.into_iter().next().expect("one")),
            0 => Err(crate::error::UserError::NoSuchRound {
                prefix: prefix.to_string(),
            }
            .into()),
            _ => Err(crate::error::UserError::AmbiguousRound {
                prefix: prefix.to_string(),
            }
            .into()),
        }
    }

    pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Round>> {
        rounds::table
            .order((rounds::created_at.desc(), rounds::closes_on.desc()))
            .select(Round::as_select())
            .load(conn)
    }

    pub fn closes_on_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.closes_on, DATE_FORMAT).unwrap_or(NaiveDate::MIN)
    }

    /// The last day the round took answers: its closing day, or the day it
    /// was closed by hand before that. Analyses of absence "before the
    /// round" end here, not at a planned day that never came.
    pub fn last_day(&self) -> NaiveDate {
        let planned = self.closes_on_date();
        self.closed_at
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map_or(planned, |t| planned.min(t.date_naive()))
    }

    /// Answers are accepted while the round is open and its closing day
    /// has not passed.
    pub fn accepts_answers(&self, today: NaiveDate) -> bool {
        self.status == "open" && today <= self.closes_on_date()
    }

    /// The questionnaires exactly as the round was created with them,
    /// parsed. (The service keeps them parsed in its cache: see
    /// [`crate::cache`].)
    pub fn surveys(
        &self,
        conn: &mut DbConnection,
    ) -> Result<std::sync::Arc<Vec<Survey>>, AppError> {
        Ok(std::sync::Arc::new(RoundSurvey::parse_all(
            &RoundSurvey::of_round(conn, &self.id)?,
        )?))
    }
}
