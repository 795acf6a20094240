// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./Test.sol";
import {Rollup, IDepositQueue} from "../../src/Rollup.sol";
import {Portal, IRollupFinality} from "../../src/Portal.sol";
import {IVerifier} from "../../src/interfaces/IVerifier.sol";
import {AcceptAllVerifier} from "../mocks/Verifiers.sol";

/// @notice Deploys a Portal and its Rollup the way production does (Portal first, pointed at the Rollup's predicted
///         address, because each needs the other's address and only the Rollup checks the link), with an accept-all
///         verifier, and offers the small steps most tests repeat.
abstract contract RollupFixture is Test {
    /// @dev Copied from the BN254 specification rather than read from the Rollup, so a wrong constant in the
    ///      contract would show up as a test failure.
    uint256 internal constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant GAS_LIMIT = 1_000_000;
    bytes32 internal constant GENESIS_ROOT = bytes32(uint256(0x0bad5eed));

    address internal owner;
    address internal sequencer;
    address internal prover;
    address internal alice;
    address internal bob;

    AcceptAllVerifier internal acceptAll;
    Rollup internal rollup;
    Portal internal portal;

    function setUp() public virtual {
        owner = makeAddr("owner");
        sequencer = makeAddr("sequencer");
        prover = makeAddr("prover");
        alice = makeAddr("alice");
        bob = makeAddr("bob");

        acceptAll = new AcceptAllVerifier();
        (rollup, portal) = _deploy(owner, acceptAll, GAS_LIMIT, GENESIS_ROOT);
        vm.label(address(rollup), "Rollup");
        vm.label(address(portal), "Portal");

        vm.startPrank(owner);
        rollup.setSequencer(sequencer, true);
        rollup.setProver(prover, true);
        vm.stopPrank();
    }

    /// @notice Deploys Portal then Rollup from this contract; the Rollup lands on the address the Portal was given.
    function _deploy(address owner_, IVerifier verifier_, uint256 gasLimit, bytes32 genesisRoot)
        internal
        returns (Rollup r, Portal p)
    {
        // The Portal is created at the current nonce, the Rollup at the next one.
        address predicted = vm.computeCreateAddress(address(this), uint256(vm.getNonce(address(this))) + 1);
        p = new Portal(IRollupFinality(predicted));
        r = new Rollup(owner_, IDepositQueue(address(p)), verifier_, gasLimit, genesisRoot);
        vm.assertEq(address(r), predicted, "Rollup not at the predicted address");
    }

    /// @notice Deposits `value` from `from` (funded here) to `to`.
    function _deposit(address from, address to, uint256 value) internal returns (uint64 nonce) {
        vm.deal(from, from.balance + value);
        vm.prank(from);
        nonce = portal.depositETH{value: value}(to);
    }

    /// @notice Commits the next batch as the sequencer, consuming the queue up to `depositEnd`.
    function _commit(bytes memory data, uint64 depositEnd) internal returns (uint64 index, bytes32 batchHash) {
        uint64 parentIndex = rollup.lastCommittedBatch();
        index = parentIndex + 1;
        bytes32 parentHash = rollup.batches(parentIndex).batchHash;
        vm.prank(sequencer);
        batchHash = rollup.commitBatch(index, parentHash, depositEnd, data);
    }

    /// @notice Commits the next batch consuming no new deposits.
    function _commit(bytes memory data) internal returns (uint64 index, bytes32 batchHash) {
        uint64 parentEnd = rollup.batches(rollup.lastCommittedBatch()).depositEnd;
        return _commit(data, parentEnd);
    }

    /// @notice Finalizes the next batch as the prover with whatever verifier is set.
    function _finalize(uint64 index, bytes32 stateRoot, bytes32 withdrawalRoot) internal {
        vm.prank(prover);
        rollup.finalizeBatch(index, stateRoot, withdrawalRoot, hex"c0ffee");
    }

    /// @notice The batch hash as specified: keccak256(abi.encode(index, parent, dataHash, start, end)), computed
    ///         here independently of Rollup.batchHashOf.
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
