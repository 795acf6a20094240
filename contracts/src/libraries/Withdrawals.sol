// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @notice A withdrawal from L2 to L1, as recorded in a batch's withdrawal tree.
/// @param nonce The L2 chain's global withdrawal counter; no two withdrawals share one, so the leaf is unique.
/// @param from The L2 account that was debited.
/// @param to The L1 account that receives `value`.
/// @param value The amount in wei.
struct Withdrawal {
    uint64 nonce;
    address from;
    address to;
    uint256 value;
}

/// @title Withdrawals
/// @notice The withdrawal tree every batch commits to (its root is a public input of the batch proof).
/// @dev A binary keccak256 Merkle tree of fixed depth `TREE_DEPTH`, leaves filled from index 0 in L2 order and the
///      rest of the tree padded with zero leaves:
///        leaf = keccak256(abi.encode(nonce, from, to, value))      (128 bytes hashed)
///        node = keccak256(abi.encodePacked(left, right))            (64 bytes hashed)
///      A leaf preimage and a node preimage differ in length, so an inner node can never pass as a leaf. Keccak
///      rather than Poseidon keeps verification on L1 at about 32 hashes; the circuit pays for it instead, once per
///      withdrawal, which is rare next to transfers.
library Withdrawals {
    /// @notice Depth of every batch's withdrawal tree: room for 2^32 withdrawals per batch.
    uint256 internal constant TREE_DEPTH = 32;

    /// @notice The proof does not have exactly TREE_DEPTH siblings.
    error InvalidProofLength(uint256 length);
    /// @notice The leaf index does not fit the tree.
    error LeafIndexOutOfRange(uint256 index);

    /// @notice The leaf of `w` in the withdrawal tree.
    function leafHash(Withdrawal calldata w) internal pure returns (bytes32) {
        return keccak256(abi.encode(w.nonce, w.from, w.to, w.value));
    }

    /// @notice The root of the tree in which `leaf` sits at `index` with the given siblings (nearest first).
    function computeRoot(bytes32 leaf, uint256 index, bytes32[] calldata siblings)
        internal
        pure
        returns (bytes32 node)
    {
        if (siblings.length != TREE_DEPTH) revert InvalidProofLength(siblings.length);
        if (index >> TREE_DEPTH != 0) revert LeafIndexOutOfRange(index);
        node = leaf;
        for (uint256 level; level < TREE_DEPTH; ++level) {
            bytes32 sibling = siblings[level];
            node = (index >> level) & 1 == 0 ? _hashPair(node, sibling) : _hashPair(sibling, node);
        }
    }

    function _hashPair(bytes32 left, bytes32 right) private pure returns (bytes32 hash) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            hash := keccak256(0x00, 0x40)
        }
    }
}
