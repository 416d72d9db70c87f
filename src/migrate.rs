//! Bringing a database to this build's schema: the migrations of
//! [`crate::db`] and, in the transaction of some of them, what the program
//! does after them ([`after`]), which needs modules above the database
//! layer. Every process migrates through here: the commands and the pools
//! they open.

use crate::db::{self, absence_series, DbConnection, Pool};
use crate::AppError;

/// Applies the pending migrations ([`db::run_migrations`] with [`after`]);
/// returns how many ran.
pub fn run(conn: &mut DbConnection) -> Result<usize, AppError> {
    db::run_migrations(conn, after)
}

/// A pool over the migrated database ([`db::open_pool`]).
pub fn open_pool(url: &str, size: u32) -> Result<Pool, AppError> {
    db::open_pool(url, size, after)
}

/// The server's pool over the migrated database ([`db::open_server_pool`]).
pub fn open_server_pool(url: &str, size: u32) -> Result<Pool, AppError> {
    db::open_server_pool(url, size, after)
}

/// The version of the migration that made `absence_series`, filled from
/// the absence table (the encoding is the program's, not SQL's).
const ABSENCE_SERIES: &str = "20261203000013";

/// The version of the migration after which every stored snapshot loses
/// its changes against figures its previous round no longer shows
/// ([`crate::snapshot::withdraw_changes_against_hidden_figures`]): rounds
/// whose k was raised before raising k withdrew them.
pub const WITHDRAW_CHANGES: &str = "20261205000020";

/// What follows the migration `version`, in its transaction.
pub fn after(version: &str, conn: &mut DbConnection) -> Result<(), AppError> {
    match version {
        ABSENCE_SERIES => absence_series::rebuild(conn).map(drop),
        WITHDRAW_CHANGES => {
            let stored = crate::snapshot::withdraw_changes_against_hidden_figures(conn)?;
            if stored > 0 {
                tracing::info!(
                    snapshots = stored,
                    "withdrew changes against figures hidden by an earlier raise of k"
                );
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
