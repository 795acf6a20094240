//! Proof checking: the coordinator accepts no proof it has not verified against the statement of the job.
//!
//! A proof must verify *and* prove the job's statement: a chunk proof's public inputs must be the ones the job's
//! witness determines (so a valid proof of another chunk is refused), and a batch proof's public inputs must be the
//! ones the batch's accepted chunk proofs determine.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkr_circuits::verifier::{Verifier, decode_field_elements};
use zkr_protocol::statement::{self, ACCUMULATOR_LIMBS};
use zkr_protos::v1::{BatchProof, ChunkProof};

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

    /// Checks a batch proof for the batch whose accepted chunk proofs are `chunks`, in chunk order.
    fn check_batch(&self, chunks: &[ChunkProof], proof: &BatchProof) -> Result<(), CheckError>;
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

    fn check_batch(&self, chunks: &[ChunkProof], proof: &BatchProof) -> Result<(), CheckError> {
        let statement = batch_statement(chunks)?;
        if proof.instances.len() != ACCUMULATOR_LIMBS + statement.len() {
            return Err(CheckError::Malformed(format!("{} public inputs", proof.instances.len())));
        }
        if proof.instances[ACCUMULATOR_LIMBS..] != statement[..] {
            return Err(CheckError::WrongStatement("the batch inputs are not the chunks' statements".into()));
        }
        let batch =
            zkr_circuits::verifier::BatchProof { instances: decode(&proof.instances)?, proof: proof.proof.clone() };
        if self.verifier.batch.verify(&batch) { Ok(()) } else { Err(CheckError::Invalid) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(tag: u8) -> ChunkProof {
        ChunkProof { instances: (0..10).map(|i| vec![tag, i]).collect(), proof: vec![] }
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
