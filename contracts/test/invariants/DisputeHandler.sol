// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {CommonBase} from "../utils/Test.sol";
import {WithdrawalTree} from "../utils/WithdrawalTree.sol";
import {OptimisticRollup} from "../../src/OptimisticRollup.sol";
import {IVerifier} from "../../src/interfaces/IVerifier.sol";
import {Portal} from "../../src/Portal.sol";
import {Withdrawal} from "../../src/libraries/Withdrawals.sol";

/// @notice The true L2 the handler's batches come from: for each batch, the state root and the one withdrawal an
///         honest output holds. Wrong outputs differ from it in the state root, the withdrawal root or both.
library Truth {
    uint256 internal constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant CHUNK_HEIGHT = 10;
    bytes32 internal constant GENESIS_ROOT = bytes32(uint256(0x0bad5eed));

    function stateRoot(uint256 batchIndex) internal pure returns (bytes32) {
        if (batchIndex == 0) return GENESIS_ROOT;
        return bytes32(uint256(keccak256(abi.encode("true state", batchIndex))) % FIELD);
    }

    function wrongStateRoot(uint256 batchIndex) internal pure returns (bytes32) {
        return bytes32(uint256(keccak256(abi.encode("wrong state", batchIndex))) % FIELD);
    }

    /// @notice The batch's withdrawal: 1 gwei to a fixed account (the honest one) or 1 ether to the thief (a wrong
    ///         output's).
    function withdrawal(uint256 batchIndex, bool honest) internal pure returns (Withdrawal memory) {
        return Withdrawal({
            nonce: uint64(batchIndex),
            from: address(0xa11ce),
            to: honest ? address(0xb0b) : address(0x7417),
            value: honest ? 1 gwei : 1 ether
        });
    }

    /// @notice The root of the only chunk's withdrawal subtree (the withdrawal in slot 0).
    function chunkRoot(uint256 batchIndex, bool honest) internal pure returns (bytes32) {
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = WithdrawalTree.leafHash(withdrawal(batchIndex, honest));
        return WithdrawalTree.subtreeRoot(leaves, CHUNK_HEIGHT);
    }
}

/// @notice Proves exactly the true statements: a proof is `abi.encode(batchIndex)`, and it verifies when the
///         statement's state roots and first chunk's withdrawal root are that batch's true ones. Stands in for the
///         real verifier, which proves the true transition and nothing else.
contract TruthVerifier is IVerifier {
    function verify(uint256[] calldata inputs, bytes calldata proof) external pure returns (bool) {
        if (proof.length != 32) return false;
        uint256 batchIndex = abi.decode(proof, (uint256));
        if (batchIndex == 0 || batchIndex > type(uint64).max) return false;
        bytes32 wroot = Truth.chunkRoot(batchIndex, true);
        return inputs[0] == uint256(Truth.stateRoot(batchIndex - 1))
            && inputs[1] == uint256(Truth.stateRoot(batchIndex)) && inputs[8] == uint256(wroot) >> 128
            && inputs[9] == uint256(wroot) & type(uint128).max;
    }
}

/// @notice Plays the dispute game with fuzzed choices: the sequencer commits, the proposer posts honest and wrong
///         outputs, challengers challenge any output (griefing honest ones too), anyone proves with the true
///         statement, resolves, claims credit and tries withdrawals against any output; time moves by fuzzed steps.
///         Every action is wrapped in try/catch and checks what the model expects; surprises are counted, and the
///         invariants require the counts to stay zero.
contract DisputeHandler is CommonBase {
    uint64 internal constant MAX_BATCHES = 12;

    OptimisticRollup public immutable rollup;
    Portal public immutable portal;
    address public immutable sequencer;
    address public immutable proposer;
    address[] internal _challengers;

    // ---- Model -------------------------------------------------------------------------------------------------

    /// @notice Whether output id's state root is wrong, or its withdrawal root is.
    mapping(uint256 outputId => bool) public wrongState;
    mapping(uint256 outputId => bool) public wrongWithdrawals;
    uint256[] internal _proven;

    // ---- Ghost values --------------------------------------------------------------------------------------------

    uint256 public bondsPaidIn;
    uint256 public creditsClaimed;
    uint64 public highestFinalized;

    // ---- Violations (each must stay zero) ------------------------------------------------------------------------

    uint256 public paidFromNonFinal;
    uint256 public wrongDefenceAccepted;
    uint256 public honestDefenceRefused;
    uint256 public finalityWentBack;
    uint256 public unexpectedReverts;

    // ---- Counters --------------------------------------------------------------------------------------------------

    uint256 public proposals;
    uint256 public wrongProposals;
    uint256 public challenges;
    uint256 public proofs;
    uint256 public finalUnchallenged;
    uint256 public lostUnproven;
    uint256 public lostWithParent;
    uint256 public withdrawalsPaid;
    uint256 public claims;

    constructor(OptimisticRollup rollup_, Portal portal_, address sequencer_, address proposer_) {
        rollup = rollup_;
        portal = portal_;
        sequencer = sequencer_;
        proposer = proposer_;
        _challengers.push(makeAddr("challenger 1"));
        _challengers.push(makeAddr("challenger 2"));
    }

    // ---- Actions -------------------------------------------------------------------------------------------------

    function commit() external {
        uint64 index = rollup.lastCommittedBatch() + 1;
        if (index > MAX_BATCHES) return;
        bytes[] memory chunks = new bytes[](1);
        chunks[0] = abi.encode(index);
        bytes32 parent = rollup.batches(index - 1).batchHash;
        vm.prank(sequencer);
        try rollup.commitBatch(index, parent, 0, chunks) {}
        catch {
            ++unexpectedReverts;
        }
    }

    /// @param kind 0..2 honest, 3 wrong state root, 4 wrong withdrawal root, 5 both.
    function propose(uint256 kind) external {
        uint64 index = rollup.nextOutputBatch();
        if (index > rollup.lastCommittedBatch()) return;
        kind = kind % 6;
        bool badState = kind == 3 || kind == 5;
        bool badWithdrawals = kind >= 4;
        bytes32 stateRoot = badState ? Truth.wrongStateRoot(index) : Truth.stateRoot(index);
        bytes32 wroot = rollup.batchWithdrawalRoot(_single(Truth.chunkRoot(index, !badWithdrawals)));
        (,, uint128 bond,) = rollup.disputeParams();
        vm.deal(proposer, bond);
        vm.prank(proposer);
        try rollup.proposeOutput{value: bond}(index, stateRoot, wroot) returns (uint256 id) {
            bondsPaidIn += bond;
            wrongState[id] = badState;
            wrongWithdrawals[id] = badWithdrawals;
            ++proposals;
            if (badState || badWithdrawals) ++wrongProposals;
        } catch {
            ++unexpectedReverts;
        }
    }

    function challenge(uint256 idSeed, uint256 actorSeed) external {
        uint256 id = _pick(idSeed);
        if (id == 0) return;
        OptimisticRollup.Output memory o = rollup.outputs(id);
        bool open = o.status == OptimisticRollup.OutputStatus.Proposed && block.timestamp < o.challengeDeadline
            && rollup.outputs(o.parentId).status != OptimisticRollup.OutputStatus.Lost;
        address who = _challengers[actorSeed % _challengers.length];
        (,,, uint128 bond) = rollup.disputeParams();
        vm.deal(who, bond);
        vm.prank(who);
        try rollup.challengeOutput{value: bond}(id) {
            bondsPaidIn += bond;
            ++challenges;
            if (!open) ++unexpectedReverts;
        } catch {
            if (open) ++unexpectedReverts;
        }
    }

    /// @notice Anyone proves output `id` with the true statement of its batch.
    function prove(uint256 idSeed) external {
        uint256 id = _pick(idSeed);
        if (id == 0) return;
        OptimisticRollup.Output memory o = rollup.outputs(id);
        OptimisticRollup.Output memory parent = rollup.outputs(o.parentId);
        bool provable =
            (o.status == OptimisticRollup.OutputStatus.Proposed || o.status == OptimisticRollup.OutputStatus.Challenged)
                && parent.status == OptimisticRollup.OutputStatus.Final
                && (o.status == OptimisticRollup.OutputStatus.Proposed || block.timestamp <= rollup.provingDeadline(id));
        bool honest = !wrongState[id] && !wrongWithdrawals[id] && parent.stateRoot == Truth.stateRoot(o.batchIndex - 1);
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = keccak256(abi.encode(o.batchIndex));
        try rollup.proveOutput(
            id, hashes, _single(Truth.chunkRoot(o.batchIndex, true)), abi.encode(uint256(o.batchIndex))
        ) {
            _proven.push(id);
            ++proofs;
            if (!(provable && honest)) ++wrongDefenceAccepted;
        } catch {
            if (provable && honest) ++honestDefenceRefused;
        }
        _trackFinality();
    }

    function resolve(uint256 idSeed) external {
        uint256 id = _pick(idSeed);
        if (id == 0) return;
        try rollup.resolveOutput(id) {
            OptimisticRollup.Output memory o = rollup.outputs(id);
            if (o.status == OptimisticRollup.OutputStatus.Final) ++finalUnchallenged;
            else if (rollup.outputs(o.parentId).status == OptimisticRollup.OutputStatus.Lost) ++lostWithParent;
            else ++lostUnproven;
        } catch {}
        _trackFinality();
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 3 hours));
    }

    function claim(uint256 actorSeed) external {
        uint256 pick = actorSeed % (_challengers.length + 1);
        address who = pick == _challengers.length ? proposer : _challengers[pick];
        uint256 credit = rollup.credits(who);
        vm.prank(who);
        try rollup.claimCredit() {
            creditsClaimed += credit;
            ++claims;
        } catch {
            if (credit != 0) ++unexpectedReverts;
        }
    }

    /// @notice Tries to withdraw the withdrawal that output `id` holds (true or the thief's), against its batch.
    function withdraw(uint256 idSeed) external {
        uint256 id = _pick(idSeed);
        if (id == 0) return;
        OptimisticRollup.Output memory o = rollup.outputs(id);
        bool honest = !wrongWithdrawals[id];
        Withdrawal memory w = Truth.withdrawal(o.batchIndex, honest);
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = WithdrawalTree.leafHash(w);
        try portal.finalizeWithdrawal(o.batchIndex, w, 0, WithdrawalTree.proof(leaves, 0)) {
            ++withdrawalsPaid;
            // Paid: the withdrawal must be in the final output of its batch (an output lost or replaced may have
            // held the same true withdrawal, which is then rightly paid against the final one).
            OptimisticRollup.Output memory fin = rollup.outputs(rollup.outputOf(o.batchIndex));
            bytes32 root = rollup.batchWithdrawalRoot(_single(Truth.chunkRoot(o.batchIndex, honest)));
            if (fin.status != OptimisticRollup.OutputStatus.Final || fin.withdrawalRoot != root) ++paidFromNonFinal;
        } catch {}
    }

    // ---- Views for the invariants --------------------------------------------------------------------------------

    function provenCount() external view returns (uint256) {
        return _proven.length;
    }

    function provenAt(uint256 i) external view returns (uint256) {
        return _proven[i];
    }

    function challengerCount() external view returns (uint256) {
        return _challengers.length;
    }

    function challengerAt(uint256 i) external view returns (address) {
        return _challengers[i];
    }

    // ---- Internal --------------------------------------------------------------------------------------------------

    /// @dev An existing output id other than genesis, or 0 when there is none.
    function _pick(uint256 seed) internal view returns (uint256) {
        uint256 count = rollup.outputCount();
        if (count <= 1) return 0;
        return 1 + seed % (count - 1);
    }

    function _trackFinality() internal {
        uint64 last = rollup.lastFinalizedBatch();
        if (last < highestFinalized) ++finalityWentBack;
        highestFinalized = last;
    }

    function _single(bytes32 value) internal pure returns (bytes32[] memory values) {
        values = new bytes32[](1);
        values[0] = value;
    }
}
