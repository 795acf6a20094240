//! Sealing batches: consecutive blocks cut into chunks of records, with everything a prover and a withdrawer need.

use std::time::Duration;

use alloy::primitives::{B256, Bytes, keccak256};
use serde::{Deserialize, Serialize};
use zkr_protocol::hashes::{batch_data_hash, batch_hash, genesis_batch_hash};
use zkr_protocol::{
    RECORD_BYTES, Record, batch_withdrawal_root,
    chunk::{ChunkPacker, MAX_CHUNK_SLOTS, SlotKind, batch_withdrawal_proof, withdrawal_leaf_index},
    chunk_withdrawal_root, encode_chunk,
};

use super::{CommitAttempt, SlotRecord, block_records};
use crate::{Block, Node, NodeError};

/// Records per chunk by default (the default deployment's proof shape).
pub const DEFAULT_CHUNK_SLOTS: usize = zkr_protocol::ProofShape::DEFAULT.chunk_slots;
/// Chunks per batch by default (the default deployment's proof shape).
pub const DEFAULT_CHUNKS_PER_BATCH: usize = zkr_protocol::ProofShape::DEFAULT.chunks_per_batch;

/// The shape of a batch: how many records a chunk holds (the record slots of the chunk circuit that proves it) and
/// how many chunks a batch holds (at most the Rollup's `chunksPerBatch`, the chunk positions of the batch proof).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchLimits {
    /// Records per chunk: a power of two, at most [`MAX_CHUNK_SLOTS`].
    pub chunk_slots: usize,
    /// Chunks per batch, at least 1.
    pub chunks_per_batch: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self { chunk_slots: DEFAULT_CHUNK_SLOTS, chunks_per_batch: DEFAULT_CHUNKS_PER_BATCH }
    }
}

impl From<zkr_protocol::ProofShape> for BatchLimits {
    fn from(shape: zkr_protocol::ProofShape) -> Self {
        Self { chunk_slots: shape.chunk_slots, chunks_per_batch: shape.chunks_per_batch }
    }
}

impl BatchLimits {
    /// Checks the shape.
    pub fn validate(&self) -> Result<(), String> {
        if !self.chunk_slots.is_power_of_two() || self.chunk_slots > MAX_CHUNK_SLOTS {
            return Err(format!(
                "chunk_slots must be a power of two up to {MAX_CHUNK_SLOTS}, not {}",
                self.chunk_slots
            ));
        }
        if self.chunks_per_batch == 0 {
            return Err("chunks_per_batch must be at least 1".into());
        }
        Ok(())
    }

    /// Most records a batch holds.
    pub const fn max_records(&self) -> usize {
        self.chunk_slots.saturating_mul(self.chunks_per_batch)
    }
}

/// A sealed batch: its L1 data, what a prover needs beyond it, and where it stands on L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchRecord {
    /// Batch index (1 is the first after genesis).
    pub index: u64,
    /// First L2 block.
    pub first_block: u64,
    /// Last L2 block.
    pub last_block: u64,
    /// Hash of the previous batch.
    pub parent_batch_hash: B256,
    /// Record slots of each chunk (of the chunk circuit that proves it).
    pub chunk_slots: usize,
    /// The committed chunks, in order: each `zkr_protocol::encode_chunk` of at most `chunk_slots` records, cut by
    /// [`ChunkPacker`]. There is always at least one (possibly empty) chunk.
    pub chunks: Vec<Bytes>,
    /// For each chunk, the leaves of its withdrawals in record order (leaf `j` of its withdrawal subtree is its
    /// `j`-th withdrawal's hash; the rest are zero).
    pub chunk_withdrawals: Vec<Vec<B256>>,
    /// The batch's data hash: keccak256 of the chunks' keccak256 hashes, concatenated in order
    /// (`zkr_protocol::hashes::batch_data_hash`).
    pub data_hash: B256,
    /// The batch hash the Rollup computes.
    pub batch_hash: B256,
    /// State root before the batch (after block `first_block - 1`).
    pub prev_state_root: B256,
    /// State root after the batch.
    pub new_state_root: B256,
    /// Deposits credited before the batch: its first deposit's queue index.
    pub deposit_start: u64,
    /// Deposits credited up to the end of the batch.
    pub deposit_end: u64,
    /// The Portal's deposit hash chain after `deposit_start` deposits.
    pub deposit_hash_before: B256,
    /// The chain after `deposit_end` deposits.
    pub deposit_hash_after: B256,
    /// Root of the batch's withdrawal tree (`zkr_protocol::batch_withdrawal_root` of the chunks' subtree roots).
    pub withdrawal_root: B256,
    /// The latest commit transaction sent, if any.
    pub commit: Option<CommitAttempt>,
    /// L1 block in which the commit was seen.
    pub committed_at: Option<u64>,
}

impl BatchRecord {
    /// The batch of consecutive blocks from `first` to `last` whose records are `records`, after `parent_block` (the
    /// block before `first`) and the batch `previous` (`None` for batch 1).
    fn from_records(
        previous: Option<&Self>,
        parent_block: &Block,
        (first, last): (&Block, &Block),
        records: &[SlotRecord],
        chunk_slots: usize,
    ) -> Self {
        let index = previous.map_or(1, |b| b.index + 1);
        let parent_batch_hash = previous.map_or_else(genesis_batch_hash, |b| b.batch_hash);
        let mut packer = ChunkPacker::new(chunk_slots);
        let mut chunk_records: Vec<Vec<Record>> = Vec::new();
        let mut chunk_withdrawals: Vec<Vec<B256>> = Vec::new();
        for slot in records {
            let kind = SlotKind::of(&slot.record);
            let chunk = packer.push(kind);
            if chunk == chunk_records.len() {
                chunk_records.push(Vec::new());
                chunk_withdrawals.push(Vec::new());
            }
            chunk_records[chunk].push(slot.record);
            if kind == SlotKind::Withdrawal {
                chunk_withdrawals[chunk].push(slot.withdrawal_leaf);
            }
        }
        let mut chunks: Vec<Bytes> = chunk_records.iter().map(|records| encode_chunk(records).into()).collect();
        if chunks.is_empty() {
            // The Rollup takes 1 to chunksPerBatch chunks; an empty one is valid.
            chunks.push(Bytes::new());
            chunk_withdrawals.push(Vec::new());
        }
        let chunk_roots: Vec<B256> = chunk_withdrawals.iter().map(|leaves| chunk_withdrawal_root(leaves)).collect();
        let data_hash = batch_data_hash(&chunks);
        let (deposit_start, deposit_end) = (parent_block.deposit_count, last.deposit_count);
        Self {
            index,
            first_block: first.number(),
            last_block: last.number(),
            parent_batch_hash,
            chunk_slots,
            batch_hash: batch_hash(index, parent_batch_hash, data_hash, deposit_start, deposit_end),
            data_hash,
            chunks,
            chunk_withdrawals,
            prev_state_root: parent_block.header.state_root,
            new_state_root: last.header.state_root,
            deposit_start,
            deposit_end,
            deposit_hash_before: parent_block.deposit_hash,
            deposit_hash_after: last.deposit_hash,
            withdrawal_root: batch_withdrawal_root(&chunk_roots),
            commit: None,
            committed_at: None,
        }
    }

    /// keccak256 of each chunk, in order: `finalizeBatch`'s `chunkDataHashes`.
    pub fn chunk_data_hashes(&self) -> Vec<B256> {
        self.chunks.iter().map(keccak256).collect()
    }

    /// Each chunk's withdrawal subtree root, in order: `finalizeBatch`'s `chunkWithdrawalRoots`.
    pub fn chunk_withdrawal_roots(&self) -> Vec<B256> {
        self.chunk_withdrawals.iter().map(|leaves| chunk_withdrawal_root(leaves)).collect()
    }

    /// Where the withdrawal with leaf hash `leaf` sits in the batch's tree: its leaf index and its Portal proof
    /// (siblings from the leaf up). `None` if the batch holds no such withdrawal.
    pub fn withdrawal_proof(&self, leaf: B256) -> Option<(u64, Vec<B256>)> {
        if leaf.is_zero() {
            return None;
        }
        let (chunk, slot) = self.chunk_withdrawals.iter().enumerate().find_map(|(chunk, leaves)| {
            leaves.iter().position(|candidate| *candidate == leaf).map(|slot| (chunk, slot))
        })?;
        let proof = batch_withdrawal_proof(&self.chunk_withdrawals, chunk, slot)?;
        Some((withdrawal_leaf_index(chunk, slot), proof))
    }

    /// Number of records in the batch.
    pub fn record_count(&self) -> usize {
        self.chunks.iter().map(|chunk| chunk.len() / RECORD_BYTES).sum()
    }
}

/// Why blocks do not make a batch.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The batch shape is not one the protocol has (see [`BatchLimits::validate`]).
    #[error("{0}")]
    Limits(String),
    /// A block's records take more chunks than a batch has: it was made while the sequencer's limits
    /// (`max_block_records`, `max_block_deposits`, `max_block_withdrawals`) were above what a batch of this shape
    /// takes.
    #[error("block {block} holds {records} records, which take {chunks} chunks of a batch of at most {max}")]
    BlockTooLarge {
        /// The block.
        block: u64,
        /// Its records.
        records: usize,
        /// The chunks they take.
        chunks: usize,
        /// Chunks per batch.
        max: usize,
    },
    /// A block has no record form.
    #[error(transparent)]
    Records(#[from] super::RecordConversionError),
    /// The node failed to read blocks or store the batch.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// Seals every batch that is ready from the blocks after the last sealed one, stores each, and returns them: a
/// one-off [`Sealer`] (the batcher keeps one, so that it reads each block once).
pub fn seal_batches(
    node: &Node,
    limits: BatchLimits,
    max_age: Duration,
    now: u64,
) -> Result<Vec<BatchRecord>, BatchError> {
    Sealer::new(limits, max_age).seal(node, now)
}

/// Cuts the node's blocks into batches.
///
/// Blocks are taken whole and in order while their records fit `limits.chunks_per_batch` chunks as [`ChunkPacker`]
/// cuts them. A batch is sealed once the next block's records would not fit (or its last chunk is full), or once its first block holding a record is `max_age`
/// old. Empty blocks (the sequencer makes one every interval on an idle chain) add no record: a batch of empty blocks
/// only is never sealed, since committing and proving it would cost L1 gas for nothing; they join the next batch that
/// holds a record. The sealer remembers the blocks it has read for the batch it is filling, so a long idle stretch
/// is read once rather than at every round.
#[derive(Debug)]
pub struct Sealer {
    limits: BatchLimits,
    max_age: Duration,
    filling: Option<Filling>,
}

/// The batch being filled: blocks `first..next` read so far.
#[derive(Debug)]
struct Filling {
    first: u64,
    next: u64,
    parent_block: Block,
    /// The first and the last block read, once one is.
    span: Option<(Block, Block)>,
    records: Vec<SlotRecord>,
    /// The chunks `records` take.
    packer: ChunkPacker,
    /// Timestamp of the first block that holds a record.
    first_record_at: Option<u64>,
    /// The next block's records do not fit, or the batch is exactly full.
    full: bool,
}

impl Filling {
    /// An empty batch that starts after `parent_block`.
    fn after(parent_block: Block, slots: usize) -> Self {
        let first = parent_block.number() + 1;
        Self {
            first,
            next: first,
            parent_block,
            span: None,
            records: Vec::new(),
            packer: ChunkPacker::new(slots),
            first_record_at: None,
            full: false,
        }
    }
}

impl Sealer {
    /// A sealer for batches of this shape.
    pub const fn new(limits: BatchLimits, max_age: Duration) -> Self {
        Self { limits, max_age, filling: None }
    }

    /// Seals every batch that is ready at `now` (Unix seconds), stores each, and returns them.
    pub fn seal(&mut self, node: &Node, now: u64) -> Result<Vec<BatchRecord>, BatchError> {
        self.limits.validate().map_err(BatchError::Limits)?;
        let (slots, max_chunks) = (self.limits.chunk_slots, self.limits.chunks_per_batch);
        let store = node.store();
        let block = |number: u64| {
            node.block_by_number(number)?.ok_or_else(|| NodeError::Inconsistent(format!("block {number} is missing")))
        };
        let stored: Option<BatchRecord> = match store.last_batch_index().map_err(NodeError::from)? {
            Some(index) => node.batch(index)?,
            None => None,
        };
        let first = stored.as_ref().map_or(1, |b| b.last_block + 1);
        let mut filling = match self.filling.take() {
            Some(filling) if filling.first == first => filling,
            _ => Filling::after(block(first - 1)?, slots),
        };
        let head = node.head().number();
        let mut sealed = Vec::new();
        loop {
            while !filling.full && filling.next <= head {
                let number = filling.next;
                let block = block(number)?;
                let mine = block_records(&block)?;
                let kinds = || mine.iter().map(|slot| SlotKind::of(&slot.record));
                let mut packer = filling.packer;
                packer.extend(kinds());
                if packer.chunks() > max_chunks {
                    // A block that opens a batch has the batch to itself; if it does not fit even so, it never will.
                    let alone =
                        if filling.records.is_empty() { packer.chunks() } else { ChunkPacker::count(slots, kinds()) };
                    if alone > max_chunks {
                        return Err(BatchError::BlockTooLarge {
                            block: number,
                            records: mine.len(),
                            chunks: alone,
                            max: max_chunks,
                        });
                    }
                    filling.full = true;
                    break;
                }
                filling.packer = packer;
                if !mine.is_empty() && filling.first_record_at.is_none() {
                    filling.first_record_at = Some(block.header.timestamp);
                }
                filling.records.extend(mine);
                filling.next += 1;
                filling.full = packer.chunks() == max_chunks && packer.chunk_full();
                match &mut filling.span {
                    Some((_, last)) => *last = block,
                    None => filling.span = Some((block.clone(), block)),
                }
            }
            let ready = filling
                .first_record_at
                .is_some_and(|at| filling.full || Duration::from_secs(now.saturating_sub(at)) >= self.max_age);
            let (true, Some((first_block, last_block))) = (ready, &filling.span) else {
                self.filling = Some(filling);
                return Ok(sealed);
            };
            let record = BatchRecord::from_records(
                sealed.last().or(stored.as_ref()),
                &filling.parent_block,
                (first_block, last_block),
                &filling.records,
                self.limits.chunk_slots,
            );
            tracing::info!(
                target: "node::batcher",
                index = record.index,
                blocks = %format!("{}..={}", record.first_block, record.last_block),
                records = filling.records.len(),
                chunks = record.chunks.len(),
                bytes = record.chunks.iter().map(|chunk| chunk.len()).sum::<usize>(),
                "batch sealed"
            );
            metrics::histogram!(crate::metrics::BATCH_RECORDS).record(filling.records.len() as f64);
            metrics::histogram!(crate::metrics::BATCH_BYTES)
                .record(record.chunks.iter().map(|chunk| chunk.len()).sum::<usize>() as f64);
            store.put_batch(record.index, &record).map_err(NodeError::from)?;
            // The next batch starts after this one's last block, already in hand.
            let next = Filling::after(last_block.clone(), slots);
            sealed.push(record);
            filling = next;
        }
    }
}
