//! The durable outbox. Invitations and reminders are queued as rows in the
//! same transaction that creates them; senders claim rows atomically, hand
//! the message to the relay, and mark it sent. Several senders (threads or
//! app nodes) never claim the same row: PostgreSQL claims with
//! `FOR UPDATE SKIP LOCKED`, SQLite with one atomic `UPDATE … RETURNING`.
//!
//! A crash between hand-over and marking leaves the row `sending`; after
//! `NAERVAER_MAIL_CLAIM_TIMEOUT_SECS` it is released and sent again. So at most the
//! messages in flight at the crash are sent twice, with the same Message-ID.

use super::{Mailer, SurveyMail};
use crate::config::Settings;
use crate::crypto::new_id;
use crate::crypto::SecretKey;
use crate::db::models::Round;
use crate::db::schema::{employees, invitations, outbox, rounds, units};
use crate::db::{now_unix, DbConnection, Pool};
use crate::lang::Lang;
use crate::AppError;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Messages one sender claims at a time: the most a crash can resend, per
/// worker thread.
pub const CLAIM_BATCH: i32 = 10;

/// Attempts before a message is given up as failed.
pub const MAX_ATTEMPTS: i32 = 6;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewMail {
    id: String,
    kind: String,
    round_id: String,
    invitation_id: String,
    recipient: String,
    status: String,
    attempts: i32,
    next_attempt_at: i64,
    created_at: i64,
}

impl NewMail {
    pub fn new(
        kind: &str,
        round_id: &str,
        invitation_id: &str,
        recipient: &str,
        now: i64,
    ) -> NewMail {
        NewMail {
            id: new_id(),
            kind: kind.into(),
            round_id: round_id.into(),
            invitation_id: invitation_id.into(),
            recipient: recipient.into(),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        }
    }
}

#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub invitation_id: String,
    #[diesel(sql_type = Text)]
    pub recipient: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

const CLAIM_PG: &str = "UPDATE outbox SET status = 'sending', claimed_by = $1, claimed_at = $2 \
     WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
                  ORDER BY created_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
     RETURNING id, kind, invitation_id, recipient, attempts";
const CLAIM_SQLITE: &str =
    "UPDATE outbox SET status = 'sending', claimed_by = ?1, claimed_at = ?2 \
     WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?2 \
                  ORDER BY created_at, id LIMIT ?3) \
     RETURNING id, kind, invitation_id, recipient, attempts";

/// Claims up to `limit` due messages for `sender`.
pub fn claim(conn: &mut DbConnection, sender: &str, limit: i32) -> QueryResult<Vec<Claimed>> {
    let now = now_unix();
    match conn {
        DbConnection::Pg(c) => diesel::sql_query(CLAIM_PG)
            .bind::<Text, _>(sender)
            .bind::<BigInt, _>(now)
            .bind::<Integer, _>(limit)
            .load(c),
        DbConnection::Sqlite(c) => diesel::sql_query(CLAIM_SQLITE)
            .bind::<Text, _>(sender)
            .bind::<BigInt, _>(now)
            .bind::<Integer, _>(limit)
            .load(c),
    }
}

/// Releases claims older than `timeout_secs`: their sender died mid-send.
pub fn release_stale(conn: &mut DbConnection, timeout_secs: i64) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::status.eq("sending"))
            .filter(outbox::claimed_at.lt(now_unix() - timeout_secs)),
    )
    .set((
        outbox::status.eq("pending"),
        outbox::claimed_by.eq(None::<String>),
    ))
    .execute(conn)
}

/// Marks a batch sent in one statement: one durable commit per batch
/// rather than per message. A crash before it resends only that batch.
fn mark_sent(conn: &mut DbConnection, ids: &[String]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set((
            outbox::status.eq("sent"),
            outbox::sent_at.eq(now_unix()),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)
}

fn mark_failed(
    conn: &mut DbConnection,
    m: &Claimed,
    error: &str,
    permanent: bool,
) -> QueryResult<bool> {
    let attempts = m.attempts + 1;
    let give_up = permanent || attempts >= MAX_ATTEMPTS;
    // 30 s, 1 min, 2 min, 4 min, … between attempts.
    let backoff = 30i64 << (attempts - 1).clamp(0, 8);
    diesel::update(outbox::table.find(&m.id))
        .set((
            outbox::status.eq(if give_up { "failed" } else { "pending" }),
            outbox::attempts.eq(attempts),
            outbox::next_attempt_at.eq(now_unix() + backoff),
            outbox::last_error.eq(error.chars().take(500).collect::<String>()),
        ))
        .execute(conn)?;
    Ok(give_up)
}

/// What one sending run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// What every message of a round shares, looked up once per worker.
struct RoundInfo {
    title: String,
    closes_on: chrono::NaiveDate,
}

/// Renders the message for a claimed row: the link is derived from the
/// invitation id and the secret key at this moment; nothing secret was
/// stored.
fn compose(
    conn: &mut DbConnection,
    settings: &Settings,
    key: &SecretKey,
    cache: &mut std::collections::HashMap<crate::ids::RoundId, RoundInfo>,
    organisation: &str,
    m: &Claimed,
) -> Result<lettre::Message, AppError> {
    let (round_id, language): (crate::ids::RoundId, String) = invitations::table
        .inner_join(employees::table)
        .filter(invitations::id.eq(&m.invitation_id))
        .select((invitations::round_id, employees::language))
        .get_result(conn)?;
    if !cache.contains_key(&round_id) {
        let round = Round::find(conn, &round_id)?;
        cache.insert(
            round_id.clone(),
            RoundInfo {
                closes_on: round.closes_on_date(),
                title: round.title,
            },
        );
    }
    let round = &cache[&round_id];
    let lang: Lang = language.parse().unwrap_or_default();
    let link = format!(
        "{}/s/{}",
        settings.base_url,
        key.survey_token(&m.invitation_id)
    );
    let (subject, text, html) = super::render(&SurveyMail {
        reminder: m.kind == "reminder",
        lang,
        organisation,
        round_title: &round.title,
        link: &link,
        closes_on: round.closes_on,
        contact: &settings.contact,
    });
    super::build(
        &settings.mail_from,
        &m.recipient,
        &m.id,
        lang,
        &subject,
        text,
        html,
    )
}

/// The name of the organisation's root unit (there is one active root; a
/// plain load, not `first`, whose bound LIMIT SQLite re-plans every call).
fn organisation_name(conn: &mut DbConnection) -> QueryResult<String> {
    Ok(units::table
        .filter(units::parent_id.is_null())
        .filter(units::active.eq(true))
        .select(units::name)
        .load::<String>(conn)?
        .into_iter()
        .next()
        .unwrap_or_default())
}

/// Spaces hand-overs evenly to stay under `rate` messages per second,
/// across all worker threads of this process.
struct Pace {
    next: Mutex<Instant>,
    gap: Duration,
}

impl Pace {
    fn wait(&self) {
        let at = {
            let mut next = self.next.lock().expect("pace lock");
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + self.gap;
            at
        };
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
    }
}

/// Sends every due message with `settings.mail_workers` threads and returns
/// when none is left. Each thread claims small batches, so several
/// processes running this at once share the work.
pub fn send_due(
    pool: &Pool,
    mailer: &Mailer,
    settings: &Settings,
    key: &SecretKey,
) -> Result<SendReport, AppError> {
    {
        let mut conn = pool.get()?;
        release_stale(&mut conn, i64::from(settings.mail_claim_timeout_secs))?;
    }
    let sender = format!("{}-{}", std::process::id(), &new_id()[..8]);
    let report = Arc::new(Mutex::new(SendReport::default()));
    let pace = Arc::new(Pace {
        next: Mutex::new(Instant::now()),
        gap: Duration::from_secs_f64(1.0 / settings.mail_rate.max(0.001)),
    });
    let errors: Arc<Mutex<Vec<AppError>>> = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|scope| {
        for w in 0..settings.mail_workers.max(1) {
            let (report, pace, errors) = (report.clone(), pace.clone(), errors.clone());
            let sender = format!("{sender}-{w}");
            scope.spawn(move || {
                if let Err(e) = worker(pool, mailer, settings, key, &sender, &report, &pace) {
                    errors.lock().expect("errors lock").push(e);
                }
            });
        }
    });
    if let Some(e) = errors.lock().expect("errors lock").pop() {
        return Err(e);
    }
    let r = report.lock().expect("report lock").clone();
    Ok(r)
}

fn worker(
    pool: &Pool,
    mailer: &Mailer,
    settings: &Settings,
    key: &SecretKey,
    sender: &str,
    report: &Mutex<SendReport>,
    pace: &Pace,
) -> Result<(), AppError> {
    let mut cache = std::collections::HashMap::new();
    let organisation = organisation_name(&mut *pool.get()?)?;
    let mut sending = mailer.sending();
    loop {
        // A connection is borrowed only to claim and compose, and again to
        // mark: never during the SMTP exchange, so many workers share a
        // small pool with the web requests.
        let composed: Vec<(Claimed, Result<lettre::Message, super::SendError>)> = {
            let mut conn = pool.get()?;
            let batch = claim(&mut conn, sender, CLAIM_BATCH)?;
            if batch.is_empty() {
                return Ok(());
            }
            batch
                .into_iter()
                .map(|m| {
                    let msg = compose(&mut conn, settings, key, &mut cache, &organisation, &m)
                        .map_err(|e| super::SendError {
                            permanent: true,
                            message: e.to_string(),
                        });
                    (m, msg)
                })
                .collect()
        };
        let mut sent = Vec::with_capacity(composed.len());
        let mut failed = Vec::new();
        for (m, msg) in composed {
            // The rate protects a relay; writing files needs no pacing.
            if matches!(mailer, Mailer::Smtp(_)) {
                pace.wait();
            }
            match msg.and_then(|msg| sending.send(&msg, &m.id)) {
                Ok(()) => sent.push(m.id),
                Err(e) => {
                    tracing::warn!(outbox_id = %m.id, permanent = e.permanent, error = %e.message, "e-mail not delivered");
                    failed.push((m, e));
                }
            }
        }
        let mut conn = pool.get()?;
        mark_sent(&mut conn, &sent)?;
        let mut r = report.lock().expect("report lock");
        r.sent += sent.len();
        for (m, e) in failed {
            if mark_failed(&mut conn, &m, &e.message, e.permanent)? {
                r.failed += 1;
            } else {
                r.retrying += 1;
            }
        }
    }
}

/// Messages that could not be delivered, for the administrator.
pub fn failures(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, String)>> {
    outbox::table
        .inner_join(rounds::table)
        .filter(outbox::status.eq("failed"))
        .order(outbox::created_at)
        .select((
            outbox::recipient,
            rounds::title,
            outbox::last_error.assume_not_null(),
        ))
        .load(conn)
}

/// Count of messages per status.
pub fn status_counts(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    outbox::table
        .group_by(outbox::status)
        .select((outbox::status, diesel::dsl::count_star()))
        .order(outbox::status)
        .load(conn)
}
