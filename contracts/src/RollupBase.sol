// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Owned} from "./access/Owned.sol";
import {IVerifier} from "./interfaces/IVerifier.sol";
import {Withdrawals} from "./libraries/Withdrawals.sol";

/// @notice What the Rollup reads from the Portal's deposit queue.
interface IDepositQueue {
    /// @notice The Rollup the queue belongs to.
    function rollup() external view returns (address);
    /// @notice Number of deposits queued so far.
    function depositCount() external view returns (uint64);
    /// @notice The deposit hash chain value after `count` deposits.
    function depositHashAt(uint64 count) external view returns (bytes32);
}

/// @title RollupBase
/// @notice What both settlement modes share: the sequencer commits batches (their data is posted here, so anyone can
///         rebuild L2 from L1), and finalized batches give the state roots and withdrawal roots that L1 (the Portal)
///         trusts. How a batch becomes final is the mode's: `Rollup` finalizes it with a validity proof at once;
///         `OptimisticRollup` finalizes a proposed output after a challenge window, or with the same validity proof
///         when it is challenged.
///
///         A batch is 1 to `chunksPerBatch` chunks, each a byte string of fixed-width records proven by its own chunk
///         proof; the batch proof aggregates the chunk proofs of exactly `chunksPerBatch` chunk positions, the ones
///         past the batch's last chunk being empty padding chunks. Chunk c's withdrawals fill the aligned subtree of
///         height CHUNK_WITHDRAWAL_HEIGHT at leaf c << CHUNK_WITHDRAWAL_HEIGHT of the batch's withdrawal tree, so the
///         batch's withdrawal root is computed here from the chunks' subtree roots.
///
///         Batch 0 is the genesis batch, finalized at deployment with the genesis state root.
/// @dev The statement a batch proof makes is assembled here, from storage and the call, never taken from the prover:
///      see `publicInputs`.
abstract contract RollupBase is Owned {
    /// @notice Order of the BN254 scalar field: state roots are Poseidon hashes, hence elements of this field.
    uint256 public constant SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Upper bound on `verifierGasLimit` (a generated halo2 verifier needs about 0.7M gas).
    uint256 public constant MAX_VERIFIER_GAS_LIMIT = 10_000_000;
    /// @notice Gas that `finalizeBatch` keeps back from the verifier call to store the result and emit the event.
    ///         Everything that grows with the chunk count (hashing, the public inputs) happens before the check.
    uint256 public constant FINALIZE_GAS_RESERVE = 80_000;
    /// @notice Upper bound on `chunksPerBatch`.
    uint256 public constant MAX_CHUNKS_PER_BATCH = 64;
    /// @notice Height of a chunk's withdrawal subtree: chunk c owns leaves [c << 10, (c + 1) << 10) of its batch's
    ///         withdrawal tree, one per record slot, so a chunk holds at most 1024 records.
    uint256 public constant CHUNK_WITHDRAWAL_HEIGHT = 10;
    /// @notice Data hash of a padding chunk: keccak256 of no bytes.
    bytes32 public constant EMPTY_CHUNK_DATA_HASH = 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470;
    /// @notice Withdrawal root of a padding chunk: the all-zero subtree of height CHUNK_WITHDRAWAL_HEIGHT.
    bytes32 public constant EMPTY_CHUNK_WITHDRAWAL_ROOT =
        0xf9dc3e7fe016e050eff260334f18a5d4fe391d82092319f5964f2e2eb7c1c3a5;
    /// @notice Public inputs of a batch proof before the per-chunk ones (state roots, deposit chain ends).
    uint256 public constant BATCH_PUBLIC_INPUTS = 6;
    /// @notice Public inputs per chunk position (data hash and withdrawal root, two halves each).
    uint256 public constant CHUNK_PUBLIC_INPUTS = 4;

    /// @notice A committed batch.
    /// @param batchHash Commitment to the batch, see `batchHashOf`; the next batch names it as its parent.
    /// @param dataHash Commitment to the exact chunks committed: keccak256 of their keccak256 hashes, in order
    ///        (see `commitBatch`).
    /// @param depositStart Number of queued deposits consumed before this batch.
    /// @param depositEnd Number of queued deposits consumed up to and including this batch.
    struct Batch {
        bytes32 batchHash;
        bytes32 dataHash;
        uint64 depositStart;
        uint64 depositEnd;
    }

    /// @notice The deposit queue (the Portal) whose hash chain batches consume.
    IDepositQueue public immutable depositQueue;
    /// @notice Chunk positions of every batch proof: a batch has 1 to this many chunks. A property of the
    ///         aggregation circuit, and so of the verifier, fixed at deployment.
    uint256 public immutable chunksPerBatch;

    /// @notice Checks batch proofs; zero until a verifier is set, and finalization reverts meanwhile.
    IVerifier public verifier;
    /// @notice Gas forwarded to the verifier. An invalid proof may burn all of it, never more.
    uint256 public verifierGasLimit;
    /// @notice When set, commits, finalizations and withdrawals stop. Deposits go on (they are only queued).
    bool public paused;
    /// @notice Index of the newest committed batch.
    uint64 public lastCommittedBatch;
    /// @notice Index of the newest finalized batch.
    uint64 public lastFinalizedBatch;

    /// @notice Accounts allowed to commit batches.
    mapping(address account => bool) public isSequencer;
    /// @notice State root after each finalized batch.
    mapping(uint256 batchIndex => bytes32) public stateRoots;
    /// @notice Withdrawal root of each finalized batch.
    mapping(uint256 batchIndex => bytes32) public withdrawalRoots;

    mapping(uint256 batchIndex => Batch) internal _batches;

    /// @notice A batch of `chunkCount` chunks was committed; the chunks are the calldata of the transaction that
    ///         emitted this.
    event BatchCommitted(
        uint64 indexed batchIndex,
        bytes32 indexed batchHash,
        bytes32 dataHash,
        uint64 depositStart,
        uint64 depositEnd,
        uint256 chunkCount
    );
    /// @notice A batch was proven and is final.
    event BatchFinalized(
        uint64 indexed batchIndex, bytes32 indexed batchHash, bytes32 stateRoot, bytes32 withdrawalRoot
    );
    /// @notice A committed, unfinalized batch was removed.
    event BatchReverted(uint64 indexed batchIndex, bytes32 indexed batchHash);
    /// @notice The sequencer role of `account` changed.
    event SequencerUpdated(address indexed account, bool enabled);
    /// @notice The verifier changed.
    event VerifierUpdated(address indexed previousVerifier, address indexed newVerifier);
    /// @notice The gas forwarded to the verifier changed.
    event VerifierGasLimitUpdated(uint256 previousLimit, uint256 newLimit);
    /// @notice The rollup was paused or unpaused.
    event PauseUpdated(bool paused);

    /// @notice The rollup is paused.
    error RollupPaused();
    /// @notice Batches are committed and finalized strictly in order.
    error UnexpectedBatchIndex(uint64 expected, uint64 given);
    /// @notice The parent batch hash is not the hash of the newest committed batch.
    error ParentBatchHashMismatch(bytes32 expected, bytes32 given);
    /// @notice The deposit range must start where the parent's ended and not pass the end of the queue.
    error InvalidDepositRange(uint64 start, uint64 end, uint64 queued);
    /// @notice A batch has at least one chunk and at most `max` (= chunksPerBatch).
    error InvalidChunkCount(uint256 given, uint256 max);
    /// @notice A finalization gives one withdrawal root per chunk data hash.
    error ChunkCountMismatch(uint256 dataHashes, uint256 withdrawalRoots);
    /// @notice The chunk data hashes given do not hash to the batch's committed data hash.
    error ChunkDataHashesMismatch(bytes32 expected, bytes32 given);
    /// @notice chunksPerBatch must be at least 1 and at most MAX_CHUNKS_PER_BATCH.
    error InvalidChunksPerBatch(uint256 chunksPerBatch);
    /// @notice The batch has not been committed.
    error BatchNotCommitted(uint64 batchIndex);
    /// @notice Only committed batches newer than the newest finalized one can be reverted.
    error CannotRevertBatch(uint64 batchIndex);
    /// @notice A state root must be an element of the BN254 scalar field.
    error StateRootOutOfField(bytes32 stateRoot);
    /// @notice No verifier is set, so nothing can be finalized.
    error VerifierNotSet();
    /// @notice The verifier address holds no contract.
    error VerifierHasNoCode(address verifier);
    /// @notice The verifier rejected the proof (returned false, reverted or ran out of its gas).
    error InvalidProof();
    /// @notice The transaction does not carry enough gas to give the verifier its full allowance.
    error InsufficientGasForVerifier(uint256 available, uint256 required);
    /// @notice The verifier gas limit must be positive and at most MAX_VERIFIER_GAS_LIMIT.
    error InvalidVerifierGasLimit(uint256 limit);
    /// @notice The deposit queue does not belong to this Rollup.
    error DepositQueueMismatch(address queueRollup);

    modifier whenNotPaused() {
        if (paused) revert RollupPaused();
        _;
    }

    /// @param owner_ Governs roles, verifier, pause and reverts.
    /// @param depositQueue_ The Portal, deployed before this contract with this contract's address.
    /// @param verifier_ The batch proof verifier, or zero to set it later.
    /// @param verifierGasLimit_ Gas forwarded to the verifier.
    /// @param chunksPerBatch_ Chunk positions of the batch proof (1 to MAX_CHUNKS_PER_BATCH); must match the verifier.
    /// @param genesisStateRoot State root of the L2 genesis, the state root of batch 0.
    constructor(
        address owner_,
        IDepositQueue depositQueue_,
        IVerifier verifier_,
        uint256 verifierGasLimit_,
        uint256 chunksPerBatch_,
        bytes32 genesisStateRoot
    ) Owned(owner_) {
        address queueRollup = depositQueue_.rollup();
        if (queueRollup != address(this)) revert DepositQueueMismatch(queueRollup);
        if (chunksPerBatch_ == 0 || chunksPerBatch_ > MAX_CHUNKS_PER_BATCH) {
            revert InvalidChunksPerBatch(chunksPerBatch_);
        }
        if (uint256(genesisStateRoot) >= SCALAR_FIELD) revert StateRootOutOfField(genesisStateRoot);
        depositQueue = depositQueue_;
        chunksPerBatch = chunksPerBatch_;
        _setVerifier(verifier_);
        _setVerifierGasLimit(verifierGasLimit_);

        bytes32 genesisHash = batchHashOf(0, bytes32(0), bytes32(0), 0, 0);
        _batches[0] = Batch({batchHash: genesisHash, dataHash: bytes32(0), depositStart: 0, depositEnd: 0});
        stateRoots[0] = genesisStateRoot;
        emit BatchCommitted(0, genesisHash, bytes32(0), 0, 0, 0);
        emit BatchFinalized(0, genesisHash, genesisStateRoot, bytes32(0));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Sequencer
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Commits the next batch.
    /// @param batchIndex Must be `lastCommittedBatch + 1`.
    /// @param parentBatchHash Must be the batch hash of `lastCommittedBatch`, so a commit made against a batch that
    ///        has since been reverted cannot land on its replacement.
    /// @param depositEnd Number of queued deposits consumed once this batch is applied; the batch consumes
    ///        `[parent.depositEnd, depositEnd)`.
    /// @param chunks The batch's chunks in order, 1 to `chunksPerBatch` of them, each exactly the bytes whose
    ///        keccak256 its chunk proof binds to. A chunk may be empty. The batch's data hash is
    ///        keccak256(abi.encodePacked(keccak256(chunks[0]), ..., keccak256(chunks[n - 1]))).
    /// @return batchHash The new batch's hash.
    function commitBatch(uint64 batchIndex, bytes32 parentBatchHash, uint64 depositEnd, bytes[] calldata chunks)
        external
        whenNotPaused
        returns (bytes32 batchHash)
    {
        if (!isSequencer[msg.sender]) revert Unauthorized(msg.sender);
        uint64 parentIndex = lastCommittedBatch;
        if (batchIndex != parentIndex + 1) revert UnexpectedBatchIndex(parentIndex + 1, batchIndex);
        Batch storage parent = _batches[parentIndex];
        if (parentBatchHash != parent.batchHash) revert ParentBatchHashMismatch(parent.batchHash, parentBatchHash);
        uint256 chunkCount = chunks.length;
        _checkChunkCount(chunkCount);

        uint64 depositStart = parent.depositEnd;
        uint64 queued = depositQueue.depositCount();
        if (depositEnd < depositStart || depositEnd > queued) {
            revert InvalidDepositRange(depositStart, depositEnd, queued);
        }

        bytes32 dataHash = _dataHashOf(chunks);
        batchHash = batchHashOf(batchIndex, parentBatchHash, dataHash, depositStart, depositEnd);
        _batches[batchIndex] =
            Batch({batchHash: batchHash, dataHash: dataHash, depositStart: depositStart, depositEnd: depositEnd});
        lastCommittedBatch = batchIndex;
        emit BatchCommitted(batchIndex, batchHash, dataHash, depositStart, depositEnd, chunkCount);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Statement
    // ------------------------------------------------------------------------------------------------------------

    /// @notice The statement a proof of `batchIndex` must prove, as BN254 scalar field elements
    ///         (`publicInputCount()` of them):
    ///           [0] previous state root (of batch `batchIndex - 1`)
    ///           [1] new state root
    ///           [2] deposit chain at the batch's start >> 128   [3] its low 128 bits
    ///           [4] deposit chain at the batch's end >> 128     [5] its low 128 bits
    ///         then for each chunk position j in 0..chunksPerBatch-1, at 6 + 4j:
    ///           [+0] chunk data hash >> 128        [+1] its low 128 bits
    ///           [+2] chunk withdrawal root >> 128  [+3] its low 128 bits
    ///         where positions past the batch's last chunk are padding chunks, with EMPTY_CHUNK_DATA_HASH and
    ///         EMPTY_CHUNK_WITHDRAWAL_ROOT. 256-bit keccak values are split in two because they do not fit the field.
    /// @dev Reverts if the batch is not committed, `newStateRoot` is not a field element, or the chunk arrays are
    ///      not the batch's chunks (wrong count, lengths that differ, data hashes that are not the committed ones).
    function publicInputs(
        uint64 batchIndex,
        bytes32 newStateRoot,
        bytes32[] calldata chunkDataHashes,
        bytes32[] calldata chunkWithdrawalRoots
    ) public view returns (uint256[] memory inputs) {
        if (batchIndex == 0 || batchIndex > lastCommittedBatch) {
            revert BatchNotCommitted(batchIndex);
        }
        if (uint256(newStateRoot) >= SCALAR_FIELD) revert StateRootOutOfField(newStateRoot);
        Batch storage batch = _batches[batchIndex];
        uint256 chunkCount = chunkDataHashes.length;
        _checkChunkCount(chunkCount);
        if (chunkWithdrawalRoots.length != chunkCount) {
            revert ChunkCountMismatch(chunkCount, chunkWithdrawalRoots.length);
        }
        bytes32 committed = batch.dataHash;
        bytes32 given = keccak256(abi.encodePacked(chunkDataHashes));
        if (given != committed) revert ChunkDataHashesMismatch(committed, given);

        uint256 positions = chunksPerBatch;
        inputs = new uint256[](BATCH_PUBLIC_INPUTS + CHUNK_PUBLIC_INPUTS * positions);
        inputs[0] = uint256(stateRoots[batchIndex - 1]);
        inputs[1] = uint256(newStateRoot);
        (inputs[2], inputs[3]) = _split(depositQueue.depositHashAt(batch.depositStart));
        (inputs[4], inputs[5]) = _split(depositQueue.depositHashAt(batch.depositEnd));
        for (uint256 j; j < positions; ++j) {
            (bytes32 dataHash, bytes32 withdrawalRoot) = j < chunkCount
                ? (chunkDataHashes[j], chunkWithdrawalRoots[j])
                : (EMPTY_CHUNK_DATA_HASH, EMPTY_CHUNK_WITHDRAWAL_ROOT);
            uint256 at = BATCH_PUBLIC_INPUTS + CHUNK_PUBLIC_INPUTS * j;
            (inputs[at], inputs[at + 1]) = _split(dataHash);
            (inputs[at + 2], inputs[at + 3]) = _split(withdrawalRoot);
        }
    }

    /// @notice Number of public inputs of a batch proof: BATCH_PUBLIC_INPUTS + CHUNK_PUBLIC_INPUTS * chunksPerBatch.
    function publicInputCount() external view returns (uint256) {
        return BATCH_PUBLIC_INPUTS + CHUNK_PUBLIC_INPUTS * chunksPerBatch;
    }

    /// @notice The withdrawal root `finalizeBatch` records for a batch with these chunk withdrawal roots: the root
    ///         of the depth-32 withdrawal tree (`Withdrawals`) in which chunk c's subtree of height
    ///         CHUNK_WITHDRAWAL_HEIGHT sits at leaf c << CHUNK_WITHDRAWAL_HEIGHT and everything after the last chunk
    ///         is zero. A withdrawal in slot s of chunk c is paid by the Portal as leaf (c << 10) | s.
    /// @dev Reverts unless there are 1 to `chunksPerBatch` roots.
    function batchWithdrawalRoot(bytes32[] calldata chunkWithdrawalRoots) external view returns (bytes32) {
        _checkChunkCount(chunkWithdrawalRoots.length);
        return Withdrawals.rootOfSubtrees(chunkWithdrawalRoots, CHUNK_WITHDRAWAL_HEIGHT);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Owner
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Removes `batchIndex` and every batch committed after it. Finalized batches cannot be reverted, nor can
    ///         a mode refuse others (`_beforeRevert`).
    function revertBatch(uint64 batchIndex) external onlyOwner {
        uint64 last = lastCommittedBatch;
        if (batchIndex <= lastFinalizedBatch || batchIndex > last) revert CannotRevertBatch(batchIndex);
        _beforeRevert(batchIndex);
        for (uint64 index = last; index >= batchIndex; --index) {
            emit BatchReverted(index, _batches[index].batchHash);
            delete _batches[index];
        }
        lastCommittedBatch = batchIndex - 1;
    }

    /// @notice Grants or removes the sequencer role.
    function setSequencer(address account, bool enabled) external onlyOwner {
        isSequencer[account] = enabled;
        emit SequencerUpdated(account, enabled);
    }

    /// @notice Replaces the verifier (a new circuit version); zero disables finalization.
    function setVerifier(IVerifier newVerifier) external onlyOwner {
        _setVerifier(newVerifier);
    }

    /// @notice Sets the gas forwarded to the verifier.
    function setVerifierGasLimit(uint256 newLimit) external onlyOwner {
        _setVerifierGasLimit(newLimit);
    }

    /// @notice Pauses or unpauses commits, finalizations and withdrawals.
    function setPaused(bool paused_) external onlyOwner {
        paused = paused_;
        emit PauseUpdated(paused_);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------------------------

    /// @notice The committed batch `batchIndex` (all zero if it is not committed).
    function batches(uint64 batchIndex) external view returns (Batch memory) {
        return _batches[batchIndex];
    }

    /// @notice Whether `batchIndex` is finalized.
    function isBatchFinalized(uint64 batchIndex) external view returns (bool) {
        return batchIndex <= lastFinalizedBatch;
    }

    /// @notice The batch hash: keccak256(abi.encode(batchIndex, parentBatchHash, dataHash, depositStart, depositEnd)).
    function batchHashOf(
        uint64 batchIndex,
        bytes32 parentBatchHash,
        bytes32 dataHash,
        uint64 depositStart,
        uint64 depositEnd
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(batchIndex, parentBatchHash, dataHash, depositStart, depositEnd));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internal
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Records `batchIndex` (the next after `lastFinalizedBatch`) as final with these roots: what the Portal and
    ///      the next batch's statement read.
    function _recordFinalized(uint64 batchIndex, bytes32 stateRoot, bytes32 withdrawalRoot) internal {
        stateRoots[batchIndex] = stateRoot;
        withdrawalRoots[batchIndex] = withdrawalRoot;
        lastFinalizedBatch = batchIndex;
        emit BatchFinalized(batchIndex, _batches[batchIndex].batchHash, stateRoot, withdrawalRoot);
    }

    /// @dev Called by `revertBatch` before it removes `batchIndex` and later batches; a mode reverts to refuse.
    function _beforeRevert(uint64 batchIndex) internal view virtual;

    function _verify(uint256[] memory inputs, bytes calldata proof) internal view {
        IVerifier current = verifier;
        if (address(current) == address(0)) revert VerifierNotSet();
        bytes memory callData = abi.encodeCall(IVerifier.verify, (inputs, proof));
        uint256 gasLimit = verifierGasLimit;
        // A call receives at most 63/64 of the gas left (EIP-150). Without this check a caller could send too little
        // gas, let a valid proof run out of it, and the failure would read as an invalid proof. The reserve leaves
        // enough after the call to record the finalization, so passing the check means the transaction completes.
        uint256 required = gasLimit + gasLimit / 63 + FINALIZE_GAS_RESERVE;
        uint256 available = gasleft();
        if (available < required) revert InsufficientGasForVerifier(available, required);
        (bool ok, bytes memory result) = address(current).staticcall{gas: gasLimit}(callData);
        if (!ok || result.length != 32 || abi.decode(result, (uint256)) != 1) revert InvalidProof();
    }

    /// @dev Reverts unless a batch may have `count` chunks.
    function _checkChunkCount(uint256 count) internal view {
        uint256 max = chunksPerBatch;
        if (count == 0 || count > max) revert InvalidChunkCount(count, max);
    }

    /// @dev keccak256 of the chunks' keccak256 hashes, concatenated in order.
    function _dataHashOf(bytes[] calldata chunks) private pure returns (bytes32) {
        uint256 count = chunks.length;
        bytes32[] memory chunkHashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            chunkHashes[i] = keccak256(chunks[i]);
        }
        return keccak256(abi.encodePacked(chunkHashes));
    }

    function _setVerifier(IVerifier newVerifier) private {
        if (address(newVerifier) != address(0) && address(newVerifier).code.length == 0) {
            revert VerifierHasNoCode(address(newVerifier));
        }
        emit VerifierUpdated(address(verifier), address(newVerifier));
        verifier = newVerifier;
    }

    function _setVerifierGasLimit(uint256 newLimit) private {
        if (newLimit == 0 || newLimit > MAX_VERIFIER_GAS_LIMIT) revert InvalidVerifierGasLimit(newLimit);
        emit VerifierGasLimitUpdated(verifierGasLimit, newLimit);
        verifierGasLimit = newLimit;
    }

    function _split(bytes32 value) private pure returns (uint256 high, uint256 low) {
        high = uint256(value) >> 128;
        low = uint256(value) & type(uint128).max;
    }
}
