//! Sign-in for leaders, AMU members and administrators: a one-time link by
//! e-mail, then a session cookie. Roles come from the employees import
//! (leader units and the `amu` / `admin` roles); employees without one
//! cannot sign in, because there is nothing for them to see.
//!
//! Only SHA-256 hashes of link tokens and session ids are stored, so a copy
//! of the database lets nobody sign in. A link works once, for
//! [`LINK_MINUTES`] minutes; a session lasts [`SESSION_HOURS`] hours.

use crate::db::schema::{employee_roles, employees, login_tokens, sessions, unit_leaders};
use crate::db::{now_unix, DbConnection};
use crate::lang::Lang;
use crate::AppError;
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const LINK_MINUTES: i64 = 15;
pub const SESSION_HOURS: i64 = 8;
/// Sign-in links per person within one link lifetime: stops anyone from
/// flooding a colleague's inbox through the request page.
pub const LINKS_PER_PERSON: i64 = 3;

/// A signed-in person and what they may see.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub employee_id: String,
    pub name: String,
    pub lang: Lang,
    /// Units they lead (each with everything below it).
    pub leader_of: Vec<String>,
    pub amu: bool,
    pub admin: bool,
    /// The token every state-changing form must carry.
    pub csrf: String,
}

impl Viewer {
    /// AMU members and administrators see the whole organisation.
    pub fn sees_everything(&self) -> bool {
        self.amu || self.admin
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Someone a link can be sent to.
pub struct Recipient {
    pub employee_id: String,
    pub name: String,
    pub email: String,
    pub lang: Lang,
}

fn has_role(conn: &mut DbConnection, employee_id: &str) -> QueryResult<bool> {
    let leads: i64 = unit_leaders::table
        .filter(unit_leaders::employee_id.eq(employee_id))
        .count()
        .get_result(conn)?;
    let roles: i64 = employee_roles::table
        .filter(employee_roles::employee_id.eq(employee_id))
        .count()
        .get_result(conn)?;
    Ok(leads + roles > 0)
}

/// Creates a sign-in link token for the active person with this address and
/// a role; None when there is none, or they already asked for
/// [`LINKS_PER_PERSON`] links lately. The caller answers the same either way.
pub fn request_link(
    conn: &mut DbConnection,
    email: &str,
) -> Result<Option<(Recipient, String)>, AppError> {
    let email = email.trim();
    if email.is_empty() || email.len() > 320 {
        return Ok(None);
    }
    crate::db::write_transaction(conn, |conn| {
        let found: Option<(String, String, Option<String>, String)> = employees::table
            .filter(employees::active.eq(true))
            .filter(employees::email.eq(email))
            .select((
                employees::id,
                employees::name,
                employees::email,
                employees::language,
            ))
            .first(conn)
            .optional()?;
        let Some((id, name, Some(address), lang)) = found else {
            return Ok(None);
        };
        if !has_role(conn, &id)? {
            return Ok(None);
        }
        let now = now_unix();
        diesel::delete(login_tokens::table.filter(login_tokens::expires_at.lt(now)))
            .execute(conn)?;
        let recent: i64 = login_tokens::table
            .filter(login_tokens::employee_id.eq(&id))
            .count()
            .get_result(conn)?;
        if recent >= LINKS_PER_PERSON {
            return Ok(None);
        }
        let token = random_token();
        diesel::insert_into(login_tokens::table)
            .values((
                login_tokens::token_hash.eq(hash(&token)),
                login_tokens::employee_id.eq(&id),
                login_tokens::expires_at.eq(now + LINK_MINUTES * 60),
                login_tokens::used.eq(false),
            ))
            .execute(conn)?;
        Ok(Some((
            Recipient {
                employee_id: id,
                name,
                email: address,
                lang: lang.parse().unwrap_or(Lang::Nb),
            },
            token,
        )))
    })
}

/// A new session id (for the cookie) for a person, straight away: used by
/// [`redeem`], and by the demo and tests through a link.
fn start_session(conn: &mut DbConnection, employee_id: &str) -> QueryResult<String> {
    let id = random_token();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id_hash.eq(hash(&id)),
            sessions::employee_id.eq(employee_id),
            sessions::csrf.eq(random_token()),
            sessions::expires_at.eq(now_unix() + SESSION_HOURS * 3600),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Trades a link token for a session id. None when the token is unknown,
/// used or expired; a token works once even under concurrent requests,
/// because marking it used is the condition of the update.
pub fn redeem(conn: &mut DbConnection, token: &str) -> Result<Option<String>, AppError> {
    let h = hash(token.trim());
    crate::db::write_transaction(conn, |conn| {
        let now = now_unix();
        let claimed = diesel::update(
            login_tokens::table
                .filter(login_tokens::token_hash.eq(&h))
                .filter(login_tokens::used.eq(false))
                .filter(login_tokens::expires_at.ge(now)),
        )
        .set(login_tokens::used.eq(true))
        .execute(conn)?;
        if claimed != 1 {
            return Ok(None);
        }
        let employee: String = login_tokens::table
            .find(&h)
            .select(login_tokens::employee_id)
            .get_result(conn)?;
        Ok(Some(start_session(conn, &employee)?))
    })
}

/// Creates a sign-in link token for an employee by id, without e-mail: the
/// demo prints these. Same lifetime and single use as e-mailed ones.
pub fn link_token_for(conn: &mut DbConnection, employee_id: &str) -> Result<String, AppError> {
    let token = random_token();
    diesel::insert_into(login_tokens::table)
        .values((
            login_tokens::token_hash.eq(hash(&token)),
            login_tokens::employee_id.eq(employee_id),
            login_tokens::expires_at.eq(now_unix() + LINK_MINUTES * 60),
            login_tokens::used.eq(false),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The person behind a session cookie, with their roles as they are now:
/// a re-import that takes a role away takes effect at the next request.
pub fn viewer(conn: &mut DbConnection, session_id: &str) -> Result<Option<Viewer>, AppError> {
    let found: Option<(String, String, String, String, bool)> = sessions::table
        .inner_join(employees::table)
        .filter(sessions::id_hash.eq(hash(session_id)))
        .filter(sessions::expires_at.ge(now_unix()))
        .select((
            employees::id,
            employees::name,
            employees::language,
            sessions::csrf,
            employees::active,
        ))
        .get_result(conn)
        .optional()?;
    let Some((id, name, lang, csrf, true)) = found else {
        return Ok(None);
    };
    let leader_of: Vec<String> = unit_leaders::table
        .filter(unit_leaders::employee_id.eq(&id))
        .order(unit_leaders::unit_id)
        .select(unit_leaders::unit_id)
        .load(conn)?;
    let roles: Vec<String> = employee_roles::table
        .filter(employee_roles::employee_id.eq(&id))
        .select(employee_roles::role)
        .load(conn)?;
    let viewer = Viewer {
        employee_id: id,
        name,
        lang: lang.parse().unwrap_or(Lang::Nb),
        leader_of,
        amu: roles.iter().any(|r| r == "amu"),
        admin: roles.iter().any(|r| r == "admin"),
        csrf,
    };
    if viewer.leader_of.is_empty() && !viewer.sees_everything() {
        return Ok(None);
    }
    Ok(Some(viewer))
}

/// Ends a session; expired sessions are swept at the same time.
pub fn sign_out(conn: &mut DbConnection, session_id: &str) -> Result<(), AppError> {
    diesel::delete(
        sessions::table.filter(
            sessions::id_hash
                .eq(hash(session_id))
                .or(sessions::expires_at.lt(now_unix())),
        ),
    )
    .execute(conn)?;
    Ok(())
}

/// Compares a submitted CSRF token with the session's in constant time.
pub fn csrf_matches(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Deletes expired sign-in links and sessions (`serve` calls it every few
/// seconds).
pub fn sweep(conn: &mut DbConnection) -> QueryResult<usize> {
    let now = now_unix();
    Ok(
        diesel::delete(login_tokens::table.filter(login_tokens::expires_at.lt(now)))
            .execute(conn)?
            + diesel::delete(sessions::table.filter(sessions::expires_at.lt(now))).execute(conn)?,
    )
}
