//! Checking proofs with the circuits' compiled verifying keys alone: what the coordinator links, without proving
//! keys, halo2 verifying keys, SRS bases, the prover's MSM or CUDA.
//!
//! A circuit's verifying key is kept as snark-verifier's [`PlonkProtocol`] (its commitments and the constraint
//! system as expressions: a few hundred kilobytes), written by key generation as `<name>.protocol` next to the keys,
//! and the SRS's deciding key (`g[0]`, `g2`, `s_g2`, [`crate::srs::deciding_key`]). Loading halo2's `VerifyingKey`
//! instead would build its evaluation domain, with the FFT tables of the extended domain: about 460 MB for the
//! aggregation circuit at k = 20, for a verifier that never runs an FFT.
//!
//! Proofs are checked by snark-verifier's native PLONK verifier, which decides every KZG accumulator: the proof's own
//! and, for a batch proof, the one its public inputs carry from the chunk proofs it aggregates (the check the EVM
//! verifier makes on L1, where halo2's `verify_proof` would check only the first). Chunk proofs use the Poseidon
//! transcript (cheap to verify inside the aggregation circuit), batch proofs the keccak transcript of the EVM
//! verifier.

use std::{
    fs::File,
    io::BufReader,
    panic::{AssertUnwindSafe, catch_unwind},
    path::Path,
    rc::Rc,
};

use halo2_base::halo2_proofs::halo2curves::{
    bn256::{Bn256, Fq, Fr, G1Affine},
    ff::PrimeField,
};
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::{
    PlonkVerifier, SHPLONK,
    halo2::{POSEIDON_SPEC, PoseidonTranscript},
    snark_verifier::{
        loader::{evm::EvmLoader, native::NativeLoader},
        pcs::kzg::KzgDecidingKey,
        system::halo2::transcript::evm::EvmTranscript,
        util::transcript::TranscriptRead,
        verifier::{SnarkVerifier, plonk::PlonkProtocol},
    },
};
use zkr_protocol::{
    chunk::CHUNK_PUBLIC_INPUTS,
    statement::{ACCUMULATOR_LIMBS, batch_statement_len},
};

use crate::{
    Error,
    error::io_err,
    keys::{KeyNames, KeysConfig},
    srs::deciding_key,
};

/// The SRS's part a KZG verifier needs: `g[0]`, `g2` and `s_g2`.
pub type DecidingKey = KzgDecidingKey<Bn256>;

/// Decides a proof read from `transcript` against `protocol` with `instances` (one instance column): every
/// accumulator, the proof's own and any its instances carry. Malformed input is a refusal, never a panic.
fn decide<T>(dk: &DecidingKey, protocol: &PlonkProtocol<G1Affine>, instances: &[Fr], transcript: &mut T) -> bool
where
    T: TranscriptRead<G1Affine, NativeLoader>,
{
    if protocol.num_instance != [instances.len()] {
        return false;
    }
    let instances = vec![instances.to_vec()];
    // The verifier asserts on shapes it expects; a proof from elsewhere must not take the process down with it.
    catch_unwind(AssertUnwindSafe(|| {
        PlonkVerifier::<SHPLONK>::read_proof(dk, protocol, &instances, transcript)
            .and_then(|proof| PlonkVerifier::<SHPLONK>::verify(dk, protocol, &instances, &proof))
            .is_ok()
    }))
    .unwrap_or(false)
}

/// Verifies a chunk proof (`instances`: its public inputs) against the chunk circuit's `protocol`.
pub fn verify_chunk_proof(
    dk: &DecidingKey,
    protocol: &PlonkProtocol<G1Affine>,
    instances: &[Fr],
    proof: &[u8],
) -> bool {
    instances.len() == CHUNK_PUBLIC_INPUTS
        && decide(
            dk,
            protocol,
            instances,
            &mut PoseidonTranscript::<NativeLoader, _>::from_spec(proof, POSEIDON_SPEC.clone()),
        )
}

/// Verifies a proof of an aggregation layer made for the layer above (Poseidon transcript, `instances`: its public
/// inputs, accumulator first) against the layer's `protocol`.
pub fn verify_layer_proof(
    dk: &DecidingKey,
    protocol: &PlonkProtocol<G1Affine>,
    instances: &[Fr],
    proof: &[u8],
) -> bool {
    decide(dk, protocol, instances, &mut PoseidonTranscript::<NativeLoader, _>::from_spec(proof, POSEIDON_SPEC.clone()))
}

/// Verifies a batch proof against the aggregation circuit's `protocol`: the same check as the EVM verifier.
pub fn verify_batch_proof(dk: &DecidingKey, protocol: &PlonkProtocol<G1Affine>, proof: &BatchProof) -> bool {
    let mut transcript = EvmTranscript::<G1Affine, NativeLoader, _, _>::new(proof.proof.as_slice());
    decide(dk, protocol, &proof.instances, &mut transcript)
}

/// Solidity source of the EVM verifier of `protocol` (snark-verifier's generator, the same code it writes from a
/// halo2 verifying key).
pub fn evm_verifier_source(dk: &DecidingKey, protocol: &PlonkProtocol<G1Affine>) -> Result<String, Error> {
    let loader = EvmLoader::new::<Fq, Fr>();
    let loaded = protocol.loaded(&loader);
    let mut transcript = EvmTranscript::<_, Rc<EvmLoader>, _, _>::new(&loader);
    let instances = transcript.load_instances(protocol.num_instance.clone());
    let generate = |e| Error::Aggregation(format!("generating the EVM verifier: {e:?}"));
    let proof = PlonkVerifier::<SHPLONK>::read_proof(dk, &loaded, &instances, &mut transcript).map_err(generate)?;
    PlonkVerifier::<SHPLONK>::verify(dk, &loaded, &instances, &proof).map_err(generate)?;
    Ok(loader.solidity_code())
}

/// Reads a circuit's compiled verifying key, `<name>.protocol` in `dir`.
pub(crate) fn read_protocol(dir: &Path, name: &str) -> Result<PlonkProtocol<G1Affine>, Error> {
    let path = dir.join(format!("{name}.protocol"));
    let file = File::open(&path).map_err(io_err(format!("opening {}", path.display())))?;
    bincode::deserialize_from(BufReader::new(file))
        .map_err(|e| io_err(format!("reading {}", path.display()))(std::io::Error::other(e)))
}

/// Reads the compiled verifying key `<name>.protocol` in `dir` of an aggregation circuit (the `what`) whose proofs
/// state `chunks` chunks, checking its public inputs: the accumulator, then that statement.
pub(crate) fn read_aggregation_protocol(
    dir: &Path,
    name: &str,
    chunks: usize,
    what: &str,
) -> Result<PlonkProtocol<G1Affine>, Error> {
    let protocol = read_protocol(dir, name).map_err(missing)?;
    let expected = ACCUMULATOR_LIMBS + batch_statement_len(chunks);
    if protocol.num_instance != [expected] {
        return Err(Error::Shape(format!(
            "the {what} protocol on disk takes {:?} public inputs, {chunks} chunks {expected}",
            protocol.num_instance
        )));
    }
    Ok(protocol)
}

/// The chunk circuit's compiled verifying key for a setup ([`KeysConfig`]), with the SRS's deciding key.
#[derive(Debug)]
pub struct ChunkVerifier {
    dk: DecidingKey,
    protocol: PlonkProtocol<G1Affine>,
}

impl ChunkVerifier {
    /// Loads the chunk circuit's verifying key of `config` from its folder. Never generates anything: a missing file
    /// is an error naming it.
    pub fn load(config: &KeysConfig) -> Result<Self, Error> {
        let protocol = Self::read(&config.dir, &config.key_names()?.chunk)?;
        Ok(Self { dk: deciding_key(&config.dir).map_err(missing)?, protocol })
    }

    /// Reads `<name>.protocol` in `dir`. The file names hash the circuit's parameters: a file found is of this
    /// setup's circuit.
    fn read(dir: &Path, name: &str) -> Result<PlonkProtocol<G1Affine>, Error> {
        let protocol = read_protocol(dir, name).map_err(missing)?;
        if protocol.num_instance != [CHUNK_PUBLIC_INPUTS] {
            return Err(Error::Shape(format!("a chunk protocol with {:?} public inputs", protocol.num_instance)));
        }
        Ok(protocol)
    }

    /// Checks a chunk proof with its public inputs.
    pub fn verify(&self, instances: &[Fr], proof: &[u8]) -> bool {
        verify_chunk_proof(&self.dk, &self.protocol, instances, proof)
    }
}

/// The aggregation circuit's compiled verifying key for a setup ([`KeysConfig`]), with the SRS's deciding key.
#[derive(Debug)]
pub struct BatchVerifier {
    dk: DecidingKey,
    protocol: PlonkProtocol<G1Affine>,
    chunks: usize,
}

impl BatchVerifier {
    /// Loads the aggregation circuit's verifying key of `config` from its folder. Never generates anything: a
    /// missing file is an error naming it.
    pub fn load(config: &KeysConfig) -> Result<Self, Error> {
        let chunks = config.shape.chunks_per_batch;
        let protocol = Self::read(&config.dir, &config.key_names()?.aggregation, chunks)?;
        Ok(Self { dk: deciding_key(&config.dir).map_err(missing)?, protocol, chunks })
    }

    /// Reads `<name>.protocol` in `dir`, for batches of `chunks` chunks.
    fn read(dir: &Path, name: &str, chunks: usize) -> Result<PlonkProtocol<G1Affine>, Error> {
        read_aggregation_protocol(dir, name, chunks, "aggregation")
    }

    /// Checks a batch proof (its inputs begin with the accumulator), as the EVM verifier does.
    pub fn verify(&self, proof: &BatchProof) -> bool {
        verify_batch_proof(&self.dk, &self.protocol, proof)
    }

    /// Chunk proofs per batch proof.
    pub const fn chunks(&self) -> usize {
        self.chunks
    }

    /// Solidity source of the batch proof's EVM verifier.
    pub fn evm_verifier_source(&self) -> Result<String, Error> {
        evm_verifier_source(&self.dk, &self.protocol)
    }
}

/// An aggregation layer's compiled verifying key for a setup with a layer ([`KeysConfig`]), with the SRS's deciding
/// key: checks layer proofs (Poseidon transcript), each the statement of a group of consecutive chunks.
#[derive(Debug)]
pub struct LayerVerifier {
    dk: DecidingKey,
    protocol: PlonkProtocol<G1Affine>,
    group: usize,
}

impl LayerVerifier {
    /// Reads `<name>.protocol` in `dir`, for groups of `group` chunks.
    fn read(dir: &Path, name: &str, group: usize, dk: DecidingKey) -> Result<Self, Error> {
        Ok(Self { dk, protocol: read_aggregation_protocol(dir, name, group, "layer")?, group })
    }

    /// Checks a layer proof with its public inputs (accumulator first).
    pub fn verify(&self, instances: &[Fr], proof: &[u8]) -> bool {
        verify_layer_proof(&self.dk, &self.protocol, instances, proof)
    }

    /// Chunks per layer proof.
    pub const fn group(&self) -> usize {
        self.group
    }
}

/// The verifying keys of a setup: checks chunk, layer and batch proofs and writes the EVM verifier, in a few
/// megabytes.
#[derive(Debug)]
pub struct Verifier {
    /// The chunk proofs' verifier.
    pub chunk: ChunkVerifier,
    /// The layer proofs' verifier, when the setup has a layer.
    pub layer: Option<LayerVerifier>,
    /// The batch proofs' verifier.
    pub batch: BatchVerifier,
}

impl Verifier {
    /// Loads the verifying keys of `config`, as [`crate::keys::setup`] (or any prover's key generation) left them.
    pub fn load(config: &KeysConfig) -> Result<Self, Error> {
        Self::read(config, &config.key_names()?)
    }

    /// Reads the verifying keys of `config`, under the names already derived from it, and the deciding key once.
    pub(crate) fn read(config: &KeysConfig, names: &KeyNames) -> Result<Self, Error> {
        let chunks = config.shape.chunks_per_batch;
        let chunk = ChunkVerifier::read(&config.dir, &names.chunk)?;
        let batch = BatchVerifier::read(&config.dir, &names.aggregation, chunks)?;
        let dk = deciding_key(&config.dir).map_err(missing)?;
        let layer = match (config.shape.layer, &names.layer) {
            (Some(layer), Some(name)) => Some(LayerVerifier::read(&config.dir, name, layer.group, dk.clone())?),
            _ => None,
        };
        Ok(Self {
            chunk: ChunkVerifier { dk: dk.clone(), protocol: chunk },
            layer,
            batch: BatchVerifier { dk, protocol: batch, chunks },
        })
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
mod tests {
    use super::*;

    /// A verifier never generates keys: without them it fails at once, naming the file and how to make it.
    #[test]
    fn a_keys_folder_without_the_compiled_keys_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let config = KeysConfig {
            dir: dir.path().to_path_buf(),
            shape: zkr_protocol::ProofShape::CI,
            fee_recipient: alloy_primitives::Address::repeat_byte(0xfe),
            dev_srs: true,
        };
        let err = Verifier::load(&config).unwrap_err().to_string();
        assert!(err.contains(".protocol") && err.contains("zkr-prove setup"), "{err}");
        // Nothing was written: not even with `dev_srs` does a verifier make an SRS or keys.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // A shape the protocol has no circuit for is refused before any file is read.
        let bad = KeysConfig { shape: zkr_protocol::ProofShape { chunk_slots: 3, ..config.shape }, ..config };
        assert!(Verifier::load(&bad).unwrap_err().to_string().contains("power of two"));
    }

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
