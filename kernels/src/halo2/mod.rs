//! A halo2-axiom commitment scheme whose commitments run this crate's MSM (feature `halo2`).
//!
//! halo2's prover commits through the `Params` / `ParamsProver` traits: `commit_lagrange` for the advice,
//! lookup and permutation columns (and, at key generation, the fixed ones), `commit` for the vanishing argument's
//! random polynomial and quotient pieces. [`MsmKzg`] is a [`CommitmentScheme`] whose prover parameters,
//! [`MsmParams`], wrap a [`ParamsKZG<Bn256>`] and answer those two calls with [`Gpu::msm`] over the SRS kept
//! resident on the device, or with the CPU twin [`crate::cpu::msm`] when there is no device:
//!
//! ```text
//!  ParamsKZG<Bn256> ──► MsmParams::new(kzg, Backend) ──► select(backend)
//!                          │ Gpu: upload g and g_lagrange once (DeviceBases, shared by clones)
//!                          │ Cpu / Auto without a device: keep a host copy of g_lagrange for the CPU twin
//!                          ▼
//!  create_proof::<MsmKzg, ShplonkProver, ..>(&msm_params, ..)
//!      commit / commit_lagrange ──► Gpu::msm | cpu::msm           (every commitment of the PLONK rounds)
//!      multi-open (SHPLONK / GWC) ──► halo2's own prover on the wrapped ParamsKZG (its 2 MSMs stay on halo2)
//!  verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK, ..>(msm_params.verifier_params(), ..)
//! ```
//!
//! The commitments are the same group elements [`ParamsKZG`] computes (the blinding argument is ignored, as in
//! halo2's KZG), so proofs are standard halo2 KZG proofs: `MsmParams::verifier_params` (from `ParamsProver`) is the wrapped
//! [`ParamsKZG`], and halo2's `verify_proof` with `KZGCommitmentScheme<Bn256>` and `VerifierSHPLONK` (or
//! `VerifierGWC`) checks them. Verifying keys made with [`MsmParams`] equal those made with the wrapped params.
//!
//! halo2-axiom's multi-open provers implement `Prover` only for `KZGCommitmentScheme` and hold a `&ParamsKZG`, whose
//! `commit` is halo2's `best_multiexp`; [`MsmProver`] adapts them to [`MsmKzg`] by handing them the wrapped
//! params, so the multi-open argument's commitments (two for SHPLONK, one per opening point for GWC) are computed
//! by halo2 on the CPU. Moving those onto the GPU as well means re-implementing the multi-open prover.
//!
//! A device error during a commitment is logged (`warn`, target `kernels::halo2`) and the commitment is computed
//! by halo2 instead, so a proof never fails or panics because of the GPU.
//!
//! [`Gpu::msm`]: crate::gpu::Gpu::msm
//! [`ParamsKZG<Bn256>`]: halo2_proofs::poly::kzg::commitment::ParamsKZG
//! [`ParamsKZG`]: halo2_proofs::poly::kzg::commitment::ParamsKZG
//! [`CommitmentScheme`]: halo2_proofs::poly::commitment::CommitmentScheme

mod params;
mod prover;

pub use params::{MsmKzg, MsmParams, ProverTimes};
pub use prover::{GwcProver, MsmProver, ShplonkProver};
