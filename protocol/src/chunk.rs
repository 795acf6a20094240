//! A chunk's statement, and where its withdrawals sit in its batch's withdrawal tree.
//!
//! The chunk proof's public inputs, in order (each a BN254 scalar; 256-bit hashes as two 128-bit halves, high first):
//!
//! ```text
//!  0     state root before the chunk
//!  1     state root after the chunk
//!  2, 3  keccak256 of the chunk's bytes
//!  4, 5  the Portal's deposit hash-chain value before the chunk's deposits
//!  6, 7  the hash-chain value after them
//!  8, 9  root of the chunk's withdrawal subtree
//! ```
//!
//! The withdrawal tree of a batch is the Portal's keccak tree of depth 32. Chunk `c` owns the aligned subtree of
//! height [`CHUNK_WITHDRAWAL_HEIGHT`] that starts at leaf `c << CHUNK_WITHDRAWAL_HEIGHT`, and the chunk's `j`-th
//! withdrawal (in record order) owns leaf `j` of it; the leaves after its last withdrawal are zero. So each chunk proves
//! its own subtree root without knowing the others, and the batch root is computed from the chunk roots (by the
//! aggregation's caller, the Rollup contract).
//!
//! A chunk credits at most [`max_chunk_deposits`] deposits and holds at most [`max_chunk_withdrawals`] withdrawals.
//! [`ChunkPacker`] is the rule that cuts a sequence of records into chunks under these caps: the batcher seals chunks
//! by it, and the sequencer keeps every block within one batch of it.

use crate::hashes::{WITHDRAWAL_TREE_DEPTH, split_u256, withdrawal_node, withdrawal_zero_hashes};
use alloy_primitives::{B256, U256};
use serde::{Deserialize, Serialize};

/// Height of a chunk's withdrawal subtree: a chunk holds at most `2^CHUNK_WITHDRAWAL_HEIGHT` records.
pub const CHUNK_WITHDRAWAL_HEIGHT: usize = 10;

/// Most records a chunk can hold, whatever its circuit.
pub const MAX_CHUNK_SLOTS: usize = 1 << CHUNK_WITHDRAWAL_HEIGHT;

/// Most deposits a chunk of `slots` record slots may credit: a quarter of its slots, at least one.
///
/// The cap is a sequencer rule and a constraint of the chunk circuit. It exists because every deposit costs the circuit
/// a keccak permutation (a step of the Portal's hash chain) that it must reserve whether it is used or not; reserving
/// one per slot made the keccak table, not the records, the bulk of a chunk proof.
pub const fn max_chunk_deposits(slots: usize) -> usize {
    if slots < 4 { 1 } else { slots / 4 }
}

/// Most withdrawals a chunk of `slots` record slots may hold: a quarter of its slots, at least one. A sequencer rule
/// and a constraint, for the reason given at [`max_chunk_deposits`]: each withdrawal costs a keccak leaf and its share
/// of the subtree's nodes.
pub const fn max_chunk_withdrawals(slots: usize) -> usize {
    if slots < 4 { 1 } else { slots / 4 }
}

/// Number of public inputs of a chunk proof.
pub const CHUNK_PUBLIC_INPUTS: usize = 10;

/// What a chunk proof states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkPublicInputs {
    /// State root before the chunk.
    pub prev_state_root: B256,
    /// State root after it.
    pub new_state_root: B256,
    /// keccak256 of the chunk's bytes.
    pub data_hash: B256,
    /// Deposit hash-chain value before the chunk.
    pub deposit_hash_before: B256,
    /// Deposit hash-chain value after it.
    pub deposit_hash_after: B256,
    /// Root of the chunk's withdrawal subtree.
    pub withdrawal_root: B256,
}

impl ChunkPublicInputs {
    /// The public inputs as 256-bit integers, in the order of the module docs. State roots are field elements already;
    /// hashes are split.
    pub fn to_words(&self) -> [U256; CHUNK_PUBLIC_INPUTS] {
        let (data_hi, data_lo) = split_u256(self.data_hash);
        let (before_hi, before_lo) = split_u256(self.deposit_hash_before);
        let (after_hi, after_lo) = split_u256(self.deposit_hash_after);
        let (wd_hi, wd_lo) = split_u256(self.withdrawal_root);
        [
            U256::from_be_bytes(self.prev_state_root.0),
            U256::from_be_bytes(self.new_state_root.0),
            data_hi,
            data_lo,
            before_hi,
            before_lo,
            after_hi,
            after_lo,
            wd_hi,
            wd_lo,
        ]
    }
}

/// What a record is to the chunk caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// A deposit credited on L2.
    Deposit,
    /// A transfer to any address but the withdrawal address.
    Transfer,
    /// A transfer to the withdrawal address.
    Withdrawal,
}

impl SlotKind {
    /// The kind of `record`.
    pub fn of(record: &crate::Record) -> Self {
        match record {
            crate::Record::Deposit(_) => Self::Deposit,
            crate::Record::Transfer(t) if t.to == crate::WITHDRAWAL_ADDRESS => Self::Withdrawal,
            crate::Record::Transfer(_) => Self::Transfer,
        }
    }
}

/// Cuts a sequence of records into chunks of `slots` slots: a record goes into the open chunk unless that chunk is full
/// or would exceed [`max_chunk_deposits`] or [`max_chunk_withdrawals`] with it, and then it opens the next chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPacker {
    slots: usize,
    chunks: usize,
    records: usize,
    deposits: usize,
    withdrawals: usize,
}

impl ChunkPacker {
    /// No record yet, for chunks of `slots` slots.
    pub const fn new(slots: usize) -> Self {
        Self { slots, chunks: 0, records: 0, deposits: 0, withdrawals: 0 }
    }

    /// Places a record of kind `kind` and returns the index of its chunk.
    pub fn push(&mut self, kind: SlotKind) -> usize {
        let (deposit, withdrawal) = (kind == SlotKind::Deposit, kind == SlotKind::Withdrawal);
        let fits = self.chunks > 0
            && self.records < self.slots
            && (!deposit || self.deposits < max_chunk_deposits(self.slots))
            && (!withdrawal || self.withdrawals < max_chunk_withdrawals(self.slots));
        if !fits {
            self.chunks += 1;
            self.records = 0;
            self.deposits = 0;
            self.withdrawals = 0;
        }
        self.records += 1;
        self.deposits += usize::from(deposit);
        self.withdrawals += usize::from(withdrawal);
        self.chunks - 1
    }

    /// Whether the open chunk has no slot left.
    pub const fn chunk_full(&self) -> bool {
        self.chunks > 0 && self.records == self.slots
    }

    /// Places records of kinds `kinds`, in order.
    pub fn extend(&mut self, kinds: impl IntoIterator<Item = SlotKind>) {
        for kind in kinds {
            self.push(kind);
        }
    }

    /// Chunks opened so far.
    pub const fn chunks(&self) -> usize {
        self.chunks
    }

    /// The chunks `kinds` takes, from an empty packer.
    pub fn count(slots: usize, kinds: impl IntoIterator<Item = SlotKind>) -> usize {
        let mut packer = Self::new(slots);
        packer.extend(kinds);
        packer.chunks()
    }
}

/// Root of a chunk's withdrawal subtree from its withdrawals' leaves, in record order.
///
/// # Panics
/// If there are more than [`MAX_CHUNK_SLOTS`] leaves.
pub fn chunk_withdrawal_root(leaves: &[B256]) -> B256 {
    assert!(leaves.len() <= MAX_CHUNK_SLOTS, "a chunk holds at most {MAX_CHUNK_SLOTS} records");
    subtree_levels(leaves, CHUNK_WITHDRAWAL_HEIGHT)[CHUNK_WITHDRAWAL_HEIGHT][0]
}

/// Root of a batch's withdrawal tree from its chunks' subtree roots, in chunk order.
pub fn batch_withdrawal_root(chunk_roots: &[B256]) -> B256 {
    subtree_levels_from(chunk_roots, CHUNK_WITHDRAWAL_HEIGHT, WITHDRAWAL_TREE_DEPTH)
        [WITHDRAWAL_TREE_DEPTH - CHUNK_WITHDRAWAL_HEIGHT][0]
}

/// The leaf index in the batch tree of withdrawal `slot` (its position among the chunk's withdrawals) of chunk
/// `chunk`.
pub const fn withdrawal_leaf_index(chunk: usize, slot: usize) -> u64 {
    ((chunk as u64) << CHUNK_WITHDRAWAL_HEIGHT) | slot as u64
}

/// The Portal proof (siblings from the leaf up) of leaf `slot` of chunk `chunk`, given every chunk's leaves. `None` if
/// the leaf is out of range.
pub fn batch_withdrawal_proof(chunks: &[Vec<B256>], chunk: usize, slot: usize) -> Option<Vec<B256>> {
    let leaves = chunks.get(chunk)?;
    if slot >= MAX_CHUNK_SLOTS || leaves.len() > MAX_CHUNK_SLOTS {
        return None;
    }
    let lower = subtree_levels(leaves, CHUNK_WITHDRAWAL_HEIGHT);
    let roots: Vec<B256> = chunks.iter().map(|leaves| chunk_withdrawal_root(leaves)).collect();
    let upper = subtree_levels_from(&roots, CHUNK_WITHDRAWAL_HEIGHT, WITHDRAWAL_TREE_DEPTH);
    let zeros = withdrawal_zero_hashes();
    let sibling = |levels: &[Vec<B256>], level: usize, index: usize, height: usize| {
        levels[level].get(index ^ 1).copied().unwrap_or(zeros[height])
    };
    let mut proof = Vec::with_capacity(WITHDRAWAL_TREE_DEPTH);
    for height in 0..CHUNK_WITHDRAWAL_HEIGHT {
        proof.push(sibling(&lower, height, slot >> height, height));
    }
    for height in CHUNK_WITHDRAWAL_HEIGHT..WITHDRAWAL_TREE_DEPTH {
        proof.push(sibling(
            &upper,
            height - CHUNK_WITHDRAWAL_HEIGHT,
            chunk >> (height - CHUNK_WITHDRAWAL_HEIGHT),
            height,
        ));
    }
    Some(proof)
}

/// The levels of a subtree of height `height` over `leaves`, bottom first; missing nodes are zero subtrees.
fn subtree_levels(leaves: &[B256], height: usize) -> Vec<Vec<B256>> {
    subtree_levels_from(leaves, 0, height)
}

/// Levels from `bottom` (the height of `nodes`) up to `top`; level `top - bottom` always holds exactly one node.
fn subtree_levels_from(nodes: &[B256], bottom: usize, top: usize) -> Vec<Vec<B256>> {
    let zeros = withdrawal_zero_hashes();
    let mut levels = vec![nodes.to_vec()];
    for height in bottom..top {
        let below = levels.last().expect("at least one level");
        let mut level: Vec<B256> = below
            .chunks(2)
            .map(|pair| withdrawal_node(pair[0], pair.get(1).copied().unwrap_or(zeros[height])))
            .collect();
        if level.is_empty() {
            level.push(zeros[height + 1]);
        }
        levels.push(level);
    }
    levels
}

#[cfg(test)]
mod tests {
    use alloy_primitives::keccak256;

    use super::*;
    use crate::hashes::{WithdrawalTree, withdrawal_root_from_proof};

    fn leaf(i: u64) -> B256 {
        keccak256(i.to_be_bytes())
    }

    #[test]
    fn batch_root_equals_the_portal_tree_of_the_same_leaves() {
        // Three chunks of four slots; withdrawals in a few of them.
        let chunks: Vec<Vec<B256>> = vec![
            vec![B256::ZERO, leaf(1), B256::ZERO, leaf(2)],
            vec![B256::ZERO; 4],
            vec![leaf(3), B256::ZERO, B256::ZERO, B256::ZERO],
        ];
        let mut flat = vec![B256::ZERO; 2 * MAX_CHUNK_SLOTS + 4];
        for (c, leaves) in chunks.iter().enumerate() {
            for (s, l) in leaves.iter().enumerate() {
                flat[withdrawal_leaf_index(c, s) as usize] = *l;
            }
        }
        let portal = WithdrawalTree::new(flat);
        let roots: Vec<B256> = chunks.iter().map(|c| chunk_withdrawal_root(c)).collect();
        assert_eq!(batch_withdrawal_root(&roots), portal.root());

        for (c, s) in [(0, 1), (0, 3), (2, 0)] {
            let proof = batch_withdrawal_proof(&chunks, c, s).unwrap();
            let index = withdrawal_leaf_index(c, s);
            assert_eq!(proof, portal.proof(index as usize).unwrap());
            assert_eq!(withdrawal_root_from_proof(chunks[c][s], index, &proof), portal.root());
        }
    }

    #[test]
    fn the_packer_opens_a_chunk_when_one_is_full_or_a_cap_is_reached() {
        use SlotKind::{Deposit, Transfer, Withdrawal};
        // 8 slots: at most 2 deposits and 2 withdrawals a chunk.
        let mut packer = ChunkPacker::new(8);
        let placed: Vec<usize> =
            [Deposit, Deposit, Deposit, Transfer, Withdrawal, Withdrawal, Withdrawal, Transfer, Transfer]
                .into_iter()
                .map(|kind| packer.push(kind))
                .collect();
        assert_eq!(placed, [0, 0, 1, 1, 1, 1, 2, 2, 2]);
        assert_eq!(packer.chunks(), 3);
        assert_eq!(ChunkPacker::count(8, [Transfer; 17]), 3);
        assert_eq!(ChunkPacker::count(8, []), 0);
        // Fewer than 4 slots: one of each.
        assert_eq!(ChunkPacker::count(2, [Deposit, Deposit]), 2);
        assert_eq!(ChunkPacker::count(2, [Deposit, Withdrawal]), 1);
        assert_eq!((max_chunk_deposits(64), max_chunk_withdrawals(64)), (16, 16));
    }

    #[test]
    fn empty_chunk_and_empty_batch_are_zero_trees() {
        let zeros = withdrawal_zero_hashes();
        assert_eq!(chunk_withdrawal_root(&[]), zeros[CHUNK_WITHDRAWAL_HEIGHT]);
        assert_eq!(batch_withdrawal_root(&[]), zeros[WITHDRAWAL_TREE_DEPTH]);
        assert_eq!(batch_withdrawal_root(&[zeros[CHUNK_WITHDRAWAL_HEIGHT]]), zeros[WITHDRAWAL_TREE_DEPTH]);
    }
}
