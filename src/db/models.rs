//! Rows of the organisation tables. Each model has plain methods first, then
//! database methods (`all`, `find_by_*`).

use super::schema::{employee_roles, employees, unit_leaders, units};
use super::DbConnection;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = units)]
pub struct Unit {
    pub id: String,
    pub code: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub active: bool,
    pub updated_at: i64,
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
            .first(conn)
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
            .first(conn)
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
