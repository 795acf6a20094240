// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Portal} from "../../src/Portal.sol";
import {Withdrawal} from "../../src/libraries/Withdrawals.sol";

/// @notice A withdrawal recipient that refuses ETH until told otherwise, to show that a failed payout leaves the
///         withdrawal unpaid and claimable again later, rather than marking it paid while the ETH stays behind.
contract EtherRejecter {
    bool public accepting;

    function setAccepting(bool accepting_) external {
        accepting = accepting_;
    }

    receive() external payable {
        require(accepting, "EtherRejecter: not accepting");
    }
}

/// @notice A withdrawal recipient that, when paid, calls Portal.finalizeWithdrawal again with the very same
///         withdrawal, trying to be paid twice before the first payout returns. It swallows the inner failure so
///         the outer payout can complete and the test can inspect what the inner call got.
contract ReentrantRecipient {
    Portal public immutable portal;

    uint64 private _batchIndex;
    Withdrawal private _withdrawal;
    uint256 private _leafIndex;
    bytes32[] private _proof;

    /// @notice How often `receive` ran, and whether the nested call was tried and succeeded.
    uint256 public timesPaid;
    bool public reentryAttempted;
    bool public reentrySucceeded;
    bytes public reentryRevertData;

    constructor(Portal portal_) {
        portal = portal_;
    }

    /// @notice Records the claim to replay from inside `receive`.
    function arm(uint64 batchIndex, Withdrawal calldata withdrawal, uint256 leafIndex, bytes32[] calldata proof)
        external
    {
        _batchIndex = batchIndex;
        _withdrawal = withdrawal;
        _leafIndex = leafIndex;
        _proof = proof;
    }

    receive() external payable {
        ++timesPaid;
        if (reentryAttempted) return;
        reentryAttempted = true;
        try portal.finalizeWithdrawal(_batchIndex, _withdrawal, _leafIndex, _proof) {
            reentrySucceeded = true;
        } catch (bytes memory reason) {
            reentryRevertData = reason;
        }
    }
}
