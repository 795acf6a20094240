//! The protocol's hashes, computed exactly as the contracts compute them.
//!
//! These are the definitions the node, the circuits, the coordinator and the contracts' tests share; each function
//! names the Solidity expression it mirrors (the contracts' integration tests check them against the deployed
//! contracts).

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolValue;

/// Depth of every batch's withdrawal tree (`Withdrawals.TREE_DEPTH`).
pub const WITHDRAWAL_TREE_DEPTH: usize = 32;

/// `Rollup.batchHashOf`: `keccak256(abi.encode(batchIndex, parentBatchHash, dataHash, depositStart, depositEnd))`.
pub fn batch_hash(
    batch_index: u64,
    parent_batch_hash: B256,
    data_hash: B256,
    deposit_start: u64,
    deposit_end: u64,
) -> B256 {
    keccak256((batch_index, parent_batch_hash, data_hash, deposit_start, deposit_end).abi_encode())
}

/// The hash of the genesis batch (batch 0), the parent of batch 1.
pub fn genesis_batch_hash() -> B256 {
    batch_hash(0, B256::ZERO, B256::ZERO, 0, 0)
}

/// The data hash `Rollup.commitBatch` stores for a batch of these chunks, in order:
/// `keccak256(abi.encodePacked(keccak256(chunks[0]), ..., keccak256(chunks[n - 1])))`.
pub fn batch_data_hash(chunks: &[impl AsRef<[u8]>]) -> B256 {
    let hashes: Vec<B256> = chunks.iter().map(keccak256).collect();
    batch_data_hash_from_chunk_hashes(&hashes)
}

/// The batch data hash from the chunks' keccak256 hashes, in order: `keccak256(abi.encodePacked(chunkDataHashes))`,
/// the check `Rollup.finalizeBatch` makes on the chunk data hashes it is given.
pub fn batch_data_hash_from_chunk_hashes(chunk_hashes: &[B256]) -> B256 {
    let mut packed = Vec::with_capacity(32 * chunk_hashes.len());
    for hash in chunk_hashes {
        packed.extend_from_slice(hash.as_slice());
    }
    keccak256(packed)
}

/// One step of the Portal's deposit hash chain:
/// `keccak256(abi.encodePacked(previous, uint64 nonce, from, to, uint256 value))`.
pub fn deposit_queue_hash(previous: B256, nonce: u64, from: Address, to: Address, value: U256) -> B256 {
    keccak256(deposit_queue_preimage(previous, nonce, from, to, value))
}

/// What [`deposit_queue_hash`] hashes.
pub fn deposit_queue_preimage(previous: B256, nonce: u64, from: Address, to: Address, value: U256) -> [u8; 112] {
    let mut packed = [0u8; 32 + 8 + 20 + 20 + 32];
    packed[..32].copy_from_slice(previous.as_slice());
    packed[32..40].copy_from_slice(&nonce.to_be_bytes());
    packed[40..60].copy_from_slice(from.as_slice());
    packed[60..80].copy_from_slice(to.as_slice());
    packed[80..].copy_from_slice(&value.to_be_bytes::<32>());
    packed
}

/// `Withdrawals.leafHash`: `keccak256(abi.encode(nonce, from, to, value))`.
pub fn withdrawal_leaf(nonce: u64, from: Address, to: Address, value: U256) -> B256 {
    keccak256(withdrawal_leaf_preimage(nonce, from, to, value))
}

/// What [`withdrawal_leaf`] hashes: `abi.encode(nonce, from, to, value)`, 128 bytes.
pub fn withdrawal_leaf_preimage(nonce: u64, from: Address, to: Address, value: U256) -> Vec<u8> {
    (nonce, from, to, value).abi_encode()
}

/// An inner node of the withdrawal tree: `keccak256(abi.encodePacked(left, right))`.
pub fn withdrawal_node(left: B256, right: B256) -> B256 {
    let mut packed = [0u8; 64];
    packed[..32].copy_from_slice(left.as_slice());
    packed[32..].copy_from_slice(right.as_slice());
    keccak256(packed)
}

/// Splits a 256-bit value into the (high, low) 128-bit halves the Rollup uses as two public inputs.
pub fn split_u256(value: B256) -> (U256, U256) {
    let v = U256::from_be_bytes(value.0);
    (v >> 128, v & U256::from(u128::MAX))
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{address, b256};

    use super::*;

    #[test]
    fn deposit_hash_packs_fields_without_padding() {
        let from = address!("0x1111111111111111111111111111111111111111");
        let to = address!("0x2222222222222222222222222222222222222222");
        let value = U256::from(7);
        let mut expected = Vec::new();
        expected.extend_from_slice(B256::ZERO.as_slice());
        expected.extend_from_slice(&3u64.to_be_bytes());
        expected.extend_from_slice(from.as_slice());
        expected.extend_from_slice(to.as_slice());
        expected.extend_from_slice(&value.to_be_bytes::<32>());
        assert_eq!(expected.len(), 112);
        assert_eq!(deposit_queue_hash(B256::ZERO, 3, from, to, value), keccak256(&expected));
    }

    #[test]
    fn batch_data_hash_hashes_the_chunk_hashes_in_order() {
        let chunks: [&[u8]; 3] = [b"first chunk", b"", b"\x00\x01"];
        let mut packed = Vec::new();
        for chunk in chunks {
            packed.extend_from_slice(keccak256(chunk).as_slice());
        }
        assert_eq!(packed.len(), 96);
        let expected = keccak256(&packed);
        assert_eq!(batch_data_hash(&chunks), expected);
        let hashes: Vec<B256> = chunks.iter().map(keccak256).collect();
        assert_eq!(batch_data_hash_from_chunk_hashes(&hashes), expected);
        // Owned chunks of another type give the same hash.
        let owned: Vec<Vec<u8>> = chunks.iter().map(|chunk| chunk.to_vec()).collect();
        assert_eq!(batch_data_hash(&owned), expected);
    }

    #[test]
    fn batch_data_hash_binds_order_count_and_boundaries() {
        let one = batch_data_hash(&[b"ab".as_slice()]);
        assert_eq!(one, keccak256(keccak256(b"ab")));
        assert_ne!(batch_data_hash(&[b"a".as_slice(), b"b"]), batch_data_hash(&[b"b".as_slice(), b"a"]));
        assert_ne!(batch_data_hash(&[b"a".as_slice(), b"b"]), one);
        // An empty chunk is a chunk: appending one changes the hash.
        assert_ne!(batch_data_hash(&[b"ab".as_slice(), b""]), one);
        // The empty chunk's hash is keccak256 of nothing (the padding chunk's data hash).
        assert_eq!(keccak256([]), b256!("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"));
        assert_eq!(batch_data_hash_from_chunk_hashes(&[]), keccak256([]));
    }

    #[test]
    fn zero_hashes_match_the_contract_table() {
        let zeros = withdrawal_zero_hashes();
        assert_eq!(zeros[0], B256::ZERO);
        assert_eq!(zeros[10], b256!("0xf9dc3e7fe016e050eff260334f18a5d4fe391d82092319f5964f2e2eb7c1c3a5"));
        assert_eq!(zeros[32], b256!("0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757"));
    }

    #[test]
    fn split_recombines() {
        let v = b256!("0x0123456789abcdef0123456789abcdeffedcba9876543210fedcba9876543210");
        let (hi, lo) = split_u256(v);
        assert_eq!(hi, U256::from(0x0123456789abcdef0123456789abcdef_u128));
        assert_eq!(lo, U256::from(0xfedcba9876543210fedcba9876543210_u128));
        assert_eq!(B256::from((hi << 128) | lo), v);
    }
}

/// A withdrawal as the Portal pays it (`struct Withdrawal` in `Withdrawals.sol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Withdrawal {
    /// The L2's global withdrawal counter.
    pub nonce: u64,
    /// The L2 account debited.
    pub from: Address,
    /// The L1 account paid.
    pub to: Address,
    /// Amount in wei.
    pub value: U256,
}

impl Withdrawal {
    /// The leaf of this withdrawal.
    pub fn leaf(&self) -> B256 {
        withdrawal_leaf(self.nonce, self.from, self.to, self.value)
    }
}

/// The withdrawal tree of a batch (or block): leaves `0..n` in order, zero leaves after them, depth
/// [`WITHDRAWAL_TREE_DEPTH`]. Mirrors `Withdrawals.computeRoot` in the Portal.
#[derive(Debug, Clone)]
pub struct WithdrawalTree {
    /// `levels[h]` holds the nodes at height `h` that have a non-zero-subtree below them.
    levels: Vec<Vec<B256>>,
}

impl WithdrawalTree {
    /// The tree of `leaves`. Panics beyond 2^32 leaves (a batch never holds that many).
    pub fn new(leaves: impl IntoIterator<Item = B256>) -> Self {
        let zeros = withdrawal_zero_hashes();
        let mut levels = vec![leaves.into_iter().collect::<Vec<_>>()];
        assert!(levels[0].len() as u64 <= 1 << WITHDRAWAL_TREE_DEPTH, "too many withdrawals for one tree");
        for height in 0..WITHDRAWAL_TREE_DEPTH {
            let below = &levels[height];
            let level = below
                .chunks(2)
                .map(|pair| withdrawal_node(pair[0], pair.get(1).copied().unwrap_or(zeros[height])))
                .collect();
            levels.push(level);
        }
        Self { levels }
    }

    /// The root (the root of an all-zero tree when there are no withdrawals).
    pub fn root(&self) -> B256 {
        self.levels[WITHDRAWAL_TREE_DEPTH].first().copied().unwrap_or(withdrawal_zero_hashes()[WITHDRAWAL_TREE_DEPTH])
    }

    /// The siblings of leaf `index` from the leaf upwards, as `Portal.finalizeWithdrawal` takes them.
    pub fn proof(&self, index: usize) -> Option<Vec<B256>> {
        if index >= self.levels[0].len() {
            return None;
        }
        let zeros = withdrawal_zero_hashes();
        Some(
            (0..WITHDRAWAL_TREE_DEPTH)
                .map(|height| {
                    let sibling = (index >> height) ^ 1;
                    self.levels[height].get(sibling).copied().unwrap_or(zeros[height])
                })
                .collect(),
        )
    }
}

/// Folds a leaf up its siblings, as the Portal does.
pub fn withdrawal_root_from_proof(leaf: B256, index: u64, siblings: &[B256]) -> B256 {
    siblings.iter().enumerate().fold(leaf, |node, (height, sibling)| {
        if (index >> height) & 1 == 0 { withdrawal_node(node, *sibling) } else { withdrawal_node(*sibling, node) }
    })
}

/// `zeros[h]`: the root of an all-zero withdrawal subtree of height `h`, for `h` from 0 to [`WITHDRAWAL_TREE_DEPTH`]
/// (`Withdrawals.ZERO_HASHES`): `zeros[0]` is zero and `zeros[h + 1] = withdrawal_node(zeros[h], zeros[h])`.
pub fn withdrawal_zero_hashes() -> [B256; WITHDRAWAL_TREE_DEPTH + 1] {
    let mut zeros = [B256::ZERO; WITHDRAWAL_TREE_DEPTH + 1];
    for height in 0..WITHDRAWAL_TREE_DEPTH {
        zeros[height + 1] = withdrawal_node(zeros[height], zeros[height]);
    }
    zeros
}

#[cfg(test)]
mod tree_tests {
    use super::*;

    #[test]
    fn proofs_fold_to_the_root_for_every_leaf() {
        for n in 1..=9usize {
            let leaves: Vec<B256> = (0..n as u64).map(|i| keccak256(i.to_be_bytes())).collect();
            let tree = WithdrawalTree::new(leaves.clone());
            for (i, leaf) in leaves.iter().enumerate() {
                let proof = tree.proof(i).unwrap();
                assert_eq!(proof.len(), WITHDRAWAL_TREE_DEPTH);
                assert_eq!(withdrawal_root_from_proof(*leaf, i as u64, &proof), tree.root(), "n={n} i={i}");
            }
            assert!(tree.proof(n).is_none(), "padding has no proof");
        }
    }

    #[test]
    fn empty_tree_is_the_zero_tree() {
        let zeros = withdrawal_zero_hashes();
        assert_eq!(WithdrawalTree::new([]).root(), zeros[WITHDRAWAL_TREE_DEPTH]);
        // One leaf: it hashes with zero subtrees all the way up.
        let leaf = B256::repeat_byte(7);
        let expected = (0..WITHDRAWAL_TREE_DEPTH).fold(leaf, |node, h| withdrawal_node(node, zeros[h]));
        assert_eq!(WithdrawalTree::new([leaf]).root(), expected);
    }
}
