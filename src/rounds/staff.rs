//! Open rounds follow the staff: an employees import while a round is open
//! invites the people newly in its scope (and queues their messages) and
//! withdraws the invitations of those who left it (deactivated, or moved
//! out of the round's units), in the import's own transaction.
//!
//! An answer is never touched, and neither the counts nor the report of an
//! import tell whether someone who left had answered: every invitation of
//! a person who left is withdrawn alike (its link and paper code stop
//! working, nothing queued for it is sent) and stays counted as invited,
//! its `responded` flag as it was. Nothing here reads a response or the
//! `responded` flag.

use super::{invite, scope_of, Round};
use crate::crypto::{lookup_hash, SecretKey};
use crate::db::models::{Employee, Unit};
use crate::db::schema::{employees, invitations, outbox, rounds};
use crate::db::DbConnection;
use crate::error::UserError;
use crate::import::{self, ImportError, Kind, Outcome, RoundStaffing};
use crate::AppError;
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

/// What an import needs to bring the open rounds up to date: the key that
/// makes new people's links (None when unset: an error only if someone is
/// to be invited), and whether SMS can be sent.
#[derive(Clone, Copy)]
pub struct Following<'a> {
    pub key: Option<&'a SecretKey>,
    pub sms: bool,
}

impl Following<'_> {
    /// Brings every open round up to date with the employees as they are
    /// now, after an employees import, or a units import (which may close
    /// units or move them out of a round's units); other kinds change no
    /// one.
    pub fn after(
        &self,
        conn: &mut DbConnection,
        kind: Kind,
        outcome: &mut Outcome,
    ) -> Result<(), AppError> {
        if !matches!(kind, Kind::Employees | Kind::Units) {
            return Ok(());
        }
        outcome.rounds = follow(conn, *self)?;
        Ok(())
    }

    /// [`import::import`], the open rounds following in its transaction.
    pub fn import(
        &self,
        conn: &mut DbConnection,
        kind: Kind,
        source: &str,
        bytes: &[u8],
        dry_run: bool,
    ) -> Result<Outcome, ImportError> {
        import::import_then(conn, kind, source, bytes, dry_run, &mut |c, k, o| {
            self.after(c, k, o)
        })
    }

    /// [`import::apply_pending`], the open rounds following likewise.
    pub fn apply_pending(
        &self,
        conn: &mut DbConnection,
        id: &str,
    ) -> Result<Option<import::Applied>, AppError> {
        import::apply_pending(conn, id, &mut |c, k, o| self.after(c, k, o))
    }
}

/// Every open round brought up to date with the staff, one line each
/// (rounds where nothing changed are left out).
pub fn follow(conn: &mut DbConnection, with: Following) -> Result<Vec<RoundStaffing>, AppError> {
    let open: Vec<Round> = rounds::table
        .filter(rounds::status.eq("open"))
        .order(rounds::created_at)
        .select(Round::as_select())
        .load(conn)?;
    if open.is_empty() {
        return Ok(Vec::new());
    }
    let all_units = Unit::all(conn)?;
    let active: Vec<Employee> = employees::table
        .filter(employees::active.eq(true))
        .select(Employee::as_select())
        .load(conn)?;
    let mut out = Vec::new();
    for round in open {
        let scope = scope_of(&all_units, &round);
        let invited: Vec<(String, String, bool)> = invitations::table
            .filter(invitations::round_id.eq(&round.id))
            .select((
                invitations::id,
                invitations::employee_id,
                invitations::withdrawn,
            ))
            .load(conn)?;
        let by_person: HashMap<&str, (&str, bool)> = invited
            .iter()
            .map(|(id, person, withdrawn)| (person.as_str(), (id.as_str(), *withdrawn)))
            .collect();
        let in_scope: HashSet<&str> = active
            .iter()
            .filter(|e| scope.contains(&e.unit_id))
            .map(|e| e.id.as_str())
            .collect();
        let newcomers: Vec<Employee> = active
            .iter()
            .filter(|e| in_scope.contains(e.id.as_str()) && !by_person.contains_key(e.id.as_str()))
            .cloned()
            .collect();
        let (mut leaving, mut returning) = (Vec::new(), Vec::new());
        for (person, (id, withdrawn)) in &by_person {
            match (in_scope.contains(person), withdrawn) {
                (false, false) => leaving.push(*id),
                (true, true) => returning.push(*id),
                _ => {}
            }
        }
        if newcomers.is_empty() && leaving.is_empty() && returning.is_empty() {
            continue;
        }
        leaving.sort_unstable();
        withdraw(conn, &leaving)?;
        if !(newcomers.is_empty() && returning.is_empty()) {
            let key = with.key.ok_or(UserError::KeyNeededToInvite)?;
            for id in &returning {
                restore(conn, key, id)?;
            }
            invite(conn, key, &round, &newcomers, with.sms)?;
        }
        out.push(RoundStaffing {
            round_title: round.title.clone(),
            invited: newcomers.len(),
            withdrawn: leaving.len(),
            returned: returning.len(),
        });
    }
    Ok(out)
}

/// Withdraws invitations, answered or not (the count must not tell which):
/// their link and code hashes are replaced by values no token hashes to,
/// and what is still queued for them is not sent. The rows stay, counted as
/// invited, their `responded` flag as it was.
fn withdraw(conn: &mut DbConnection, ids: &[&str]) -> Result<(), AppError> {
    for id in ids {
        diesel::update(invitations::table.find(id))
            .set((
                invitations::withdrawn.eq(true),
                invitations::token_hash.eq(format!("withdrawn-link:{id}")),
                invitations::code_hash.eq(format!("withdrawn-code:{id}")),
            ))
            .execute(conn)?;
    }
    for chunk in ids.chunks(500) {
        diesel::delete(
            outbox::table
                .filter(outbox::invitation_id.eq_any(chunk))
                .filter(outbox::status.eq("pending")),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// A person back in the round's units (re-hired, or moved back): their
/// link and code work again. Where their invitation never went out (it
/// was withdrawn while still queued), it is queued again.
fn restore(conn: &mut DbConnection, key: &SecretKey, id: &str) -> Result<(), AppError> {
    diesel::update(invitations::table.find(id))
        .set((
            invitations::withdrawn.eq(false),
            invitations::token_hash.eq(lookup_hash(&key.survey_token(id))),
            invitations::code_hash.eq(lookup_hash(&key.paper_code(id))),
        ))
        .execute(conn)?;
    let went_out: i64 = outbox::table
        .filter(outbox::invitation_id.eq(id))
        .filter(outbox::kind.eq("invitation"))
        .count()
        .get_result(conn)?;
    if went_out == 0 {
        let (round, channel, email, mobile): (String, String, Option<String>, Option<String>) =
            invitations::table
                .inner_join(employees::table)
                .filter(invitations::id.eq(id))
                .select((
                    invitations::round_id,
                    invitations::channel,
                    employees::email,
                    employees::mobile,
                ))
                .first(conn)?;
        let mails = super::messages_for(
            "invitation",
            &round,
            id,
            super::Channel::parse(&channel),
            email.as_deref(),
            mobile.as_deref(),
            crate::db::now_unix(),
        );
        for m in &mails {
            diesel::insert_into(outbox::table).values(m).execute(conn)?;
        }
    }
    Ok(())
}
