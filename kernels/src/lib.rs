//! BN254 multi-scalar multiplication and number-theoretic transforms for the halo2 prover.
//!
//! - [`cpu`]: the CPU twins (rayon). They are the CPU fallback and the reference every GPU test compares against.
//! - [`gpu`]: the CUDA kernels of `kernels/cuda`, compiled ahead of time into an embedded fatbin and loaded at run
//!   time through cudarc, so one binary runs on machines with and without a GPU.
//! - [`halo2`] (feature `halo2`, on by default): a halo2-axiom KZG commitment scheme whose commitments run these
//!   MSMs, on the GPU with the SRS resident or on the CPU twin; its proofs verify with halo2's standard verifier.
//!
//! Features: `halo2` (default) adds the [`halo2`] module and the halo2-axiom dependency.

pub mod cpu;
pub mod gpu;
#[cfg(feature = "halo2")]
pub mod halo2;
