//! The rollup's halo2 circuits, on halo2-axiom (KZG over BN254) through halo2-base.
//!
//! - [`chunk`]: the chunk circuit, the statement of [`zkr_protocol::ChunkPublicInputs`] over one chunk of a batch.
//! - [`evm`]: the batch proof's EVM verifier split into contracts under the code size limit.
//! - [`gadgets`]: Poseidon (the state tree's hashes, proven by a custom-gate table) and byte handling.
//! - [`layout`]: the dimensions of a chunk circuit and its keccak table.
//! - [`progress`]: long stages (SRS, keys, proofs) logged with an estimate of the time left.

pub mod chunk;
pub mod evm;
pub mod gadgets;
pub mod layout;
pub mod progress;
pub mod prover;

pub use chunk::{ChunkCircuit, ChunkCircuitError, ChunkCircuitParams};
pub use layout::ChunkShape;
