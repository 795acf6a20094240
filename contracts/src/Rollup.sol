// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {IVerifier} from "./interfaces/IVerifier.sol";
import {Withdrawals} from "./libraries/Withdrawals.sol";
import {IDepositQueue, RollupBase} from "./RollupBase.sol";

/// @title Rollup
/// @notice The ZK rollup's settlement: a prover finalizes committed batches in order with a validity proof, and a
///         batch is final when its proof verifies. There is no challenge period.
///
///         Batch lifecycle: committed -> finalized, or committed -> reverted (owner only, never once finalized).
/// @dev Commits, the statement and the shared rules are `RollupBase`'s; `OptimisticRollup` is the other mode.
contract Rollup is RollupBase {
    /// @notice Accounts allowed to finalize batches.
    mapping(address account => bool) public isProver;

    /// @notice The prover role of `account` changed.
    event ProverUpdated(address indexed account, bool enabled);

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
    ) RollupBase(owner_, depositQueue_, verifier_, verifierGasLimit_, chunksPerBatch_, genesisStateRoot) {}

    /// @notice Finalizes the next committed batch with a validity proof.
    /// @param batchIndex Must be `lastFinalizedBatch + 1` and already committed.
    /// @param newStateRoot The state root after the batch.
    /// @param chunkDataHashes keccak256 of each of the batch's chunks, in order: they must hash to the batch's data
    ///        hash, so they are exactly the committed chunks'.
    /// @param chunkWithdrawalRoots The root of each chunk's withdrawal subtree, in the same order; the batch's
    ///        withdrawal root is computed from them (see `batchWithdrawalRoot`).
    /// @param proof The aggregated batch proof.
    function finalizeBatch(
        uint64 batchIndex,
        bytes32 newStateRoot,
        bytes32[] calldata chunkDataHashes,
        bytes32[] calldata chunkWithdrawalRoots,
        bytes calldata proof
    ) external whenNotPaused {
        if (!isProver[msg.sender]) revert Unauthorized(msg.sender);
        uint64 expected = lastFinalizedBatch + 1;
        if (batchIndex != expected) revert UnexpectedBatchIndex(expected, batchIndex);
        if (batchIndex > lastCommittedBatch) revert BatchNotCommitted(batchIndex);

        uint256[] memory inputs = publicInputs(batchIndex, newStateRoot, chunkDataHashes, chunkWithdrawalRoots);
        bytes32 withdrawalRoot = Withdrawals.rootOfSubtrees(chunkWithdrawalRoots, CHUNK_WITHDRAWAL_HEIGHT);
        _verify(inputs, proof);
        _recordFinalized(batchIndex, newStateRoot, withdrawalRoot);
    }

    /// @notice Grants or removes the prover role.
    function setProver(address account, bool enabled) external onlyOwner {
        isProver[account] = enabled;
        emit ProverUpdated(account, enabled);
    }

    /// @dev Every unfinalized batch may be reverted.
    function _beforeRevert(uint64) internal pure override {}
}
