// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {OptimisticFixture} from "./utils/OptimisticFixture.sol";
import {WithdrawalTree} from "./utils/WithdrawalTree.sol";
import {OptimisticRollup} from "../src/OptimisticRollup.sol";
import {RollupBase, IDepositQueue} from "../src/RollupBase.sol";
import {Portal} from "../src/Portal.sol";
import {Owned} from "../src/access/Owned.sol";
import {Withdrawal} from "../src/libraries/Withdrawals.sol";
import {AllowListVerifier, ExpectingVerifier, RejectingVerifier} from "./mocks/Verifiers.sol";
import {EtherRejecter} from "./mocks/Recipients.sol";

contract OptimisticRollupTest is OptimisticFixture {
    bytes internal constant DATA = hex"01";

    // ------------------------------------------------------------------------------------------------------------
    // Deployment and parameters
    // ------------------------------------------------------------------------------------------------------------

    function test_Constructor_GenesisOutputIsFinal() public view {
        OptimisticRollup.Output memory genesis = rollup.outputs(0);
        vm.assertTrue(genesis.status == OptimisticRollup.OutputStatus.Final);
        vm.assertEq(genesis.stateRoot, GENESIS_ROOT);
        vm.assertEq(rollup.stateRoots(0), GENESIS_ROOT);
        vm.assertEq(rollup.outputCount(), 1);
        vm.assertEq(uint256(rollup.nextOutputBatch()), 1);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 0);
        (uint64 window, uint64 proving, uint128 pBond, uint128 cBond) = rollup.disputeParams();
        vm.assertEq(uint256(window), CHALLENGE_WINDOW);
        vm.assertEq(uint256(proving), PROVING_WINDOW);
        vm.assertEq(uint256(pBond), PROPOSER_BOND);
        vm.assertEq(uint256(cBond), CHALLENGER_BOND);
    }

    function test_Constructor_RefusesWindowsOutOfRange() public {
        uint64[4] memory bad = [uint64(0), rollup.MAX_WINDOW() + 1, type(uint64).max, 0];
        for (uint256 i; i < bad.length; ++i) {
            OptimisticRollup.DisputeParams memory params = _params();
            if (i % 2 == 0) params.challengeWindow = bad[i];
            else params.provingWindow = bad[i];
            (Portal p,) = _deployPortal();
            vm.expectRevert(OptimisticRollup.InvalidDisputeParams.selector);
            new OptimisticRollup(owner, IDepositQueue(address(p)), acceptAll, GAS_LIMIT, CHUNKS, GENESIS_ROOT, params);
        }
    }

    function test_DefaultsAreTheDocumentedOnes() public view {
        vm.assertEq(uint256(rollup.DEFAULT_CHALLENGE_WINDOW()), 1 days);
        vm.assertEq(uint256(rollup.DEFAULT_PROVING_WINDOW()), 3 days);
        vm.assertEq(uint256(rollup.DEFAULT_PROPOSER_BOND()), 1 ether);
        vm.assertEq(uint256(rollup.DEFAULT_CHALLENGER_BOND()), 0.1 ether);
        vm.assertEq(uint256(rollup.MAX_WINDOW()), 30 days);
    }

    function test_OwnerOnly() public {
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, alice));
        rollup.setProposer(alice, true);
        vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, alice));
        rollup.setDisputeParams(_params());
        vm.stopPrank();

        OptimisticRollup.DisputeParams memory params = _params();
        params.challengeWindow = 7;
        vm.expectEmit(address(rollup));
        emit OptimisticRollup.DisputeParamsUpdated(params);
        vm.prank(owner);
        rollup.setDisputeParams(params);
        (uint64 window,,,) = rollup.disputeParams();
        vm.assertEq(uint256(window), 7);

        params.provingWindow = 0;
        vm.prank(owner);
        vm.expectRevert(OptimisticRollup.InvalidDisputeParams.selector);
        rollup.setDisputeParams(params);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Proposals
    // ------------------------------------------------------------------------------------------------------------

    function test_Propose_RecordsTheOutputAndLocksTheBond() public {
        _commit(DATA);
        bytes32 root = _stateRoot(1);
        bytes32 wroot = rollup.batchWithdrawalRoot(_noWithdrawals(1));
        vm.deal(proposer, PROPOSER_BOND);
        vm.expectEmit(address(rollup));
        emit OptimisticRollup.OutputProposed(1, 1, proposer, root, wroot, 0, uint64(block.timestamp) + CHALLENGE_WINDOW);
        vm.prank(proposer);
        uint256 id = rollup.proposeOutput{value: PROPOSER_BOND}(1, root, wroot);

        vm.assertEq(id, 1);
        vm.assertEq(rollup.outputOf(1), 1);
        vm.assertEq(uint256(rollup.nextOutputBatch()), 2);
        vm.assertEq(rollup.lockedBonds(), PROPOSER_BOND);
        vm.assertEq(address(rollup).balance, PROPOSER_BOND);
        OptimisticRollup.Output memory o = rollup.outputs(1);
        vm.assertTrue(o.status == OptimisticRollup.OutputStatus.Proposed);
        vm.assertEq(o.proposer, proposer);
        vm.assertEq(uint256(o.batchIndex), 1);
        vm.assertEq(o.parentId, 0);
        vm.assertEq(uint256(o.proposerBond), PROPOSER_BOND);
        // Not final: the Portal does not trust it yet.
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 0);
        vm.assertFalse(rollup.isBatchFinalized(1));
    }

    function test_Propose_Refusals() public {
        // Nothing committed yet.
        vm.deal(proposer, 10 ether);
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.BatchNotCommitted.selector, uint64(1)));
        rollup.proposeOutput{value: PROPOSER_BOND}(1, _stateRoot(1), bytes32(0));
        _commit(DATA);

        // Only proposers.
        vm.deal(alice, PROPOSER_BOND);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, alice));
        rollup.proposeOutput{value: PROPOSER_BOND}(1, _stateRoot(1), bytes32(0));

        vm.startPrank(proposer);
        // In order only.
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.UnexpectedOutputBatch.selector, uint64(1), uint64(2)));
        rollup.proposeOutput{value: PROPOSER_BOND}(2, _stateRoot(2), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.UnexpectedOutputBatch.selector, uint64(1), uint64(0)));
        rollup.proposeOutput{value: PROPOSER_BOND}(0, _stateRoot(0), bytes32(0));
        // The exact bond.
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.IncorrectBond.selector, PROPOSER_BOND, 0));
        rollup.proposeOutput(1, _stateRoot(1), bytes32(0));
        vm.expectRevert(
            abi.encodeWithSelector(OptimisticRollup.IncorrectBond.selector, PROPOSER_BOND, PROPOSER_BOND + 1)
        );
        rollup.proposeOutput{value: PROPOSER_BOND + 1}(1, _stateRoot(1), bytes32(0));
        // A state root in the field.
        vm.expectRevert(abi.encodeWithSelector(RollupBase.StateRootOutOfField.selector, bytes32(FIELD)));
        rollup.proposeOutput{value: PROPOSER_BOND}(1, bytes32(FIELD), bytes32(0));
        vm.stopPrank();

        // Not while paused.
        vm.prank(owner);
        rollup.setPaused(true);
        vm.prank(proposer);
        vm.expectRevert(RollupBase.RollupPaused.selector);
        rollup.proposeOutput{value: PROPOSER_BOND}(1, _stateRoot(1), bytes32(0));

        vm.assertEq(rollup.outputCount(), 1);
        vm.assertEq(address(rollup).balance, 0);
    }

    function testFuzz_Propose_OnlyTheExactBond(uint256 value) public {
        vm.assume(value != PROPOSER_BOND);
        value = bound(value, 0, 100 ether);
        _commit(DATA);
        vm.deal(proposer, value);
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.IncorrectBond.selector, PROPOSER_BOND, value));
        rollup.proposeOutput{value: value}(1, _stateRoot(1), bytes32(0));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Unchallenged outputs
    // ------------------------------------------------------------------------------------------------------------

    function test_Unchallenged_FinalAfterTheWindowAndNotBefore() public {
        _commit(DATA);
        uint256 id = _propose(1, _stateRoot(1));
        uint64 deadline = rollup.outputs(id).challengeDeadline;

        vm.warp(deadline - 1);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.ChallengeWindowOpen.selector, id, deadline));
        rollup.resolveOutput(id);

        vm.warp(deadline);
        vm.expectEmit(address(rollup));
        emit OptimisticRollup.OutputFinalized(id, 1, false);
        vm.expectEmit(address(rollup));
        emit RollupBase.BatchFinalized(
            1, rollup.batches(1).batchHash, _stateRoot(1), rollup.batchWithdrawalRoot(_noWithdrawals(1))
        );
        vm.prank(bob);
        rollup.resolveOutput(id);

        vm.assertTrue(_status(id) == OptimisticRollup.OutputStatus.Final);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 1);
        vm.assertEq(rollup.stateRoots(1), _stateRoot(1));
        vm.assertEq(rollup.credits(proposer), PROPOSER_BOND);
        vm.assertEq(rollup.lockedBonds(), 0);

        // Settled: no second resolution, no late challenge.
        vm.expectRevert(
            abi.encodeWithSelector(OptimisticRollup.OutputSettled.selector, id, OptimisticRollup.OutputStatus.Final)
        );
        rollup.resolveOutput(id);
        vm.deal(challenger, CHALLENGER_BOND);
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(OptimisticRollup.OutputSettled.selector, id, OptimisticRollup.OutputStatus.Final)
        );
        rollup.challengeOutput{value: CHALLENGER_BOND}(id);

        // The bond is pulled.
        uint256 before = proposer.balance;
        vm.expectEmit(address(rollup));
        emit OptimisticRollup.CreditClaimed(proposer, PROPOSER_BOND);
        vm.prank(proposer);
        rollup.claimCredit();
        vm.assertEq(proposer.balance, before + PROPOSER_BOND);
        vm.assertEq(address(rollup).balance, 0);
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.NoCredit.selector, proposer));
        rollup.claimCredit();
    }

    function test_Outputs_FinalizeInOrder() public {
        _commit(DATA);
        _commit(DATA);
        uint256 first = _propose(1, _stateRoot(1));
        vm.warp(block.timestamp + 10);
        uint256 second = _propose(2, _stateRoot(2));
        vm.assertEq(rollup.outputs(second).parentId, first);

        // The second's window ends, but it cannot finalize before its parent.
        _endChallengeWindow(second);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.ParentNotFinal.selector, second, first));
        rollup.resolveOutput(second);
        rollup.resolveOutput(first);
        rollup.resolveOutput(second);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 2);
        vm.assertEq(rollup.credits(proposer), 2 * uint256(PROPOSER_BOND));
    }

    function test_Unknown_Outputs() public {
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.UnknownOutput.selector, 0));
        rollup.resolveOutput(0);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.UnknownOutput.selector, 1));
        rollup.resolveOutput(1);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.UnknownOutput.selector, 5));
        rollup.challengeOutput(5);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.UnknownOutput.selector, 0));
        rollup.proveOutput(0, new bytes32[](0), new bytes32[](0), hex"00");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Challenges
    // ------------------------------------------------------------------------------------------------------------

    function test_Challenge_OnlyWithinTheWindowOnceWithTheBond() public {
        _commit(DATA);
        uint256 id = _propose(1, _stateRoot(1));
        uint64 deadline = rollup.outputs(id).challengeDeadline;

        vm.deal(challenger, 10 ether);
        vm.startPrank(challenger);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.IncorrectBond.selector, CHALLENGER_BOND, 1));
        rollup.challengeOutput{value: 1}(id);
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.ChallengeWindowClosed.selector, id, deadline));
        rollup.challengeOutput{value: CHALLENGER_BOND}(id);
        vm.warp(deadline - 1);
        vm.expectEmit(address(rollup));
        emit OptimisticRollup.OutputChallenged(id, 1, challenger, PROVING_WINDOW);
        rollup.challengeOutput{value: CHALLENGER_BOND}(id);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.AlreadyChallenged.selector, id));
        rollup.challengeOutput{value: CHALLENGER_BOND}(id);
        vm.stopPrank();

        OptimisticRollup.Output memory o = rollup.outputs(id);
        vm.assertTrue(o.status == OptimisticRollup.OutputStatus.Challenged);
        vm.assertEq(o.challenger, challenger);
        vm.assertEq(uint256(o.challengedAt), deadline - 1);
        vm.assertEq(rollup.lockedBonds(), PROPOSER_BOND + CHALLENGER_BOND);
        // A challenged output does not finalize when its challenge window ends.
        vm.warp(deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                OptimisticRollup.ProvingWindowOpen.selector, id, uint256(deadline - 1) + PROVING_WINDOW
            )
        );
        rollup.resolveOutput(id);
        vm.assertEq(rollup.provingDeadline(id), uint256(deadline - 1) + PROVING_WINDOW);
    }

    function test_Griefer_HonestOutputDefendedBondGoesToProposer() public {
        AllowListVerifier verifier = _allowListVerifier();
        _commit(DATA);
        uint256 id = _propose(1, _stateRoot(1));
        _challenge(challenger, id);
        verifier.allow(rollup.publicInputs(1, _stateRoot(1), _hashesOf(1), _noWithdrawals(1)));

        vm.warp(block.timestamp + PROVING_WINDOW);
        vm.expectEmit(address(rollup));
        emit OptimisticRollup.OutputProven(id, 1, prover);
        vm.expectEmit(address(rollup));
        emit OptimisticRollup.OutputFinalized(id, 1, true);
        _prove(id);

        OptimisticRollup.Output memory o = rollup.outputs(id);
        vm.assertTrue(o.status == OptimisticRollup.OutputStatus.Final);
        vm.assertTrue(o.proven);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 1);
        vm.assertEq(rollup.credits(proposer), PROPOSER_BOND + CHALLENGER_BOND);
        vm.assertEq(rollup.credits(challenger), 0);
        vm.assertEq(rollup.lockedBonds(), 0);
        vm.assertEq(rollup.totalCredits(), address(rollup).balance);
    }

    function test_WrongOutput_CannotBeDefendedIsLostAndTheChallengerCollects() public {
        AllowListVerifier verifier = _allowListVerifier();
        _commit(DATA);
        bytes32 wrong = _stateRoot(666);
        uint256 id = _propose(1, wrong);
        _challenge(challenger, id);
        // Only the true statement is provable.
        verifier.allow(rollup.publicInputs(1, _stateRoot(1), _hashesOf(1), _noWithdrawals(1)));
        vm.prank(prover);
        vm.expectRevert(RollupBase.InvalidProof.selector);
        rollup.proveOutput(id, _hashesOf(1), _noWithdrawals(1), hex"c0ffee");

        uint256 deadline = rollup.provingDeadline(id);
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.ProvingWindowOpen.selector, id, deadline));
        rollup.resolveOutput(id);
        vm.warp(deadline + 1);
        // Too late to prove, even a true statement.
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.ProvingWindowClosed.selector, id, deadline));
        rollup.proveOutput(id, _hashesOf(1), _noWithdrawals(1), hex"c0ffee");

        vm.expectEmit(address(rollup));
        emit OptimisticRollup.OutputLost(id, 1, OptimisticRollup.LossReason.Unproven);
        rollup.resolveOutput(id);
        vm.assertTrue(_status(id) == OptimisticRollup.OutputStatus.Lost);
        vm.assertEq(rollup.outputOf(1), 0);
        vm.assertEq(uint256(rollup.nextOutputBatch()), 1);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 0);
        vm.assertEq(rollup.credits(challenger), PROPOSER_BOND + CHALLENGER_BOND);
        vm.assertEq(rollup.credits(proposer), 0);

        uint256 before = challenger.balance;
        vm.prank(challenger);
        rollup.claimCredit();
        vm.assertEq(challenger.balance, before + PROPOSER_BOND + CHALLENGER_BOND);

        // Proposals resume at the lost batch, and the true output finalizes.
        uint256 honest = _propose(1, _stateRoot(1));
        vm.assertEq(rollup.outputs(honest).parentId, 0);
        _endChallengeWindow(honest);
        rollup.resolveOutput(honest);
        vm.assertEq(rollup.stateRoots(1), _stateRoot(1));
    }

    function test_LostOutput_TakesItsDescendantsWithIt() public {
        _allowListVerifier();
        _commit(DATA);
        _commit(DATA);
        _commit(DATA);
        uint256 wrong = _propose(1, _stateRoot(666));
        uint256 child = _propose(2, _stateRoot(2));
        uint256 grandchild = _propose(3, _stateRoot(3));
        _challenge(challenger, wrong);
        address second = makeAddr("second challenger");
        _challenge(second, grandchild);

        // Descendants wait for their ancestors.
        vm.warp(rollup.outputs(grandchild).challengeDeadline);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.ParentNotFinal.selector, child, wrong));
        rollup.resolveOutput(child);
        vm.warp(rollup.provingDeadline(wrong) + 1);
        rollup.resolveOutput(wrong);
        // The grandchild's parent (child) is not resolved yet.
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.ParentNotFinal.selector, grandchild, child));
        rollup.resolveOutput(grandchild);
        // Nobody can challenge or prove an output whose parent is lost.
        vm.deal(bob, CHALLENGER_BOND);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.ParentLost.selector, child, wrong));
        rollup.challengeOutput{value: CHALLENGER_BOND}(child);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.ParentLost.selector, child, wrong));
        rollup.proveOutput(child, _hashesOf(2), _noWithdrawals(2), hex"c0ffee");

        vm.expectEmit(address(rollup));
        emit OptimisticRollup.OutputLost(child, 2, OptimisticRollup.LossReason.ParentLost);
        rollup.resolveOutput(child);
        rollup.resolveOutput(grandchild);

        // The unchallenged child's proposer gets its bond back; each challenger gets the bonds of its output.
        vm.assertEq(rollup.credits(proposer), PROPOSER_BOND);
        vm.assertEq(rollup.credits(challenger), PROPOSER_BOND + CHALLENGER_BOND);
        vm.assertEq(rollup.credits(second), PROPOSER_BOND + CHALLENGER_BOND);
        vm.assertEq(rollup.lockedBonds(), 0);
        vm.assertEq(rollup.totalCredits(), address(rollup).balance);
        vm.assertEq(uint256(rollup.nextOutputBatch()), 1);
        vm.assertEq(rollup.outputOf(2), 0);
    }

    function test_ReproposedChain_OldDescendantsStillFall() public {
        _commit(DATA);
        _commit(DATA);
        uint256 wrong = _propose(1, _stateRoot(666));
        uint256 oldChild = _propose(2, _stateRoot(2));
        _challenge(challenger, wrong);
        vm.warp(rollup.provingDeadline(wrong) + 1);
        rollup.resolveOutput(wrong);

        // A new chain is proposed before anyone resolves the old child: it replaces it as batch 2's output.
        uint256 one = _propose(1, _stateRoot(1));
        uint256 two = _propose(2, _stateRoot(2));
        vm.assertEq(rollup.outputOf(2), two);
        rollup.resolveOutput(oldChild);
        vm.assertTrue(_status(oldChild) == OptimisticRollup.OutputStatus.Lost);
        // Resolving the stale child changed nothing of the new chain.
        vm.assertEq(rollup.outputOf(2), two);
        vm.assertEq(uint256(rollup.nextOutputBatch()), 3);
        _endChallengeWindow(two);
        rollup.resolveOutput(one);
        rollup.resolveOutput(two);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 2);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Proofs
    // ------------------------------------------------------------------------------------------------------------

    /// @notice The defence checks exactly the statement `finalizeBatch` would: the previous state root is the parent
    ///         output's (final) one, and the rest comes from storage and the committed chunks.
    function test_Prove_StatementIsTheZkModes() public {
        _deposit(alice, bob, 3 ether);
        _commit(DATA, 1);
        bytes[] memory chunks = _two(hex"aa", hex"bbcc");
        _commitChunks(chunks);
        uint256 first = _propose(1, _stateRoot(1));
        _endChallengeWindow(first);
        rollup.resolveOutput(first);

        bytes32[] memory wroots = _emptyRoots(2);
        wroots[1] = keccak256("a chunk with withdrawals");
        uint256 id = _propose(2, _stateRoot(2), rollup.batchWithdrawalRoot(wroots));
        uint256[] memory inputs = new uint256[](6 + 4 * CHUNKS);
        inputs[0] = uint256(_stateRoot(1));
        inputs[1] = uint256(_stateRoot(2));
        (inputs[2], inputs[3]) = _halves(portal.depositHashAt(1));
        (inputs[4], inputs[5]) = _halves(portal.depositHashAt(1));
        for (uint256 j; j < CHUNKS; ++j) {
            bytes32 dataHash = j < 2 ? keccak256(chunks[j]) : EMPTY_HASH;
            bytes32 wroot = j < 2 ? wroots[j] : WithdrawalTree.zeroHashes()[CHUNK_HEIGHT];
            (inputs[6 + 4 * j], inputs[7 + 4 * j]) = _halves(dataHash);
            (inputs[8 + 4 * j], inputs[9 + 4 * j]) = _halves(wroot);
        }
        bytes memory proof = hex"0badc0de";
        ExpectingVerifier expecting = new ExpectingVerifier(keccak256(abi.encode(inputs, proof)));
        vm.prank(owner);
        rollup.setVerifier(expecting);

        // A withdrawal root other than the proposed one is refused before the verifier is asked.
        bytes32[] memory other = _emptyRoots(2);
        vm.expectRevert(
            abi.encodeWithSelector(
                OptimisticRollup.WithdrawalRootMismatch.selector,
                rollup.batchWithdrawalRoot(wroots),
                rollup.batchWithdrawalRoot(other)
            )
        );
        rollup.proveOutput(id, _hashesOf(2), other, proof);
        // Other chunks than the committed ones.
        bytes32[] memory hashes = _hashesOf(2);
        hashes[1] = keccak256("other");
        vm.expectRevert(
            abi.encodeWithSelector(
                RollupBase.ChunkDataHashesMismatch.selector,
                rollup.batches(2).dataHash,
                keccak256(abi.encodePacked(hashes))
            )
        );
        rollup.proveOutput(id, hashes, wroots, proof);

        rollup.proveOutput(id, _hashesOf(2), wroots, proof);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 2);
        vm.assertEq(rollup.withdrawalRoots(2), rollup.batchWithdrawalRoot(wroots));
    }

    function test_Prove_OnlyOnAFinalParent() public {
        _commit(DATA);
        _commit(DATA);
        uint256 first = _propose(1, _stateRoot(1));
        uint256 second = _propose(2, _stateRoot(2));
        _challenge(challenger, second);
        bytes32[] memory hashes = _hashesOf(2);
        bytes32[] memory wroots = _noWithdrawals(2);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.ParentNotFinal.selector, second, first));
        rollup.proveOutput(second, hashes, wroots, hex"c0ffee");
        // Its proving window has not started: it starts when the parent is final.
        vm.assertEq(rollup.provingDeadline(second), 0);
        _prove(first);
        _prove(second);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 2);
    }

    /// @notice A proof finalizes an unchallenged output before its window ends: nothing is left to dispute.
    function test_Prove_FinalizesUnchallengedEarly() public {
        _commit(DATA);
        uint256 id = _propose(1, _stateRoot(1));
        _prove(id);
        vm.assertTrue(_status(id) == OptimisticRollup.OutputStatus.Final);
        vm.assertTrue(rollup.outputs(id).proven);
        vm.assertEq(rollup.credits(proposer), PROPOSER_BOND);
    }

    function test_Prove_InvalidProofChangesNothing() public {
        RejectingVerifier rejecting = new RejectingVerifier();
        vm.prank(owner);
        rollup.setVerifier(rejecting);
        _commit(DATA);
        uint256 id = _propose(1, _stateRoot(1));
        _challenge(challenger, id);
        bytes32[] memory hashes = _hashesOf(1);
        bytes32[] memory wroots = _noWithdrawals(1);
        vm.expectRevert(RollupBase.InvalidProof.selector);
        rollup.proveOutput(id, hashes, wroots, hex"c0ffee");
        vm.assertTrue(_status(id) == OptimisticRollup.OutputStatus.Challenged);
        vm.assertEq(rollup.lockedBonds(), PROPOSER_BOND + CHALLENGER_BOND);
    }

    /// @notice The proving window of a challenged output starts when its parent becomes final if that is later than
    ///         the challenge: an honest proposer cannot lose to a window that ran while it could not prove.
    function test_ProvingWindow_StartsWhenTheParentIsFinal() public {
        _commit(DATA);
        _commit(DATA);
        uint256 first = _propose(1, _stateRoot(1));
        uint256 second = _propose(2, _stateRoot(2));
        _challenge(challenger, second);
        _challenge(bob, first);

        // The parent is defended late in its own proving window, long after the child was challenged.
        vm.warp(block.timestamp + PROVING_WINDOW);
        _prove(first);
        uint256 deadline = block.timestamp + PROVING_WINDOW;
        vm.assertEq(rollup.provingDeadline(second), deadline);
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.ProvingWindowOpen.selector, second, deadline));
        rollup.resolveOutput(second);
        _prove(second);
        vm.assertEq(rollup.credits(proposer), 2 * uint256(PROPOSER_BOND + CHALLENGER_BOND));
    }

    /// @notice Changing the parameters does not change what outputs already in flight hold or owe.
    function test_ParamsChange_OutputsKeepTheirBondsAndWindows() public {
        _commit(DATA);
        uint256 id = _propose(1, _stateRoot(1));
        uint64 deadline = rollup.outputs(id).challengeDeadline;
        OptimisticRollup.DisputeParams memory params = _params();
        params.proposerBond = 5 ether;
        params.challengeWindow = 10 days;
        vm.prank(owner);
        rollup.setDisputeParams(params);
        vm.warp(deadline);
        rollup.resolveOutput(id);
        vm.assertEq(rollup.credits(proposer), PROPOSER_BOND);
        vm.assertEq(address(rollup).balance, PROPOSER_BOND);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Withdrawals, reverts, pause, payouts
    // ------------------------------------------------------------------------------------------------------------

    function test_Withdrawals_OnlyAgainstFinalOutputs() public {
        _deposit(alice, alice, 10 ether);
        _commit(DATA, 1);
        Withdrawal[] memory ws = new Withdrawal[](1);
        ws[0] = Withdrawal({nonce: 0, from: alice, to: bob, value: 2 ether});
        bytes32[] memory leaves = WithdrawalTree.leavesOf(ws);
        bytes32[] memory proof = WithdrawalTree.proof(leaves, 0);
        uint256 id = _propose(1, _stateRoot(1), WithdrawalTree.root(leaves));

        // Proposed, then challenged: not final, nothing paid.
        vm.expectRevert(abi.encodeWithSelector(Portal.BatchNotFinalized.selector, uint64(1), uint64(0)));
        portal.finalizeWithdrawal(1, ws[0], 0, proof);
        _challenge(challenger, id);
        vm.warp(rollup.outputs(id).challengeDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(Portal.BatchNotFinalized.selector, uint64(1), uint64(0)));
        portal.finalizeWithdrawal(1, ws[0], 0, proof);

        // Lost: still nothing.
        vm.warp(rollup.provingDeadline(id) + 1);
        rollup.resolveOutput(id);
        vm.expectRevert(abi.encodeWithSelector(Portal.BatchNotFinalized.selector, uint64(1), uint64(0)));
        portal.finalizeWithdrawal(1, ws[0], 0, proof);

        // Final: paid.
        uint256 again = _propose(1, _stateRoot(1), WithdrawalTree.root(leaves));
        _endChallengeWindow(again);
        rollup.resolveOutput(again);
        portal.finalizeWithdrawal(1, ws[0], 0, proof);
        vm.assertEq(bob.balance, 2 ether);
    }

    function test_Revert_NotUnderALiveOutput() public {
        _commit(DATA);
        _commit(DATA);
        _commit(DATA);
        uint256 id = _propose(1, _stateRoot(666));
        _propose(2, _stateRoot(2));

        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.BatchHasOutput.selector, uint64(1)));
        rollup.revertBatch(1);
        vm.expectRevert(abi.encodeWithSelector(OptimisticRollup.BatchHasOutput.selector, uint64(2)));
        rollup.revertBatch(2);
        rollup.revertBatch(3);
        vm.stopPrank();
        vm.assertEq(uint256(rollup.lastCommittedBatch()), 2);

        // Once the output is lost, its batch can be replaced.
        _challenge(challenger, id);
        vm.warp(rollup.provingDeadline(id) + 1);
        rollup.resolveOutput(id);
        vm.prank(owner);
        rollup.revertBatch(1);
        vm.assertEq(uint256(rollup.lastCommittedBatch()), 0);
    }

    /// @notice Pause stops proposals; challenges, proofs, resolutions and payouts go on, so nobody loses a bond to a
    ///         window that ran out while they were stopped.
    function test_Pause_StopsProposalsNotTheGame() public {
        _commit(DATA);
        _commit(DATA);
        uint256 first = _propose(1, _stateRoot(1));
        uint256 second = _propose(2, _stateRoot(2));
        vm.prank(owner);
        rollup.setPaused(true);

        _challenge(challenger, second);
        _endChallengeWindow(first);
        rollup.resolveOutput(first);
        _prove(second);
        vm.prank(proposer);
        rollup.claimCredit();
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 2);
    }

    function test_Claim_RefusedTransferKeepsTheCredit() public {
        EtherRejecter rejecter = new EtherRejecter();
        vm.prank(owner);
        rollup.setProposer(address(rejecter), true);
        _commit(DATA);
        vm.deal(address(rejecter), PROPOSER_BOND);
        vm.prank(address(rejecter));
        uint256 id = rollup.proposeOutput{value: PROPOSER_BOND}(1, _stateRoot(1), bytes32(0));
        _endChallengeWindow(id);
        rollup.resolveOutput(id);

        vm.prank(address(rejecter));
        vm.expectRevert(
            abi.encodeWithSelector(OptimisticRollup.CreditTransferFailed.selector, address(rejecter), PROPOSER_BOND)
        );
        rollup.claimCredit();
        vm.assertEq(rollup.credits(address(rejecter)), PROPOSER_BOND);
        rejecter.setAccepting(true);
        vm.prank(address(rejecter));
        rollup.claimCredit();
        vm.assertEq(address(rejecter).balance, PROPOSER_BOND);
    }

    /// @notice Over any challenge time in the window and any proof time, the bonds end with the proposer or the
    ///         challenger and nothing stays locked.
    function testFuzz_Dispute_BondsEndWithOneSide(uint64 challengeAt, uint64 proveAt, bool honest) public {
        AllowListVerifier verifier = _allowListVerifier();
        _commit(DATA);
        uint256 id = _propose(1, honest ? _stateRoot(1) : _stateRoot(666));
        verifier.allow(rollup.publicInputs(1, _stateRoot(1), _hashesOf(1), _noWithdrawals(1)));
        uint256 start = block.timestamp;
        vm.warp(start + bound(challengeAt, 0, CHALLENGE_WINDOW - 1));
        _challenge(challenger, id);
        uint256 deadline = rollup.provingDeadline(id);
        vm.warp(bound(proveAt, block.timestamp, deadline + 1 days));
        bool inTime = block.timestamp <= deadline;
        vm.prank(prover);
        try rollup.proveOutput(id, _hashesOf(1), _noWithdrawals(1), hex"c0ffee") {
            vm.assertTrue(honest && inTime, "a wrong or late defence was accepted");
        } catch {
            vm.assertFalse(honest && inTime, "an honest defence in time was refused");
            vm.warp(deadline + 1);
            rollup.resolveOutput(id);
        }
        uint256 all = PROPOSER_BOND + CHALLENGER_BOND;
        vm.assertEq(rollup.credits(honest && inTime ? proposer : challenger), all);
        vm.assertEq(rollup.lockedBonds(), 0);
        vm.assertEq(rollup.totalCredits(), all);
        vm.assertEq(address(rollup).balance, all);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------------------------

    function _allowListVerifier() internal returns (AllowListVerifier verifier) {
        verifier = new AllowListVerifier();
        vm.prank(owner);
        rollup.setVerifier(verifier);
    }

    function _halves(bytes32 value) internal pure returns (uint256 high, uint256 low) {
        high = uint256(value) >> 128;
        low = uint256(value) & type(uint128).max;
    }
}
