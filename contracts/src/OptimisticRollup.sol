// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {IVerifier} from "./interfaces/IVerifier.sol";
import {Withdrawals} from "./libraries/Withdrawals.sol";
import {IDepositQueue, RollupBase} from "./RollupBase.sol";

/// @title OptimisticRollup
/// @notice The optimistic rollup's settlement. The sequencer commits batches as in the ZK mode; a proposer then posts
///         each batch's output (its state root and withdrawal root) with a bond. Anyone may challenge an output
///         within the challenge window, with a bond. A challenged output is defended in one step, by the batch's
///         validity proof checked by the same verifier the ZK mode uses, against the statement assembled from
///         storage exactly as `Rollup.finalizeBatch` assembles it. So proving happens only when someone disputes.
///
///         - Unchallenged when its window ends: the output is final, the proposer's bond is returned.
///         - Proven (challenged or not): the output is final at once; the proposer gets its bond back and the
///           challenger's bond.
///         - Challenged and not proven within the proving window: the output is lost; the challenger gets both
///           bonds. Every later output built on it is lost with it (`resolveOutput` on each: its bond goes to its
///           challenger if it had one, else back to its proposer, who built on a parent it did not post or could
///           not have known was wrong), and proposals resume at the lost batch.
///
///         Outputs finalize strictly in batch order, each on its final parent, and the Portal pays withdrawals only
///         against final outputs (`lastFinalizedBatch`, `withdrawalRoots`). Payouts are pulled (`claimCredit`), never
///         pushed, so no recipient can block a resolution.
///
///         The proving window of a challenged output starts when it was challenged or when its parent became final,
///         whichever is later: its proof's statement starts from the parent's state root, so it can only be checked
///         once that root is final, and an honest proposer must never lose to a window that ran while it could not
///         prove.
/// @dev Output ids count up from 0, the genesis output (batch 0, final at deployment). A batch has at most one
///      current output (`outputOf`); a new one may be proposed for it only after the current one is lost. Pause stops
///      commits, proposals and withdrawals; challenges, proofs and resolutions go on, because their windows keep
///      running and nobody may lose a bond to a pause.
contract OptimisticRollup is RollupBase {
    /// @notice Longest challenge or proving window the owner may set.
    uint64 public constant MAX_WINDOW = 30 days;
    /// @notice Default challenge window: long enough for a challenger that replays L1 on its own replica to notice a
    ///         wrong output and get its challenge included even while L1 is congested.
    uint64 public constant DEFAULT_CHALLENGE_WINDOW = 1 days;
    /// @notice Default proving window: a batch proof takes minutes on the proving cluster; the rest is margin for a
    ///         proposer whose `proveOutput` transaction is delayed or censored on L1.
    uint64 public constant DEFAULT_PROVING_WINDOW = 3 days;
    /// @notice Default proposer bond: what a wrong output costs its proposer.
    uint128 public constant DEFAULT_PROPOSER_BOND = 1 ether;
    /// @notice Default challenger bond: more than defending an output costs (a batch proof from the cluster and the
    ///         verifier's gas at a high L1 gas price), so griefing an honest output is never free.
    uint128 public constant DEFAULT_CHALLENGER_BOND = 0.1 ether;

    /// @notice Where an output stands. `Final` and `Lost` are the ends.
    enum OutputStatus {
        None,
        Proposed,
        Challenged,
        Final,
        Lost
    }

    /// @notice Why an output was lost.
    enum LossReason {
        /// Challenged and not proven within its proving window.
        Unproven,
        /// Built on an output that was lost.
        ParentLost
    }

    /// @notice The owner-set dispute parameters. Changes apply to outputs proposed (windows, proposer bond) or
    ///         challenged (proving window, challenger bond) afterwards; each output keeps the values it started with.
    struct DisputeParams {
        uint64 challengeWindow;
        uint64 provingWindow;
        uint128 proposerBond;
        uint128 challengerBond;
    }

    /// @notice A proposed output. Packed into six storage slots, five of them written by a proposal (each slot is
    ///         22k gas the proposer pays per batch).
    /// @param stateRoot State root after the batch.
    /// @param withdrawalRoot Root of the batch's withdrawal tree (see `batchWithdrawalRoot`).
    /// @param proposer Who posted it and gets its bond back unless it is lost to a challenge.
    /// @param batchIndex The batch it is the output of.
    /// @param status Where it stands.
    /// @param proven Whether it was finalized by a validity proof.
    /// @param parentId The output of the previous batch it builds on.
    /// @param proposedAt When it was proposed.
    /// @param challengeDeadline Challenges are accepted before this time.
    /// @param settledAt When it became final or lost.
    /// @param challenger Who challenged it (zero if nobody).
    /// @param challengedAt When it was challenged.
    /// @param provingWindow The proving window in force when it was challenged (at most MAX_WINDOW).
    /// @param proposerBond The proposer's bond, held until it settles.
    /// @param challengerBond The challenger's bond, held until it settles.
    struct Output {
        bytes32 stateRoot;
        bytes32 withdrawalRoot;
        address proposer;
        uint64 batchIndex;
        OutputStatus status;
        bool proven;
        uint64 parentId;
        uint64 proposedAt;
        uint64 challengeDeadline;
        uint64 settledAt;
        address challenger;
        uint64 challengedAt;
        uint32 provingWindow;
        uint128 proposerBond;
        uint128 challengerBond;
    }

    /// @notice The dispute parameters for new proposals and challenges.
    DisputeParams public disputeParams;
    /// @notice The batch the next proposal must be for.
    uint64 public nextOutputBatch;
    /// @notice Number of outputs ever proposed, the genesis output included (the next output's id).
    uint256 public outputCount;
    /// @notice Wei owed to each account, paid by `claimCredit`.
    mapping(address account => uint256) public credits;
    /// @notice Sum of `credits`.
    uint256 public totalCredits;
    /// @notice Sum of the bonds of outputs that have not settled.
    uint256 public lockedBonds;
    /// @notice Accounts allowed to propose outputs.
    mapping(address account => bool) public isProposer;

    mapping(uint256 outputId => Output) private _outputs;
    mapping(uint64 batchIndex => uint256 outputId) private _current;

    /// @notice An output was proposed for `batchIndex`.
    event OutputProposed(
        uint256 indexed outputId,
        uint64 indexed batchIndex,
        address indexed proposer,
        bytes32 stateRoot,
        bytes32 withdrawalRoot,
        uint256 parentId,
        uint64 challengeDeadline
    );
    /// @notice An output was challenged; its proving window is `provingWindow` seconds (see the contract's notes).
    event OutputChallenged(
        uint256 indexed outputId, uint64 indexed batchIndex, address indexed challenger, uint64 provingWindow
    );
    /// @notice An output was proven by `prover`'s validity proof (and is final: `OutputFinalized` follows).
    event OutputProven(uint256 indexed outputId, uint64 indexed batchIndex, address indexed prover);
    /// @notice An output became final (`BatchFinalized` is emitted with it).
    event OutputFinalized(uint256 indexed outputId, uint64 indexed batchIndex, bool proven);
    /// @notice An output was lost.
    event OutputLost(uint256 indexed outputId, uint64 indexed batchIndex, LossReason reason);
    /// @notice `amount` wei was credited to `account`.
    event Credited(address indexed account, uint256 amount);
    /// @notice `account` claimed `amount` wei of credit.
    event CreditClaimed(address indexed account, uint256 amount);
    /// @notice The proposer role of `account` changed.
    event ProposerUpdated(address indexed account, bool enabled);
    /// @notice The dispute parameters changed.
    event DisputeParamsUpdated(DisputeParams params);

    /// @notice A proposal must be for batch `expected`.
    error UnexpectedOutputBatch(uint64 expected, uint64 given);
    /// @notice The call must carry exactly the bond.
    error IncorrectBond(uint256 expected, uint256 given);
    /// @notice No output has this id.
    error UnknownOutput(uint256 outputId);
    /// @notice The output is already final or lost.
    error OutputSettled(uint256 outputId, OutputStatus status);
    /// @notice The output was challenged already.
    error AlreadyChallenged(uint256 outputId);
    /// @notice The challenge window of the output closed at `deadline`.
    error ChallengeWindowClosed(uint256 outputId, uint64 deadline);
    /// @notice The challenge window of the output is open until `deadline`.
    error ChallengeWindowOpen(uint256 outputId, uint64 deadline);
    /// @notice The proving window of the output closed at `deadline`.
    error ProvingWindowClosed(uint256 outputId, uint256 deadline);
    /// @notice The proving window of the output is open until `deadline`.
    error ProvingWindowOpen(uint256 outputId, uint256 deadline);
    /// @notice The output's parent is neither final nor lost yet.
    error ParentNotFinal(uint256 outputId, uint256 parentId);
    /// @notice The output's parent was lost, so the output falls with it (`resolveOutput`).
    error ParentLost(uint256 outputId, uint256 parentId);
    /// @notice The chunk withdrawal roots do not fold to the output's withdrawal root.
    error WithdrawalRootMismatch(bytes32 output, bytes32 given);
    /// @notice The account has no credit.
    error NoCredit(address account);
    /// @notice The payout was refused by the recipient; the credit stays.
    error CreditTransferFailed(address account, uint256 amount);
    /// @notice Windows must be 1 to MAX_WINDOW seconds.
    error InvalidDisputeParams();
    /// @notice Batches with a live output cannot be reverted (the first such batch is `nextOutputBatch - 1`).
    error BatchHasOutput(uint64 batchIndex);

    /// @param owner_ Governs roles, verifier, dispute parameters, pause and reverts.
    /// @param depositQueue_ The Portal, deployed before this contract with this contract's address.
    /// @param verifier_ The batch proof verifier (the ZK mode's), or zero to set it later.
    /// @param verifierGasLimit_ Gas forwarded to the verifier.
    /// @param chunksPerBatch_ Chunk positions of the batch proof (1 to MAX_CHUNKS_PER_BATCH); must match the verifier.
    /// @param genesisStateRoot State root of the L2 genesis, the state root of batch 0 and of output 0.
    /// @param params_ The dispute parameters (the DEFAULT_* constants are the documented defaults).
    constructor(
        address owner_,
        IDepositQueue depositQueue_,
        IVerifier verifier_,
        uint256 verifierGasLimit_,
        uint256 chunksPerBatch_,
        bytes32 genesisStateRoot,
        DisputeParams memory params_
    ) RollupBase(owner_, depositQueue_, verifier_, verifierGasLimit_, chunksPerBatch_, genesisStateRoot) {
        _setDisputeParams(params_);
        Output storage genesis = _outputs[0];
        genesis.stateRoot = genesisStateRoot;
        genesis.settledAt = uint64(block.timestamp);
        genesis.status = OutputStatus.Final;
        outputCount = 1;
        nextOutputBatch = 1;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Proposer
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Proposes the output of batch `batchIndex` (`nextOutputBatch`, committed), built on the current output
    ///         of the batch before it. The call carries the proposer bond.
    /// @return outputId The new output's id.
    function proposeOutput(uint64 batchIndex, bytes32 stateRoot, bytes32 withdrawalRoot)
        external
        payable
        whenNotPaused
        returns (uint256 outputId)
    {
        if (!isProposer[msg.sender]) revert Unauthorized(msg.sender);
        uint64 expected = nextOutputBatch;
        if (batchIndex != expected) revert UnexpectedOutputBatch(expected, batchIndex);
        if (batchIndex > lastCommittedBatch) revert BatchNotCommitted(batchIndex);
        if (uint256(stateRoot) >= SCALAR_FIELD) revert StateRootOutOfField(stateRoot);
        DisputeParams memory params = disputeParams;
        if (msg.value != params.proposerBond) revert IncorrectBond(params.proposerBond, msg.value);

        outputId = outputCount++;
        uint64 parentId = uint64(_current[batchIndex - 1]);
        uint64 deadline = uint64(block.timestamp) + params.challengeWindow;
        Output storage output = _outputs[outputId];
        output.stateRoot = stateRoot;
        output.withdrawalRoot = withdrawalRoot;
        output.proposer = msg.sender;
        output.batchIndex = batchIndex;
        output.parentId = parentId;
        output.proposedAt = uint64(block.timestamp);
        output.challengeDeadline = deadline;
        output.proposerBond = params.proposerBond;
        output.status = OutputStatus.Proposed;
        _current[batchIndex] = outputId;
        nextOutputBatch = batchIndex + 1;
        lockedBonds += params.proposerBond;
        emit OutputProposed(outputId, batchIndex, msg.sender, stateRoot, withdrawalRoot, parentId, deadline);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Anyone
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Challenges output `outputId` before its challenge window closes. The call carries the challenger bond.
    function challengeOutput(uint256 outputId) external payable {
        Output storage output = _open(outputId);
        if (output.status == OutputStatus.Challenged) revert AlreadyChallenged(outputId);
        uint256 parentId = output.parentId;
        if (_outputs[parentId].status == OutputStatus.Lost) revert ParentLost(outputId, parentId);
        if (block.timestamp >= output.challengeDeadline) {
            revert ChallengeWindowClosed(outputId, output.challengeDeadline);
        }
        DisputeParams memory params = disputeParams;
        if (msg.value != params.challengerBond) revert IncorrectBond(params.challengerBond, msg.value);

        output.challenger = msg.sender;
        output.challengedAt = uint64(block.timestamp);
        output.provingWindow = uint32(params.provingWindow);
        output.challengerBond = params.challengerBond;
        output.status = OutputStatus.Challenged;
        lockedBonds += params.challengerBond;
        emit OutputChallenged(outputId, output.batchIndex, msg.sender, params.provingWindow);
    }

    /// @notice Finalizes output `outputId` with its batch's validity proof: the output's parent must be final, and a
    ///         challenged output must still be within its proving window. Anyone may prove an output; its proposer
    ///         is paid as described in the contract's notes.
    /// @param chunkDataHashes keccak256 of each of the batch's chunks, in order (as `Rollup.finalizeBatch`).
    /// @param chunkWithdrawalRoots Each chunk's withdrawal subtree root: they must fold to the output's withdrawal
    ///        root.
    /// @param proof The aggregated batch proof.
    function proveOutput(
        uint256 outputId,
        bytes32[] calldata chunkDataHashes,
        bytes32[] calldata chunkWithdrawalRoots,
        bytes calldata proof
    ) external {
        Output storage output = _open(outputId);
        uint256 parentId = output.parentId;
        Output storage parent = _outputs[parentId];
        if (parent.status == OutputStatus.Lost) revert ParentLost(outputId, parentId);
        if (parent.status != OutputStatus.Final) revert ParentNotFinal(outputId, parentId);
        if (output.status == OutputStatus.Challenged) {
            uint256 deadline = _provingDeadline(output, parent);
            if (block.timestamp > deadline) revert ProvingWindowClosed(outputId, deadline);
        }
        uint64 batchIndex = output.batchIndex;
        bytes32 withdrawalRoot = Withdrawals.rootOfSubtrees(chunkWithdrawalRoots, CHUNK_WITHDRAWAL_HEIGHT);
        if (withdrawalRoot != output.withdrawalRoot) {
            revert WithdrawalRootMismatch(output.withdrawalRoot, withdrawalRoot);
        }
        uint256[] memory inputs = publicInputs(batchIndex, output.stateRoot, chunkDataHashes, chunkWithdrawalRoots);
        _verify(inputs, proof);

        output.proven = true;
        emit OutputProven(outputId, batchIndex, msg.sender);
        _finalize(outputId, output);
    }

    /// @notice Settles output `outputId` when its fate is decided: final once its challenge window ended unchallenged
    ///         and its parent is final; lost once its proving window ended unproven, or once its parent is lost.
    ///         Reverts while it is still open. Anyone may call it.
    function resolveOutput(uint256 outputId) external {
        Output storage output = _open(outputId);
        uint256 parentId = output.parentId;
        Output storage parent = _outputs[parentId];
        if (parent.status == OutputStatus.Lost) {
            _lose(outputId, output, LossReason.ParentLost);
            return;
        }
        if (parent.status != OutputStatus.Final) revert ParentNotFinal(outputId, parentId);
        if (output.status == OutputStatus.Proposed) {
            if (block.timestamp < output.challengeDeadline) {
                revert ChallengeWindowOpen(outputId, output.challengeDeadline);
            }
            _finalize(outputId, output);
        } else {
            uint256 deadline = _provingDeadline(output, parent);
            if (block.timestamp <= deadline) revert ProvingWindowOpen(outputId, deadline);
            _lose(outputId, output, LossReason.Unproven);
        }
    }

    /// @notice Pays the caller its credit.
    function claimCredit() external {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NoCredit(msg.sender);
        credits[msg.sender] = 0;
        totalCredits -= amount;
        emit CreditClaimed(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert CreditTransferFailed(msg.sender, amount);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Owner
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Grants or removes the proposer role.
    function setProposer(address account, bool enabled) external onlyOwner {
        isProposer[account] = enabled;
        emit ProposerUpdated(account, enabled);
    }

    /// @notice Sets the dispute parameters for outputs proposed and challenged from now on.
    function setDisputeParams(DisputeParams calldata params) external onlyOwner {
        _setDisputeParams(params);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------------------------

    /// @notice The output `outputId` (all zero if there is none).
    function outputs(uint256 outputId) external view returns (Output memory) {
        return _outputs[outputId];
    }

    /// @notice The id of batch `batchIndex`'s current output: zero when none was proposed, or when the current one
    ///         was lost (and for batch 0, whose output is the genesis output 0).
    function outputOf(uint64 batchIndex) external view returns (uint256) {
        return _current[batchIndex];
    }

    /// @notice When the proving window of challenged output `outputId` closes: zero while it cannot be proven yet
    ///         (its parent is not final), and for outputs that are not challenged.
    function provingDeadline(uint256 outputId) external view returns (uint256) {
        Output storage output = _outputs[outputId];
        if (output.status != OutputStatus.Challenged) return 0;
        Output storage parent = _outputs[output.parentId];
        if (parent.status != OutputStatus.Final) return 0;
        return _provingDeadline(output, parent);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internal
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Outputs are live from `nextOutputBatch - 1` down; reverting under them would pull their data away.
    function _beforeRevert(uint64 batchIndex) internal view override {
        if (batchIndex < nextOutputBatch) revert BatchHasOutput(batchIndex);
    }

    /// @dev The output `outputId`, which must exist and be proposed or challenged.
    function _open(uint256 outputId) private view returns (Output storage output) {
        if (outputId == 0 || outputId >= outputCount) revert UnknownOutput(outputId);
        output = _outputs[outputId];
        OutputStatus status = output.status;
        if (status != OutputStatus.Proposed && status != OutputStatus.Challenged) {
            revert OutputSettled(outputId, status);
        }
    }

    /// @dev The later of the challenge and the parent's finalization, plus the proving window.
    function _provingDeadline(Output storage output, Output storage parent) private view returns (uint256) {
        uint256 start = output.challengedAt > parent.settledAt ? output.challengedAt : parent.settledAt;
        return start + output.provingWindow;
    }

    /// @dev Makes `output` (whose parent is final) final: its batch is the next to finalize.
    function _finalize(uint256 outputId, Output storage output) private {
        output.status = OutputStatus.Final;
        output.settledAt = uint64(block.timestamp);
        _release(output.proposer, output.proposerBond + output.challengerBond);
        emit OutputFinalized(outputId, output.batchIndex, output.proven);
        _recordFinalized(output.batchIndex, output.stateRoot, output.withdrawalRoot);
    }

    /// @dev Marks `output` lost, pays its bonds, and if it is its batch's current output, reopens proposals there.
    function _lose(uint256 outputId, Output storage output, LossReason reason) private {
        output.status = OutputStatus.Lost;
        output.settledAt = uint64(block.timestamp);
        uint256 bonds = output.proposerBond + output.challengerBond;
        _release(output.challenger == address(0) ? output.proposer : output.challenger, bonds);
        uint64 batchIndex = output.batchIndex;
        if (_current[batchIndex] == outputId) {
            delete _current[batchIndex];
            if (batchIndex < nextOutputBatch) nextOutputBatch = batchIndex;
        }
        emit OutputLost(outputId, batchIndex, reason);
    }

    /// @dev Moves a settling output's bonds (`amount` in all) from locked to `account`'s credit. An output settles
    ///      once (`_open` admits only open ones), so its bonds are released once.
    function _release(address account, uint256 amount) private {
        lockedBonds -= amount;
        if (amount == 0) return;
        credits[account] += amount;
        totalCredits += amount;
        emit Credited(account, amount);
    }

    function _setDisputeParams(DisputeParams memory params) private {
        if (
            params.challengeWindow == 0 || params.challengeWindow > MAX_WINDOW || params.provingWindow == 0
                || params.provingWindow > MAX_WINDOW
        ) revert InvalidDisputeParams();
        disputeParams = params;
        emit DisputeParamsUpdated(params);
    }
}
