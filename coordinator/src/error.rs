//! The coordinator's errors.

use crate::store::JobState;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the coordinator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQLite database failed.
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The Postgres database failed.
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    /// No Postgres connection could be had from the pool in time.
    #[error("postgres connection pool: {0}")]
    Pool(String),
    /// The database holds something this version does not understand.
    #[error("database holds an unknown {0}")]
    Corrupt(String),
    /// A blocking task panicked or was cancelled.
    #[error("task failed: {0}")]
    Task(String),
    /// A thread panicked while holding the database.
    #[error("the database lock is poisoned")]
    Poisoned,
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// A call quoted a worker session the coordinator never issued.
    #[error("unknown worker session {0}")]
    UnknownWorker(String),
    /// A call quoted a session that ended (deregistered, or silent for longer than a lease): register again.
    #[error("worker session {0} has ended; register again")]
    WorkerGone(String),
    /// A call named a job that does not exist.
    #[error("unknown job {0}")]
    UnknownJob(String),
    /// An operator asked for a change the job's state does not allow.
    #[error("job {job} is {from:?} and cannot become {to:?}")]
    InvalidTransition {
        /// The job.
        job: String,
        /// Its state.
        from: JobState,
        /// The state asked for.
        to: JobState,
    },
}

impl Error {
    /// Whether the caller sent something wrong (as opposed to the coordinator failing).
    pub const fn is_invalid_request(&self) -> bool {
        matches!(
            self,
            Self::UnknownWorker(_) | Self::WorkerGone(_) | Self::UnknownJob(_) | Self::InvalidTransition { .. }
        )
    }
}
