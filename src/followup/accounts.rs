//! Written accounts (redegjørelser): for each unit above one of its
//! targets in the latest period, its leaders are asked by e-mail for a
//! short structured account — what is done now, what is planned, what
//! support is needed — by a due date, with at most two reminders (a week
//! before and on the day). The link carries a token derived from the
//! secret key and the account's id: it opens that account's form and
//! nothing else, and nothing secret is stored.

use super::org::OrgTree;
use super::standing::Standing;
use crate::db::schema::{accounts, employees, outbox, unit_leaders};
use crate::db::{now_unix, DbConnection};
use crate::ids::UnitId;
use crate::lang::Lang;
use crate::mail::outbox::NewMail;
use crate::AppError;
use chrono::NaiveDate;
use diesel::prelude::*;

pub use crate::analysis::model::AbsenceKind as Kind;

/// Reminders at most, per account.
pub const MAX_REMINDERS: i32 = 2;
/// The first reminder goes this many days before the due date.
pub const FIRST_REMINDER_DAYS: i64 = 7;
/// The longest text of each part of an account.
pub const MAX_TEXT: usize = 4000;

/// Kinds of support a unit may ask for.
pub const SUPPORT: [&str; 3] = ["bht", "nav", "hr"];

pub fn support_name(key: &str, l: Lang) -> &'static str {
    match key {
        "bht" => l.pick(
            "Bedriftshelsetjenesten (BHT)",
            "Bedriftshelsetenesta (BHT)",
            "Occupational health service (BHT)",
        ),
        "nav" => l.pick(
            "NAV arbeidslivssenter",
            "NAV arbeidslivssenter",
            "NAV working-life centre",
        ),
        _ => l.pick("HR", "HR", "HR"),
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: String,
    pub unit_id: UnitId,
    pub kind: String,
    pub period_start: String,
    pub period_end: String,
    pub rate: f64,
    pub target: f64,
    pub requested_at: i64,
    pub due_on: String,
    pub reminders_sent: i32,
    pub last_reminded_at: Option<i64>,
    pub answered_at: Option<i64>,
    pub done_now: Option<String>,
    pub planned: Option<String>,
    pub support: Option<String>,
    pub support_other: Option<String>,
}

impl Account {
    pub fn kind(&self) -> Kind {
        Kind::parse(&self.kind).unwrap_or(Kind::Total)
    }
    pub fn answered(&self) -> bool {
        self.answered_at.is_some()
    }
    pub fn support_keys(&self) -> Vec<&str> {
        self.support
            .as_deref()
            .map(|s| s.split('|').filter(|x| !x.is_empty()).collect())
            .unwrap_or_default()
    }
    pub fn period(&self) -> Option<(NaiveDate, NaiveDate)> {
        let d = |s: &str| NaiveDate::parse_from_str(s, crate::db::models::DATE_FORMAT).ok();
        Some((d(&self.period_start)?, d(&self.period_end)?))
    }
}

/// What asking for accounts did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Requested {
    /// New accounts asked for.
    pub accounts: usize,
    /// E-mails queued to leaders.
    pub mails: usize,
    /// Units above target without a leader with an e-mail address.
    pub without_leader: usize,
}

/// The leaders of a unit who can be e-mailed: active, with an address.
fn leaders(conn: &mut DbConnection, unit: &UnitId) -> QueryResult<Vec<String>> {
    Ok(unit_leaders::table
        .inner_join(employees::table)
        .filter(unit_leaders::unit_id.eq(unit))
        .filter(employees::active.eq(true))
        .select(employees::email)
        .load::<Option<String>>(conn)?
        .into_iter()
        .flatten()
        .collect())
}

fn day(d: NaiveDate) -> String {
    d.format(crate::db::models::DATE_FORMAT).to_string()
}

/// Asks for an account from every unit above a target in `period` that
/// has none for it yet, and queues the e-mails to its leaders (in the same
/// transaction).
pub fn request(
    conn: &mut DbConnection,
    tree: &OrgTree,
    standings: &[Standing],
    period: (NaiveDate, NaiveDate),
    due_days: u32,
) -> Result<Requested, AppError> {
    crate::db::write_transaction(conn, |conn| {
        let mut done = Requested::default();
        let now = now_unix();
        let due = crate::db::models::today() + chrono::Days::new(u64::from(due_days));
        for s in standings.iter().filter(|s| s.above) {
            let unit = &tree.units[s.unit].id;
            let exists: i64 = accounts::table
                .filter(accounts::unit_id.eq(unit))
                .filter(accounts::kind.eq(s.kind.key()))
                .filter(accounts::period_start.eq(day(period.0)))
                .filter(accounts::period_end.eq(day(period.1)))
                .count()
                .get_result(conn)?;
            if exists > 0 {
                continue;
            }
            let id = crate::crypto::new_id();
            diesel::insert_into(accounts::table)
                .values((
                    accounts::id.eq(&id),
                    accounts::unit_id.eq(unit),
                    accounts::kind.eq(s.kind.key()),
                    accounts::period_start.eq(day(period.0)),
                    accounts::period_end.eq(day(period.1)),
                    accounts::rate.eq(s.rate),
                    accounts::target.eq(s.target),
                    accounts::requested_at.eq(now),
                    accounts::due_on.eq(day(due)),
                ))
                .execute(conn)?;
            done.accounts += 1;
            let to = leaders(conn, unit)?;
            if to.is_empty() {
                done.without_leader += 1;
            }
            for email in to {
                diesel::insert_into(outbox::table)
                    .values(NewMail::account("account", &id, &email, now))
                    .execute(conn)?;
                done.mails += 1;
            }
        }
        Ok(done)
    })
}

/// Queues the reminders that are due today: the first a week before the
/// due date, the second on it; never more than [`MAX_REMINDERS`], never to
/// an answered account. Returns how many e-mails were queued.
pub fn remind_due(conn: &mut DbConnection) -> Result<usize, AppError> {
    crate::db::write_transaction(conn, |conn| {
        let today = crate::db::models::today();
        let open: Vec<Account> = accounts::table
            .filter(accounts::answered_at.is_null())
            .filter(accounts::reminders_sent.lt(MAX_REMINDERS))
            .select(Account::as_select())
            .load(conn)?;
        let now = now_unix();
        let mut queued = 0;
        for a in open {
            let Ok(due) = NaiveDate::parse_from_str(&a.due_on, crate::db::models::DATE_FORMAT)
            else {
                continue;
            };
            let when = match a.reminders_sent {
                0 => due - chrono::Days::new(FIRST_REMINDER_DAYS as u64),
                _ => due,
            };
            // One reminder a day at most, however late the check runs.
            let reminded_today = a.last_reminded_at.is_some_and(|t| now - t < 20 * 3600);
            if today < when || reminded_today {
                continue;
            }
            for email in leaders(conn, &a.unit_id)? {
                diesel::insert_into(outbox::table)
                    .values(NewMail::account("account_reminder", &a.id, &email, now))
                    .execute(conn)?;
                queued += 1;
            }
            diesel::update(accounts::table.find(&a.id))
                .set((
                    accounts::reminders_sent.eq(a.reminders_sent + 1),
                    accounts::last_reminded_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(queued)
    })
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Account>, AppError> {
    Ok(accounts::table
        .find(id)
        .select(Account::as_select())
        .get_result(conn)
        .optional()?)
}

/// Every account, newest period first.
pub fn all(conn: &mut DbConnection) -> Result<Vec<Account>, AppError> {
    Ok(accounts::table
        .order((
            accounts::period_end.desc(),
            accounts::unit_id,
            accounts::kind,
        ))
        .select(Account::as_select())
        .load(conn)?)
}

/// What a leader writes.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Answer {
    #[serde(default)]
    pub done_now: String,
    #[serde(default)]
    pub planned: String,
    #[serde(default)]
    pub support: Vec<String>,
    #[serde(default)]
    pub support_other: String,
}

pub use crate::error::AccountProblem as Problem;

/// Checks an account as written: every problem, or none.
pub fn check(a: &Answer) -> Vec<Problem> {
    let mut p = Vec::new();
    if a.done_now.trim().is_empty() {
        p.push(Problem::DoneNowMissing);
    }
    if a.planned.trim().is_empty() {
        p.push(Problem::PlannedMissing);
    }
    if [&a.done_now, &a.planned, &a.support_other]
        .iter()
        .any(|t| t.chars().count() > MAX_TEXT)
    {
        p.push(Problem::TooLong);
    }
    if a.support.iter().any(|s| !SUPPORT.contains(&s.as_str())) {
        p.push(Problem::UnknownSupport);
    }
    p
}

/// Stores an account as written (again, if it was written before: the
/// leader may correct it). Nothing is stored unless all is well.
pub fn answer(conn: &mut DbConnection, id: &str, a: &Answer) -> Result<(), AppError> {
    let problems = check(a);
    if !problems.is_empty() {
        return Err(crate::error::UserError::Account(problems).into());
    }
    let mut support: Vec<&str> = SUPPORT
        .iter()
        .copied()
        .filter(|k| a.support.iter().any(|s| s == k))
        .collect();
    support.dedup();
    let other = a.support_other.trim();
    let n = diesel::update(accounts::table.find(id))
        .set((
            accounts::done_now.eq(a.done_now.trim()),
            accounts::planned.eq(a.planned.trim()),
            accounts::support.eq(support.join("|")),
            accounts::support_other.eq((!other.is_empty()).then_some(other)),
            accounts::answered_at.eq(now_unix()),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}
