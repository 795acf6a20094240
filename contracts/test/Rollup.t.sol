// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {RollupFixture} from "./utils/RollupFixture.sol";
import {Rollup, IDepositQueue} from "../src/Rollup.sol";
import {Portal, IRollupFinality} from "../src/Portal.sol";
import {Owned} from "../src/access/Owned.sol";
import {IVerifier} from "../src/interfaces/IVerifier.sol";
import {
    AcceptAllVerifier,
    ExpectingVerifier,
    GasBurningVerifier,
    GasCheckingVerifier,
    RawReturnVerifier,
    RejectingVerifier,
    RevertingVerifier
} from "./mocks/Verifiers.sol";

contract RollupTest is RollupFixture {
    bytes internal constant DATA = hex"0102030405";

    // ------------------------------------------------------------------------------------------------------------
    // Deployment
    // ------------------------------------------------------------------------------------------------------------

    function test_Deploy_SetsConfigurationAndFinalizesGenesis() public view {
        vm.assertEq(rollup.owner(), owner);
        vm.assertEq(rollup.pendingOwner(), address(0));
        vm.assertEq(address(rollup.depositQueue()), address(portal));
        vm.assertEq(address(portal.rollup()), address(rollup));
        vm.assertEq(address(rollup.verifier()), address(acceptAll));
        vm.assertEq(rollup.verifierGasLimit(), GAS_LIMIT);
        vm.assertFalse(rollup.paused());
        vm.assertEq(rollup.SCALAR_FIELD(), FIELD);
        vm.assertEq(rollup.PUBLIC_INPUT_COUNT(), 10);

        vm.assertEq(uint256(rollup.lastCommittedBatch()), 0);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 0);
        vm.assertTrue(rollup.isBatchFinalized(0));
        vm.assertFalse(rollup.isBatchFinalized(1));
        vm.assertEq(rollup.stateRoots(0), GENESIS_ROOT);
        vm.assertEq(rollup.withdrawalRoots(0), bytes32(0));

        Rollup.Batch memory genesis = rollup.batches(0);
        vm.assertEq(genesis.batchHash, _batchHash(0, bytes32(0), bytes32(0), 0, 0));
        vm.assertEq(genesis.dataHash, bytes32(0));
        vm.assertEq(uint256(genesis.depositStart), 0);
        vm.assertEq(uint256(genesis.depositEnd), 0);
    }

    function test_Deploy_EmitsSetupAndGenesisEvents() public {
        address predicted = vm.computeCreateAddress(address(this), uint256(vm.getNonce(address(this))) + 1);
        Portal p = new Portal(IRollupFinality(predicted));
        bytes32 genesisHash = _batchHash(0, bytes32(0), bytes32(0), 0, 0);

        vm.expectEmit(predicted);
        emit Owned.OwnershipTransferred(address(0), owner);
        vm.expectEmit(predicted);
        emit Rollup.VerifierUpdated(address(0), address(acceptAll));
        vm.expectEmit(predicted);
        emit Rollup.VerifierGasLimitUpdated(0, GAS_LIMIT);
        vm.expectEmit(predicted);
        emit Rollup.BatchCommitted(0, genesisHash, bytes32(0), 0, 0);
        vm.expectEmit(predicted);
        emit Rollup.BatchFinalized(0, genesisHash, GENESIS_ROOT, bytes32(0));
        new Rollup(owner, IDepositQueue(address(p)), acceptAll, GAS_LIMIT, GENESIS_ROOT);
    }

    function test_Deploy_RevertsWhenPortalBelongsToAnotherRollup() public {
        Portal p = new Portal(IRollupFinality(bob));
        vm.expectRevert(abi.encodeWithSelector(Rollup.DepositQueueMismatch.selector, bob));
        new Rollup(owner, IDepositQueue(address(p)), acceptAll, GAS_LIMIT, GENESIS_ROOT);
    }

    function test_Deploy_RevertsWhenGenesisRootOutsideField() public {
        bytes32[2] memory bad = [bytes32(FIELD), bytes32(type(uint256).max)];
        for (uint256 i; i < bad.length; ++i) {
            address predicted = vm.computeCreateAddress(address(this), uint256(vm.getNonce(address(this))) + 1);
            Portal p = new Portal(IRollupFinality(predicted));
            vm.expectRevert(abi.encodeWithSelector(Rollup.StateRootOutOfField.selector, bad[i]));
            new Rollup(owner, IDepositQueue(address(p)), acceptAll, GAS_LIMIT, bad[i]);
        }
        // The largest field element is a valid genesis root.
        (Rollup r,) = _deploy(owner, acceptAll, GAS_LIMIT, bytes32(FIELD - 1));
        vm.assertEq(r.stateRoots(0), bytes32(FIELD - 1));
    }

    function test_Deploy_RevertsOnZeroOwner() public {
        address predicted = vm.computeCreateAddress(address(this), uint256(vm.getNonce(address(this))) + 1);
        Portal p = new Portal(IRollupFinality(predicted));
        vm.expectRevert(Owned.ZeroAddress.selector);
        new Rollup(address(0), IDepositQueue(address(p)), acceptAll, GAS_LIMIT, GENESIS_ROOT);
    }

    function test_Deploy_RevertsOnVerifierWithoutCode() public {
        address predicted = vm.computeCreateAddress(address(this), uint256(vm.getNonce(address(this))) + 1);
        Portal p = new Portal(IRollupFinality(predicted));
        vm.expectRevert(abi.encodeWithSelector(Rollup.VerifierHasNoCode.selector, alice));
        new Rollup(owner, IDepositQueue(address(p)), IVerifier(alice), GAS_LIMIT, GENESIS_ROOT);
    }

    function test_Deploy_RevertsOnInvalidVerifierGasLimit() public {
        uint256[2] memory bad = [uint256(0), rollup.MAX_VERIFIER_GAS_LIMIT() + 1];
        for (uint256 i; i < bad.length; ++i) {
            address predicted = vm.computeCreateAddress(address(this), uint256(vm.getNonce(address(this))) + 1);
            Portal p = new Portal(IRollupFinality(predicted));
            vm.expectRevert(abi.encodeWithSelector(Rollup.InvalidVerifierGasLimit.selector, bad[i]));
            new Rollup(owner, IDepositQueue(address(p)), acceptAll, bad[i], GENESIS_ROOT);
        }
    }

    function test_Deploy_WithoutVerifierCannotFinalize() public {
        (Rollup r,) = _deploy(owner, IVerifier(address(0)), GAS_LIMIT, GENESIS_ROOT);
        vm.assertEq(address(r.verifier()), address(0));
        vm.startPrank(owner);
        r.setSequencer(sequencer, true);
        r.setProver(prover, true);
        vm.stopPrank();
        // Arguments are evaluated before the call, so read the parent first: a view call would consume the prank.
        bytes32 parent = r.batches(0).batchHash;
        vm.prank(sequencer);
        r.commitBatch(1, parent, 0, DATA);
        vm.prank(prover);
        vm.expectRevert(Rollup.VerifierNotSet.selector);
        r.finalizeBatch(1, _stateRoot(1), bytes32(0), "");
    }

    // ------------------------------------------------------------------------------------------------------------
    // commitBatch
    // ------------------------------------------------------------------------------------------------------------

    function test_CommitBatch_StoresBatchAndEmits() public {
        _deposit(alice, alice, 1 ether);
        _deposit(alice, bob, 2 ether);
        _deposit(bob, bob, 3 ether);

        bytes32 genesisHash = rollup.batches(0).batchHash;
        bytes32 expected = _batchHash(1, genesisHash, keccak256(DATA), 0, 2);
        vm.expectEmit(address(rollup));
        emit Rollup.BatchCommitted(1, expected, keccak256(DATA), 0, 2);
        vm.prank(sequencer);
        bytes32 returned = rollup.commitBatch(1, genesisHash, 2, DATA);

        vm.assertEq(returned, expected);
        vm.assertEq(rollup.batchHashOf(1, genesisHash, keccak256(DATA), 0, 2), expected);
        Rollup.Batch memory b = rollup.batches(1);
        vm.assertEq(b.batchHash, expected);
        vm.assertEq(b.dataHash, keccak256(DATA));
        vm.assertEq(uint256(b.depositStart), 0);
        vm.assertEq(uint256(b.depositEnd), 2);
        vm.assertEq(uint256(rollup.lastCommittedBatch()), 1);
        // Committing finalizes nothing.
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 0);
        vm.assertFalse(rollup.isBatchFinalized(1));

        // The next batch chains on it and starts where it ended.
        bytes memory data2 = hex"ff";
        bytes32 expected2 = _batchHash(2, expected, keccak256(data2), 2, 3);
        vm.expectEmit(address(rollup));
        emit Rollup.BatchCommitted(2, expected2, keccak256(data2), 2, 3);
        vm.prank(sequencer);
        vm.assertEq(rollup.commitBatch(2, expected, 3, data2), expected2);
        vm.assertEq(uint256(rollup.batches(2).depositStart), 2);
        vm.assertEq(uint256(rollup.lastCommittedBatch()), 2);
    }

    function test_CommitBatch_MayConsumeNoDeposits() public {
        _deposit(alice, alice, 1 ether);
        (uint64 index,) = _commit(DATA, 0);
        vm.assertEq(uint256(rollup.batches(index).depositEnd), 0);
        (index,) = _commit(DATA, 1);
        (index,) = _commit(DATA, 1);
        vm.assertEq(uint256(rollup.batches(index).depositStart), 1);
        vm.assertEq(uint256(rollup.batches(index).depositEnd), 1);
    }

    function test_CommitBatch_RevertsForNonSequencer() public {
        bytes32 parent = rollup.batches(0).batchHash;
        address[3] memory outsiders = [alice, owner, prover];
        for (uint256 i; i < outsiders.length; ++i) {
            vm.prank(outsiders[i]);
            vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, outsiders[i]));
            rollup.commitBatch(1, parent, 0, DATA);
        }
        // Removing the role takes effect immediately.
        vm.prank(owner);
        rollup.setSequencer(sequencer, false);
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, sequencer));
        rollup.commitBatch(1, parent, 0, DATA);
    }

    function test_CommitBatch_RevertsOnWrongIndex() public {
        bytes32 parent = rollup.batches(0).batchHash;
        uint64[3] memory bad = [uint64(0), 2, type(uint64).max];
        for (uint256 i; i < bad.length; ++i) {
            vm.prank(sequencer);
            vm.expectRevert(abi.encodeWithSelector(Rollup.UnexpectedBatchIndex.selector, uint64(1), bad[i]));
            rollup.commitBatch(bad[i], parent, 0, DATA);
        }
        // Re-committing an index that is already taken is a wrong index too.
        (, bytes32 h1) = _commit(DATA);
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnexpectedBatchIndex.selector, uint64(2), uint64(1)));
        rollup.commitBatch(1, h1, 0, DATA);
    }

    function test_CommitBatch_RevertsOnWrongParentHash() public {
        bytes32 genesisHash = rollup.batches(0).batchHash;
        bytes32 wrong = keccak256("not the parent");
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ParentBatchHashMismatch.selector, genesisHash, wrong));
        rollup.commitBatch(1, wrong, 0, DATA);

        // A grandparent is not the parent either.
        (, bytes32 h1) = _commit(DATA);
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ParentBatchHashMismatch.selector, h1, genesisHash));
        rollup.commitBatch(2, genesisHash, 0, DATA);
    }

    function test_CommitBatch_RevertsOnEmptyData() public {
        bytes32 parent = rollup.batches(0).batchHash;
        vm.prank(sequencer);
        vm.expectRevert(Rollup.EmptyBatchData.selector);
        rollup.commitBatch(1, parent, 0, "");
    }

    function test_CommitBatch_RevertsOnDepositRangePastQueue() public {
        _deposit(alice, alice, 1 ether);
        _deposit(alice, alice, 1 ether);
        bytes32 parent = rollup.batches(0).batchHash;
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(Rollup.InvalidDepositRange.selector, uint64(0), uint64(3), uint64(2)));
        rollup.commitBatch(1, parent, 3, DATA);
    }

    function test_CommitBatch_RevertsOnDepositRangeBelowParentEnd() public {
        _deposit(alice, alice, 1 ether);
        _deposit(alice, alice, 1 ether);
        _deposit(alice, alice, 1 ether);
        (, bytes32 h1) = _commit(DATA, 2);
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(Rollup.InvalidDepositRange.selector, uint64(2), uint64(1), uint64(3)));
        rollup.commitBatch(2, h1, 1, DATA);
    }

    function test_CommitBatch_RevertsWhenPaused() public {
        bytes32 parent = rollup.batches(0).batchHash;
        vm.prank(owner);
        rollup.setPaused(true);
        vm.prank(sequencer);
        vm.expectRevert(Rollup.RollupPaused.selector);
        rollup.commitBatch(1, parent, 0, DATA);

        vm.prank(owner);
        rollup.setPaused(false);
        _commit(DATA);
        vm.assertEq(uint256(rollup.lastCommittedBatch()), 1);
    }

    /// @notice Any non-empty data is accepted and bound by its keccak256, whatever its length or content.
    function testFuzz_CommitBatch_ArbitraryData(bytes calldata data, uint8 deposits, uint8 consumedSeed) public {
        vm.assume(data.length > 0);
        for (uint256 i; i < deposits % 5; ++i) {
            _deposit(alice, bob, 1 + i);
        }
        uint64 end = uint64(bound(consumedSeed, 0, portal.depositCount()));
        bytes32 parent = rollup.batches(0).batchHash;
        bytes32 expected = _batchHash(1, parent, keccak256(data), 0, end);

        vm.expectEmit(address(rollup));
        emit Rollup.BatchCommitted(1, expected, keccak256(data), 0, end);
        vm.prank(sequencer);
        vm.assertEq(rollup.commitBatch(1, parent, end, data), expected);
        vm.assertEq(rollup.batches(1).dataHash, keccak256(data));
        vm.assertEq(rollup.batches(1).batchHash, expected);
    }

    // ------------------------------------------------------------------------------------------------------------
    // finalizeBatch
    // ------------------------------------------------------------------------------------------------------------

    /// @notice The one test that pins the statement layout: the ExpectingVerifier accepts only the exact array
    ///         computed here from first principles, so any reordering, missing split or wrong deposit bound in the
    ///         Rollup makes finalization fail.
    function test_FinalizeBatch_PassesExactPublicInputLayout() public {
        // Batch 1 consumes deposits [0, 2) and batch 2 consumes [2, 3), so batch 2's statement has a non-trivial
        // previous state root and deposit chain values at both ends.
        _deposit(alice, bob, 1 ether);
        _deposit(bob, alice, 2 ether);
        _deposit(alice, alice, 3 ether);
        _commit(DATA, 2);
        bytes32 root1 = _stateRoot(1);
        _finalize(1, root1, keccak256("withdrawals 1"));

        bytes memory data2 = hex"deadbeefcafe";
        _commit(data2, 3);
        bytes32 root2 = _stateRoot(2);
        bytes32 withdrawalRoot = keccak256("withdrawals 2");
        bytes memory proof = hex"0123456789";

        uint256[] memory expectedInputs = new uint256[](10);
        expectedInputs[0] = uint256(root1);
        expectedInputs[1] = uint256(root2);
        (expectedInputs[2], expectedInputs[3]) = _split(keccak256(data2));
        (expectedInputs[4], expectedInputs[5]) = _split(_chainAfter(2));
        (expectedInputs[6], expectedInputs[7]) = _split(_chainAfter(3));
        (expectedInputs[8], expectedInputs[9]) = _split(withdrawalRoot);

        vm.assertEq(rollup.publicInputs(2, root2, withdrawalRoot), expectedInputs);

        ExpectingVerifier expecting = new ExpectingVerifier(keccak256(abi.encode(expectedInputs, proof)));
        vm.prank(owner);
        rollup.setVerifier(expecting);

        // The same verifier rejects a neighbouring statement, so its acceptance below is meaningful.
        vm.prank(prover);
        vm.expectRevert(Rollup.InvalidProof.selector);
        rollup.finalizeBatch(2, root2, keccak256("other withdrawals"), proof);
        vm.prank(prover);
        vm.expectRevert(Rollup.InvalidProof.selector);
        rollup.finalizeBatch(2, root2, withdrawalRoot, hex"0123456788");

        vm.prank(prover);
        rollup.finalizeBatch(2, root2, withdrawalRoot, proof);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 2);
    }

    function test_FinalizeBatch_StoresRootsAndEmits() public {
        (uint64 index, bytes32 batchHash) = _commit(DATA);
        bytes32 stateRoot = _stateRoot(7);
        bytes32 withdrawalRoot = keccak256("w");

        vm.expectEmit(address(rollup));
        emit Rollup.BatchFinalized(index, batchHash, stateRoot, withdrawalRoot);
        _finalize(index, stateRoot, withdrawalRoot);

        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 1);
        vm.assertTrue(rollup.isBatchFinalized(1));
        vm.assertEq(rollup.stateRoots(1), stateRoot);
        vm.assertEq(rollup.withdrawalRoots(1), withdrawalRoot);
        // Genesis is untouched.
        vm.assertEq(rollup.stateRoots(0), GENESIS_ROOT);
    }

    function test_FinalizeBatch_RevertsOutOfOrder() public {
        _commit(DATA);
        _commit(DATA);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnexpectedBatchIndex.selector, uint64(1), uint64(2)));
        rollup.finalizeBatch(2, _stateRoot(2), bytes32(0), "");
    }

    function test_FinalizeBatch_RevertsTwice() public {
        _commit(DATA);
        _commit(DATA);
        _finalize(1, _stateRoot(1), bytes32(0));
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnexpectedBatchIndex.selector, uint64(2), uint64(1)));
        rollup.finalizeBatch(1, _stateRoot(99), bytes32(0), "");
        vm.assertEq(rollup.stateRoots(1), _stateRoot(1));
    }

    function test_FinalizeBatch_RevertsBeforeCommit() public {
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BatchNotCommitted.selector, uint64(1)));
        rollup.finalizeBatch(1, _stateRoot(1), bytes32(0), "");

        // Genesis cannot be finalized again either.
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnexpectedBatchIndex.selector, uint64(1), uint64(0)));
        rollup.finalizeBatch(0, _stateRoot(1), bytes32(0), "");
    }

    function test_FinalizeBatch_RevertsForNonProver() public {
        _commit(DATA);
        address[3] memory outsiders = [alice, owner, sequencer];
        for (uint256 i; i < outsiders.length; ++i) {
            vm.prank(outsiders[i]);
            vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, outsiders[i]));
            rollup.finalizeBatch(1, _stateRoot(1), bytes32(0), "");
        }
        vm.prank(owner);
        rollup.setProver(prover, false);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, prover));
        rollup.finalizeBatch(1, _stateRoot(1), bytes32(0), "");
    }

    function test_FinalizeBatch_RevertsWhenVerifierUnset() public {
        _commit(DATA);
        vm.expectEmit(address(rollup));
        emit Rollup.VerifierUpdated(address(acceptAll), address(0));
        vm.prank(owner);
        rollup.setVerifier(IVerifier(address(0)));

        vm.prank(prover);
        vm.expectRevert(Rollup.VerifierNotSet.selector);
        rollup.finalizeBatch(1, _stateRoot(1), bytes32(0), "");
    }

    function test_FinalizeBatch_RevertsWhenVerifierReturnsFalse() public {
        _assertInvalidProofWith(new RejectingVerifier());
    }

    function test_FinalizeBatch_RevertsWhenVerifierReverts() public {
        _assertInvalidProofWith(new RevertingVerifier());
    }

    /// @notice Only a 32-byte word equal to 1 counts as acceptance: an empty answer (e.g. from a verifier without
    ///         the function), another word, or a longer answer is an invalid proof.
    function test_FinalizeBatch_RevertsOnMalformedVerifierAnswer() public {
        _assertInvalidProofWith(IVerifier(address(new RawReturnVerifier(""))));
        _assertInvalidProofWith(IVerifier(address(new RawReturnVerifier(abi.encode(uint256(2))))));
        _assertInvalidProofWith(IVerifier(address(new RawReturnVerifier(abi.encode(uint256(1), uint256(1))))));
        _assertInvalidProofWith(IVerifier(address(new RawReturnVerifier(hex"01"))));

        // Control: the same contract answering exactly one word equal to 1 is accepted.
        IVerifier wellFormed = IVerifier(address(new RawReturnVerifier(abi.encode(uint256(1)))));
        vm.prank(owner);
        rollup.setVerifier(wellFormed);
        _finalize(1, _stateRoot(1), bytes32(0));
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 1);
    }

    /// @notice A verifier that burns all its gas costs the prover about `verifierGasLimit`, not the whole
    ///         transaction: the Rollup forwards a bounded amount and reads the failure as an invalid proof.
    function test_FinalizeBatch_GasBurningVerifierIsBoundedByLimit() public {
        GasBurningVerifier burner = new GasBurningVerifier();
        _commit(DATA);
        uint256[2] memory limits = [uint256(300_000), 2_000_000];
        for (uint256 i; i < limits.length; ++i) {
            vm.startPrank(owner);
            rollup.setVerifier(burner);
            rollup.setVerifierGasLimit(limits[i]);
            vm.stopPrank();

            uint256 stipend = 5_000_000;
            vm.prank(prover);
            uint256 before = gasleft();
            try rollup.finalizeBatch{gas: stipend}(1, _stateRoot(1), bytes32(0), "") {
                vm.assertTrue(false, "a gas-burning verifier was accepted");
            } catch (bytes memory reason) {
                vm.assertEq(reason, abi.encodeWithSelector(Rollup.InvalidProof.selector));
            }
            uint256 used = before - gasleft();
            _log("verifier gas limit", limits[i]);
            _log("gas used by the rejected finalization", used);
            // It did burn its allowance (so this measures what it claims to) ...
            vm.assertGe(used, limits[i], "verifier did not receive its allowance");
            // ... and nothing close to the 5M the call carried.
            vm.assertLt(used, limits[i] + 60_000, "gas used is not bounded by the verifier gas limit");
        }
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 0);
    }

    function test_FinalizeBatch_RevertsWhenGasCannotCoverVerifierLimit() public {
        _commit(DATA);
        uint256 required = GAS_LIMIT + GAS_LIMIT / 63 + rollup.FINALIZE_GAS_RESERVE();
        vm.prank(prover);
        try rollup.finalizeBatch{gas: GAS_LIMIT}(1, _stateRoot(1), bytes32(0), "") {
            vm.assertTrue(false, "finalized with too little gas");
        } catch (bytes memory reason) {
            (bytes4 selector, uint256 available, uint256 reportedRequired) = _decodeTwoWords(reason);
            vm.assertTrue(selector == Rollup.InsufficientGasForVerifier.selector, "wrong error");
            vm.assertEq(reportedRequired, required);
            vm.assertLt(available, required);
        }
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 0);

        // Gas that just passes the check (plus what the call spends before it) is enough to finish: the reserve
        // covers recording the finalization after the verifier returns.
        vm.prank(prover);
        rollup.finalizeBatch{gas: required + 20_000}(1, _stateRoot(1), bytes32(0), "");
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 1);
    }

    /// @notice Whatever gas the prover's transaction carries, a valid proof never comes back as InvalidProof: either
    ///         the verifier gets its whole allowance, or the call stops before it (InsufficientGasForVerifier, or out
    ///         of gas). Otherwise anyone could make a valid batch look invalid by starving the verifier.
    function testFuzz_FinalizeBatch_ValidProofNeverReadsInvalidForLackOfGas(uint256 gas) public {
        uint256 limit = 200_000;
        vm.startPrank(owner);
        // The verifier needs nearly all of its allowance to say yes.
        rollup.setVerifier(new GasCheckingVerifier(limit - 3_000));
        rollup.setVerifierGasLimit(limit);
        vm.stopPrank();
        _commit(DATA);

        gas = bound(gas, 20_000, 3 * limit);
        vm.prank(prover);
        try rollup.finalizeBatch{gas: gas}(1, _stateRoot(1), bytes32(0), "") {
            vm.assertEq(uint256(rollup.lastFinalizedBatch()), 1);
        } catch (bytes memory reason) {
            vm.assertFalse(
                keccak256(reason) == keccak256(abi.encodeWithSelector(Rollup.InvalidProof.selector)),
                "a valid proof was reported invalid"
            );
        }
    }

    function test_FinalizeBatch_RevertsWhenStateRootOutsideField() public {
        _commit(DATA);
        bytes32[2] memory bad = [bytes32(FIELD), bytes32(type(uint256).max)];
        for (uint256 i; i < bad.length; ++i) {
            vm.prank(prover);
            vm.expectRevert(abi.encodeWithSelector(Rollup.StateRootOutOfField.selector, bad[i]));
            rollup.finalizeBatch(1, bad[i], bytes32(0), "");
        }
        _finalize(1, bytes32(FIELD - 1), bytes32(0));
        vm.assertEq(rollup.stateRoots(1), bytes32(FIELD - 1));
    }

    function test_FinalizeBatch_RevertsWhenPaused() public {
        _commit(DATA);
        vm.prank(owner);
        rollup.setPaused(true);
        vm.prank(prover);
        vm.expectRevert(Rollup.RollupPaused.selector);
        rollup.finalizeBatch(1, _stateRoot(1), bytes32(0), "");
    }

    function test_PublicInputs_RevertsForGenesisUncommittedAndOutOfField() public {
        vm.expectRevert(abi.encodeWithSelector(Rollup.BatchNotCommitted.selector, uint64(0)));
        rollup.publicInputs(0, bytes32(0), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(Rollup.BatchNotCommitted.selector, uint64(1)));
        rollup.publicInputs(1, bytes32(0), bytes32(0));
        _commit(DATA);
        vm.expectRevert(abi.encodeWithSelector(Rollup.StateRootOutOfField.selector, bytes32(FIELD)));
        rollup.publicInputs(1, bytes32(FIELD), bytes32(0));
    }

    // ------------------------------------------------------------------------------------------------------------
    // revertBatch
    // ------------------------------------------------------------------------------------------------------------

    function test_RevertBatch_RemovesTailNewestFirst() public {
        _deposit(alice, alice, 1 ether);
        _deposit(alice, alice, 1 ether);
        (, bytes32 h1) = _commit(DATA, 1);
        (, bytes32 h2) = _commit(hex"02", 1);
        (, bytes32 h3) = _commit(hex"03", 2);
        _finalize(1, _stateRoot(1), bytes32(0));

        vm.expectEmit(address(rollup));
        emit Rollup.BatchReverted(3, h3);
        vm.expectEmit(address(rollup));
        emit Rollup.BatchReverted(2, h2);
        vm.prank(owner);
        rollup.revertBatch(2);

        vm.assertEq(uint256(rollup.lastCommittedBatch()), 1);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 1);
        vm.assertEq(rollup.batches(1).batchHash, h1);
        for (uint64 i = 2; i <= 3; ++i) {
            Rollup.Batch memory gone = rollup.batches(i);
            vm.assertEq(gone.batchHash, bytes32(0));
            vm.assertEq(gone.dataHash, bytes32(0));
            vm.assertEq(uint256(gone.depositEnd), 0);
        }
        // A reverted batch cannot be finalized.
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BatchNotCommitted.selector, uint64(2)));
        rollup.finalizeBatch(2, _stateRoot(2), bytes32(0), "");
    }

    function test_RevertBatch_CannotRevertFinalizedGenesisOrUncommitted() public {
        _commit(DATA);
        _commit(DATA);
        _finalize(1, _stateRoot(1), bytes32(0));
        uint64[4] memory bad = [uint64(0), 1, 3, type(uint64).max];
        for (uint256 i; i < bad.length; ++i) {
            vm.prank(owner);
            vm.expectRevert(abi.encodeWithSelector(Rollup.CannotRevertBatch.selector, bad[i]));
            rollup.revertBatch(bad[i]);
        }
        vm.assertEq(uint256(rollup.lastCommittedBatch()), 2);
    }

    function test_RevertBatch_OnlyOwner() public {
        _commit(DATA);
        address[3] memory outsiders = [alice, sequencer, prover];
        for (uint256 i; i < outsiders.length; ++i) {
            vm.prank(outsiders[i]);
            vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, outsiders[i]));
            rollup.revertBatch(1);
        }
    }

    /// @notice After a revert the sequencer can commit a replacement, and a commit built on a reverted batch can
    ///         never land, neither at the reverted index nor on top of the replacement.
    function test_RevertBatch_RecommitAndStaleParentRejected() public {
        _deposit(alice, alice, 1 ether);
        _deposit(alice, alice, 1 ether);
        (, bytes32 h1) = _commit(DATA, 1);
        (, bytes32 h2) = _commit(hex"02", 2);
        vm.prank(owner);
        rollup.revertBatch(2);

        // The old batch 2's successor cannot be committed at index 2 ...
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ParentBatchHashMismatch.selector, h1, h2));
        rollup.commitBatch(2, h2, 2, hex"03");

        // ... the replacement starts from batch 1's deposit end ...
        bytes memory replacement = hex"0202";
        bytes32 expected = _batchHash(2, h1, keccak256(replacement), 1, 1);
        vm.expectEmit(address(rollup));
        emit Rollup.BatchCommitted(2, expected, keccak256(replacement), 1, 1);
        (uint64 index, bytes32 h2b) = _commit(replacement, 1);
        vm.assertEq(uint256(index), 2);
        vm.assertEq(h2b, expected);

        // ... and the old batch 2's successor cannot land on the replacement either.
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ParentBatchHashMismatch.selector, h2b, h2));
        rollup.commitBatch(3, h2, 2, hex"03");

        // The replacement finalizes normally.
        _finalize(1, _stateRoot(1), bytes32(0));
        _finalize(2, _stateRoot(2), bytes32(0));
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 2);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Roles, ownership, verifier, pause
    // ------------------------------------------------------------------------------------------------------------

    function test_SetSequencerAndProver_UpdateAndEmit() public {
        vm.expectEmit(address(rollup));
        emit Rollup.SequencerUpdated(alice, true);
        vm.prank(owner);
        rollup.setSequencer(alice, true);
        vm.assertTrue(rollup.isSequencer(alice));

        vm.expectEmit(address(rollup));
        emit Rollup.ProverUpdated(alice, true);
        vm.prank(owner);
        rollup.setProver(alice, true);
        vm.assertTrue(rollup.isProver(alice));

        vm.expectEmit(address(rollup));
        emit Rollup.SequencerUpdated(alice, false);
        vm.prank(owner);
        rollup.setSequencer(alice, false);
        vm.assertFalse(rollup.isSequencer(alice));

        vm.expectEmit(address(rollup));
        emit Rollup.ProverUpdated(alice, false);
        vm.prank(owner);
        rollup.setProver(alice, false);
        vm.assertFalse(rollup.isProver(alice));
    }

    function test_OwnerFunctions_RevertForNonOwner() public {
        bytes[7] memory calls = [
            abi.encodeCall(Rollup.setSequencer, (alice, true)),
            abi.encodeCall(Rollup.setProver, (alice, true)),
            abi.encodeCall(Rollup.setVerifier, (IVerifier(address(acceptAll)))),
            abi.encodeCall(Rollup.setVerifierGasLimit, (123)),
            abi.encodeCall(Rollup.setPaused, (true)),
            abi.encodeCall(Rollup.revertBatch, (1)),
            abi.encodeCall(Owned.transferOwnership, (alice))
        ];
        for (uint256 i; i < calls.length; ++i) {
            vm.prank(alice);
            (bool ok, bytes memory reason) = address(rollup).call(calls[i]);
            vm.assertFalse(ok);
            vm.assertEq(reason, abi.encodeWithSelector(Owned.Unauthorized.selector, alice));
        }
    }

    function test_Ownership_TwoStepTransfer() public {
        vm.expectEmit(address(rollup));
        emit Owned.OwnershipTransferStarted(owner, alice);
        vm.prank(owner);
        rollup.transferOwnership(alice);
        // Nothing moves until the new owner accepts.
        vm.assertEq(rollup.owner(), owner);
        vm.assertEq(rollup.pendingOwner(), alice);

        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, bob));
        rollup.acceptOwnership();
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, owner));
        rollup.acceptOwnership();

        vm.expectEmit(address(rollup));
        emit Owned.OwnershipTransferred(owner, alice);
        vm.prank(alice);
        rollup.acceptOwnership();
        vm.assertEq(rollup.owner(), alice);
        vm.assertEq(rollup.pendingOwner(), address(0));

        // The old owner has lost its rights, the new one has them.
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, owner));
        rollup.setPaused(true);
        vm.prank(alice);
        rollup.setPaused(true);
        vm.assertTrue(rollup.paused());

        // Accepting twice is not possible.
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, alice));
        rollup.acceptOwnership();
    }

    function test_Ownership_TransferCanBeCancelled() public {
        vm.prank(owner);
        rollup.transferOwnership(alice);
        vm.expectEmit(address(rollup));
        emit Owned.OwnershipTransferStarted(owner, address(0));
        vm.prank(owner);
        rollup.transferOwnership(address(0));
        vm.assertEq(rollup.pendingOwner(), address(0));

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, alice));
        rollup.acceptOwnership();
        vm.assertEq(rollup.owner(), owner);
    }

    function test_SetVerifier_UpdatesAndEmits() public {
        RejectingVerifier next = new RejectingVerifier();
        vm.expectEmit(address(rollup));
        emit Rollup.VerifierUpdated(address(acceptAll), address(next));
        vm.prank(owner);
        rollup.setVerifier(next);
        vm.assertEq(address(rollup.verifier()), address(next));

        // The new verifier is the one consulted.
        _commit(DATA);
        vm.prank(prover);
        vm.expectRevert(Rollup.InvalidProof.selector);
        rollup.finalizeBatch(1, _stateRoot(1), bytes32(0), "");
    }

    function test_SetVerifier_RevertsForAccountWithoutCode() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Rollup.VerifierHasNoCode.selector, alice));
        rollup.setVerifier(IVerifier(alice));
        vm.assertEq(address(rollup.verifier()), address(acceptAll));
    }

    function test_SetVerifierGasLimit_Bounds() public {
        uint256 max = rollup.MAX_VERIFIER_GAS_LIMIT();
        vm.assertEq(max, 10_000_000);

        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(Rollup.InvalidVerifierGasLimit.selector, uint256(0)));
        rollup.setVerifierGasLimit(0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.InvalidVerifierGasLimit.selector, max + 1));
        rollup.setVerifierGasLimit(max + 1);

        vm.expectEmit(address(rollup));
        emit Rollup.VerifierGasLimitUpdated(GAS_LIMIT, max);
        rollup.setVerifierGasLimit(max);
        vm.assertEq(rollup.verifierGasLimit(), max);

        vm.expectEmit(address(rollup));
        emit Rollup.VerifierGasLimitUpdated(max, 1);
        rollup.setVerifierGasLimit(1);
        vm.assertEq(rollup.verifierGasLimit(), 1);
        vm.stopPrank();
    }

    function testFuzz_SetVerifierGasLimit(uint256 limit) public {
        bool valid = limit != 0 && limit <= rollup.MAX_VERIFIER_GAS_LIMIT();
        vm.prank(owner);
        if (!valid) {
            vm.expectRevert(abi.encodeWithSelector(Rollup.InvalidVerifierGasLimit.selector, limit));
            rollup.setVerifierGasLimit(limit);
            vm.assertEq(rollup.verifierGasLimit(), GAS_LIMIT);
        } else {
            rollup.setVerifierGasLimit(limit);
            vm.assertEq(rollup.verifierGasLimit(), limit);
        }
    }

    function test_SetPaused_UpdatesAndEmits() public {
        vm.expectEmit(address(rollup));
        emit Rollup.PauseUpdated(true);
        vm.prank(owner);
        rollup.setPaused(true);
        vm.assertTrue(rollup.paused());

        // Pausing stops neither deposits nor owner actions.
        _deposit(alice, alice, 1 ether);
        vm.assertEq(uint256(portal.depositCount()), 1);

        vm.expectEmit(address(rollup));
        emit Rollup.PauseUpdated(false);
        vm.prank(owner);
        rollup.setPaused(false);
        vm.assertFalse(rollup.paused());
        _commit(DATA, 1);
        _finalize(1, _stateRoot(1), bytes32(0));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Installs `v` and checks that finalizing the next batch reverts with InvalidProof and changes nothing.
    function _assertInvalidProofWith(IVerifier v) internal {
        vm.prank(owner);
        rollup.setVerifier(v);
        if (rollup.lastCommittedBatch() == 0) _commit(DATA);
        uint64 before = rollup.lastFinalizedBatch();
        vm.prank(prover);
        vm.expectRevert(Rollup.InvalidProof.selector);
        rollup.finalizeBatch(before + 1, _stateRoot(1), bytes32(0), "");
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), uint256(before));
        vm.assertEq(rollup.stateRoots(before + 1), bytes32(0));
    }

    /// @notice The deposit chain after `count` deposits, recomputed from the DepositQueued events' inputs that the
    ///         tests above used (alice->bob 1 ether, bob->alice 2 ether, alice->alice 3 ether).
    function _chainAfter(uint256 count) internal view returns (bytes32 h) {
        address[3] memory from = [alice, bob, alice];
        address[3] memory to = [bob, alice, alice];
        uint256[3] memory value = [uint256(1 ether), 2 ether, 3 ether];
        for (uint64 n; n < count; ++n) {
            h = keccak256(abi.encodePacked(h, n, from[n], to[n], value[n]));
        }
    }

    function _split(bytes32 value) internal pure returns (uint256 high, uint256 low) {
        high = uint256(value) >> 128;
        low = uint256(value) & ((uint256(1) << 128) - 1);
    }

    /// @notice Splits revert data of an error with two uint256 arguments.
    function _decodeTwoWords(bytes memory reason) internal pure returns (bytes4 selector, uint256 a, uint256 b) {
        require(reason.length == 68, "unexpected revert data length");
        assembly ("memory-safe") {
            selector := mload(add(reason, 0x20))
            a := mload(add(reason, 0x24))
            b := mload(add(reason, 0x44))
        }
    }
}
