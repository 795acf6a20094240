//! The prover worker: registers with the coordinator, takes jobs, proves them, streams stage progress, and submits
//! the proofs; on shutdown it hands its lease back.
//!
//! ```text
//!  register --> load keys for the cluster's setup --> loop { take job --> prove --> submit }
//!     \--> heartbeat task: keeps the session and leases alive, learns of revoked leases and draining
//! ```
//!
//! ```text
//!  Worker::new: select the device (--backend auto|gpu|cpu) --> register with that backend (and GPU model)
//!     --> load keys on the device (SRS uploaded once) --> if auto's upload failed: register again as cpu
//! ```
//!
//! Backends: halo2-axiom's prover with every commitment of the PLONK rounds on our MSM (`zkr_kernels::halo2::MsmKzg`,
//! through `zkr_prover`): on the GPU (`cuda`: CUDA kernels, SRS resident on the device) or on the MSM's
//! CPU twin (`cpu`). `--backend gpu` refuses to start without a usable GPU, saying why; `auto` takes the GPU
//! when one works and otherwise the CPU, logging the reason. The worker registers with the backend it proves with,
//! and its stage histogram carries it as the `backend` label.

mod client;
pub mod config;
mod prove;
mod worker;

pub use client::{Client, ClientConfig, connect};
pub use prove::{Backend, ProverBackend};
pub use worker::{Worker, WorkerConfig, WorkerError, metric_names};
