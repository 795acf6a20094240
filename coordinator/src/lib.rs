//! The proving coordinator: it turns committed batches into proving jobs, leases them to prover workers over gRPC,
//! verifies every proof it is handed, aggregates each batch's chunk proofs, and finalizes the batches on L1 in order.
//!
//! ```text
//!  L1 Rollup (BatchCommitted) + node (rollup_getBatch)
//!        |  committed chunks --> prover's replica of the state --> chunk witnesses
//!        v
//!  store: batches, jobs, leases, workers <---- gRPC (zkr.prover.v1) ----> workers (gpu-prover/)
//!  (SQLite, or Postgres shared by several coordinators)
//!        |  all chunk proofs verified --> aggregation job --> batch proof verified
//!        v
//!  finalizer: Rollup.finalizeBatch in batch order, retried, re-sent after a reorg
//! ```
//!
//! The state machine of a job lives in [`store`]; everything else drives it.

pub mod chain;
pub mod checker;
pub mod config;
pub mod disputes;
mod error;
pub mod http;
pub mod metrics;
pub mod server;
pub mod service;
pub mod stages;
pub mod status;
pub mod store;

pub use checker::{CheckError, ProofChecker};
pub use error::{Error, Result};
pub use server::{BearerAuth, ServeError, TlsFiles, serve, serve_with_listener};
pub use service::{Coordinator, now_ms};
