//! Sign-in for leaders, representatives (verneombud, tillitsvalgt), AMU
//! members and administrators: a one-time link by e-mail (or the
//! municipality's identity provider, [`crate::auth::oidc`]), then a session
//! cookie. Roles come from the employees import (leader units, represented
//! units and the `amu` / `admin` roles); employees without one cannot sign
//! in, because there is nothing for them to see.
//!
//! Only SHA-256 hashes of link tokens and session ids are stored, so a copy
//! of the database lets nobody sign in. A link works once, for
//! [`LINK_MINUTES`] minutes; a session lasts [`SESSION_HOURS`] hours.

pub mod oidc;

use crate::crypto::{lookup_hash, random_token};
use crate::db::schema::{
    employee_roles, employees, login_tokens, sessions, unit_leaders, unit_representatives,
};
use crate::db::{now_unix, DbConnection};
use crate::lang::Lang;
use crate::AppError;
use diesel::prelude::*;

pub const LINK_MINUTES: i64 = 15;
pub const SESSION_HOURS: i64 = 8;
/// Sign-in links per person within one link lifetime: stops anyone from
/// flooding a colleague's inbox through the request page.
pub const LINKS_PER_PERSON: i64 = 3;

/// Failed code attempts (unknown, used or closed codes) per client address
/// per window; valid codes never count.
pub const CODE_FAILURES_PER_CLIENT: u32 = 10;
/// Failed code attempts of all addresses together per window and node: the
/// ceiling on guessing however many addresses an attacker has (README,
/// *Privacy model*, has the arithmetic).
pub const CODE_FAILURES_GLOBAL: u32 = 1_000;
/// Sign-in link requests per client address per window: enough for 200
/// leaders behind one address within a minute, several times over. What
/// stops mail-bombing one person is [`LINKS_PER_PERSON`].
pub const SIGN_IN_REQUESTS_PER_CLIENT: u32 = 1_000;
/// The window of the rate limits above.
pub const LIMIT_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);

pub use crate::access::Viewer;

/// Someone a link can be sent to.
pub struct Recipient {
    pub employee_id: String,
    pub name: String,
    pub email: String,
    pub lang: Lang,
}

/// Whether the person may sign in ([`crate::access::may_sign_in`]) with
/// the roles they have now.
fn may_sign_in(conn: &mut DbConnection, employee_id: &str) -> QueryResult<bool> {
    let leads: i64 = unit_leaders::table
        .filter(unit_leaders::employee_id.eq(employee_id))
        .count()
        .get_result(conn)?;
    let represents: i64 = unit_representatives::table
        .filter(unit_representatives::employee_id.eq(employee_id))
        .count()
        .get_result(conn)?;
    let roles: Vec<String> = employee_roles::table
        .filter(employee_roles::employee_id.eq(employee_id))
        .select(employee_roles::role)
        .load(conn)?;
    let has = |role: &str| roles.iter().any(|r| r == role);
    Ok(crate::access::may_sign_in(
        leads > 0,
        represents > 0 && (has("verneombud") || has("tillitsvalgt")),
        has("amu"),
        has("admin"),
    ))
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
        if !may_sign_in(conn, &id)? {
            return Ok(None);
        }
        // Requests for one person may arrive together: on PostgreSQL two
        // transactions could both count two live links and both add a
        // third. Locking the person's row makes them take turns (SQLite's
        // write transaction holds the database's one write lock already).
        if let DbConnection::Pg(pg) = conn {
            diesel::sql_query("SELECT id FROM employees WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::Text, _>(&id)
                .execute(pg)?;
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
                login_tokens::token_hash.eq(lookup_hash(&token)),
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
pub(crate) fn start_session(conn: &mut DbConnection, employee_id: &str) -> QueryResult<String> {
    let id = random_token();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id_hash.eq(lookup_hash(&id)),
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
    let h = lookup_hash(token.trim());
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
pub fn link_token_for(
    conn: &mut DbConnection,
    employee_id: &crate::ids::EmployeeId,
) -> Result<String, AppError> {
    let token = random_token();
    diesel::insert_into(login_tokens::table)
        .values((
            login_tokens::token_hash.eq(lookup_hash(&token)),
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
        .filter(sessions::id_hash.eq(lookup_hash(session_id)))
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
    let represents: Vec<String> = unit_representatives::table
        .filter(unit_representatives::employee_id.eq(&id))
        .order(unit_representatives::unit_id)
        .select(unit_representatives::unit_id)
        .load(conn)?;
    let roles: Vec<String> = employee_roles::table
        .filter(employee_roles::employee_id.eq(&id))
        .select(employee_roles::role)
        .load(conn)?;
    let has = |role: &str| roles.iter().any(|r| r == role);
    let viewer = Viewer {
        employee_id: id.into(),
        name,
        lang: lang.parse().unwrap_or(Lang::Nb),
        leader_of: leader_of.into_iter().map(Into::into).collect(),
        represents: represents.into_iter().map(Into::into).collect(),
        verneombud: has("verneombud"),
        tillitsvalgt: has("tillitsvalgt"),
        amu: has("amu"),
        admin: has("admin"),
        csrf,
    };
    if !crate::access::may_sign_in(
        !viewer.leader_of.is_empty(),
        !viewer.represented().is_empty(),
        viewer.amu,
        viewer.admin,
    ) {
        return Ok(None);
    }
    Ok(Some(viewer))
}

/// Ends a session; expired sessions are swept at the same time.
pub fn sign_out(conn: &mut DbConnection, session_id: &str) -> Result<(), AppError> {
    diesel::delete(
        sessions::table.filter(
            sessions::id_hash
                .eq(lookup_hash(session_id))
                .or(sessions::expires_at.lt(now_unix())),
        ),
    )
    .execute(conn)?;
    Ok(())
}

/// Deletes expired sign-in links, sessions and sign-ins through the
/// identity provider that never came back (`serve` calls it every few
/// seconds).
pub fn sweep(conn: &mut DbConnection) -> QueryResult<usize> {
    let now = now_unix();
    Ok(
        diesel::delete(login_tokens::table.filter(login_tokens::expires_at.lt(now)))
            .execute(conn)?
            + diesel::delete(sessions::table.filter(sessions::expires_at.lt(now))).execute(conn)?
            + oidc::sweep(conn)?,
    )
}
