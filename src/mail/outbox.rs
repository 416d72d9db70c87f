//! The durable outbox. Invitations and reminders are queued as rows in the
//! same transaction that creates them; senders claim rows atomically, hand
//! the message to the relay, and mark it sent. Several senders (threads or
//! app nodes) never claim the same row: PostgreSQL claims with
//! `FOR UPDATE SKIP LOCKED`, SQLite with one atomic `UPDATE … RETURNING`.
//!
//! Each acceptance by the relay is recorded while the connection exchanges
//! the envelope of its next message (MAIL, RCPT, DATA), and committed
//! before that message's body is sent ([`Marker`]: the acceptances of all
//! connections that arrive together share one commit). A crash between
//! hand-over and marking leaves the row `sending`; after
//! `NAERVAER_MAIL_CLAIM_TIMEOUT_SECS` it is released and sent again. So a
//! crash sends again at most one message per connection (the one the
//! relay accepted last), with the same Message-ID.
//!
//! "The results are ready" is queued by the close as one batch per group
//! and way ([`expand_results`]); a sender turns batches into messages when
//! it finds fewer messages due than it claims at a time.

use super::{Mailer, SurveyMail};
use crate::config::Settings;
use crate::crypto::new_id;
use crate::crypto::SecretKey;
use crate::db::models::Round;
use crate::db::schema::{employees, invitations, outbox, results_batches, rounds, units};
use crate::db::{now_unix, DbConnection, Pool};
use crate::lang::Lang;
use crate::AppError;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Messages one sender claims at a time. A crash resends only those
/// handed to the relay and not yet marked: at most one per worker.
pub const CLAIM_BATCH: i32 = 10;

/// A mark that a message was sent needs to survive the sending process
/// (a kill), not a power cut of the database's machine: losing one then
/// only sends the message again. So the marker's commits skip the wait for
/// the disk — SQLite's WAL with `synchronous = NORMAL`, PostgreSQL's
/// `synchronous_commit = off` — and keep up with many connections.
fn relax_durability(conn: &mut DbConnection) {
    use diesel::connection::SimpleConnection;
    let sql = match conn {
        DbConnection::Sqlite(_) => "PRAGMA synchronous = NORMAL;",
        DbConnection::Pg(_) => "SET synchronous_commit TO OFF;",
    };
    if let Err(e) = conn.batch_execute(sql) {
        tracing::warn!(error = %e, "marking sent messages at full durability");
    }
}

/// Records acceptances by the relay as they happen: a sending thread hands
/// over a message's id and waits until it is committed as sent; ids that
/// arrive while a commit runs go into the next one together, so marking
/// costs about one commit per moment, not one per message.
pub struct Marker {
    queue: std::sync::mpsc::Sender<(String, std::sync::mpsc::SyncSender<Result<(), String>>)>,
    /// Held for each write to the outbox by this process's senders (claims
    /// and marks), so that they queue here instead of in SQLite's busy
    /// handler, whose sleeps grow to 100 ms.
    pub writes: Arc<Mutex<()>>,
}

impl Marker {
    /// The committer thread, on a connection of its own to `database_url`;
    /// it ends when the `Marker` is dropped.
    pub fn start(database_url: &str) -> Result<Marker, AppError> {
        let mut conn = crate::db::connect(database_url)?;
        relax_durability(&mut conn);
        let writes = Arc::new(Mutex::new(()));
        let lock = writes.clone();
        let (tx, rx) =
            std::sync::mpsc::channel::<(String, std::sync::mpsc::SyncSender<Result<(), String>>)>();
        std::thread::spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                batch.extend(rx.try_iter());
                let ids: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();
                let result = {
                    let _turn = lock.lock().unwrap_or_else(|e| e.into_inner());
                    mark_sent(&mut conn, &ids).map_err(|e| e.to_string())
                };
                for (_, reply) in batch {
                    let _ = reply.send(result.as_ref().map(|_| ()).map_err(Clone::clone));
                }
            }
        });
        Ok(Marker { queue: tx, writes })
    }

    /// Hands `id` over to be recorded as sent; [`Marking::wait`] returns
    /// once it is committed.
    pub fn sent(&self, id: &str) -> Result<Marking, AppError> {
        let (reply, done) = std::sync::mpsc::sync_channel(1);
        self.queue
            .send((id.to_string(), reply))
            .map_err(|_| AppError::internal("the outbox marker has stopped"))?;
        Ok(Marking(done))
    }
}

/// An acceptance on its way into the database.
pub struct Marking(std::sync::mpsc::Receiver<Result<(), String>>);

impl Marking {
    pub fn wait(self) -> Result<(), AppError> {
        self.0
            .recv()
            .map_err(|_| AppError::internal("the outbox marker has stopped"))?
            .map_err(|e| AppError::internal(format!("marking a message sent: {e}")))
    }
}

/// Attempts before a message is given up as failed.
pub const MAX_ATTEMPTS: i32 = 6;

/// Which way one message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Email,
    Sms,
}

impl Via {
    pub fn key(self) -> &'static str {
        match self {
            Via::Email => "email",
            Via::Sms => "sms",
        }
    }
}

/// A message to queue: what it is (an invitation, a reminder, an account
/// request, a "results are ready"), which way it goes and to whom; never
/// its text, which is rendered when it is sent.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewMail {
    id: String,
    kind: String,
    channel: String,
    round_id: Option<String>,
    invitation_id: Option<String>,
    account_id: Option<String>,
    group_key: Option<String>,
    recipient: String,
    status: String,
    attempts: i32,
    next_attempt_at: i64,
    created_at: i64,
}

impl NewMail {
    fn queued(kind: &str, via: Via, recipient: &str, now: i64) -> NewMail {
        NewMail {
            id: new_id(),
            kind: kind.into(),
            channel: via.key().into(),
            round_id: None,
            invitation_id: None,
            account_id: None,
            group_key: None,
            recipient: recipient.into(),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        }
    }

    /// An invitation or a reminder of one.
    pub fn new(
        kind: &str,
        via: Via,
        round_id: &str,
        invitation_id: &str,
        recipient: &str,
        now: i64,
    ) -> NewMail {
        NewMail {
            round_id: Some(round_id.into()),
            invitation_id: Some(invitation_id.into()),
            ..NewMail::queued(kind, via, recipient, now)
        }
    }

    /// A request for a written account (`account`) or a reminder of one
    /// (`account_reminder`), to one of the unit's leaders, by e-mail.
    pub fn account(kind: &str, account_id: &str, recipient: &str, now: i64) -> NewMail {
        NewMail {
            account_id: Some(account_id.into()),
            ..NewMail::queued(kind, Via::Email, recipient, now)
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
    pub channel: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub round_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub invitation_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub account_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub group_key: Option<String>,
    #[diesel(sql_type = Text)]
    pub recipient: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

/// The claim, as [`claim`] sends it (public for the test of its plan).
///
/// The oldest due first: by `next_attempt_at`, the order of the index on
/// (status, next_attempt_at), so that a claim reads its 10 from the index
/// and stops. Ordered by (created_at, id) it sorted every due message on
/// each claim: with a round's 50 000 invitations queued at once, 17–20 ms
/// a claim on SQLite and 104 ms on PostgreSQL (a sort spilled to disk),
/// 5 000 claims per round. A new message is due when it is queued, so the
/// order is the queue's; one retried later waits behind those due before
/// it. Messages due in the same second go in no particular order.
pub const CLAIM_PG: &str = "UPDATE outbox SET status = 'sending', claimed_by = $1, claimed_at = $2 \
     WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
                  ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
     RETURNING id, kind, channel, round_id, invitation_id, account_id, group_key, recipient, attempts";
pub const CLAIM_SQLITE: &str =
    "UPDATE outbox SET status = 'sending', claimed_by = ?1, claimed_at = ?2 \
     WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?2 \
                  ORDER BY next_attempt_at LIMIT ?3) \
     RETURNING id, kind, channel, round_id, invitation_id, account_id, group_key, recipient, attempts";

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

/// Batches of "results are ready" a sender turns into messages at a time
/// ([`expand_results`]).
pub const EXPAND_BATCHES: i64 = 20;

#[derive(Debug, QueryableByName)]
struct Batch {
    #[diesel(sql_type = Text)]
    round_id: String,
    #[diesel(sql_type = Text)]
    group_key: String,
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = Text)]
    recipients: String,
    #[diesel(sql_type = BigInt)]
    created_at: i64,
}

const TAKE_BATCHES_PG: &str = "DELETE FROM results_batches WHERE id IN \
     (SELECT id FROM results_batches ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) \
     RETURNING round_id, group_key, channel, recipients, created_at";
const TAKE_BATCHES_SQLITE: &str = "DELETE FROM results_batches WHERE id IN \
     (SELECT id FROM results_batches ORDER BY created_at, id LIMIT ?1) \
     RETURNING round_id, group_key, channel, recipients, created_at";

/// Turns up to `limit` batches of "results are ready" (queued by the close,
/// one per group and way) into one pending message per address, in one
/// transaction: a batch is taken and its messages written together or not
/// at all, and two senders never take the same batch. Returns the messages
/// written.
pub fn expand_results(conn: &mut DbConnection, limit: i64) -> Result<usize, AppError> {
    // Most runs find none: a read, not a write transaction, says so.
    let waiting: i64 = results_batches::table.count().get_result(conn)?;
    if waiting == 0 {
        return Ok(0);
    }
    crate::db::write_transaction(conn, |conn| {
        let batches: Vec<Batch> = match conn {
            DbConnection::Pg(c) => diesel::sql_query(TAKE_BATCHES_PG)
                .bind::<BigInt, _>(limit)
                .load(c)?,
            DbConnection::Sqlite(c) => diesel::sql_query(TAKE_BATCHES_SQLITE)
                .bind::<BigInt, _>(limit)
                .load(c)?,
        };
        let now = now_unix();
        let mails: Vec<NewMail> = batches
            .iter()
            .flat_map(|b| {
                let via = if b.channel == Via::Sms.key() {
                    Via::Sms
                } else {
                    Via::Email
                };
                b.recipients
                    .split('\n')
                    .filter(|r| !r.is_empty())
                    .map(move |recipient| NewMail {
                        round_id: Some(b.round_id.clone()),
                        group_key: Some(b.group_key.clone()),
                        created_at: b.created_at,
                        ..NewMail::queued("results", via, recipient, now)
                    })
            })
            .collect();
        for chunk in mails.chunks(500) {
            crate::on_backend!(&mut *conn, |c| diesel::insert_into(outbox::table)
                .values(chunk)
                .execute(c))?;
        }
        Ok(mails.len())
    })
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

/// A message ready to hand over.
pub enum Outgoing {
    Mail(Box<lettre::Message>),
    Sms { to: String, text: String },
}

/// The round's title and closing day, once per worker.
fn round_info<'c>(
    conn: &mut DbConnection,
    cache: &'c mut std::collections::HashMap<crate::ids::RoundId, RoundInfo>,
    round_id: &crate::ids::RoundId,
) -> Result<&'c RoundInfo, AppError> {
    if !cache.contains_key(round_id) {
        let round = Round::find(conn, round_id)?;
        cache.insert(
            round_id.clone(),
            RoundInfo {
                closes_on: round.closes_on_date(),
                title: round.title,
            },
        );
    }
    Ok(&cache[round_id])
}

/// Renders the message for a claimed row: the link is derived from the
/// invitation (or account, or group) id and the secret key at this moment;
/// nothing secret was stored.
fn compose(
    conn: &mut DbConnection,
    settings: &Settings,
    key: &SecretKey,
    cache: &mut std::collections::HashMap<crate::ids::RoundId, RoundInfo>,
    organisation: &str,
    m: &Claimed,
) -> Result<Outgoing, AppError> {
    if let Some(account) = &m.account_id {
        return compose_account(conn, settings, key, organisation, m, account)
            .map(|mail| Outgoing::Mail(Box::new(mail)));
    }
    if m.kind == "results" {
        return compose_results(conn, settings, key, cache, organisation, m);
    }
    let invitation_id = m
        .invitation_id
        .as_deref()
        .ok_or_else(|| AppError::damaged("an outbox row names neither invitation nor account"))?;
    let (round_id, language): (crate::ids::RoundId, String) = invitations::table
        .inner_join(employees::table)
        .filter(invitations::id.eq(invitation_id))
        .select((invitations::round_id, employees::language))
        .get_result(conn)?;
    let round = round_info(conn, cache, &round_id)?;
    let lang: Lang = language.parse().unwrap_or_default();
    let link = format!(
        "{}/s/{}",
        settings.base_url,
        key.survey_token(invitation_id)
    );
    let reminder = m.kind == "reminder";
    if m.channel == "sms" {
        return Ok(Outgoing::Sms {
            to: m.recipient.clone(),
            text: super::sms::survey_text(lang, reminder, round.closes_on, &link),
        });
    }
    let (subject, text, html) = super::render(&SurveyMail {
        reminder,
        lang,
        organisation,
        round_title: &round.title,
        link: &link,
        closes_on: round.closes_on,
        contact: &settings.contact,
    });
    super::build(settings, &m.recipient, &m.id, lang, &subject, text, html)
        .map(|mail| Outgoing::Mail(Box::new(mail)))
}

/// "The results are ready": the link opens the released results of the
/// group the row names (a group's link, the same for everyone in it).
fn compose_results(
    conn: &mut DbConnection,
    settings: &Settings,
    key: &SecretKey,
    cache: &mut std::collections::HashMap<crate::ids::RoundId, RoundInfo>,
    organisation: &str,
    m: &Claimed,
) -> Result<Outgoing, AppError> {
    let (Some(round_id), Some(group)) = (&m.round_id, &m.group_key) else {
        return Err(AppError::damaged(
            "a results message without round or group",
        ));
    };
    let lang = recipient_lang(conn, settings, m)?;
    let token = key.results_token(round_id, group);
    record_results_link(conn, &token, round_id, group)?;
    let link = format!("{}/r/{token}", settings.base_url);
    if m.channel == "sms" {
        return Ok(Outgoing::Sms {
            to: m.recipient.clone(),
            text: super::sms::results_text(lang, &link),
        });
    }
    let round_id = crate::ids::RoundId::from(round_id.clone());
    let round = round_info(conn, cache, &round_id)?;
    let (subject, text, html) = super::render_results(&super::ResultsMail {
        lang,
        organisation,
        round_title: &round.title,
        link: &link,
        contact: &settings.contact,
    });
    super::build(settings, &m.recipient, &m.id, lang, &subject, text, html)
        .map(|mail| Outgoing::Mail(Box::new(mail)))
}

/// The request for a written account, or its reminder, in the language of
/// the leader it goes to.
fn compose_account(
    conn: &mut DbConnection,
    settings: &Settings,
    key: &SecretKey,
    organisation: &str,
    m: &Claimed,
    account_id: &str,
) -> Result<lettre::Message, AppError> {
    use crate::db::schema::accounts;
    let (unit_name, kind, period_start, period_end, rate, target, due_on): (
        String,
        String,
        String,
        String,
        f64,
        f64,
        String,
    ) = accounts::table
        .inner_join(units::table)
        .filter(accounts::id.eq(account_id))
        .select((
            units::name,
            accounts::kind,
            accounts::period_start,
            accounts::period_end,
            accounts::rate,
            accounts::target,
            accounts::due_on,
        ))
        .get_result(conn)?;
    let lang = recipient_lang(conn, settings, m)?;
    let date = |s: &str| {
        chrono::NaiveDate::parse_from_str(s, crate::db::models::DATE_FORMAT)
            .map_err(|e| AppError::damaged_by(format!("a date of account {account_id}"), e))
    };
    let link = format!(
        "{}/redegjorelse/{account_id}/{}",
        settings.base_url,
        key.account_token(account_id)
    );
    let kind = crate::analysis::model::AbsenceKind::parse(&kind)
        .ok_or_else(|| AppError::damaged(format!("account {account_id} of kind {kind}")))?;
    let (subject, text, html) = super::render_account(&super::AccountMail {
        reminder: m.kind == "account_reminder",
        lang,
        organisation,
        unit: &unit_name,
        kind,
        period: (date(&period_start)?, date(&period_end)?),
        rate,
        target,
        link: &link,
        due_on: date(&due_on)?,
        contact: &settings.contact,
    });
    super::build(settings, &m.recipient, &m.id, lang, &subject, text, html)
}

/// Records the hash of a group's results link the first time a message
/// carries it, so that `/r/{token}` finds the group: one row per group and
/// round, never per person.
fn record_results_link(
    conn: &mut DbConnection,
    token: &str,
    round_id: &str,
    group: &str,
) -> Result<(), AppError> {
    use crate::db::schema::result_links;
    let hash = crate::crypto::lookup_hash(token);
    let known: i64 = result_links::table
        .filter(result_links::token_hash.eq(&hash))
        .count()
        .get_result(conn)?;
    if known == 0 {
        let row = (
            result_links::token_hash.eq(&hash),
            result_links::round_id.eq(round_id),
            result_links::group_key.eq(group),
        );
        // Two senders may record the same link at once: the second insert
        // finds it there and changes nothing.
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_or_ignore_into(result_links::table)
                .values(row)
                .execute(c)?,
            DbConnection::Pg(c) => diesel::insert_into(result_links::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(c)?,
        };
    }
    Ok(())
}

/// The language of the active person a message's address or number
/// belongs to; the installation's where there is none.
fn recipient_lang(
    conn: &mut DbConnection,
    settings: &Settings,
    m: &Claimed,
) -> Result<Lang, AppError> {
    let by = employees::table
        .filter(employees::active.eq(true))
        .select(employees::language)
        .into_boxed();
    let by = if m.channel == "sms" {
        by.filter(employees::mobile.eq(&m.recipient))
    } else {
        by.filter(employees::email.eq(&m.recipient))
    };
    let language: Option<String> = by.load::<String>(conn)?.into_iter().next();
    Ok(language
        .and_then(|l| l.parse().ok())
        .unwrap_or(settings.lang))
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
/// processes running this at once share the work. SMS go the way
/// [`super::sms::SmsRoute::from_settings`] names; where there is none, an
/// SMS fails as undeliverable.
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
    let pace = |rate: f64| Pace {
        next: Mutex::new(Instant::now()),
        gap: Duration::from_secs_f64(1.0 / rate.max(0.001)),
    };
    let paces = Arc::new((pace(settings.mail_rate), pace(settings.sms_rate)));
    let errors: Arc<Mutex<Vec<AppError>>> = Arc::new(Mutex::new(Vec::new()));
    let marker = Marker::start(settings.database_url.expose())?;
    let sms = super::sms::SmsRoute::from_settings(settings)?;
    std::thread::scope(|scope| {
        for w in 0..settings.mail_workers.max(1) {
            let (report, paces, errors) = (report.clone(), paces.clone(), errors.clone());
            let sender = format!("{sender}-{w}");
            let marker = &marker;
            let sms = sms.as_ref();
            scope.spawn(move || {
                let run = Run {
                    pool,
                    mailer,
                    sms,
                    settings,
                    key,
                    marker,
                };
                if let Err(e) = worker(&run, &sender, &report, &paces) {
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

/// What every sending thread of one run shares.
struct Run<'a> {
    pool: &'a Pool,
    mailer: &'a Mailer,
    sms: Option<&'a super::sms::SmsRoute>,
    settings: &'a Settings,
    key: &'a SecretKey,
    marker: &'a Marker,
}

fn worker(
    run: &Run,
    sender: &str,
    report: &Mutex<SendReport>,
    paces: &(Pace, Pace),
) -> Result<(), AppError> {
    let Run {
        pool,
        mailer,
        sms,
        settings,
        key,
        marker,
    } = *run;
    let mut cache = std::collections::HashMap::new();
    let organisation = organisation_name(&mut *pool.get()?)?;
    let mut sending = mailer.sending();
    loop {
        // A connection is borrowed only to claim and compose, and again to
        // mark: never during the exchange with the relay or the SMS
        // provider, so many workers share a small pool with the web
        // requests.
        let composed: Vec<(Claimed, Result<Outgoing, super::SendError>)> = {
            let mut conn = pool.get()?;
            let batch = {
                let _turn = marker.writes.lock().unwrap_or_else(|e| e.into_inner());
                let mut batch = claim(&mut conn, sender, CLAIM_BATCH)?;
                let short = CLAIM_BATCH - batch.len() as i32;
                if short > 0 && expand_results(&mut conn, EXPAND_BATCHES)? > 0 {
                    batch.extend(claim(&mut conn, sender, short)?);
                }
                batch
            };
            if batch.is_empty() {
                return Ok(());
            }
            batch
                .into_iter()
                .map(|m| {
                    // A database busy for a moment (SQLite's lock while
                    // another sender records a link) is tried again later;
                    // a message whose invitation is gone never will be.
                    let msg = compose(&mut conn, settings, key, &mut cache, &organisation, &m)
                        .map_err(|e| super::SendError {
                            permanent: !e.is_transient(),
                            message: e.to_string(),
                        });
                    (m, msg)
                })
                .collect()
        };
        let mut sent = Vec::new();
        let mut failed = Vec::new();
        // The previous acceptance's commit runs while the next message's
        // envelope is exchanged with the relay, and must be done before its
        // body goes: so at any moment at most one accepted message of this
        // connection is not yet recorded, and a crash resends at most it.
        let mut marking: Option<Marking> = None;
        for (m, msg) in composed {
            let mut previous_recorded = || match marking.take() {
                Some(previous) => previous.wait().map_err(|e| super::SendError {
                    permanent: false,
                    message: e.to_string(),
                }),
                None => Ok(()),
            };
            let handed = msg.and_then(|msg| match msg {
                Outgoing::Mail(mail) => {
                    // The rate protects a relay; writing files needs no
                    // pacing.
                    if matches!(mailer, Mailer::Smtp(_)) {
                        paces.0.wait();
                    }
                    sending.send(&mail, &m.id, &mut previous_recorded)
                }
                Outgoing::Sms { to, text } => match sms {
                    Some(route) => {
                        if matches!(route, super::sms::SmsRoute::Provider(_)) {
                            paces.1.wait();
                        }
                        route.send(&to, &text, &m.id, &mut previous_recorded)
                    }
                    None => Err(super::SendError {
                        permanent: true,
                        message: "no SMS provider is set up (NAERVAER_SMS_URL)".into(),
                    }),
                },
            });
            match handed {
                Ok(()) => {
                    marking = Some(marker.sent(&m.id)?);
                    sent.push(m.channel.clone());
                }
                Err(e) => {
                    tracing::warn!(outbox_id = %m.id, channel = %m.channel, permanent = e.permanent, error = %e.message, "message not delivered");
                    failed.push((m, e));
                }
            }
        }
        if let Some(last) = marking.take() {
            last.wait()?;
        }
        let mut conn = pool.get()?;
        let mut r = report.lock().expect("report lock");
        r.sent += sent.len();
        let metrics = crate::metrics::get();
        for channel in sent {
            metrics.mail(&channel, "sent", 1);
        }
        for (m, e) in failed {
            if mark_failed(&mut conn, &m, &e.message, e.permanent)? {
                r.failed += 1;
                metrics.mail(&m.channel, "failed", 1);
            } else {
                r.retrying += 1;
                metrics.mail(&m.channel, "retrying", 1);
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

/// Count of messages per status; those still in a batch of "results are
/// ready" are pending.
pub fn status_counts(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    let mut counts: Vec<(String, i64)> = Vec::new();
    for row in tally(conn)? {
        match counts.iter_mut().find(|(s, _)| *s == row.status) {
            Some(slot) => slot.1 += row.n,
            None => counts.push((row.status, row.n)),
        }
    }
    counts.sort();
    Ok(counts)
}

#[derive(QueryableByName)]
struct Tally {
    #[diesel(sql_type = Text)]
    channel: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Messages per channel, status and attempts, those still in a batch of
/// "results are ready" as pending: one statement, so that a batch being
/// turned into messages meanwhile is counted once.
fn tally(conn: &mut DbConnection) -> QueryResult<Vec<Tally>> {
    const SQL: &str = "SELECT channel, status, attempts, count(*) AS n FROM outbox \
         GROUP BY channel, status, attempts \
         UNION ALL \
         SELECT channel, 'pending' AS status, 0 AS attempts, sum(recipient_count) AS n \
         FROM results_batches GROUP BY channel";
    match conn {
        DbConnection::Pg(c) => diesel::sql_query(SQL).load(c),
        DbConnection::Sqlite(c) => diesel::sql_query(SQL).load(c),
    }
}

/// Messages per channel and state, for the metrics: pending (not yet
/// tried), retrying (pending after a failed attempt), sending, sent,
/// failed. Every state of both channels appears, with 0 when empty.
pub fn depth(conn: &mut DbConnection) -> QueryResult<Vec<(&'static str, String, i64)>> {
    let mut out: Vec<(&'static str, String, i64)> = ["email", "sms"]
        .iter()
        .flat_map(|c| {
            ["pending", "retrying", "sending", "sent", "failed"]
                .iter()
                .map(move |s| (*c, s.to_string(), 0))
        })
        .collect();
    for Tally {
        channel,
        status,
        attempts,
        n,
    } in tally(conn)?
    {
        let channel = if channel == "sms" { "sms" } else { "email" };
        let state = match status.as_str() {
            "pending" if attempts > 0 => "retrying",
            other => other,
        };
        match out.iter_mut().find(|(c, s, _)| *c == channel && s == state) {
            Some(slot) => slot.2 += n,
            None => out.push((channel, state.to_string(), n)),
        }
    }
    Ok(out)
}
