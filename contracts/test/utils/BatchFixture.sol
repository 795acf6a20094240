// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./Test.sol";
import {RollupBase} from "../../src/RollupBase.sol";
import {Portal, IRollupFinality} from "../../src/Portal.sol";
import {AcceptAllVerifier} from "../mocks/Verifiers.sol";
import {WithdrawalTree} from "./WithdrawalTree.sol";

/// @notice What the fixtures of both settlement modes share: actors, constants, deposits and commits through the
///         mode's contract (`_settlement`), and the small steps most tests repeat. It remembers the chunk data hashes
///         of the batches it commits, so finalizing or proving takes only the roots a test cares about.
abstract contract BatchFixture is Test {
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
    Portal internal portal;

    /// @dev keccak256 of each chunk of the batches committed through `_commit`, by batch index.
    mapping(uint64 batchIndex => bytes32[]) internal _committedChunkHashes;

    /// @notice The deployed settlement contract (either mode) the commit helpers act on.
    function _settlement() internal view virtual returns (RollupBase);

    /// @notice Names the actors and deploys the accept-all verifier.
    function _makeActors() internal {
        owner = makeAddr("owner");
        sequencer = makeAddr("sequencer");
        prover = makeAddr("prover");
        alice = makeAddr("alice");
        bob = makeAddr("bob");
        acceptAll = new AcceptAllVerifier();
    }

    /// @notice Deploys a Portal pointed at the address the next contract this fixture creates will have: production's
    ///         order (Portal first, because each needs the other's address and only the settlement contract checks
    ///         the link). The caller creates the settlement contract next and checks it landed on `predicted`.
    function _deployPortal() internal returns (Portal p, address predicted) {
        // The Portal is created at the current nonce, the settlement contract at the next one.
        predicted = vm.computeCreateAddress(address(this), uint256(vm.getNonce(address(this))) + 1);
        p = new Portal(IRollupFinality(predicted));
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
        uint64 parentIndex = _settlement().lastCommittedBatch();
        index = parentIndex + 1;
        bytes32 parentHash = _settlement().batches(parentIndex).batchHash;
        vm.prank(sequencer);
        batchHash = _settlement().commitBatch(index, parentHash, depositEnd, chunks);
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

    function _parentDepositEnd() internal view returns (uint64) {
        return _settlement().batches(_settlement().lastCommittedBatch()).depositEnd;
    }

    /// @notice The batch hash as specified: keccak256(abi.encode(index, parent, dataHash, start, end)), computed
    ///         here independently of RollupBase.batchHashOf.
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
