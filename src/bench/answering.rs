//! Answering under load: `naervaer serve` as its own process, and
//! respondents through link, first page and submit against it.

use super::http::Client;
use super::municipality::complete_form;
use super::{ms, KEY};
use crate::crypto::SecretKey;
use crate::AppError;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub struct Answering {
    pub flows: f64,
    pub p50: f64,
    pub p99: f64,
    pub errors: usize,
}

/// `batch` respondents through link, first page and submit, `concurrency`
/// at a time, each client on its own kept-alive connection.
pub fn answering(
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

/// The server on one CPU and the load generator on another, through
/// util-linux's `taskset` (a direct `sched_setaffinity` would need
/// `unsafe`, which this code forbids).
pub struct Pinning {
    /// The CPU `naervaer serve` runs on.
    pub server: String,
    /// The CPU the respondents' threads run on.
    pub load: String,
    /// What this process could run on before.
    all: String,
}

impl Pinning {
    /// The first two CPUs this process may run on, or why not.
    pub fn two_cpus() -> Result<Pinning, String> {
        let out = std::process::Command::new("taskset")
            .args(["-c", "-p", &std::process::id().to_string()])
            .output()
            .map_err(|e| format!("taskset: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        // "pid 123's current affinity list: 0,1" (or "0-3", "0,2-5").
        let all = text
            .rsplit_once(':')
            .map(|(_, l)| l.trim().to_string())
            .filter(|l| out.status.success() && !l.is_empty())
            .ok_or_else(|| format!("taskset said {text:?}"))?;
        let mut cpus: Vec<u32> = Vec::new();
        for part in all.split(',') {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            match (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
                (Ok(a), Ok(b)) => cpus.extend((a..=b).take(2)),
                _ => return Err(format!("taskset said {text:?}")),
            }
        }
        cpus.truncate(2);
        match cpus[..] {
            [server, load] => Ok(Pinning {
                server: server.to_string(),
                load: load.to_string(),
                all,
            }),
            _ => Err(format!("one CPU to run on ({all})")),
        }
    }

    /// Every thread of this process, and those it starts later, on the
    /// load generator's CPU (`true`) or back on all it had (`false`).
    pub fn load_here(&self, pinned: bool) -> Result<(), AppError> {
        let cpus = if pinned { &self.load } else { &self.all };
        // taskset sets each thread in turn; a thread that ends meanwhile
        // (a client of the run before, a pool's helper) fails the whole
        // command with "No such process". Once a run finds every thread it
        // lists, every live thread is set.
        let mut last = String::new();
        for _ in 0..5 {
            let out = std::process::Command::new("taskset")
                .args(["-a", "-p", "-c", cpus, &std::process::id().to_string()])
                .output()?;
            if out.status.success() {
                return Ok(());
            }
            last = format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(AppError::internal(format!("taskset -c {cpus}: {last}")))
    }
}

/// Starts `naervaer serve` on `url` at a free loopback port; with `cpu`,
/// on that CPU only.
pub fn start_serve(
    exe: &std::path::Path,
    url: &str,
    pool_size: usize,
    group_commit: bool,
    cpu: Option<&str>,
) -> Result<(std::process::Child, SocketAddr), AppError> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    // taskset runs the program in its own place: the child's id is the
    // server's.
    let mut command = match cpu {
        Some(cpu) => {
            let mut c = std::process::Command::new("taskset");
            c.args(["-c", cpu]).arg(exe);
            c
        }
        None => std::process::Command::new(exe),
    };
    let mut child = command
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
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).copied().unwrap_or(0.0)
}

pub fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
