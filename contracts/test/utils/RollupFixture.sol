// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./Test.sol";
import {Rollup, IDepositQueue} from "../../src/Rollup.sol";
import {Portal, IRollupFinality} from "../../src/Portal.sol";
import {IVerifier} from "../../src/interfaces/IVerifier.sol";
import {AcceptAllVerifier} from "../mocks/Verifiers.sol";
import {WithdrawalTree} from "./WithdrawalTree.sol";

/// @notice Deploys a Portal and its Rollup the way production does (Portal first, pointed at the Rollup's predicted
///         address, because each needs the other's address and only the Rollup checks the link), with an accept-all
///         verifier, and offers the small steps most tests repeat. It remembers the chunk data hashes of the batches
///         it commits, so finalizing takes only the roots a test cares about.
abstract contract RollupFixture is Test {
    /// @dev Copied from the BN254 specification rather than read from the Rollup, so a wrong constant in the
    ///      contract would show up as a test failure.
    uint256 internal constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant GAS_LIMIT = 1_000_000;
    bytes32 internal constant GENESIS_ROOT = bytes32(uint256(0x0bad5eed));
    /// @dev chunksPerBatch of the fixture's Rollup unless a suite overrides `_chunksPerBatch`.
    uint256 internal constant CHUNKS = 4;
    /// @dev Height of a chunk's withdrawal subtree, from the specification (not read from the Rollup).
    uint256 internal constant CHUNK_HEIGHT = 10;
    /// @dev keccak256 of no bytes: the data hash of an empty (or padding) chunk.
    bytes32 internal constant EMPTY_HASH = keccak256("");

    address internal owner;
    address internal sequencer;
    address internal prover;
    address internal alice;
    address internal bob;

    AcceptAllVerifier internal acceptAll;
    Rollup internal rollup;
    Portal internal portal;

    /// @dev keccak256 of each chunk of the batches committed through `_commit`, by batch index.
    mapping(uint64 batchIndex => bytes32[]) internal _committedChunkHashes;

    function setUp() public virtual {
        owner = makeAddr("owner");
        sequencer = makeAddr("sequencer");
        prover = makeAddr("prover");
        alice = makeAddr("alice");
        bob = makeAddr("bob");

        acceptAll = new AcceptAllVerifier();
        (rollup, portal) = _deploy(owner, acceptAll, GAS_LIMIT, _chunksPerBatch(), GENESIS_ROOT);
        vm.label(address(rollup), "Rollup");
        vm.label(address(portal), "Portal");

        vm.startPrank(owner);
        rollup.setSequencer(sequencer, true);
        rollup.setProver(prover, true);
        vm.stopPrank();
    }

    /// @notice chunksPerBatch of the fixture's Rollup.
    function _chunksPerBatch() internal pure virtual returns (uint256) {
        return CHUNKS;
    }

    /// @notice Deploys Portal then Rollup from this contract; the Rollup lands on the address the Portal was given.
    function _deploy(address owner_, IVerifier verifier_, uint256 gasLimit, uint256 chunks, bytes32 genesisRoot)
        internal
        returns (Rollup r, Portal p)
    {
        // The Portal is created at the current nonce, the Rollup at the next one.
        address predicted = vm.computeCreateAddress(address(this), uint256(vm.getNonce(address(this))) + 1);
        p = new Portal(IRollupFinality(predicted));
        r = new Rollup(owner_, IDepositQueue(address(p)), verifier_, gasLimit, chunks, genesisRoot);
        vm.assertEq(address(r), predicted, "Rollup not at the predicted address");
    }

    /// @notice `_deploy` with the fixture's chunks per batch.
    function _deploy(address owner_, IVerifier verifier_, uint256 gasLimit, bytes32 genesisRoot)
        internal
        returns (Rollup r, Portal p)
    {
        return _deploy(owner_, verifier_, gasLimit, _chunksPerBatch(), genesisRoot);
    }

    /// @notice Deposits `value` from `from` (funded here) to `to`.
    function _deposit(address from, address to, uint256 value) internal returns (uint64 nonce) {
        vm.deal(from, from.balance + value);
        vm.prank(from);
        nonce = portal.depositETH{value: value}(to);
    }

    /// @notice Commits the next batch, of the given chunks, as the sequencer, consuming the queue up to `depositEnd`.
    function _commitChunks(bytes[] memory chunks, uint64 depositEnd)
        internal
        returns (uint64 index, bytes32 batchHash)
    {
        uint64 parentIndex = rollup.lastCommittedBatch();
        index = parentIndex + 1;
        bytes32 parentHash = rollup.batches(parentIndex).batchHash;
        vm.prank(sequencer);
        batchHash = rollup.commitBatch(index, parentHash, depositEnd, chunks);
        _committedChunkHashes[index] = _chunkHashes(chunks);
    }

    /// @notice Commits the next batch, of the given chunks, consuming no new deposits.
    function _commitChunks(bytes[] memory chunks) internal returns (uint64 index, bytes32 batchHash) {
        return _commitChunks(chunks, _parentDepositEnd());
    }

    /// @notice Commits the next batch as one chunk holding `data`, consuming the queue up to `depositEnd`.
    function _commit(bytes memory data, uint64 depositEnd) internal returns (uint64 index, bytes32 batchHash) {
        return _commitChunks(_one(data), depositEnd);
    }

    /// @notice Commits the next batch as one chunk holding `data`, consuming no new deposits.
    function _commit(bytes memory data) internal returns (uint64 index, bytes32 batchHash) {
        return _commitChunks(_one(data), _parentDepositEnd());
    }

    /// @notice Finalizes the next batch as the prover with whatever verifier is set, each chunk with the given
    ///         withdrawal subtree root.
    function _finalize(uint64 index, bytes32 stateRoot, bytes32[] memory chunkWithdrawalRoots) internal {
        bytes32[] memory hashes = _hashesOf(index);
        vm.prank(prover);
        rollup.finalizeBatch(index, stateRoot, hashes, chunkWithdrawalRoots, hex"c0ffee");
    }

    /// @notice Finalizes the next batch as the prover, none of its chunks holding withdrawals.
    function _finalize(uint64 index, bytes32 stateRoot) internal {
        _finalize(index, stateRoot, _noWithdrawals(index));
    }

    /// @notice The chunk data hashes of batch `index` as the fixture committed it (empty if it did not).
    function _hashesOf(uint64 index) internal view returns (bytes32[] memory) {
        return _committedChunkHashes[index];
    }

    /// @notice Withdrawal roots of batch `index`'s chunks when none holds a withdrawal.
    function _noWithdrawals(uint64 index) internal view returns (bytes32[] memory) {
        return _emptyRoots(_committedChunkHashes[index].length);
    }

    /// @notice `n` empty chunk withdrawal roots (the zero subtree of the chunk height).
    function _emptyRoots(uint256 n) internal pure returns (bytes32[] memory roots) {
        bytes32 empty = WithdrawalTree.zeroHashes()[CHUNK_HEIGHT];
        roots = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            roots[i] = empty;
        }
    }

    /// @notice keccak256 of each chunk.
    function _chunkHashes(bytes[] memory chunks) internal pure returns (bytes32[] memory hashes) {
        hashes = new bytes32[](chunks.length);
        for (uint256 i; i < chunks.length; ++i) {
            hashes[i] = keccak256(chunks[i]);
        }
    }

    /// @notice The batch data hash as specified: keccak256 of the chunks' keccak256 hashes, concatenated.
    function _dataHash(bytes[] memory chunks) internal pure returns (bytes32) {
        bytes memory packed;
        for (uint256 i; i < chunks.length; ++i) {
            packed = bytes.concat(packed, keccak256(chunks[i]));
        }
        return keccak256(packed);
    }

    /// @notice A batch of one chunk.
    function _one(bytes memory chunk) internal pure returns (bytes[] memory chunks) {
        chunks = new bytes[](1);
        chunks[0] = chunk;
    }

    /// @notice A batch of two chunks.
    function _two(bytes memory first, bytes memory second) internal pure returns (bytes[] memory chunks) {
        chunks = new bytes[](2);
        chunks[0] = first;
        chunks[1] = second;
    }

    /// @notice A one-element array.
    function _single(bytes32 value) internal pure returns (bytes32[] memory values) {
        values = new bytes32[](1);
        values[0] = value;
    }

    function _parentDepositEnd() private view returns (uint64) {
        return rollup.batches(rollup.lastCommittedBatch()).depositEnd;
    }

    /// @notice The batch hash as specified: keccak256(abi.encode(index, parent, dataHash, start, end)), computed
    ///         here independently of Rollup.batchHashOf.
    function _batchHash(uint64 index, bytes32 parent, bytes32 dataHash, uint64 start, uint64 end)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(index, parent, dataHash, start, end));
    }

    /// @notice A state root derived from `seed`, always inside the scalar field.
    function _stateRoot(uint256 seed) internal pure returns (bytes32) {
        return bytes32(uint256(keccak256(abi.encode("state", seed))) % FIELD);
    }
}
