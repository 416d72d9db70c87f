//! Prometheus metrics of this process (prometheus-client, OpenMetrics text).
//!
//! What is counted where it happens lives in one process-wide [`Metrics`]
//! ([`get`]); what is a state (the outbox's depth, the cache, the pool) is
//! read when scraped and passed to [`render`] as a [`State`].
//!
//! No label ever holds a token, a person, a unit or a round: routes are
//! the route table's patterns (`/s/{token}`, never the path), and the
//! only other labels are methods, statuses, channels, outcomes and states.
//! So nothing below k, and nothing personal, can reach a scrape.

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use std::sync::OnceLock;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route's pattern, or `unmatched`.
    pub route: String,
    pub method: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MailLabels {
    /// `email` or `sms`.
    pub channel: &'static str,
    /// `sent`, `retrying` (failed, will be tried again) or `failed` (given up).
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    /// `code` (failed one-time codes) or `sign_in` (sign-in link requests).
    pub limit: &'static str,
}

/// What is counted as it happens.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<RouteLabels, Histogram>,
    pub answers_stored: Counter,
    pub answer_batch: Histogram,
    pub answer_queue_full: Counter,
    pub mail: Family<MailLabels, Counter>,
    pub snapshot_seconds: Histogram,
    pub analysis_seconds: Histogram,
    pub pool_wait_seconds: Histogram,
    pub pool_timeouts: Counter,
    pub limited: Family<LimitLabels, Counter>,
}

/// Seconds from 0.5 ms to ~30 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 17))
}

/// Seconds from 10 ms to ~3 min: snapshots and analyses.
fn long() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 15))
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("naervaer");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status",
            requests.clone(),
        );
        let request_seconds =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency as fn() -> Histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request",
            Unit::Seconds,
            request_seconds.clone(),
        );
        let answers_stored = Counter::default();
        registry.register(
            "answers_stored",
            "Questionnaires answered and stored (acknowledged)",
            answers_stored.clone(),
        );
        let answer_batch = Histogram::new(exponential_buckets(1.0, 2.0, 7));
        registry.register(
            "answer_commit_batch_size",
            "Answers made durable by one commit (group commit)",
            answer_batch.clone(),
        );
        let answer_queue_full = Counter::default();
        registry.register(
            "answer_queue_full",
            "Answers that found the group commit's queue full and waited for room",
            answer_queue_full.clone(),
        );
        let mail = Family::<MailLabels, Counter>::default();
        registry.register(
            "messages",
            "Messages handed to the relay (sent) or not (retrying, failed), by channel",
            mail.clone(),
        );
        let snapshot_seconds = long();
        registry.register_with_unit(
            "snapshot_duration",
            "Time to compute and store a closed round's snapshot",
            Unit::Seconds,
            snapshot_seconds.clone(),
        );
        let analysis_seconds = long();
        registry.register_with_unit(
            "analysis_duration",
            "Time to compute an AMU analysis (not served from the cache)",
            Unit::Seconds,
            analysis_seconds.clone(),
        );
        let pool_wait_seconds = latency();
        registry.register_with_unit(
            "db_pool_wait",
            "Time a request waited for a database connection",
            Unit::Seconds,
            pool_wait_seconds.clone(),
        );
        let pool_timeouts = Counter::default();
        registry.register(
            "db_pool_timeouts",
            "Requests that got no database connection in time",
            pool_timeouts.clone(),
        );
        let limited = Family::<LimitLabels, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit",
            limited.clone(),
        );
        registry.register(
            "build",
            "The running version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            answers_stored,
            answer_batch,
            answer_queue_full,
            mail,
            snapshot_seconds,
            analysis_seconds,
            pool_wait_seconds,
            pool_timeouts,
            limited,
        }
    }

    /// `n` messages of `channel` (`email` or `sms`) with `outcome`.
    pub fn mail(&self, channel: &str, outcome: &'static str, n: u64) {
        if n > 0 {
            self.mail
                .get_or_create(&MailLabels {
                    channel: if channel == "sms" { "sms" } else { "email" },
                    outcome,
                })
                .inc_by(n);
        }
    }

    pub fn limited(&self, limit: &'static str) {
        self.limited.get_or_create(&LimitLabels { limit }).inc();
    }
}

/// The process's metrics.
pub fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// Times `work` into `histogram`.
pub fn timed<T>(histogram: &Histogram, work: impl FnOnce() -> T) -> T {
    let started = std::time::Instant::now();
    let out = work();
    histogram.observe(started.elapsed().as_secs_f64());
    out
}

/// What is read when scraped.
#[derive(Debug, Default, Clone)]
pub struct State {
    /// (channel, state, messages): `email` and `sms`, each with pending,
    /// retrying, sending, sent, failed.
    pub outbox: Vec<(&'static str, String, i64)>,
    /// (hits, misses, entries, bytes) of the service's cache.
    pub cache: Option<(u64, u64, usize, usize)>,
    /// (connections, idle) of this process's pool.
    pub pool: (u32, u32),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboxLabels {
    channel: &'static str,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

/// The scrape: the counted metrics and `state`, as OpenMetrics text.
pub fn render(state: &State) -> String {
    let mut now = Registry::with_prefix("naervaer");
    let outbox = Family::<OutboxLabels, Gauge>::default();
    for (channel, s, n) in &state.outbox {
        outbox
            .get_or_create(&OutboxLabels {
                channel,
                state: s.clone(),
            })
            .set(*n);
    }
    now.register(
        "outbox_messages",
        "Messages in the outbox by channel and state (all nodes: read from the database)",
        outbox,
    );
    if let Some((hits, misses, entries, bytes)) = state.cache {
        now.register(
            "cache_hits",
            "Lookups the cache answered",
            ConstCounter::new(hits),
        );
        now.register(
            "cache_misses",
            "Lookups the cache could not answer",
            ConstCounter::new(misses),
        );
        now.register(
            "cache_entries",
            "Entries in the cache",
            ConstGauge::new(entries as i64),
        );
        now.register_with_unit(
            "cache_size",
            "Weight of the cache's entries",
            Unit::Bytes,
            ConstGauge::new(bytes as i64),
        );
    }
    let pool = Family::<PoolLabels, Gauge>::default();
    let (connections, idle) = state.pool;
    pool.get_or_create(&PoolLabels { state: "idle" })
        .set(i64::from(idle));
    pool.get_or_create(&PoolLabels { state: "in_use" })
        .set(i64::from(connections.saturating_sub(idle)));
    now.register(
        "db_pool_connections",
        "This process's database connections",
        pool,
    );
    let mut out = String::new();
    encode_registry(&mut out, &get().registry).expect("writing to a String");
    encode_registry(&mut out, &now).expect("writing to a String");
    encode_eof(&mut out).expect("writing to a String");
    out
}

/// The media type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
