// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {BatchFixture} from "./BatchFixture.sol";
import {IDepositQueue, RollupBase} from "../../src/RollupBase.sol";
import {OptimisticRollup} from "../../src/OptimisticRollup.sol";
import {Portal} from "../../src/Portal.sol";
import {IVerifier} from "../../src/interfaces/IVerifier.sol";

/// @notice Deploys a Portal and an OptimisticRollup the way production does, with short windows and small bonds, and
///         offers the steps of the dispute game as its actors take them.
abstract contract OptimisticFixture is BatchFixture {
    uint64 internal constant CHALLENGE_WINDOW = 1 hours;
    uint64 internal constant PROVING_WINDOW = 2 hours;
    uint128 internal constant PROPOSER_BOND = 1 ether;
    uint128 internal constant CHALLENGER_BOND = 0.25 ether;

    address internal proposer;
    address internal challenger;

    OptimisticRollup internal rollup;

    function setUp() public virtual {
        _makeActors();
        proposer = makeAddr("proposer");
        challenger = makeAddr("challenger");
        (rollup, portal) = _deploy(acceptAll, _params());
        vm.label(address(rollup), "OptimisticRollup");
        vm.label(address(portal), "Portal");

        vm.startPrank(owner);
        rollup.setSequencer(sequencer, true);
        rollup.setProposer(proposer, true);
        vm.stopPrank();
    }

    /// @notice The fixture's dispute parameters.
    function _params() internal pure returns (OptimisticRollup.DisputeParams memory) {
        return OptimisticRollup.DisputeParams({
            challengeWindow: CHALLENGE_WINDOW,
            provingWindow: PROVING_WINDOW,
            proposerBond: PROPOSER_BOND,
            challengerBond: CHALLENGER_BOND
        });
    }

    /// @notice Deploys Portal then OptimisticRollup from this contract.
    function _deploy(IVerifier verifier_, OptimisticRollup.DisputeParams memory params)
        internal
        returns (OptimisticRollup r, Portal p)
    {
        address predicted;
        (p, predicted) = _deployPortal();
        r = new OptimisticRollup(owner, IDepositQueue(address(p)), verifier_, GAS_LIMIT, CHUNKS, GENESIS_ROOT, params);
        vm.assertEq(address(r), predicted, "OptimisticRollup not at the predicted address");
    }

    function _settlement() internal view override returns (RollupBase) {
        return rollup;
    }

    /// @notice Proposes the output of `batchIndex` as the proposer, with its bond.
    function _propose(uint64 batchIndex, bytes32 stateRoot, bytes32 withdrawalRoot) internal returns (uint256 id) {
        vm.deal(proposer, proposer.balance + PROPOSER_BOND);
        vm.prank(proposer);
        id = rollup.proposeOutput{value: PROPOSER_BOND}(batchIndex, stateRoot, withdrawalRoot);
    }

    /// @notice Proposes the output of `batchIndex` with no withdrawals in any of its chunks.
    function _propose(uint64 batchIndex, bytes32 stateRoot) internal returns (uint256) {
        return _propose(batchIndex, stateRoot, rollup.batchWithdrawalRoot(_noWithdrawals(batchIndex)));
    }

    /// @notice Challenges `id` as `who`, with the bond.
    function _challenge(address who, uint256 id) internal {
        vm.deal(who, who.balance + CHALLENGER_BOND);
        vm.prank(who);
        rollup.challengeOutput{value: CHALLENGER_BOND}(id);
    }

    /// @notice Proves `id` as the prover with whatever verifier is set, its chunks holding no withdrawals.
    function _prove(uint256 id) internal {
        uint64 batchIndex = rollup.outputs(id).batchIndex;
        vm.prank(prover);
        rollup.proveOutput(id, _hashesOf(batchIndex), _noWithdrawals(batchIndex), hex"c0ffee");
    }

    /// @notice Moves time to the end of `id`'s challenge window (when it can be resolved unchallenged).
    function _endChallengeWindow(uint256 id) internal {
        vm.warp(rollup.outputs(id).challengeDeadline);
    }

    /// @notice The status of output `id`.
    function _status(uint256 id) internal view returns (OptimisticRollup.OutputStatus) {
        return rollup.outputs(id).status;
    }
}
