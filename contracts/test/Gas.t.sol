// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {RollupFixture} from "./utils/RollupFixture.sol";
import {WithdrawalTree} from "./utils/WithdrawalTree.sol";
import {Withdrawal} from "../src/libraries/Withdrawals.sol";

/// @notice One realistic happy path per user-facing operation, for gas measurement. Run in isolation so every call
///         is its own transaction (cold storage, intrinsic and calldata gas included), as on L1:
///           forge test --match-contract GasTest --isolate --gas-report
///         The figures are recorded in docs/perf.md.
contract GasTest is RollupFixture {
    /// @dev 1 KiB of batch data with no zero bytes, so calldata costs what real compressed data costs.
    bytes internal batchData;
    Withdrawal[] internal withdrawals;

    function setUp() public override {
        super.setUp();
        batchData = new bytes(1024);
        for (uint256 i; i < batchData.length; ++i) {
            batchData[i] = bytes1(uint8(i % 255) + 1);
        }
        // Two deposits before the measured one, so it pays for a fresh chain slot but warm counters are not free.
        _deposit(alice, bob, 1 ether);
        _deposit(bob, alice, 2 ether);
        for (uint64 i; i < 4; ++i) {
            withdrawals.push(Withdrawal({nonce: i, from: alice, to: bob, value: 0.1 ether}));
        }
    }

    function test_Gas_DepositETH() public {
        vm.deal(alice, 1 ether);
        vm.prank(alice);
        portal.depositETH{value: 1 ether}(bob);
    }

    function test_Gas_CommitBatch_1KiB_WithDeposits() public {
        bytes32 parent = rollup.batches(0).batchHash;
        vm.prank(sequencer);
        rollup.commitBatch(1, parent, 2, batchData);
    }

    function test_Gas_FinalizeBatch_TestVerifier() public {
        _commit(batchData, 2);
        vm.prank(prover);
        rollup.finalizeBatch(1, _stateRoot(1), WithdrawalTree.rootOf(withdrawals), hex"c0ffee");
    }

    function test_Gas_FinalizeWithdrawal() public {
        bytes32[] memory leaves = WithdrawalTree.leavesOf(withdrawals);
        (bytes32 root, bytes32[] memory siblings) = WithdrawalTree.rootAndProof(leaves, 2);
        _commit(batchData, 2);
        _finalize(1, _stateRoot(1), root);
        portal.finalizeWithdrawal(1, withdrawals[2], 2, siblings);
        vm.assertEq(bob.balance, 0.1 ether);
    }
}
