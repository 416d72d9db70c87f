//! `naervaer bench`: a synthetic municipality of a chosen size, and the
//! figures an IT department asks for, each as the median and spread of
//! several runs. Figures, never pass/fail.
//!
//! The organisation: a four-level tree (root, 12 service areas, ~10 %
//! sections, the rest teams with a long tail of small ones, so many groups
//! are hidden and the remainder rule has work), two closed rounds in which
//! 70 % answer both questionnaires, and 24 months of absence per unit.

use crate::crypto::{lookup_hash, SecretKey};
use crate::db::schema::{invitations, responses, units};
use crate::db::{self, DbConnection};
use crate::rounds::answer::{self, Answers};
use crate::{analysis, demo, import, rounds, snapshot, AppError};
use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub const KEY: &str = "bench-key-0123456789abcdef0123456789abcdef";

#[derive(Debug, Clone)]
pub struct Options {
    pub employees: usize,
    pub units: usize,
    pub runs: usize,
    pub concurrency: usize,
    pub respondents: usize,
    /// Invitations in the sending test.
    pub mails: usize,
    /// None: a fresh SQLite file in the temporary folder.
    pub database_url: Option<String>,
}

/// One measured figure: the median of `runs` and the smallest and largest.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub what: String,
    pub unit: String,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Figure {
    fn of(what: &str, unit: &str, mut values: Vec<f64>) -> Figure {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Figure {
            what: what.into(),
            unit: unit.into(),
            median,
            min: values[0],
            max: values[n - 1],
            runs: n,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub employees: usize,
    pub units: usize,
    pub database: String,
    pub machine: String,
    pub figures: Vec<Figure>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let out = f();
    (out, ms(t.elapsed()))
}

/// Units and employees files of a synthetic organisation.
pub fn organisation_files(employees: usize, n_units: usize, seed: u64) -> (String, String) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let areas = 12.min(n_units - 1);
    let sections = (n_units / 10).max(areas);
    let mut units = String::from("unit_code;parent_code;name\nU0;;Kommune\n");
    for i in 1..n_units {
        let parent = if i <= areas {
            0
        } else if i <= areas + sections {
            1 + (i % areas)
        } else {
            areas + 1 + (i % sections)
        };
        units += &format!("U{i};U{parent};Enhet {i}\n");
    }
    let leaves: Vec<usize> = (areas + sections + 1..n_units).collect();
    let weights: Vec<f64> = leaves
        .iter()
        .map(|_| rng.gen_range(0.05f64..1.0).powi(3))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut text = String::from("employee_id;name;email;unit_code;leader_of\n");
    let mut placed = 0;
    for (leaf, w) in leaves.iter().zip(&weights) {
        let n = ((w / total) * employees as f64).round() as usize;
        for j in 0..n.max(1) {
            if placed >= employees {
                break;
            }
            // The first person of every team leads it.
            let leads = if j == 0 {
                format!("U{leaf}")
            } else {
                String::new()
            };
            text += &format!("{placed};P {placed};p{placed}@x.no;U{leaf};{leads}\n");
            placed += 1;
        }
    }
    while placed < employees {
        text += &format!(
            "{placed};P {placed};p{placed}@x.no;U{};\n",
            1 + placed % areas
        );
        placed += 1;
    }
    (units, text)
}

/// A migrated, empty database: `given`, or a new SQLite file `file` in
/// `temp`. Returns its URL and a connection.
fn empty_database(
    given: Option<&str>,
    temp: &std::path::Path,
    file: &str,
) -> Result<(String, DbConnection), AppError> {
    let url = given
        .map(str::to_string)
        .unwrap_or_else(|| format!("sqlite://{}", temp.join(file).display()));
    let mut conn = db::connect(&url)?;
    db::run_migrations(&mut conn)?;
    let existing: i64 = units::table.count().get_result(&mut conn)?;
    if existing > 0 {
        return Err(AppError::config(
            "the benchmark needs an empty database: it creates its own municipality",
        ));
    }
    Ok((url, conn))
}

/// Imports [`organisation_files`] through the real importers.
fn import_organisation(
    conn: &mut DbConnection,
    employees: usize,
    n_units: usize,
    seed: u64,
) -> Result<(), AppError> {
    let (units_csv, employees_csv) = organisation_files(employees, n_units, seed);
    for (kind, text) in [
        (import::Kind::Units, units_csv),
        (import::Kind::Employees, employees_csv),
    ] {
        import::import(conn, kind, "bench.csv", text.as_bytes(), false)
            .map_err(|e| AppError::internal_by("importing the benchmark's own files", e))?;
    }
    Ok(())
}

fn new_round(
    conn: &mut DbConnection,
    title: &str,
    closes_in: i64,
) -> Result<rounds::Round, AppError> {
    let today = rounds::today();
    let r = rounds::create(
        conn,
        5,
        rounds::NewRound {
            title: title.into(),
            surveys: vec![demo::SURVEY_10_FAKTOR.into(), demo::SURVEY_MODULE.into()],
            unit_code: None,
            opens_on: today,
            closes_on: today + chrono::Duration::days(closes_in),
            min_group_size: 5,
        },
    )?;
    Ok(r)
}

fn invitations_of(conn: &mut DbConnection, round: &str) -> Result<Vec<String>, AppError> {
    Ok(invitations::table
        .filter(invitations::round_id.eq(round))
        .order(invitations::id)
        .select(invitations::id)
        .load(conn)?)
}

fn random_answers(rng: &mut impl Rng, surveys: &[crate::survey::Survey]) -> Answers {
    let mut a = Answers::default();
    for s in surveys {
        for item in &s.items {
            if rng.gen_bool(0.95) {
                a.items
                    .insert(answer::item_field(s, &item.key), rng.gen_range(0..=5));
            }
        }
    }
    a
}

/// A complete questionnaire as the last page's form posts it (earlier
/// pages' answers travel in hidden fields, so one POST holds them all):
/// items and background questions, varied by `seed`.
pub fn complete_form(surveys: &[crate::survey::Survey], seed: usize) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for s in surveys {
        for (i, item) in s.items.iter().enumerate() {
            pairs.push((
                answer::item_field(s, &item.key),
                ((seed + i) % 6).to_string(),
            ));
        }
        for b in &s.background {
            pairs.push((
                answer::background_field(s, &b.key),
                b.options[seed % b.options.len()].key.clone(),
            ));
        }
    }
    pairs.push((
        "page".into(),
        (answer::pages(surveys).len() - 1).to_string(),
    ));
    pairs.push(("go".into(), "submit".into()));
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}

/// One HTTP/1.1 request on a fresh connection: (status, headers+body).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, out))
}

/// A client on one kept-alive connection, as a browser holds one: reconnects
/// when the server closes it.
struct Client {
    addr: SocketAddr,
    conn: Option<std::io::BufReader<std::net::TcpStream>>,
}

impl Client {
    fn new(addr: SocketAddr) -> Client {
        Client { addr, conn: None }
    }

    fn request(
        &mut self,
        method: &str,
        path: &str,
        cookie: &str,
        body: &str,
    ) -> std::io::Result<u16> {
        use std::io::BufRead;
        if self.conn.is_none() {
            let s = std::net::TcpStream::connect(self.addr)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(60)))?;
            self.conn = Some(std::io::BufReader::new(s));
        }
        let result = (|| -> std::io::Result<(u16, bool)> {
            let conn = self.conn.as_mut().ok_or(std::io::ErrorKind::NotConnected)?;
            write!(
                conn.get_mut(),
                "{method} {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                self.addr,
                body.len()
            )?;
            let mut line = String::new();
            conn.read_line(&mut line)?;
            let status = line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let (mut length, mut close) = (0usize, false);
            loop {
                line.clear();
                if conn.read_line(&mut line)? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                let l = line.trim_end().to_ascii_lowercase();
                if l.is_empty() {
                    break;
                }
                if let Some(v) = l.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if l == "connection: close" {
                    close = true;
                }
            }
            let mut body = vec![0; length];
            conn.read_exact(&mut body)?;
            Ok((status, close))
        })();
        match result {
            Ok((status, close)) => {
                if close {
                    self.conn = None;
                }
                Ok(status)
            }
            Err(e) => {
                self.conn = None;
                Err(e)
            }
        }
    }
}

struct Answering {
    flows: f64,
    p50: f64,
    p99: f64,
    errors: usize,
}

/// `batch` respondents through link, first page and submit, `concurrency`
/// at a time, each client on its own kept-alive connection.
fn answering(
    addr: SocketAddr,
    key: &SecretKey,
    surveys: &[crate::survey::Survey],
    batch: &[String],
    concurrency: usize,
) -> Answering {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let latencies = std::sync::Mutex::new(Vec::new());
    let failed = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..concurrency {
            s.spawn(|| {
                let mut client = Client::new(addr);
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(inv) = batch.get(i) else { break };
                    let token = key.survey_token(inv);
                    let cookie = format!("naervaer_svar={token}");
                    let body = complete_form(surveys, i);
                    let mut flow = || -> std::io::Result<Option<f64>> {
                        let s1 = client.request("GET", &format!("/s/{token}"), "", "")?;
                        let s2 = client.request("GET", "/svar", &cookie, "")?;
                        let t = Instant::now();
                        let s3 = client.request("POST", "/svar", &cookie, &body)?;
                        let l = ms(t.elapsed());
                        Ok((s1 == 303 && s2 == 200 && s3 == 303).then_some(l))
                    };
                    match flow() {
                        Ok(Some(l)) => latencies.lock().unwrap_or_else(|e| e.into_inner()).push(l),
                        _ => {
                            failed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                }
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let mut lat = latencies.into_inner().unwrap_or_default();
    lat.sort_by(f64::total_cmp);
    let done = lat.len();
    let pct = |p: f64| percentile(&lat, p);
    Answering {
        flows: done as f64 / secs,
        p50: pct(0.5),
        p99: pct(0.99),
        errors: failed.into_inner(),
    }
}

/// Starts `naervaer serve` on `url` at a free loopback port.
fn start_serve(
    exe: &std::path::Path,
    url: &str,
    pool_size: usize,
    group_commit: bool,
) -> Result<(std::process::Child, SocketAddr), AppError> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut child = std::process::Command::new(exe)
        .arg("serve")
        .env("NAERVAER_DATABASE_URL", url)
        .env("NAERVAER_SECRET_KEY", KEY)
        .env("NAERVAER_BIND", addr.to_string())
        .env("NAERVAER_POOL_SIZE", pool_size.to_string())
        .env("NAERVAER_GROUP_COMMIT", group_commit.to_string())
        // Sending is off (no relay, no outbox folder): it would only
        // compete for the machine with what is measured here.
        .env("NAERVAER_LOG", "error")
        .env_remove("NAERVAER_SMTP_URL")
        .env_remove("NAERVAER_OUTBOX_DIR")
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(AppError::config("naervaer serve did not start"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((child, addr))
}

/// The `p` quantile (0..1) of sorted values, nearest rank; 0 when empty.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).copied().unwrap_or(0.0)
}

fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} cores, {model}")
}

/// A minimal SMTP server on loopback that accepts every message: the local
/// relay the sending figure is measured against. Returns its port and the
/// count of messages it has accepted.
fn smtp_sink() -> std::io::Result<(u16, std::sync::Arc<std::sync::atomic::AtomicUsize>)> {
    use std::io::BufRead;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counted = counted.clone();
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut out = stream.try_clone()?;
                let mut lines = std::io::BufReader::new(stream);
                out.write_all(b"220 naervaer-bench ESMTP\r\n")?;
                let mut line = String::new();
                let mut in_data = false;
                loop {
                    line.clear();
                    if lines.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if in_data {
                        if line == ".\r\n" {
                            in_data = false;
                            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            out.write_all(b"250 queued\r\n")?;
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-naervaer-bench\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
                        "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            out.write_all(b"221 bye\r\n")?;
                            return Ok(());
                        }
                        _ => b"502 not here\r\n",
                    };
                    out.write_all(reply)?;
                }
            });
        }
    });
    Ok((port, count))
}

/// `mails` invitations of a round through the outbox and the SMTP client
/// into the local SMTP server, with `workers` connections: messages/s.
fn sending(
    temp: &std::path::Path,
    mails: usize,
    workers: usize,
    runs: usize,
) -> Result<Vec<f64>, AppError> {
    let (url, mut conn) = empty_database(None, temp, &format!("mail-{workers}.db"))?;
    import_organisation(&mut conn, mails, (mails / 20).max(14), 13)?;
    let key = SecretKey::new(KEY)?;
    let round = new_round(&mut conn, "Utsending", 14)?;
    rounds::open(&mut conn, &key, &round.id)?;
    let (port, received) = smtp_sink()?;
    let env: std::collections::HashMap<String, String> = [
        ("NAERVAER_DATABASE_URL", url.clone()),
        ("NAERVAER_SMTP_URL", format!("smtp://127.0.0.1:{port}")),
        ("NAERVAER_SECRET_KEY", KEY.to_string()),
        ("NAERVAER_MAIL_RATE", "100000".to_string()),
        ("NAERVAER_MAIL_WORKERS", workers.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings = crate::config::Settings::from_sources(&env, None)?;
    let pool = db::open_pool(&url, 8)?;
    let mut rates = Vec::new();
    for _ in 0..runs {
        // Every message due again, as if just queued.
        diesel::update(crate::db::schema::outbox::table)
            .set((
                crate::db::schema::outbox::status.eq("pending"),
                crate::db::schema::outbox::attempts.eq(0),
                crate::db::schema::outbox::next_attempt_at.eq(0i64),
            ))
            .execute(&mut conn)?;
        let mailer = crate::mail::Mailer::from_settings(&settings)?;
        let before = received.load(std::sync::atomic::Ordering::SeqCst);
        let t = Instant::now();
        let report = crate::mail::outbox::send_due(&pool, &mailer, &settings, &key)?;
        let secs = t.elapsed().as_secs_f64();
        let arrived = received.load(std::sync::atomic::Ordering::SeqCst) - before;
        if report.sent != mails || arrived != mails {
            return Err(AppError::internal(format!(
                "sending: {} reported sent, {arrived} arrived, of {mails}",
                report.sent
            )));
        }
        rates.push(mails as f64 / secs);
    }
    Ok(rates)
}

/// Runs the whole benchmark; `progress` receives a line per step.
pub fn run(opts: &Options, mut progress: impl FnMut(&str)) -> Result<Report, AppError> {
    let temp = std::env::temp_dir().join(format!("naervaer-bench-{}", std::process::id()));
    std::fs::create_dir_all(&temp)?;
    let (url, mut conn) = empty_database(opts.database_url.as_deref(), &temp, "bench.db")?;
    let key = SecretKey::new(KEY)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(50);
    let mut figures = Vec::new();
    let (imported, t) = time(|| import_organisation(&mut conn, opts.employees, opts.units, 50));
    imported?;
    figures.push(Figure::of("import units + employees", "ms", vec![t]));
    progress(&format!("organisation imported in {t:.0} ms"));

    // Two closed rounds (the second is compared with the first).
    let mut closed = None;
    for (n, title) in ["Bench i fjor", "Bench i år"].iter().enumerate() {
        let round = new_round(&mut conn, title, 0)?;
        rounds::open(&mut conn, &key, &round.id)?;
        let round = rounds::Round::find(&mut conn, &round.id)?;
        let surveys = round.surveys(&mut conn)?;
        let invs = invitations_of(&mut conn, &round.id)?;
        let mut answered = 0;
        for inv in &invs {
            if rng.gen_bool(0.7) {
                let a = random_answers(&mut rng, &surveys);
                answer::submit(
                    &mut conn,
                    &lookup_hash(&key.survey_token(inv)),
                    &surveys,
                    &a,
                )?;
                answered += 1;
            }
        }
        let (_, t) = time(|| rounds::close(&mut conn, &round.id, true));
        if n == 1 {
            figures.push(Figure::of(
                "close a round (rewrite, snapshot, compaction)",
                "ms",
                vec![t],
            ));
        }
        progress(&format!("{title}: {answered} answers, closed in {t:.0} ms"));
        closed = Some(round.id);
    }
    let closed = rounds::Round::find(&mut conn, &closed.unwrap_or_default())?;

    // 24 months of absence per unit, through the importer.
    let end = closed.closes_on_date();
    let mut csv = String::from("unit_code;period_start;period_end;agreed_workdays;lost_workdays\n");
    let mut month = chrono::NaiveDate::from_ymd_opt(
        chrono::Datelike::year(&end) - 2,
        chrono::Datelike::month(&end),
        1,
    )
    .unwrap_or(end);
    for _ in 0..24 {
        let next = month + chrono::Months::new(1);
        let last = next - chrono::Duration::days(1);
        for i in 0..opts.units {
            let agreed = rng.gen_range(20.0..400.0f64).round();
            let lost = (agreed * rng.gen_range(0.02..0.12f64)).round();
            csv += &format!("U{i};{month};{last};{agreed};{lost}\n");
        }
        month = next;
    }
    import::import(
        &mut conn,
        import::Kind::Absence,
        "a.csv",
        csv.as_bytes(),
        false,
    )
    .map_err(|e| AppError::internal_by("importing the benchmark's own files", e))?;
    progress("24 months of absence imported");

    let runs = opts.runs.max(1);
    let mut build = Vec::new();
    for _ in 0..runs {
        build.push(time(|| snapshot::build(&mut conn, &closed)).1);
    }
    figures.push(Figure::of("snapshot of a closed round", "ms", build));

    // The engine alone, on the round's group tree.
    let tree: Vec<(String, String, Option<String>)> = units::table
        .select((units::id, units::code, units::parent_id))
        .load(&mut conn)?;
    let counts: std::collections::HashMap<String, i64> = responses::table
        .filter(responses::round_id.eq(&closed.id))
        .group_by(responses::unit_id)
        .select((responses::unit_id, diesel::dsl::count_star()))
        .load::<(String, i64)>(&mut conn)?
        .into_iter()
        .collect();
    let index: std::collections::HashMap<&str, usize> = tree
        .iter()
        .enumerate()
        .map(|(i, u)| (u.0.as_str(), i))
        .collect();
    let nodes: Vec<snapshot::anonymity::Node> = tree
        .iter()
        .map(|(id, code, parent)| snapshot::anonymity::Node {
            id: code.clone(),
            parent: parent.as_deref().and_then(|p| index.get(p).copied()),
            direct: counts.get(id).copied().unwrap_or(0) as u32,
        })
        .collect();
    let mut engine = Vec::new();
    for _ in 0..runs {
        engine.push(time(|| snapshot::anonymity::release(&nodes, 5)).1);
    }
    figures.push(Figure::of("anonymity engine (groups)", "ms", engine));

    // As in the service: the scores are parsed once and kept in its cache
    // (the first run parses them).
    let cache = crate::cache::Cache::default();
    let mut analyse = Vec::new();
    for _ in 0..runs {
        analyse.push(
            time(|| {
                analysis::run(
                    &mut conn,
                    &cache,
                    &closed.id,
                    analysis::Window::Before,
                    None,
                    crate::lang::Lang::Nb,
                )
            })
            .1,
        );
    }
    figures.push(Figure::of("AMU analysis (in process)", "ms", analyse));
    let exe = std::env::current_exe()?;
    let mut whole = Vec::new();
    for _ in 0..runs {
        let (out, t) = time(|| {
            std::process::Command::new(&exe)
                .args(["analyse", "--round", &closed.id, "--format", "json"])
                .env("NAERVAER_DATABASE_URL", &url)
                .env("NAERVAER_LOG", "warn")
                .output()
        });
        let out = out?;
        if !out.status.success() {
            return Err(AppError::internal(String::from_utf8_lossy(&out.stderr)));
        }
        whole.push(t);
    }
    figures.push(Figure::of("naervaer analyse, whole process", "ms", whole));
    progress("results and analysis timed");

    // The service, as its own process: first the leader page, then the
    // answering flow with one commit per answer and with group commit.
    let pool_size = opts.concurrency.clamp(4, 16);
    let (mut serve, addr) = start_serve(&exe, &url, pool_size, true)?;
    let result = (|| -> Result<(), AppError> {
        let leader: String = crate::db::schema::unit_leaders::table
            .select(crate::db::schema::unit_leaders::employee_id)
            .first(&mut conn)?;
        let unit: String = crate::db::schema::unit_leaders::table
            .filter(crate::db::schema::unit_leaders::employee_id.eq(&leader))
            .select(crate::db::schema::unit_leaders::unit_id)
            .first(&mut conn)?;
        let token = crate::auth::link_token_for(&mut conn, &leader)?;
        let (_, signed) = request(addr, "POST", &format!("/innlogging/{token}"), "", "")?;
        let cookie = signed
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().split(';').next().unwrap_or("").to_string())
            .unwrap_or_default();
        let path = format!("/resultater/{}/{unit}", closed.id);
        let mut client = Client::new(addr);
        let status = client.request("GET", &path, &cookie, "")?; // warms the cache
        if status != 200 {
            return Err(AppError::internal(format!(
                "the leader page answered {status}"
            )));
        }
        let mut page = Vec::new();
        for _ in 0..runs.max(5) {
            page.push(time(|| client.request("GET", &path, &cookie, "")).1);
        }
        figures.push(Figure::of("leader page over HTTP", "ms", page));
        progress("leader page timed");
        Ok(())
    })();
    let _ = serve.kill();
    let _ = serve.wait();
    result?;

    let round = new_round(&mut conn, "Bench nå", 14)?;
    rounds::open(&mut conn, &key, &round.id)?;
    let round = rounds::Round::find(&mut conn, &round.id)?;
    let surveys = round.surveys(&mut conn)?;
    let invs = invitations_of(&mut conn, &round.id)?;
    // Per mode, `respondents` through HTTP and as many directly; each run
    // takes its own share.
    let n = opts.respondents.min(invs.len() / 4);
    let share = n.div_ceil(runs).max(1);
    let mut rss: f64 = 0.0;
    for (mode, group_commit) in [("one commit per answer", false), ("group commit", true)] {
        let offset = if group_commit { 2 * n } else { 0 };
        let (http_part, raw_part) = (&invs[offset..offset + n], &invs[offset + n..offset + 2 * n]);
        let (mut serve, addr) = start_serve(&exe, &url, pool_size, group_commit)?;
        let measured = (|| -> Result<_, AppError> {
            let (mut flows, mut p50, mut p99, mut raws, mut errors) =
                (vec![], vec![], vec![], vec![], 0);
            for (run, batch) in http_part.chunks(share).enumerate() {
                let a = answering(addr, &key, &surveys, batch, opts.concurrency);
                flows.push(a.flows);
                p50.push(a.p50);
                p99.push(a.p99);
                errors += a.errors;
                // The same durable transaction, called directly, one at a
                // time, on as many other invitations.
                let raw_batch = &raw_part[(run * share).min(n)..((run + 1) * share).min(n)];
                let t = Instant::now();
                for (i, inv) in raw_batch.iter().enumerate() {
                    let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(i as u64);
                    let a = random_answers(&mut r, &surveys);
                    answer::submit(
                        &mut conn,
                        &lookup_hash(&key.survey_token(inv)),
                        &surveys,
                        &a,
                    )?;
                }
                raws.push(raw_batch.len() as f64 / t.elapsed().as_secs_f64());
            }
            Ok((flows, p50, p99, raws, errors))
        })();
        rss = rss.max(peak_rss_mb(serve.id()).unwrap_or(0.0));
        let _ = serve.kill();
        let _ = serve.wait();
        let (flows, p50, p99, raws, errors) = measured?;
        let ratio: Vec<f64> = flows.iter().zip(&raws).map(|(f, r)| f / r).collect();
        let f = Figure::of("", "", flows.clone()).median;
        let r = Figure::of("", "", raws.clone()).median;
        let c = opts.concurrency;
        figures.push(Figure::of(
            &format!("answering flows, {c} concurrent, {mode}"),
            "flows/s",
            flows,
        ));
        figures.push(Figure::of(
            &format!("submit latency p50, {mode}"),
            "ms",
            p50,
        ));
        figures.push(Figure::of(
            &format!("submit latency p99, {mode}"),
            "ms",
            p99,
        ));
        figures.push(Figure::of(
            &format!("raw durable answer transaction, direct ({mode} run)"),
            "per s",
            raws,
        ));
        figures.push(Figure::of(
            &format!("answering flows ÷ raw rate, {mode}"),
            "ratio",
            ratio,
        ));
        figures.push(Figure::of(
            &format!("answering errors, {mode}"),
            "count",
            vec![errors as f64],
        ));
        progress(&format!("answering, {mode}: {f:.0} flows/s, raw {r:.0}/s"));
    }
    figures.push(Figure::of("naervaer serve peak RSS", "MB", vec![rss]));

    // Sending: the invitations of a round of `mails` people into a local
    // SMTP server, on one connection and with the default 16.
    for workers in [1, 16] {
        let rates = sending(&temp, opts.mails, workers, runs.min(3))?;
        let r = Figure::of("", "", rates.clone()).median;
        figures.push(Figure::of(
            &format!(
                "sending {} invitations by SMTP, {workers} connection{}",
                opts.mails,
                if workers == 1 { "" } else { "s" }
            ),
            "messages/s",
            rates,
        ));
        progress(&format!(
            "sending with {workers} connection(s): {r:.0} messages/s"
        ));
    }
    if opts.database_url.is_none() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    Ok(Report {
        employees: opts.employees,
        units: opts.units,
        database: url.split(':').next().unwrap_or("").to_string(),
        machine: machine(),
        figures,
    })
}

/// The report as an aligned text table.
pub fn table(r: &Report) -> String {
    let mut s = format!(
        "naervaer bench: {} employees, {} units, {} — {}\n\n",
        r.employees, r.units, r.database, r.machine
    );
    let w = r
        .figures
        .iter()
        .map(|f| f.what.chars().count())
        .max()
        .unwrap_or(10);
    s += &format!(
        "{:<w$}  {:>10}  {:>10}  {:>10}  {:>4}  unit\n",
        "what", "median", "min", "max", "runs"
    );
    for f in &r.figures {
        s += &format!(
            "{:<w$}  {:>10.2}  {:>10.2}  {:>10.2}  {:>4}  {}\n",
            f.what, f.median, f.min, f.max, f.runs, f.unit
        );
    }
    s
}

/// `naervaer bench --hold SECONDS`: `clients` respondents at once for
/// `seconds`, on loopback, each going through link, page and submit again
/// and again (an invitation already answered is answered «already
/// answered», as a second click would be). Counts errors and samples the
/// server's memory every five seconds.
pub fn hold(
    opts: &Options,
    clients: usize,
    seconds: u64,
    mut progress: impl FnMut(&str),
) -> Result<Report, AppError> {
    let temp = std::env::temp_dir().join(format!("naervaer-hold-{}", std::process::id()));
    std::fs::create_dir_all(&temp)?;
    let (url, mut conn) = empty_database(opts.database_url.as_deref(), &temp, "hold.db")?;
    import_organisation(&mut conn, opts.employees, opts.units, 7)?;
    let key = SecretKey::new(KEY)?;
    let round = new_round(&mut conn, "Holdetest", 14)?;
    rounds::open(&mut conn, &key, &round.id)?;
    let round = rounds::Round::find(&mut conn, &round.id)?;
    let surveys = round.surveys(&mut conn)?;
    let invs = invitations_of(&mut conn, &round.id)?;
    drop(conn);
    let exe = std::env::current_exe()?;
    let (mut serve, addr) = start_serve(&exe, &url, 16, true)?;
    progress(&format!("{clients} clients for {seconds} s against {addr}"));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (flows, errors) = (
        std::sync::atomic::AtomicUsize::new(0),
        std::sync::atomic::AtomicUsize::new(0),
    );
    let latencies = std::sync::Mutex::new(Vec::new());
    let mut rss = Vec::new();
    let pid = serve.id();
    std::thread::scope(|s| {
        for c in 0..clients {
            let (invs, key, surveys) = (&invs, &key, &surveys);
            let (stop, flows, errors, latencies) = (&stop, &flows, &errors, &latencies);
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn_scoped(s, move || {
                    let mut client = Client::new(addr);
                    let mut mine = Vec::new();
                    let mut k = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let inv = &invs[(c + k * clients) % invs.len()];
                        k += 1;
                        let token = key.survey_token(inv);
                        let cookie = format!("naervaer_svar={token}");
                        let body = complete_form(surveys, k);
                        let mut flow = || -> std::io::Result<bool> {
                            let s1 = client.request("GET", &format!("/s/{token}"), "", "")?;
                            let s2 = client.request("GET", "/svar", &cookie, "")?;
                            let t = Instant::now();
                            let s3 = client.request("POST", "/svar", &cookie, &body)?;
                            mine.push(ms(t.elapsed()));
                            // Once answered, the link and the page say so
                            // (200) instead of leading on (303): an error is
                            // anything else, or no answer at all.
                            Ok([s1, s2, s3].iter().all(|s| *s == 200 || *s == 303))
                        };
                        match flow() {
                            Ok(true) => flows.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                            _ => errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                        };
                    }
                    latencies
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend(mine);
                })
                .expect("a client thread");
        }
        let started = Instant::now();
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_secs(5).min(deadline - Instant::now()));
            let now = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
                })
                .map(|kb| kb / 1024.0)
                .unwrap_or(0.0);
            rss.push((started.elapsed().as_secs_f64(), now));
            progress(&format!(
                "{:>4.0} s: {} flows, {} errors, server RSS {now:.1} MB",
                started.elapsed().as_secs_f64(),
                flows.load(std::sync::atomic::Ordering::Relaxed),
                errors.load(std::sync::atomic::Ordering::Relaxed)
            ));
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let peak = peak_rss_mb(pid).unwrap_or(0.0);
    let _ = serve.kill();
    let _ = serve.wait();
    if opts.database_url.is_none() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    let mut lat = latencies.into_inner().unwrap_or_default();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| percentile(&lat, p);
    // Memory after the first half minute (warm) against the end.
    let warm = rss
        .iter()
        .find(|(t, _)| *t >= 30.0)
        .or(rss.first())
        .map(|(_, m)| *m)
        .unwrap_or(0.0);
    let last = rss.last().map(|(_, m)| *m).unwrap_or(0.0);
    let done = flows.into_inner();
    let figures = vec![
        Figure::of(
            &format!("flows with {clients} clients held"),
            "flows/s",
            vec![done as f64 / seconds as f64],
        ),
        Figure::of("submit latency p50", "ms", vec![pct(0.5)]),
        Figure::of("submit latency p99", "ms", vec![pct(0.99)]),
        Figure::of("errors", "count", vec![errors.into_inner() as f64]),
        Figure::of("server RSS, warm (30 s)", "MB", vec![warm]),
        Figure::of("server RSS, at the end", "MB", vec![last]),
        Figure::of("server peak RSS", "MB", vec![peak]),
    ];
    Ok(Report {
        employees: opts.employees,
        units: opts.units,
        database: url.split(':').next().unwrap_or("").to_string(),
        machine: machine(),
        figures,
    })
}
