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
    /// @dev The same KiB as two chunks of 512 bytes.
    bytes internal firstHalf;
    bytes internal secondHalf;
    Withdrawal[] internal withdrawals;

    function setUp() public override {
        super.setUp();
        batchData = new bytes(1024);
        for (uint256 i; i < batchData.length; ++i) {
            batchData[i] = bytes1(uint8(i % 255) + 1);
        }
        firstHalf = new bytes(512);
        secondHalf = new bytes(512);
        for (uint256 i; i < 512; ++i) {
            firstHalf[i] = batchData[i];
            secondHalf[i] = batchData[512 + i];
        }
        // Two deposits before the measured one, so it pays for a fresh chain slot but warm counters are not free.
        _deposit(alice, bob, 1 ether);
        _deposit(bob, alice, 2 ether);
        for (uint64 i; i < 4; ++i) {
            withdrawals.push(Withdrawal({nonce: i, from: alice, to: bob, value: 0.1 ether}));
        }
    }

    /// @dev The default deployment's chunks per batch (DEFAULT_CHUNKS_PER_BATCH in the Rust deployer).
    function _chunksPerBatch() internal pure override returns (uint256) {
        return 2;
    }

    function test_Gas_DepositETH() public {
        vm.deal(alice, 1 ether);
        vm.prank(alice);
        portal.depositETH{value: 1 ether}(bob);
    }

    function test_Gas_CommitBatch_1KiB_1Chunk_WithDeposits() public {
        bytes32 parent = rollup.batches(0).batchHash;
        bytes[] memory chunks = _one(batchData);
        vm.prank(sequencer);
        rollup.commitBatch(1, parent, 2, chunks);
    }

    function test_Gas_CommitBatch_1KiB_2Chunks_WithDeposits() public {
        bytes32 parent = rollup.batches(0).batchHash;
        bytes[] memory chunks = _two(firstHalf, secondHalf);
        vm.prank(sequencer);
        rollup.commitBatch(1, parent, 2, chunks);
    }

    function test_Gas_FinalizeBatch_2Chunks_TestVerifier() public {
        _commitChunks(_two(firstHalf, secondHalf), 2);
        bytes32[] memory hashes = _hashesOf(1);
        (bytes32[] memory chunkRoots,) = _chunkRootsAndProof(0, 0);
        vm.prank(prover);
        rollup.finalizeBatch(1, _stateRoot(1), hashes, chunkRoots, hex"c0ffee");
    }

    function test_Gas_FinalizeWithdrawal() public {
        (bytes32[] memory chunkRoots, bytes32[] memory siblings) = _chunkRootsAndProof(1, 0);
        _commitChunks(_two(firstHalf, secondHalf), 2);
        _finalize(1, _stateRoot(1), chunkRoots);
        // Withdrawal 2 is slot 0 of chunk 1: leaf 1 << 10.
        portal.finalizeWithdrawal(1, withdrawals[2], 1 << 10, siblings);
        vm.assertEq(bob.balance, 0.1 ether);
    }

    /// @dev Withdrawals 0 and 1 in slots 0 and 1 of chunk 0, withdrawals 2 and 3 in slots 0 and 1 of chunk 1: the
    ///      two chunk roots, and the Portal proof of `slot` in `chunk`.
    function _chunkRootsAndProof(uint256 chunk, uint256 slot)
        internal
        view
        returns (bytes32[] memory chunkRoots, bytes32[] memory siblings)
    {
        bytes32[][] memory leaves = new bytes32[][](2);
        for (uint256 c; c < 2; ++c) {
            leaves[c] = new bytes32[](2);
            leaves[c][0] = WithdrawalTree.leafHash(withdrawals[2 * c]);
            leaves[c][1] = WithdrawalTree.leafHash(withdrawals[2 * c + 1]);
        }
        chunkRoots = new bytes32[](2);
        for (uint256 c; c < 2; ++c) {
            chunkRoots[c] = WithdrawalTree.subtreeRoot(leaves[c], CHUNK_HEIGHT);
        }
        (, siblings) = WithdrawalTree.rootAndProofInSubtrees(leaves, CHUNK_HEIGHT, chunk, slot);
    }
}
