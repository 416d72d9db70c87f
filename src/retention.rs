//! Keeping personal data no longer than it is needed (GDPR art. 5(1)(e)).
//! Run by `serve` among its background duties and by `naervaer retention`;
//! logged as counts only.
//!
//! - **People who left.** A person missing from the employees file is
//!   deactivated at once (losing every role); `NAERVAER_EMPLOYEE_RETENTION_DAYS`
//!   (default 180) later they are deleted, with their sessions and
//!   sign-in links. Half a year keeps a mistaken or partial HR export
//!   repairable by the next import (the person comes back as they were) and
//!   covers the months after a round in which its invitations are still
//!   being reduced; beyond that nothing in naervaer needs them. Where an
//!   invitation still names them (an open round, or one whose invitations
//!   are not yet reduced to counts), they are pseudonymised instead: no
//!   name, no e-mail, no HR number.
//! - **Absence** rows whose period ended more than
//!   `NAERVAER_ABSENCE_RETENTION_YEARS` (default 5) years ago are deleted:
//!   five years cover the trend across two or three survey rounds and the
//!   comparisons the reports make; 0 keeps them.
//! - **"Results are ready" messages** (an address and a group each) are
//!   deleted once sent or given up.
//! - **Responses.** After close they are coarsened ([`crate::rounds::rest`]);
//!   `NAERVAER_RESPONSE_RETENTION_DAYS` days after close they are deleted
//!   when set (unset keeps them, coarsened). A closed round's results live in
//!   its snapshot, which none of this touches.

use crate::config::Settings;
use crate::db::schema::{
    absence, employee_roles, employees, invitations, login_tokens, outbox, responses, rounds,
    sessions, unit_leaders, unit_representatives,
};
use crate::db::{now_unix, DbConnection};
use crate::AppError;
use diesel::prelude::*;

/// What a retention run deletes (or, in a dry run, would delete).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub people_deleted: usize,
    pub people_pseudonymised: usize,
    pub sessions_deleted: usize,
    pub sign_in_links_deleted: usize,
    pub absence_rows_deleted: usize,
    pub responses_deleted: usize,
    pub results_messages_deleted: usize,
}

impl Counts {
    pub fn is_empty(&self) -> bool {
        *self == Counts::default()
    }
}

/// Runs every rule once. With `apply` false, the same work is done inside a
/// transaction that is rolled back, and the counts say what would happen.
pub fn run(conn: &mut DbConnection, settings: &Settings, apply: bool) -> Result<Counts, AppError> {
    enum Exit {
        Failed(AppError),
        DryRun(Counts),
    }
    impl From<diesel::result::Error> for Exit {
        fn from(e: diesel::result::Error) -> Self {
            Exit::Failed(e.into())
        }
    }
    impl From<AppError> for Exit {
        fn from(e: AppError) -> Self {
            Exit::Failed(e)
        }
    }
    let done = crate::db::write_transaction::<Counts, Exit, _>(conn, |conn| {
        let mut c = Counts::default();
        people(conn, settings, &mut c)?;
        results_messages(conn, &mut c)?;
        absence_rows(conn, settings, &mut c)?;
        round_responses(conn, settings, &mut c)?;
        if apply {
            Ok(c)
        } else {
            Err(Exit::DryRun(c))
        }
    });
    match done {
        Ok(c) | Err(Exit::DryRun(c)) => Ok(c),
        Err(Exit::Failed(e)) => Err(e),
    }
}

/// People deactivated longer ago than the retention.
fn people(conn: &mut DbConnection, s: &Settings, c: &mut Counts) -> Result<(), AppError> {
    let cutoff = now_unix() - i64::from(s.employee_retention_days) * 86_400;
    let gone: Vec<String> = employees::table
        .filter(employees::active.eq(false))
        .filter(employees::updated_at.lt(cutoff))
        .select(employees::id)
        .load(conn)?;
    for chunk in gone.chunks(500) {
        c.sessions_deleted +=
            diesel::delete(sessions::table.filter(sessions::employee_id.eq_any(chunk)))
                .execute(conn)?;
        c.sign_in_links_deleted +=
            diesel::delete(login_tokens::table.filter(login_tokens::employee_id.eq_any(chunk)))
                .execute(conn)?;
        diesel::delete(unit_leaders::table.filter(unit_leaders::employee_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(employee_roles::table.filter(employee_roles::employee_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(
            unit_representatives::table.filter(unit_representatives::employee_id.eq_any(chunk)),
        )
        .execute(conn)?;
        let named: Vec<String> = invitations::table
            .filter(invitations::employee_id.eq_any(chunk))
            .select(invitations::employee_id)
            .distinct()
            .load(conn)?;
        let free: Vec<&String> = chunk.iter().filter(|id| !named.contains(id)).collect();
        c.people_deleted +=
            diesel::delete(employees::table.filter(employees::id.eq_any(&free))).execute(conn)?;
        // Pseudonymised once; deleted by a later run when no invitation
        // names them any more.
        for id in &named {
            c.people_pseudonymised += diesel::update(
                employees::table.find(id).filter(
                    employees::name
                        .ne(PSEUDONYM)
                        .or(employees::email.is_not_null())
                        .or(employees::mobile.is_not_null()),
                ),
            )
            .set((
                employees::name.eq(PSEUDONYM),
                employees::email.eq(None::<String>),
                employees::mobile.eq(None::<String>),
                employees::employee_number.eq(format!("slettet-{}", crate::crypto::new_id())),
            ))
            .execute(conn)?;
        }
    }
    Ok(())
}

/// "Results are ready" messages once sent or given up: each names a
/// person's address and their group, and is needed no longer.
fn results_messages(conn: &mut DbConnection, c: &mut Counts) -> Result<(), AppError> {
    c.results_messages_deleted += diesel::delete(
        outbox::table
            .filter(outbox::kind.eq("results"))
            .filter(outbox::status.eq_any(["sent", "failed"])),
    )
    .execute(conn)?;
    Ok(())
}

/// The name a pseudonymised person keeps.
pub const PSEUDONYM: &str = "–";

/// Absence rows whose period ended longer ago than the retention.
fn absence_rows(conn: &mut DbConnection, s: &Settings, c: &mut Counts) -> Result<(), AppError> {
    if s.absence_retention_years == 0 {
        return Ok(());
    }
    let today = crate::db::models::today();
    let cutoff = today
        .checked_sub_months(chrono::Months::new(12 * s.absence_retention_years))
        .unwrap_or(chrono::NaiveDate::MIN)
        .format(crate::db::models::DATE_FORMAT)
        .to_string();
    let deleted =
        diesel::delete(absence::table.filter(absence::period_end.lt(cutoff))).execute(conn)?;
    if deleted > 0 {
        // The analysis reads the kept series, which must lose them too.
        crate::db::absence_series::rebuild(conn)?;
    }
    c.absence_rows_deleted += deleted;
    Ok(())
}

/// The responses of rounds closed longer ago than the retention, if set.
fn round_responses(conn: &mut DbConnection, s: &Settings, c: &mut Counts) -> Result<(), AppError> {
    let Some(days) = s.response_retention_days else {
        return Ok(());
    };
    let cutoff = now_unix() - i64::from(days) * 86_400;
    let old: Vec<String> = rounds::table
        .filter(rounds::status.eq("closed"))
        .filter(rounds::closed_at.le(cutoff))
        .select(rounds::id)
        .load(conn)?;
    for chunk in old.chunks(500) {
        c.responses_deleted +=
            diesel::delete(responses::table.filter(responses::round_id.eq_any(chunk)))
                .execute(conn)?;
    }
    Ok(())
}
