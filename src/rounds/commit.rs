//! Group commit of answers: several submissions acknowledged by one durable
//! commit, as PostgreSQL's `commit_delay` does for its own transactions.
//!
//! Submissions queue for one committer thread. It takes whatever is
//! waiting (at most [`MAX_BATCH`]), runs each submission as a savepoint of
//! one write transaction, commits once, and only then answers each waiting
//! request. Nothing waits on purpose: while one batch is being made durable
//! the next one gathers, so under load a commit carries many answers and
//! alone it carries one. A submission is acknowledged only after the commit
//! that holds it, so the promise "acknowledged means stored" is unchanged;
//! a failing submission rolls back its own savepoint and no other.

use super::answer::{self, Answers, Submitted};
use crate::db::{Pool, PooledConn};
use crate::survey::Survey;
use crate::AppError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;

/// The most submissions one commit carries.
pub const MAX_BATCH: usize = 64;

struct Job {
    token_hash: String,
    surveys: Arc<Vec<Survey>>,
    answers: Answers,
    /// Answered after the commit that holds the submission (or its
    /// failure); awaited by a request, or waited for by a thread.
    reply: tokio::sync::oneshot::Sender<Result<Submitted, AppError>>,
}

/// The queue to the committer thread; cheap to clone.
#[derive(Clone)]
pub struct GroupCommit {
    queue: SyncSender<Job>,
    stats: Arc<Stats>,
}

/// Commits made and submissions they carried, since start, and the
/// submissions that found the queue full and waited for room.
#[derive(Debug, Default)]
pub struct Stats {
    pub commits: AtomicUsize,
    pub submissions: AtomicUsize,
    pub waited_for_room: AtomicUsize,
}

impl GroupCommit {
    /// Starts the committer thread over `pool`. It ends when every handle
    /// is dropped.
    pub fn start(pool: Pool) -> GroupCommit {
        let (queue, jobs) = mpsc::sync_channel(4 * MAX_BATCH);
        let stats = Arc::new(Stats::default());
        let counted = stats.clone();
        std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || committer(pool, jobs, &counted))
            .expect("a thread for group commit");
        GroupCommit { queue, stats }
    }

    /// (commits, submissions) so far.
    pub fn stats(&self) -> (usize, usize) {
        (
            self.stats.commits.load(Ordering::Relaxed),
            self.stats.submissions.load(Ordering::Relaxed),
        )
    }

    /// Submissions so far that found the queue full ([`Self::submit_async`]).
    pub fn waited_for_room(&self) -> usize {
        self.stats.waited_for_room.load(Ordering::Relaxed)
    }

    /// Submits and waits until the answer is durable (or refused). Blocks:
    /// call from a blocking context.
    pub fn submit(
        &self,
        token_hash: String,
        surveys: Arc<Vec<Survey>>,
        answers: Answers,
    ) -> Result<Submitted, AppError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queue
            .send(Job {
                token_hash,
                surveys,
                answers,
                reply,
            })
            .map_err(|_| AppError::connection("the committer has stopped"))?;
        answer
            .blocking_recv()
            .map_err(|_| AppError::connection("the committer has stopped"))?
    }

    /// [`GroupCommit::submit`] for a request handler: waits for the commit
    /// without holding a thread. Only a full queue (more than
    /// 4 × [`MAX_BATCH`] waiting) makes it wait for room on a blocking
    /// thread.
    pub async fn submit_async(
        &self,
        token_hash: String,
        surveys: Arc<Vec<Survey>>,
        answers: Answers,
    ) -> Result<Submitted, AppError> {
        let stopped = || AppError::connection("the committer has stopped");
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            token_hash,
            surveys,
            answers,
            reply,
        };
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(job)) => {
                self.stats.waited_for_room.fetch_add(1, Ordering::Relaxed);
                crate::metrics::get().answer_queue_full.inc();
                let queue = self.queue.clone();
                actix_web::web::block(move || queue.send(job))
                    .await
                    .map_err(|_| stopped())?
                    .map_err(|_| stopped())?;
            }
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(stopped()),
        }
        answer.await.map_err(|_| stopped())?
    }
}

fn committer(pool: Pool, jobs: Receiver<Job>, stats: &Stats) {
    // On SQLite the committer keeps its connection between batches. It is
    // the process's only writer, so that connection's page cache stays
    // valid from one commit to the next (SQLite drops a connection's cache
    // whenever another connection committed: a pooled connection that
    // served reads in between would read every page anew). Kept only when
    // the pool has room to spare for the requests.
    let mut kept: Option<PooledConn> = None;
    let keep = pool.max_size() > 2;
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let results = run(&pool, &mut kept, keep, &batch);
        crate::metrics::get()
            .answer_batch
            .observe(batch.len() as f64);
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats.submissions.fetch_add(batch.len(), Ordering::Relaxed);
        for (job, result) in batch.into_iter().zip(results) {
            // The request may have gone (client closed): nothing to tell.
            let _ = job.reply.send(result);
        }
    }
}

/// One transaction for the batch, a savepoint per submission. When the
/// commit itself fails, every submission of the batch gets the error:
/// none was acknowledged, none is stored.
fn run(
    pool: &Pool,
    kept: &mut Option<PooledConn>,
    keep: bool,
    batch: &[Job],
) -> Vec<Result<Submitted, AppError>> {
    let failed = |e: &AppError| -> Vec<Result<Submitted, AppError>> {
        batch
            .iter()
            .map(|_| Err(AppError::connection(format!("commit failed: {e}"))))
            .collect()
    };
    let mut conn = match kept.take().map_or_else(|| pool.get(), Ok) {
        Ok(c) => c,
        Err(e) => return failed(&AppError::from(e)),
    };
    // On PostgreSQL the whole batch is one statement (one round trip, its
    // own transaction); if it fails (a deadlock with another node, say),
    // nothing of it is stored and each submission is tried alone below.
    if let crate::db::DbConnection::Pg(pg) = &mut *conn {
        let jobs: Vec<(&str, &[Survey], &Answers)> = batch
            .iter()
            .map(|j| (j.token_hash.as_str(), j.surveys.as_slice(), &j.answers))
            .collect();
        let results = match answer::submit_batch_pg(pg, &jobs) {
            Ok(results) => results,
            Err(_) => batch
                .iter()
                .map(|j| answer::submit(&mut conn, &j.token_hash, &j.surveys, &j.answers))
                .collect(),
        };
        return retry(&mut conn, batch, results);
    }
    // Rows are locked in one order on every node: invitations by token
    // hash, then the day counters by (round, unit) at the end.
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by(|a, b| batch[*a].token_hash.cmp(&batch[*b].token_hash));
    let outcome = crate::db::write_transaction(&mut conn, |conn| {
        let mut results: Vec<Option<Result<Submitted, AppError>>> =
            (0..batch.len()).map(|_| None).collect();
        let mut counts: std::collections::BTreeMap<(crate::ids::RoundId, String), i32> =
            Default::default();
        for &i in &order {
            let j = &batch[i];
            let r = answer::submit_uncounted(conn, &j.token_hash, &j.surveys, &j.answers);
            results[i] = Some(r.map(|(outcome, counted)| {
                if let Some(key) = counted {
                    *counts.entry(key).or_default() += 1;
                }
                outcome
            }));
        }
        let counts: Vec<_> = counts.into_iter().collect();
        answer::count_answers(conn, &counts)?;
        Ok::<_, AppError>(results.into_iter().flatten().collect::<Vec<_>>())
    });
    let results = match outcome {
        Ok(results) => results,
        Err(e) => failed(&e),
    };
    let results = retry(&mut conn, batch, results);
    if keep && !crate::db::broken(&mut conn) {
        *kept = Some(conn);
    }
    results
}

/// Submissions that met a conflict with another transaction (several
/// nodes' batches can deadlock on the shared per-unit day counters; the
/// database picks a victim) are tried again, each in its own transaction.
fn retry(
    conn: &mut crate::db::DbConnection,
    batch: &[Job],
    mut results: Vec<Result<Submitted, AppError>>,
) -> Vec<Result<Submitted, AppError>> {
    for (job, result) in batch.iter().zip(results.iter_mut()) {
        let mut attempts = 0;
        while matches!(result, Err(e) if retryable(e)) && attempts < 5 {
            attempts += 1;
            *result = answer::submit(conn, &job.token_hash, &job.surveys, &job.answers);
        }
    }
    results
}

/// A conflict between concurrent transactions that a retry resolves.
fn retryable(e: &AppError) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        AppError::Database(Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _)) => {
            true
        }
        AppError::Database(Error::DatabaseError(_, info)) => {
            let m = info.message();
            m.contains("deadlock detected") || m.contains("database is locked")
        }
        _ => false,
    }
}
