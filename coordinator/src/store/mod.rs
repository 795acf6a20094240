//! The coordinator's durable state: jobs, leases, workers and batches, in SQLite (one coordinator) or Postgres
//! (several coordinators sharing one database).
//!
//! Every state change is one database transaction, so a coordinator killed at any point restarts into a consistent
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
//!
//! On Postgres the same rows are shared by several coordinators: each operation locks what it reads before it
//! changes it, so two coordinators see the diagram above as one (see `postgres.rs`, and
//! `tests/it/shared.rs` for the races it is tested against). One of them leads ([`Store::try_lead`]).

mod postgres;
pub(crate) mod sql;
mod sqlite;

use std::{
    fmt,
    path::{Path, PathBuf},
    str::FromStr,
};

use sql::{Row, Tx, args};

use crate::{Error, Result};

/// What a job proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// One chunk of a batch.
    Chunk,
    /// The batch proof: the aggregation of a batch's chunk proofs, or of its layer proofs in a batch with a layer.
    Aggregation,
    /// A layer proof: the aggregation of a group of consecutive chunk proofs.
    Layer,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [Self::Chunk, Self::Layer, Self::Aggregation];

    /// The stored code: one bit per kind, so a worker's kinds are a mask (`jobs.kind & workers.kinds`).
    const fn code(self) -> i64 {
        match self {
            Self::Chunk => 1,
            Self::Aggregation => 2,
            Self::Layer => 4,
        }
    }

    fn from_code(code: i64) -> Result<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code).ok_or_else(|| Error::Corrupt(format!("job kind {code}")))
    }

    /// The label used in metrics and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Chunk => "chunk",
            Self::Aggregation => "aggregation",
            Self::Layer => "layer",
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
    /// Optimistic mode: waiting for its batch's output to be challenged (or sampled) before it is proven.
    Held,
}

impl JobState {
    /// Every state, in display order.
    pub const ALL: [Self; 6] = [Self::Queued, Self::Leased, Self::Done, Self::Failed, Self::Cancelled, Self::Held];

    /// The label used in the database, metrics and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Leased => "leased",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Held => "held",
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
    /// The chunk's position in the batch (the group's for a layer job, 0 for aggregation).
    pub chunk_index: u32,
    /// The input: an encoded chunk witness for chunk jobs, empty for the others (their inputs are proofs of the
    /// batch's other jobs).
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
    /// Its chunk position (its group's, for a layer job).
    pub chunk_index: u32,
    /// When the lease lapses unless extended (unix ms).
    pub deadline_ms: u64,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The input of a chunk job; for a layer job, its group's accepted chunk proofs in chunk order; for aggregation,
    /// the batch's accepted chunk proofs in chunk order, or its layer proofs in group order when `layered`.
    pub inputs: Vec<Vec<u8>>,
    /// The batch has a layer: an aggregation's inputs are layer proofs.
    pub layered: bool,
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

impl BatchRecord {
    /// Layer proofs the batch needs: 0 without a layer.
    pub const fn groups(&self) -> u32 {
        match self.chunks.checked_div(self.layer_group) {
            Some(groups) => groups,
            None => 0,
        }
    }
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
    /// Chunks per layer proof; 0 when the batch proof aggregates the chunk proofs directly.
    pub layer_group: u32,
    /// Chunk proofs accepted.
    pub chunks_proven: u32,
    /// Layer proofs accepted.
    pub groups_proven: u32,
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

/// Where the store lives: `--db` of `zkr-coordinator run`.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file: one coordinator.
    Sqlite(PathBuf),
    /// A Postgres database (`postgres://user:password@host:port/dbname`): any number of coordinators.
    Postgres(String),
}

impl FromStr for Location {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Self::Postgres(s.to_owned())
        } else {
            Self::Sqlite(PathBuf::from(s))
        })
    }
}

/// Shows where the store is without the Postgres password.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme), Some(at)) if at > scheme => write!(f, "{}://***@{}", &url[..scheme], &url[at + 1..]),
                _ => f.write_str(url),
            },
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Debug)]
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(Box<postgres::Postgres>),
}

/// The store: an SQLite database (a file, or memory in tests) for one coordinator, or a Postgres database shared by
/// several. Its calls block: async code runs them on tokio's blocking pool.
#[derive(Debug)]
pub struct Store {
    backend: Backend,
    policy: Policy,
}

/// The right to follow L1 and finalize, held by one coordinator of those sharing a store (see [`Store::try_lead`]).
pub struct Leader {
    session: Option<postgres::Session>,
}

impl fmt::Debug for Leader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leader").field("postgres", &self.session.is_some()).finish()
    }
}

impl Leader {
    /// Whether the lock is still held. On Postgres it asks the server (an error means the session is gone, and the
    /// lock with it); on SQLite the one coordinator always leads.
    pub fn still_leads(&mut self) -> Result<bool> {
        match &mut self.session {
            None => Ok(true),
            Some(client) => postgres::Postgres::still_leads(client),
        }
    }
}

const JOB_COLUMNS: &str = "id, kind, state, batch_index, chunk_index, attempts, lease_id, worker_id, \
                           lease_deadline_ms, last_error, created_ms, updated_ms, leased_ms";

/// A batch's columns, then the counts of its accepted chunk and layer proofs (kind codes 1 and 4: [`JobKind`]).
const BATCH_COLUMNS: &str = "batch_index, state, chunks, meta, committed_ms, proven_ms, finalized_ms, finalize_tx, \
                             layer_group, \
                             (SELECT COUNT(*) FROM jobs WHERE jobs.batch_index = batches.batch_index \
                              AND jobs.kind = 1 AND jobs.state = 'done'), \
                             (SELECT COUNT(*) FROM jobs WHERE jobs.batch_index = batches.batch_index \
                              AND jobs.kind = 4 AND jobs.state = 'done')";
const BATCH_COLUMN_COUNT: usize = 11;

fn job_from_row(row: &Row) -> Result<JobRecord> {
    Ok(JobRecord {
        id: row.text(0)?,
        kind: JobKind::from_code(row.int(1)?)?,
        state: JobState::parse(&row.text(2)?)?,
        batch_index: row.u64(3)?,
        chunk_index: row.u32(4)?,
        attempts: row.u32(5)?,
        lease_id: row.u64(6)?,
        worker_id: row.opt_text(7)?,
        lease_deadline_ms: row.u64(8)?,
        last_error: row.opt_text(9)?,
        created_ms: row.u64(10)?,
        updated_ms: row.u64(11)?,
        leased_ms: row.u64(12)?,
    })
}

fn batch_from_row(row: &Row) -> Result<BatchRecord> {
    Ok(BatchRecord {
        index: row.u64(0)?,
        state: row.text(1)?,
        chunks: row.u32(2)?,
        meta: row.blob(3)?,
        committed_ms: row.u64(4)?,
        proven_ms: row.u64(5)?,
        finalized_ms: row.u64(6)?,
        finalize_tx: row.opt_text(7)?,
        layer_group: row.u32(8)?,
        chunks_proven: row.u32(9)?,
        groups_proven: row.u32(10)?,
    })
}

fn worker_from_row(row: &Row) -> Result<WorkerRecord> {
    Ok(WorkerRecord {
        id: row.text(0)?,
        spec: WorkerSpec {
            name: row.text(1)?,
            backend: row.text(2)?,
            gpu_model: row.text(3)?,
            memory_bytes: row.u64(4)?,
            version: row.text(5)?,
            kinds: kinds_from_mask(row.int(6)?),
        },
        registered_ms: row.u64(7)?,
        last_seen_ms: row.u64(8)?,
        draining: row.flag(9)?,
        gone: row.flag(10)?,
        rejections: row.u32(11)?,
    })
}

fn kinds_mask(kinds: &[JobKind]) -> i64 {
    let kinds = if kinds.is_empty() { &JobKind::ALL[..] } else { kinds };
    kinds.iter().fold(0, |mask, k| mask | k.code())
}

fn kinds_from_mask(mask: i64) -> Vec<JobKind> {
    JobKind::ALL.into_iter().filter(|k| mask & k.code() != 0).collect()
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path`.
    pub fn open(path: &Path, policy: Policy) -> Result<Self> {
        Self::init(Backend::Sqlite(sqlite::Sqlite::open(path)?), policy)
    }

    /// Connects to a Postgres database (`postgres://user:password@host:port/dbname`) that several coordinators may
    /// share, creating the tables where they are missing.
    pub fn connect(url: &str, policy: Policy) -> Result<Self> {
        Self::init(Backend::Postgres(Box::new(postgres::Postgres::connect(url)?)), policy)
    }

    /// Opens the store at `location`.
    pub fn open_at(location: &Location, policy: Policy) -> Result<Self> {
        match location {
            Location::Sqlite(path) => Self::open(path, policy),
            Location::Postgres(url) => Self::connect(url, policy),
        }
    }

    /// An SQLite store in memory (tests).
    pub fn in_memory(policy: Policy) -> Result<Self> {
        Self::init(Backend::Sqlite(sqlite::Sqlite::in_memory()?), policy)
    }

    fn init(backend: Backend, policy: Policy) -> Result<Self> {
        let store = Self { backend, policy };
        store.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('lease_counter', 0), ('worker_counter', 0) ON CONFLICT DO NOTHING",
                &[],
            )
        })?;
        Ok(store)
    }

    /// The timing and retry rules.
    pub const fn policy(&self) -> &Policy {
        &self.policy
    }

    /// `sqlite` or `postgres`.
    pub const fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Takes the right to follow L1 and finalize, if no other coordinator holds it: on Postgres, a session-level
    /// advisory lock on a connection of its own, released when the [`Leader`] is dropped or the connection dies; on
    /// SQLite, always granted (one coordinator per database).
    pub fn try_lead(&self) -> Result<Option<Leader>> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(Some(Leader { session: None })),
            Backend::Postgres(db) => Ok(db.try_lead()?.map(|client| Leader { session: Some(client) })),
        }
    }

    fn write<T>(&self, mut f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        match &self.backend {
            Backend::Sqlite(db) => db.write(&mut f),
            Backend::Postgres(db) => db.write(&mut f),
        }
    }

    fn read<T>(&self, mut f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        match &self.backend {
            Backend::Sqlite(db) => db.read(&mut f),
            Backend::Postgres(db) => db.read(&mut f),
        }
    }

    fn next_counter(tx: &mut dyn Tx, key: &str) -> Result<u64> {
        tx.query_one("UPDATE meta SET value = value + 1 WHERE key = $1 RETURNING value", args![key])?.u64(0)
    }

    // ----- batches -----

    /// Records a committed batch and creates its chunk jobs; both are ignored if the batch is already known.
    /// Returns whether the batch was new. Its batch proof aggregates the chunk proofs directly.
    pub fn add_batch(&self, index: u64, meta: &[u8], chunk_inputs: Vec<Vec<u8>>, now: u64) -> Result<bool> {
        self.add_batch_in_groups(index, meta, chunk_inputs, 0, false, now)
    }

    /// Records a committed batch whose proof is not wanted yet (optimistic mode): its chunk jobs are created held,
    /// and no worker takes them until [`Store::release_batch`]. Returns whether the batch was new.
    pub fn add_held_batch(&self, index: u64, meta: &[u8], chunk_inputs: Vec<Vec<u8>>, now: u64) -> Result<bool> {
        self.add_batch_in_groups(index, meta, chunk_inputs, 0, true, now)
    }

    /// Records a committed batch and creates its chunk jobs (held when `held`, as [`Store::add_held_batch`]). With a
    /// `layer_group` (chunks per layer proof, dividing the batch's chunks; 0 for none), each group's layer job is
    /// created when the group's chunk proofs are accepted, and the aggregation job when every layer proof is;
    /// without, the aggregation job is created when every chunk proof is. Returns whether the batch was new.
    pub fn add_batch_in_groups(
        &self,
        index: u64,
        meta: &[u8],
        chunk_inputs: Vec<Vec<u8>>,
        layer_group: u32,
        held: bool,
        now: u64,
    ) -> Result<bool> {
        if layer_group > 0 && !chunk_inputs.len().is_multiple_of(layer_group as usize) {
            return Err(Error::Corrupt(format!(
                "batch {index}: {} chunks do not make groups of {layer_group}",
                chunk_inputs.len()
            )));
        }
        let (batch_state, job_state) = if held { ("held", JobState::Held) } else { ("proving", JobState::Queued) };
        self.write(|tx| {
            let inserted = tx.execute(
                "INSERT INTO batches (batch_index, state, chunks, meta, committed_ms, layer_group)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                args![index, batch_state, chunk_inputs.len() as u64, meta, now, layer_group],
            )?;
            if inserted == 0 {
                return Ok(false);
            }
            for (chunk, input) in chunk_inputs.iter().enumerate() {
                let chunk = chunk as u32;
                let id = chunk_job_id(index, chunk);
                Self::insert_job(tx, &id, JobKind::Chunk, index, chunk, input, now, job_state)?;
            }
            Ok(true)
        })
    }

    /// Queues the held jobs of `index` for proving (its output was challenged, or sampled). Returns whether there
    /// were any: false when the batch is not held (proving, proven, finalized or unknown).
    pub fn release_batch(&self, index: u64, now: u64) -> Result<bool> {
        self.write(|tx| {
            let released = tx.execute(
                "UPDATE batches SET state = 'proving' WHERE batch_index = $1 AND state = 'held'",
                args![index],
            )?;
            tx.execute(
                "UPDATE jobs SET state = 'queued', updated_ms = $2 WHERE batch_index = $1 AND state = 'held'",
                args![index, now],
            )?;
            Ok(released == 1)
        })
    }

    /// Marks a held batch finalized without a proof (its output's challenge window ended) and drops its held jobs.
    pub fn finalize_held_batch(&self, index: u64, now: u64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE batches SET state = 'finalized', finalized_ms = $2 WHERE batch_index = $1 AND state = 'held'",
                args![index, now],
            )?;
            tx.execute("DELETE FROM jobs WHERE batch_index = $1 AND state = 'held'", args![index])?;
            Ok(())
        })
    }

    /// Records a batch that L1 finalized before this coordinator saw it: no jobs, kept so the replica of the state
    /// can be rebuilt after a restart.
    pub fn add_finalized_batch(&self, index: u64, meta: &[u8], now: u64) -> Result<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "INSERT INTO batches (batch_index, state, chunks, meta, committed_ms, finalized_ms)
                 VALUES ($1, 'finalized', 0, $2, $3, $3) ON CONFLICT DO NOTHING",
                args![index, meta, now],
            )? == 1)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_job(
        tx: &mut dyn Tx,
        id: &str,
        kind: JobKind,
        batch_index: u64,
        chunk_index: u32,
        input: &[u8],
        now: u64,
        state: JobState,
    ) -> Result<()> {
        tx.execute(
            "INSERT INTO jobs (id, kind, batch_index, chunk_index, state, input, created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT DO NOTHING",
            args![id, kind.code(), batch_index, chunk_index, state.as_str(), input, now],
        )?;
        Ok(())
    }

    /// A batch.
    pub fn batch(&self, index: u64) -> Result<Option<BatchRecord>> {
        self.read(|tx| {
            tx.query_opt(&format!("SELECT {BATCH_COLUMNS} FROM batches WHERE batch_index = $1"), args![index])?
                .as_ref()
                .map(batch_from_row)
                .transpose()
        })
    }

    /// The newest `limit` batches, newest first.
    pub fn recent_batches(&self, limit: u32) -> Result<Vec<BatchRecord>> {
        self.read(|tx| {
            tx.query(&format!("SELECT {BATCH_COLUMNS} FROM batches ORDER BY batch_index DESC LIMIT $1"), args![limit])?
                .iter()
                .map(batch_from_row)
                .collect()
        })
    }

    /// The highest batch index known, if any.
    pub fn last_batch(&self) -> Result<Option<u64>> {
        self.read(|tx| Ok(tx.query_one("SELECT MAX(batch_index) FROM batches", &[])?.opt_int(0)?.map(|m| m as u64)))
    }

    /// The batch proof of a proven batch.
    pub fn batch_proof(&self, index: u64) -> Result<Option<Vec<u8>>> {
        self.read(|tx| {
            Ok(tx
                .query_opt("SELECT proof FROM batches WHERE batch_index = $1", args![index])?
                .map(|row| row.opt_blob(0))
                .transpose()?
                .flatten())
        })
    }

    /// The lowest proven batch that is not finalized yet, with its proof: the next to finalize.
    pub fn next_to_finalize(&self) -> Result<Option<(BatchRecord, Vec<u8>)>> {
        self.read(|tx| {
            let Some(row) = tx.query_opt(
                &format!(
                    "SELECT {BATCH_COLUMNS}, proof FROM batches WHERE state IN ('proven', 'finalizing')
                     ORDER BY batch_index LIMIT 1"
                ),
                &[],
            )?
            else {
                return Ok(None);
            };
            row.opt_blob(BATCH_COLUMN_COUNT)?.map(|proof| batch_from_row(&row).map(|batch| (batch, proof))).transpose()
        })
    }

    /// Records the finalization transaction sent for a batch.
    pub fn set_finalizing(&self, index: u64, tx_hash: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE batches SET state = 'finalizing', finalize_tx = $2 WHERE batch_index = $1 AND state != 'finalized'",
                args![index, tx_hash],
            )?;
            Ok(())
        })
    }

    /// Marks a batch finalized on L1.
    pub fn set_finalized(&self, index: u64, now: u64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE batches SET state = 'finalized', finalized_ms = $2 WHERE batch_index = $1 AND state != 'finalized'",
                args![index, now],
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
                 WHERE batch_index = $1 AND state IN ('finalizing', 'finalized')",
                args![index],
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
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                args![
                    &id,
                    &spec.name,
                    &spec.backend,
                    &spec.gpu_model,
                    spec.memory_bytes,
                    &spec.version,
                    kinds_mask(&spec.kinds),
                    now
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

    /// Marks a live worker seen; returns the kinds it takes and whether it is draining.
    fn live_worker(tx: &mut dyn Tx, worker_id: &str, now: u64) -> Result<(i64, bool)> {
        let seen = tx.query_opt(
            "UPDATE workers SET last_seen_ms = $2 WHERE id = $1 AND gone = 0 RETURNING kinds, draining",
            args![worker_id, now],
        )?;
        if let Some(row) = seen {
            return Ok((row.int(0)?, row.flag(1)?));
        }
        match tx.query_opt("SELECT gone FROM workers WHERE id = $1", args![worker_id])? {
            None => Err(Error::UnknownWorker(worker_id.to_owned())),
            Some(_) => Err(Error::WorkerGone(worker_id.to_owned())),
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
                    "UPDATE jobs SET lease_deadline_ms = $4, updated_ms = $5
                     WHERE id = $1 AND lease_id = $2 AND worker_id = $3 AND state = 'leased'",
                    args![job_id, *lease_id, worker_id, now + ttl, now],
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
            tx.execute("UPDATE workers SET gone = 1, last_seen_ms = $2 WHERE id = $1", args![worker_id, now])?;
            Self::requeue_held(tx, worker_id, now)
        })
    }

    fn requeue_held(tx: &mut dyn Tx, worker_id: &str, now: u64) -> Result<Vec<String>> {
        tx.query(
            "UPDATE jobs SET state = 'queued', worker_id = NULL, lease_deadline_ms = 0, updated_ms = $2
             WHERE worker_id = $1 AND state = 'leased' RETURNING id",
            args![worker_id, now],
        )?
        .iter()
        .map(|row| row.text(0))
        .collect()
    }

    /// Drains a worker, by session id or by name (every live session of that name).
    pub fn drain(&self, worker: &str) -> Result<Vec<WorkerRecord>> {
        let changed = self.write(|tx| {
            tx.execute("UPDATE workers SET draining = 1 WHERE (id = $1 OR name = $1) AND gone = 0", args![worker])
        })?;
        if changed == 0 {
            return Err(Error::UnknownWorker(worker.to_owned()));
        }
        Ok(self.workers()?.into_iter().filter(|w| (w.id == worker || w.spec.name == worker) && !w.gone).collect())
    }

    /// Every worker session that is not gone, then the gone ones seen in the last hour.
    pub fn workers(&self) -> Result<Vec<WorkerRecord>> {
        self.read(|tx| {
            tx.query(
                "SELECT id, name, backend, gpu_model, memory_bytes, version, kinds, registered_ms, last_seen_ms,
                        draining, gone, rejections
                 FROM workers ORDER BY gone, registered_ms, id",
                &[],
            )?
            .iter()
            .map(worker_from_row)
            .collect()
        })
    }

    // ----- jobs -----

    /// Leases the next job the worker can take: the lowest batch first, a job that refused this worker's proof last
    /// only when nothing else is ready. `None` if nothing is ready or the worker is draining. On Postgres, a job
    /// another coordinator is leasing at this moment is passed over.
    pub fn take_job(&self, worker_id: &str, now: u64) -> Result<Option<Lease>> {
        let ttl = self.policy.lease_ttl_ms;
        self.write(|tx| {
            let (kinds, draining) = Self::live_worker(tx, worker_id, now)?;
            if draining {
                return Ok(None);
            }
            let picked = tx.query_opt(
                &format!(
                    "SELECT id, kind, batch_index, chunk_index, attempts, input FROM jobs
                     WHERE state = 'queued' AND not_before_ms <= $1 AND (kind & $2) != 0
                     ORDER BY (avoid_worker IS NOT NULL AND avoid_worker = $3), batch_index, kind, chunk_index
                     LIMIT 1{}",
                    tx.skip_locked()
                ),
                args![now, kinds, worker_id],
            )?;
            let Some(row) = picked else { return Ok(None) };
            let (job_id, kind, batch_index) = (row.text(0)?, JobKind::from_code(row.int(1)?)?, row.u64(2)?);
            let lease_id = Self::next_counter(tx, "lease_counter")?;
            let deadline = now + ttl;
            tx.execute(
                "UPDATE jobs SET state = 'leased', lease_id = $2, worker_id = $3, lease_deadline_ms = $4, updated_ms = $5,
                                 leased_ms = $5
                 WHERE id = $1",
                args![&job_id, lease_id, worker_id, deadline, now],
            )?;
            let chunk_index = row.u32(3)?;
            let group = Self::layer_group(tx, batch_index, false)?;
            let inputs = match kind {
                JobKind::Chunk => vec![row.blob(5)?],
                JobKind::Layer => {
                    Self::outputs(tx, batch_index, JobKind::Chunk, group_chunks(group, chunk_index * group))?
                }
                JobKind::Aggregation if group > 0 => Self::outputs(tx, batch_index, JobKind::Layer, 0..u32::MAX)?,
                JobKind::Aggregation => Self::outputs(tx, batch_index, JobKind::Chunk, 0..u32::MAX)?,
            };
            Ok(Some(Lease {
                job_id,
                lease_id,
                kind,
                batch_index,
                chunk_index,
                deadline_ms: deadline,
                attempt: row.u32(4)? + 1,
                inputs,
                layered: group > 0,
            }))
        })
    }

    /// The accepted proofs of a batch's jobs of `kind` whose chunk (or group) index is in `range`, in index order.
    fn outputs(tx: &mut dyn Tx, batch_index: u64, kind: JobKind, range: std::ops::Range<u32>) -> Result<Vec<Vec<u8>>> {
        tx.query(
            "SELECT output FROM jobs WHERE batch_index = $1 AND kind = $2 AND state = 'done'
                    AND chunk_index >= $3 AND chunk_index < $4
             ORDER BY chunk_index",
            args![batch_index, kind.code(), range.start, range.end],
        )?
        .iter()
        .map(|row| row.blob(0))
        .collect()
    }

    /// A batch's chunks per layer proof (0 without a layer), its row locked until the transaction ends when `lock`.
    fn layer_group(tx: &mut dyn Tx, batch_index: u64, lock: bool) -> Result<u32> {
        let lock = if lock { tx.for_update() } else { "" };
        tx.query_opt(&format!("SELECT layer_group FROM batches WHERE batch_index = $1{lock}"), args![batch_index])?
            .map_or(Ok(0), |row| row.u32(0))
    }

    /// Classifies a submission before its proof is checked.
    pub fn check_submission(&self, worker_id: &str, job_id: &str, lease_id: u64, now: u64) -> Result<SubmitCheck> {
        self.write(|tx| {
            Self::live_worker(tx, worker_id, now)?;
            let job = Self::job_tx(tx, job_id, false)?.ok_or_else(|| Error::UnknownJob(job_id.to_owned()))?;
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
    /// proof was being verified). For a chunk job, once every chunk of its group is done, the group's layer job is
    /// created (a batch with a layer), or once every chunk of the batch is done, the batch's aggregation job (a
    /// batch without); for a layer job, once every group is done, the aggregation job; for an aggregation job, the
    /// batch becomes proven.
    pub fn accept(&self, job_id: &str, lease_id: u64, output: &[u8], now: u64) -> Result<SubmitCheck> {
        self.write(|tx| {
            let job = Self::job_tx(tx, job_id, true)?.ok_or_else(|| Error::UnknownJob(job_id.to_owned()))?;
            if job.state == JobState::Done {
                return Ok(SubmitCheck::Duplicate);
            }
            if job.state != JobState::Leased || job.lease_id != lease_id {
                return Ok(SubmitCheck::Stale);
            }
            tx.execute(
                "UPDATE jobs SET state = 'done', output = $2, attempts = attempts + 1, lease_deadline_ms = 0,
                        last_error = NULL, updated_ms = $3
                 WHERE id = $1",
                args![job_id, output, now],
            )?;
            let batch = job.batch_index;
            match job.kind {
                JobKind::Chunk | JobKind::Layer => {
                    // The batch row is locked before counting: of two coordinators accepting the last two proofs of
                    // a group (or batch) at once, the second counts after the first committed, so exactly one
                    // creates the next job.
                    let group = Self::layer_group(tx, batch, true)?;
                    let chunks =
                        tx.query_one("SELECT chunks FROM batches WHERE batch_index = $1", args![batch])?.u32(0)?;
                    let (range, expected, next) = match (job.kind, group) {
                        (JobKind::Chunk, 0) => (0..u32::MAX, chunks, None),
                        (JobKind::Chunk, group) => {
                            let j = job.chunk_index / group;
                            (group_chunks(group, job.chunk_index), group, Some(j))
                        }
                        _ => (0..u32::MAX, chunks / group.max(1), None),
                    };
                    let done = tx
                        .query_one(
                            "SELECT COUNT(*) FROM jobs WHERE batch_index = $1 AND kind = $2 AND state = 'done'
                                    AND chunk_index >= $3 AND chunk_index < $4",
                            args![batch, job.kind.code(), range.start, range.end],
                        )?
                        .u32(0)?;
                    if done == expected {
                        let (id, kind, index) = match next {
                            Some(j) => (layer_job_id(batch, j), JobKind::Layer, j),
                            None => (aggregation_job_id(batch), JobKind::Aggregation, 0),
                        };
                        Self::insert_job(tx, &id, kind, batch, index, &[], now, JobState::Queued)?;
                    }
                }
                JobKind::Aggregation => {
                    tx.execute(
                        "UPDATE batches SET state = 'proven', proven_ms = $2, proof = $3
                         WHERE batch_index = $1 AND state = 'proving'",
                        args![job.batch_index, now, output],
                    )?;
                }
            }
            Ok(SubmitCheck::Current(
                Self::job_tx(tx, job_id, false)?.ok_or_else(|| Error::UnknownJob(job_id.to_owned()))?,
            ))
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
                        draining = CASE WHEN rejections + 1 >= $2 THEN 1 ELSE draining END
                 WHERE id = $1",
                args![worker_id, policy.max_rejections],
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
        tx: &mut dyn Tx,
        policy: &Policy,
        job_id: &str,
        lease_id: u64,
        retryable: bool,
        reason: &str,
        avoid_worker: Option<&str>,
        now: u64,
    ) -> Result<Option<JobState>> {
        let Some(job) = Self::job_tx(tx, job_id, true)? else { return Err(Error::UnknownJob(job_id.to_owned())) };
        if job.state != JobState::Leased || job.lease_id != lease_id {
            return Ok(None);
        }
        let spent = job.attempts + 1;
        let state = if retryable && spent < policy.max_attempts { JobState::Queued } else { JobState::Failed };
        tx.execute(
            "UPDATE jobs SET state = $2, attempts = $3, worker_id = NULL, lease_deadline_ms = 0, not_before_ms = $4,
                    avoid_worker = COALESCE($5, avoid_worker), last_error = $6, updated_ms = $7
             WHERE id = $1",
            args![job_id, state.as_str(), spent, now + policy.backoff_ms(spent), avoid_worker, reason, now],
        )?;
        Ok(Some(state))
    }

    /// Hands a lease back unfinished: the job is queued at once with no attempt spent. Returns whether the lease
    /// was current.
    pub fn release(&self, worker_id: &str, job_id: &str, lease_id: u64, now: u64) -> Result<bool> {
        self.write(|tx| {
            let released = tx.execute(
                "UPDATE jobs SET state = 'queued', worker_id = NULL, lease_deadline_ms = 0, updated_ms = $4
                 WHERE id = $1 AND lease_id = $2 AND worker_id = $3 AND state = 'leased'",
                args![job_id, lease_id, worker_id, now],
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
                "UPDATE jobs SET lease_deadline_ms = $1 WHERE state = 'leased' AND lease_deadline_ms < $1",
                args![now + ttl],
            )?;
            tx.execute("UPDATE workers SET last_seen_ms = $1 WHERE gone = 0 AND last_seen_ms < $1", args![now])?;
            Ok(())
        })
    }

    /// Queues again every job whose lease lapsed (no attempt spent) and marks workers silent for longer than a
    /// lease as gone. Returns the requeued jobs.
    pub fn expire(&self, now: u64) -> Result<Vec<String>> {
        let ttl = self.policy.lease_ttl_ms;
        self.write(|tx| {
            let ids = tx
                .query(
                    "UPDATE jobs SET state = 'queued', worker_id = NULL, lease_deadline_ms = 0, updated_ms = $1
                     WHERE state = 'leased' AND lease_deadline_ms < $1 RETURNING id",
                    args![now],
                )?
                .iter()
                .map(|row| row.text(0))
                .collect::<Result<Vec<_>>>()?;
            tx.execute("UPDATE workers SET gone = 1 WHERE gone = 0 AND last_seen_ms + $2 < $1", args![now, ttl])?;
            Ok(ids)
        })
    }

    /// Puts a job back in the queue with a fresh retry budget (an operator's decision).
    pub fn requeue(&self, job_id: &str, now: u64) -> Result<JobRecord> {
        self.write(|tx| {
            let job = Self::job_tx(tx, job_id, true)?.ok_or_else(|| Error::UnknownJob(job_id.to_owned()))?;
            if job.state == JobState::Done {
                return Err(Error::InvalidTransition { job: job_id.to_owned(), from: job.state, to: JobState::Queued });
            }
            tx.execute(
                "UPDATE jobs SET state = 'queued', attempts = 0, worker_id = NULL, lease_deadline_ms = 0,
                        not_before_ms = 0, avoid_worker = NULL, updated_ms = $2
                 WHERE id = $1",
                args![job_id, now],
            )?;
            Self::job_tx(tx, job_id, false)?.ok_or_else(|| Error::UnknownJob(job_id.to_owned()))
        })
    }

    /// Stops a job (an operator's decision); a worker proving it learns at its next heartbeat.
    pub fn cancel(&self, job_id: &str, now: u64) -> Result<JobRecord> {
        self.write(|tx| {
            let job = Self::job_tx(tx, job_id, true)?.ok_or_else(|| Error::UnknownJob(job_id.to_owned()))?;
            if job.state == JobState::Done {
                return Err(Error::InvalidTransition {
                    job: job_id.to_owned(),
                    from: job.state,
                    to: JobState::Cancelled,
                });
            }
            tx.execute(
                "UPDATE jobs SET state = 'cancelled', worker_id = NULL, lease_deadline_ms = 0, updated_ms = $2
                 WHERE id = $1",
                args![job_id, now],
            )?;
            Self::job_tx(tx, job_id, false)?.ok_or_else(|| Error::UnknownJob(job_id.to_owned()))
        })
    }

    /// A job, its row locked until the transaction ends when `lock` (so what is read stays true while it is
    /// changed).
    fn job_tx(tx: &mut dyn Tx, job_id: &str, lock: bool) -> Result<Option<JobRecord>> {
        let lock = if lock { tx.for_update() } else { "" };
        tx.query_opt(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1{lock}"), args![job_id])?
            .as_ref()
            .map(job_from_row)
            .transpose()
    }

    /// A job.
    pub fn job(&self, job_id: &str) -> Result<Option<JobRecord>> {
        self.read(|tx| Self::job_tx(tx, job_id, false))
    }

    /// A job's input (the encoded witness of a chunk job).
    pub fn job_input(&self, job_id: &str) -> Result<Option<Vec<u8>>> {
        self.read(|tx| {
            tx.query_opt("SELECT input FROM jobs WHERE id = $1", args![job_id])?.map(|r| r.blob(0)).transpose()
        })
    }

    /// The accepted chunk proofs of a batch, in chunk order.
    pub fn chunk_proofs(&self, batch_index: u64) -> Result<Vec<Vec<u8>>> {
        self.read(|tx| Self::outputs(tx, batch_index, JobKind::Chunk, 0..u32::MAX))
    }

    /// The accepted chunk proofs of group `group` of a batch with a layer, in chunk order (none for a batch without).
    pub fn group_chunk_proofs(&self, batch_index: u64, group: u32) -> Result<Vec<Vec<u8>>> {
        self.read(|tx| {
            let size = Self::layer_group(tx, batch_index, false)?;
            if size == 0 {
                return Ok(Vec::new());
            }
            Self::outputs(tx, batch_index, JobKind::Chunk, group_chunks(size, group * size))
        })
    }

    /// A job's stored proof.
    pub fn job_output(&self, job_id: &str) -> Result<Option<Vec<u8>>> {
        self.read(|tx| {
            Ok(tx
                .query_opt("SELECT output FROM jobs WHERE id = $1", args![job_id])?
                .map(|r| r.opt_blob(0))
                .transpose()?
                .flatten())
        })
    }

    /// Jobs, newest first, optionally of one state and one batch.
    pub fn list_jobs(&self, state: Option<JobState>, batch: Option<u64>, limit: u32) -> Result<Vec<JobRecord>> {
        self.read(|tx| {
            let rows = match (state, batch) {
                (None, None) => tx.query(
                    &format!(
                        "SELECT {JOB_COLUMNS} FROM jobs
                         ORDER BY batch_index DESC, kind DESC, chunk_index DESC LIMIT $1"
                    ),
                    args![limit],
                )?,
                (Some(state), None) => tx.query(
                    &format!(
                        "SELECT {JOB_COLUMNS} FROM jobs WHERE state = $1
                         ORDER BY batch_index DESC, kind DESC, chunk_index DESC LIMIT $2"
                    ),
                    args![state.as_str(), limit],
                )?,
                (None, Some(batch)) => tx.query(
                    &format!(
                        "SELECT {JOB_COLUMNS} FROM jobs WHERE batch_index = $1
                         ORDER BY batch_index DESC, kind DESC, chunk_index DESC LIMIT $2"
                    ),
                    args![batch, limit],
                )?,
                (Some(state), Some(batch)) => tx.query(
                    &format!(
                        "SELECT {JOB_COLUMNS} FROM jobs WHERE state = $1 AND batch_index = $2
                         ORDER BY batch_index DESC, kind DESC, chunk_index DESC LIMIT $3"
                    ),
                    args![state.as_str(), batch, limit],
                )?,
            };
            rows.iter().map(job_from_row).collect()
        })
    }

    /// Proving times (lease to accepted proof, seconds) of the last `limit` jobs of `kind` that finished, newest
    /// first.
    pub fn recent_proving_seconds(&self, kind: JobKind, limit: u32) -> Result<Vec<f64>> {
        self.read(|tx| {
            tx.query(
                "SELECT updated_ms - leased_ms FROM jobs
                 WHERE kind = $1 AND state = 'done' AND leased_ms > 0
                 ORDER BY updated_ms DESC LIMIT $2",
                args![kind.code(), limit],
            )?
            .iter()
            .map(|row| Ok(row.int(0)?.max(0) as f64 / 1e3))
            .collect()
        })
    }

    /// Jobs in each state.
    pub fn job_counts(&self) -> Result<Vec<(JobState, u64)>> {
        self.read(|tx| {
            let mut counts: Vec<(JobState, u64)> = JobState::ALL.iter().map(|s| (*s, 0)).collect();
            for row in tx.query("SELECT state, COUNT(*) FROM jobs GROUP BY state", &[])? {
                let state = JobState::parse(&row.text(0)?)?;
                if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == state) {
                    slot.1 = row.u64(1)?;
                }
            }
            Ok(counts)
        })
    }
}

/// The id of a batch's chunk job.
pub fn chunk_job_id(batch: u64, chunk: u32) -> String {
    format!("b{batch}-c{chunk}")
}

/// The id of a batch's aggregation job.
pub fn aggregation_job_id(batch: u64) -> String {
    format!("b{batch}-agg")
}

/// The id of the layer job of group `group` of a batch.
pub fn layer_job_id(batch: u64, group: u32) -> String {
    format!("b{batch}-g{group}")
}

/// The chunk indices of the group (of `size` chunks) that holds chunk `chunk`.
fn group_chunks(size: u32, chunk: u32) -> std::ops::Range<u32> {
    let start = chunk / size.max(1) * size;
    start..start.saturating_add(size)
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
