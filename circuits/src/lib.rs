//! The rollup's halo2 circuits (KZG on BN254) through halo2-base, their keys, and the checking of their proofs.
//!
//! This crate never proves: proving (the MSM on the GPU or its CPU twin) is `zkr-prover`'s, so that a process that
//! only verifies (the coordinator) links neither the kernels nor CUDA.
//!
//! - [`chunk`]: the chunk circuit, the statement of [`zkr_protocol::ChunkPublicInputs`] over one chunk of a batch.
//! - [`keys`]: the setup ([`keys::KeysConfig`]), keys generated once and cached on disk, the aggregation circuit.
//! - [`verifier`]: chunk and batch proofs checked with the verifying keys alone, and their wire encoding.
//! - [`srs`]: the KZG parameters, and the verifier's few points of them.
//! - [`evm`]: the batch proof's EVM verifier split into contracts under the code size limit.
//! - [`gadgets`]: Poseidon (the state tree's hashes, proven by a custom-gate table) and byte handling.
//! - [`layout`]: the dimensions of a chunk circuit and its keccak table.
//! - [`progress`]: long stages (SRS, keys, proofs) logged with an estimate of the time left.

pub mod chunk;
mod error;
pub mod evm;
pub mod gadgets;
pub mod keys;
pub mod layout;
pub mod progress;
pub mod srs;
pub mod verifier;

pub use chunk::{ChunkCircuit, ChunkCircuitError, ChunkCircuitParams};
pub use error::Error;
pub use layout::ChunkShape;
