//! [`MsmProver`]: halo2's KZG multi-open provers, adapted to [`MsmKzg`].

use std::{io, time::Instant};

use halo2_proofs::{
    poly::{
        ProverQuery,
        commitment::Prover,
        kzg::{
            commitment::KZGCommitmentScheme,
            multiopen::{ProverGWC, ProverSHPLONK},
        },
    },
    transcript::{EncodedChallenge, TranscriptWrite},
};
use halo2curves::bn256::{Bn256, G1Affine};
use rand_core::RngCore;

use super::{MsmKzg, MsmParams};

/// A multi-open prover of halo2's `KZGCommitmentScheme<Bn256>` (`P`), usable with [`MsmKzg`].
///
/// halo2-axiom implements `Prover` for its SHPLONK and GWC provers only over `KZGCommitmentScheme`, so
/// `create_proof::<MsmKzg, ProverSHPLONK, ..>` does not type-check; this wrapper builds `P` on the params that
/// [`MsmParams`] wraps and forwards to it. The proof is byte for byte what `P` writes, so the matching halo2
/// verifier (`VerifierSHPLONK` / `VerifierGWC`) checks it. The multi-open argument's own commitments are `P`'s,
/// computed by halo2 (see the [module docs](super)). Its time is added to the params' [`super::ProverTimes`].
#[derive(Debug)]
pub struct MsmProver<'params, P> {
    inner: P,
    params: &'params MsmParams,
}

/// SHPLONK over [`MsmKzg`]: pair with halo2's `VerifierSHPLONK`.
pub type ShplonkProver<'params> = MsmProver<'params, ProverSHPLONK<'params, Bn256>>;

/// GWC over [`MsmKzg`]: pair with halo2's `VerifierGWC`.
pub type GwcProver<'params> = MsmProver<'params, ProverGWC<'params, Bn256>>;

impl<'params, P> Prover<'params, MsmKzg> for MsmProver<'params, P>
where
    P: Prover<'params, KZGCommitmentScheme<Bn256>>,
{
    const QUERY_INSTANCE: bool = P::QUERY_INSTANCE;

    fn new(params: &'params MsmParams) -> Self {
        Self { inner: P::new(params.kzg()), params }
    }

    fn create_proof<'com, E, T, R, I>(&self, rng: R, transcript: &mut T, queries: I) -> io::Result<()>
    where
        E: EncodedChallenge<G1Affine>,
        T: TranscriptWrite<G1Affine, E>,
        I: IntoIterator<Item = ProverQuery<'com, G1Affine>> + Clone,
        R: RngCore,
    {
        let start = Instant::now();
        let result = self.inner.create_proof(rng, transcript, queries);
        self.params.clock().add_opening(start.elapsed());
        result
    }
}
