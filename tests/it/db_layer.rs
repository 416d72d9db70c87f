use crate::both_backends;
use crate::support::{Backend, TestDb};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use naervaer::crypto::new_id;
use naervaer::db;

#[test]
fn sqlite_runs_in_wal_mode_with_foreign_keys_busy_timeout_and_full_sync() {
    let t = TestDb::new(Backend::Sqlite);
    let mut conn = t.conn();
    let db::DbConnection::Sqlite(c) = &mut conn else {
        panic!("expected SQLite")
    };
    #[derive(QueryableByName)]
    struct V {
        #[diesel(sql_type = Text)]
        v: String,
    }
    let mut get = |p: &str, col: &str| {
        diesel::sql_query(format!("SELECT CAST({col} AS TEXT) AS v FROM pragma_{p}"))
            .get_result::<V>(c)
            .unwrap()
            .v
    };
    assert_eq!(get("journal_mode", "journal_mode"), "wal");
    assert_eq!(get("foreign_keys", "foreign_keys"), "1");
    assert_eq!(
        get("synchronous", "synchronous"),
        "2",
        "synchronous=FULL is 2"
    );
    assert_eq!(
        get("busy_timeout", "timeout"),
        db::SQLITE_BUSY_TIMEOUT_MS.to_string()
    );
}

#[test]
fn an_unknown_url_scheme_is_refused_and_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let typo = format!("sqlit://{}", dir.path().join("x.db").display());
    let err = db::connect(&typo).err().expect("refused");
    assert!(
        err.to_string()
            .contains("must start with sqlite:// or postgres://"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a file was created"
    );
    assert!(db::connect("naervaer.db").is_err());
    assert!(db::Backend::from_url("sqlite://").is_err());
    assert_eq!(
        db::Backend::from_url("postgresql://h/d").unwrap(),
        db::Backend::Postgres
    );
}

#[test]
fn new_ids_are_random_128_bit_hex() {
    let a = new_id();
    let b = new_id();
    assert_eq!(a.len(), 32);
    assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, b);
}

both_backends! {
    fn migrations_apply_once_and_then_have_nothing_left(t) {
        let mut conn = t.conn();
        // TestDb already migrated; a second run finds nothing to do.
        assert_eq!(naervaer::migrate::run(&mut conn).unwrap(), 0);
    }

    /// The quick check that lets a start skip the migrations' lock: true on
    /// a migrated database (the versions it compares are the ones diesel
    /// records), false when one migration's record is missing.
    fn the_quick_migration_check_sees_exactly_whether_all_are_applied(t) {
        let mut conn = t.conn();
        assert!(db::all_applied(&mut conn), "a migrated database was taken for one with migrations pending");
        let n = diesel::sql_query(
            "DELETE FROM __diesel_schema_migrations WHERE version = \
             (SELECT MAX(version) FROM __diesel_schema_migrations)",
        )
        .execute(&mut conn)
        .unwrap();
        assert_eq!(n, 1);
        assert!(!db::all_applied(&mut conn), "a missing migration went unseen");
    }

    fn foreign_keys_are_enforced(t) {
        let mut conn = t.conn();
        let r = diesel::sql_query(
            "INSERT INTO employees (id, employee_number, name, unit_id, language, active, updated_at) \
             VALUES ('a', '1', 'X', 'no-such-unit', 'nb', TRUE, 0)",
        )
        .execute(&mut conn);
        assert!(r.is_err(), "an employee in a unit that does not exist was accepted");
    }

    fn the_pool_answers_a_ping_and_reports_its_backend(t) {
        let pool = t.pool();
        let mut conn = pool.get().unwrap();
        db::ping(&mut conn).unwrap();
        let expected = match t.backend { Backend::Sqlite => db::Backend::Sqlite, Backend::Postgres => db::Backend::Postgres };
        assert_eq!(conn.backend(), expected);
        #[derive(QueryableByName)]
        struct N { #[diesel(sql_type = BigInt)] n: i64 }
        let n = diesel::sql_query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM units").get_result::<N>(&mut *conn).unwrap().n;
        assert_eq!(n, 0);
    }
}

/// Units as the database file alone holds them, without the write-ahead
/// log (`immutable=1` makes SQLite ignore it). The schema must be in the
/// file already: a query that fails fails the test.
fn units_in_the_file_alone(url: &str) -> i64 {
    let path = url.trim_start_matches("sqlite://");
    let mut c = diesel::SqliteConnection::establish(&format!("file:{path}?mode=ro&immutable=1"))
        .expect("the file, read-only");
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT count(*) AS n FROM units")
        .get_result::<N>(&mut c)
        .expect("the units table in the database file")
        .n
}

#[test]
fn the_servers_pool_leaves_checkpoints_to_its_own_thread_which_makes_them() {
    // An ordinary pool: a small write stays in the write-ahead log (SQLite
    // checkpoints on its own every 1 000 pages).
    let t = TestDb::new(Backend::Sqlite);
    let pool = t.pool();
    let mut c = pool.get().unwrap();
    crate::import_text(&mut c, naervaer::import::Kind::Units, crate::UNITS, false).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(units_in_the_file_alone(&t.url), 0);
    drop(c);

    // The server's pool: its connections never checkpoint, its thread does.
    let t = TestDb::new(Backend::Sqlite);
    let pool = naervaer::migrate::open_server_pool(&t.url, 4).unwrap();
    let mut c = pool.get().unwrap();
    let db::DbConnection::Sqlite(raw) = &mut *c else {
        panic!("expected SQLite")
    };
    #[derive(QueryableByName)]
    struct A {
        #[diesel(sql_type = BigInt)]
        wal_autocheckpoint: i64,
    }
    let a: A = diesel::sql_query("PRAGMA wal_autocheckpoint")
        .get_result(raw)
        .unwrap();
    assert_eq!(a.wal_autocheckpoint, 0);
    crate::import_text(&mut c, naervaer::import::Kind::Units, crate::UNITS, false).unwrap();
    let expected: i64 = naervaer::db::schema::units::table
        .count()
        .get_result(&mut *c)
        .unwrap();
    assert!(expected > 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while units_in_the_file_alone(&t.url) != expected {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint within 5 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A pooled PostgreSQL connection is not tested with a round trip each time
/// it is taken; when the server drops the pool's connections (a restart, a
/// network cut), the one request that meets a dead connection fails, and
/// from then on connections are tested and the dead ones replaced: the
/// requests after it succeed.
#[test]
fn a_pool_recovers_from_connections_the_server_dropped() {
    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let t = TestDb::new(Backend::Postgres);
    let pool = naervaer::migrate::open_pool(&t.url, 3).unwrap();
    // Three connections made and returned to the pool.
    let mut pids: Vec<i32> = Vec::new();
    {
        let mut held: Vec<_> = (0..3).map(|_| pool.get().unwrap()).collect();
        for c in &mut held {
            let p: Pid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
                .get_result(&mut **c)
                .unwrap();
            pids.push(p.pid);
        }
    }
    let mut admin = t.conn();
    let db::DbConnection::Pg(admin) = &mut admin else {
        panic!("expected PostgreSQL")
    };
    for pid in &pids {
        diesel::sql_query("SELECT pg_terminate_backend($1)")
            .bind::<diesel::sql_types::Integer, _>(pid)
            .execute(admin)
            .unwrap();
    }
    // Terminated backends are gone once the server reports them so.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let left: N =
            diesel::sql_query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ANY($1)")
                .bind::<diesel::sql_types::Array<diesel::sql_types::Integer>, _>(&pids)
                .get_result(admin)
                .unwrap();
        if left.n == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "backends still there");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The first use of a dead connection fails, as a lost connection.
    let mut conn = pool.get().unwrap();
    let e = naervaer::AppError::from(
        diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result::<Pid>(&mut *conn)
            .err()
            .expect("a query on a terminated connection fails"),
    );
    assert!(
        matches!(
            e,
            naervaer::AppError::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ClosedConnection
                    | diesel::result::DatabaseErrorKind::UnableToSendCommand,
                _
            ))
        ),
        "{e:?}"
    );
    drop(conn);
    // Every request after it gets a live connection, new to the server.
    for _ in 0..6 {
        let mut c = pool.get().unwrap();
        let p: Pid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result(&mut *c)
            .unwrap();
        assert!(!pids.contains(&p.pid));
    }
}

/// A process that finds every migration recorded while another holds the
/// migrations' lock waits for it: the quick check that skips the lock when
/// nothing is pending does not read a database in the middle of being
/// migrated as done. (Each migration now commits with what follows it, so
/// what it reads is whole either way; the wait keeps a start from racing
/// ahead of a migrating node.)
#[test]
fn a_start_while_another_process_migrates_waits_for_its_lock() {
    let t = TestDb::new(Backend::Postgres);
    let mut holder = t.conn();
    diesel::connection::SimpleConnection::batch_execute(
        &mut holder,
        &format!("SELECT pg_advisory_lock({})", db::MIGRATIONS_LOCK),
    )
    .unwrap();
    let url = t.url.clone();
    let starting = std::thread::spawn(move || {
        let mut conn = db::connect(&url).unwrap();
        naervaer::migrate::run(&mut conn).map_err(|e| e.to_string())
    });
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let waiting = |c: &mut db::DbConnection| {
        diesel::sql_query(format!(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' \
             AND objid = {} AND NOT granted",
            db::MIGRATIONS_LOCK
        ))
        .get_result::<N>(c)
        .unwrap()
        .n
    };
    let since = std::time::Instant::now();
    while waiting(&mut holder) == 0 {
        assert!(
            !starting.is_finished(),
            "the start went on while the lock was held: {:?}",
            starting.join()
        );
        assert!(
            since.elapsed().as_secs() < 30,
            "the start never asked for the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    diesel::connection::SimpleConnection::batch_execute(
        &mut holder,
        &format!("SELECT pg_advisory_unlock({})", db::MIGRATIONS_LOCK),
    )
    .unwrap();
    assert_eq!(starting.join().unwrap(), Ok(0));
}

/// The message of an error and of every error beneath it.
fn whole_message(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// A self-signed certificate for 127.0.0.1 and its key, as PEM files in
/// `dir`, owned by the server's user when we are root.
fn certificate(dir: &std::path::Path, name: &str) -> Result<std::path::PathBuf, String> {
    let (crt, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .map_err(|e| format!("openssl: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| e.to_string())?;
    if crate::support::is_root() {
        let status = std::process::Command::new("chown")
            .arg("postgres:postgres")
            .arg(&crt)
            .arg(&key)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("chown of the certificate failed".into());
        }
    }
    Ok(crt)
}

/// The PostgreSQL client library is built into the binary (pq-sys'
/// `bundled`, not Debian's libpq5): it must speak TLS, check the server's
/// certificate and sign in with a SCRAM password, as a managed PostgreSQL
/// asks of it. The cluster takes only TLS connections from the network,
/// with SCRAM.
#[test]
fn the_built_in_libpq_connects_over_tls_with_a_scram_password() {
    let password = "Hemmelig-passord-42";
    let cluster = crate::support::start_cluster(
        &["--auth-local=trust", "--auth-host=scram-sha-256"],
        |data| {
            certificate(data, "server")?;
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
            )
            .map_err(|e| e.to_string())
        },
        "-c ssl=on -c password_encryption=scram-sha-256",
    )
    .unwrap_or_else(|e| {
        panic!("a TLS cluster could not be started (PostgreSQL 15 and openssl are required): {e}")
    });
    let socket = cluster.data.parent().unwrap().display().to_string();
    let mut local = db::connect(&format!(
        "postgres://postgres@/postgres?host={socket}&port={}",
        cluster.port
    ))
    .expect("the local socket, trusted");
    diesel::connection::SimpleConnection::batch_execute(
        &mut local,
        &format!("ALTER USER postgres PASSWORD '{password}'"),
    )
    .unwrap();
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
        #[diesel(sql_type = Text)]
        stored: String,
    }
    let root = cluster.data.join("server.crt").display().to_string();
    let url = |password: &str, params: &str| {
        format!(
            "postgres://postgres:{password}@127.0.0.1:{}/postgres?{params}",
            cluster.port
        )
    };

    let mut conn = db::connect(&url(
        password,
        &format!("sslmode=verify-full&sslrootcert={root}"),
    ))
    .unwrap_or_else(|e| panic!("{}", whole_message(&e)));
    let row: Row = diesel::sql_query(
        "SELECT s.ssl, a.rolpassword AS stored FROM pg_stat_ssl s, pg_authid a \
         WHERE s.pid = pg_backend_pid() AND a.rolname = current_user",
    )
    .get_result(&mut conn)
    .unwrap();
    assert!(row.ssl, "the connection is not encrypted");
    assert!(row.stored.starts_with("SCRAM-SHA-256$"), "{}", row.stored);
    // The service's own start on it: migrations and a read.
    assert!(naervaer::migrate::run(&mut conn).unwrap() > 0);

    // What must fail does: a wrong password, no TLS, and a server whose
    // certificate the given root did not sign.
    let refused = |url: String| match db::connect(&url) {
        Ok(_) => panic!("connected: {url}"),
        Err(e) => whole_message(&e),
    };
    let wrong = refused(url(
        "feil",
        &format!("sslmode=verify-full&sslrootcert={root}"),
    ));
    assert!(wrong.contains("password authentication failed"), "{wrong}");
    let plain = refused(url(password, "sslmode=disable"));
    assert!(plain.contains("no encryption"), "{plain}");
    let other_dir = tempfile::tempdir().unwrap();
    let other = certificate(other_dir.path(), "other").unwrap();
    let unverified = refused(url(
        password,
        &format!("sslmode=verify-full&sslrootcert={}", other.display()),
    ));
    assert!(
        unverified.contains("certificate verify failed"),
        "{unverified}"
    );
}

/// Two processes that start at once on a new SQLite database both start:
/// the second read the same list of pending migrations while the first
/// was applying them, and passes over those the first has applied since
/// (a second `CREATE TABLE` of the same table failed before). SQLite has no
/// lock like PostgreSQL's to keep them apart; its one writer orders them.
#[test]
fn two_processes_migrating_a_new_sqlite_database_at_once_both_start() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static INSIDE_THE_FIRST: AtomicBool = AtomicBool::new(false);
    // The first process stops inside its first migration's transaction
    // long enough for the second to read the list and wait for the lock.
    fn slow_first(version: &str, c: &mut db::DbConnection) -> Result<(), naervaer::AppError> {
        if !INSIDE_THE_FIRST.swap(true, Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(700));
        }
        naervaer::migrate::after(version, c)
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("new.db").display());
    let first = {
        let url = url.clone();
        std::thread::spawn(move || {
            let mut conn = db::connect(&url).unwrap();
            db::run_migrations(&mut conn, slow_first).map_err(|e| e.to_string())
        })
    };
    while !INSIDE_THE_FIRST.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut conn = db::connect(&url).unwrap();
    let second = naervaer::migrate::run(&mut conn).map_err(|e| e.to_string());
    let first = first.join().unwrap();
    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(first > 0, "the first applied {first}");
    assert!(db::all_applied(&mut conn));
    // Between them each migration ran once.
    let known = std::fs::read_dir("migrations/sqlite").unwrap().count();
    assert_eq!(first + second, known, "{first} + {second}");
}
