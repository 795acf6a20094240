// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title Owned
/// @notice Single-owner access control with a two-step transfer, so ownership can never be handed to an address
///         that cannot act.
abstract contract Owned {
    /// @notice The account allowed to call `onlyOwner` functions.
    address public owner;
    /// @notice The account that may accept ownership, or zero when no transfer is under way.
    address public pendingOwner;

    /// @notice Emitted when the owner proposes `newOwner`.
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    /// @notice Emitted when ownership moves (including at construction, from the zero address).
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    /// @notice The caller does not hold the role the function requires.
    error Unauthorized(address caller);
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();

    modifier onlyOwner() {
        if (msg.sender != owner) revert Unauthorized(msg.sender);
        _;
    }

    constructor(address initialOwner) {
        if (initialOwner == address(0)) revert ZeroAddress();
        owner = initialOwner;
        emit OwnershipTransferred(address(0), initialOwner);
    }

    /// @notice Proposes `newOwner`; the transfer completes when it calls `acceptOwnership`. Zero cancels.
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    /// @notice Completes a transfer proposed by `transferOwnership`; callable only by the pending owner.
    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert Unauthorized(msg.sender);
        emit OwnershipTransferred(owner, msg.sender);
        owner = msg.sender;
        pendingOwner = address(0);
    }
}
