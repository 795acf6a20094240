//! Proof checking: the coordinator accepts no proof it has not verified against the statement of the job.
//!
//! A proof must verify *and* prove the job's statement: a chunk proof's public inputs must be the ones the job's
//! witness determines (so a valid proof of another chunk is refused), and a layer or batch proof's public inputs must
//! be the ones the accepted chunk proofs it covers determine.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkr_circuits::verifier::{Verifier, decode_field_elements};
use zkr_protocol::statement::{self, ACCUMULATOR_LIMBS};
use zkr_protos::v1::{BatchProof, ChunkProof, LayerProof};

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The proof's public inputs are not the job's statement.
    #[error("public inputs differ from the job's statement: {0}")]
    WrongStatement(String),
    /// The proof does not verify.
    #[error("the proof does not verify")]
    Invalid,
    /// The submission is malformed (wrong lengths, encodings).
    #[error("malformed proof: {0}")]
    Malformed(String),
    /// The job's own input could not be decoded (a coordinator-side problem, not the worker's).
    #[error("the job's input cannot be decoded: {0}")]
    BadJobInput(String),
}

/// Checks proofs against job statements. Implementations are called from blocking threads.
pub trait ProofChecker: Send + Sync + 'static {
    /// Checks a chunk proof for the job whose input is `witness` (the encoded chunk witness).
    fn check_chunk(&self, witness: &[u8], proof: &ChunkProof) -> Result<(), CheckError>;

    /// Checks a layer proof for the group whose accepted chunk proofs are `chunks`, in chunk order.
    fn check_layer(&self, chunks: &[ChunkProof], proof: &LayerProof) -> Result<(), CheckError>;

    /// Checks a batch proof for the batch whose accepted chunk proofs are `chunks`, in chunk order (with a layer
    /// too: the batch proof's statement is that of every chunk of the batch either way).
    fn check_batch(&self, chunks: &[ChunkProof], proof: &BatchProof) -> Result<(), CheckError>;
}

/// Checks that an aggregation proof's public inputs are an accumulator followed by the statement of `chunks`, and
/// returns them decoded.
fn check_statement(chunks: &[ChunkProof], instances: &[Vec<u8>]) -> Result<Vec<Fr>, CheckError> {
    let statement = batch_statement(chunks)?;
    if instances.len() != ACCUMULATOR_LIMBS + statement.len() {
        return Err(CheckError::Malformed(format!("{} public inputs", instances.len())));
    }
    if instances[ACCUMULATOR_LIMBS..] != statement[..] {
        return Err(CheckError::WrongStatement(
            "the inputs after the accumulator are not the chunks' statement".into(),
        ));
    }
    decode(instances)
}

/// The batch proof's public inputs after the accumulator, as the aggregation circuit exposes them and the Rollup
/// rebuilds them (`zkr_protocol::statement`). Words are 32-byte field elements as the chunk proofs carry them.
pub fn batch_statement(chunks: &[ChunkProof]) -> Result<Vec<Vec<u8>>, CheckError> {
    if chunks.is_empty() {
        return Err(CheckError::Malformed("a batch of no chunks".into()));
    }
    if let Some(bad) = chunks.iter().position(|c| c.instances.len() != statement::chunk::LEN) {
        return Err(CheckError::Malformed(format!("chunk {bad} has the wrong number of public inputs")));
    }
    Ok(statement::batch_statement(chunks.len())
        .into_iter()
        .map(|(j, input)| chunks[j].instances[input].clone())
        .collect())
}

/// The production checker: verifies with the circuits' verifying keys alone (no proving keys, SRS bases or MSM).
#[derive(Debug)]
pub struct CircuitChecker {
    verifier: Verifier,
}

impl CircuitChecker {
    /// Checks with `verifier` (the verifying keys of the setup the workers prove with).
    pub const fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }
}

fn decode(words: &[Vec<u8>]) -> Result<Vec<Fr>, CheckError> {
    decode_field_elements(words).map_err(|e| CheckError::Malformed(e.to_string()))
}

impl ProofChecker for CircuitChecker {
    fn check_chunk(&self, witness: &[u8], proof: &ChunkProof) -> Result<(), CheckError> {
        let witness: zkr_protocol::ChunkWitness =
            serde_json::from_slice(witness).map_err(|e| CheckError::BadJobInput(e.to_string()))?;
        let expected = zkr_circuits::chunk::public_inputs(&witness);
        let instances = decode(&proof.instances)?;
        if instances != expected {
            return Err(CheckError::WrongStatement(format!(
                "{} public inputs, {} of them differ",
                instances.len(),
                instances.iter().zip(&expected).filter(|(a, b)| a != b).count()
                    + instances.len().abs_diff(expected.len())
            )));
        }
        if self.verifier.chunk.verify(&instances, &proof.proof) { Ok(()) } else { Err(CheckError::Invalid) }
    }

    fn check_layer(&self, chunks: &[ChunkProof], proof: &LayerProof) -> Result<(), CheckError> {
        let Some(layer) = &self.verifier.layer else {
            return Err(CheckError::Malformed("a layer proof, and this setup has no layer".into()));
        };
        if chunks.len() != layer.group() {
            return Err(CheckError::BadJobInput(format!(
                "{} chunk proofs for a group of {}",
                chunks.len(),
                layer.group()
            )));
        }
        let instances = check_statement(chunks, &proof.instances)?;
        if layer.verify(&instances, &proof.proof) { Ok(()) } else { Err(CheckError::Invalid) }
    }

    fn check_batch(&self, chunks: &[ChunkProof], proof: &BatchProof) -> Result<(), CheckError> {
        let instances = check_statement(chunks, &proof.instances)?;
        let batch = zkr_circuits::verifier::BatchProof { instances, proof: proof.proof.clone() };
        if self.verifier.batch.verify(&batch) { Ok(()) } else { Err(CheckError::Invalid) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(tag: u8) -> ChunkProof {
        ChunkProof { instances: (0..10).map(|i| vec![tag, i]).collect(), proof: vec![] }
    }

    fn word(a: u8, b: u8) -> Vec<u8> {
        let mut word = vec![0; 32];
        (word[0], word[1]) = (a, b);
        word
    }

    /// A layer or batch proof must carry an accumulator, then exactly the statement of the chunks it covers, in
    /// order.
    #[test]
    fn an_aggregation_proof_must_state_its_chunks() {
        let chunk = |tag: u8| ChunkProof { instances: (0..10).map(|i| word(tag, i)).collect(), proof: vec![] };
        let chunks = [chunk(1), chunk(2)];
        let accumulator = (0..ACCUMULATOR_LIMBS as u8).map(|i| word(99, i));
        let instances: Vec<Vec<u8>> = accumulator.chain(batch_statement(&chunks).unwrap()).collect();
        assert_eq!(check_statement(&chunks, &instances).unwrap().len(), instances.len());

        let mut tampered = instances.clone();
        tampered[ACCUMULATOR_LIMBS + 3][5] ^= 1;
        assert!(matches!(check_statement(&chunks, &tampered), Err(CheckError::WrongStatement(_))));
        let swapped = [chunk(2), chunk(1)];
        assert!(matches!(check_statement(&swapped, &instances), Err(CheckError::WrongStatement(_))));
        assert!(matches!(check_statement(&chunks[..1], &instances), Err(CheckError::Malformed(_))));
        let short = &instances[..instances.len() - 1];
        assert!(matches!(check_statement(&chunks, short), Err(CheckError::Malformed(_))));
        let mut non_canonical = instances;
        non_canonical[0] = vec![0xff; 32];
        assert!(matches!(check_statement(&chunks, &non_canonical), Err(CheckError::Malformed(_))));
    }

    #[test]
    fn the_batch_statement_takes_the_ends_from_the_first_and_last_chunks() {
        let words = batch_statement(&[chunk(1), chunk(2)]).unwrap();
        let expected: Vec<Vec<u8>> = [
            [1, 0],
            [2, 1],
            [1, 4],
            [1, 5],
            [2, 6],
            [2, 7],
            [1, 2],
            [1, 3],
            [1, 8],
            [1, 9],
            [2, 2],
            [2, 3],
            [2, 8],
            [2, 9],
        ]
        .map(|w| w.to_vec())
        .to_vec();
        assert_eq!(words, expected);
        assert!(batch_statement(&[]).is_err());
        let mut short = chunk(1);
        short.instances.pop();
        assert!(batch_statement(&[short]).is_err());
    }
}
