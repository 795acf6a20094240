//! The prover worker: registers with the coordinator, takes jobs, proves them, streams stage progress, and submits
//! the proofs; on shutdown it hands its lease back.
//!
//! ```text
//!  register --> load keys for the cluster's setup --> loop { take job --> prove --> submit }
//!     \--> heartbeat task: keeps the session and leases alive, learns of revoked leases and draining
//! ```
//!
//! Backends: the CPU prover (halo2-axiom's) today. The CUDA backend arrives with kernels/; until then a worker asked
//! for it says so and does not start.

mod client;
mod prove;
mod worker;

pub use client::{Client, ClientConfig, connect};
pub use prove::{Backend, ProverBackend};
pub use worker::{Worker, WorkerConfig, WorkerError, metric_names};
