//! Answering throughput: the real flow over loopback HTTP (the e-mailed link,
//! the first page, the submit of a complete questionnaire) from concurrent
//! respondents, and beside it the same durable transaction called directly.
//!
//!     cargo bench --bench answering -- [RESPONDENTS] [CONCURRENCY] [sqlite|postgres URL]
//!
//! Figures, not pass/fail: see the README's performance section.

use naervaer::config::Settings;
use naervaer::rounds::answer::{self, Answers};
use naervaer::rounds::tokens::{lookup_hash, SecretKey};
use naervaer::{db, demo, import, rounds, web};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "bench-key-0123456789abcdef0123456789abcdef";

fn request(addr: SocketAddr, head: &str, body: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    write!(
        s,
        "{head}Host: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn organisation(conn: &mut db::DbConnection, people: usize) {
    let units = "unit_code;parent_code;name\n1;;Kommune\n2;1;Helse\n3;1;Oppvekst\n4;2;Sykehjem\n5;3;Skole\n";
    import::import(conn, import::Kind::Units, "u.csv", units.as_bytes(), false).unwrap();
    let mut text = String::from("employee_id;name;email;unit_code\n");
    for i in 0..people {
        text += &format!("{i};P {i};p{i}@x.no;{}\n", 1 + i % 5);
    }
    import::import(
        conn,
        import::Kind::Employees,
        "e.csv",
        text.as_bytes(),
        false,
    )
    .unwrap();
}

fn open_round(conn: &mut db::DbConnection, key: &SecretKey) -> (rounds::Round, Vec<String>) {
    let today = rounds::today();
    let round = rounds::create(
        conn,
        5,
        rounds::NewRound {
            title: "Bench".into(),
            surveys: vec![demo::SURVEY_10_FAKTOR.into(), demo::SURVEY_MODULE.into()],
            unit_code: None,
            opens_on: today,
            closes_on: today + chrono::Duration::days(7),
            min_group_size: 5,
        },
    )
    .unwrap();
    rounds::open(conn, key, &round.id).unwrap();
    use diesel::prelude::*;
    use naervaer::db::schema::invitations;
    let ids = invitations::table
        .filter(invitations::round_id.eq(&round.id))
        .select(invitations::id)
        .load(conn)
        .unwrap();
    (round, ids)
}

fn full_answers(surveys: &[naervaer::survey::Survey], n: usize) -> Answers {
    let mut a = Answers::default();
    for s in surveys {
        for (i, item) in s.items.iter().enumerate() {
            a.items
                .insert(answer::item_field(s, &item.key), ((n + i) % 5 + 1) as u8);
        }
        for b in &s.background {
            a.background.insert(
                answer::background_field(s, &b.key),
                b.options[n % b.options.len()].key.clone(),
            );
        }
    }
    a
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .init();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let respondents: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(4000);
    let concurrency: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(32);
    let dir = tempfile::tempdir().unwrap();
    let url = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let key = SecretKey::new(KEY).unwrap();
    let env: HashMap<String, String> = [
        ("NAERVAER_DATABASE_URL", url.as_str()),
        ("NAERVAER_SECRET_KEY", KEY),
        ("NAERVAER_POOL_SIZE", "8"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let settings = Settings::from_sources(&env, None).unwrap();
    let pool = db::open_pool(&url, settings.pool_size).unwrap();
    let (round, ids, raw_ids) = {
        let mut conn = pool.get().unwrap();
        organisation(&mut conn, respondents * 2);
        let (round, ids) = open_round(&mut conn, &key);
        let (a, b) = ids.split_at(respondents);
        (round, a.to_vec(), b.to_vec())
    };
    let surveys = {
        let mut conn = pool.get().unwrap();
        round.surveys(&mut conn).unwrap()
    };
    let last_page = answer::pages(&surveys).len() - 1;

    // The raw durable transaction, one at a time, on the same database.
    let raw_n = raw_ids.len().min(2000);
    let started = Instant::now();
    {
        let mut conn = pool.get().unwrap();
        for (i, inv) in raw_ids.iter().take(raw_n).enumerate() {
            let r = answer::submit(
                &mut conn,
                &lookup_hash(&key.survey_token(inv)),
                &surveys,
                &full_answers(&surveys, i),
            )
            .unwrap();
            assert_eq!(r, answer::Submitted::Stored);
        }
    }
    let raw_rate = raw_n as f64 / started.elapsed().as_secs_f64();

    let state = web::AppState::new(pool, settings).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        actix_web::rt::System::new()
            .block_on(async move { web::run(listener, state).unwrap().await })
    });
    std::thread::sleep(Duration::from_millis(200));

    let next = Arc::new(AtomicUsize::new(0));
    let submit_ms = Arc::new(Mutex::new(Vec::with_capacity(respondents)));
    let flow_ms = Arc::new(Mutex::new(Vec::with_capacity(respondents)));
    let ids = Arc::new(ids);
    let surveys = Arc::new(surveys);
    let started = Instant::now();
    let threads: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, submit_ms, flow_ms, ids, surveys, key) = (next.clone(), submit_ms.clone(), flow_ms.clone(), ids.clone(), surveys.clone(), key.clone());
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= ids.len() {
                    return;
                }
                let t0 = Instant::now();
                let r = request(addr, &format!("GET /s/{} HTTP/1.1\r\n", key.survey_token(&ids[i])), "");
                let cookie = r.lines().find_map(|l| l.strip_prefix("set-cookie: ")).expect("cookie").split(';').next().unwrap().to_string();
                let page = request(addr, &format!("GET /svar HTTP/1.1\r\nCookie: {cookie}\r\n"), "");
                assert!(page.starts_with("HTTP/1.1 200"));
                let a = full_answers(&surveys, i);
                let mut form: Vec<(String, String)> = a.items.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
                form.extend(a.background.iter().map(|(k, v)| (k.clone(), v.clone())));
                form.push(("page".into(), last_page.to_string()));
                form.push(("go".into(), "submit".into()));
                let body = serde_urlencoded::to_string(&form).unwrap();
                let t1 = Instant::now();
                let r = request(
                    addr,
                    &format!("POST /svar HTTP/1.1\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"),
                    &body,
                );
                assert!(r.starts_with("HTTP/1.1 303"), "{r}");
                let t2 = Instant::now();
                submit_ms.lock().unwrap().push((t2 - t1).as_secs_f64() * 1000.0);
                flow_ms.lock().unwrap().push((t2 - t0).as_secs_f64() * 1000.0);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let mut s = submit_ms.lock().unwrap().clone();
    let mut f = flow_ms.lock().unwrap().clone();
    s.sort_by(|a, b| a.total_cmp(b));
    f.sort_by(|a, b| a.total_cmp(b));
    let backend = if url.starts_with("sqlite") {
        "sqlite (synchronous=FULL)"
    } else {
        "postgres"
    };
    println!("backend                     {backend}");
    println!("respondents × concurrency   {respondents} × {concurrency}");
    println!(
        "completed flows/s           {:.0}   (link → page → submit)",
        respondents as f64 / secs
    );
    println!(
        "submit latency p50 / p99    {:.1} ms / {:.1} ms",
        percentile(&s, 0.5),
        percentile(&s, 0.99)
    );
    println!(
        "flow latency p50 / p99      {:.1} ms / {:.1} ms",
        percentile(&f, 0.5),
        percentile(&f, 0.99)
    );
    println!(
        "raw durable submit/s        {raw_rate:.0}   (same transaction, direct, one at a time)"
    );
    println!(
        "flows / raw                 {:.2}",
        respondents as f64 / secs / raw_rate
    );
}
