// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {FuzzSelector} from "../utils/Test.sol";
import {OptimisticFixture} from "../utils/OptimisticFixture.sol";
import {DisputeHandler, Truth, TruthVerifier} from "./DisputeHandler.sol";
import {OptimisticRollup} from "../../src/OptimisticRollup.sol";

/// @notice Stateful fuzzing of the optimistic mode's dispute game: random sequences of commits, honest and wrong
///         proposals, challenges (of wrong and of honest outputs), proofs, resolutions, claims, withdrawals and time
///         steps, driven by DisputeHandler, after each of which the properties below must hold.
contract DisputeInvariantTest is OptimisticFixture {
    DisputeHandler internal handler;

    function setUp() public override {
        super.setUp();
        TruthVerifier truth = new TruthVerifier();
        vm.prank(owner);
        rollup.setVerifier(truth);
        handler = new DisputeHandler(rollup, portal, sequencer, proposer);
        vm.label(address(handler), "DisputeHandler");
        // The Portal holds enough for every withdrawal a run can pay, true or stolen.
        _deposit(alice, alice, 100 ether);
        vm.assertEq(GENESIS_ROOT, Truth.GENESIS_ROOT);

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = DisputeHandler.commit.selector;
        selectors[1] = DisputeHandler.propose.selector;
        selectors[2] = DisputeHandler.challenge.selector;
        selectors[3] = DisputeHandler.prove.selector;
        selectors[4] = DisputeHandler.resolve.selector;
        selectors[5] = DisputeHandler.warp.selector;
        selectors[6] = DisputeHandler.claim.selector;
        selectors[7] = DisputeHandler.withdraw.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice A fixed scenario through the handler that reaches every outcome (final unchallenged, defended, lost
    ///         unproven, lost with its parent, a stolen withdrawal refused, an honest one paid), so the invariants are
    ///         known to be checked against states where they could fail.
    function test_HandlerReachesEveryPath() public {
        handler.commit();
        handler.commit();
        handler.commit();
        handler.propose(3); // 1: wrong state root
        handler.propose(0); // 2: honest, on a wrong parent
        handler.challenge(0, 0); // challenge output 1
        handler.challenge(1, 1); // grief output 2
        handler.prove(0); // refused: wrong
        handler.withdraw(0); // refused: not final
        handler.warp(3 hours);
        handler.warp(3 hours);
        handler.resolve(0); // 1 lost, unproven
        handler.resolve(1); // 2 lost with its parent
        vm.assertEq(handler.lostUnproven(), 1);
        vm.assertEq(handler.lostWithParent(), 1);

        handler.propose(0); // 3: honest batch 1
        handler.challenge(2, 0); // griefed
        handler.prove(2); // defended
        vm.assertEq(handler.proofs(), 1);
        handler.propose(4); // 4: wrong withdrawal root for batch 2, nobody challenges
        handler.warp(3 hours);
        handler.resolve(3); // final unchallenged: the optimistic mode's trust assumption
        vm.assertEq(handler.finalUnchallenged(), 1);
        handler.withdraw(2); // output 3's true withdrawal
        handler.withdraw(3); // output 4's stolen one: final, so paid (nobody challenged it)
        vm.assertEq(handler.withdrawalsPaid(), 2);
        handler.claim(0);
        handler.claim(1);
        handler.claim(2);
        vm.assertGe(handler.claims(), 2);

        invariant_NoWithdrawalAgainstANonFinalOutput();
        invariant_ProvenOutputsAreNeverDeleted();
        invariant_BondsAreConserved();
        invariant_NothingFinalBeforeItsWindowUnlessProven();
        invariant_OutputsFinalizeInOrder();
        invariant_OnlyTrueOutputsAreDefended();
        invariant_callSummary();
    }

    /// @notice (a) The Portal pays a withdrawal only when it is in the final output of its batch.
    function invariant_NoWithdrawalAgainstANonFinalOutput() public view {
        vm.assertEq(handler.paidFromNonFinal(), 0, "paid against an output that is not final");
    }

    /// @notice (b) A proven output is final and stays its batch's output for good.
    function invariant_ProvenOutputsAreNeverDeleted() public view {
        uint256 n = handler.provenCount();
        for (uint256 i; i < n; ++i) {
            uint256 id = handler.provenAt(i);
            OptimisticRollup.Output memory o = rollup.outputs(id);
            vm.assertTrue(o.status == OptimisticRollup.OutputStatus.Final, "a proven output is not final");
            vm.assertTrue(o.proven, "a proven output lost its flag");
            vm.assertEq(rollup.outputOf(o.batchIndex), id, "a proven output was replaced");
        }
    }

    /// @notice (c) Bonds are conserved: every wei paid in is held for an open output, owed to an account, or was
    ///         claimed; the contract holds exactly what it owes and what it holds in bonds.
    function invariant_BondsAreConserved() public view {
        uint256 balance = address(rollup).balance;
        vm.assertEq(balance, rollup.totalCredits() + rollup.lockedBonds(), "balance != credits + locked bonds");
        vm.assertEq(handler.bondsPaidIn(), balance + handler.creditsClaimed(), "bonds created or destroyed");
        uint256 owed = rollup.credits(proposer);
        for (uint256 i; i < handler.challengerCount(); ++i) {
            owed += rollup.credits(handler.challengerAt(i));
        }
        vm.assertEq(owed, rollup.totalCredits(), "credits owed to nobody");
        uint256 locked;
        uint256 count = rollup.outputCount();
        for (uint256 id = 1; id < count; ++id) {
            OptimisticRollup.Output memory o = rollup.outputs(id);
            if (
                o.status == OptimisticRollup.OutputStatus.Proposed
                    || o.status == OptimisticRollup.OutputStatus.Challenged
            ) locked += uint256(o.proposerBond) + o.challengerBond;
        }
        vm.assertEq(locked, rollup.lockedBonds(), "locked bonds are not the open outputs' bonds");
    }

    /// @notice (d) No output is final before its challenge window ends, unless it was proven.
    function invariant_NothingFinalBeforeItsWindowUnlessProven() public view {
        uint256 count = rollup.outputCount();
        for (uint256 id = 1; id < count; ++id) {
            OptimisticRollup.Output memory o = rollup.outputs(id);
            if (o.status != OptimisticRollup.OutputStatus.Final) continue;
            vm.assertTrue(o.proven || o.settledAt >= o.challengeDeadline, "final before its window ended");
            vm.assertTrue(o.proven || o.challenger == address(0), "a challenged output final without a proof");
        }
    }

    /// @notice (e) Outputs finalize in batch order, each on its final parent, and finality never goes back.
    function invariant_OutputsFinalizeInOrder() public view {
        vm.assertEq(handler.finalityWentBack(), 0, "lastFinalizedBatch decreased");
        uint64 last = rollup.lastFinalizedBatch();
        for (uint64 b = 1; b <= last; ++b) {
            uint256 id = rollup.outputOf(b);
            OptimisticRollup.Output memory o = rollup.outputs(id);
            vm.assertTrue(o.status == OptimisticRollup.OutputStatus.Final, "a finalized batch's output is not final");
            vm.assertEq(uint256(o.batchIndex), uint256(b));
            vm.assertEq(o.parentId, rollup.outputOf(b - 1), "final output not on its batch's parent");
            vm.assertEq(rollup.stateRoots(b), o.stateRoot, "state root is not the final output's");
            vm.assertEq(rollup.withdrawalRoots(b), o.withdrawalRoot, "withdrawal root is not the final output's");
        }
        uint256 count = rollup.outputCount();
        for (uint256 id = 1; id < count; ++id) {
            OptimisticRollup.Output memory o = rollup.outputs(id);
            if (o.status == OptimisticRollup.OutputStatus.Final) {
                vm.assertLe(uint256(o.batchIndex), uint256(last));
            } else if (o.batchIndex <= last) {
                // Only outputs replaced after an ancestor was lost (resolved lazily) may be left open below.
                vm.assertTrue(rollup.outputOf(o.batchIndex) != id, "an open output is its finalized batch's output");
            }
        }
    }

    /// @notice (f) The defence is sound and live: a wrong output is never proven, and an honest output on a final
    ///         honest parent is never refused within its window.
    function invariant_OnlyTrueOutputsAreDefended() public view {
        vm.assertEq(handler.wrongDefenceAccepted(), 0, "a wrong output was defended");
        vm.assertEq(handler.honestDefenceRefused(), 0, "an honest defence in time was refused");
    }

    /// @notice Prints what the runs exercised (visible with -vv) and checks the handler met no surprise.
    function invariant_callSummary() public view {
        vm.assertEq(handler.unexpectedReverts(), 0, "an action the model considers valid reverted");
        _log("proposals", handler.proposals());
        _log("  wrong", handler.wrongProposals());
        _log("challenges", handler.challenges());
        _log("proofs", handler.proofs());
        _log("final unchallenged", handler.finalUnchallenged());
        _log("lost unproven", handler.lostUnproven());
        _log("lost with parent", handler.lostWithParent());
        _log("withdrawals paid", handler.withdrawalsPaid());
        _log("claims", handler.claims());
    }
}
