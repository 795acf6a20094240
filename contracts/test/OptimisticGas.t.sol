// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {OptimisticFixture} from "./utils/OptimisticFixture.sol";

/// @notice One happy path per step of the optimistic mode, for gas measurement, run in isolation so every call is its
///         own transaction as on L1:
///           forge test --match-contract OptimisticGasTest --isolate --gas-report
///         Each scenario's setup runs the steps before the measured one; the figures are recorded in docs/perf.md.
contract OptimisticGasTest is OptimisticFixture {
    bytes internal constant DATA = hex"0101010101010101010101010101010101010101010101010101010101010101";

    function setUp() public override {
        super.setUp();
        // Batch 1 is proposed and final, so the measured batch 2 pays what every batch after the first pays.
        _commit(DATA);
        _commit(DATA);
        uint256 first = _propose(1, _stateRoot(1));
        _endChallengeWindow(first);
        rollup.resolveOutput(first);
        vm.deal(proposer, 10 ether);
        vm.deal(challenger, 10 ether);
    }

    function test_Gas_ProposeOutput() public {
        bytes32 wroot = rollup.withdrawalRoots(1);
        vm.prank(proposer);
        rollup.proposeOutput{value: PROPOSER_BOND}(2, _stateRoot(2), wroot);
    }

    function test_Gas_ResolveOutput_FinalAfterTheWindow() public {
        uint256 id = _propose(2, _stateRoot(2));
        _endChallengeWindow(id);
        rollup.resolveOutput(id);
    }

    function test_Gas_ChallengeOutput() public {
        uint256 id = _propose(2, _stateRoot(2));
        vm.prank(challenger);
        rollup.challengeOutput{value: CHALLENGER_BOND}(id);
    }

    function test_Gas_ProveOutput_TestVerifier() public {
        uint256 id = _propose(2, _stateRoot(2));
        _challenge(challenger, id);
        _prove(id);
    }

    function test_Gas_ResolveOutput_LostUnproven() public {
        uint256 id = _propose(2, _stateRoot(2));
        _challenge(challenger, id);
        vm.warp(rollup.provingDeadline(id) + 1);
        rollup.resolveOutput(id);
    }

    function test_Gas_ClaimCredit() public {
        vm.prank(proposer);
        rollup.claimCredit();
    }
}
