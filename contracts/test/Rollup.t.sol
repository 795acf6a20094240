// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {RollupFixture} from "./utils/RollupFixture.sol";
import {Rollup, IDepositQueue} from "../src/Rollup.sol";
import {RollupBase} from "../src/RollupBase.sol";
import {Portal, IRollupFinality} from "../src/Portal.sol";
import {Owned} from "../src/access/Owned.sol";
import {WithdrawalTree} from "./utils/WithdrawalTree.sol";
import {IVerifier} from "../src/interfaces/IVerifier.sol";
import {
    AcceptAllVerifier,
    ExhaustingVerifier,
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
        vm.assertEq(rollup.chunksPerBatch(), CHUNKS);
        vm.assertEq(rollup.publicInputCount(), 6 + 4 * CHUNKS);

        vm.assertEq(uint256(rollup.lastCommittedBatch()), 0);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 0);
        vm.assertTrue(rollup.isBatchFinalized(0));
        vm.assertFalse(rollup.isBatchFinalized(1));
        vm.assertEq(rollup.stateRoots(0), GENESIS_ROOT);
        vm.assertEq(rollup.withdrawalRoots(0), bytes32(0));

        RollupBase.Batch memory genesis = rollup.batches(0);
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
        emit RollupBase.VerifierUpdated(address(0), address(acceptAll));
        vm.expectEmit(predicted);
        emit RollupBase.VerifierGasLimitUpdated(0, GAS_LIMIT);
        vm.expectEmit(predicted);
        emit RollupBase.BatchCommitted(0, genesisHash, bytes32(0), 0, 0, 0);
        vm.expectEmit(predicted);
        emit RollupBase.BatchFinalized(0, genesisHash, GENESIS_ROOT, bytes32(0));
        new Rollup(owner, IDepositQueue(address(p)), acceptAll, GAS_LIMIT, CHUNKS, GENESIS_ROOT);
    }

    function test_Deploy_RevertsWhenPortalBelongsToAnotherRollup() public {
        Portal p = new Portal(IRollupFinality(bob));
        vm.expectRevert(abi.encodeWithSelector(RollupBase.DepositQueueMismatch.selector, bob));
        new Rollup(owner, IDepositQueue(address(p)), acceptAll, GAS_LIMIT, CHUNKS, GENESIS_ROOT);
    }

    function test_Deploy_RevertsWhenGenesisRootOutsideField() public {
        bytes32[2] memory bad = [bytes32(FIELD), bytes32(type(uint256).max)];
        for (uint256 i; i < bad.length; ++i) {
            address predicted = vm.computeCreateAddress(address(this), uint256(vm.getNonce(address(this))) + 1);
            Portal p = new Portal(IRollupFinality(predicted));
            vm.expectRevert(abi.encodeWithSelector(RollupBase.StateRootOutOfField.selector, bad[i]));
            new Rollup(owner, IDepositQueue(address(p)), acceptAll, GAS_LIMIT, CHUNKS, bad[i]);
        }
        // The largest field element is a valid genesis root.
        (Rollup r,) = _deploy(owner, acceptAll, GAS_LIMIT, bytes32(FIELD - 1));
        vm.assertEq(r.stateRoots(0), bytes32(FIELD - 1));
    }

    /// @notice The Rollup's constants are the specified values, recomputed here rather than copied.
    function test_Constants_MatchSpecification() public view {
        vm.assertEq(rollup.MAX_CHUNKS_PER_BATCH(), 64);
        vm.assertEq(rollup.CHUNK_WITHDRAWAL_HEIGHT(), CHUNK_HEIGHT);
        vm.assertEq(rollup.EMPTY_CHUNK_DATA_HASH(), keccak256(""));
        vm.assertEq(rollup.EMPTY_CHUNK_WITHDRAWAL_ROOT(), WithdrawalTree.zeroHashes()[CHUNK_HEIGHT]);
        vm.assertEq(rollup.EMPTY_CHUNK_WITHDRAWAL_ROOT(), WithdrawalTree.subtreeRoot(new bytes32[](0), CHUNK_HEIGHT));
        vm.assertEq(rollup.BATCH_PUBLIC_INPUTS(), 6);
        vm.assertEq(rollup.CHUNK_PUBLIC_INPUTS(), 4);
    }

    function test_Deploy_ChunksPerBatchRange() public {
        uint256[3] memory bad = [uint256(0), 65, type(uint256).max];
        for (uint256 i; i < bad.length; ++i) {
            address predicted = vm.computeCreateAddress(address(this), uint256(vm.getNonce(address(this))) + 1);
            Portal p = new Portal(IRollupFinality(predicted));
            vm.expectRevert(abi.encodeWithSelector(RollupBase.InvalidChunksPerBatch.selector, bad[i]));
            new Rollup(owner, IDepositQueue(address(p)), acceptAll, GAS_LIMIT, bad[i], GENESIS_ROOT);
        }
        // Both ends of the range deploy, and the statement grows with it.
        uint256[2] memory good = [uint256(1), 64];
        for (uint256 i; i < good.length; ++i) {
            (Rollup r,) = _deploy(owner, acceptAll, GAS_LIMIT, good[i], GENESIS_ROOT);
            vm.assertEq(r.chunksPerBatch(), good[i]);
            vm.assertEq(r.publicInputCount(), 6 + 4 * good[i]);
        }
    }

    function test_Deploy_RevertsOnZeroOwner() public {
        address predicted = vm.computeCreateAddress(address(this), uint256(vm.getNonce(address(this))) + 1);
        Portal p = new Portal(IRollupFinality(predicted));
        vm.expectRevert(Owned.ZeroAddress.selector);
        new Rollup(address(0), IDepositQueue(address(p)), acceptAll, GAS_LIMIT, CHUNKS, GENESIS_ROOT);
    }

    function test_Deploy_RevertsOnVerifierWithoutCode() public {
        address predicted = vm.computeCreateAddress(address(this), uint256(vm.getNonce(address(this))) + 1);
        Portal p = new Portal(IRollupFinality(predicted));
        vm.expectRevert(abi.encodeWithSelector(RollupBase.VerifierHasNoCode.selector, alice));
        new Rollup(owner, IDepositQueue(address(p)), IVerifier(alice), GAS_LIMIT, CHUNKS, GENESIS_ROOT);
    }

    function test_Deploy_RevertsOnInvalidVerifierGasLimit() public {
        uint256[2] memory bad = [uint256(0), rollup.MAX_VERIFIER_GAS_LIMIT() + 1];
        for (uint256 i; i < bad.length; ++i) {
            address predicted = vm.computeCreateAddress(address(this), uint256(vm.getNonce(address(this))) + 1);
            Portal p = new Portal(IRollupFinality(predicted));
            vm.expectRevert(abi.encodeWithSelector(RollupBase.InvalidVerifierGasLimit.selector, bad[i]));
            new Rollup(owner, IDepositQueue(address(p)), acceptAll, bad[i], CHUNKS, GENESIS_ROOT);
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
        r.commitBatch(1, parent, 0, _one(DATA));
        vm.prank(prover);
        vm.expectRevert(RollupBase.VerifierNotSet.selector);
        r.finalizeBatch(1, _stateRoot(1), _chunkHashes(_one(DATA)), _emptyRoots(1), "");
    }

    // ------------------------------------------------------------------------------------------------------------
    // commitBatch
    // ------------------------------------------------------------------------------------------------------------

    function test_CommitBatch_StoresBatchAndEmits() public {
        _deposit(alice, alice, 1 ether);
        _deposit(alice, bob, 2 ether);
        _deposit(bob, bob, 3 ether);

        bytes32 genesisHash = rollup.batches(0).batchHash;
        bytes32 dataHash = keccak256(abi.encodePacked(keccak256(DATA)));
        bytes32 expected = _batchHash(1, genesisHash, dataHash, 0, 2);
        vm.expectEmit(address(rollup));
        emit RollupBase.BatchCommitted(1, expected, dataHash, 0, 2, 1);
        vm.prank(sequencer);
        bytes32 returned = rollup.commitBatch(1, genesisHash, 2, _one(DATA));

        vm.assertEq(returned, expected);
        vm.assertEq(rollup.batchHashOf(1, genesisHash, dataHash, 0, 2), expected);
        RollupBase.Batch memory b = rollup.batches(1);
        vm.assertEq(b.batchHash, expected);
        vm.assertEq(b.dataHash, dataHash);
        vm.assertEq(uint256(b.depositStart), 0);
        vm.assertEq(uint256(b.depositEnd), 2);
        vm.assertEq(uint256(rollup.lastCommittedBatch()), 1);
        // Committing finalizes nothing.
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 0);
        vm.assertFalse(rollup.isBatchFinalized(1));

        // The next batch chains on it and starts where it ended.
        bytes[] memory chunks2 = _two(hex"ff", hex"eeee");
        bytes32 dataHash2 = keccak256(abi.encodePacked(keccak256(hex"ff"), keccak256(hex"eeee")));
        bytes32 expected2 = _batchHash(2, expected, dataHash2, 2, 3);
        vm.expectEmit(address(rollup));
        emit RollupBase.BatchCommitted(2, expected2, dataHash2, 2, 3, 2);
        vm.prank(sequencer);
        vm.assertEq(rollup.commitBatch(2, expected, 3, chunks2), expected2);
        vm.assertEq(rollup.batches(2).dataHash, dataHash2);
        vm.assertEq(uint256(rollup.batches(2).depositStart), 2);
        vm.assertEq(uint256(rollup.lastCommittedBatch()), 2);
    }

    /// @notice Every chunk count from 1 to chunksPerBatch commits, and the data hash is the keccak256 of the
    ///         chunks' keccak256 hashes in order: so it depends on each chunk, on their order and on their number.
    function test_CommitBatch_OneToMaxChunksAndDataHashFormula() public {
        bytes32 previous;
        for (uint64 n = 1; n <= CHUNKS; ++n) {
            bytes[] memory chunks = new bytes[](n);
            bytes memory packed;
            for (uint256 i; i < n; ++i) {
                chunks[i] = abi.encodePacked("chunk ", vm.toString(i), " of ", vm.toString(n));
                packed = bytes.concat(packed, keccak256(chunks[i]));
            }
            bytes32 dataHash = keccak256(packed);
            vm.assertEq(_dataHash(chunks), dataHash);

            bytes32 parent = rollup.batches(n - 1).batchHash;
            bytes32 expected = _batchHash(n, parent, dataHash, 0, 0);
            vm.expectEmit(address(rollup));
            emit RollupBase.BatchCommitted(n, expected, dataHash, 0, 0, n);
            (uint64 index, bytes32 batchHash) = _commitChunks(chunks);
            vm.assertEq(uint256(index), n);
            vm.assertEq(batchHash, expected);
            vm.assertEq(rollup.batches(index).dataHash, dataHash);
            vm.assertTrue(dataHash != previous);
            previous = dataHash;
        }

        // Swapping two chunks, or splitting one chunk's bytes over two chunks, changes the data hash.
        vm.assertTrue(_dataHash(_two(hex"01", hex"02")) != _dataHash(_two(hex"02", hex"01")));
        vm.assertTrue(_dataHash(_two(hex"01", hex"02")) != _dataHash(_one(hex"0102")));
        vm.assertTrue(_dataHash(_two(hex"0102", "")) != _dataHash(_one(hex"0102")));
    }

    /// @notice An empty chunk is a valid chunk (it changes nothing on L2), so a batch of empty chunks commits.
    function test_CommitBatch_AcceptsEmptyChunks() public {
        (uint64 index,) = _commit("");
        vm.assertEq(rollup.batches(index).dataHash, keccak256(abi.encodePacked(keccak256(""))));
        (index,) = _commitChunks(_two("", DATA));
        vm.assertEq(rollup.batches(index).dataHash, keccak256(abi.encodePacked(EMPTY_HASH, keccak256(DATA))));
        _finalize(1, _stateRoot(1));
        _finalize(2, _stateRoot(2));
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 2);
    }

    function test_CommitBatch_RevertsOnNoChunksOrTooMany() public {
        bytes32 parent = rollup.batches(0).batchHash;
        uint256[3] memory counts = [uint256(0), CHUNKS + 1, 3 * CHUNKS];
        for (uint256 i; i < counts.length; ++i) {
            bytes[] memory chunks = new bytes[](counts[i]);
            vm.prank(sequencer);
            vm.expectRevert(abi.encodeWithSelector(RollupBase.InvalidChunkCount.selector, counts[i], CHUNKS));
            rollup.commitBatch(1, parent, 0, chunks);
        }
        vm.assertEq(uint256(rollup.lastCommittedBatch()), 0);

        // A Rollup with one chunk per batch refuses two.
        (Rollup single,) = _deploy(owner, acceptAll, GAS_LIMIT, 1, GENESIS_ROOT);
        vm.prank(owner);
        single.setSequencer(sequencer, true);
        bytes32 singleParent = single.batches(0).batchHash;
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.InvalidChunkCount.selector, uint256(2), uint256(1)));
        single.commitBatch(1, singleParent, 0, _two(DATA, DATA));
        vm.prank(sequencer);
        single.commitBatch(1, singleParent, 0, _one(DATA));
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
            rollup.commitBatch(1, parent, 0, _one(DATA));
        }
        // Removing the role takes effect immediately.
        vm.prank(owner);
        rollup.setSequencer(sequencer, false);
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, sequencer));
        rollup.commitBatch(1, parent, 0, _one(DATA));
    }

    function test_CommitBatch_RevertsOnWrongIndex() public {
        bytes32 parent = rollup.batches(0).batchHash;
        uint64[3] memory bad = [uint64(0), 2, type(uint64).max];
        for (uint256 i; i < bad.length; ++i) {
            vm.prank(sequencer);
            vm.expectRevert(abi.encodeWithSelector(RollupBase.UnexpectedBatchIndex.selector, uint64(1), bad[i]));
            rollup.commitBatch(bad[i], parent, 0, _one(DATA));
        }
        // Re-committing an index that is already taken is a wrong index too.
        (, bytes32 h1) = _commit(DATA);
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.UnexpectedBatchIndex.selector, uint64(2), uint64(1)));
        rollup.commitBatch(1, h1, 0, _one(DATA));
    }

    function test_CommitBatch_RevertsOnWrongParentHash() public {
        bytes32 genesisHash = rollup.batches(0).batchHash;
        bytes32 wrong = keccak256("not the parent");
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.ParentBatchHashMismatch.selector, genesisHash, wrong));
        rollup.commitBatch(1, wrong, 0, _one(DATA));

        // A grandparent is not the parent either.
        (, bytes32 h1) = _commit(DATA);
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.ParentBatchHashMismatch.selector, h1, genesisHash));
        rollup.commitBatch(2, genesisHash, 0, _one(DATA));
    }

    function test_CommitBatch_RevertsOnDepositRangePastQueue() public {
        _deposit(alice, alice, 1 ether);
        _deposit(alice, alice, 1 ether);
        bytes32 parent = rollup.batches(0).batchHash;
        vm.prank(sequencer);
        vm.expectRevert(
            abi.encodeWithSelector(RollupBase.InvalidDepositRange.selector, uint64(0), uint64(3), uint64(2))
        );
        rollup.commitBatch(1, parent, 3, _one(DATA));
    }

    function test_CommitBatch_RevertsOnDepositRangeBelowParentEnd() public {
        _deposit(alice, alice, 1 ether);
        _deposit(alice, alice, 1 ether);
        _deposit(alice, alice, 1 ether);
        (, bytes32 h1) = _commit(DATA, 2);
        vm.prank(sequencer);
        vm.expectRevert(
            abi.encodeWithSelector(RollupBase.InvalidDepositRange.selector, uint64(2), uint64(1), uint64(3))
        );
        rollup.commitBatch(2, h1, 1, _one(DATA));
    }

    function test_CommitBatch_RevertsWhenPaused() public {
        bytes32 parent = rollup.batches(0).batchHash;
        vm.prank(owner);
        rollup.setPaused(true);
        vm.prank(sequencer);
        vm.expectRevert(RollupBase.RollupPaused.selector);
        rollup.commitBatch(1, parent, 0, _one(DATA));

        vm.prank(owner);
        rollup.setPaused(false);
        _commit(DATA);
        vm.assertEq(uint256(rollup.lastCommittedBatch()), 1);
    }

    /// @notice Any 1 to chunksPerBatch chunks, of any length or content, are accepted and bound by the data hash
    ///         formula; any other number of chunks is refused.
    function testFuzz_CommitBatch_ArbitraryChunks(bytes[] calldata chunks, uint8 deposits, uint8 consumedSeed) public {
        for (uint256 i; i < deposits % 5; ++i) {
            _deposit(alice, bob, 1 + i);
        }
        uint64 end = uint64(bound(consumedSeed, 0, portal.depositCount()));
        bytes32 parent = rollup.batches(0).batchHash;

        if (chunks.length == 0 || chunks.length > CHUNKS) {
            vm.prank(sequencer);
            vm.expectRevert(abi.encodeWithSelector(RollupBase.InvalidChunkCount.selector, chunks.length, CHUNKS));
            rollup.commitBatch(1, parent, end, chunks);
            return;
        }
        bytes32 dataHash = _dataHash(chunks);
        bytes32 expected = _batchHash(1, parent, dataHash, 0, end);
        vm.expectEmit(address(rollup));
        emit RollupBase.BatchCommitted(1, expected, dataHash, 0, end, chunks.length);
        vm.prank(sequencer);
        vm.assertEq(rollup.commitBatch(1, parent, end, chunks), expected);
        vm.assertEq(rollup.batches(1).dataHash, dataHash);
        vm.assertEq(rollup.batches(1).batchHash, expected);
    }

    // ------------------------------------------------------------------------------------------------------------
    // finalizeBatch
    // ------------------------------------------------------------------------------------------------------------

    /// @notice The one test that pins the statement layout: the ExpectingVerifier accepts only the exact array
    ///         computed here from first principles, so any reordering, missing split, wrong deposit bound or wrong
    ///         padding in the Rollup makes finalization fail.
    function test_FinalizeBatch_PassesExactPublicInputLayout() public {
        // Batch 1 consumes deposits [0, 2) and batch 2 consumes [2, 3), so batch 2's statement has a non-trivial
        // previous state root and deposit chain values at both ends.
        _deposit(alice, bob, 1 ether);
        _deposit(bob, alice, 2 ether);
        _deposit(alice, alice, 3 ether);
        _commit(DATA, 2);
        bytes32 root1 = _stateRoot(1);
        _finalize(1, root1, _single(keccak256("withdrawals 1")));

        // Two chunks out of four positions: positions 2 and 3 are padding.
        _commitChunks(_two(hex"deadbeef", hex"cafe"), 3);
        bytes32 root2 = _stateRoot(2);
        bytes32[] memory hashes = new bytes32[](2);
        hashes[0] = keccak256(hex"deadbeef");
        hashes[1] = keccak256(hex"cafe");
        bytes32[] memory withdrawalRoots = new bytes32[](2);
        withdrawalRoots[0] = keccak256("withdrawals of chunk 0");
        withdrawalRoots[1] = keccak256("withdrawals of chunk 1");
        bytes memory proof = hex"0123456789";

        uint256[] memory expectedInputs = new uint256[](6 + 4 * CHUNKS);
        expectedInputs[0] = uint256(root1);
        expectedInputs[1] = uint256(root2);
        (expectedInputs[2], expectedInputs[3]) = _split(_chainAfter(2));
        (expectedInputs[4], expectedInputs[5]) = _split(_chainAfter(3));
        for (uint256 j; j < CHUNKS; ++j) {
            bool real = j < hashes.length;
            uint256 at = 6 + 4 * j;
            (expectedInputs[at], expectedInputs[at + 1]) = _split(real ? hashes[j] : EMPTY_HASH);
            (expectedInputs[at + 2], expectedInputs[at + 3]) =
                _split(real ? withdrawalRoots[j] : WithdrawalTree.zeroHashes()[CHUNK_HEIGHT]);
        }
        // The padding values, spelled out: keccak256("") and the zero subtree of height 10.
        vm.assertEq(expectedInputs[14], 0xc5d2460186f7233c927e7db2dcc703c0);
        vm.assertEq(expectedInputs[15], 0xe500b653ca82273b7bfad8045d85a470);
        vm.assertEq(expectedInputs[16], 0xf9dc3e7fe016e050eff260334f18a5d4);
        vm.assertEq(expectedInputs[17], 0xfe391d82092319f5964f2e2eb7c1c3a5);

        vm.assertEq(rollup.publicInputs(2, root2, hashes, withdrawalRoots), expectedInputs);

        ExpectingVerifier expecting = new ExpectingVerifier(keccak256(abi.encode(expectedInputs, proof)));
        vm.prank(owner);
        rollup.setVerifier(expecting);

        // The same verifier rejects a neighbouring statement, so its acceptance below is meaningful.
        bytes32[] memory otherRoots = new bytes32[](2);
        otherRoots[0] = withdrawalRoots[0];
        otherRoots[1] = keccak256("other withdrawals");
        vm.prank(prover);
        vm.expectRevert(RollupBase.InvalidProof.selector);
        rollup.finalizeBatch(2, root2, hashes, otherRoots, proof);
        vm.prank(prover);
        vm.expectRevert(RollupBase.InvalidProof.selector);
        rollup.finalizeBatch(2, root2, hashes, withdrawalRoots, hex"0123456788");

        vm.prank(prover);
        rollup.finalizeBatch(2, root2, hashes, withdrawalRoots, proof);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 2);
        vm.assertEq(rollup.withdrawalRoots(2), WithdrawalTree.rootOfSubtrees(withdrawalRoots, CHUNK_HEIGHT));
    }

    /// @notice For every chunk count, the statement is 6 + 4 * chunksPerBatch inputs laid out as specified, the
    ///         positions past the last chunk padded, and the verifier handed exactly that statement.
    function testFuzz_PublicInputs_LayoutAndPadding(uint256 countSeed, uint256 seed) public {
        uint256 n = bound(countSeed, 1, CHUNKS);
        bytes[] memory chunks = new bytes[](n);
        bytes32[] memory withdrawalRoots = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 word = keccak256(abi.encode(seed, i));
            // Lengths 0..32, so empty chunks are among them.
            chunks[i] = bytes.concat(word);
            assembly ("memory-safe") {
                mstore(mload(add(add(chunks, 0x20), shl(5, i))), mod(word, 33))
            }
            withdrawalRoots[i] = keccak256(abi.encode(seed, i, "withdrawals"));
        }
        _commitChunks(chunks);
        bytes32 newRoot = _stateRoot(seed);
        bytes32[] memory hashes = _chunkHashes(chunks);

        uint256[] memory expectedInputs = new uint256[](6 + 4 * CHUNKS);
        expectedInputs[0] = uint256(GENESIS_ROOT);
        expectedInputs[1] = uint256(newRoot);
        // No deposits: both ends of the range are the empty chain, 0.
        for (uint256 j; j < CHUNKS; ++j) {
            uint256 at = 6 + 4 * j;
            (expectedInputs[at], expectedInputs[at + 1]) = _split(j < n ? hashes[j] : EMPTY_HASH);
            (expectedInputs[at + 2], expectedInputs[at + 3]) =
                _split(j < n ? withdrawalRoots[j] : WithdrawalTree.zeroHashes()[CHUNK_HEIGHT]);
        }
        vm.assertEq(rollup.publicInputs(1, newRoot, hashes, withdrawalRoots), expectedInputs);

        ExpectingVerifier expecting = new ExpectingVerifier(keccak256(abi.encode(expectedInputs, hex"c0ffee")));
        vm.prank(owner);
        rollup.setVerifier(expecting);
        _finalize(1, newRoot, withdrawalRoots);
        vm.assertEq(rollup.withdrawalRoots(1), WithdrawalTree.rootOfSubtrees(withdrawalRoots, CHUNK_HEIGHT));
    }

    function test_FinalizeBatch_StoresRootsAndEmits() public {
        (uint64 index, bytes32 batchHash) = _commitChunks(_two(DATA, hex"02"));
        bytes32 stateRoot = _stateRoot(7);
        bytes32[] memory chunkRoots = new bytes32[](2);
        chunkRoots[0] = keccak256("w0");
        chunkRoots[1] = keccak256("w1");
        bytes32 withdrawalRoot = WithdrawalTree.rootOfSubtrees(chunkRoots, CHUNK_HEIGHT);
        vm.assertEq(rollup.batchWithdrawalRoot(chunkRoots), withdrawalRoot);

        vm.expectEmit(address(rollup));
        emit RollupBase.BatchFinalized(index, batchHash, stateRoot, withdrawalRoot);
        _finalize(index, stateRoot, chunkRoots);

        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 1);
        vm.assertTrue(rollup.isBatchFinalized(1));
        vm.assertEq(rollup.stateRoots(1), stateRoot);
        vm.assertEq(rollup.withdrawalRoots(1), withdrawalRoot);
        // Genesis is untouched.
        vm.assertEq(rollup.stateRoots(0), GENESIS_ROOT);
    }

    /// @notice The chunk data hashes must be exactly the committed chunks' hashes, in order and all of them:
    ///         otherwise the proof would be about other data than the data posted on L1.
    function test_FinalizeBatch_RevertsOnWrongChunkDataHashes() public {
        bytes[] memory chunks = new bytes[](3);
        chunks[0] = hex"01";
        chunks[1] = hex"0202";
        chunks[2] = hex"030303";
        _commitChunks(chunks);
        bytes32 committed = rollup.batches(1).dataHash;
        bytes32[] memory good = _chunkHashes(chunks);

        bytes32[][] memory bad = new bytes32[][](5);
        // One hash replaced.
        bad[0] = _chunkHashes(chunks);
        bad[0][1] = keccak256("other chunk");
        // Two chunks swapped.
        bad[1] = _chunkHashes(chunks);
        (bad[1][0], bad[1][1]) = (good[1], good[0]);
        // A chunk left out.
        bad[2] = new bytes32[](2);
        (bad[2][0], bad[2][1]) = (good[0], good[1]);
        // A padding chunk appended: padding is not part of the batch's data.
        bad[3] = new bytes32[](4);
        (bad[3][0], bad[3][1], bad[3][2], bad[3][3]) = (good[0], good[1], good[2], EMPTY_HASH);
        // The data hash itself as if it were one chunk's.
        bad[4] = _single(committed);

        for (uint256 i; i < bad.length; ++i) {
            bytes32 given = keccak256(abi.encodePacked(bad[i]));
            bytes memory err = abi.encodeWithSelector(RollupBase.ChunkDataHashesMismatch.selector, committed, given);
            bytes32[] memory roots = _emptyRoots(bad[i].length);
            vm.expectRevert(err);
            rollup.publicInputs(1, _stateRoot(1), bad[i], roots);
            vm.prank(prover);
            vm.expectRevert(err);
            rollup.finalizeBatch(1, _stateRoot(1), bad[i], roots, "");
        }
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 0);

        _finalize(1, _stateRoot(1), _emptyRoots(3));
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 1);
    }

    function test_FinalizeBatch_RevertsOnChunkCounts() public {
        _commitChunks(_two(DATA, DATA));
        bytes32[] memory good = _hashesOf(1);

        // No chunk, and more chunks than positions.
        uint256[2] memory counts = [uint256(0), CHUNKS + 1];
        for (uint256 i; i < counts.length; ++i) {
            bytes32[] memory hashes = new bytes32[](counts[i]);
            bytes32[] memory roots = _emptyRoots(counts[i]);
            vm.prank(prover);
            vm.expectRevert(abi.encodeWithSelector(RollupBase.InvalidChunkCount.selector, counts[i], CHUNKS));
            rollup.finalizeBatch(1, _stateRoot(1), hashes, roots, "");
        }

        // One withdrawal root per chunk, no more, no fewer.
        uint256[3] memory rootCounts = [uint256(0), 1, 3];
        for (uint256 i; i < rootCounts.length; ++i) {
            bytes32[] memory roots = _emptyRoots(rootCounts[i]);
            vm.prank(prover);
            vm.expectRevert(abi.encodeWithSelector(RollupBase.ChunkCountMismatch.selector, uint256(2), rootCounts[i]));
            rollup.finalizeBatch(1, _stateRoot(1), good, roots, "");
        }
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 0);
    }

    /// @notice The recorded withdrawal root is the depth-32 tree in which chunk c's subtree sits at leaf c << 10,
    ///         for any number of chunks up to the largest deployment (64), against the test's own tree builder.
    function testFuzz_BatchWithdrawalRoot_MatchesReference(uint256 countSeed, uint256 seed) public {
        (Rollup wide,) = _deploy(owner, acceptAll, GAS_LIMIT, 64, GENESIS_ROOT);
        uint256 n = bound(countSeed, 1, 64);
        bytes32[] memory roots = new bytes32[](n);
        bytes32 empty = WithdrawalTree.zeroHashes()[CHUNK_HEIGHT];
        for (uint256 i; i < n; ++i) {
            // About one chunk in three holds no withdrawal.
            bytes32 h = keccak256(abi.encode(seed, i));
            roots[i] = uint256(h) % 3 == 0 ? empty : h;
        }
        vm.assertEq(wide.batchWithdrawalRoot(roots), WithdrawalTree.rootOfSubtrees(roots, CHUNK_HEIGHT));
    }

    /// @notice Empty chunks contribute zero subtrees: a batch whose chunks hold no withdrawal has the empty tree's
    ///         root, whatever its chunk count, so trailing empty chunks change nothing.
    function test_BatchWithdrawalRoot_EmptyChunksAreZeroSubtrees() public view {
        bytes32 emptyTree = WithdrawalTree.zeroHashes()[32];
        for (uint256 n = 1; n <= CHUNKS; ++n) {
            vm.assertEq(rollup.batchWithdrawalRoot(_emptyRoots(n)), emptyTree);
        }
        bytes32[] memory one = _single(keccak256("w"));
        bytes32[] memory padded = _emptyRoots(CHUNKS);
        padded[0] = one[0];
        vm.assertEq(rollup.batchWithdrawalRoot(one), rollup.batchWithdrawalRoot(padded));
    }

    function test_BatchWithdrawalRoot_RevertsOnBadCount() public {
        vm.expectRevert(abi.encodeWithSelector(RollupBase.InvalidChunkCount.selector, uint256(0), CHUNKS));
        rollup.batchWithdrawalRoot(new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(RollupBase.InvalidChunkCount.selector, CHUNKS + 1, CHUNKS));
        rollup.batchWithdrawalRoot(new bytes32[](CHUNKS + 1));
    }

    function test_FinalizeBatch_RevertsOutOfOrder() public {
        _commit(DATA);
        _commit(DATA);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.UnexpectedBatchIndex.selector, uint64(1), uint64(2)));
        rollup.finalizeBatch(2, _stateRoot(2), _hashesOf(2), _noWithdrawals(2), "");
    }

    function test_FinalizeBatch_RevertsTwice() public {
        _commit(DATA);
        _commit(DATA);
        _finalize(1, _stateRoot(1));
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.UnexpectedBatchIndex.selector, uint64(2), uint64(1)));
        rollup.finalizeBatch(1, _stateRoot(99), _hashesOf(1), _noWithdrawals(1), "");
        vm.assertEq(rollup.stateRoots(1), _stateRoot(1));
    }

    function test_FinalizeBatch_RevertsBeforeCommit() public {
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.BatchNotCommitted.selector, uint64(1)));
        rollup.finalizeBatch(1, _stateRoot(1), _hashesOf(1), _noWithdrawals(1), "");

        // Genesis cannot be finalized again either.
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.UnexpectedBatchIndex.selector, uint64(1), uint64(0)));
        rollup.finalizeBatch(0, _stateRoot(1), _hashesOf(0), _noWithdrawals(0), "");
    }

    function test_FinalizeBatch_RevertsForNonProver() public {
        _commit(DATA);
        address[3] memory outsiders = [alice, owner, sequencer];
        for (uint256 i; i < outsiders.length; ++i) {
            vm.prank(outsiders[i]);
            vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, outsiders[i]));
            rollup.finalizeBatch(1, _stateRoot(1), _hashesOf(1), _noWithdrawals(1), "");
        }
        vm.prank(owner);
        rollup.setProver(prover, false);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(Owned.Unauthorized.selector, prover));
        rollup.finalizeBatch(1, _stateRoot(1), _hashesOf(1), _noWithdrawals(1), "");
    }

    function test_FinalizeBatch_RevertsWhenVerifierUnset() public {
        _commit(DATA);
        vm.expectEmit(address(rollup));
        emit RollupBase.VerifierUpdated(address(acceptAll), address(0));
        vm.prank(owner);
        rollup.setVerifier(IVerifier(address(0)));

        vm.prank(prover);
        vm.expectRevert(RollupBase.VerifierNotSet.selector);
        rollup.finalizeBatch(1, _stateRoot(1), _hashesOf(1), _noWithdrawals(1), "");
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
        _finalize(1, _stateRoot(1));
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
            try rollup.finalizeBatch{gas: stipend}(1, _stateRoot(1), _hashesOf(1), _noWithdrawals(1), "") {
                vm.assertTrue(false, "a gas-burning verifier was accepted");
            } catch (bytes memory reason) {
                vm.assertEq(reason, abi.encodeWithSelector(RollupBase.InvalidProof.selector));
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
        try rollup.finalizeBatch{gas: GAS_LIMIT}(1, _stateRoot(1), _hashesOf(1), _noWithdrawals(1), "") {
            vm.assertTrue(false, "finalized with too little gas");
        } catch (bytes memory reason) {
            (bytes4 selector, uint256 available, uint256 reportedRequired) = _decodeTwoWords(reason);
            vm.assertTrue(selector == RollupBase.InsufficientGasForVerifier.selector, "wrong error");
            vm.assertEq(reportedRequired, required);
            vm.assertLt(available, required);
        }
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 0);
    }

    /// @notice The check is sufficient as well as necessary: with the least gas that passes it, a finalization whose
    ///         verifier spends its whole allowance still completes, because FINALIZE_GAS_RESERVE covers recording
    ///         it. Checked with the fixture's chunk count and with the largest deployment's full batch (the work
    ///         that grows with the chunk count happens before the check).
    function test_FinalizeBatch_GasThatPassesTheCheckIsEnoughToFinish() public {
        ExhaustingVerifier exhausting = new ExhaustingVerifier();
        vm.prank(owner);
        rollup.setVerifier(exhausting);
        bytes[] memory chunks = new bytes[](CHUNKS);
        _commitChunks(chunks);
        // A small limit leaves the least slack (limit / 63) on top of the reserve.
        uint256[2] memory limits = [uint256(100_000), 1_500_000];
        for (uint256 i; i < limits.length; ++i) {
            vm.prank(owner);
            rollup.setVerifierGasLimit(limits[i]);
            _assertLeastPassingGasFinishes(rollup, _hashesOf(1), _emptyRoots(CHUNKS));
        }

        (Rollup wide,) = _deploy(owner, exhausting, 1_500_000, 64, GENESIS_ROOT);
        vm.startPrank(owner);
        wide.setSequencer(sequencer, true);
        wide.setProver(prover, true);
        vm.stopPrank();
        chunks = new bytes[](64);
        bytes32 parent = wide.batches(0).batchHash;
        vm.prank(sequencer);
        wide.commitBatch(1, parent, 0, chunks);
        _assertLeastPassingGasFinishes(wide, _chunkHashes(chunks), _emptyRoots(64));
    }

    /// @notice Outcome of one finalization attempt made by `probeFinalize`.
    error ProbeOutcome(bool finalized, bytes revertData);

    /// @notice Finalizes batch 1 of `r` with `gas`, then reverts with the outcome, so the attempt leaves no trace and
    ///         the caller can try again with other gas.
    function probeFinalize(Rollup r, uint256 gas, bytes32[] calldata hashes, bytes32[] calldata roots) external {
        vm.prank(prover);
        try r.finalizeBatch{gas: gas}(1, _stateRoot(1), hashes, roots, "") {
            revert ProbeOutcome(true, "");
        } catch (bytes memory reason) {
            revert ProbeOutcome(false, reason);
        }
    }

    /// @notice Searches the least gas with which finalizing batch 1 of `r` gets past the gas check, and asserts that
    ///         with it the finalization completes.
    function _assertLeastPassingGasFinishes(Rollup r, bytes32[] memory hashes, bytes32[] memory roots) internal {
        uint256 limit = r.verifierGasLimit();
        uint256 required = limit + limit / 63 + r.FINALIZE_GAS_RESERVE();
        // `low` is refused by the check; `high` gets past it.
        uint256 low = limit;
        uint256 high = required + 500_000;
        (bool finalized, bytes memory reason) = _probe(r, low, hashes, roots);
        vm.assertFalse(finalized);
        vm.assertTrue(
            _selector(reason) == RollupBase.InsufficientGasForVerifier.selector, "low end not refused by the check"
        );
        while (high - low > 1) {
            uint256 mid = (low + high) / 2;
            (finalized, reason) = _probe(r, mid, hashes, roots);
            if (!finalized && _selector(reason) == RollupBase.InsufficientGasForVerifier.selector) low = mid;
            else high = mid;
        }
        (finalized, reason) = _probe(r, high, hashes, roots);
        _log("least gas past the check", high);
        _log("of which required at the check", required);
        vm.assertTrue(finalized, "passed the gas check but did not finish");
    }

    function _probe(Rollup r, uint256 gas, bytes32[] memory hashes, bytes32[] memory roots)
        internal
        returns (bool finalized, bytes memory reason)
    {
        try this.probeFinalize(r, gas, hashes, roots) {
            revert("probeFinalize returned");
        } catch (bytes memory data) {
            require(_selector(data) == ProbeOutcome.selector, "unexpected probe failure");
            bytes memory args = new bytes(data.length - 4);
            for (uint256 i; i < args.length; ++i) {
                args[i] = data[i + 4];
            }
            (finalized, reason) = abi.decode(args, (bool, bytes));
        }
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
        try rollup.finalizeBatch{gas: gas}(1, _stateRoot(1), _hashesOf(1), _noWithdrawals(1), "") {
            vm.assertEq(uint256(rollup.lastFinalizedBatch()), 1);
        } catch (bytes memory reason) {
            vm.assertFalse(
                keccak256(reason) == keccak256(abi.encodeWithSelector(RollupBase.InvalidProof.selector)),
                "a valid proof was reported invalid"
            );
        }
    }

    function test_FinalizeBatch_RevertsWhenStateRootOutsideField() public {
        _commit(DATA);
        bytes32[2] memory bad = [bytes32(FIELD), bytes32(type(uint256).max)];
        for (uint256 i; i < bad.length; ++i) {
            vm.prank(prover);
            vm.expectRevert(abi.encodeWithSelector(RollupBase.StateRootOutOfField.selector, bad[i]));
            rollup.finalizeBatch(1, bad[i], _hashesOf(1), _noWithdrawals(1), "");
        }
        _finalize(1, bytes32(FIELD - 1));
        vm.assertEq(rollup.stateRoots(1), bytes32(FIELD - 1));
    }

    function test_FinalizeBatch_RevertsWhenPaused() public {
        _commit(DATA);
        vm.prank(owner);
        rollup.setPaused(true);
        vm.prank(prover);
        vm.expectRevert(RollupBase.RollupPaused.selector);
        rollup.finalizeBatch(1, _stateRoot(1), _hashesOf(1), _noWithdrawals(1), "");
    }

    function test_PublicInputs_RevertsForGenesisUncommittedAndOutOfField() public {
        bytes32[] memory hashes = _single(keccak256(DATA));
        bytes32[] memory roots = _emptyRoots(1);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.BatchNotCommitted.selector, uint64(0)));
        rollup.publicInputs(0, bytes32(0), hashes, roots);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.BatchNotCommitted.selector, uint64(1)));
        rollup.publicInputs(1, bytes32(0), hashes, roots);
        _commit(DATA);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.StateRootOutOfField.selector, bytes32(FIELD)));
        rollup.publicInputs(1, bytes32(FIELD), hashes, roots);
        vm.assertEq(rollup.publicInputs(1, bytes32(FIELD - 1), hashes, roots).length, 6 + 4 * CHUNKS);
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
        _finalize(1, _stateRoot(1));

        vm.expectEmit(address(rollup));
        emit RollupBase.BatchReverted(3, h3);
        vm.expectEmit(address(rollup));
        emit RollupBase.BatchReverted(2, h2);
        vm.prank(owner);
        rollup.revertBatch(2);

        vm.assertEq(uint256(rollup.lastCommittedBatch()), 1);
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 1);
        vm.assertEq(rollup.batches(1).batchHash, h1);
        for (uint64 i = 2; i <= 3; ++i) {
            RollupBase.Batch memory gone = rollup.batches(i);
            vm.assertEq(gone.batchHash, bytes32(0));
            vm.assertEq(gone.dataHash, bytes32(0));
            vm.assertEq(uint256(gone.depositEnd), 0);
        }
        // A reverted batch cannot be finalized.
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.BatchNotCommitted.selector, uint64(2)));
        rollup.finalizeBatch(2, _stateRoot(2), _hashesOf(2), _noWithdrawals(2), "");
    }

    function test_RevertBatch_CannotRevertFinalizedGenesisOrUncommitted() public {
        _commit(DATA);
        _commit(DATA);
        _finalize(1, _stateRoot(1));
        uint64[4] memory bad = [uint64(0), 1, 3, type(uint64).max];
        for (uint256 i; i < bad.length; ++i) {
            vm.prank(owner);
            vm.expectRevert(abi.encodeWithSelector(RollupBase.CannotRevertBatch.selector, bad[i]));
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
        vm.expectRevert(abi.encodeWithSelector(RollupBase.ParentBatchHashMismatch.selector, h1, h2));
        rollup.commitBatch(2, h2, 2, _one(hex"03"));

        // ... the replacement starts from batch 1's deposit end ...
        bytes memory replacement = hex"0202";
        bytes32 expected = _batchHash(2, h1, _dataHash(_one(replacement)), 1, 1);
        vm.expectEmit(address(rollup));
        emit RollupBase.BatchCommitted(2, expected, _dataHash(_one(replacement)), 1, 1, 1);
        (uint64 index, bytes32 h2b) = _commit(replacement, 1);
        vm.assertEq(uint256(index), 2);
        vm.assertEq(h2b, expected);

        // ... and the old batch 2's successor cannot land on the replacement either.
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.ParentBatchHashMismatch.selector, h2b, h2));
        rollup.commitBatch(3, h2, 2, _one(hex"03"));

        // The replacement finalizes normally.
        _finalize(1, _stateRoot(1));
        _finalize(2, _stateRoot(2));
        vm.assertEq(uint256(rollup.lastFinalizedBatch()), 2);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Roles, ownership, verifier, pause
    // ------------------------------------------------------------------------------------------------------------

    function test_SetSequencerAndProver_UpdateAndEmit() public {
        vm.expectEmit(address(rollup));
        emit RollupBase.SequencerUpdated(alice, true);
        vm.prank(owner);
        rollup.setSequencer(alice, true);
        vm.assertTrue(rollup.isSequencer(alice));

        vm.expectEmit(address(rollup));
        emit Rollup.ProverUpdated(alice, true);
        vm.prank(owner);
        rollup.setProver(alice, true);
        vm.assertTrue(rollup.isProver(alice));

        vm.expectEmit(address(rollup));
        emit RollupBase.SequencerUpdated(alice, false);
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
            abi.encodeCall(RollupBase.setSequencer, (alice, true)),
            abi.encodeCall(Rollup.setProver, (alice, true)),
            abi.encodeCall(RollupBase.setVerifier, (IVerifier(address(acceptAll)))),
            abi.encodeCall(RollupBase.setVerifierGasLimit, (123)),
            abi.encodeCall(RollupBase.setPaused, (true)),
            abi.encodeCall(RollupBase.revertBatch, (1)),
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
        emit RollupBase.VerifierUpdated(address(acceptAll), address(next));
        vm.prank(owner);
        rollup.setVerifier(next);
        vm.assertEq(address(rollup.verifier()), address(next));

        // The new verifier is the one consulted.
        _commit(DATA);
        vm.prank(prover);
        vm.expectRevert(RollupBase.InvalidProof.selector);
        rollup.finalizeBatch(1, _stateRoot(1), _hashesOf(1), _noWithdrawals(1), "");
    }

    function test_SetVerifier_RevertsForAccountWithoutCode() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.VerifierHasNoCode.selector, alice));
        rollup.setVerifier(IVerifier(alice));
        vm.assertEq(address(rollup.verifier()), address(acceptAll));
    }

    function test_SetVerifierGasLimit_Bounds() public {
        uint256 max = rollup.MAX_VERIFIER_GAS_LIMIT();
        vm.assertEq(max, 10_000_000);

        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.InvalidVerifierGasLimit.selector, uint256(0)));
        rollup.setVerifierGasLimit(0);
        vm.expectRevert(abi.encodeWithSelector(RollupBase.InvalidVerifierGasLimit.selector, max + 1));
        rollup.setVerifierGasLimit(max + 1);

        vm.expectEmit(address(rollup));
        emit RollupBase.VerifierGasLimitUpdated(GAS_LIMIT, max);
        rollup.setVerifierGasLimit(max);
        vm.assertEq(rollup.verifierGasLimit(), max);

        vm.expectEmit(address(rollup));
        emit RollupBase.VerifierGasLimitUpdated(max, 1);
        rollup.setVerifierGasLimit(1);
        vm.assertEq(rollup.verifierGasLimit(), 1);
        vm.stopPrank();
    }

    function testFuzz_SetVerifierGasLimit(uint256 limit) public {
        bool valid = limit != 0 && limit <= rollup.MAX_VERIFIER_GAS_LIMIT();
        vm.prank(owner);
        if (!valid) {
            vm.expectRevert(abi.encodeWithSelector(RollupBase.InvalidVerifierGasLimit.selector, limit));
            rollup.setVerifierGasLimit(limit);
            vm.assertEq(rollup.verifierGasLimit(), GAS_LIMIT);
        } else {
            rollup.setVerifierGasLimit(limit);
            vm.assertEq(rollup.verifierGasLimit(), limit);
        }
    }

    function test_SetPaused_UpdatesAndEmits() public {
        vm.expectEmit(address(rollup));
        emit RollupBase.PauseUpdated(true);
        vm.prank(owner);
        rollup.setPaused(true);
        vm.assertTrue(rollup.paused());

        // Pausing stops neither deposits nor owner actions.
        _deposit(alice, alice, 1 ether);
        vm.assertEq(uint256(portal.depositCount()), 1);

        vm.expectEmit(address(rollup));
        emit RollupBase.PauseUpdated(false);
        vm.prank(owner);
        rollup.setPaused(false);
        vm.assertFalse(rollup.paused());
        _commit(DATA, 1);
        _finalize(1, _stateRoot(1));
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
        vm.expectRevert(RollupBase.InvalidProof.selector);
        rollup.finalizeBatch(before + 1, _stateRoot(1), _hashesOf(before + 1), _noWithdrawals(before + 1), "");
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

    /// @notice The selector of revert data (zero if there is none).
    function _selector(bytes memory reason) internal pure returns (bytes4 selector) {
        if (reason.length < 4) return bytes4(0);
        assembly ("memory-safe") {
            selector := mload(add(reason, 0x20))
        }
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
