// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Withdrawal} from "../../src/libraries/Withdrawals.sol";

/// @notice Builds withdrawal trees in tests, written from the specification in src/libraries/Withdrawals.sol rather
///         than from its code: a keccak256 tree of fixed depth 32, leaves at 0..n-1, zero leaves everywhere else,
///         node = keccak256(left || right). A zero subtree of height h hashes to zeros[h] (zeros[0] = 0,
///         zeros[h + 1] = keccak256(zeros[h] || zeros[h])), so only the n leaves and the path beside them need
///         hashing: a tree with a handful of leaves costs about 32 hashes per level touched, not 2^32.
library WithdrawalTree {
    uint256 internal constant DEPTH = 32;

    /// @notice The leaf of `w`: keccak256(abi.encode(nonce, from, to, value)).
    function leafHash(Withdrawal memory w) internal pure returns (bytes32) {
        return keccak256(abi.encode(w.nonce, w.from, w.to, w.value));
    }

    /// @notice The leaves of `ws`, in order.
    function leavesOf(Withdrawal[] memory ws) internal pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](ws.length);
        for (uint256 i; i < ws.length; ++i) {
            leaves[i] = leafHash(ws[i]);
        }
    }

    /// @notice zeros[h] is the root of an all-zero subtree of height h, for h = 0..DEPTH.
    function zeroHashes() internal pure returns (bytes32[] memory zeros) {
        zeros = new bytes32[](DEPTH + 1);
        for (uint256 h; h < DEPTH; ++h) {
            zeros[h + 1] = hashPair(zeros[h], zeros[h]);
        }
    }

    /// @notice The root of the tree holding `leaves` at indices 0..n-1 (zeros[DEPTH] for no leaves).
    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        (bytes32 r,) = rootAndProof(leaves, 0);
        return r;
    }

    /// @notice The root of the tree of `ws`.
    function rootOf(Withdrawal[] memory ws) internal pure returns (bytes32) {
        return root(leavesOf(ws));
    }

    /// @notice The DEPTH siblings of leaf `index`, nearest first (the order Portal.finalizeWithdrawal takes).
    function proof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory siblings) {
        (, siblings) = rootAndProof(leaves, index);
    }

    /// @notice Root and the sibling path of `index` in one pass. `index` may point past the last leaf (at a zero
    ///         leaf), which tests use to show that padding cannot be withdrawn.
    function rootAndProof(bytes32[] memory leaves, uint256 index)
        internal
        pure
        returns (bytes32 treeRoot, bytes32[] memory siblings)
    {
        require(index < (uint256(1) << DEPTH), "WithdrawalTree: index out of range");
        bytes32[] memory zeros = zeroHashes();
        siblings = new bytes32[](DEPTH);

        // `layer` holds the non-zero-padded prefix of one level; everything at or past its length is a zero subtree.
        bytes32[] memory layer = new bytes32[](leaves.length);
        for (uint256 i; i < leaves.length; ++i) {
            layer[i] = leaves[i];
        }
        uint256 width = leaves.length;
        uint256 position = index;
        for (uint256 level; level < DEPTH; ++level) {
            uint256 siblingPosition = position ^ 1;
            siblings[level] = siblingPosition < width ? layer[siblingPosition] : zeros[level];

            uint256 nextWidth = (width + 1) / 2;
            for (uint256 i; i < nextWidth; ++i) {
                bytes32 left = layer[2 * i];
                bytes32 right = 2 * i + 1 < width ? layer[2 * i + 1] : zeros[level];
                // Writing in place is safe: slot i is read (as 2i or 2i+1) no later than it is written.
                layer[i] = hashPair(left, right);
            }
            width = nextWidth;
            position >>= 1;
        }
        treeRoot = width == 0 ? zeros[DEPTH] : layer[0];
    }

    /// @notice Folds `leaf` up a sibling path the way the tree is defined (bit `level` of `index` set means the node
    ///         is a right child). Tests use it to predict the `computedRoot` a bad proof reports.
    function fold(bytes32 leaf, uint256 index, bytes32[] memory siblings) internal pure returns (bytes32 node) {
        node = leaf;
        for (uint256 level; level < siblings.length; ++level) {
            node = (index >> level) & 1 == 0 ? hashPair(node, siblings[level]) : hashPair(siblings[level], node);
        }
    }

    /// @notice keccak256(left || right), the inner node of the tree.
    function hashPair(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(left, right));
    }
}
