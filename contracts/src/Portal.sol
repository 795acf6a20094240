// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Withdrawal, Withdrawals} from "./libraries/Withdrawals.sol";

/// @notice What the Portal reads from the Rollup.
interface IRollupFinality {
    /// @notice Index of the newest finalized batch.
    function lastFinalizedBatch() external view returns (uint64);
    /// @notice Withdrawal root of a finalized batch.
    function withdrawalRoots(uint256 batchIndex) external view returns (bytes32);
    /// @notice Whether the rollup is paused (withdrawals stop with it).
    function paused() external view returns (bool);
}

/// @title Portal
/// @notice The ETH bridge between L1 and the rollup.
///
///         In: `depositETH` locks ETH and appends the deposit to a keccak hash chain. The node credits deposits on
///         L2 in queue order; each batch consumes a range of the queue, and its proof shows that the deposits it
///         applied hash from the chain value at the range's start to the value at its end.
///
///         Out: once the batch holding a withdrawal is finalized (its proof verified by the Rollup), anyone may call
///         `finalizeWithdrawal` with the withdrawal and its Merkle proof against that batch's withdrawal root. The
///         ETH is released immediately and exactly once. There is no challenge period.
/// @dev Deposit hash chain, with h(0) = 0 and n the deposit's nonce (0-based):
///        h(n + 1) = keccak256(abi.encodePacked(h(n), uint64 n, address from, address to, uint256 value))
contract Portal {
    using Withdrawals for Withdrawal;

    /// @notice The Rollup whose finalized withdrawal roots release funds.
    IRollupFinality public immutable rollup;

    /// @notice Number of deposits queued so far (the next deposit's nonce).
    uint64 public depositCount;
    /// @notice Sum of all deposited wei.
    uint256 public totalDeposited;
    /// @notice Sum of all wei paid out by finalized withdrawals.
    uint256 public totalWithdrawn;
    /// @notice Whether the withdrawal with this leaf hash has been paid.
    mapping(bytes32 leafHash => bool) public withdrawalFinalized;

    /// @dev Deposit hash chain: `_depositHashes[n]` is the chain value after n deposits.
    mapping(uint256 count => bytes32) private _depositHashes;

    /// @notice A deposit entered the queue. `queueHash` is the chain value after it.
    event DepositQueued(
        uint64 indexed nonce, address indexed from, address indexed to, uint256 value, bytes32 queueHash
    );
    /// @notice A withdrawal was paid on L1.
    event WithdrawalFinalized(
        uint64 indexed batchIndex, uint64 indexed nonce, bytes32 indexed leafHash, address to, uint256 value
    );

    /// @notice A deposit must carry ETH.
    error ZeroDeposit();
    /// @notice The rollup is paused.
    error RollupPaused();
    /// @notice The batch is not finalized (yet, or it never will be).
    error BatchNotFinalized(uint64 batchIndex, uint64 lastFinalizedBatch);
    /// @notice This withdrawal was paid already.
    error WithdrawalAlreadyFinalized(bytes32 leafHash);
    /// @notice The Merkle proof does not lead to the batch's withdrawal root.
    error InvalidWithdrawalProof(bytes32 computedRoot, bytes32 withdrawalRoot);
    /// @notice The recipient did not accept the ETH; the withdrawal stays unpaid and may be retried.
    error TransferFailed(address to, uint256 value);
    /// @notice The deposit queue has no entry at this count.
    error DepositCountOutOfRange(uint64 count, uint64 depositCount);

    constructor(IRollupFinality rollup_) {
        rollup = rollup_;
    }

    /// @notice Locks `msg.value` on L1 to be credited to `to` on L2.
    /// @return nonce The deposit's position in the queue.
    function depositETH(address to) external payable returns (uint64 nonce) {
        if (msg.value == 0) revert ZeroDeposit();
        nonce = depositCount;
        bytes32 queueHash = keccak256(abi.encodePacked(_depositHashes[nonce], nonce, msg.sender, to, msg.value));
        _depositHashes[uint256(nonce) + 1] = queueHash;
        depositCount = nonce + 1;
        totalDeposited += msg.value;
        emit DepositQueued(nonce, msg.sender, to, msg.value, queueHash);
    }

    /// @notice The deposit hash chain value after `count` deposits (zero for `count == 0`).
    function depositHashAt(uint64 count) external view returns (bytes32) {
        uint64 queued = depositCount;
        if (count > queued) revert DepositCountOutOfRange(count, queued);
        return _depositHashes[count];
    }

    /// @notice Pays `withdrawal` from a finalized batch.
    /// @param batchIndex The batch whose withdrawal tree holds the withdrawal.
    /// @param withdrawal The withdrawal, exactly as in the tree.
    /// @param leafIndex The leaf's position in that tree.
    /// @param proof The Merkle siblings from the leaf upwards (`Withdrawals.TREE_DEPTH` of them).
    function finalizeWithdrawal(
        uint64 batchIndex,
        Withdrawal calldata withdrawal,
        uint256 leafIndex,
        bytes32[] calldata proof
    ) external {
        if (rollup.paused()) revert RollupPaused();
        uint64 lastFinalized = rollup.lastFinalizedBatch();
        if (batchIndex == 0 || batchIndex > lastFinalized) revert BatchNotFinalized(batchIndex, lastFinalized);

        bytes32 leaf = withdrawal.leafHash();
        if (withdrawalFinalized[leaf]) revert WithdrawalAlreadyFinalized(leaf);
        bytes32 root = rollup.withdrawalRoots(batchIndex);
        bytes32 computed = Withdrawals.computeRoot(leaf, leafIndex, proof);
        if (computed != root) revert InvalidWithdrawalProof(computed, root);

        withdrawalFinalized[leaf] = true;
        totalWithdrawn += withdrawal.value;
        emit WithdrawalFinalized(batchIndex, withdrawal.nonce, leaf, withdrawal.to, withdrawal.value);
        (bool ok,) = withdrawal.to.call{value: withdrawal.value}("");
        if (!ok) revert TransferFailed(withdrawal.to, withdrawal.value);
    }
}
