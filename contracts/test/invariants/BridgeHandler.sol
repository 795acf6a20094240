// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {CommonBase} from "../utils/Test.sol";
import {WithdrawalTree} from "../utils/WithdrawalTree.sol";
import {Rollup} from "../../src/Rollup.sol";
import {RollupBase} from "../../src/RollupBase.sol";
import {Portal} from "../../src/Portal.sol";
import {Withdrawal} from "../../src/libraries/Withdrawals.sol";

/// @notice Drives the Rollup and Portal the way the outside world does (users deposit and claim, the sequencer
///         commits, the prover finalizes, the owner reverts) with fuzzed inputs, while keeping its own model of
///         what should have happened. Every action is wrapped in try/catch: an unexpected outcome is recorded as a
///         violation counter that the invariants check, instead of a revert the fuzzer would silently discard
///         (fail_on_revert is off).
///
///         The model is a solvent L2: a batch's withdrawals never total more than the ETH deposited and not yet
///         promised to other withdrawals, and every withdrawal has a fresh, globally increasing nonce, so leaves are
///         unique, as the real L2 guarantees. Batches have 1 to chunksPerBatch chunks (some empty), and each
///         withdrawal sits in a slot of one of them, so its leaf is (chunk << 10) | slot.
contract BridgeHandler is CommonBase {
    uint256 internal constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant MAX_DEPOSIT = 100 ether;
    uint256 internal constant CHUNK_HEIGHT = 10;

    enum Status {
        None,
        Committed,
        Finalized,
        Reverted
    }

    /// @notice One commit the handler made. A batch index can appear in several records: a reverted batch keeps its
    ///         record (with status Reverted) after its index is reused by a replacement.
    struct BatchRecord {
        uint64 index;
        bytes32 withdrawalRoot;
        Status status;
        uint256 firstWithdrawal;
        uint256 withdrawalCount;
        uint256 withdrawalTotal;
        bytes32[] chunkDataHashes;
        bytes32[] chunkWithdrawalRoots;
    }

    Rollup public immutable rollup;
    Portal public immutable portal;
    address public immutable owner;
    address public immutable sequencer;
    address public immutable prover;
    address[] internal _actors;

    // ---- Model -------------------------------------------------------------------------------------------------

    Withdrawal[] internal _withdrawals;
    /// @dev Record id of each withdrawal (same indexing as _withdrawals).
    uint256[] internal _recordOf;
    /// @dev Leaf index of each withdrawal in its batch's tree, (chunk << 10) | slot (same indexing as _withdrawals).
    uint256[] internal _leafIndexOf;
    BatchRecord[] internal _records;
    /// @dev Record id of the live (committed or finalized) batch at each index.
    mapping(uint64 batchIndex => uint256 recordId) internal _liveRecord;
    /// @dev Withdrawals of finalized batches not paid yet; position + 1 in _claimablePos, 0 when absent.
    uint256[] internal _claimable;
    mapping(uint256 withdrawalId => uint256) internal _claimablePos;
    mapping(uint256 withdrawalId => bool) public paid;
    uint64 internal _nextWithdrawalNonce;

    // ---- Ghost values the invariants compare the contracts against -----------------------------------------------

    uint256 public ghostDeposited;
    uint256 public ghostWithdrawn;
    /// @notice Sum of the withdrawals in live (committed or finalized) batches: what the L2 has promised.
    uint256 public ghostAssigned;
    uint64 public ghostLastFinalized;
    mapping(uint256 batchIndex => bytes32) public ghostStateRoot;
    mapping(uint256 batchIndex => bytes32) public ghostWithdrawalRoot;

    // ---- Violations (each must stay zero) ------------------------------------------------------------------------

    uint256 public depositReverts;
    uint256 public depositMisnumbered;
    uint256 public doublePays;
    uint256 public unfinalizedPays;
    uint256 public forgedPays;
    uint256 public validClaimReverts;
    uint256 public wrongPayouts;
    uint256 public unexpectedReverts;
    /// @notice Finalizations with chunk data hashes other than the committed ones that went through.
    uint256 public forgedFinalizations;

    // ---- Coverage counters ---------------------------------------------------------------------------------------

    uint256 public depositCalls;
    uint256 public commitCalls;
    uint256 public commitsWithWithdrawals;
    uint256 public finalizeCalls;
    uint256 public finalizations;
    uint256 public forgedFinalizationsRejected;
    uint256 public claimCalls;
    uint256 public attackCalls;
    uint256 public attacksRejected;
    /// @notice Adversarial claims by kind: replay of a paid leaf, claim from a committed-only batch, from a reverted
    ///         batch, a tampered or misdirected claim, and a forged claim against a batch without withdrawals.
    uint256 public replaysOfPaid;
    uint256 public claimsFromCommitted;
    uint256 public claimsFromReverted;
    uint256 public tamperedClaims;
    uint256 public forgedClaims;
    uint256 public revertCalls;
    uint256 public batchesReverted;
    uint256 public withdrawalsPaid;

    constructor(
        Rollup rollup_,
        Portal portal_,
        address owner_,
        address sequencer_,
        address prover_,
        bytes32 genesisStateRoot
    ) {
        rollup = rollup_;
        portal = portal_;
        owner = owner_;
        sequencer = sequencer_;
        prover = prover_;
        for (uint256 i; i < 4; ++i) {
            _actors.push(makeAddr(string.concat("actor ", vm.toString(i))));
        }
        // Genesis: record 0, finalized, no withdrawals. It keeps batch 0 among the indices attacks aim at.
        _records.push(BatchRecord(0, bytes32(0), Status.Finalized, 0, 0, 0, new bytes32[](0), new bytes32[](0)));
        ghostStateRoot[0] = genesisStateRoot;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Actions (the fuzzer's targets)
    // ------------------------------------------------------------------------------------------------------------

    /// @notice A user deposits a bounded positive amount to any L2 address. A valid deposit must never revert.
    function deposit(uint256 actorSeed, address to, uint256 value) external {
        ++depositCalls;
        address from = _actors[actorSeed % _actors.length];
        value = bound(value, 1, MAX_DEPOSIT);
        vm.deal(from, from.balance + value);
        uint64 expectedNonce = portal.depositCount();
        vm.prank(from);
        try portal.depositETH{value: value}(to) returns (uint64 nonce) {
            if (nonce != expectedNonce) ++depositMisnumbered;
            ghostDeposited += value;
        } catch {
            ++depositReverts;
        }
    }

    /// @notice The sequencer commits the next batch of 1 to chunksPerBatch chunks, consuming some of the pending
    ///         deposits and carrying 0..3 new withdrawals that the deposits not yet promised can cover, each in a slot
    ///         of some chunk.
    function commitBatch(uint256 depositSeed, uint256 countSeed, uint256 valueSeed) external {
        ++commitCalls;
        uint64 parentIndex = rollup.lastCommittedBatch();
        uint64 index = parentIndex + 1;
        RollupBase.Batch memory parent = rollup.batches(parentIndex);
        uint64 end = uint64(bound(depositSeed, parent.depositEnd, portal.depositCount()));
        uint256 chunkCount = 1 + (countSeed >> 8) % rollup.chunksPerBatch();

        (Withdrawal[] memory ws, uint256[] memory leafIndices, uint256 total) =
            _newWithdrawals(countSeed % 4, valueSeed, chunkCount);
        bytes[] memory chunks = new bytes[](chunkCount);
        for (uint256 c; c < chunkCount; ++c) {
            // One chunk in five is empty, as a chunk without transactions is.
            if (uint256(keccak256(abi.encode(valueSeed, "empty", c))) % 5 != 0) {
                chunks[c] = abi.encode(index, end, c, _nextWithdrawalNonce, ws.length);
            }
        }

        vm.prank(sequencer);
        try rollup.commitBatch(index, parent.batchHash, end, chunks) {
            _recordCommit(index, ws, leafIndices, total, chunks);
        } catch {
            ++unexpectedReverts;
        }
    }

    /// @notice The prover finalizes the next committed batch with a random field element as state root (the test
    ///         verifier stands in for the proof). First it tries chunk data hashes that are not the committed ones
    ///         (one changed, or one chunk more or fewer), which must be refused.
    function finalizeBatch(uint256 rootSeed) external {
        ++finalizeCalls;
        uint64 index = rollup.lastFinalizedBatch() + 1;
        if (index > rollup.lastCommittedBatch()) return;
        uint256 recordId = _liveRecord[index];
        BatchRecord storage record = _records[recordId];
        bytes32 stateRoot = bytes32(bound(rootSeed, 0, FIELD - 1));
        bytes32[] memory hashes = record.chunkDataHashes;
        bytes32[] memory roots = record.chunkWithdrawalRoots;

        (bytes32[] memory forgedHashes, bytes32[] memory forgedRoots) = _forgeChunks(hashes, roots, rootSeed);
        vm.prank(prover);
        try rollup.finalizeBatch(index, stateRoot, forgedHashes, forgedRoots, "") {
            ++forgedFinalizations;
        } catch {
            ++forgedFinalizationsRejected;
        }

        vm.prank(prover);
        try rollup.finalizeBatch(index, stateRoot, hashes, roots, "") {
            ++finalizations;
            record.status = Status.Finalized;
            ghostStateRoot[index] = stateRoot;
            ghostWithdrawalRoot[index] = record.withdrawalRoot;
            ghostLastFinalized = index;
            for (uint256 i; i < record.withdrawalCount; ++i) {
                _addClaimable(record.firstWithdrawal + i);
            }
        } catch {
            ++unexpectedReverts;
        }
    }

    /// @notice Anyone claims a withdrawal of a finalized batch that is not paid yet: it must pay exactly its value
    ///         to its recipient.
    function claimWithdrawal(uint256 pick, address caller) external {
        if (_claimable.length == 0) return;
        ++claimCalls;
        uint256 id = _claimable[pick % _claimable.length];
        Withdrawal memory w = _withdrawals[id];
        BatchRecord memory record = _records[_recordOf[id]];
        (uint256 leafIndex, bytes32[] memory proof) = _proofOf(id);
        uint256 balanceBefore = w.to.balance;

        vm.prank(caller);
        try portal.finalizeWithdrawal(record.index, w, leafIndex, proof) {
            _onPaid(id, record.status);
            if (w.to.balance != balanceBefore + w.value) ++wrongPayouts;
        } catch {
            // A finalized, unpaid withdrawal with a correct proof must be payable (recipients are plain accounts).
            ++validClaimReverts;
        }
    }

    /// @notice An adversary replays any withdrawal the L2 ever produced (of a finalized, committed-only or reverted
    ///         batch, paid or not), against its batch or another, or tampered with. Only an untampered claim of an
    ///         unpaid withdrawal of a finalized batch may succeed.
    function attackWithdrawal(uint256 recordSeed, uint256 leafSeed, uint256 mode, uint256 otherIndexSeed) external {
        ++attackCalls;
        BatchRecord memory record = _records[recordSeed % _records.length];
        mode %= 5;

        if (record.withdrawalCount == 0) {
            // Nothing to replay: forge a withdrawal and "prove" it as leaf 0 of an empty tree.
            // Truncating the seed is the point: any nonce and sender will do.
            Withdrawal memory forged = Withdrawal({
                // forge-lint: disable-next-line(unsafe-typecast)
                nonce: uint64(leafSeed),
                // forge-lint: disable-next-line(unsafe-typecast)
                from: address(uint160(leafSeed)),
                to: _actors[leafSeed % _actors.length],
                value: bound(leafSeed, 1, MAX_DEPOSIT)
            });
            ++forgedClaims;
            bytes32[] memory siblings = WithdrawalTree.proof(new bytes32[](0), 0);
            try portal.finalizeWithdrawal(record.index, forged, 0, siblings) {
                ++forgedPays;
            } catch {
                ++attacksRejected;
            }
            return;
        }

        uint256 id = record.firstWithdrawal + (leafSeed % record.withdrawalCount);
        Withdrawal memory w = _withdrawals[id];
        (uint256 leafIndex, bytes32[] memory proof) = _proofOf(id);
        uint64 batchIndex = record.index;
        if (mode == 1) {
            // Any other index, including ones never committed.
            uint64 other = uint64(bound(otherIndexSeed, 0, uint256(rollup.lastCommittedBatch()) + 2));
            batchIndex = other == record.index ? record.index + 1 : other;
        } else if (mode == 2) {
            w.value += 1 + (otherIndexSeed % 1 ether);
        } else if (mode == 3) {
            leafIndex += (otherIndexSeed % 8 + 1) << 32;
        } else if (mode == 4) {
            // The same slot of another chunk.
            leafIndex ^= (otherIndexSeed % 63 + 1) << CHUNK_HEIGHT;
        }

        if (mode != 0) ++tamperedClaims;
        else if (record.status == Status.Committed) ++claimsFromCommitted;
        else if (record.status == Status.Reverted) ++claimsFromReverted;
        else if (paid[id]) ++replaysOfPaid;

        try portal.finalizeWithdrawal(batchIndex, w, leafIndex, proof) {
            if (mode != 0) {
                ++forgedPays;
            } else {
                // _onPaid records a double payment or a payment from a batch that is not finalized.
                _onPaid(id, record.status);
            }
        } catch {
            if (mode == 0 && record.status == Status.Finalized && !paid[id]) ++validClaimReverts;
            else ++attacksRejected;
        }
    }

    /// @notice Occasionally the owner reverts the unfinalized tail of the chain; the withdrawals of the reverted
    ///         batches are no longer promised (the L2 re-executes without them).
    function revertBatches(uint256 seed) external {
        ++revertCalls;
        // One call in four acts, so batches usually live long enough to be finalized.
        if (seed % 4 != 0) return;
        uint64 lastFinalized = rollup.lastFinalizedBatch();
        uint64 lastCommitted = rollup.lastCommittedBatch();
        if (lastCommitted == lastFinalized) return;
        uint64 from = uint64(bound(seed >> 2, uint256(lastFinalized) + 1, lastCommitted));

        vm.prank(owner);
        try rollup.revertBatch(from) {
            for (uint64 index = from; index <= lastCommitted; ++index) {
                BatchRecord storage record = _records[_liveRecord[index]];
                record.status = Status.Reverted;
                ghostAssigned -= record.withdrawalTotal;
                delete _liveRecord[index];
                ++batchesReverted;
            }
        } catch {
            ++unexpectedReverts;
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Views for the invariants
    // ------------------------------------------------------------------------------------------------------------

    function withdrawalCount() external view returns (uint256) {
        return _withdrawals.length;
    }

    function withdrawalAt(uint256 id) external view returns (Withdrawal memory) {
        return _withdrawals[id];
    }

    /// @notice Status of the batch record holding withdrawal `id`.
    function statusOfWithdrawal(uint256 id) external view returns (Status) {
        return _records[_recordOf[id]].status;
    }

    function claimableCount() external view returns (uint256) {
        return _claimable.length;
    }

    function recordCount() external view returns (uint256) {
        return _records.length;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internal
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Books a successful payout of withdrawal `id` from a batch record in `status`, counting violations.
    function _onPaid(uint256 id, Status status) internal {
        if (paid[id]) ++doublePays;
        if (status != Status.Finalized) ++unfinalizedPays;
        if (paid[id] || status != Status.Finalized) return;
        paid[id] = true;
        ghostWithdrawn += _withdrawals[id].value;
        ++withdrawalsPaid;
        _removeClaimable(id);
    }

    /// @dev Up to `count` withdrawals the deposits not yet promised can cover, with fresh nonces, each in a slot of
    ///      one of `chunkCount` chunks: slots 4k..4k+3 for the k-th, so no two share a slot.
    function _newWithdrawals(uint256 count, uint256 valueSeed, uint256 chunkCount)
        internal
        view
        returns (Withdrawal[] memory ws, uint256[] memory leafIndices, uint256 total)
    {
        uint256 available = ghostDeposited - ghostAssigned;
        ws = new Withdrawal[](count);
        leafIndices = new uint256[](count);
        uint64 made;
        for (; made < count && available > 0; ++made) {
            uint256 h = uint256(keccak256(abi.encode(valueSeed, made)));
            uint256 value = bound(h, 1, available);
            ws[made] = Withdrawal({
                nonce: _nextWithdrawalNonce + made,
                from: address(bytes20(bytes32(h))),
                to: _actors[h % _actors.length],
                value: value
            });
            leafIndices[made] = ((h >> 64) % chunkCount) << CHUNK_HEIGHT | (4 * made + (h >> 128) % 4);
            available -= value;
            total += value;
        }
        // Drop the slots the budget could not fill.
        assembly ("memory-safe") {
            mstore(ws, made)
            mstore(leafIndices, made)
        }
    }

    /// @dev Books a successful commit of batch `index` with these withdrawals and chunks.
    function _recordCommit(
        uint64 index,
        Withdrawal[] memory ws,
        uint256[] memory leafIndices,
        uint256 total,
        bytes[] memory chunks
    ) internal {
        bytes32[] memory chunkHashes = new bytes32[](chunks.length);
        for (uint256 c; c < chunks.length; ++c) {
            chunkHashes[c] = keccak256(chunks[c]);
        }
        bytes32[] memory chunkRoots = _chunkRoots(ws, leafIndices, chunks.length);
        uint256 recordId = _records.length;
        _records.push(
            BatchRecord({
                index: index,
                withdrawalRoot: WithdrawalTree.rootOfSubtrees(chunkRoots, CHUNK_HEIGHT),
                status: Status.Committed,
                firstWithdrawal: _withdrawals.length,
                withdrawalCount: ws.length,
                withdrawalTotal: total,
                chunkDataHashes: chunkHashes,
                chunkWithdrawalRoots: chunkRoots
            })
        );
        _liveRecord[index] = recordId;
        for (uint256 i; i < ws.length; ++i) {
            _withdrawals.push(ws[i]);
            _recordOf.push(recordId);
            _leafIndexOf.push(leafIndices[i]);
        }
        _nextWithdrawalNonce += uint64(ws.length);
        ghostAssigned += total;
        if (ws.length > 0) ++commitsWithWithdrawals;
    }

    /// @dev Leaf index and sibling path of withdrawal `id` in its batch's tree.
    function _proofOf(uint256 id) internal view returns (uint256 leafIndex, bytes32[] memory proof) {
        BatchRecord memory record = _records[_recordOf[id]];
        bytes32[][] memory chunkLeaves = new bytes32[][](record.chunkWithdrawalRoots.length);
        for (uint256 c; c < chunkLeaves.length; ++c) {
            chunkLeaves[c] = new bytes32[](12);
        }
        for (uint256 i; i < record.withdrawalCount; ++i) {
            uint256 other = record.firstWithdrawal + i;
            uint256 index = _leafIndexOf[other];
            chunkLeaves[index >> CHUNK_HEIGHT][index & 1023] = WithdrawalTree.leafHash(_withdrawals[other]);
        }
        leafIndex = _leafIndexOf[id];
        (, proof) = WithdrawalTree.rootAndProofInSubtrees(
            chunkLeaves, CHUNK_HEIGHT, leafIndex >> CHUNK_HEIGHT, leafIndex & 1023
        );
    }

    /// @dev The withdrawal subtree root of each of `chunkCount` chunks, withdrawal i sitting at `leafIndices[i]`.
    function _chunkRoots(Withdrawal[] memory ws, uint256[] memory leafIndices, uint256 chunkCount)
        internal
        pure
        returns (bytes32[] memory roots)
    {
        // Slots stay below 12 (see commitBatch); trailing zero leaves do not change a root.
        bytes32[][] memory chunkLeaves = new bytes32[][](chunkCount);
        for (uint256 c; c < chunkCount; ++c) {
            chunkLeaves[c] = new bytes32[](12);
        }
        for (uint256 i; i < ws.length; ++i) {
            chunkLeaves[leafIndices[i] >> CHUNK_HEIGHT][leafIndices[i] & 1023] = WithdrawalTree.leafHash(ws[i]);
        }
        roots = new bytes32[](chunkCount);
        for (uint256 c; c < chunkCount; ++c) {
            roots[c] = WithdrawalTree.subtreeRoot(chunkLeaves[c], CHUNK_HEIGHT);
        }
    }

    /// @dev Chunk arrays that are not the committed ones: a data hash changed, a chunk dropped, or an empty chunk
    ///      appended (each with one withdrawal root per chunk, so only the data hashes are wrong).
    function _forgeChunks(bytes32[] memory hashes, bytes32[] memory roots, uint256 seed)
        internal
        pure
        returns (bytes32[] memory forgedHashes, bytes32[] memory forgedRoots)
    {
        uint256 n = hashes.length;
        uint256 mode = (seed >> 128) % 3;
        if (mode == 1 && n == 1) mode = 0;
        uint256 m = mode == 0 ? n : (mode == 1 ? n - 1 : n + 1);
        forgedHashes = new bytes32[](m);
        forgedRoots = new bytes32[](m);
        for (uint256 i; i < m; ++i) {
            forgedHashes[i] = i < n ? hashes[i] : keccak256("");
            forgedRoots[i] = i < n ? roots[i] : WithdrawalTree.zeroHashes()[CHUNK_HEIGHT];
        }
        if (mode == 0) forgedHashes[seed % n] = keccak256(abi.encode(forgedHashes[seed % n]));
    }

    function _addClaimable(uint256 id) internal {
        _claimable.push(id);
        _claimablePos[id] = _claimable.length;
    }

    function _removeClaimable(uint256 id) internal {
        uint256 pos = _claimablePos[id];
        if (pos == 0) return;
        uint256 last = _claimable[_claimable.length - 1];
        _claimable[pos - 1] = last;
        _claimablePos[last] = pos;
        _claimable.pop();
        delete _claimablePos[id];
    }
}
