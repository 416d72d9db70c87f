//! The database: one connection type over SQLite and PostgreSQL, chosen by the
//! URL scheme at run time, a pool, and migrations embedded per backend.
//!
//! Queries are written once against [`DbConnection`], diesel's
//! `MultiConnection` enum. Only SQL types common to both backends are used
//! (text, integers, booleans, doubles, and bytes for the one compact
//! [`absence_series`]); ids are random 128-bit hex text and
//! times are Unix seconds in a `BIGINT`, so both backends store the same
//! values.
//!
//! Lookups by a unique key use `get_result`, not `first`: `first` binds its
//! `LIMIT` as a parameter, and SQLite (3.53) marks a statement whose plan
//! read a bound LIMIT as expired whenever that parameter is bound again, so
//! diesel's cached statement was parsed and planned anew on every call —
//! a fifth of the server's CPU in the answering flow.

pub mod absence_series;
pub mod models;
pub mod schema;

use crate::AppError;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// Runs the same expression on the concrete connection inside a
/// [`DbConnection`]. The one place queries are not written against the enum:
/// statements the enum cannot express, such as multi-row `INSERT`s. The body
/// is the same text for both backends; only its type differs.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Pg($c) => $body,
        }
    };
}

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a SQLite writer waits for the lock before giving up.
pub const SQLITE_BUSY_TIMEOUT_MS: u32 = 5000;
/// How much of a SQLite file is read through a memory map.
pub const SQLITE_MMAP_BYTES: u64 = 256 * 1024 * 1024;

pub use crate::config::Backend;

/// For a one-off command that reads a lot once (`naervaer analyse`).
/// SQLite reads through a memory map instead of one read call per page (a
/// snapshot is megabytes of overflow pages). Not for the server's pool: a
/// long-running process would hold the mapped pages as resident memory,
/// and the answering flow measured slower with it. PostgreSQL sends each
/// statement unprepared, parsed and run in one round trip: a prepared
/// statement takes two (prepare, then run), and a one-off command runs
/// most of its statements once.
pub fn one_off_reads(conn: &mut DbConnection) -> Result<(), AppError> {
    match conn {
        DbConnection::Sqlite(c) => {
            c.batch_execute(&format!("PRAGMA mmap_size = {SQLITE_MMAP_BYTES};"))?
        }
        DbConnection::Pg(c) => {
            c.set_prepared_statement_cache_size(diesel::connection::CacheSize::Disabled)
        }
    }
    Ok(())
}

/// Runs `f` with SQLite's page cache raised to [`SQLITE_LARGE_CACHE_KIB`]
/// for a transaction that touches most of a large table (the close
/// rewrites every response and deletes every invitation of a round): with
/// the default 2 MB, dirty pages spill to the log mid-transaction and the
/// close of 50 000 invitations took twice as long. On PostgreSQL it raises
/// work_mem to [`PG_LARGE_WORK_MEM_KIB`] instead. Restored afterwards.
pub fn with_large_cache<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    match conn {
        DbConnection::Sqlite(c) => {
            c.batch_execute(&format!("PRAGMA cache_size = -{SQLITE_LARGE_CACHE_KIB};"))?
        }
        // The statement-level reference checks keep a statement's new rows
        // (35 000 responses at a large close) in memory up to work_mem, and
        // write them to a temporary file beyond it.
        DbConnection::Pg(c) => {
            c.batch_execute(&format!("SET work_mem = '{PG_LARGE_WORK_MEM_KIB}kB'"))?
        }
    }
    let out = f(conn);
    match conn {
        DbConnection::Sqlite(c) => c.batch_execute("PRAGMA cache_size = -2000;")?,
        DbConnection::Pg(c) => c.batch_execute("RESET work_mem")?,
    }
    out
}

/// The page cache of [`with_large_cache`], in KiB.
pub const SQLITE_LARGE_CACHE_KIB: u32 = 131_072;

/// PostgreSQL's work_mem in [`with_large_cache`], in KiB.
pub const PG_LARGE_WORK_MEM_KIB: u32 = 65_536;

/// Opens one connection and prepares it for use (SQLite pragmas).
pub fn connect(url: &str) -> Result<DbConnection, AppError> {
    match Backend::from_url(url)? {
        Backend::Sqlite => {
            let path = &url["sqlite://".len()..];
            let mut conn = SqliteConnection::establish(path)
                .map_err(|e| AppError::connection_by(format!("SQLite {path}"), e))?;
            // busy_timeout first: switching to WAL takes a lock other
            // connections may hold. synchronous=FULL makes an acknowledged
            // commit survive power loss, not only a process crash.
            // secure_delete: whatever is deleted (responses in their old
            // order at close, people and absence at retention) is
            // overwritten with zeros in the file, not left in free pages.
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                 PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA secure_delete = ON;"
            ))
            .map_err(|e| AppError::connection_by(format!("SQLite {path}"), e))?;
            Ok(DbConnection::Sqlite(conn))
        }
        Backend::Postgres => {
            let by = |e: diesel::ConnectionError| {
                AppError::connection_by(format!("PostgreSQL {}", crate::crypto::mask_url(url)), e)
            };
            let mut conn = PgConnection::establish(url).map_err(by)?;
            // The set-based reference checks of the responses and the
            // outbox (migration 2026-12-03-000015) rely on READ COMMITTED,
            // whatever default the server or database was given.
            conn.batch_execute("SET default_transaction_isolation = 'read committed'")
                .map_err(|e| by(diesel::ConnectionError::CouldntSetupConfiguration(e)))?;
            Ok(DbConnection::Pg(conn))
        }
    }
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Pg(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// The PostgreSQL advisory lock that migrating processes take in turn.
pub const MIGRATIONS_LOCK: i64 = 7316001;

/// What the program does right after a migration, in the migration's
/// transaction, given its version (digits only): fill a table whose
/// encoding is the program's, or mend stored data once. The domain layer
/// knows which ([`crate::migrate::after`]); the database layer only runs it.
/// It runs against the schema as that migration leaves it, which is not
/// the newest when later migrations are pending too: it may only touch
/// what later migrations leave as it is (or they must be written for it).
pub type AfterMigration = fn(&str, &mut DbConnection) -> Result<(), AppError>;

/// Applies pending migrations and returns how many ran. On PostgreSQL an
/// advisory lock keeps several app nodes starting at once from racing.
/// Each migration and what the program does after it (`after`) commit
/// together: no process sees the one without the other, and a crash
/// between them leaves the migration pending. Outside a transaction only
/// (see [`all_applied`]). The program calls it through
/// [`crate::migrate::run`].
pub fn run_migrations(conn: &mut DbConnection, after: AfterMigration) -> Result<usize, AppError> {
    if all_applied(conn) {
        return Ok(0);
    }
    let pg = matches!(conn, DbConnection::Pg(_));
    if pg {
        conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATIONS_LOCK})"))?;
    }
    let result = (|| {
        let mut count = 0;
        for (version, run) in pending_migrations(conn)? {
            count += write_transaction(conn, |conn| {
                // On SQLite another process starting at the same time may
                // have applied it since the list was read (PostgreSQL's
                // lock keeps that from happening).
                if recorded(conn, &version)? {
                    return Ok(0);
                }
                run(conn)?;
                after(&version, conn).map(|()| 1)
            })?;
        }
        Ok(count)
    })();
    if pg {
        let unlocked = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATIONS_LOCK})"));
        // A failed migration's own error says more than a failed unlock
        // after it (the lock ends with the connection either way).
        if result.is_ok() {
            unlocked?;
        }
    }
    result
}

/// Whether every migration this build carries is applied already: one
/// read, without the lock, the `CREATE TABLE IF NOT EXISTS` and the
/// round trips of the full check, for the commands started often
/// (`naervaer analyse`, ~1.3 ms on PostgreSQL). False when the table of
/// applied migrations cannot be read (a new database), so that the full
/// path runs and says what failed, and on PostgreSQL while another
/// process holds the migrations' lock: it is applying them, and the full
/// path waits for it. Applied migrations this build does not know (a newer build ran)
/// do not matter here, as on the full path. Not for use inside a
/// transaction: a failed read would end it on PostgreSQL.
pub fn all_applied(conn: &mut DbConnection) -> bool {
    use diesel::migration::MigrationSource;
    #[derive(diesel::QueryableByName)]
    struct Applied {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let query = match conn {
        DbConnection::Sqlite(_) => "SELECT version FROM __diesel_schema_migrations".to_string(),
        // An advisory lock on one bigint key below 2³² is listed as
        // classid 0, objid the key, objsubid 1.
        DbConnection::Pg(_) => format!(
            "SELECT version FROM __diesel_schema_migrations WHERE NOT EXISTS \
             (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
              AND classid = 0 AND objid = {MIGRATIONS_LOCK} AND objsubid = 1)"
        ),
    };
    let Ok(applied) = diesel::sql_query(query).load::<Applied>(conn) else {
        return false;
    };
    let applied: std::collections::HashSet<String> =
        applied.into_iter().map(|a| a.version).collect();
    let known: Vec<String> = match conn {
        DbConnection::Sqlite(_) => {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .map(|m| m.iter().map(|m| m.name().version().to_string()).collect())
        }
        DbConnection::Pg(_) => MigrationSource::<diesel::pg::Pg>::migrations(&PG_MIGRATIONS)
            .map(|m| m.iter().map(|m| m.name().version().to_string()).collect()),
    }
    .unwrap_or_default();
    !known.is_empty() && known.iter().all(|v| applied.contains(v))
}

/// Whether the migration `version` (digits only) is recorded as applied.
fn recorded(conn: &mut DbConnection, version: &str) -> Result<bool, AppError> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    debug_assert!(version.bytes().all(|b| b.is_ascii_digit()));
    let found: Count = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM __diesel_schema_migrations WHERE version = '{version}'"
    ))
    .get_result(conn)?;
    Ok(found.n > 0)
}

/// A pending migration: its version (digits only) and how to apply it.
type Pending = (
    String,
    Box<dyn FnOnce(&mut DbConnection) -> Result<(), AppError>>,
);

/// The migrations this build carries that the database has not applied,
/// oldest first.
fn pending_migrations(conn: &mut DbConnection) -> Result<Vec<Pending>, AppError> {
    fn step<DB: diesel::backend::Backend + 'static, H: MigrationHarness<DB> + 'static>(
        migration: Box<dyn diesel::migration::Migration<DB>>,
        harness: fn(&mut DbConnection) -> Option<&mut H>,
    ) -> Pending {
        let version = migration.name().version().to_string().replace('-', "");
        let named = version.clone();
        let run = move |conn: &mut DbConnection| -> Result<(), AppError> {
            let harness = harness(conn).expect("a migration runs on the backend it was read for");
            harness
                .run_migration(&*migration)
                .map(drop)
                .map_err(|e| AppError::Migration(format!("applying migration {named}"), Some(e)))
        };
        (version, Box::new(run))
    }
    let err = |e| AppError::Migration("reading the pending migrations".into(), Some(e));
    Ok(match conn {
        DbConnection::Sqlite(c) => c
            .pending_migrations(SQLITE_MIGRATIONS)
            .map_err(err)?
            .into_iter()
            .map(|m| {
                step(m, |c| match c {
                    DbConnection::Sqlite(c) => Some(c),
                    DbConnection::Pg(_) => None,
                })
            })
            .collect(),
        DbConnection::Pg(c) => c
            .pending_migrations(PG_MIGRATIONS)
            .map_err(err)?
            .into_iter()
            .map(|m| {
                step(m, |c| match c {
                    DbConnection::Pg(c) => Some(c),
                    DbConnection::Sqlite(_) => None,
                })
            })
            .collect(),
    })
}

pub struct Manager {
    url: String,
    /// SQLite: the connections leave checkpointing to [`open_server_pool`]'s
    /// thread.
    manual_checkpoints: bool,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        let broken =
            |e: String| r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(e));
        let mut conn = connect(&self.url).map_err(|e| broken(e.to_string()))?;
        if self.manual_checkpoints {
            if let DbConnection::Sqlite(c) = &mut conn {
                c.batch_execute("PRAGMA wal_autocheckpoint = 0;")
                    .map_err(|e| broken(e.to_string()))?;
            }
        }
        Ok(conn)
    }

    /// Called on every connection taken from the pool. A SQLite
    /// connection is a file handle in this process: nothing to test. A
    /// PostgreSQL connection can break (the server restarted, the network
    /// cut), but testing every one with `SELECT 1` is a round trip per
    /// request: under answering load it cost a third of the flows
    /// (1 415 against 2 033 flows/s). So, as connection pools commonly do
    /// (HikariCP skips the test for connections used within the last
    /// 500 ms), connections are tested only while a lost connection was
    /// seen lately ([`crate::error::lost_connection_within`]): the request that meets a
    /// broken connection fails, and for [`TEST_AFTER_LOSS`] every
    /// connection handed out is tested first and the broken ones replaced.
    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        match conn {
            DbConnection::Pg(c) if crate::error::lost_connection_within(TEST_AFTER_LOSS) => {
                c.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
            }
            _ => Ok(()),
        }
    }

    /// A connection whose transaction could not be rolled back is not
    /// reused (a local check, no round trip).
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        broken(conn)
    }
}

/// How long after a lost PostgreSQL connection was seen every connection
/// taken from a pool is tested first.
pub const TEST_AFTER_LOSS: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether a connection's transaction could not be rolled back, so that
/// it must not be used again (diesel's local check).
pub fn broken(conn: &mut DbConnection) -> bool {
    match conn {
        DbConnection::Pg(c) => r2d2::R2D2Connection::is_broken(c),
        DbConnection::Sqlite(c) => r2d2::R2D2Connection::is_broken(c),
    }
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// A pool over the database at `url`, migrated to the newest schema
/// ([`run_migrations`] with `after`).
pub fn open_pool(url: &str, size: u32, after: AfterMigration) -> Result<Pool, AppError> {
    pool(url, size, false, after)
}

/// How often the server's own thread checkpoints SQLite's write-ahead log.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// The pool of `naervaer serve`. On SQLite its connections do not
/// checkpoint the write-ahead log when they commit: a checkpoint inside a
/// commit copies pages into the database file and waits for its fsync, and
/// every answer that commit carries waits with it (the answering p99 at
/// 50 000 employees fell from 32 to 20 ms without). A thread of the process
/// checkpoints instead, passively (beside readers and the writer), every
/// 200 ms, on a connection of its own; it ends with the process.
pub fn open_server_pool(url: &str, size: u32, after: AfterMigration) -> Result<Pool, AppError> {
    let pool = pool(url, size, true, after)?;
    if Backend::from_url(url)? == Backend::Sqlite {
        let mut conn = connect(url)?;
        std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || loop {
                std::thread::sleep(CHECKPOINT_EVERY);
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                    tracing::warn!(error = %e, "checkpointing the write-ahead log failed");
                }
            })?;
    }
    Ok(pool)
}

fn pool(
    url: &str,
    size: u32,
    manual_checkpoints: bool,
    after: AfterMigration,
) -> Result<Pool, AppError> {
    Backend::from_url(url)?;
    let mut first = connect(url)?;
    run_migrations(&mut first, after)?;
    drop(first);
    r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(std::time::Duration::from_secs(10))
        .build(Manager {
            url: url.to_string(),
            manual_checkpoints,
        })
        .map_err(|e| AppError::connection(e.to_string()))
}

pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `SELECT 1` through the given connection; used by `/healthz`.
pub fn ping(conn: &mut DbConnection) -> Result<(), AppError> {
    conn.batch_execute("SELECT 1")?;
    Ok(())
}

/// Serialises on PostgreSQL the transactions that measure a snapshot's
/// changes against another round's (a close) with those that change a
/// snapshot (raising k); call it first in such a transaction. A close then
/// reads the previous round as raised, or the raise sees the closed round
/// and withdraws its changes against what it hides. SQLite serialises every
/// writer already (`BEGIN IMMEDIATE`).
pub fn lock_snapshots(conn: &mut DbConnection) -> Result<(), diesel::result::Error> {
    if let DbConnection::Pg(c) = conn {
        c.batch_execute("SELECT pg_advisory_xact_lock(7316003)")?;
    }
    Ok(())
}

/// A transaction that writes. On SQLite it begins `IMMEDIATE`, taking the
/// write lock at once: a deferred transaction that reads and then writes
/// fails with "database is locked" when another connection committed in
/// between, without waiting for the busy timeout. On PostgreSQL it is a
/// plain `BEGIN`. Transactions nested inside become savepoints as usual.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let depth = match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()
        }
        DbConnection::Pg(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()
        }
    }?;
    if depth.is_some() {
        // Already inside one: the lock is held; nest as a savepoint.
        return conn.transaction(f);
    }
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN")?,
    }
    let result = f(conn);
    let end = match (&result, &mut *conn) {
        (Ok(_), DbConnection::Sqlite(c)) => AnsiTransactionManager::commit_transaction(c),
        (Ok(_), DbConnection::Pg(c)) => AnsiTransactionManager::commit_transaction(c),
        (Err(_), DbConnection::Sqlite(c)) => AnsiTransactionManager::rollback_transaction(c),
        (Err(_), DbConnection::Pg(c)) => AnsiTransactionManager::rollback_transaction(c),
    };
    match (result, end) {
        (Ok(v), Ok(())) => Ok(v),
        (Ok(_), Err(e)) => Err(e.into()),
        (Err(e), _) => Err(e),
    }
}
