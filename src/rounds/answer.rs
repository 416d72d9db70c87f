//! Answering: the questionnaire split into pages, the form that carries the
//! answers of earlier pages (no draft is kept on the server), its strict
//! parsing, and the one transaction that stores a response.
//!
//! Field names: `q.{survey}.{item}` for items (value `1`..=`5`, or `0` for
//! "vet ikke"), `b.{survey}.{question}` for background questions (an option
//! key), and the controls `page`, `go`. Anything else is a tampered form.

use super::{today, Invitation, Round};
use crate::crypto::new_id;
use crate::db::schema::{daily_counts, invitations, responses};
use crate::db::DbConnection;
use crate::survey::Survey;
use crate::AppError;
use diesel::prelude::*;
use std::collections::BTreeMap;

/// The most items on one page; factors are never split across pages.
pub const ITEMS_PER_PAGE: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// Items of whole factors: (survey index, item index).
    Items(Vec<(usize, usize)>),
    /// The optional background questions: (survey index, question index).
    Background(Vec<(usize, usize)>),
}

/// The pages of a round's questionnaires, background questions last.
pub fn pages(surveys: &[Survey]) -> Vec<Page> {
    let mut pages = Vec::new();
    for (si, s) in surveys.iter().enumerate() {
        let mut current: Vec<(usize, usize)> = Vec::new();
        for f in &s.factors {
            let items: Vec<(usize, usize)> = s
                .items
                .iter()
                .enumerate()
                .filter(|(_, i)| i.factor == f.key)
                .map(|(ii, _)| (si, ii))
                .collect();
            if !current.is_empty() && current.len() + items.len() > ITEMS_PER_PAGE {
                pages.push(Page::Items(std::mem::take(&mut current)));
            }
            current.extend(items);
        }
        if !current.is_empty() {
            pages.push(Page::Items(current));
        }
    }
    let bg: Vec<(usize, usize)> = surveys
        .iter()
        .enumerate()
        .flat_map(|(si, s)| (0..s.background.len()).map(move |bi| (si, bi)))
        .collect();
    if !bg.is_empty() {
        pages.push(Page::Background(bg));
    }
    pages
}

pub fn item_field(survey: &Survey, item: &str) -> String {
    format!("q.{}.{}", survey.id, item)
}

pub fn background_field(survey: &Survey, question: &str) -> String {
    format!("b.{}.{}", survey.id, question)
}

/// Whether `name` is `{kind}.{survey id}.{key}` (what [`item_field`] or
/// [`background_field`] gives), without building that string: the form
/// parser checks every field against every question.
fn names_field(name: &str, kind: &str, survey: &Survey, key: &str) -> bool {
    name.strip_prefix(kind)
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_prefix(survey.id.as_str()))
        .and_then(|rest| rest.strip_prefix('.'))
        == Some(key)
}

/// Answers so far. Item values: 1..=5, or 0 for "vet ikke".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    pub items: BTreeMap<String, u8>,
    pub background: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Go {
    Next,
    Back,
    Submit,
    /// Re-render the same page in another language.
    Language(crate::lang::Lang),
    /// Re-render the same page.
    Stay,
}

#[derive(Debug)]
pub struct Form {
    pub answers: Answers,
    pub page: usize,
    pub go: Go,
}

/// Why a form was refused. The person sees one friendly page for all.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("unknown field {0}")]
    UnknownField(String),
    #[error("field {0} given twice")]
    Duplicate(String),
    #[error("invalid value for {0}")]
    BadValue(String),
    #[error("invalid page")]
    BadPage,
}

/// Parses an urlencoded form strictly against the round's questionnaires.
pub fn parse_form(surveys: &[Survey], pairs: &[(String, String)]) -> Result<Form, FormError> {
    let n_pages = pages(surveys).len();
    let mut answers = Answers::default();
    let mut page = None;
    let mut go = None;
    for (k, v) in pairs {
        match k.as_str() {
            "page" => {
                let p: usize = v.parse().map_err(|_| FormError::BadPage)?;
                if p >= n_pages || page.replace(p).is_some() {
                    return Err(FormError::BadPage);
                }
            }
            "go" => {
                let g = match v.as_str() {
                    "next" => Go::Next,
                    "back" => Go::Back,
                    "submit" => Go::Submit,
                    "nb" | "nn" | "en" => Go::Language(v.parse().expect("a language code")),
                    _ => return Err(FormError::BadValue(k.clone())),
                };
                if go.replace(g).is_some() {
                    return Err(FormError::Duplicate(k.clone()));
                }
            }
            _ if k.starts_with("q.") => {
                let known = surveys
                    .iter()
                    .any(|s| s.items.iter().any(|i| names_field(k, "q", s, &i.key)));
                if !known {
                    return Err(FormError::UnknownField(k.clone()));
                }
                let value: u8 = match v.as_str() {
                    "0" | "1" | "2" | "3" | "4" | "5" => v.parse().expect("digit"),
                    _ => return Err(FormError::BadValue(k.clone())),
                };
                if answers.items.insert(k.clone(), value).is_some() {
                    return Err(FormError::Duplicate(k.clone()));
                }
            }
            _ if k.starts_with("b.") => {
                let question = surveys
                    .iter()
                    .flat_map(|s| s.background.iter().map(move |b| (s, b)))
                    .find(|(s, b)| names_field(k, "b", s, &b.key))
                    .map(|(_, b)| b)
                    .ok_or_else(|| FormError::UnknownField(k.clone()))?;
                if !question.options.iter().any(|o| o.key == *v) {
                    return Err(FormError::BadValue(k.clone()));
                }
                if answers.background.insert(k.clone(), v.clone()).is_some() {
                    return Err(FormError::Duplicate(k.clone()));
                }
            }
            _ => return Err(FormError::UnknownField(k.clone())),
        }
    }
    let page = page.ok_or(FormError::BadPage)?;
    let go = go.unwrap_or(Go::Stay);
    // Answers are submitted from the last page only, where the background
    // questions are.
    if go == Go::Submit && page + 1 != n_pages {
        return Err(FormError::BadPage);
    }
    Ok(Form { answers, page, go })
}

impl Form {
    /// The page to show next, when the form does not submit.
    pub fn target_page(&self, n_pages: usize) -> usize {
        match self.go {
            Go::Next => (self.page + 1).min(n_pages - 1),
            Go::Back => self.page.saturating_sub(1),
            Go::Stay | Go::Language(_) | Go::Submit => self.page,
        }
    }
}

/// The stored texts of a response's answers and background answers
/// ([`crate::survey::stored`], version 1).
pub fn stored_texts(surveys: &[Survey], a: &Answers) -> (String, String) {
    use crate::stats::scores::Answer;
    use crate::survey::stored;
    let mut items = Vec::new();
    let mut background = Vec::new();
    for s in surveys {
        items.extend(s.items.iter().map(|i| {
            a.items.get(&item_field(s, &i.key)).map(|v| match v {
                0 => Answer::DontKnow,
                v => Answer::Value(*v),
            })
        }));
        background.extend(s.background.iter().map(|b| {
            a.background
                .get(&background_field(s, &b.key))
                .and_then(|o| b.options.iter().position(|x| &x.key == o))
                .map(|i| i as u8)
        }));
    }
    (
        stored::encode_items(&items),
        stored::encode_background(&background),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    Stored,
    AlreadyAnswered,
    RoundClosed,
}

/// Someone answering: their invitation and round, the round's
/// questionnaires, and the language they were invited in.
pub struct Session {
    pub token_hash: String,
    pub invitation: Invitation,
    pub round: Round,
    pub surveys: std::sync::Arc<Vec<Survey>>,
    pub lang: crate::lang::Lang,
}

/// The answering session behind a survey token, if the token is known.
pub fn session(
    conn: &mut DbConnection,
    cache: &crate::cache::Cache,
    token: &str,
) -> Result<Option<Session>, AppError> {
    let token_hash = crate::crypto::lookup_hash(token);
    let Some((invitation, round, lang)) = invitation_with_language(conn, &token_hash, false)?
    else {
        return Ok(None);
    };
    let surveys = super::surveys(conn, cache, &round)?;
    Ok(Some(Session {
        token_hash,
        invitation,
        round,
        surveys,
        lang: lang.parse().unwrap_or_default(),
    }))
}

/// The invitation behind a token hash, with its round.
pub fn invitation_by_hash(
    conn: &mut DbConnection,
    hash: &str,
    by_code: bool,
) -> Result<Option<(Invitation, Round)>, AppError> {
    Ok(invitation_with_language(conn, hash, by_code)?.map(|(inv, round, _)| (inv, round)))
}

/// The invitation behind a token (or code) hash, its round and the invited
/// person's language, in one query: this runs on every answering request.
fn invitation_with_language(
    conn: &mut DbConnection,
    hash: &str,
    by_code: bool,
) -> Result<Option<(Invitation, Round, String)>, AppError> {
    use crate::db::schema::{employees, rounds};
    // On the backend's own connection, whose statement cache knows this
    // query by its type: through the multi-backend connection its SQL
    // would be built anew on every request, to look the statement up.
    let found = crate::on_backend!(conn, |c| {
        let joined = invitations::table
            .inner_join(rounds::table)
            .inner_join(employees::table)
            .select((
                Invitation::as_select(),
                Round::as_select(),
                employees::language,
            ));
        if by_code {
            joined
                .filter(invitations::code_hash.eq(hash))
                .get_result(c)
                .optional()
        } else {
            joined
                .filter(invitations::token_hash.eq(hash))
                .get_result(c)
                .optional()
        }
    });
    Ok(found?)
}

/// Stores one response and marks the invitation answered, in one
/// transaction: both happen or neither. A second submission changes nothing.
pub fn submit(
    conn: &mut DbConnection,
    token_hash: &str,
    surveys: &[Survey],
    answers: &Answers,
) -> Result<Submitted, AppError> {
    if let DbConnection::Pg(pg) = conn {
        let mut one = submit_batch_pg(pg, &[(token_hash, surveys, answers)])?;
        return one.pop().expect("one outcome for one submission");
    }
    crate::db::write_transaction(conn, |conn| {
        let (outcome, counted) = submit_uncounted(conn, token_hash, surveys, answers)?;
        if let Some((round, unit)) = counted {
            count_answers(conn, &[((round, unit), 1)])?;
        }
        Ok(outcome)
    })
}

/// [`submit`] without the day counter: returns the (round, unit) whose
/// counter the caller must add to in the same transaction. Group commit
/// adds a whole batch's counts at its end, in one order for every node, so
/// that batches on one PostgreSQL cannot deadlock on the counters.
pub fn submit_uncounted(
    conn: &mut DbConnection,
    token_hash: &str,
    surveys: &[Survey],
    answers: &Answers,
) -> Result<(Submitted, Option<(crate::ids::RoundId, String)>), AppError> {
    crate::db::write_transaction(conn, |conn| {
        let Some((inv, round)) = invitation_by_hash(conn, token_hash, false)? else {
            return Err(AppError::NotFound);
        };
        if !round.accepts_answers(today()) {
            return Ok((Submitted::RoundClosed, None));
        }
        // Not withdrawn meanwhile (the person left while answering): the
        // condition is checked again on the row as it is when updated.
        // Both on the backend's own connection (see invitation_with_language).
        let claim = diesel::update(
            invitations::table
                .find(&inv.id)
                .filter(invitations::responded.eq(false))
                .filter(invitations::withdrawn.eq(false)),
        )
        .set(invitations::responded.eq(true));
        let claimed = crate::on_backend!(&mut *conn, |c| claim.execute(c))?;
        if claimed == 0 {
            return Ok((Submitted::AlreadyAnswered, None));
        }
        let (items, background) = stored_texts(surveys, answers);
        let insert = diesel::insert_into(responses::table).values((
            responses::id.eq(new_id()),
            responses::round_id.eq(&round.id),
            responses::unit_id.eq(&inv.unit_id),
            responses::answers.eq(items),
            responses::background.eq(background),
        ));
        crate::on_backend!(&mut *conn, |c| insert.execute(c))?;
        Ok((Submitted::Stored, Some((round.id, inv.unit_id))))
    })
}

/// Adds answers to today's per-unit counters, in the order given.
/// Submissions on PostgreSQL in one statement, which is its own durable
/// transaction: each invitation is found and its round checked, claimed
/// (once, even when the same link comes twice in a batch), its response
/// inserted, and the day's counters of the units raised (in the order of
/// (round, unit), as every node locks them). One round trip for a batch
/// where [`submit_uncounted`] and [`count_answers`] take five per
/// submission and one per unit; SQLite, in process, has no round trips to
/// save and keeps that path. The outcomes are those of [`submit`]: a
/// test holds the two paths to the same answers, rows and counters.
pub fn submit_batch_pg(
    conn: &mut diesel::PgConnection,
    batch: &[(&str, &[Survey], &Answers)],
) -> Result<Vec<Result<Submitted, AppError>>, AppError> {
    use diesel::sql_types::{BigInt, Bool};
    #[derive(QueryableByName)]
    struct Outcome {
        #[diesel(sql_type = BigInt)]
        pos: i64,
        #[diesel(sql_type = Bool)]
        found: bool,
        #[diesel(sql_type = Bool)]
        open: bool,
        #[diesel(sql_type = Bool)]
        stored: bool,
    }
    let (mut hashes, mut ids, mut items, mut backgrounds) = (vec![], vec![], vec![], vec![]);
    for (hash, surveys, answers) in batch {
        let (i, b) = stored_texts(surveys, answers);
        hashes.push(hash.to_string());
        ids.push(new_id());
        items.push(i);
        backgrounds.push(b);
    }
    let day = today().format(super::DATE_FORMAT).to_string();
    let rows: Vec<Outcome> = BatchSubmit {
        hashes: &hashes,
        ids: &ids,
        items: &items,
        backgrounds: &backgrounds,
        day: &day,
    }
    .load(conn)?;
    if rows.len() != batch.len() || rows.iter().enumerate().any(|(i, r)| r.pos != i as i64 + 1) {
        return Err(AppError::internal(
            "the batch of submissions came back out of order",
        ));
    }
    Ok(rows
        .into_iter()
        .map(|r| match (r.found, r.open, r.stored) {
            (false, _, _) => Err(AppError::NotFound),
            (true, false, _) => Ok(Submitted::RoundClosed),
            (true, true, false) => Ok(Submitted::AlreadyAnswered),
            (true, true, true) => Ok(Submitted::Stored),
        })
        .collect())
}

/// [`submit_batch_pg`]'s statement with a static query id, so that each
/// connection prepares it once (a `sql_query` is parsed and planned on
/// every call, which cost a single submission more than the round trips
/// it saves). The work is the database function `submit_answers`
/// (migration `2026-12-03-000016_submit_function`), whose plan PostgreSQL
/// keeps: the same statement sent as a prepared statement was planned
/// again on every call.
struct BatchSubmit<'a> {
    hashes: &'a [String],
    ids: &'a [String],
    items: &'a [String],
    backgrounds: &'a [String],
    day: &'a str,
}

/// The statement, split where its parameters go: the day, then the arrays
/// of token hashes, new ids, item texts and background texts.
const BATCH_SUBMIT: [&str; 6] = [
    "SELECT r_pos AS pos, r_found AS found, r_open AS open, r_stored AS stored \
     FROM submit_answers(CAST(",
    " AS text), CAST(",
    " AS text[]), CAST(",
    " AS text[]), CAST(",
    " AS text[]), CAST(",
    " AS text[]))",
];

impl diesel::query_builder::QueryId for BatchSubmit<'_> {
    type QueryId = BatchSubmitId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

pub struct BatchSubmitId;

impl diesel::query_builder::Query for BatchSubmit<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for BatchSubmit<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Array, Text};
        let [a, b, c, d, e, f] = BATCH_SUBMIT;
        out.push_sql(a);
        out.push_bind_param::<Text, _>(&self.day)?;
        out.push_sql(b);
        out.push_bind_param::<Array<Text>, _>(&self.hashes)?;
        out.push_sql(c);
        out.push_bind_param::<Array<Text>, _>(&self.ids)?;
        out.push_sql(d);
        out.push_bind_param::<Array<Text>, _>(&self.items)?;
        out.push_sql(e);
        out.push_bind_param::<Array<Text>, _>(&self.backgrounds)?;
        out.push_sql(f);
        Ok(())
    }
}

impl diesel::query_dsl::RunQueryDsl<diesel::PgConnection> for BatchSubmit<'_> {}

pub fn count_answers(
    conn: &mut DbConnection,
    counts: &[((crate::ids::RoundId, String), i32)],
) -> Result<(), AppError> {
    let day = today().format(super::DATE_FORMAT).to_string();
    for ((round, unit), n) in counts {
        crate::on_backend!(&mut *conn, |c| diesel::insert_into(daily_counts::table)
            .values((
                daily_counts::round_id.eq(round),
                daily_counts::unit_id.eq(unit),
                daily_counts::day.eq(&day),
                daily_counts::responses.eq(*n),
            ))
            .on_conflict((
                daily_counts::round_id,
                daily_counts::unit_id,
                daily_counts::day
            ))
            .do_update()
            .set(daily_counts::responses.eq(daily_counts::responses + *n))
            .execute(c))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_field_agrees_with_the_field_names_it_stands_for() {
        let survey = crate::survey::parse(include_str!("../../surveys/10-faktor.toml")).unwrap();
        let other =
            crate::survey::parse(include_str!("../../surveys/naervaer-modul.toml")).unwrap();
        for item in &survey.items {
            let name = item_field(&survey, &item.key);
            for s in [&survey, &other] {
                for i in &s.items {
                    assert_eq!(
                        names_field(&name, "q", s, &i.key),
                        item_field(s, &i.key) == name,
                        "{name} vs {} {}",
                        s.id,
                        i.key
                    );
                }
            }
            assert!(!names_field(&name, "b", &survey, &item.key));
            assert!(!names_field(&format!("{name}x"), "q", &survey, &item.key));
            assert!(!names_field(
                &name[..name.len() - 1],
                "q",
                &survey,
                &item.key
            ));
        }
        for b in &survey.background {
            assert!(names_field(
                &background_field(&survey, &b.key),
                "b",
                &survey,
                &b.key
            ));
        }
    }
}
