//! What a viewer sees of a closed round: one [`UnitReport`] per unit page,
//! built only from the frozen snapshot's released figures. The page, the
//! print version, the CSV, the XLSX and the JSON API all render this same
//! report, so an export holds exactly what the page shows. Who may open
//! which report is [`crate::access`]'s to decide.
//!
//! - [`report`]: the report of one group (the view model);
//! - [`export`]: the report as CSV and XLSX;
//! - [`compare`]: the report beside other figures: its trend over rounds,
//!   the norms for its unit type, and the heatmap of a scope.
//!
//! The units' action plans are measures of the register
//! ([`crate::followup::plans`]).

pub mod compare;
pub mod export;
pub mod report;

pub use export::{to_csv, to_xlsx};
pub use report::*;

use crate::access::{openable, Viewer};
use crate::db::models::Round;
use crate::lang::Lang;
use crate::AppError;
use serde::Serialize;

/// A closed round and the groups one viewer may open in it: the list page
/// and `GET /api/v1/rounds` both show this.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoundListing {
    pub id: crate::ids::RoundId,
    pub title: String,
    pub closes_on: String,
    pub min_group_size: u32,
    pub groups: Vec<GroupLink>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupLink {
    pub id: String,
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    pub shown: bool,
    /// Depth below the viewer's topmost group, for indenting.
    #[serde(skip)]
    pub depth: u32,
    pub href: String,
}

/// The round and group a results link (`/r/{token}`) names, if any.
pub fn find_link(
    conn: &mut crate::db::DbConnection,
    token: &str,
) -> Result<Option<(crate::ids::RoundId, crate::ids::GroupKey)>, AppError> {
    use crate::db::schema::result_links;
    use diesel::prelude::*;
    let found: Option<(String, String)> = result_links::table
        .find(crate::crypto::lookup_hash(token.trim()))
        .select((result_links::round_id, result_links::group_key))
        .get_result(conn)
        .optional()?;
    Ok(found.map(|(r, g)| (r.into(), g.into())))
}

/// Every closed round with the groups `viewer` may open, newest first.
pub fn listing(
    conn: &mut crate::db::DbConnection,
    cache: &crate::cache::Cache,
    viewer: &Viewer,
    lang: Lang,
) -> Result<Vec<RoundListing>, AppError> {
    let mut out = Vec::new();
    for r in Round::all(conn)? {
        let Some(s) = crate::snapshot::load_cached(conn, cache, &r.id)? else {
            continue;
        };
        let groups = openable(viewer, &s);
        let top = groups.iter().map(|g| g.depth).min().unwrap_or(0);
        out.push(RoundListing {
            id: r.id.clone(),
            title: r.title.clone(),
            closes_on: r.closes_on.clone(),
            min_group_size: s.k,
            groups: groups
                .into_iter()
                .map(|g| GroupLink {
                    id: g.key.clone(),
                    code: g.code.clone(),
                    name: group_name(g, lang),
                    parent: g.parent.clone(),
                    shown: g.figures.is_some(),
                    depth: g.depth - top,
                    href: format!("/api/v1/rounds/{}/groups/{}", r.id, g.key),
                })
                .collect(),
        });
    }
    Ok(out)
}
