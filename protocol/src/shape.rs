//! The proof shape: the sizes every part of the system must agree on. It is written once, in the deployment file
//! (`zkr_contracts::Deployment`), at deployment: the Rollup is deployed with its `chunksPerBatch`, the batch verifier
//! is generated for its circuits, the node cuts batches to it, and the coordinator and its workers prove with it.
//! Every component reads it from there and refuses to start when its own settings say otherwise.

use serde::{Deserialize, Serialize};

use crate::chunk::MAX_CHUNK_SLOTS;

/// The most chunks per batch the Rollup accepts (`Rollup.MAX_CHUNKS_PER_BATCH`).
pub const MAX_CHUNKS_PER_BATCH: usize = 64;

/// How batches are cut and proven.
///
/// Flat (no [`ProofShape::layer`]): one aggregation proof verifies every chunk proof of the batch. Layered: chunk
/// proofs are aggregated in groups of [`LayerShape::group`] consecutive chunks (one layer proof per group), and the
/// batch proof aggregates the layer proofs. Every proof of the tree exposes the statement of the chunks it covers in
/// the batch statement's layout (`crate::statement`), so the Rollup sees the same public inputs either way.
///
/// ```text
///  flat:     chunk 0 .. chunk n-1 ───────────────────────────────► batch proof (aggregation_k)
///  layered:  chunk 0 .. chunk g-1 ──► layer proof 0 (layer.k) ──┐
///            ...                                                ├► batch proof (aggregation_k)
///            chunk n-g .. chunk n-1 ─► layer proof n/g-1 ───────┘
/// ```
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
    /// log2 of the aggregation circuit's rows (at least the chunk circuit's): the circuit of the batch proof, the
    /// one the L1 verifier checks.
    pub aggregation_k: u32,
    /// The layer between the chunk proofs and the batch proof, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerShape>,
}

/// An aggregation layer between the chunk proofs and the batch proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerShape {
    /// Consecutive chunks per layer proof (divides the chunks per batch).
    pub group: usize,
    /// log2 of the layer circuit's rows (from the chunk circuit's to the aggregation circuit's).
    pub k: u32,
}

/// A `--layer` flag's value: `<group>:<k>`, or `none` for a flat shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerFlag(pub Option<LayerShape>);

impl std::str::FromStr for LayerFlag {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("none") {
            return Ok(Self(None));
        }
        s.parse().map(|layer| Self(Some(layer))).map_err(|err| format!("{err}, or none"))
    }
}

impl std::fmt::Display for LayerFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(layer) => layer.fmt(f),
            None => f.write_str("none"),
        }
    }
}

/// `<group>:<k>`, as the `--layer` flags take it.
impl std::str::FromStr for LayerShape {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse = || {
            let (group, k) = s.split_once(':')?;
            Some(Self { group: group.trim().parse().ok()?, k: k.trim().parse().ok()? })
        };
        parse().ok_or_else(|| format!("a layer is <chunks per group>:<k>, such as 2:20, not {s:?}"))
    }
}

impl std::fmt::Display for LayerShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.group, self.k)
    }
}

impl Default for ProofShape {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl ProofShape {
    /// The default deployment's shape, sized for throughput: 128 records a batch, so that the node's blocks of a
    /// batch each (every 250 ms by default) include up to 512 transfers a second. Each 64-slot chunk proof (k = 17)
    /// is aggregated alone in a layer proof at k = 20, and the batch proof aggregates the two layer proofs at k = 20:
    /// on the CPU path the whole batch was proven within 24 GiB (docs/perf.md), where one circuit over both chunks
    /// would verify twice as much. Development and CI use smaller shapes ([`ProofShape::CI`]).
    pub const DEFAULT: Self = Self {
        chunk_slots: 64,
        chunk_k: 17,
        chunks_per_batch: 2,
        aggregation_k: 20,
        layer: Some(LayerShape { group: 1, k: 20 }),
    };

    /// The shape CI proves end to end: the smallest that keeps a real batch proof within minutes on 2 cores.
    pub const CI: Self = Self { chunk_slots: 2, chunk_k: 16, chunks_per_batch: 1, aggregation_k: 20, layer: None };

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
        if let Some(layer) = self.layer {
            if layer.group == 0 || !self.chunks_per_batch.is_multiple_of(layer.group) {
                return Err(format!(
                    "a layer's group must divide the chunks per batch ({}), not {}",
                    self.chunks_per_batch, layer.group
                ));
            }
            if !(self.chunk_k..=self.aggregation_k).contains(&layer.k) {
                return Err(format!(
                    "the layer circuit (k = {}) must be from the chunk circuit's size (k = {}) to the aggregation \
                     circuit's (k = {})",
                    layer.k, self.chunk_k, self.aggregation_k
                ));
            }
        }
        Ok(())
    }

    /// Proofs the batch proof verifies: the chunk proofs when flat, the layer proofs when layered.
    pub const fn batch_inputs(&self) -> usize {
        match self.layer {
            Some(layer) if layer.group > 0 => self.chunks_per_batch / layer.group,
            _ => self.chunks_per_batch,
        }
    }

    /// Most records a batch holds.
    pub const fn max_records(&self) -> usize {
        self.chunk_slots.saturating_mul(self.chunks_per_batch)
    }

    /// A short tag naming the shape (`s4-k16-n2-a20`; layered, `s4-k16-n8-g2l20-a22`), for file and folder names.
    pub fn tag(&self) -> String {
        let layer = self.layer.map(|l| format!("-g{}l{}", l.group, l.k)).unwrap_or_default();
        format!("s{}-k{}-n{}{layer}-a{}", self.chunk_slots, self.chunk_k, self.chunks_per_batch, self.aggregation_k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_shapes_hold_and_bad_ones_are_named() {
        assert_eq!(ProofShape::DEFAULT.validate(), Ok(()));
        assert_eq!(ProofShape::CI.validate(), Ok(()));
        assert_eq!(ProofShape::DEFAULT.max_records(), 128);
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
        assert!(bad(|s| s.layer = Some(LayerShape { group: 0, k: 20 })).contains("divide"));
        assert!(bad(|s| s.layer = Some(LayerShape { group: 3, k: 20 })).contains("divide"));
        assert!(bad(|s| s.layer = Some(LayerShape { group: 1, k: 15 })).contains("layer circuit"));
        assert!(bad(|s| s.layer = Some(LayerShape { group: 1, k: 21 })).contains("layer circuit"));
    }

    #[test]
    fn a_layered_shape_names_its_layer_and_the_batch_proof_verifies_the_groups() {
        let shape = ProofShape {
            chunks_per_batch: 8,
            aggregation_k: 22,
            layer: Some(LayerShape { group: 2, k: 20 }),
            ..ProofShape::DEFAULT
        };
        assert_eq!(shape.validate(), Ok(()));
        assert_eq!(shape.batch_inputs(), 4);
        assert_eq!(ProofShape::DEFAULT.batch_inputs(), 2);
        assert_eq!(shape.tag(), "s64-k17-n8-g2l20-a22");
        assert_eq!(ProofShape::DEFAULT.tag(), "s64-k17-n2-g1l20-a20");
        let json = serde_json::to_value(shape).expect("encodes");
        assert_eq!(json["layer"], serde_json::json!({"group": 2, "k": 20}));
        assert_eq!(serde_json::from_value::<ProofShape>(json).expect("decodes"), shape);
        assert_eq!("2:20".parse::<LayerShape>(), Ok(LayerShape { group: 2, k: 20 }));
        assert_eq!(LayerShape { group: 2, k: 20 }.to_string(), "2:20");
        assert!("2".parse::<LayerShape>().is_err() && "a:20".parse::<LayerShape>().is_err());
        assert_eq!("none".parse::<LayerFlag>(), Ok(LayerFlag(None)));
        assert_eq!("1:20".parse::<LayerFlag>(), Ok(LayerFlag(Some(LayerShape { group: 1, k: 20 }))));
        assert_eq!(LayerFlag(ProofShape::DEFAULT.layer).to_string(), "1:20");
        assert_eq!(LayerFlag(None).to_string(), "none");
        assert!("flat".parse::<LayerFlag>().unwrap_err().ends_with("or none"));
    }

    #[test]
    fn the_shape_is_camel_case_json() {
        let json = serde_json::to_value(ProofShape::CI).expect("encodes");
        assert_eq!(json, serde_json::json!({"chunkSlots": 2, "chunkK": 16, "chunksPerBatch": 1, "aggregationK": 20}));
    }
}
