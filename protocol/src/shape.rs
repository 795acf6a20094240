//! The proof shape: the sizes every part of the system must agree on. It is written once, in the deployment file
//! (`zkr_contracts::Deployment`), at deployment: the Rollup is deployed with its `chunksPerBatch`, the batch verifier
//! is generated for its circuits, the node cuts batches to it, and the coordinator and its workers prove with it.
//! Every component reads it from there and refuses to start when its own settings say otherwise.

use serde::{Deserialize, Serialize};

use crate::chunk::MAX_CHUNK_SLOTS;

/// The most chunks per batch the Rollup accepts (`Rollup.MAX_CHUNKS_PER_BATCH`).
pub const MAX_CHUNKS_PER_BATCH: usize = 64;

/// How batches are cut and proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofShape {
    /// Records per chunk: the record slots of the chunk circuit (a power of two, at most [`MAX_CHUNK_SLOTS`]).
    pub chunk_slots: usize,
    /// log2 of the chunk circuit's rows.
    pub chunk_k: u32,
    /// Chunk positions of every batch proof (the Rollup's `chunksPerBatch`, 1 to [`MAX_CHUNKS_PER_BATCH`]): a batch
    /// holds 1 to this many chunks, padded with empty ones for the proof.
    pub chunks_per_batch: usize,
    /// log2 of the aggregation circuit's rows (at least the chunk circuit's).
    pub aggregation_k: u32,
}

impl Default for ProofShape {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl ProofShape {
    /// The default deployment's shape.
    pub const DEFAULT: Self = Self { chunk_slots: 4, chunk_k: 16, chunks_per_batch: 2, aggregation_k: 20 };

    /// The shape CI proves end to end: the smallest that keeps a real batch proof within minutes on 2 cores.
    pub const CI: Self = Self { chunk_slots: 2, chunk_k: 16, chunks_per_batch: 1, aggregation_k: 20 };

    /// Checks the sizes against each other and the protocol's bounds (not whether the circuit fits `chunk_k` rows:
    /// its layout says that, `zkr_circuits::ChunkShape::validate`).
    pub fn validate(&self) -> Result<(), String> {
        if !self.chunk_slots.is_power_of_two() || self.chunk_slots > MAX_CHUNK_SLOTS {
            return Err(format!(
                "chunk slots must be a power of two up to {MAX_CHUNK_SLOTS}, not {}",
                self.chunk_slots
            ));
        }
        if !(1..=MAX_CHUNKS_PER_BATCH).contains(&self.chunks_per_batch) {
            return Err(format!("chunks per batch must be 1 to {MAX_CHUNKS_PER_BATCH}, not {}", self.chunks_per_batch));
        }
        if self.aggregation_k < self.chunk_k {
            return Err(format!(
                "the aggregation circuit (k = {}) cannot be smaller than a chunk's (k = {})",
                self.aggregation_k, self.chunk_k
            ));
        }
        Ok(())
    }

    /// Most records a batch holds.
    pub const fn max_records(&self) -> usize {
        self.chunk_slots.saturating_mul(self.chunks_per_batch)
    }

    /// A short tag naming the shape (`s4-k16-n2-a20`), for file and folder names.
    pub fn tag(&self) -> String {
        format!("s{}-k{}-n{}-a{}", self.chunk_slots, self.chunk_k, self.chunks_per_batch, self.aggregation_k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_shapes_hold_and_bad_ones_are_named() {
        assert_eq!(ProofShape::DEFAULT.validate(), Ok(()));
        assert_eq!(ProofShape::CI.validate(), Ok(()));
        assert_eq!(ProofShape::DEFAULT.max_records(), 8);
        let bad = |f: fn(&mut ProofShape)| {
            let mut shape = ProofShape::DEFAULT;
            f(&mut shape);
            shape.validate().expect_err("refused")
        };
        assert!(bad(|s| s.chunk_slots = 3).contains("power of two"));
        assert!(bad(|s| s.chunk_slots = MAX_CHUNK_SLOTS * 2).contains("power of two"));
        assert!(bad(|s| s.chunks_per_batch = 0).contains("chunks per batch"));
        assert!(bad(|s| s.chunks_per_batch = MAX_CHUNKS_PER_BATCH + 1).contains("chunks per batch"));
        assert!(bad(|s| s.aggregation_k = 15).contains("cannot be smaller"));
    }

    #[test]
    fn the_shape_is_camel_case_json() {
        let json = serde_json::to_value(ProofShape::CI).expect("encodes");
        assert_eq!(json, serde_json::json!({"chunkSlots": 2, "chunkK": 16, "chunksPerBatch": 1, "aggregationK": 20}));
    }
}
