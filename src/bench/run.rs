//! `naervaer bench`: every figure, step by step.

use super::answering::{answering, peak_rss_mb, start_serve};
use super::http::{request, Client};
use super::municipality::{
    empty_database, import_organisation, invitations_of, new_round, random_answers,
};
use super::sending::sending;
use super::{machine, time, Figure, Options, Report, KEY};
use crate::crypto::{lookup_hash, SecretKey};
use crate::db::schema::{responses, units};
use crate::rounds::answer;
use crate::{analysis, import, rounds, snapshot, AppError};
use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use std::time::Instant;

/// What the steps share: the options, the database, the key, the random
/// numbers and the figures so far.
struct Bench<'a> {
    opts: &'a Options,
    url: String,
    conn: crate::db::DbConnection,
    key: SecretKey,
    rng: rand_chacha::ChaCha8Rng,
    runs: usize,
    exe: std::path::PathBuf,
    temp: std::path::PathBuf,
    figures: Vec<Figure>,
    /// The absence file imported, for the analyst comparison.
    absence_csv: String,
    progress: &'a mut dyn FnMut(&str),
}

/// Runs the whole benchmark; `progress` receives a line per step.
pub fn run(opts: &Options, mut progress: impl FnMut(&str)) -> Result<Report, AppError> {
    let temp = std::env::temp_dir().join(format!("naervaer-bench-{}", std::process::id()));
    std::fs::create_dir_all(&temp)?;
    let (url, conn) = empty_database(opts.database_url.as_deref(), &temp, "bench.db")?;
    let mut b = Bench {
        opts,
        url,
        conn,
        key: SecretKey::new(KEY)?,
        rng: rand_chacha::ChaCha8Rng::seed_from_u64(50),
        runs: opts.runs.max(1),
        exe: std::env::current_exe()?,
        temp,
        figures: Vec::new(),
        absence_csv: String::new(),
        progress: &mut progress,
    };
    b.organisation()?;
    let closed = b.closed_rounds()?;
    b.absence(&closed)?;
    b.snapshot_and_engine(&closed)?;
    b.analysis(&closed)?;
    b.analyst(&closed)?;
    b.follow_up(&closed)?;
    b.leader_page(&closed)?;
    b.answering()?;
    b.claiming()?;
    b.sending()?;
    if opts.database_url.is_none() {
        let _ = std::fs::remove_dir_all(&b.temp);
    }
    Ok(Report {
        employees: opts.employees,
        units: opts.units,
        database: b.url.split(':').next().unwrap_or("").to_string(),
        machine: machine(),
        figures: b.figures,
    })
}

impl Bench<'_> {
    fn note(&mut self, line: &str) {
        (self.progress)(line);
    }

    /// Importing the organisation.
    fn organisation(&mut self) -> Result<(), AppError> {
        let (imported, t) =
            time(|| import_organisation(&mut self.conn, self.opts.employees, self.opts.units, 50));
        imported?;
        self.figures
            .push(Figure::of("import units + employees", "ms", vec![t]));
        self.note(&format!("organisation imported in {t:.0} ms"));
        Ok(())
    }

    /// Two closed rounds, 70 % answering (the second is compared with the
    /// first); closing the second is timed. Returns the second.
    fn closed_rounds(&mut self) -> Result<rounds::Round, AppError> {
        let mut closed = None;
        let mut closes = Vec::new();
        for (n, title) in ["Bench i fjor", "Bench i år"].iter().enumerate() {
            let round = new_round(&mut self.conn, title, 0)?;
            rounds::open(&mut self.conn, &self.key, &round.id)?;
            let round = rounds::Round::find(&mut self.conn, &round.id)?;
            let surveys = round.surveys(&mut self.conn)?;
            let invs = invitations_of(&mut self.conn, &round.id)?;
            let mut answered = 0;
            for inv in &invs {
                if self.rng.gen_bool(0.7) {
                    let a = random_answers(&mut self.rng, &surveys);
                    let hash = lookup_hash(&self.key.survey_token(inv));
                    answer::submit(&mut self.conn, &hash, &surveys, &a)?;
                    answered += 1;
                }
            }
            // The released figures must not depend on how the rows are
            // stored: the snapshot of the rows as answered, byte for byte,
            // is the one the close stores after rewriting and coarsening.
            let before = if n == 1 {
                let mut s = snapshot::compute_for(&mut self.conn, &round)?;
                s.computed_at = 0;
                Some(
                    serde_json::to_string(&s)
                        .map_err(|e| AppError::internal_by("the snapshot", e))?,
                )
            } else {
                None
            };
            let (closed_now, t) = time(|| rounds::close(&mut self.conn, &round.id, true));
            closed_now?;
            if let Some(before) = before {
                let mut stored = (*snapshot::load(&mut self.conn, &round.id)?
                    .ok_or_else(|| AppError::internal("the closed round has no snapshot"))?)
                .clone();
                stored.computed_at = 0;
                let after = serde_json::to_string(&stored)
                    .map_err(|e| AppError::internal_by("the snapshot", e))?;
                if after != before {
                    return Err(AppError::internal(
                        "the snapshot stored at close differs from the one of the rows as answered",
                    ));
                }
                self.note("the snapshot stored at close is byte-identical to the one of the rows as answered");
            }
            closes.push(t);
            if n == 1 {
                // Both rounds' closes: last year's has no round before it
                // to compare with, so its snapshot is a little cheaper; two
                // samples say more than one on a machine whose speed drifts.
                self.figures.push(Figure::of(
                    "close a round (rewrite, snapshot, compaction), last year's and this year's",
                    "ms",
                    closes.clone(),
                ));
            }
            self.note(&format!("{title}: {answered} answers, closed in {t:.0} ms"));
            closed = Some(round.id);
        }
        rounds::Round::find(&mut self.conn, &closed.unwrap_or_default())
    }

    /// 24 months of absence per unit, through the importer.
    fn absence(&mut self, closed: &rounds::Round) -> Result<(), AppError> {
        let end = closed.closes_on_date();
        let mut csv =
            String::from("unit_code;period_start;period_end;agreed_workdays;lost_workdays\n");
        let mut month = chrono::NaiveDate::from_ymd_opt(
            chrono::Datelike::year(&end) - 2,
            chrono::Datelike::month(&end),
            1,
        )
        .unwrap_or(end);
        for _ in 0..24 {
            let next = month + chrono::Months::new(1);
            let last = next - chrono::Duration::days(1);
            for i in 0..self.opts.units {
                let agreed = self.rng.gen_range(20.0..400.0f64).round();
                let lost = (agreed * self.rng.gen_range(0.02..0.12f64)).round();
                csv += &format!("U{i};{month};{last};{agreed};{lost}\n");
            }
            month = next;
        }
        import::import(
            &mut self.conn,
            import::Kind::Absence,
            "a.csv",
            csv.as_bytes(),
            false,
        )
        .map_err(|e| AppError::internal_by("importing the benchmark's own files", e))?;
        self.absence_csv = csv;
        self.note("24 months of absence imported");
        Ok(())
    }

    /// The snapshot of the closed round, and the anonymity engine alone on
    /// its group tree.
    fn snapshot_and_engine(&mut self, closed: &rounds::Round) -> Result<(), AppError> {
        let mut build = Vec::new();
        for _ in 0..self.runs {
            build.push(time(|| snapshot::build(&mut self.conn, closed)).1);
        }
        self.figures
            .push(Figure::of("snapshot of a closed round", "ms", build));
        let tree: Vec<(String, String, Option<String>)> = units::table
            .select((units::id, units::code, units::parent_id))
            .load(&mut self.conn)?;
        let counts: std::collections::HashMap<String, i64> = responses::table
            .filter(responses::round_id.eq(&closed.id))
            .group_by(responses::unit_id)
            .select((responses::unit_id, diesel::dsl::count_star()))
            .load::<(Option<String>, i64)>(&mut self.conn)?
            .into_iter()
            .filter_map(|(u, n)| Some((u?, n)))
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
        for _ in 0..self.runs {
            engine.push(time(|| snapshot::anonymity::release(&nodes, 5)).1);
        }
        self.figures
            .push(Figure::of("anonymity engine (groups)", "ms", engine));
        Ok(())
    }

    /// The AMU analysis in process (with the service's cache, so the
    /// first run parses the scores) and as a whole `naervaer analyse`.
    fn analysis(&mut self, closed: &rounds::Round) -> Result<(), AppError> {
        let cache = crate::cache::Cache::default();
        let mut analyse = Vec::new();
        for _ in 0..self.runs {
            analyse.push(
                time(|| {
                    analysis::run(
                        &mut self.conn,
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
        self.figures
            .push(Figure::of("AMU analysis (in process)", "ms", analyse));
        let mut whole = Vec::new();
        for _ in 0..self.runs {
            let (out, t) = time(|| {
                std::process::Command::new(&self.exe)
                    .args(["analyse", "--round", &closed.id, "--format", "json"])
                    .env("NAERVAER_DATABASE_URL", &self.url)
                    .env("NAERVAER_LOG", "warn")
                    .output()
            });
            let out = out?;
            if !out.status.success() {
                return Err(AppError::internal(String::from_utf8_lossy(&out.stderr)));
            }
            whole.push(t);
        }
        self.figures
            .push(Figure::of("naervaer analyse, whole process", "ms", whole));
        self.note("results and analysis timed");
        Ok(())
    }

    /// The same round's answers as the CSV an analyst would get, through
    /// `benches/analyst.py` (pandas + SciPy) beside the snapshot and the
    /// analysis. Without Python and pandas the figures are left out, said.
    fn analyst(&mut self, closed: &rounds::Round) -> Result<(), AppError> {
        let dir = self.temp.join("analyst");
        std::fs::create_dir_all(&dir)?;
        let rows = super::analyst::export(&mut self.conn, closed, &self.absence_csv, &dir)?;
        let k = closed.min_group_size as u32;
        let m = match super::analyst::run_script(&dir, self.runs, k) {
            Ok(m) => m,
            Err(why) => {
                self.note(&format!(
                    "analyst comparison left out (pip install pandas scipy): {why}"
                ));
                return Ok(());
            }
        };
        if m.rows != rows || m.groups == 0 || m.factors == 0 {
            return Err(AppError::internal(format!(
                "the analyst script read {} of {rows} responses, {} groups, {} factors",
                m.rows, m.groups, m.factors
            )));
        }
        let median = |what: &str| {
            self.figures
                .iter()
                .find(|f| f.what == what)
                .map_or(f64::NAN, |f| f.median)
        };
        let snapshot = median("snapshot of a closed round");
        let analysis = median("AMU analysis (in process)");
        let load_aggregate: Vec<f64> = m
            .load_ms
            .iter()
            .zip(&m.aggregate_ms)
            .map(|(a, b)| a + b)
            .collect();
        let la = Figure::of("", "", load_aggregate.clone()).median;
        let total = Figure::of("", "", m.total_ms.clone()).median;
        self.figures.extend([
            Figure::of("analyst pandas script: load the CSV", "ms", m.load_ms),
            Figure::of(
                "analyst pandas script: factor means per unit",
                "ms",
                m.aggregate_ms,
            ),
            Figure::of(
                "analyst pandas script: correlate with absence",
                "ms",
                m.correlate_ms,
            ),
            Figure::of(
                "analyst pandas script: load + factor means",
                "ms",
                load_aggregate,
            ),
            Figure::of("analyst pandas script: whole, in process", "ms", m.total_ms),
            Figure::of(
                "snapshot ÷ pandas load + factor means",
                "ratio",
                vec![snapshot / la],
            ),
            Figure::of(
                "snapshot + analysis ÷ pandas whole",
                "ratio",
                vec![(snapshot + analysis) / total],
            ),
        ]);
        self.note(&format!(
            "analyst script (pandas {}): {total:.0} ms for {rows} responses in {} groups",
            m.pandas, m.groups
        ));
        Ok(())
    }

    /// The follow-up cycle at this size: targets for the organisation and
    /// its areas, SSB's national rates, 2 000 measures of the catalogue's
    /// types on random units over the 24 months; then the standings of the
    /// latest month against the targets, the effect of every measure type
    /// (placebo and event study included), and the tertial report.
    fn follow_up(&mut self, closed: &rounds::Round) -> Result<(), AppError> {
        use crate::followup::{self, effect, report};
        use chrono::Datelike;
        let end = closed.closes_on_date();
        let mut targets = String::from("unit_code;year;target_percent;kind\n");
        for year in [end.year() - 2, end.year() - 1, end.year()] {
            targets += &format!("U0;{year};6,5;total\nU0;{year};nasjonalt;long_term\n");
            for a in 1..=12.min(self.opts.units - 1) {
                targets += &format!("U{a};{year};{};total\n", 5 + a % 4);
            }
        }
        let mut ssb = String::from("kvartal;Sykefraværsprosent\n");
        for year in end.year() - 3..=end.year() {
            for q in 1..=4 {
                ssb += &format!("{year}K{q};{}\n", 6 + q % 3);
            }
        }
        // The seeded catalogue's types.
        let types: Vec<String> = crate::register::measures::types(&mut self.conn)?
            .into_iter()
            .map(|t| t.key)
            .collect();
        let first = chrono::NaiveDate::from_ymd_opt(end.year() - 2, end.month(), 1).unwrap_or(end);
        let mut measures = String::from("unit_code;title;type;started_on;ended_on\n");
        let leaves_from = (self.opts.units / 10).max(12) + 13;
        for i in 0..2000 {
            let unit = self
                .rng
                .gen_range(leaves_from.min(self.opts.units - 1)..self.opts.units);
            let start = first + chrono::Duration::days(self.rng.gen_range(60..640));
            let ended = if self.rng.gen_bool(0.3) {
                (start + chrono::Duration::days(self.rng.gen_range(30..200))).to_string()
            } else {
                String::new()
            };
            measures += &format!(
                "U{unit};Tiltak {i};{};{start};{ended}\n",
                types[self.rng.gen_range(0..types.len())]
            );
        }
        for (kind, name, text) in [
            (import::Kind::Targets, "targets.csv", &targets),
            (import::Kind::National, "ssb.csv", &ssb),
            (import::Kind::Measures, "measures.csv", &measures),
        ] {
            import::import(&mut self.conn, kind, name, text.as_bytes(), false)
                .map_err(|e| AppError::internal_by("importing the benchmark's own files", e))?;
        }
        let k = closed.min_group_size as u32;
        let mut above = Vec::new();
        let mut n_above = 0;
        for _ in 0..self.runs {
            let (s, t) = time(|| followup::latest_standings(&mut self.conn, k));
            n_above = s?.map_or(0, |(_, _, _, s)| s.iter().filter(|s| s.above).count());
            above.push(t);
        }
        self.figures.push(Figure::of(
            &format!("units above target, latest month ({n_above} above)"),
            "ms",
            above,
        ));
        let mut effects = Vec::new();
        for _ in 0..self.runs {
            let (n, t) = time(|| -> Result<usize, AppError> {
                let Some(data) = effect::data(&mut self.conn, k)? else {
                    return Ok(0);
                };
                Ok(effect::estimate_all(&data, k).len())
            });
            if n? == 0 {
                return Err(AppError::internal(
                    "the benchmark's measures gave no estimate",
                ));
            }
            effects.push(t);
        }
        self.figures.push(Figure::of(
            "effect of every measure type (2 000 measures)",
            "ms",
            effects,
        ));
        let mut tertial = Vec::new();
        for _ in 0..self.runs {
            let (r, t) = time(|| -> Result<bool, AppError> {
                let period = report::latest(&mut self.conn, report::ReportKind::Tertial)?;
                Ok(report::build(&mut self.conn, period, k, crate::lang::Lang::Nb)?.has_data)
            });
            if !r? {
                return Err(AppError::internal(
                    "the benchmark's tertial report has no absence",
                ));
            }
            tertial.push(t);
        }
        self.figures
            .push(Figure::of("tertial report (whole)", "ms", tertial));
        self.note("follow-up timed");
        Ok(())
    }

    fn pool_size(&self) -> usize {
        self.opts.concurrency.clamp(4, 16)
    }

    /// A leader's page over HTTP from a `naervaer serve` process.
    fn leader_page(&mut self, closed: &rounds::Round) -> Result<(), AppError> {
        let (mut serve, addr) = start_serve(&self.exe, &self.url, self.pool_size(), true, None)?;
        let result = (|| -> Result<(), AppError> {
            use crate::db::schema::unit_leaders;
            let leader: crate::ids::EmployeeId = unit_leaders::table
                .select(unit_leaders::employee_id)
                .first(&mut self.conn)?;
            let unit: String = unit_leaders::table
                .filter(unit_leaders::employee_id.eq(&leader))
                .select(unit_leaders::unit_id)
                .first(&mut self.conn)?;
            let token = crate::auth::link_token_for(&mut self.conn, &leader)?;
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
            for _ in 0..self.runs.max(5) {
                page.push(time(|| client.request("GET", &path, &cookie, "")).1);
            }
            self.figures
                .push(Figure::of("leader page over HTTP", "ms", page));
            Ok(())
        })();
        let _ = serve.kill();
        let _ = serve.wait();
        result?;
        self.note("leader page timed");
        Ok(())
    }

    /// The answering flow against a `naervaer serve` process, with one
    /// commit per answer and with group commit, each beside the same
    /// durable transaction called directly (the raw rate); group commit
    /// again with the server on one CPU and the respondents on another.
    fn answering(&mut self) -> Result<(), AppError> {
        let round = new_round(&mut self.conn, "Bench nå", 14)?;
        rounds::open(&mut self.conn, &self.key, &round.id)?;
        let round = rounds::Round::find(&mut self.conn, &round.id)?;
        let surveys = round.surveys(&mut self.conn)?;
        let invs = invitations_of(&mut self.conn, &round.id)?;
        // Per mode, `respondents` through HTTP and as many directly; each
        // run takes its own share.
        let n = self.opts.respondents.min(invs.len() / 6);
        let share = n.div_ceil(self.runs).max(1);
        let mut rss: f64 = 0.0;
        let modes = [
            ("one commit per answer", false, false),
            ("group commit", true, false),
            (
                "group commit, server and respondents on a CPU each",
                true,
                true,
            ),
        ];
        for (m, (mode, group_commit, pinned)) in modes.into_iter().enumerate() {
            let pinning = match (pinned, super::answering::Pinning::two_cpus()) {
                (false, _) => None,
                (true, Ok(p)) => Some(p),
                (true, Err(why)) => {
                    self.note(&format!("answering, {mode}: not measured: {why}"));
                    continue;
                }
            };
            let offset = 2 * n * m;
            let http_part = &invs[offset..offset + n];
            let raw_part = &invs[offset + n..offset + 2 * n];
            let (mut serve, addr) = start_serve(
                &self.exe,
                &self.url,
                self.pool_size(),
                group_commit,
                pinning.as_ref().map(|p| p.server.as_str()),
            )?;
            let measured = (|| -> Result<_, AppError> {
                let (mut flows, mut p50, mut p99, mut raws, mut errors) =
                    (vec![], vec![], vec![], vec![], 0);
                for (run, batch) in http_part.chunks(share).enumerate() {
                    if let Some(p) = &pinning {
                        p.load_here(true)?;
                    }
                    let a = answering(addr, &self.key, &surveys, batch, self.opts.concurrency);
                    if let Some(p) = &pinning {
                        p.load_here(false)?;
                    }
                    flows.push(a.flows);
                    p50.push(a.p50);
                    p99.push(a.p99);
                    errors += a.errors;
                    // The same durable transaction, called directly, one
                    // at a time, on as many other invitations.
                    let raw_batch = &raw_part[(run * share).min(n)..((run + 1) * share).min(n)];
                    let t = Instant::now();
                    for (i, inv) in raw_batch.iter().enumerate() {
                        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(i as u64);
                        let a = random_answers(&mut r, &surveys);
                        let hash = lookup_hash(&self.key.survey_token(inv));
                        answer::submit(&mut self.conn, &hash, &surveys, &a)?;
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
            let c = self.opts.concurrency;
            self.figures.extend([
                Figure::of(
                    &format!("answering flows, {c} concurrent, {mode}"),
                    "flows/s",
                    flows,
                ),
                Figure::of(&format!("submit latency p50, {mode}"), "ms", p50),
                Figure::of(&format!("submit latency p99, {mode}"), "ms", p99),
                Figure::of(
                    &format!("raw durable answer transaction, direct ({mode} run)"),
                    "per s",
                    raws,
                ),
                Figure::of(
                    &format!("answering flows ÷ raw rate, {mode}"),
                    "ratio",
                    ratio,
                ),
                Figure::of(
                    &format!("answering errors, {mode}"),
                    "count",
                    vec![errors as f64],
                ),
            ]);
            self.note(&format!("answering, {mode}: {f:.0} flows/s, raw {r:.0}/s"));
        }
        self.figures
            .push(Figure::of("naervaer serve peak RSS", "MB", vec![rss]));
        Ok(())
    }

    /// A sender claiming its next 10 messages while the round opened for
    /// answering has its 50 000 invitations queued, each claim rolled back
    /// (the queue stays as it is).
    fn claiming(&mut self) -> Result<(), AppError> {
        use crate::db::schema::outbox;
        let queued: i64 = outbox::table
            .filter(outbox::status.eq("pending"))
            .count()
            .get_result(&mut self.conn)?;
        let mut claims = Vec::new();
        for _ in 0..self.runs.max(5) {
            let mut t = 0.0;
            let mut claimed = 0;
            let undone = self.conn.transaction::<(), AppError, _>(|c| {
                let (got, ms) = time(|| crate::mail::outbox::claim(c, "bench", 10));
                (claimed, t) = (got?.len(), ms);
                Err(AppError::internal("rolled back on purpose"))
            });
            if claimed == 0 {
                return Err(undone
                    .err()
                    .unwrap_or(AppError::internal("nothing to claim")));
            }
            claims.push(t);
        }
        let f = Figure::of(
            &format!("claiming the next 10 of {queued} queued messages"),
            "ms",
            claims,
        );
        self.note(&format!(
            "claiming: {:.2} ms with {queued} queued",
            f.median
        ));
        self.figures.push(f);
        Ok(())
    }

    /// The invitations of a round of `mails` people into a local SMTP
    /// server, on one connection and with the default 16.
    fn sending(&mut self) -> Result<(), AppError> {
        for workers in [1, 16] {
            let rates = sending(&self.temp, self.opts.mails, workers, self.runs.min(3))?;
            let r = Figure::of("", "", rates.clone()).median;
            self.figures.push(Figure::of(
                &format!(
                    "sending {} invitations by SMTP, {workers} connection{}",
                    self.opts.mails,
                    if workers == 1 { "" } else { "s" }
                ),
                "messages/s",
                rates,
            ));
            self.note(&format!(
                "sending with {workers} connection(s): {r:.0} messages/s"
            ));
        }
        Ok(())
    }
}
