// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";

/// @notice Checks of the home-made test base: every other test leans on `bound` to shape fuzzed inputs, so a bias or
///         an out-of-range result there would quietly weaken them.
contract TestUtilsTest is Test {
    function testFuzz_Bound_StaysInRangeAndKeepsInRangeValues(uint256 x, uint256 a, uint256 b) public pure {
        (uint256 min, uint256 max) = a <= b ? (a, b) : (b, a);
        uint256 y = bound(x, min, max);
        vm.assertGe(y, min);
        vm.assertLe(y, max);
        if (x >= min && x <= max) vm.assertEq(y, x);
    }

    function test_Bound_EdgeCases() public pure {
        vm.assertEq(bound(0, 0, type(uint256).max), 0);
        vm.assertEq(bound(type(uint256).max, 0, type(uint256).max), type(uint256).max);
        vm.assertEq(bound(type(uint256).max, 5, 5), 5);
        vm.assertEq(bound(0, 1, 3), 1);
        vm.assertEq(bound(4, 1, 3), 2);
    }

    function test_MakeAddr_IsDeterministicAndDistinct() public {
        vm.assertEq(makeAddr("alice"), makeAddr("alice"));
        vm.assertTrue(makeAddr("alice") != makeAddr("bob"));
    }
}
