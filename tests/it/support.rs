//! Test set-up: a fresh database per test on a real SQLite file or a real
//! PostgreSQL 15 server that this harness starts itself, from the machine's
//! binaries, in a temporary directory.
//!
//! PostgreSQL is never optional: when its binaries are missing the tests that
//! need it fail with an explanation (in CI and locally alike), they do not
//! skip. The server runs with fsync off, since crash safety is not what these
//! tests measure; a watchdog process stops it and removes its directory when
//! the test process exits.

use diesel::connection::SimpleConnection;
use naervaer::db::{self, DbConnection};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                let mut conn = db::connect(&url).expect("open SQLite");
                naervaer::migrate::run(&mut conn).expect("migrate SQLite");
                TestDb {
                    url,
                    backend,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let server = postgres();
                let name = format!("t_{}", naervaer::crypto::new_id());
                let mut admin =
                    db::connect(&server.url("postgres")).expect("connect to PostgreSQL");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
                    .expect("create test database");
                TestDb {
                    url: server.url(&name),
                    backend,
                    _dir: None,
                }
            }
        }
    }

    /// A SQLite database's file and its log as they lie on disk, to search
    /// for what must no longer be stored anywhere. None on PostgreSQL.
    pub fn sqlite_bytes(&self) -> Option<Vec<u8>> {
        let path = self.url.strip_prefix("sqlite://")?;
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        Some(bytes)
    }

    pub fn conn(&self) -> DbConnection {
        db::connect(&self.url).expect("connect")
    }

    pub fn pool(&self) -> db::Pool {
        naervaer::migrate::open_pool(&self.url, 4).expect("pool")
    }
}

const TEMPLATE: &str = "naervaer_template";

pub struct PgServer {
    port: u16,
}

impl PgServer {
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl PgServer {
    /// A new, empty database (not from the migrated template), its URL.
    pub fn empty_database(&self) -> String {
        let name = format!("e_{}", naervaer::crypto::new_id());
        let mut admin = db::connect(&self.url("postgres")).expect("connect to PostgreSQL");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create an empty database");
        self.url(&name)
    }
}

/// A PostgreSQL client program (`pg_dump`, `pg_restore`) of the machine's
/// PostgreSQL 15.
pub fn pg_client(tool: &str) -> Command {
    let bin = pg_bin().unwrap_or_else(|e| panic!("PostgreSQL is required: {e}"));
    Command::new(bin.join(tool))
}

static PG: OnceLock<Result<PgServer, String>> = OnceLock::new();

/// The shared PostgreSQL server of this test process, started on first use.
pub fn postgres() -> &'static PgServer {
    match PG.get_or_init(start_postgres) {
        Ok(s) => s,
        Err(e) => panic!(
            "PostgreSQL is required for these tests and could not be started: {e}\n\
             Install it with `apt-get install postgresql-15` (or run `bash .ci/run`, which does), \
             or point NAERVAER_PG_BIN at a directory holding initdb and pg_ctl."
        ),
    }
}

fn pg_bin() -> Result<PathBuf, String> {
    let dir = std::env::var("NAERVAER_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into());
    if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
        Ok(dir)
    } else {
        Err(format!("no initdb/pg_ctl in {}", dir.display()))
    }
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (initdb
/// refuses to run as root).
fn pg_tool(bin: &Path, tool: &str, args: &[&str]) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"])
            .arg(bin.join(tool))
            .args(args);
        c
    } else {
        let mut c = Command::new(bin.join(tool));
        c.args(args);
        c
    }
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn start_postgres() -> Result<PgServer, String> {
    let server = PgServer {
        port: start_cluster(&["--auth=trust"], |_| Ok(()), "")?.port,
    };
    let mut admin = db::connect(&server.url("postgres")).map_err(|e| e.to_string())?;
    admin
        .batch_execute(&format!("CREATE DATABASE {TEMPLATE}"))
        .map_err(|e| e.to_string())?;
    drop(admin);
    let mut tmpl = db::connect(&server.url(TEMPLATE)).map_err(|e| e.to_string())?;
    naervaer::migrate::run(&mut tmpl).map_err(|e| e.to_string())?;
    Ok(server)
}

/// Defines one test per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($( $(#[$meta:meta])* fn $name:ident($db:ident) $body:block )*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                fn body($db: $crate::support::TestDb) $body
                #[test]
                fn sqlite() { body($crate::support::TestDb::new($crate::support::Backend::Sqlite)) }
                #[test]
                fn postgres() { body($crate::support::TestDb::new($crate::support::Backend::Postgres)) }
            }
        )*
    };
}

/// Every row of the organisation tables, sorted, as text: two dumps are
/// equal exactly when the data is.
pub fn dump(conn: &mut DbConnection) -> String {
    use diesel::prelude::*;
    use naervaer::db::models::{Employee, EmployeeRole, Unit, UnitLeader};
    use naervaer::db::schema::{employee_roles, import_runs, unit_leaders};
    let mut out = String::new();
    for u in Unit::all(conn).unwrap() {
        out += &format!("{u:?}\n");
    }
    for e in Employee::all(conn).unwrap() {
        out += &format!("{e:?}\n");
    }
    let mut leaders: Vec<String> = unit_leaders::table
        .select(UnitLeader::as_select())
        .load(conn)
        .unwrap()
        .iter()
        .map(|l| format!("{l:?}"))
        .collect();
    leaders.sort();
    let mut roles: Vec<String> = employee_roles::table
        .select(EmployeeRole::as_select())
        .load(conn)
        .unwrap()
        .iter()
        .map(|r| format!("{r:?}"))
        .collect();
    roles.sort();
    let runs: i64 = import_runs::table.count().get_result(conn).unwrap();
    use naervaer::db::schema::absence;
    type AbsenceRow = (
        String,
        String,
        String,
        String,
        f64,
        f64,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<i32>,
    );
    let absence_rows: Vec<AbsenceRow> = absence::table
        .order((absence::unit_id, absence::period_start))
        .select((
            absence::id,
            absence::unit_id,
            absence::period_start,
            absence::period_end,
            absence::agreed_workdays,
            absence::lost_workdays,
            absence::lost_self_certified,
            absence::lost_doctor_certified,
            absence::lost_long_term,
            absence::headcount,
        ))
        .load(conn)
        .unwrap();
    for a in absence_rows {
        out += &format!("{a:?}\n");
    }
    out + &leaders.join("\n") + "\n" + &roles.join("\n") + &format!("\nimport_runs={runs}\n")
}

pub fn naervaer_bin() -> &'static str {
    env!("CARGO_BIN_EXE_naervaer")
}

/// A running service on a free loopback port; stopped when dropped.
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The secret key every test installation uses.
pub const TEST_KEY: &str = "test-key-0123456789abcdef0123456789abcdef";

/// Settings for a test installation on `db`, with `extra` variables.
pub fn settings(db: &TestDb, extra: &[(&str, &str)]) -> naervaer::config::Settings {
    let mut env: std::collections::HashMap<String, String> = [
        ("NAERVAER_DATABASE_URL".to_string(), db.url.clone()),
        ("NAERVAER_SECRET_KEY".to_string(), TEST_KEY.to_string()),
    ]
    .into_iter()
    .collect();
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    naervaer::config::Settings::from_sources(&env, None).unwrap()
}

pub fn key() -> naervaer::crypto::SecretKey {
    naervaer::crypto::SecretKey::new(TEST_KEY).unwrap()
}

impl TestServer {
    pub fn start(db: &TestDb) -> TestServer {
        TestServer::start_with(db, settings(db, &[]))
    }

    pub fn start_with(db: &TestDb, settings: naervaer::config::Settings) -> TestServer {
        TestServer::start_on(db, settings, "127.0.0.1:0".parse().unwrap())
    }

    /// On a given address (one the settings name before it listens).
    pub fn start_on(
        db: &TestDb,
        settings: naervaer::config::Settings,
        addr: std::net::SocketAddr,
    ) -> TestServer {
        let state = naervaer::web::AppState::new(db.pool(), settings).unwrap();
        let listener = std::net::TcpListener::bind(addr).unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = naervaer::web::run(listener, state).unwrap();
                tx.send(server.handle()).unwrap();
                server.await.unwrap();
            })
        });
        let handle = rx.recv().unwrap();
        TestServer {
            addr,
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(false)))
            .join()
            .ok();
        if let Some(t) = self.thread.take() {
            t.join().ok();
        }
    }
}

/// A response as the tests read it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body as sent, for binary downloads (not de-chunked).
    pub bytes: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Plain HTTP/1.1 over a socket: enough for tests, and no client library
/// between the test and what the server really sent.
pub fn http(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> Response {
    http_cookie(addr, method, path, body, None)
}

pub fn http_cookie(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    cookie: Option<&str>,
) -> Response {
    http_raw(
        addr,
        method,
        path,
        "application/x-www-form-urlencoded",
        body.as_bytes(),
        cookie,
    )
}

/// Any request body and content type; the response keeps its raw bytes.
pub fn http_raw(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
    cookie: Option<&str>,
) -> Response {
    let cookie: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
    http_with(addr, method, path, content_type, body, &cookie)
}

/// Any request, with any extra headers.
pub fn http_with(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> Response {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect::<String>(),
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let bytes = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| raw[p + 4..].to_vec())
        .unwrap_or_default();
    let raw = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| {
            l.split_once(": ")
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let response = Response {
        status,
        headers,
        body: dechunk(body),
        bytes,
    };
    // Every API answer a test receives must match the OpenAPI document.
    if path.starts_with("/api/") && !path.starts_with("/api/v1/openapi.json") {
        crate::openapi::check_answer(method, path, &response);
    }
    response
}

fn dechunk(body: &str) -> String {
    // actix answers with Content-Length for bodies it knows the size of;
    // bodies sent in chunks are joined here.
    let mut out = String::new();
    let mut rest = body;
    loop {
        let Some((size, after)) = rest.split_once("\r\n") else {
            return body.to_string();
        };
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_string();
        };
        if n == 0 {
            return out;
        }
        if after.len() < n {
            return body.to_string();
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
}

/// Every route of the service as (method, pattern), read from its route
/// table (`src/web/mod.rs`), so that a route added later without a line in
/// the tests that must try every route fails them.
pub fn declared_routes() -> Vec<(&'static str, String)> {
    let src = include_str!("../../src/web/mod.rs");
    let mut out = Vec::new();
    let mut path = None;
    for line in src.lines() {
        if let Some(p) = line.split('"').nth(1).filter(|p| p.starts_with('/')) {
            path = Some(p.to_string());
        }
        for (method, call) in [("GET", "web::get()"), ("POST", "web::post()")] {
            if line.contains(call) {
                out.push((method, path.clone().expect("a path before the method")));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The declared pattern a concrete path matches, e.g. `/tiltak/{id}`.
pub fn route_of(method: &str, path: &str) -> String {
    declared_routes()
        .into_iter()
        .filter(|(m, _)| *m == method)
        .map(|(_, p)| p)
        .filter(|pattern| {
            let p: Vec<&str> = pattern.split('/').collect();
            let q: Vec<&str> = path.split('?').next().unwrap().split('/').collect();
            p.len() == q.len() && p.iter().zip(&q).all(|(a, b)| a.starts_with('{') || a == b)
        })
        .min_by_key(|p| p.matches('{').count())
        .unwrap_or_else(|| panic!("{method} {path} matches no declared route"))
}

/// A PostgreSQL cluster of its own, started from the machine's binaries
/// in a temporary folder, stopped and removed when this test process ends.
pub struct Cluster {
    pub port: u16,
    /// The data folder, owned by the server's user.
    pub data: PathBuf,
}

/// Starts a cluster made by initdb with `auth` (its `--auth…` options);
/// `configure` may change its data folder before the start, and `opts`
/// adds server options (`-c name=value`).
pub fn start_cluster(
    auth: &[&str],
    configure: impl FnOnce(&Path) -> Result<(), String>,
    opts: &str,
) -> Result<Cluster, String> {
    let bin = pg_bin()?;
    let dir = std::env::temp_dir().join(format!(
        "naervaer-pg-{}-{}",
        std::process::id(),
        &naervaer::crypto::new_id()[..8]
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    if is_root() {
        run(
            {
                let mut c = Command::new("chown");
                c.args(["postgres:postgres"]).arg(&dir);
                c
            },
            "chown",
        )?;
    }
    let data = dir.join("data");
    let data_s = data.to_string_lossy().to_string();
    let dir_s = dir.to_string_lossy().to_string();
    run(
        pg_tool(
            &bin,
            "initdb",
            &[
                "-D",
                data_s.as_str(),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
            ]
            .into_iter()
            .chain(auth.iter().copied())
            .collect::<Vec<&str>>(),
        ),
        "initdb",
    )?;
    configure(&data)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let opts = format!(
        "-p {port} -k {dir_s} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 {extra}",
        extra = opts
    );
    let log = format!("{dir_s}/server.log");
    run(
        pg_tool(
            &bin,
            "pg_ctl",
            &[
                "-D", &data_s, "-o", &opts, "-l", &log, "-w", "-t", "60", "start",
            ],
        ),
        "pg_ctl start",
    )?;

    // Stop the server when this test process is gone, however it ends.
    let stop = if is_root() {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop}{pg_ctl} -D {data_s} stop -m immediate >/dev/null 2>&1; rm -rf {dir_s}",
        pid = std::process::id(),
        pg_ctl = bin.join("pg_ctl").display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("watchdog: {e}"))?;
    Ok(Cluster { port, data })
}
