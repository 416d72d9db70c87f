//! Backup and restore of the SQLite database while the service runs.
//!
//! A backup is `VACUUM INTO` a new file: SQLite copies the database as one
//! read transaction sees it, so the copy is consistent while `serve` keeps
//! answering and sending (in WAL mode a reader blocks no writer), and it is
//! compact (no free pages, no write-ahead log beside it). It is written
//! under a temporary name and renamed when complete and checked, so a
//! file with the final name is always a whole backup.
//!
//! A restore checks the file first (a SQLite database, intact, made by this
//! or an older naervaer), refuses to overwrite a database that holds data
//! unless forced, and replaces the database file in one rename after its
//! write-ahead log is gone, so that no stale log is applied to the new file.
//!
//! PostgreSQL has its own tools for this (`pg_dump`, `pg_restore`); on a
//! PostgreSQL URL both commands say which to run (see README, "Backup and
//! restore").

use crate::config::Backend;
use crate::error::UserError;
use crate::AppError;
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use std::path::{Path, PathBuf};

/// What a backup or a restored database holds, counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Contents {
    pub bytes: u64,
    pub units: i64,
    pub employees: i64,
    pub rounds: i64,
    pub responses: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn sqlite_path(url: &str) -> Result<PathBuf, AppError> {
    match Backend::from_url(url)? {
        Backend::Sqlite => Ok(PathBuf::from(&url["sqlite://".len()..])),
        Backend::Postgres => Err(UserError::BackupOnPostgres.into()),
    }
}

/// Copies the database at `url` to `file`, which must not exist.
pub fn backup(url: &str, file: &Path) -> Result<Contents, AppError> {
    sqlite_path(url)?;
    if file.exists() {
        return Err(UserError::FileExists {
            path: file.display().to_string(),
        }
        .into());
    }
    let partial = partial_name(file);
    let _ = std::fs::remove_file(&partial);
    let mut conn = match crate::db::connect(url)? {
        crate::db::DbConnection::Sqlite(c) => c,
        crate::db::DbConnection::Pg(_) => unreachable!("checked above"),
    };
    let written = diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(partial.to_string_lossy().as_ref())
        .execute(&mut conn);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(UserError::CannotWrite {
            path: file.display().to_string(),
            reason: e.to_string(),
        }
        .into());
    }
    let checked = open_backup(&partial).and_then(|mut c| contents(&mut c, &partial));
    match checked {
        Ok(contents) => {
            private(&partial)?;
            std::fs::rename(&partial, file)?;
            Ok(contents)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// Replaces the database at `url` with the backup in `file`. Refuses a
/// database that holds data unless `force`.
pub fn restore(url: &str, file: &Path, force: bool) -> Result<Contents, AppError> {
    let target = sqlite_path(url)?;
    let mut source = open_backup(file)?;
    let contents = contents(&mut source, file)?;
    if !force && holds_data(&target)? {
        return Err(UserError::DatabaseNotEmpty {
            path: target.display().to_string(),
        }
        .into());
    }
    let partial = partial_name(&target);
    let _ = std::fs::remove_file(&partial);
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(partial.to_string_lossy().as_ref())
        .execute(&mut source)
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            UserError::CannotWrite {
                path: target.display().to_string(),
                reason: e.to_string(),
            }
        })?;
    drop(source);
    let permissions = std::fs::metadata(&target).ok().map(|m| m.permissions());
    if target.exists() {
        // Whatever the old database's log still holds goes with it; a log
        // left beside the new file would be applied to it.
        let mut old = SqliteConnection::establish(&target.to_string_lossy())
            .map_err(|e| AppError::connection_by(format!("SQLite {}", target.display()), e))?;
        old.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?;
        drop(old);
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = target.clone().into_os_string();
        side.push(suffix);
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    match permissions {
        Some(p) => std::fs::set_permissions(&partial, p)?,
        None => private(&partial)?,
    }
    std::fs::rename(&partial, &target)?;
    Ok(contents)
}

/// `FILE.partial` beside `file`: renamed into place when whole.
fn partial_name(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// A backup holds everyone's name and address: readable by its owner only.
fn private(file: &Path) -> Result<(), AppError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Opens `file` as a backup: an intact SQLite database whose migrations
/// this naervaer knows (it may be older; `migrate` brings it up to date).
fn open_backup(file: &Path) -> Result<SqliteConnection, AppError> {
    let not_a_backup = |reason: String| -> AppError {
        UserError::NotABackup {
            path: file.display().to_string(),
            reason,
        }
        .into()
    };
    if !file.is_file() {
        return Err(UserError::CannotReadFile {
            path: file.display().to_string(),
            reason: "finnes ikke / finst ikkje / does not exist".into(),
        }
        .into());
    }
    // A URI, so that the file is opened read-only and never created.
    let path = file.to_string_lossy();
    let url = format!(
        "file:{}?mode=ro",
        path.replace('%', "%25")
            .replace('?', "%3f")
            .replace('#', "%23")
    );
    let mut c = SqliteConnection::establish(&url).map_err(|e| not_a_backup(e.to_string()))?;
    let check: Vec<String> = diesel::sql_query("PRAGMA quick_check")
        .load::<QuickCheck>(&mut c)
        .map_err(|e| not_a_backup(e.to_string()))?
        .into_iter()
        .map(|q| q.quick_check)
        .collect();
    if check.first().map(String::as_str) != Some("ok") {
        return Err(not_a_backup(
            check.into_iter().take(3).collect::<Vec<_>>().join("; "),
        ));
    }
    let applied: Vec<Name> =
        diesel::sql_query("SELECT version AS name FROM __diesel_schema_migrations")
            .load(&mut c)
            .map_err(|_| not_a_backup("no naervaer tables".into()))?;
    let known: Vec<String> =
        MigrationSource::<diesel::sqlite::Sqlite>::migrations(&crate::db::SQLITE_MIGRATIONS)
            .map_err(|e| AppError::Migration("reading the embedded migrations".into(), Some(e)))?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect();
    if let Some(newer) = applied.iter().find(|a| !known.contains(&a.name)) {
        return Err(UserError::BackupFromNewerVersion {
            path: file.display().to_string(),
            migration: newer.name.clone(),
        }
        .into());
    }
    Ok(c)
}

#[derive(QueryableByName)]
struct QuickCheck {
    #[diesel(sql_type = Text)]
    quick_check: String,
}

fn contents(c: &mut SqliteConnection, file: &Path) -> Result<Contents, AppError> {
    let count = |c: &mut SqliteConnection, table: &str| -> Result<i64, AppError> {
        Ok(
            diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
                .get_result::<Count>(c)?
                .n,
        )
    };
    Ok(Contents {
        bytes: std::fs::metadata(file)?.len(),
        units: count(c, "units")?,
        employees: count(c, "employees")?,
        rounds: count(c, "rounds")?,
        responses: count(c, "responses")?,
    })
}

/// Whether the SQLite database at `path` holds any row of naervaer's (a
/// freshly migrated, empty database does not).
fn holds_data(path: &Path) -> Result<bool, AppError> {
    if !path.exists() || std::fs::metadata(path)?.len() == 0 {
        return Ok(false);
    }
    let mut c = SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| AppError::connection_by(format!("SQLite {}", path.display()), e))?;
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
    )
    .load(&mut c)
    .map_err(|e| AppError::damaged_by(format!("SQLite {}", path.display()), e))?;
    for t in tables {
        // A counter of changes to the absence data, one row from the
        // migration on: the absence rows themselves say whether there is
        // any.
        if t.name == "absence_revision" {
            continue;
        }
        // The catalogue of measure types comes seeded by a migration: only
        // types an administrator added are data.
        let filter = if t.name == "measure_types" {
            " WHERE NOT builtin"
        } else {
            ""
        };
        let any: Count = diesel::sql_query(format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM \"{}\"{filter} LIMIT 1)",
            t.name.replace('"', "\"\"")
        ))
        .get_result(&mut c)?;
        if any.n > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}
