//! CPU twins of the GPU kernels, parallel on rayon's global pool.
//!
//! - [`msm`]: BN254 G1 multi-scalar multiplication (Pippenger, signed digits, batch-affine buckets), with the
//!   window choice [`window_bits`] and the digit recoding [`signed_digits`] that the GPU host code shares.
//! - [`NttDomain`]: BN254 `Fr` NTTs over `2^log_n`-element domains, plain, inverse, coset and batched, with the
//!   same ω as halo2's `EvaluationDomain`.
//!
//! They are the CPU fallback of the prover and the reference that every GPU test compares against; each is
//! checked against the halo2 implementation it replaces (`halo2curves::msm::msm_best`, halo2-axiom's `best_fft`).

mod msm;
mod ntt;

pub use msm::{BATCH_AFFINE_MIN_POINTS, MAX_WINDOW_BITS, msm, num_windows, signed_digits, window_bits};
pub use ntt::{MAX_LOG_N, NttDomain, NttError, bit_reverse_permute};
