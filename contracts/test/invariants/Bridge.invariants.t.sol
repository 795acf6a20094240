// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {FuzzSelector} from "../utils/Test.sol";
import {RollupFixture} from "../utils/RollupFixture.sol";
import {WithdrawalTree} from "../utils/WithdrawalTree.sol";
import {BridgeHandler} from "./BridgeHandler.sol";
import {Withdrawal} from "../../src/libraries/Withdrawals.sol";
import {WellFormedStatementVerifier} from "../mocks/Verifiers.sol";

/// @notice Stateful fuzzing of the whole bridge: random sequences of deposits, commits, finalizations, reverts,
///         honest claims and adversarial claims, driven by BridgeHandler, after each of which the properties below
///         must hold.
contract BridgeInvariantTest is RollupFixture {
    BridgeHandler internal handler;

    function setUp() public override {
        super.setUp();
        // Every finalization in the runs must hand the verifier a well-formed statement for CHUNKS positions.
        WellFormedStatementVerifier wellFormed = new WellFormedStatementVerifier(CHUNKS);
        vm.prank(owner);
        rollup.setVerifier(wellFormed);
        handler = new BridgeHandler(rollup, portal, owner, sequencer, prover, GENESIS_ROOT);
        vm.label(address(handler), "BridgeHandler");

        // Start every run with a finalized batch holding three unpaid withdrawals, so a claim is possible from the
        // first call on. This makes the coverage check in afterInvariant exact rather than probabilistic: if the
        // fuzzer calls claimWithdrawal at all, something must get paid.
        handler.deposit(0, alice, 10 ether);
        handler.deposit(1, bob, 20 ether);
        handler.deposit(2, alice, 30 ether);
        handler.commitBatch(3, 3, uint256(keccak256("seed withdrawals")));
        handler.finalizeBatch(uint256(keccak256("seed state root")));
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 1, "seed batch not finalized");
        vm.assertEq(handler.claimableCount(), 3, "seed batch has no claimable withdrawals");

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](6);
        selectors[0] = BridgeHandler.deposit.selector;
        selectors[1] = BridgeHandler.commitBatch.selector;
        selectors[2] = BridgeHandler.finalizeBatch.selector;
        selectors[3] = BridgeHandler.claimWithdrawal.selector;
        selectors[4] = BridgeHandler.attackWithdrawal.selector;
        selectors[5] = BridgeHandler.revertBatches.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice A fixed scenario through the handler that reaches every kind of action and attack, so the
    ///         invariants below are known to be checked against states where they could fail: paid withdrawals,
    ///         replays of them, claims from committed-only and reverted batches (before and after the reverted index
    ///         is reused by a finalized replacement), tampered claims and forged claims on an empty tree.
    function test_HandlerReachesEveryPath() public {
        // Record 1 is the seeded batch 1 (finalized). Pay one of its withdrawals, then replay it.
        handler.claimWithdrawal(0, bob);
        vm.assertEq(handler.withdrawalsPaid(), 1);
        uint256 paidId = handler.paid(0) ? 0 : (handler.paid(1) ? 1 : 2);
        handler.attackWithdrawal(1, paidId, 0, 0);
        vm.assertEq(handler.replaysOfPaid(), 1);

        // Record 2: batch 2, committed only.
        handler.deposit(3, bob, 100 ether);
        handler.commitBatch(type(uint256).max, 3, 42);
        vm.assertEq(handler.recordCount(), 3);
        handler.attackWithdrawal(2, 0, 0, 0);
        vm.assertEq(handler.claimsFromCommitted(), 1);

        // Revert batch 2 (seed 0 acts and picks the first unfinalized batch); claim from it.
        handler.revertBatches(0);
        vm.assertEq(handler.batchesReverted(), 1);
        vm.assertEq(uint256(rollup.lastCommittedBatch()), 1);
        handler.attackWithdrawal(2, 1, 0, 0);

        // Record 3 replaces batch 2 and is finalized; the reverted record 2 still pays nothing at index 2.
        handler.commitBatch(type(uint256).max, 3, 43);
        handler.finalizeBatch(7);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 2);
        handler.attackWithdrawal(2, 2, 0, 0);
        vm.assertEq(handler.claimsFromReverted(), 2);

        // Tampered (other batch, changed value, index past 2^32, same slot of another chunk) and forged (genesis has
        // no withdrawals) claims.
        handler.attackWithdrawal(1, 1, 1, 5);
        handler.attackWithdrawal(1, 1, 2, 5);
        handler.attackWithdrawal(1, 1, 3, 5);
        handler.attackWithdrawal(1, 1, 4, 5);
        vm.assertEq(handler.tamperedClaims(), 4);
        handler.attackWithdrawal(0, 5, 0, 0);
        vm.assertEq(handler.forgedClaims(), 1);
        vm.assertEq(handler.attacksRejected(), handler.attackCalls());
        // Every finalization was preceded by a refused one with chunk data hashes other than the committed ones.
        vm.assertEq(handler.forgedFinalizationsRejected(), handler.finalizations());

        // A batch of several chunks (count seed 2 << 8 | 2: three chunks, two withdrawals) finalizes and pays.
        handler.deposit(0, alice, 50 ether);
        handler.commitBatch(type(uint256).max, (2 << 8) | 2, 44);
        handler.finalizeBatch(8);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 3);

        // Everything still claimable pays.
        while (handler.claimableCount() > 0) {
            handler.claimWithdrawal(0, alice);
        }
        vm.assertGe(handler.withdrawalsPaid(), 4);
        vm.assertEq(portal.totalWithdrawn(), handler.ghostWithdrawn());

        invariant_WithdrawalNeverPaidTwice();
        invariant_NothingPaidFromUnfinalizedBatch();
        invariant_PortalSolvent();
        invariant_ValidDepositNeverReverts();
        invariant_FinalizedRootsNeverChange();
        invariant_callSummary();
        afterInvariant();
    }

    /// @notice (a) A withdrawal is never paid twice. Each withdrawal is one leaf, and the leaf's ETH left the L2 once;
    ///         paying it again would take another user's deposit. The handler counts every successful call on an
    ///         already-paid leaf (honest retries and adversarial replays against any batch), and the Portal's
    ///         paid-flags must match exactly the withdrawals the model paid.
    function invariant_WithdrawalNeverPaidTwice() public view {
        vm.assertEq(handler.doublePays(), 0, "a withdrawal was paid twice");
        uint256 n = handler.withdrawalCount();
        for (uint256 id; id < n; ++id) {
            Withdrawal memory w = handler.withdrawalAt(id);
            vm.assertEq(portal.withdrawalFinalized(WithdrawalTree.leafHash(w)), handler.paid(id), "paid flag disagrees");
        }
    }

    /// @notice (b) Nothing is paid from a batch that is not finalized. Only a verified proof makes a withdrawal
    ///         root trustworthy: a committed batch is the sequencer's unproven claim and a reverted one was
    ///         withdrawn, so paying from either would let an operator mint L1 ETH. Tampered withdrawals, proofs aimed
    ///         at another batch, and out-of-range indices count as forged payouts and must never succeed either.
    function invariant_NothingPaidFromUnfinalizedBatch() public view {
        vm.assertEq(handler.unfinalizedPays(), 0, "paid from a batch that is not finalized");
        vm.assertEq(handler.forgedPays(), 0, "paid a withdrawal that is in no finalized tree");
        uint256 n = handler.withdrawalCount();
        for (uint256 id; id < n; ++id) {
            if (handler.paid(id)) {
                vm.assertTrue(
                    handler.statusOfWithdrawal(id) == BridgeHandler.Status.Finalized, "paid withdrawal not finalized"
                );
            }
        }
    }

    /// @notice (c) The Portal is solvent: its balance covers everything deposited and not yet withdrawn, and its
    ///         counters equal what the handler actually moved. With a solvent L2 (no batch promises more than was
    ///         deposited) this also means every outstanding withdrawal can be paid. A drift here would be ETH
    ///         created or destroyed by the bridge's bookkeeping.
    function invariant_PortalSolvent() public view {
        uint256 balance = address(portal).balance;
        vm.assertGe(balance, portal.totalDeposited() - portal.totalWithdrawn(), "portal balance below its liabilities");
        vm.assertEq(portal.totalDeposited(), handler.ghostDeposited(), "totalDeposited drifted");
        vm.assertEq(portal.totalWithdrawn(), handler.ghostWithdrawn(), "totalWithdrawn drifted");
        vm.assertEq(balance, handler.ghostDeposited() - handler.ghostWithdrawn(), "balance drifted");
        vm.assertGe(balance, handler.ghostAssigned() - handler.ghostWithdrawn(), "outstanding withdrawals uncovered");
    }

    /// @notice (d) A valid deposit (positive value, any recipient) never reverts and gets the next nonce. Deposits
    ///         are the way into the rollup and are deliberately not pausable; a deposit that could fail or be
    ///         misnumbered would break the queue the batches are proven against.
    function invariant_ValidDepositNeverReverts() public view {
        vm.assertEq(handler.depositReverts(), 0, "a valid deposit reverted");
        vm.assertEq(handler.depositMisnumbered(), 0, "a deposit got the wrong nonce");
    }

    /// @notice (e) A finalized state root never changes, nor does a finalized withdrawal root, and finalization
    ///         never moves backwards. L1 contracts and users rely on finalized roots as settled facts; a revert or
    ///         a second finalization that rewrote one would undo finality. The withdrawal roots the handler expects
    ///         are its own tree of the chunk roots, so this also checks the Rollup's computation of them; and no
    ///         batch is finalized with chunk data hashes other than those of the chunks committed.
    function invariant_FinalizedRootsNeverChange() public view {
        vm.assertEq(handler.forgedFinalizations(), 0, "finalized with chunks other than the committed ones");
        uint64 last = rollup.lastFinalizedBatch();
        vm.assertEq(uint256(last), uint256(handler.ghostLastFinalized()), "lastFinalizedBatch moved unexpectedly");
        for (uint256 i; i <= last; ++i) {
            vm.assertEq(rollup.stateRoots(i), handler.ghostStateRoot(i), "a finalized state root changed");
            vm.assertEq(
                rollup.withdrawalRoots(i), handler.ghostWithdrawalRoot(i), "a finalized withdrawal root changed"
            );
        }
    }

    /// @notice Prints what the runs exercised (visible with -vv); it asserts the handler's own sanity counters, so a
    ///         broken handler cannot pass silently.
    function invariant_callSummary() public view {
        vm.assertEq(handler.unexpectedReverts(), 0, "an action the model considers valid reverted");
        _log("deposits", handler.depositCalls());
        _log("commits", handler.commitCalls());
        _log("commits with withdrawals", handler.commitsWithWithdrawals());
        _log("finalizations", handler.finalizations());
        _log("forged finalizations rejected", handler.forgedFinalizationsRejected());
        _log("claims", handler.claimCalls());
        _log("withdrawals paid", handler.withdrawalsPaid());
        _log("attacks", handler.attackCalls());
        _log("attacks rejected", handler.attacksRejected());
        _log("  replays of paid withdrawals", handler.replaysOfPaid());
        _log("  claims from committed batches", handler.claimsFromCommitted());
        _log("  claims from reverted batches", handler.claimsFromReverted());
        _log("  tampered or misdirected claims", handler.tamperedClaims());
        _log("  forged claims on empty trees", handler.forgedClaims());
        _log("batches reverted", handler.batchesReverted());
    }

    /// @notice Runs after each fuzzing run. Liveness and coverage: every honest action the model deems valid went
    ///         through (a finalized, unpaid withdrawal with a correct proof pays, to the right account, the right
    ///         amount), and because every run starts with claimable withdrawals, a run that tried to claim must have
    ///         paid something; a suite in which nothing is ever paid would prove nothing about payouts.
    function afterInvariant() public view {
        vm.assertEq(handler.validClaimReverts(), 0, "a valid withdrawal could not be claimed");
        vm.assertEq(handler.wrongPayouts(), 0, "a withdrawal paid the wrong amount");
        vm.assertEq(handler.unexpectedReverts(), 0, "an action the model considers valid reverted");
        if (handler.claimCalls() > 0) vm.assertGt(handler.withdrawalsPaid(), 0, "claims were made but none paid");
    }
}
