// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {WithdrawalTree} from "./utils/WithdrawalTree.sol";
import {Withdrawals} from "../src/libraries/Withdrawals.sol";

/// @notice Exposes the library's internal functions, so their reverts surface as reverts of an external call.
contract WithdrawalsHarness {
    function zeroHash(uint256 height) external pure returns (bytes32) {
        return Withdrawals.zeroHash(height);
    }

    function rootOfSubtrees(bytes32[] calldata subtreeRoots, uint256 height) external pure returns (bytes32) {
        return Withdrawals.rootOfSubtrees(subtreeRoots, height);
    }
}

/// @notice The library's zero-subtree table and its root-from-subtrees computation, against the test tree builder
///         (which recomputes zero subtrees and builds level by level from the specification).
contract WithdrawalsTest is Test {
    WithdrawalsHarness internal harness;

    function setUp() public {
        harness = new WithdrawalsHarness();
    }

    function test_ZeroHash_TableMatchesRecomputation() public view {
        bytes32[] memory zeros = WithdrawalTree.zeroHashes();
        for (uint256 h; h <= 32; ++h) {
            vm.assertEq(harness.zeroHash(h), zeros[h]);
        }
        // Spot values from the definition: zeros[1] = keccak256(0 || 0), and the well-known depth-32 empty root.
        vm.assertEq(harness.zeroHash(1), keccak256(abi.encodePacked(bytes32(0), bytes32(0))));
        vm.assertEq(harness.zeroHash(32), 0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757);
    }

    function test_ZeroHash_RevertsAboveTheRoot() public {
        vm.expectRevert(abi.encodeWithSelector(Withdrawals.HeightOutOfRange.selector, uint256(33)));
        harness.zeroHash(33);
    }

    /// @notice Any number of subtrees that fits, at any height, gives the builder's root of the same tree.
    function testFuzz_RootOfSubtrees_MatchesReference(uint256 heightSeed, uint256 countSeed, uint256 seed) public view {
        uint256 height = bound(heightSeed, 0, 32);
        uint256 fits = height >= 27 ? uint256(1) << (32 - height) : 40;
        uint256 count = bound(countSeed, 0, fits);
        bytes32[] memory roots = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            bytes32 h = keccak256(abi.encode(seed, i));
            // Some subtrees are empty, as chunks without withdrawals are.
            roots[i] = uint256(h) % 4 == 0 ? WithdrawalTree.zeroHashes()[height] : h;
        }
        vm.assertEq(harness.rootOfSubtrees(roots, height), WithdrawalTree.rootOfSubtrees(roots, height));
        if (height == 0) vm.assertEq(harness.rootOfSubtrees(roots, 0), WithdrawalTree.root(roots));
    }

    function test_RootOfSubtrees_EdgeCases() public view {
        bytes32[] memory none = new bytes32[](0);
        for (uint256 h; h <= 32; h += 8) {
            vm.assertEq(harness.rootOfSubtrees(none, h), WithdrawalTree.zeroHashes()[32]);
        }
        // At the top, the single subtree is the tree.
        bytes32[] memory one = new bytes32[](1);
        one[0] = keccak256("root");
        vm.assertEq(harness.rootOfSubtrees(one, 32), one[0]);
        // One level below, two subtrees are its children.
        bytes32[] memory two = new bytes32[](2);
        (two[0], two[1]) = (keccak256("left"), keccak256("right"));
        vm.assertEq(harness.rootOfSubtrees(two, 31), keccak256(abi.encodePacked(two[0], two[1])));
    }

    function test_RootOfSubtrees_RevertsWhenTheyDoNotFit() public {
        vm.expectRevert(abi.encodeWithSelector(Withdrawals.TooManySubtrees.selector, uint256(2), uint256(32)));
        harness.rootOfSubtrees(new bytes32[](2), 32);
        vm.expectRevert(abi.encodeWithSelector(Withdrawals.TooManySubtrees.selector, uint256(3), uint256(31)));
        harness.rootOfSubtrees(new bytes32[](3), 31);
        vm.expectRevert(abi.encodeWithSelector(Withdrawals.HeightOutOfRange.selector, uint256(33)));
        harness.rootOfSubtrees(new bytes32[](0), 33);
    }
}
