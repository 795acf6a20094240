//! BN254 multi-scalar multiplication and number-theoretic transforms for the halo2 prover.
//!
//! - [`cpu`]: the CPU twins (rayon). They are the CPU fallback and the reference every GPU test compares against.
//! - [`gpu`]: the CUDA kernels of `kernels/cuda`, compiled ahead of time into an embedded fatbin and loaded at run
//!   time through cudarc, so one binary runs on machines with and without a GPU.

pub mod cpu;
pub mod gpu;
