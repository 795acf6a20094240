//! Checking proofs with the verifying keys alone: what the coordinator links, without proving keys, SRS bases, the
//! prover's MSM or CUDA.
//!
//! Chunk proofs use the Poseidon transcript (cheap to verify inside the aggregation circuit); batch proofs the keccak
//! transcript the EVM verifier expects. Both are checked with halo2's SHPLONK verifier over the SRS's verifier part
//! (`crate::srs::verifier_params`), the same check a prover makes of its own proofs and the EVM verifier makes on L1.

use halo2_base::halo2_proofs::{
    halo2curves::{
        bn256::{Bn256, Fr, G1Affine},
        ff::PrimeField,
    },
    plonk::{VerifyingKey, verify_proof},
    poly::{
        VerificationStrategy,
        commitment::ParamsProver,
        kzg::{commitment::ParamsKZG, multiopen::VerifierSHPLONK, strategy::AccumulatorStrategy},
    },
    transcript::TranscriptReadBuffer,
};
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::{
    halo2::{POSEIDON_SPEC, PoseidonTranscript, aggregation::AggregationCircuit},
    snark_verifier::{loader::native::NativeLoader, system::halo2::transcript::evm::EvmTranscript},
};
use zkr_protocol::{chunk::CHUNK_PUBLIC_INPUTS, statement::ACCUMULATOR_LIMBS};

use crate::{
    ChunkCircuit, Error,
    keys::{
        AggregationKeyMeta, ChunkKeyMeta, KeysConfig, aggregation_keys_name, chunk_keys_name, evm_verifier_source,
        read_verifying_key,
    },
    srs::verifier_params,
};

/// Verifies a chunk proof (`instances`: its public inputs) against the chunk circuit's `vk`.
pub fn verify_chunk_proof(srs: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>, instances: &[Fr], proof: &[u8]) -> bool {
    if instances.len() != CHUNK_PUBLIC_INPUTS {
        return false;
    }
    let mut transcript = PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(proof, POSEIDON_SPEC.clone());
    verify_proof::<_, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        srs.verifier_params(),
        vk,
        AccumulatorStrategy::new(srs.verifier_params()),
        &[&[instances]],
        &mut transcript,
    )
    .is_ok_and(VerificationStrategy::<_, VerifierSHPLONK<'_, Bn256>>::finalize)
}

/// Verifies a batch proof against the aggregation circuit's `vk` (the same check as the EVM verifier).
pub fn verify_batch_proof(srs: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>, proof: &BatchProof) -> bool {
    let instances = [proof.instances.as_slice()];
    let mut transcript = TranscriptReadBuffer::<_, G1Affine, _>::init(proof.proof.as_slice());
    verify_proof::<_, VerifierSHPLONK<'_, Bn256>, _, EvmTranscript<_, _, _, _>, _>(
        srs.verifier_params(),
        vk,
        AccumulatorStrategy::new(srs.verifier_params()),
        &[instances.as_slice()],
        &mut transcript,
    )
    .is_ok_and(VerificationStrategy::<_, VerifierSHPLONK<'_, Bn256>>::finalize)
}

/// The chunk circuit's verifying key for a setup ([`KeysConfig`]), with the SRS's verifier points.
#[derive(Debug)]
pub struct ChunkVerifier {
    srs: ParamsKZG<Bn256>,
    vk: VerifyingKey<G1Affine>,
}

impl ChunkVerifier {
    /// Loads the chunk circuit's verifying key of `config` from its folder. Never generates anything: a missing file
    /// is an error naming it.
    pub fn load(config: &KeysConfig) -> Result<Self, Error> {
        config.validate()?;
        let params = config.chunk_params()?;
        // The file names hash the circuit's parameters: a file found is of this setup's circuit.
        let (_, vk) = read_verifying_key::<ChunkCircuit, ChunkKeyMeta>(&config.dir, &chunk_keys_name(&params), |m| {
            m.params.clone()
        })
        .map_err(missing)?;
        Ok(Self { srs: verifier_params(&config.dir, config.chunk.k).map_err(missing)?, vk })
    }

    /// Checks a chunk proof with its public inputs.
    pub fn verify(&self, instances: &[Fr], proof: &[u8]) -> bool {
        verify_chunk_proof(&self.srs, &self.vk, instances, proof)
    }
}

/// The aggregation circuit's verifying key for a setup ([`KeysConfig`]), with the SRS's verifier points.
#[derive(Debug)]
pub struct BatchVerifier {
    srs: ParamsKZG<Bn256>,
    vk: VerifyingKey<G1Affine>,
    chunks: usize,
}

impl BatchVerifier {
    /// Loads the aggregation circuit's verifying key of `config` from its folder. Never generates anything: a
    /// missing file is an error naming it.
    pub fn load(config: &KeysConfig) -> Result<Self, Error> {
        config.validate()?;
        let chunk = config.chunk_params()?;
        let name = aggregation_keys_name(config.aggregation_k, config.chunks_per_batch, &chunk);
        let (meta, vk) =
            read_verifying_key::<AggregationCircuit, AggregationKeyMeta>(&config.dir, &name, |meta| meta.config)
                .map_err(missing)?;
        if meta.chunks != config.chunks_per_batch {
            return Err(Error::Aggregation(format!(
                "the aggregation keys on disk take {} chunks, the setup {}",
                meta.chunks, config.chunks_per_batch
            )));
        }
        Ok(Self {
            srs: verifier_params(&config.dir, config.aggregation_k).map_err(missing)?,
            vk,
            chunks: config.chunks_per_batch,
        })
    }

    /// Checks a batch proof (its inputs begin with the accumulator).
    pub fn verify(&self, proof: &BatchProof) -> bool {
        verify_batch_proof(&self.srs, &self.vk, proof)
    }

    /// Chunk proofs per batch proof.
    pub const fn chunks(&self) -> usize {
        self.chunks
    }

    /// Solidity source of the batch proof's EVM verifier.
    pub fn evm_verifier_source(&self) -> String {
        evm_verifier_source(&self.srs, &self.vk, self.chunks)
    }
}

/// Both verifying keys of a setup: checks chunk and batch proofs and writes the EVM verifier, holding a few megabytes
/// (the keys' commitments and constraint systems) where the proving keys take gigabytes.
#[derive(Debug)]
pub struct Verifier {
    /// The chunk proofs' verifier.
    pub chunk: ChunkVerifier,
    /// The batch proofs' verifier.
    pub batch: BatchVerifier,
}

impl Verifier {
    /// Loads both verifying keys of `config`, as [`crate::keys::setup`] (or any prover's key generation) left them.
    pub fn load(config: &KeysConfig) -> Result<Self, Error> {
        Ok(Self { chunk: ChunkVerifier::load(config)?, batch: BatchVerifier::load(config)? })
    }
}

/// A missing file, explained: the verifying keys come from key generation.
fn missing(e: Error) -> Error {
    match e {
        Error::Io { context, source } => Error::Io {
            context: format!(
                "{context} (verifying keys are written by key generation: run `zkr-prove setup` with this setup's \
                 shape, or start a worker, first)"
            ),
            source,
        },
        other => other,
    }
}

/// A batch proof: the public inputs (accumulator first) and the proof bytes, as the EVM verifier takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchProof {
    /// Every public input, accumulator limbs first.
    pub instances: Vec<Fr>,
    /// The proof (keccak transcript).
    pub proof: Vec<u8>,
}

impl BatchProof {
    /// The accumulator limbs and the proof, as the Rollup's `proof` argument carries them: the on-chain adapter
    /// splices the Rollup's public inputs between the two.
    pub fn rollup_proof_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ACCUMULATOR_LIMBS * 32 + self.proof.len());
        for limb in &self.instances[..ACCUMULATOR_LIMBS] {
            let mut word = limb.to_repr();
            word.reverse();
            out.extend_from_slice(&word);
        }
        out.extend_from_slice(&self.proof);
        out
    }

    /// The public inputs after the accumulator, as 32-byte big-endian words (what the Rollup must supply).
    pub fn batch_inputs(&self) -> Vec<alloy_primitives::U256> {
        self.instances[ACCUMULATOR_LIMBS..].iter().map(|f| alloy_primitives::U256::from_le_bytes(f.to_repr())).collect()
    }

    /// The whole calldata of the generated EVM verifier: every public input then the proof.
    pub fn verifier_calldata(&self) -> Vec<u8> {
        snark_verifier_sdk::snark_verifier::loader::evm::encode_calldata(
            std::slice::from_ref(&self.instances),
            &self.proof,
        )
    }
}

/// Encodes field elements as 32-byte little-endian words (halo2's representation), as they travel between processes.
pub fn encode_field_elements(values: &[Fr]) -> Vec<Vec<u8>> {
    values.iter().map(|v| v.to_repr().as_ref().to_vec()).collect()
}

/// Decodes 32-byte little-endian words into field elements, refusing any word that is not exactly 32 bytes or not
/// below the field's modulus (a non-canonical encoding).
pub fn decode_field_elements(words: &[Vec<u8>]) -> Result<Vec<Fr>, Error> {
    words
        .iter()
        .enumerate()
        .map(|(i, word)| {
            let repr: [u8; 32] =
                word.as_slice().try_into().map_err(|_| Error::Encoding(format!("word {i} is not 32 bytes")))?;
            Option::from(Fr::from_repr(repr))
                .ok_or_else(|| Error::Encoding(format!("word {i} is not a canonical field element")))
        })
        .collect()
}

#[cfg(test)]
mod wire_tests {
    use super::*;

    #[test]
    fn field_elements_round_trip_and_non_canonical_words_are_refused() {
        let values = vec![Fr::zero(), Fr::one(), -Fr::one(), Fr::from(0xdead_beef_u64)];
        let words = encode_field_elements(&values);
        assert!(words.iter().all(|w| w.len() == 32));
        assert_eq!(decode_field_elements(&words).unwrap(), values);
        // The modulus itself and all-ones are not field elements; short words are not words.
        let modulus_le = {
            let mut w = encode_field_elements(&[-Fr::one()]).remove(0);
            w[0] += 1;
            w
        };
        for bad in [modulus_le, vec![0xff; 32], vec![0; 31]] {
            assert!(matches!(decode_field_elements(&[bad]), Err(Error::Encoding(_))));
        }
    }
}
