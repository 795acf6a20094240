// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {BatchFixture} from "./BatchFixture.sol";
import {Rollup, IDepositQueue} from "../../src/Rollup.sol";
import {RollupBase} from "../../src/RollupBase.sol";
import {Portal} from "../../src/Portal.sol";
import {IVerifier} from "../../src/interfaces/IVerifier.sol";

/// @notice Deploys a Portal and its (ZK mode) Rollup the way production does, with an accept-all verifier, and
///         finalizes batches as the prover.
abstract contract RollupFixture is BatchFixture {
    Rollup internal rollup;

    function setUp() public virtual {
        _makeActors();
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
        address predicted;
        (p, predicted) = _deployPortal();
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

    function _settlement() internal view override returns (RollupBase) {
        return rollup;
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
}
