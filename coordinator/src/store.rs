//! The coordinator's durable state: jobs, leases, workers and batches in SQLite.
//!
//! Every state change is one SQLite transaction, so a coordinator killed at any point restarts into a consistent
//! state: a job is queued, leased (its lease lapses and it is queued again), or done with its verified proof stored.
//!
//! ```text
//!            take (lease_id = next fencing token)
//!   queued ----------------------------------------> leased --accept (proof verified)--> done
//!     ^  ^                                             |  |
//!     |  +-- lease lapsed / released (no attempt) -----+  +--reject / retryable failure--> queued after a backoff
//!     |                                                |                                  (failed when out of attempts)
//!     +------------- requeue (operator) -- failed, cancelled <--cancel (operator) / non-retryable failure
//! ```
//!
//! Fencing: every lease of any job takes a new, larger `lease_id` from one counter. Submissions, failures and
//! releases quote it, and only the job's current lease is honoured, so a result from a lapsed lease is dropped even if
//! the job was leased again meanwhile.

use std::{path::Path, sync::Mutex};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::{Error, Result};

/// What a job proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// One chunk of a batch.
    Chunk,
    /// The aggregation of a batch's chunk proofs.
    Aggregation,
}

impl JobKind {
    const fn code(self) -> i64 {
        match self {
            Self::Chunk => 1,
            Self::Aggregation => 2,
        }
    }

    fn from_code(code: i64) -> Result<Self> {
        match code {
            1 => Ok(Self::Chunk),
            2 => Ok(Self::Aggregation),
            other => Err(Error::Corrupt(format!("job kind {other}"))),
        }
    }

    /// The label used in metrics and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Chunk => "chunk",
            Self::Aggregation => "aggregation",
        }
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for a worker, possibly after a backoff.
    Queued,
    /// Leased to a worker.
    Leased,
    /// Proven, the proof verified and stored.
    Done,
    /// Out of attempts, or failed for good; an operator may requeue it.
    Failed,
    /// Stopped by an operator.
    Cancelled,
}

impl JobState {
    /// Every state, in display order.
    pub const ALL: [Self; 5] = [Self::Queued, Self::Leased, Self::Done, Self::Failed, Self::Cancelled];

    /// The label used in the database, metrics and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Leased => "leased",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s).ok_or_else(|| Error::Corrupt(format!("job state {s}")))
    }
}

/// Timing and retry rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// A lease lapses this long after it was granted or last extended by a heartbeat.
    pub lease_ttl_ms: u64,
    /// Attempts a job gets before it fails (rejected proofs and retryable failures spend one; lapsed and released
    /// leases do not).
    pub max_attempts: u32,
    /// The wait before the second attempt; doubled for every further one.
    pub backoff_base_ms: u64,
    /// The longest wait between attempts.
    pub backoff_max_ms: u64,
    /// A worker whose proofs were refused this many times is drained.
    pub max_rejections: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            lease_ttl_ms: 30_000,
            max_attempts: 3,
            backoff_base_ms: 2_000,
            backoff_max_ms: 60_000,
            max_rejections: 3,
        }
    }
}

impl Policy {
    /// The wait before the next attempt once `spent` attempts failed.
    pub fn backoff_ms(&self, spent: u32) -> u64 {
        let doublings = spent.saturating_sub(1).min(32);
        self.backoff_base_ms.saturating_mul(1u64 << doublings).min(self.backoff_max_ms)
    }
}

/// A job to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Its id, derived from what it proves (so creating it twice is harmless).
    pub id: String,
    /// Its kind.
    pub kind: JobKind,
    /// The batch it belongs to.
    pub batch_index: u64,
    /// The chunk's position in the batch (0 for aggregation).
    pub chunk_index: u32,
    /// The input: an encoded chunk witness for chunk jobs, empty for aggregation (its inputs are the batch's chunk
    /// proofs).
    pub input: Vec<u8>,
}

/// What a worker gets with a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The job.
    pub job_id: String,
    /// The fencing token.
    pub lease_id: u64,
    /// The job's kind.
    pub kind: JobKind,
    /// Its batch.
    pub batch_index: u64,
    /// Its chunk position.
    pub chunk_index: u32,
    /// When the lease lapses unless extended (unix ms).
    pub deadline_ms: u64,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The input of a chunk job; for aggregation, the accepted chunk proofs in chunk order.
    pub inputs: Vec<Vec<u8>>,
}

/// A job as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: JobKind,
    /// State.
    pub state: JobState,
    /// Batch.
    pub batch_index: u64,
    /// Chunk position.
    pub chunk_index: u32,
    /// Attempts spent.
    pub attempts: u32,
    /// The current lease's token (0 if never leased).
    pub lease_id: u64,
    /// The worker holding the lease.
    pub worker_id: Option<String>,
    /// When the lease lapses (unix ms).
    pub lease_deadline_ms: u64,
    /// The last failure or rejection.
    pub last_error: Option<String>,
    /// Created (unix ms).
    pub created_ms: u64,
    /// Last changed (unix ms).
    pub updated_ms: u64,
    /// When the current (or, once done, the successful) lease began (unix ms; 0 if never leased).
    pub leased_ms: u64,
}

/// A worker's announcement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkerSpec {
    /// Its name.
    pub name: String,
    /// `cpu` or `cuda`.
    pub backend: String,
    /// GPU model, empty on the CPU.
    pub gpu_model: String,
    /// Memory for proving.
    pub memory_bytes: u64,
    /// Its version.
    pub version: String,
    /// Kinds it takes; empty means all.
    pub kinds: Vec<JobKind>,
}

/// A worker's session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRecord {
    /// Session id.
    pub id: String,
    /// What it announced.
    pub spec: WorkerSpec,
    /// Registered (unix ms).
    pub registered_ms: u64,
    /// Last heartbeat or call (unix ms).
    pub last_seen_ms: u64,
    /// Drained: takes nothing new.
    pub draining: bool,
    /// Deregistered or silent for longer than a lease.
    pub gone: bool,
    /// Proofs of this worker that were refused.
    pub rejections: u32,
}

/// What a submission is, before its proof is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitCheck {
    /// The submitter holds the job's current lease: check the proof.
    Current(JobRecord),
    /// The job is already done; nothing to do.
    Duplicate,
    /// The lease is not (or no longer) the submitter's.
    Stale,
}

/// What a heartbeat returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeartbeatOutcome {
    /// Leases the worker listed that are no longer its own.
    pub revoked: Vec<(String, u64)>,
    /// The worker is drained.
    pub draining: bool,
}

/// A batch the coordinator proves and finalizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    /// Its index on the Rollup.
    pub index: u64,
    /// `proving`, `proven`, `finalizing`, `finalized`.
    pub state: String,
    /// Chunk jobs.
    pub chunks: u32,
    /// What finalization needs (encoded by the caller).
    pub meta: Vec<u8>,
    /// Seen committed (unix ms).
    pub committed_ms: u64,
    /// Proven (unix ms), 0 before.
    pub proven_ms: u64,
    /// Finalized (unix ms), 0 before.
    pub finalized_ms: u64,
    /// The finalization transaction, once sent.
    pub finalize_tx: Option<String>,
}

/// The store: one SQLite database (a file, or memory in tests).
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    policy: Policy,
}

const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind INTEGER NOT NULL,
    batch_index INTEGER NOT NULL,
    chunk_index INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_id INTEGER NOT NULL DEFAULT 0,
    worker_id TEXT,
    lease_deadline_ms INTEGER NOT NULL DEFAULT 0,
    not_before_ms INTEGER NOT NULL DEFAULT 0,
    avoid_worker TEXT,
    input BLOB NOT NULL,
    output BLOB,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    leased_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, batch_index, chunk_index);
CREATE INDEX IF NOT EXISTS jobs_by_batch ON jobs (batch_index, kind, chunk_index);
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    backend TEXT NOT NULL,
    gpu_model TEXT NOT NULL,
    memory_bytes INTEGER NOT NULL,
    version TEXT NOT NULL,
    kinds INTEGER NOT NULL,
    registered_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    draining INTEGER NOT NULL DEFAULT 0,
    gone INTEGER NOT NULL DEFAULT 0,
    rejections INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS batches (
    batch_index INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    chunks INTEGER NOT NULL,
    meta BLOB NOT NULL,
    committed_ms INTEGER NOT NULL,
    proven_ms INTEGER NOT NULL DEFAULT 0,
    finalized_ms INTEGER NOT NULL DEFAULT 0,
    finalize_tx TEXT,
    proof BLOB
);
";

const JOB_COLUMNS: &str = "id, kind, state, batch_index, chunk_index, attempts, lease_id, worker_id, \
                           lease_deadline_ms, last_error, created_ms, updated_ms, leased_ms";

fn job_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(JobRecord, i64, String)> {
    Ok((
        JobRecord {
            id: row.get(0)?,
            kind: JobKind::Chunk,
            state: JobState::Queued,
            batch_index: row.get::<_, i64>(3)? as u64,
            chunk_index: row.get::<_, i64>(4)? as u32,
            attempts: row.get::<_, i64>(5)? as u32,
            lease_id: row.get::<_, i64>(6)? as u64,
            worker_id: row.get(7)?,
            lease_deadline_ms: row.get::<_, i64>(8)? as u64,
            last_error: row.get(9)?,
            created_ms: row.get::<_, i64>(10)? as u64,
            updated_ms: row.get::<_, i64>(11)? as u64,
            leased_ms: row.get::<_, i64>(12)? as u64,
        },
        row.get(1)?,
        row.get(2)?,
    ))
}

fn finish_job(raw: (JobRecord, i64, String)) -> Result<JobRecord> {
    let (mut job, kind, state) = raw;
    job.kind = JobKind::from_code(kind)?;
    job.state = JobState::parse(&state)?;
    Ok(job)
}

fn kinds_mask(kinds: &[JobKind]) -> i64 {
    if kinds.is_empty() { 3 } else { kinds.iter().fold(0, |mask, k| mask | k.code()) }
}

fn kinds_from_mask(mask: i64) -> Vec<JobKind> {
    [JobKind::Chunk, JobKind::Aggregation].into_iter().filter(|k| mask & k.code() != 0).collect()
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path, policy: Policy) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::Io(parent.display().to_string(), e))?;
        }
        let conn = Connection::open(path)?;
        // WAL: readers (the status page) do not block the writer; NORMAL sync is durable across process crashes.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Self::init(conn, policy)
    }

    /// A store in memory (tests).
    pub fn in_memory(policy: Policy) -> Result<Self> {
        Self::init(Connection::open_in_memory()?, policy)
    }

    fn init(conn: Connection, policy: Policy) -> Result<Self> {
        conn.execute_batch(SCHEMA)?;
        Self::migrate(&conn)?;
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('lease_counter', 0), ('worker_counter', 0)", [])?;
        Ok(Self { conn: Mutex::new(conn), policy })
    }

    /// Brings a database made by an older coordinator up to this schema. Columns are only ever added, with defaults,
    /// so an older database opens without losing anything.
    fn migrate(conn: &Connection) -> Result<()> {
        let has_leased_ms: bool =
            conn.query_row("SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = 'leased_ms'", [], |r| {
                r.get::<_, i64>(0).map(|n| n > 0)
            })?;
        if !has_leased_ms {
            conn.execute_batch("ALTER TABLE jobs ADD COLUMN leased_ms INTEGER NOT NULL DEFAULT 0")?;
        }
        Ok(())
    }

    /// The timing and retry rules.
    pub const fn policy(&self) -> &Policy {
        &self.policy
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn.lock().map_err(|_| Error::Poisoned)?;
        let tx = conn.transaction()?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.conn.lock().map_err(|_| Error::Poisoned)?;
        f(&conn)
    }

    fn next_counter(tx: &Transaction<'_>, key: &str) -> Result<u64> {
        let value: i64 =
            tx.query_row("UPDATE meta SET value = value + 1 WHERE key = ?1 RETURNING value", [key], |r| r.get(0))?;
        Ok(value as u64)
    }

    // ----- batches -----

    /// Records a committed batch and creates its chunk jobs; both are ignored if the batch is already known.
    /// Returns whether the batch was new.
    pub fn add_batch(&self, index: u64, meta: &[u8], chunk_inputs: Vec<Vec<u8>>, now: u64) -> Result<bool> {
        self.write(|tx| {
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO batches (batch_index, state, chunks, meta, committed_ms)
                 VALUES (?1, 'proving', ?2, ?3, ?4)",
                params![index as i64, chunk_inputs.len() as i64, meta, now as i64],
            )?;
            if inserted == 0 {
                return Ok(false);
            }
            for (chunk, input) in chunk_inputs.into_iter().enumerate() {
                Self::insert_job(
                    tx,
                    &NewJob {
                        id: chunk_job_id(index, chunk as u32),
                        kind: JobKind::Chunk,
                        batch_index: index,
                        chunk_index: chunk as u32,
                        input,
                    },
                    now,
                )?;
            }
            Ok(true)
        })
    }

    /// Records a batch that L1 finalized before this coordinator saw it: no jobs, kept so the replica of the state
    /// can be rebuilt after a restart.
    pub fn add_finalized_batch(&self, index: u64, meta: &[u8], now: u64) -> Result<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "INSERT OR IGNORE INTO batches (batch_index, state, chunks, meta, committed_ms, finalized_ms)
                 VALUES (?1, 'finalized', 0, ?2, ?3, ?3)",
                params![index as i64, meta, now as i64],
            )? == 1)
        })
    }

    fn insert_job(tx: &Transaction<'_>, job: &NewJob, now: u64) -> Result<()> {
        tx.execute(
            "INSERT OR IGNORE INTO jobs (id, kind, batch_index, chunk_index, state, input, created_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?6)",
            params![job.id, job.kind.code(), job.batch_index as i64, job.chunk_index as i64, job.input, now as i64],
        )?;
        Ok(())
    }

    /// A batch.
    pub fn batch(&self, index: u64) -> Result<Option<BatchRecord>> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT batch_index, state, chunks, meta, committed_ms, proven_ms, finalized_ms, finalize_tx
                     FROM batches WHERE batch_index = ?1",
                    [index as i64],
                    batch_from_row,
                )
                .optional()?)
        })
    }

    /// The newest `limit` batches, newest first.
    pub fn recent_batches(&self, limit: u32) -> Result<Vec<BatchRecord>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT batch_index, state, chunks, meta, committed_ms, proven_ms, finalized_ms, finalize_tx
                 FROM batches ORDER BY batch_index DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], batch_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The highest batch index known, if any.
    pub fn last_batch(&self) -> Result<Option<u64>> {
        self.read(|conn| {
            let max: Option<i64> = conn.query_row("SELECT MAX(batch_index) FROM batches", [], |r| r.get(0))?;
            Ok(max.map(|m| m as u64))
        })
    }

    /// The batch proof of a proven batch.
    pub fn batch_proof(&self, index: u64) -> Result<Option<Vec<u8>>> {
        self.read(|conn| {
            Ok(conn
                .query_row("SELECT proof FROM batches WHERE batch_index = ?1", [index as i64], |r| r.get(0))
                .optional()?
                .flatten())
        })
    }

    /// The lowest proven batch that is not finalized yet, with its proof: the next to finalize.
    pub fn next_to_finalize(&self) -> Result<Option<(BatchRecord, Vec<u8>)>> {
        self.read(|conn| {
            let row = conn
                .query_row(
                    "SELECT batch_index, state, chunks, meta, committed_ms, proven_ms, finalized_ms, finalize_tx, proof
                     FROM batches WHERE state IN ('proven', 'finalizing') ORDER BY batch_index LIMIT 1",
                    [],
                    |r| Ok((batch_from_row(r)?, r.get::<_, Option<Vec<u8>>>(8)?)),
                )
                .optional()?;
            Ok(row.and_then(|(batch, proof)| proof.map(|p| (batch, p))))
        })
    }

    /// Records the finalization transaction sent for a batch.
    pub fn set_finalizing(&self, index: u64, tx_hash: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE batches SET state = 'finalizing', finalize_tx = ?2 WHERE batch_index = ?1 AND state != 'finalized'",
                params![index as i64, tx_hash],
            )?;
            Ok(())
        })
    }

    /// Marks a batch finalized on L1.
    pub fn set_finalized(&self, index: u64, now: u64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE batches SET state = 'finalized', finalized_ms = ?2 WHERE batch_index = ?1 AND state != 'finalized'",
                params![index as i64, now as i64],
            )?;
            Ok(())
        })
    }

    /// A finalization that did not stick (its transaction reverted or was reorged out): the batch is proven again,
    /// to be sent anew.
    pub fn unset_finalizing(&self, index: u64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE batches SET state = 'proven', finalize_tx = NULL
                 WHERE batch_index = ?1 AND state IN ('finalizing', 'finalized')",
                [index as i64],
            )?;
            Ok(())
        })
    }

    // ----- workers -----

    /// Starts a worker session.
    pub fn register_worker(&self, spec: &WorkerSpec, now: u64) -> Result<WorkerRecord> {
        self.write(|tx| {
            let seq = Self::next_counter(tx, "worker_counter")?;
            let id = format!("{}-{seq}", sanitize(&spec.name));
            tx.execute(
                "INSERT INTO workers (id, name, backend, gpu_model, memory_bytes, version, kinds, registered_ms, last_seen_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    id,
                    spec.name,
                    spec.backend,
                    spec.gpu_model,
                    spec.memory_bytes as i64,
                    spec.version,
                    kinds_mask(&spec.kinds),
                    now as i64
                ],
            )?;
            Ok(WorkerRecord {
                id,
                spec: WorkerSpec { kinds: kinds_from_mask(kinds_mask(&spec.kinds)), ..spec.clone() },
                registered_ms: now,
                last_seen_ms: now,
                draining: false,
                gone: false,
                rejections: 0,
            })
        })
    }

    fn live_worker(tx: &Transaction<'_>, worker_id: &str, now: u64) -> Result<(i64, bool)> {
        let row: Option<(i64, bool, bool)> = tx
            .query_row("SELECT kinds, draining, gone FROM workers WHERE id = ?1", [worker_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        match row {
            None => Err(Error::UnknownWorker(worker_id.to_owned())),
            Some((_, _, true)) => Err(Error::WorkerGone(worker_id.to_owned())),
            Some((kinds, draining, false)) => {
                tx.execute("UPDATE workers SET last_seen_ms = ?2 WHERE id = ?1", params![worker_id, now as i64])?;
                Ok((kinds, draining))
            }
        }
    }

    /// A heartbeat: extends the leases the worker lists that are still its own, and reports the others.
    pub fn heartbeat(&self, worker_id: &str, leases: &[(String, u64)], now: u64) -> Result<HeartbeatOutcome> {
        let ttl = self.policy.lease_ttl_ms;
        self.write(|tx| {
            let (_, draining) = Self::live_worker(tx, worker_id, now)?;
            let mut revoked = Vec::new();
            for (job_id, lease_id) in leases {
                let extended = tx.execute(
                    "UPDATE jobs SET lease_deadline_ms = ?4, updated_ms = ?5
                     WHERE id = ?1 AND lease_id = ?2 AND worker_id = ?3 AND state = 'leased'",
                    params![job_id, *lease_id as i64, worker_id, (now + ttl) as i64, now as i64],
                )?;
                if extended == 0 {
                    revoked.push((job_id.clone(), *lease_id));
                }
            }
            Ok(HeartbeatOutcome { revoked, draining })
        })
    }

    /// Ends a worker session; the leases it holds go back to the queue with no attempt spent.
    pub fn deregister(&self, worker_id: &str, now: u64) -> Result<Vec<String>> {
        self.write(|tx| {
            tx.execute("UPDATE workers SET gone = 1, last_seen_ms = ?2 WHERE id = ?1", params![worker_id, now as i64])?;
            Self::requeue_held(tx, worker_id, now)
        })
    }

    fn requeue_held(tx: &Transaction<'_>, worker_id: &str, now: u64) -> Result<Vec<String>> {
        let mut stmt = tx.prepare(
            "UPDATE jobs SET state = 'queued', worker_id = NULL, lease_deadline_ms = 0, updated_ms = ?2
             WHERE worker_id = ?1 AND state = 'leased' RETURNING id",
        )?;
        let ids = stmt.query_map(params![worker_id, now as i64], |r| r.get(0))?;
        Ok(ids.collect::<rusqlite::Result<Vec<String>>>()?)
    }

    /// Drains a worker, by session id or by name (every live session of that name).
    pub fn drain(&self, worker: &str) -> Result<Vec<WorkerRecord>> {
        let changed = self.write(|tx| {
            Ok(tx.execute("UPDATE workers SET draining = 1 WHERE (id = ?1 OR name = ?1) AND gone = 0", [worker])?)
        })?;
        if changed == 0 {
            return Err(Error::UnknownWorker(worker.to_owned()));
        }
        Ok(self.workers()?.into_iter().filter(|w| (w.id == worker || w.spec.name == worker) && !w.gone).collect())
    }

    /// Every worker session that is not gone, then the gone ones seen in the last hour.
    pub fn workers(&self) -> Result<Vec<WorkerRecord>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, name, backend, gpu_model, memory_bytes, version, kinds, registered_ms, last_seen_ms,
                        draining, gone, rejections
                 FROM workers ORDER BY gone, registered_ms",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(WorkerRecord {
                    id: r.get(0)?,
                    spec: WorkerSpec {
                        name: r.get(1)?,
                        backend: r.get(2)?,
                        gpu_model: r.get(3)?,
                        memory_bytes: r.get::<_, i64>(4)? as u64,
                        version: r.get(5)?,
                        kinds: kinds_from_mask(r.get(6)?),
                    },
                    registered_ms: r.get::<_, i64>(7)? as u64,
                    last_seen_ms: r.get::<_, i64>(8)? as u64,
                    draining: r.get(9)?,
                    gone: r.get(10)?,
                    rejections: r.get::<_, i64>(11)? as u32,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    // ----- jobs -----

    /// Leases the next job the worker can take: the lowest batch first, a job that refused this worker's proof last
    /// only when nothing else is ready. `None` if nothing is ready or the worker is draining.
    pub fn take_job(&self, worker_id: &str, now: u64) -> Result<Option<Lease>> {
        let ttl = self.policy.lease_ttl_ms;
        self.write(|tx| {
            let (kinds, draining) = Self::live_worker(tx, worker_id, now)?;
            if draining {
                return Ok(None);
            }
            let picked: Option<(String, i64, i64, i64, i64)> = tx
                .query_row(
                    "SELECT id, kind, batch_index, chunk_index, attempts FROM jobs
                     WHERE state = 'queued' AND not_before_ms <= ?1 AND (kind & ?2) != 0
                     ORDER BY (avoid_worker IS NOT NULL AND avoid_worker = ?3), batch_index, kind, chunk_index
                     LIMIT 1",
                    params![now as i64, kinds, worker_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            let Some((job_id, kind, batch_index, chunk_index, attempts)) = picked else { return Ok(None) };
            let lease_id = Self::next_counter(tx, "lease_counter")?;
            let deadline = now + ttl;
            tx.execute(
                "UPDATE jobs SET state = 'leased', lease_id = ?2, worker_id = ?3, lease_deadline_ms = ?4, updated_ms = ?5,
                                 leased_ms = ?5
                 WHERE id = ?1",
                params![job_id, lease_id as i64, worker_id, deadline as i64, now as i64],
            )?;
            let kind = JobKind::from_code(kind)?;
            let inputs = match kind {
                JobKind::Chunk => {
                    vec![tx.query_row("SELECT input FROM jobs WHERE id = ?1", [&job_id], |r| r.get(0))?]
                }
                JobKind::Aggregation => Self::chunk_outputs(tx, batch_index as u64)?,
            };
            Ok(Some(Lease {
                job_id,
                lease_id,
                kind,
                batch_index: batch_index as u64,
                chunk_index: chunk_index as u32,
                deadline_ms: deadline,
                attempt: attempts as u32 + 1,
                inputs,
            }))
        })
    }

    fn chunk_outputs(tx: &Transaction<'_>, batch_index: u64) -> Result<Vec<Vec<u8>>> {
        let mut stmt = tx.prepare(
            "SELECT output FROM jobs WHERE batch_index = ?1 AND kind = ?2 AND state = 'done' ORDER BY chunk_index",
        )?;
        let rows = stmt.query_map(params![batch_index as i64, JobKind::Chunk.code()], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<Vec<u8>>>>()?)
    }

    /// Classifies a submission before its proof is checked.
    pub fn check_submission(&self, worker_id: &str, job_id: &str, lease_id: u64, now: u64) -> Result<SubmitCheck> {
        self.write(|tx| {
            Self::live_worker(tx, worker_id, now)?;
            let job = Self::job_tx(tx, job_id)?.ok_or_else(|| Error::UnknownJob(job_id.to_owned()))?;
            Ok(if job.state == JobState::Done {
                SubmitCheck::Duplicate
            } else if job.state == JobState::Leased
                && job.lease_id == lease_id
                && job.worker_id.as_deref() == Some(worker_id)
            {
                SubmitCheck::Current(job)
            } else {
                SubmitCheck::Stale
            })
        })
    }

    /// Stores a verified proof. The lease is checked again in the same transaction (it may have lapsed while the
    /// proof was being verified). For a chunk job, once every chunk of the batch is done, the batch's aggregation
    /// job is created; for an aggregation job, the batch becomes proven.
    pub fn accept(&self, job_id: &str, lease_id: u64, output: &[u8], now: u64) -> Result<SubmitCheck> {
        self.write(|tx| {
            let job = Self::job_tx(tx, job_id)?.ok_or_else(|| Error::UnknownJob(job_id.to_owned()))?;
            if job.state == JobState::Done {
                return Ok(SubmitCheck::Duplicate);
            }
            if job.state != JobState::Leased || job.lease_id != lease_id {
                return Ok(SubmitCheck::Stale);
            }
            tx.execute(
                "UPDATE jobs SET state = 'done', output = ?2, attempts = attempts + 1, lease_deadline_ms = 0,
                        last_error = NULL, updated_ms = ?3
                 WHERE id = ?1",
                params![job_id, output, now as i64],
            )?;
            match job.kind {
                JobKind::Chunk => {
                    let (chunks, done): (i64, i64) = tx.query_row(
                        "SELECT b.chunks, (SELECT COUNT(*) FROM jobs j
                                           WHERE j.batch_index = b.batch_index AND j.kind = ?2 AND j.state = 'done')
                         FROM batches b WHERE b.batch_index = ?1",
                        params![job.batch_index as i64, JobKind::Chunk.code()],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?;
                    if done == chunks {
                        Self::insert_job(
                            tx,
                            &NewJob {
                                id: aggregation_job_id(job.batch_index),
                                kind: JobKind::Aggregation,
                                batch_index: job.batch_index,
                                chunk_index: 0,
                                input: Vec::new(),
                            },
                            now,
                        )?;
                    }
                }
                JobKind::Aggregation => {
                    tx.execute(
                        "UPDATE batches SET state = 'proven', proven_ms = ?2, proof = ?3
                         WHERE batch_index = ?1 AND state = 'proving'",
                        params![job.batch_index as i64, now as i64, output],
                    )?;
                }
            }
            Ok(SubmitCheck::Current(Self::job_tx(tx, job_id)?.ok_or_else(|| Error::UnknownJob(job_id.to_owned()))?))
        })
    }

    /// A proof that did not verify: the attempt is spent, the submitting worker's rejection count grows (it is
    /// drained at the policy's limit), and the job is queued again, preferably for another worker, or failed when
    /// out of attempts. Returns the job's new state, or `None` if the lease was no longer current.
    pub fn reject(
        &self,
        worker_id: &str,
        job_id: &str,
        lease_id: u64,
        reason: &str,
        now: u64,
    ) -> Result<Option<JobState>> {
        let policy = self.policy;
        self.write(|tx| {
            tx.execute(
                "UPDATE workers SET rejections = rejections + 1,
                        draining = CASE WHEN rejections + 1 >= ?2 THEN 1 ELSE draining END
                 WHERE id = ?1",
                params![worker_id, policy.max_rejections as i64],
            )?;
            Self::spend_attempt(tx, &policy, job_id, lease_id, true, reason, Some(worker_id), now)
        })
    }

    /// A failure reported by the worker holding the lease. Returns the job's new state, or `None` if the lease
    /// was no longer current.
    pub fn fail(
        &self,
        job_id: &str,
        lease_id: u64,
        retryable: bool,
        reason: &str,
        now: u64,
    ) -> Result<Option<JobState>> {
        let policy = self.policy;
        self.write(|tx| Self::spend_attempt(tx, &policy, job_id, lease_id, retryable, reason, None, now))
    }

    #[allow(clippy::too_many_arguments)]
    fn spend_attempt(
        tx: &Transaction<'_>,
        policy: &Policy,
        job_id: &str,
        lease_id: u64,
        retryable: bool,
        reason: &str,
        avoid_worker: Option<&str>,
        now: u64,
    ) -> Result<Option<JobState>> {
        let Some(job) = Self::job_tx(tx, job_id)? else { return Err(Error::UnknownJob(job_id.to_owned())) };
        if job.state != JobState::Leased || job.lease_id != lease_id {
            return Ok(None);
        }
        let spent = job.attempts + 1;
        let state = if retryable && spent < policy.max_attempts { JobState::Queued } else { JobState::Failed };
        tx.execute(
            "UPDATE jobs SET state = ?2, attempts = ?3, worker_id = NULL, lease_deadline_ms = 0, not_before_ms = ?4,
                    avoid_worker = COALESCE(?5, avoid_worker), last_error = ?6, updated_ms = ?7
             WHERE id = ?1",
            params![
                job_id,
                state.as_str(),
                spent as i64,
                (now + policy.backoff_ms(spent)) as i64,
                avoid_worker,
                reason,
                now as i64
            ],
        )?;
        Ok(Some(state))
    }

    /// Hands a lease back unfinished: the job is queued at once with no attempt spent. Returns whether the lease
    /// was current.
    pub fn release(&self, worker_id: &str, job_id: &str, lease_id: u64, now: u64) -> Result<bool> {
        self.write(|tx| {
            let released = tx.execute(
                "UPDATE jobs SET state = 'queued', worker_id = NULL, lease_deadline_ms = 0, updated_ms = ?4
                 WHERE id = ?1 AND lease_id = ?2 AND worker_id = ?3 AND state = 'leased'",
                params![job_id, lease_id as i64, worker_id, now as i64],
            )?;
            Ok(released == 1)
        })
    }

    /// Called once when the coordinator starts: time it was down does not count against workers. Every live session
    /// and every lease gets a full lease period from `now`, so workers that kept proving while the coordinator
    /// restarted keep their jobs if they heartbeat in time.
    pub fn resume(&self, now: u64) -> Result<()> {
        let ttl = self.policy.lease_ttl_ms;
        self.write(|tx| {
            tx.execute(
                "UPDATE jobs SET lease_deadline_ms = MAX(lease_deadline_ms, ?1) WHERE state = 'leased'",
                [(now + ttl) as i64],
            )?;
            tx.execute("UPDATE workers SET last_seen_ms = MAX(last_seen_ms, ?1) WHERE gone = 0", [now as i64])?;
            Ok(())
        })
    }

    /// Queues again every job whose lease lapsed (no attempt spent) and marks workers silent for longer than a
    /// lease as gone. Returns the requeued jobs.
    pub fn expire(&self, now: u64) -> Result<Vec<String>> {
        let ttl = self.policy.lease_ttl_ms;
        self.write(|tx| {
            let mut stmt = tx.prepare(
                "UPDATE jobs SET state = 'queued', worker_id = NULL, lease_deadline_ms = 0, updated_ms = ?1
                 WHERE state = 'leased' AND lease_deadline_ms < ?1 RETURNING id",
            )?;
            let ids = stmt.query_map([now as i64], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            drop(stmt);
            tx.execute(
                "UPDATE workers SET gone = 1 WHERE gone = 0 AND last_seen_ms + ?2 < ?1",
                params![now as i64, ttl as i64],
            )?;
            Ok(ids)
        })
    }

    /// Puts a job back in the queue with a fresh retry budget (an operator's decision).
    pub fn requeue(&self, job_id: &str, now: u64) -> Result<JobRecord> {
        self.write(|tx| {
            let job = Self::job_tx(tx, job_id)?.ok_or_else(|| Error::UnknownJob(job_id.to_owned()))?;
            if job.state == JobState::Done {
                return Err(Error::InvalidTransition { job: job_id.to_owned(), from: job.state, to: JobState::Queued });
            }
            tx.execute(
                "UPDATE jobs SET state = 'queued', attempts = 0, worker_id = NULL, lease_deadline_ms = 0,
                        not_before_ms = 0, avoid_worker = NULL, updated_ms = ?2
                 WHERE id = ?1",
                params![job_id, now as i64],
            )?;
            Self::job_tx(tx, job_id)?.ok_or_else(|| Error::UnknownJob(job_id.to_owned()))
        })
    }

    /// Stops a job (an operator's decision); a worker proving it learns at its next heartbeat.
    pub fn cancel(&self, job_id: &str, now: u64) -> Result<JobRecord> {
        self.write(|tx| {
            let job = Self::job_tx(tx, job_id)?.ok_or_else(|| Error::UnknownJob(job_id.to_owned()))?;
            if job.state == JobState::Done {
                return Err(Error::InvalidTransition {
                    job: job_id.to_owned(),
                    from: job.state,
                    to: JobState::Cancelled,
                });
            }
            tx.execute(
                "UPDATE jobs SET state = 'cancelled', worker_id = NULL, lease_deadline_ms = 0, updated_ms = ?2
                 WHERE id = ?1",
                params![job_id, now as i64],
            )?;
            Self::job_tx(tx, job_id)?.ok_or_else(|| Error::UnknownJob(job_id.to_owned()))
        })
    }

    fn job_tx(conn: &Connection, job_id: &str) -> Result<Option<JobRecord>> {
        let raw = conn
            .query_row(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"), [job_id], job_from_row)
            .optional()?;
        raw.map(finish_job).transpose()
    }

    /// A job.
    pub fn job(&self, job_id: &str) -> Result<Option<JobRecord>> {
        self.read(|conn| Self::job_tx(conn, job_id))
    }

    /// A job's input (the encoded witness of a chunk job).
    pub fn job_input(&self, job_id: &str) -> Result<Option<Vec<u8>>> {
        self.read(|conn| {
            Ok(conn.query_row("SELECT input FROM jobs WHERE id = ?1", [job_id], |r| r.get(0)).optional()?)
        })
    }

    /// The accepted chunk proofs of a batch, in chunk order.
    pub fn chunk_proofs(&self, batch_index: u64) -> Result<Vec<Vec<u8>>> {
        let mut conn = self.conn.lock().map_err(|_| Error::Poisoned)?;
        let tx = conn.transaction()?;
        let proofs = Self::chunk_outputs(&tx, batch_index)?;
        tx.commit()?;
        Ok(proofs)
    }

    /// A job's stored proof.
    pub fn job_output(&self, job_id: &str) -> Result<Option<Vec<u8>>> {
        self.read(|conn| {
            Ok(conn.query_row("SELECT output FROM jobs WHERE id = ?1", [job_id], |r| r.get(0)).optional()?.flatten())
        })
    }

    /// Jobs, newest first, optionally of one state and one batch.
    pub fn list_jobs(&self, state: Option<JobState>, batch: Option<u64>, limit: u32) -> Result<Vec<JobRecord>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs
                 WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR batch_index = ?2)
                 ORDER BY batch_index DESC, kind DESC, chunk_index DESC LIMIT ?3"
            ))?;
            let rows = stmt
                .query_map(params![state.map(JobState::as_str), batch.map(|b| b as i64), limit as i64], job_from_row)?;
            rows.map(|raw| finish_job(raw?)).collect()
        })
    }

    /// Proving times (lease to accepted proof, seconds) of the last `limit` jobs of `kind` that finished, newest
    /// first.
    pub fn recent_proving_seconds(&self, kind: JobKind, limit: u32) -> Result<Vec<f64>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT updated_ms - leased_ms FROM jobs
                 WHERE kind = ?1 AND state = 'done' AND leased_ms > 0
                 ORDER BY updated_ms DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![kind.code(), limit as i64], |r| r.get::<_, i64>(0))?;
            rows.map(|ms| Ok(ms?.max(0) as f64 / 1e3)).collect()
        })
    }

    /// Jobs in each state.
    pub fn job_counts(&self) -> Result<Vec<(JobState, u64)>> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            let mut counts: Vec<(JobState, u64)> = JobState::ALL.iter().map(|s| (*s, 0)).collect();
            for row in rows {
                let (state, count) = row?;
                let state = JobState::parse(&state)?;
                if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == state) {
                    slot.1 = count as u64;
                }
            }
            Ok(counts)
        })
    }
}

fn batch_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BatchRecord> {
    Ok(BatchRecord {
        index: r.get::<_, i64>(0)? as u64,
        state: r.get(1)?,
        chunks: r.get::<_, i64>(2)? as u32,
        meta: r.get(3)?,
        committed_ms: r.get::<_, i64>(4)? as u64,
        proven_ms: r.get::<_, i64>(5)? as u64,
        finalized_ms: r.get::<_, i64>(6)? as u64,
        finalize_tx: r.get(7)?,
    })
}

/// The id of a batch's chunk job.
pub fn chunk_job_id(batch: u64, chunk: u32) -> String {
    format!("b{batch}-c{chunk}")
}

/// The id of a batch's aggregation job.
pub fn aggregation_job_id(batch: u64) -> String {
    format!("b{batch}-agg")
}

/// Worker names become part of session ids: keep them to a safe alphabet.
fn sanitize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .take(64)
        .collect();
    if cleaned.is_empty() { "worker".to_owned() } else { cleaned }
}
