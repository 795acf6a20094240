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
///
///      A zero subtree of height h hashes to zeros[h] (zeros[0] = 0, zeros[h + 1] = node(zeros[h], zeros[h])), so a
///      tree whose leaves are mostly padding is computed from its few non-zero subtrees (see `rootOfSubtrees`).
library Withdrawals {
    /// @notice Depth of every batch's withdrawal tree: room for 2^32 withdrawals per batch.
    uint256 internal constant TREE_DEPTH = 32;

    /// @notice zeros[h] for h = 0..TREE_DEPTH, 32 bytes each in order: the root of an all-zero subtree of height h
    ///         (zeros[0] = 0, zeros[h + 1] = keccak256(abi.encodePacked(zeros[h], zeros[h]))). Precomputed, because
    ///         a table lookup costs a few gas where recomputing a level costs a keccak; the tests recompute them.
    bytes internal constant ZERO_HASHES = hex"0000000000000000000000000000000000000000000000000000000000000000" // 0
        hex"ad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5" // 1
        hex"b4c11951957c6f8f642c4af61cd6b24640fec6dc7fc607ee8206a99e92410d30" // 2
        hex"21ddb9a356815c3fac1026b6dec5df3124afbadb485c9ba5a3e3398a04b7ba85" // 3
        hex"e58769b32a1beaf1ea27375a44095a0d1fb664ce2dd358e7fcbfb78c26a19344" // 4
        hex"0eb01ebfc9ed27500cd4dfc979272d1f0913cc9f66540d7e8005811109e1cf2d" // 5
        hex"887c22bd8750d34016ac3c66b5ff102dacdd73f6b014e710b51e8022af9a1968" // 6
        hex"ffd70157e48063fc33c97a050f7f640233bf646cc98d9524c6b92bcf3ab56f83" // 7
        hex"9867cc5f7f196b93bae1e27e6320742445d290f2263827498b54fec539f756af" // 8
        hex"cefad4e508c098b9a7e1d8feb19955fb02ba9675585078710969d3440f5054e0" // 9
        hex"f9dc3e7fe016e050eff260334f18a5d4fe391d82092319f5964f2e2eb7c1c3a5" // 10
        hex"f8b13a49e282f609c317a833fb8d976d11517c571d1221a265d25af778ecf892" // 11
        hex"3490c6ceeb450aecdc82e28293031d10c7d73bf85e57bf041a97360aa2c5d99c" // 12
        hex"c1df82d9c4b87413eae2ef048f94b4d3554cea73d92b0f7af96e0271c691e2bb" // 13
        hex"5c67add7c6caf302256adedf7ab114da0acfe870d449a3a489f781d659e8becc" // 14
        hex"da7bce9f4e8618b6bd2f4132ce798cdc7a60e7e1460a7299e3c6342a579626d2" // 15
        hex"2733e50f526ec2fa19a22b31e8ed50f23cd1fdf94c9154ed3a7609a2f1ff981f" // 16
        hex"e1d3b5c807b281e4683cc6d6315cf95b9ade8641defcb32372f1c126e398ef7a" // 17
        hex"5a2dce0a8a7f68bb74560f8f71837c2c2ebbcbf7fffb42ae1896f13f7c7479a0" // 18
        hex"b46a28b6f55540f89444f63de0378e3d121be09e06cc9ded1c20e65876d36aa0" // 19
        hex"c65e9645644786b620e2dd2ad648ddfcbf4a7e5b1a3a4ecfe7f64667a3f0b7e2" // 20
        hex"f4418588ed35a2458cffeb39b93d26f18d2ab13bdce6aee58e7b99359ec2dfd9" // 21
        hex"5a9c16dc00d6ef18b7933a6f8dc65ccb55667138776f7dea101070dc8796e377" // 22
        hex"4df84f40ae0c8229d0d6069e5c8f39a7c299677a09d367fc7b05e3bc380ee652" // 23
        hex"cdc72595f74c7b1043d0e1ffbab734648c838dfb0527d971b602bc216c9619ef" // 24
        hex"0abf5ac974a1ed57f4050aa510dd9c74f508277b39d7973bb2dfccc5eeb0618d" // 25
        hex"b8cd74046ff337f0a7bf2c8e03e10f642c1886798d71806ab1e888d9e5ee87d0" // 26
        hex"838c5655cb21c6cb83313b5a631175dff4963772cce9108188b34ac87c81c41e" // 27
        hex"662ee4dd2dd7b2bc707961b1e646c4047669dcb6584f0d8d770daf5d7e7deb2e" // 28
        hex"388ab20e2573d171a88108e79d820e98f26c0b84aa8b2f4aa4968dbb818ea322" // 29
        hex"93237c50ba75ee485f4c22adf2f741400bdf8d6a9cc7df7ecae576221665d735" // 30
        hex"8448818bb4ae4562849e949e17ac16e0be16688e156b5cf15e098c627c0056a9" // 31
        hex"27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757"; // 32

    /// @notice The proof does not have exactly TREE_DEPTH siblings.
    error InvalidProofLength(uint256 length);
    /// @notice The leaf index does not fit the tree.
    error LeafIndexOutOfRange(uint256 index);
    /// @notice There is no zero subtree of this height in the tree.
    error HeightOutOfRange(uint256 height);
    /// @notice `count` subtrees of height `height` do not fit side by side in the tree.
    error TooManySubtrees(uint256 count, uint256 height);

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

    /// @notice zeros[height]: the root of an all-zero subtree of that height.
    function zeroHash(uint256 height) internal pure returns (bytes32 hash) {
        if (height > TREE_DEPTH) revert HeightOutOfRange(height);
        return _zeroAt(ZERO_HASHES, height);
    }

    /// @notice The root of the tree whose aligned subtrees of height `height` are, from the left, `subtreeRoots`,
    ///         with zero leaves everywhere after them: subtree i covers leaves [i << height, (i + 1) << height).
    ///         The same root as the tree of all those leaves, for about one hash per subtree plus one per level
    ///         above them.
    /// @dev Reverts unless the subtrees fit the tree (at most 2^(TREE_DEPTH - height) of them). No subtrees give
    ///      the empty tree's root.
    function rootOfSubtrees(bytes32[] calldata subtreeRoots, uint256 height) internal pure returns (bytes32 root) {
        if (height > TREE_DEPTH) revert HeightOutOfRange(height);
        uint256 width = subtreeRoots.length;
        if (width > uint256(1) << (TREE_DEPTH - height)) revert TooManySubtrees(width, height);
        bytes memory zeros = ZERO_HASHES;
        if (width == 0) return _zeroAt(zeros, TREE_DEPTH);

        // Reduce the subtree roots level by level, in place, until one node is left; an odd node out pairs with
        // the zero subtree to its right. `height` tracks the height of the nodes in `level`.
        bytes32[] memory level = subtreeRoots;
        unchecked {
            for (; width > 1; ++height) {
                uint256 half = width >> 1;
                for (uint256 i; i < half; ++i) {
                    level[i] = _hashPair(level[2 * i], level[2 * i + 1]);
                }
                if (width & 1 == 1) {
                    level[half] = _hashPair(level[width - 1], _zeroAt(zeros, height));
                    ++half;
                }
                width = half;
            }
        }
        // One node left, the leftmost at its height: everything to its right is zero up to the root.
        root = level[0];
        for (; height < TREE_DEPTH; ++height) {
            root = _hashPair(root, _zeroAt(zeros, height));
        }
    }

    /// @dev zeros[height] from the table `ZERO_HASHES` already in memory at `zeros`; `height` <= TREE_DEPTH.
    function _zeroAt(bytes memory zeros, uint256 height) private pure returns (bytes32 hash) {
        assembly ("memory-safe") {
            hash := mload(add(add(zeros, 0x20), shl(5, height)))
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
