//! `naervaer bench --hold`: many respondents at once for a set time.

use super::answering::{peak_rss_mb, percentile, start_serve};
use super::http::Client;
use super::municipality::{
    complete_form, empty_database, import_organisation, invitations_of, new_round,
};
use super::{machine, ms, Figure, Options, Report, KEY};
use crate::crypto::SecretKey;
use crate::{rounds, AppError};
use std::time::{Duration, Instant};

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
    let (mut serve, addr) = start_serve(&exe, &url, 16, true, None)?;
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
