// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Withdrawal} from "../../src/libraries/Withdrawals.sol";

/// @notice Builds withdrawal trees in tests, written from the specification in src/libraries/Withdrawals.sol rather
///         than from its code: a keccak256 tree of fixed depth 32, leaves at 0..n-1, zero leaves everywhere else,
///         node = keccak256(left || right). A zero subtree of height h hashes to zeros[h] (zeros[0] = 0,
///         zeros[h + 1] = keccak256(zeros[h] || zeros[h])), so only the n leaves and the path beside them need
///         hashing: a tree with a handful of leaves costs about 32 hashes per level touched, not 2^32. Batches fill
///         the tree by chunk (chunk c's slot s is leaf (c << 10) | s), so the builder also works from the roots of
///         aligned subtrees; `flatten` gives the plain leaf array to check that against.
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
        return _climb(leaves, index, 0, DEPTH);
    }

    /// @notice The root of the subtree of height `height` holding `leaves` at its indices 0..n-1.
    function subtreeRoot(bytes32[] memory leaves, uint256 height) internal pure returns (bytes32 r) {
        require(leaves.length <= uint256(1) << height, "WithdrawalTree: too many leaves for the subtree");
        (r,) = _climb(leaves, 0, 0, height);
    }

    /// @notice The root of the whole tree when its aligned subtrees of height `height` are, from the left, the ones
    ///         with roots `roots` (subtree i covering leaves [i << height, (i + 1) << height)) and all else is zero.
    function rootOfSubtrees(bytes32[] memory roots, uint256 height) internal pure returns (bytes32 r) {
        (r,) = _climb(roots, 0, height, DEPTH);
    }

    /// @notice Root and DEPTH-sibling path of leaf `slot` of subtree `subtree` (of height `height`), given every
    ///         subtree's leaves: the path inside the subtree, then the path of the subtree's root among the others.
    ///         The leaf's index in the whole tree is (subtree << height) | slot.
    function rootAndProofInSubtrees(bytes32[][] memory subtreeLeaves, uint256 height, uint256 subtree, uint256 slot)
        internal
        pure
        returns (bytes32 treeRoot, bytes32[] memory siblings)
    {
        require(slot < uint256(1) << height, "WithdrawalTree: slot out of range");
        bytes32[] memory roots = new bytes32[](subtreeLeaves.length);
        for (uint256 i; i < roots.length; ++i) {
            roots[i] = subtreeRoot(subtreeLeaves[i], height);
        }
        (, bytes32[] memory lower) = _climb(subtreeLeaves[subtree], slot, 0, height);
        bytes32[] memory upper;
        (treeRoot, upper) = _climb(roots, subtree, height, DEPTH);
        siblings = new bytes32[](DEPTH);
        for (uint256 h; h < height; ++h) {
            siblings[h] = lower[h];
        }
        for (uint256 h = height; h < DEPTH; ++h) {
            siblings[h] = upper[h - height];
        }
    }

    /// @notice The leaves of the whole tree up to the last non-empty subtree: subtree i's leaf s at index
    ///         (i << height) | s, zero elsewhere. Only for small layouts: it materializes every leaf.
    function flatten(bytes32[][] memory subtreeLeaves, uint256 height) internal pure returns (bytes32[] memory leaves) {
        if (subtreeLeaves.length == 0) return leaves;
        uint256 last = subtreeLeaves.length - 1;
        leaves = new bytes32[]((last << height) + subtreeLeaves[last].length);
        for (uint256 i; i < subtreeLeaves.length; ++i) {
            require(subtreeLeaves[i].length <= uint256(1) << height, "WithdrawalTree: subtree overflows");
            for (uint256 s; s < subtreeLeaves[i].length; ++s) {
                leaves[(i << height) | s] = subtreeLeaves[i][s];
            }
        }
    }

    /// @notice Climbs from height `from` (where the nodes are `nodes`, left-aligned, zero subtrees after them) to
    ///         height `to`, returning the one node there and the siblings of position `index` on the way.
    function _climb(bytes32[] memory nodes, uint256 index, uint256 from, uint256 to)
        private
        pure
        returns (bytes32 top, bytes32[] memory siblings)
    {
        require(from <= to && to <= DEPTH, "WithdrawalTree: bad heights");
        require(index < (uint256(1) << (to - from)), "WithdrawalTree: index out of range");
        require(nodes.length <= (uint256(1) << (to - from)), "WithdrawalTree: too many nodes");
        bytes32[] memory zeros = zeroHashes();
        siblings = new bytes32[](to - from);

        // `layer` holds the non-zero-padded prefix of one level; everything at or past its length is a zero subtree.
        bytes32[] memory layer = new bytes32[](nodes.length);
        for (uint256 i; i < nodes.length; ++i) {
            layer[i] = nodes[i];
        }
        uint256 width = nodes.length;
        uint256 position = index;
        for (uint256 level = from; level < to; ++level) {
            uint256 siblingPosition = position ^ 1;
            siblings[level - from] = siblingPosition < width ? layer[siblingPosition] : zeros[level];

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
        top = width == 0 ? zeros[to] : layer[0];
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
