//! Survey rounds: create, open (invitations and their e-mails in one
//! transaction), remind, answer, close. The anonymity rules of ANONYMITY.md
//! §1, §2 and §5 live here and in [`answer`]:
//!
//! - a response row holds the round, the unit at invitation time and the
//!   answers: no person, invitation, token, time or sequential id;
//! - setting an invitation's `responded` flag and storing the response
//!   happen in one transaction;
//! - closing rewrites the round's responses in random order under new ids
//!   and compacts the storage; after the retention period the invitations
//!   (and the round's outbox rows, which say who was reminded) are reduced to
//!   per-unit counts.

pub mod answer;
pub mod commit;
pub mod live;
pub mod rest;
pub mod staff;

use crate::crypto::new_id;
use crate::crypto::{lookup_hash, SecretKey};
use crate::db::models::RoundSurvey;
use crate::db::models::{Employee, Unit};
use crate::db::schema::{
    daily_counts, employees, invitation_counts, invitations, outbox, round_surveys, rounds, units,
};
use crate::db::DbConnection;
use crate::error::{RoundState, UserError};
use crate::ids::RoundId;
use crate::survey::{self, Survey};
use crate::AppError;
use chrono::NaiveDate;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: String,
    pub round_id: RoundId,
    pub employee_id: String,
    pub unit_id: String,
    pub token_hash: String,
    pub code_hash: String,
    pub channel: String,
    pub responded: bool,
    pub reminders_sent: i32,
    pub last_reminded_at: Option<i64>,
    /// The person left the round's units while it was open (see
    /// [`staff`]).
    pub withdrawn: bool,
}

pub use crate::db::models::{today, Round, DATE_FORMAT};

/// What an administrator asks for when creating a round.
pub struct NewRound {
    pub title: String,
    /// The questionnaire files' text, in the order they are answered.
    pub surveys: Vec<String>,
    /// The subtree the round covers; None for the whole organisation.
    pub unit_code: Option<String>,
    pub opens_on: NaiveDate,
    pub closes_on: NaiveDate,
    pub min_group_size: u32,
    /// How invitations and reminders go out.
    pub delivery: Delivery,
}

/// A round's questionnaires, parsed once while `cache` keeps them (they
/// never change after the round is created).
pub fn surveys(
    conn: &mut DbConnection,
    cache: &crate::cache::Cache,
    round: &Round,
) -> Result<std::sync::Arc<Vec<Survey>>, AppError> {
    read_surveys(conn, cache, &round.id)?.parse(cache)
}

/// A round's questionnaires as read: parsed already (from the cache), or
/// as stored, still to parse. Parsing needs no connection, so the
/// analysis parses on another core while it reads the rest.
pub enum SurveysRead {
    Ready(std::sync::Arc<Vec<Survey>>),
    Stored(RoundId, Vec<crate::db::models::RoundSurvey>),
}

/// Reads a round's questionnaires without parsing them.
pub fn read_surveys(
    conn: &mut DbConnection,
    cache: &crate::cache::Cache,
    round_id: &RoundId,
) -> Result<SurveysRead, AppError> {
    let key = crate::cache::Key::Surveys {
        round: round_id.clone(),
    };
    if let Some(s) = cache.get(&key) {
        return Ok(SurveysRead::Ready(s));
    }
    Ok(SurveysRead::Stored(
        round_id.clone(),
        RoundSurvey::of_round(conn, round_id)?,
    ))
}

impl SurveysRead {
    /// The questionnaires, parsed and kept in `cache` where they were not.
    pub fn parse(
        self,
        cache: &crate::cache::Cache,
    ) -> Result<std::sync::Arc<Vec<Survey>>, AppError> {
        let (round, stored) = match self {
            SurveysRead::Ready(s) => return Ok(s),
            SurveysRead::Stored(round, stored) => (round, stored),
        };
        let parsed = std::sync::Arc::new(RoundSurvey::parse_all(&stored)?);
        // A draft's files are stored with it at creation: never keep an
        // empty list read before they were written.
        if !parsed.is_empty() {
            let bytes = parsed.iter().map(|s| s.items.len() * 2048).sum();
            cache.insert(crate::cache::Key::Surveys { round }, parsed.clone(), bytes);
        }
        Ok(parsed)
    }
}

/// Raises a closed round's minimum group size: the snapshot hides more
/// (never less), and the stored responses are coarsened again to what it
/// still releases.
pub fn raise_k(
    conn: &mut DbConnection,
    round_id: &RoundId,
    k: u32,
) -> Result<crate::snapshot::Snapshot, AppError> {
    crate::db::write_transaction(conn, |conn| {
        let raised = crate::snapshot::raise_k(conn, round_id, k)?;
        let surveys = Round::find(conn, round_id)?.surveys(conn)?;
        rest::coarsen_stored(conn, round_id, &surveys, &raised)?;
        Ok(raised)
    })
}

/// One paper letter: who, in which unit and language, and their code.
pub struct Letter {
    pub unit: String,
    pub name: String,
    pub lang: crate::lang::Lang,
    pub code: String,
}

pub fn create(
    conn: &mut DbConnection,
    installation_k: u32,
    new: NewRound,
) -> Result<Round, AppError> {
    if new.min_group_size < installation_k {
        return Err(UserError::GroupSizeBelowFloor {
            asked: new.min_group_size,
            floor: installation_k,
        }
        .into());
    }
    if new.closes_on < new.opens_on {
        return Err(UserError::ClosesBeforeOpens {
            opens: new.opens_on,
            closes: new.closes_on,
        }
        .into());
    }
    if new.title.trim().is_empty() {
        return Err(UserError::TitleMissing.into());
    }
    if new.surveys.is_empty() {
        return Err(UserError::NoQuestionnaire.into());
    }
    let mut parsed = Vec::new();
    for (i, text) in new.surveys.iter().enumerate() {
        let s = survey::parse(text).map_err(|errors| {
            AppError::from(UserError::InvalidQuestionnaire {
                position: i + 1,
                problems: errors,
            })
        })?;
        if parsed.iter().any(|p: &Survey| p.id == s.id) {
            return Err(UserError::QuestionnaireTwice { id: s.id.clone() }.into());
        }
        parsed.push(s);
    }
    crate::db::write_transaction(conn, |conn| {
        let root_unit_id = match &new.unit_code {
            None => None,
            Some(code) => match Unit::find_by_code(conn, code)? {
                Some(u) if u.active => Some(u.id),
                _ => return Err(UserError::NoSuchUnit { code: code.clone() }.into()),
            },
        };
        let round = Round {
            id: RoundId::from(new_id()),
            title: new.title.trim().to_string(),
            status: "draft".into(),
            root_unit_id,
            opens_on: new.opens_on.format(DATE_FORMAT).to_string(),
            closes_on: new.closes_on.format(DATE_FORMAT).to_string(),
            min_group_size: new.min_group_size as i32,
            created_at: crate::db::now_unix(),
            opened_at: None,
            closed_at: None,
            delivery: new.delivery.key().into(),
        };
        diesel::insert_into(rounds::table)
            .values(&round)
            .execute(conn)?;
        for (i, (s, text)) in parsed.iter().zip(&new.surveys).enumerate() {
            diesel::insert_into(round_surveys::table)
                .values(RoundSurvey {
                    round_id: round.id.clone(),
                    position: i as i32,
                    survey_id: s.id.clone(),
                    version: s.version.clone(),
                    sha256: s.sha256.clone(),
                    content: text.clone(),
                })
                .execute(conn)?;
        }
        Ok(round)
    })
}

/// Ids of `root` and every active unit below it.
pub fn subtree(all: &[Unit], root: &str) -> HashSet<String> {
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for u in all.iter().filter(|u| u.active) {
        if let Some(p) = &u.parent_id {
            children.entry(p.as_str()).or_default().push(&u.id);
        }
    }
    let mut out = HashSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if out.insert(id.to_string()) {
            stack.extend(children.get(id).into_iter().flatten().copied());
        }
    }
    out
}

/// How a round reaches people (a setting per round).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// E-mail where there is an address, else SMS, else paper.
    Email,
    /// SMS where there is a mobile number, else e-mail, else paper.
    Sms,
    /// Both where there are both, else whichever there is, else paper.
    Both,
}

impl Delivery {
    pub const ALL: [Delivery; 3] = [Delivery::Email, Delivery::Sms, Delivery::Both];

    pub fn key(self) -> &'static str {
        match self {
            Delivery::Email => "email",
            Delivery::Sms => "sms",
            Delivery::Both => "both",
        }
    }

    pub fn parse(s: &str) -> Option<Delivery> {
        Delivery::ALL.into_iter().find(|d| d.key() == s.trim())
    }

    pub fn name(self, l: crate::lang::Lang) -> &'static str {
        match self {
            Delivery::Email => l.pick(
                "E-post, SMS til dem uten e-post",
                "E-post, SMS til dei utan e-post",
                "E-mail, SMS to those without e-mail",
            ),
            Delivery::Sms => l.pick(
                "SMS, e-post til dem uten mobilnummer",
                "SMS, e-post til dei utan mobilnummer",
                "SMS, e-mail to those without a mobile number",
            ),
            Delivery::Both => l.pick(
                "Både e-post og SMS",
                "Både e-post og SMS",
                "Both e-mail and SMS",
            ),
        }
    }

    /// The channel of one person's invitation. Without a way to send SMS
    /// (`sms` false) a person with only a mobile number gets a paper
    /// letter, as one with neither does.
    pub fn channel(self, email: bool, mobile: bool, sms: bool) -> Channel {
        let mobile = mobile && sms;
        match (self, email, mobile) {
            (_, false, false) => Channel::Paper,
            (Delivery::Both, true, true) => Channel::Both,
            (Delivery::Sms, _, true) | (_, false, true) => Channel::Sms,
            _ => Channel::Email,
        }
    }
}

/// How one invitation reaches its person; reminders go the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
    Both,
    Paper,
}

impl Channel {
    pub fn key(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Both => "both",
            Channel::Paper => "paper",
        }
    }

    pub fn parse(s: &str) -> Channel {
        match s {
            "email" => Channel::Email,
            "sms" => Channel::Sms,
            "both" => Channel::Both,
            _ => Channel::Paper,
        }
    }

    pub fn email(self) -> bool {
        matches!(self, Channel::Email | Channel::Both)
    }

    pub fn sms(self) -> bool {
        matches!(self, Channel::Sms | Channel::Both)
    }
}

/// One message per way `channel` goes (e-mail, SMS, or both), to the
/// person's address and number, each made by `make`.
pub fn by_channel(
    channel: Channel,
    email: Option<&str>,
    mobile: Option<&str>,
    make: impl Fn(crate::mail::outbox::Via, &str) -> crate::mail::outbox::NewMail,
) -> Vec<crate::mail::outbox::NewMail> {
    use crate::mail::outbox::Via;
    let mut out = Vec::new();
    if let (true, Some(e)) = (channel.email(), email) {
        out.push(make(Via::Email, e));
    }
    if let (true, Some(m)) = (channel.sms(), mobile) {
        out.push(make(Via::Sms, m));
    }
    out
}

/// The messages of one invitation (an invitation or a reminder) by its
/// channel: one to the e-mail address, one to the mobile number, or both.
pub fn messages_for(
    kind: &str,
    round_id: &str,
    invitation_id: &str,
    channel: Channel,
    email: Option<&str>,
    mobile: Option<&str>,
    now: i64,
) -> Vec<crate::mail::outbox::NewMail> {
    by_channel(channel, email, mobile, |via, to| {
        crate::mail::outbox::NewMail::new(kind, via, round_id, invitation_id, to, now)
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSummary {
    pub invited: usize,
    /// Invitations with an e-mail (alone or beside an SMS).
    pub by_email: usize,
    /// Invitations with an SMS (alone or beside an e-mail).
    pub by_sms: usize,
    pub on_paper: usize,
}

/// The active units a round covers.
pub(crate) fn scope_of(all_units: &[Unit], round: &Round) -> HashSet<String> {
    match &round.root_unit_id {
        Some(root) => subtree(all_units, root),
        None => all_units
            .iter()
            .filter(|u| u.active)
            .map(|u| u.id.clone())
            .collect(),
    }
}

/// New invitations (and their queued messages) of `people` to `round`.
pub(crate) fn invite(
    conn: &mut DbConnection,
    key: &SecretKey,
    round: &Round,
    people: &[Employee],
    sms: bool,
) -> Result<OpenSummary, AppError> {
    let delivery = Delivery::parse(&round.delivery).unwrap_or(Delivery::Email);
    let now = crate::db::now_unix();
    let mut invs = Vec::with_capacity(people.len());
    let mut mails = Vec::new();
    let mut summary = OpenSummary {
        invited: people.len(),
        by_email: 0,
        by_sms: 0,
        on_paper: 0,
    };
    for p in people {
        let id = new_id();
        let channel = delivery.channel(p.email.is_some(), p.mobile.is_some(), sms);
        summary.by_email += usize::from(channel.email());
        summary.by_sms += usize::from(channel.sms());
        summary.on_paper += usize::from(channel == Channel::Paper);
        invs.push(Invitation {
            token_hash: lookup_hash(&key.survey_token(&id)),
            code_hash: lookup_hash(&key.paper_code(&id)),
            id: id.clone(),
            round_id: round.id.clone(),
            employee_id: p.id.clone(),
            unit_id: p.unit_id.clone(),
            channel: channel.key().into(),
            responded: false,
            reminders_sent: 0,
            last_reminded_at: None,
            withdrawn: false,
        });
        mails.extend(messages_for(
            "invitation",
            &round.id,
            &id,
            channel,
            p.email.as_deref(),
            p.mobile.as_deref(),
            now,
        ));
    }
    for chunk in invs.chunks(500) {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(invitations::table)
            .values(chunk)
            .execute(c))?;
    }
    for chunk in mails.chunks(500) {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(outbox::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(summary)
}

/// Opens a draft round without SMS: [`open_reaching`] for installations
/// that send no SMS (those with only a mobile number get paper).
pub fn open(
    conn: &mut DbConnection,
    key: &SecretKey,
    round_id: &RoundId,
) -> Result<OpenSummary, AppError> {
    open_reaching(conn, key, round_id, false)
}

/// Opens a draft round: one invitation per active employee in scope, and
/// its messages by the round's delivery (e-mail, SMS or both; `sms` says
/// whether SMS can be sent at all), all in one transaction.
pub fn open_reaching(
    conn: &mut DbConnection,
    key: &SecretKey,
    round_id: &RoundId,
    sms: bool,
) -> Result<OpenSummary, AppError> {
    let summary = crate::db::write_transaction(conn, |conn| {
        let round = Round::find(conn, round_id)?;
        if round.status != "draft" {
            return Err(AppError::from(UserError::CannotOpen {
                state: RoundState::of(&round.status),
            }));
        }
        if !sms && round.delivery != Delivery::Email.key() {
            return Err(AppError::from(UserError::SmsNotConfigured));
        }
        let all_units = Unit::all(conn)?;
        let scope = scope_of(&all_units, &round);
        let people: Vec<Employee> = employees::table
            .filter(employees::active.eq(true))
            .select(Employee::as_select())
            .load(conn)?
            .into_iter()
            .filter(|e| scope.contains(&e.unit_id))
            .collect();
        if people.is_empty() {
            return Err(AppError::from(UserError::NobodyInScope));
        }
        let summary = invite(conn, key, &round, &people, sms)?;
        // The rows of the live counts, fixed for the round (live.rs).
        live::store_layout(
            conn,
            &round,
            u32::try_from(round.min_group_size).unwrap_or(crate::config::MIN_GROUP_SIZE_FLOOR),
        )?;
        diesel::update(rounds::table.find(&round.id))
            .set((
                rounds::status.eq("open"),
                rounds::opened_at.eq(crate::db::now_unix()),
            ))
            .execute(conn)?;
        Ok(summary)
    })?;
    // Tens of thousands of invitations arrived at once. PostgreSQL's
    // planner would go on believing the table holds what it held before
    // (empty, after the last round's reduction) until autovacuum next
    // samples it; a close in the meantime then joined 50 000 invitations
    // row by row (0.43 s instead of 0.10 s for the "results are ready").
    if let DbConnection::Pg(c) = conn {
        c.batch_execute("ANALYZE invitations")?;
    }
    Ok(summary)
}

/// Queues reminders for invitations not yet answered, by the channel each
/// went by (e-mail, SMS or both; never paper), at most `max` per person
/// and never more often than `interval_secs`. Returns how many messages.
pub fn remind(
    conn: &mut DbConnection,
    round_id: &RoundId,
    max: u32,
    interval_secs: i64,
) -> Result<usize, AppError> {
    crate::db::write_transaction(conn, |conn| {
        let round = Round::find(conn, round_id)?;
        if !round.accepts_answers(today()) {
            return Err(AppError::from(UserError::RemindersOnlyWhileOpen));
        }
        let now = crate::db::now_unix();
        type Due = (String, String, Option<String>, Option<String>);
        let due: Vec<Due> = invitations::table
            .inner_join(employees::table)
            .filter(invitations::round_id.eq(round_id))
            .filter(invitations::responded.eq(false))
            .filter(invitations::withdrawn.eq(false))
            .filter(invitations::channel.ne("paper"))
            .filter(invitations::reminders_sent.lt(max as i32))
            .filter(
                invitations::last_reminded_at
                    .is_null()
                    .or(invitations::last_reminded_at.le(now - interval_secs)),
            )
            .select((
                invitations::id,
                invitations::channel,
                employees::email,
                employees::mobile,
            ))
            .load(conn)?;
        let mails: Vec<_> = due
            .iter()
            .flat_map(|(id, channel, email, mobile)| {
                messages_for(
                    "reminder",
                    round_id,
                    id,
                    Channel::parse(channel),
                    email.as_deref(),
                    mobile.as_deref(),
                    now,
                )
            })
            .collect();
        let ids: Vec<&str> = due.iter().map(|(id, ..)| id.as_str()).collect();
        for chunk in ids.chunks(500) {
            diesel::update(invitations::table.filter(invitations::id.eq_any(chunk)))
                .set((
                    invitations::reminders_sent.eq(invitations::reminders_sent + 1),
                    invitations::last_reminded_at.eq(now),
                ))
                .execute(conn)?;
        }
        for chunk in mails.chunks(500) {
            crate::on_backend!(&mut *conn, |c| diesel::insert_into(outbox::table)
                .values(chunk)
                .execute(c))?;
        }
        Ok(mails.len())
    })
}

/// Closes an open round: no more answers; responses rewritten in random
/// order under fresh ids; storage compacted; with `reduce_now`, invitations
/// replaced by per-unit counts.
pub fn close(
    conn: &mut DbConnection,
    round_id: &RoundId,
    reduce_now: bool,
) -> Result<usize, AppError> {
    let n = crate::db::with_large_cache(conn, |conn| close_rewriting(conn, round_id, reduce_now))?;
    compact(conn)?;
    Ok(n)
}

/// [`close`] but the compaction, in one transaction.
fn close_rewriting(
    conn: &mut DbConnection,
    round_id: &RoundId,
    reduce_now: bool,
) -> Result<usize, AppError> {
    crate::db::write_transaction(conn, |conn| {
        // Before the previous round's scores are read for the changes.
        crate::db::lock_snapshots(conn)?;
        let round = Round::find(conn, round_id)?;
        if round.status != "open" {
            return Err(AppError::from(UserError::CannotClose {
                state: RoundState::of(&round.status),
            }));
        }
        diesel::update(rounds::table.find(round_id))
            .set((
                rounds::status.eq("closed"),
                rounds::closed_at.eq(crate::db::now_unix()),
            ))
            .execute(conn)?;
        // The results are computed now, once, from the rows as answered;
        // then the rows are written back in random order under fresh ids,
        // keeping no more than the results release.
        let rows = crate::snapshot::stored_rows(conn, round_id)?;
        let n = rows.len();
        let closed = Round::find(conn, round_id)?;
        let snapshot = crate::snapshot::build_from(conn, &closed, &rows)?;
        let (kept, _) = rest::coarsen(&closed.surveys(conn)?, &snapshot, rows)?;
        rest::rewrite(conn, round_id, kept)?;
        queue_results(conn, &closed, &snapshot)?;
        if reduce_now {
            reduce_invitations(conn, round_id)?;
        }
        Ok(n)
    })
}

/// "The results are ready" to every person invited (and not withdrawn)
/// who is still employed, by the way their invitation went (e-mail, SMS or
/// both; nothing for paper), each with the link to the released results of
/// their unit's group or the nearest shown group above it
/// ([`crate::access::linked_group`]). Answered or not, everyone gets the
/// same: the message tells nothing of who answered. Nobody gets one where
/// nothing above their unit is shown.
///
/// Queued as one batch per group and way
/// ([`crate::db::schema::results_batches`]), which the
/// sender turns into messages ([`crate::mail::outbox::expand_results`]):
/// 50 000 outbox rows, one per person and way, were a third of a large
/// municipality's close on PostgreSQL, written under three indexes.
fn queue_results(
    conn: &mut DbConnection,
    round: &Round,
    snapshot: &crate::snapshot::Snapshot,
) -> Result<(), AppError> {
    use diesel::sql_types::{BigInt, Text};
    // Which group each unit's people are linked to: a few thousand rows in
    // a table of this connection's own. The addresses are then gathered by
    // the database in one statement per way, never passing through here.
    let units: Vec<String> = invitations::table
        .filter(invitations::round_id.eq(&round.id))
        .filter(invitations::withdrawn.eq(false))
        .select(invitations::unit_id)
        .distinct()
        .load(conn)?;
    let linked: Vec<(String, String)> = units
        .into_iter()
        .filter_map(|u| crate::access::linked_group(snapshot, &u).map(|g| (u, g.key.clone())))
        .collect();
    let create = match conn {
        DbConnection::Sqlite(_) => {
            "CREATE TEMP TABLE IF NOT EXISTS results_groups \
             (unit_id TEXT PRIMARY KEY, group_key TEXT NOT NULL)"
        }
        DbConnection::Pg(_) => {
            "CREATE TEMP TABLE IF NOT EXISTS results_groups \
             (unit_id TEXT PRIMARY KEY, group_key TEXT NOT NULL) ON COMMIT DROP"
        }
    };
    diesel::sql_query(create).execute(conn)?;
    diesel::sql_query("DELETE FROM results_groups").execute(conn)?;
    for chunk in linked.chunks(1000) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(u, g)| {
                (
                    results_groups::unit_id.eq(u),
                    results_groups::group_key.eq(g),
                )
            })
            .collect();
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(results_groups::table)
            .values(&values)
            .execute(c))?;
    }
    let now = crate::db::now_unix();
    for (via, address, channels) in [
        ("email", "e.email", "('email', 'both')"),
        ("sms", "e.mobile", "('sms', 'both')"),
    ] {
        // One batch per group and way, its addresses one per line (an
        // address or number holds no line break: the import refuses
        // whitespace in one and writes numbers as +digits). Ids as for the
        // messages: one random 96-bit prefix per statement and a counter.
        let (id, list, p) = match conn {
            DbConnection::Sqlite(_) => (
                "?1 || printf('%08x', row_number() OVER ())",
                format!("group_concat({address}, char(10))"),
                ["?2", "?3"],
            ),
            DbConnection::Pg(_) => (
                "$1 || lpad(to_hex(row_number() OVER ()), 8, '0')",
                format!("string_agg({address}, chr(10))"),
                ["$2", "$3"],
            ),
        };
        let sql = format!(
            "INSERT INTO results_batches (id, round_id, group_key, channel, recipients, \
             recipient_count, created_at) \
             SELECT {id}, {round}, g.group_key, '{via}', {list}, count(*), {now} \
             FROM invitations i \
             JOIN employees e ON e.id = i.employee_id \
             JOIN results_groups g ON g.unit_id = i.unit_id \
             WHERE i.round_id = {round} AND NOT i.withdrawn AND e.active \
             AND i.channel IN {channels} AND {address} IS NOT NULL \
             GROUP BY g.group_key",
            now = p[0],
            round = p[1],
        );
        diesel::sql_query(sql)
            .bind::<Text, _>(&crate::crypto::new_id()[..24])
            .bind::<BigInt, _>(now)
            .bind::<Text, _>(round.id.as_str())
            .execute(conn)?;
    }
    if matches!(conn, DbConnection::Sqlite(_)) {
        diesel::sql_query("DROP TABLE temp.results_groups").execute(conn)?;
    }
    Ok(())
}

diesel::table! {
    /// The temporary table of [`queue_results`]: the group each unit's
    /// people are linked to.
    results_groups (unit_id) {
        unit_id -> Text,
        group_key -> Text,
    }
}

/// Leaves no freed storage holding the old row order. On SQLite every
/// connection deletes securely (freed pages and cells are overwritten with
/// zeros, see [`crate::db::connect`]), so what remains is to write the log
/// into the file and truncate it; a `VACUUM`, which copied the whole
/// database for the same end, took a fifth of the close. On PostgreSQL the
/// responses table is rewritten into new files. Runs outside any
/// transaction, as both backends require.
pub fn compact(conn: &mut DbConnection) -> Result<(), AppError> {
    match conn {
        DbConnection::Sqlite(c) => c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?,
        DbConnection::Pg(c) => c.batch_execute("VACUUM FULL responses")?,
    }
    Ok(())
}

/// Replaces a closed round's invitations by per-unit counts, and deletes its
/// invitations' and reminders' outbox rows: afterwards nothing records who
/// answered or was reminded. (The "results are ready" messages and their
/// batches, sent to everyone invited alike, stay until sent.)
pub fn reduce_invitations(conn: &mut DbConnection, round_id: &str) -> Result<(), AppError> {
    crate::db::write_transaction(conn, |conn| {
        let counts = counts_from_invitations(conn, round_id)?;
        // Many rows per statement: one statement per unit was 3 000 round
        // trips on PostgreSQL, 0.4 s of a 50 000-person close.
        let rows: Vec<_> = counts
            .iter()
            .map(|c| {
                (
                    invitation_counts::round_id.eq(round_id),
                    invitation_counts::unit_id.eq(&c.unit_id),
                    invitation_counts::invited.eq(c.invited),
                    invitation_counts::responded.eq(c.responded),
                    invitation_counts::reminded.eq(c.reminded),
                )
            })
            .collect();
        for chunk in rows.chunks(1000) {
            crate::on_backend!(&mut *conn, |c| diesel::insert_into(
                invitation_counts::table
            )
            .values(chunk)
            .execute(c))?;
        }
        diesel::delete(
            outbox::table
                .filter(outbox::round_id.eq(round_id))
                .filter(outbox::invitation_id.is_not_null()),
        )
        .execute(conn)?;
        diesel::delete(invitations::table.filter(invitations::round_id.eq(round_id)))
            .execute(conn)?;
        Ok(())
    })
}

/// Per-unit counts of a round: invited, answered, reminded at least once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitCount {
    pub unit_id: String,
    pub invited: i32,
    pub responded: i32,
    pub reminded: i32,
}

fn counts_from_invitations(
    conn: &mut DbConnection,
    round_id: &str,
) -> Result<Vec<UnitCount>, AppError> {
    let rows: Vec<(String, bool, i32)> = invitations::table
        .filter(invitations::round_id.eq(round_id))
        .select((
            invitations::unit_id,
            invitations::responded,
            invitations::reminders_sent,
        ))
        .load(conn)?;
    let mut by_unit: HashMap<String, UnitCount> = HashMap::new();
    for (unit, responded, reminders) in rows {
        let c = by_unit.entry(unit.clone()).or_insert(UnitCount {
            unit_id: unit,
            invited: 0,
            responded: 0,
            reminded: 0,
        });
        c.invited += 1;
        c.responded += i32::from(responded);
        c.reminded += i32::from(reminders > 0);
    }
    let mut v: Vec<UnitCount> = by_unit.into_values().collect();
    v.sort_by(|a, b| a.unit_id.cmp(&b.unit_id));
    Ok(v)
}

/// The counts an administrator sees, from the invitations or, once they are
/// reduced, from the stored counts. Never from the responses.
pub fn counts(conn: &mut DbConnection, round_id: &RoundId) -> Result<Vec<UnitCount>, AppError> {
    let live = counts_from_invitations(conn, round_id)?;
    if !live.is_empty() {
        return Ok(live);
    }
    let stored: Vec<(String, i32, i32, i32)> = invitation_counts::table
        .filter(invitation_counts::round_id.eq(round_id))
        .order(invitation_counts::unit_id)
        .select((
            invitation_counts::unit_id,
            invitation_counts::invited,
            invitation_counts::responded,
            invitation_counts::reminded,
        ))
        .load(conn)?;
    Ok(stored
        .into_iter()
        .map(|(unit_id, invited, responded, reminded)| UnitCount {
            unit_id,
            invited,
            responded,
            reminded,
        })
        .collect())
}

/// Closes every open round whose closing day has passed. Returns their ids.
pub fn close_expired(conn: &mut DbConnection, reduce_now: bool) -> Result<Vec<RoundId>, AppError> {
    let open: Vec<Round> = rounds::table
        .filter(rounds::status.eq("open"))
        .select(Round::as_select())
        .load(conn)?;
    let mut closed = Vec::new();
    for r in open.into_iter().filter(|r| today() > r.closes_on_date()) {
        close(conn, &r.id, reduce_now)?;
        closed.push(r.id);
    }
    Ok(closed)
}

/// Reduces the invitations of rounds closed longer ago than the retention.
pub fn reduce_expired(conn: &mut DbConnection, retention_days: u32) -> Result<usize, AppError> {
    let cutoff = crate::db::now_unix() - i64::from(retention_days) * 86_400;
    let due: Vec<String> = rounds::table
        .filter(rounds::status.eq("closed"))
        .filter(rounds::closed_at.le(cutoff))
        .select(rounds::id)
        .load(conn)?;
    let mut n = 0;
    for id in due {
        let live: i64 = invitations::table
            .filter(invitations::round_id.eq(&id))
            .count()
            .get_result(conn)?;
        if live > 0 {
            reduce_invitations(conn, &id)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Responses per unit per day, for response-rate-over-time figures.
pub fn daily(conn: &mut DbConnection, round_id: &str) -> QueryResult<Vec<(String, String, i32)>> {
    daily_counts::table
        .filter(daily_counts::round_id.eq(round_id))
        .order((daily_counts::day, daily_counts::unit_id))
        .select((
            daily_counts::unit_id,
            daily_counts::day,
            daily_counts::responses,
        ))
        .load(conn)
}

/// The paper letters of a round: invitations without e-mail (or everyone's,
/// with `everyone`), grouped by unit code, then name.
pub fn letters(
    conn: &mut DbConnection,
    key: &SecretKey,
    round_id: &RoundId,
    everyone: bool,
) -> Result<Vec<Letter>, AppError> {
    let mut q = invitations::table
        .inner_join(employees::table)
        .inner_join(units::table.on(units::id.eq(invitations::unit_id)))
        .filter(invitations::round_id.eq(round_id))
        .filter(invitations::responded.eq(false))
        .filter(invitations::withdrawn.eq(false))
        .into_boxed();
    if !everyone {
        q = q.filter(invitations::channel.eq("paper"));
    }
    let rows: Vec<(String, String, String, String, String)> = q
        .order((units::code, employees::name))
        .select((
            invitations::id,
            units::code,
            units::name,
            employees::name,
            employees::language,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, code, unit, name, lang)| Letter {
            unit: format!("{code} {unit}"),
            name,
            lang: lang.parse().unwrap_or_default(),
            code: key.paper_code(&id),
        })
        .collect())
}
