//! The shape of a chunk circuit: record slots, rows, and where each keccak input sits in the keccak table.

use serde::{Deserialize, Serialize};
use zkevm_hashes::keccak::vanilla::{keccak_packed_multi::get_num_keccak_f, param::NUM_ROUNDS};
use zkr_protocol::{
    CHUNK_WITHDRAWAL_HEIGHT, RECORD_BYTES,
    chunk::{MAX_CHUNK_SLOTS, max_chunk_deposits, max_chunk_withdrawals},
};

/// Rows at the bottom of the circuit that hold no witness (blinding rows and the keccak table's look-ahead); the
/// value zkevm-hashes uses for its own keccak circuits.
pub const UNUSABLE_ROWS: usize = 109;

/// Bytes absorbed per keccak permutation.
pub const KECCAK_RATE: usize = 136;

/// Words absorbed per keccak permutation.
pub const KECCAK_WORDS: usize = 17;

/// Length of a deposit hash-chain preimage: previous hash, index, from, to, value.
pub const DEPOSIT_INPUT_BYTES: usize = 32 + 8 + 20 + 20 + 32;

/// Length of a withdrawal leaf preimage: `abi.encode(uint64, address, address, uint256)`.
pub const LEAF_INPUT_BYTES: usize = 4 * 32;

/// Length of a withdrawal tree node preimage.
pub const NODE_INPUT_BYTES: usize = 64;

/// The dimensions a chunk circuit is built for. The same dimensions give the same verifying key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkShape {
    /// log2 of the number of rows.
    pub k: u32,
    /// Record slots (a power of two).
    pub slots: usize,
}

impl ChunkShape {
    /// Checks the dimensions.
    pub fn validate(&self) -> Result<(), String> {
        if !self.slots.is_power_of_two() || self.slots > MAX_CHUNK_SLOTS {
            return Err(format!("slots must be a power of two up to {MAX_CHUNK_SLOTS}, got {}", self.slots));
        }
        if !(10..=26).contains(&self.k) {
            return Err(format!("k must be in 10..=26, got {}", self.k));
        }
        if self.keccak_rows_per_round() == 0 {
            return Err(format!("2^{} rows cannot hold {} keccak permutations", self.k, self.keccak_capacity()));
        }
        Ok(())
    }

    /// Bits of the range-check lookup table.
    pub const fn lookup_bits(&self) -> usize {
        self.k as usize - 1
    }

    /// Bytes of record data the chunk can hold.
    pub const fn data_capacity(&self) -> usize {
        self.slots * RECORD_BYTES
    }

    /// Keccak permutations reserved for the chunk's data (the most its longest data needs).
    pub fn data_keccak_fs(&self) -> usize {
        get_num_keccak_f(self.data_capacity())
    }

    /// Most deposits the chunk credits.
    pub const fn deposits(&self) -> usize {
        max_chunk_deposits(self.slots)
    }

    /// Most withdrawals the chunk holds: the leaves of its withdrawal subtree.
    pub const fn withdrawals(&self) -> usize {
        max_chunk_withdrawals(self.slots)
    }

    /// Inner nodes of the withdrawal subtree above the chunk's leaves, then the folds up to the subtree root.
    pub const fn tree_nodes(&self) -> usize {
        let leaves = self.withdrawals().next_power_of_two();
        (leaves - 1) + (CHUNK_WITHDRAWAL_HEIGHT - leaves.trailing_zeros() as usize)
    }

    /// Index of the first keccak permutation of each group: deposits, leaves, nodes, data.
    pub const fn keccak_offsets(&self) -> KeccakOffsets {
        let deposits = 0;
        let leaves = deposits + self.deposits();
        let nodes = leaves + self.withdrawals();
        let data = nodes + self.tree_nodes();
        KeccakOffsets { deposits, leaves, nodes, data }
    }

    /// Keccak permutations the circuit holds.
    pub fn keccak_capacity(&self) -> usize {
        self.keccak_offsets().data + self.data_keccak_fs()
    }

    /// Rows per keccak round so that the keccak table fills the rows available.
    pub fn keccak_rows_per_round(&self) -> usize {
        let rows = (1usize << self.k) - UNUSABLE_ROWS;
        rows / (self.keccak_capacity() * (NUM_ROUNDS + 1) + 1 + KECCAK_WORDS)
    }
}

/// Where each group of keccak inputs starts in the keccak table (in permutations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeccakOffsets {
    /// One deposit hash-chain step per deposit the chunk may credit.
    pub deposits: usize,
    /// One withdrawal leaf per withdrawal the chunk may hold.
    pub leaves: usize,
    /// The withdrawal subtree's nodes.
    pub nodes: usize,
    /// The chunk's data, last (its unused permutations are the table's padding).
    pub data: usize,
}
