// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {RollupFixture} from "./utils/RollupFixture.sol";
import {WithdrawalTree} from "./utils/WithdrawalTree.sol";
import {Portal} from "../src/Portal.sol";
import {Withdrawal, Withdrawals} from "../src/libraries/Withdrawals.sol";
import {EtherRejecter, ReentrantRecipient} from "./mocks/Recipients.sol";

contract PortalTest is RollupFixture {
    bytes internal constant DATA = hex"01";

    // ------------------------------------------------------------------------------------------------------------
    // Deposits
    // ------------------------------------------------------------------------------------------------------------

    function test_Deposit_QueuesAndEmits() public {
        vm.assertEq(uint256(portal.depositCount()), 0);
        vm.assertEq(portal.depositHashAt(0), bytes32(0));

        bytes32 h1 = keccak256(abi.encodePacked(bytes32(0), uint64(0), alice, bob, uint256(1 ether)));
        vm.deal(alice, 1 ether);
        vm.expectEmit(address(portal));
        emit Portal.DepositQueued(0, alice, bob, 1 ether, h1);
        vm.prank(alice);
        uint64 nonce = portal.depositETH{value: 1 ether}(bob);

        vm.assertEq(uint256(nonce), 0);
        vm.assertEq(uint256(portal.depositCount()), 1);
        vm.assertEq(portal.depositHashAt(1), h1);
        vm.assertEq(portal.totalDeposited(), 1 ether);
        vm.assertEq(address(portal).balance, 1 ether);
        vm.assertEq(alice.balance, 0);

        bytes32 h2 = keccak256(abi.encodePacked(h1, uint64(1), bob, address(0), uint256(7)));
        vm.deal(bob, 7);
        vm.expectEmit(address(portal));
        emit Portal.DepositQueued(1, bob, address(0), 7, h2);
        vm.prank(bob);
        vm.assertEq(uint256(portal.depositETH{value: 7}(address(0))), 1);

        vm.assertEq(uint256(portal.depositCount()), 2);
        vm.assertEq(portal.depositHashAt(0), bytes32(0));
        vm.assertEq(portal.depositHashAt(1), h1);
        vm.assertEq(portal.depositHashAt(2), h2);
        vm.assertEq(portal.totalDeposited(), 1 ether + 7);
        vm.assertEq(address(portal).balance, 1 ether + 7);
    }

    function test_Deposit_RevertsOnZeroValue() public {
        vm.prank(alice);
        vm.expectRevert(Portal.ZeroDeposit.selector);
        portal.depositETH(bob);
        vm.assertEq(uint256(portal.depositCount()), 0);
    }

    function test_DepositHashAt_RevertsPastQueue() public {
        vm.expectRevert(abi.encodeWithSelector(Portal.DepositCountOutOfRange.selector, uint64(1), uint64(0)));
        portal.depositHashAt(1);
        _deposit(alice, alice, 1);
        vm.expectRevert(abi.encodeWithSelector(Portal.DepositCountOutOfRange.selector, type(uint64).max, uint64(1)));
        portal.depositHashAt(type(uint64).max);
    }

    /// @notice Deposits are not affected by the pause: they only queue, and stopping them would strand users.
    function test_Deposit_WorksWhilePaused() public {
        vm.prank(owner);
        rollup.setPaused(true);
        _deposit(alice, bob, 5);
        vm.assertEq(uint256(portal.depositCount()), 1);
    }

    /// @notice Any positive value to any recipient, from any sender, is queued; the chain value matches the
    ///         specified formula computed here.
    function testFuzz_Deposit_NeverRevertsAndChains(address from, address to, uint256 value, uint8 before) public {
        vm.assume(from != address(portal));
        value = bound(value, 1, type(uint256).max / 4);
        for (uint256 i; i < before % 4; ++i) {
            _deposit(bob, alice, 1 + i);
        }
        uint64 nonce = portal.depositCount();
        bytes32 prev = portal.depositHashAt(nonce);
        uint256 totalBefore = portal.totalDeposited();

        vm.deal(from, value);
        vm.prank(from);
        vm.assertEq(uint256(portal.depositETH{value: value}(to)), uint256(nonce));

        bytes32 expected = keccak256(abi.encodePacked(prev, nonce, from, to, value));
        vm.assertEq(portal.depositHashAt(nonce + 1), expected);
        vm.assertEq(uint256(portal.depositCount()), uint256(nonce) + 1);
        vm.assertEq(portal.totalDeposited(), totalBefore + value);
    }

    /// @notice The chain the Rollup binds batches to is exactly the chain of the deposits made, in order.
    function testFuzz_DepositChain_MatchesIndependentComputation(uint256[6] memory values, uint256 seed) public {
        bytes32 h;
        for (uint64 n; n < values.length; ++n) {
            address from = address(uint160(uint256(keccak256(abi.encode(seed, n, "from")))));
            address to = address(uint160(uint256(keccak256(abi.encode(seed, n, "to")))));
            uint256 value = bound(values[n], 1, 1e30);
            _deposit(from, to, value);
            h = keccak256(abi.encodePacked(h, n, from, to, value));
            vm.assertEq(portal.depositHashAt(n + 1), h);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Withdrawals
    // ------------------------------------------------------------------------------------------------------------

    function test_Withdraw_PaysExactlyOnce() public {
        Withdrawal[] memory ws = _withdrawals(3, 1 ether);
        uint64 batch = _finalizeWithTree(ws);
        bytes32[] memory leaves = WithdrawalTree.leavesOf(ws);
        bytes32[] memory proof = WithdrawalTree.proof(leaves, 1);

        uint256 balanceBefore = ws[1].to.balance;
        uint256 portalBefore = address(portal).balance;
        vm.expectEmit(address(portal));
        emit Portal.WithdrawalFinalized(batch, ws[1].nonce, leaves[1], ws[1].to, ws[1].value);
        vm.prank(bob);
        portal.finalizeWithdrawal(batch, ws[1], 1, proof);

        vm.assertEq(ws[1].to.balance, balanceBefore + ws[1].value);
        vm.assertEq(address(portal).balance, portalBefore - ws[1].value);
        vm.assertEq(portal.totalWithdrawn(), ws[1].value);
        vm.assertTrue(portal.withdrawalFinalized(leaves[1]));
        vm.assertFalse(portal.withdrawalFinalized(leaves[0]));

        vm.expectRevert(abi.encodeWithSelector(Portal.WithdrawalAlreadyFinalized.selector, leaves[1]));
        portal.finalizeWithdrawal(batch, ws[1], 1, proof);
        vm.assertEq(ws[1].to.balance, balanceBefore + ws[1].value);
        vm.assertEq(portal.totalWithdrawn(), ws[1].value);

        // Its neighbours are still payable.
        portal.finalizeWithdrawal(batch, ws[0], 0, WithdrawalTree.proof(leaves, 0));
        portal.finalizeWithdrawal(batch, ws[2], 2, WithdrawalTree.proof(leaves, 2));
        vm.assertEq(portal.totalWithdrawn(), ws[0].value + ws[1].value + ws[2].value);
    }

    function test_Withdraw_RevertsForGenesisAndUnfinalizedBatches() public {
        Withdrawal[] memory ws = _withdrawals(2, 1 ether);
        bytes32[] memory leaves = WithdrawalTree.leavesOf(ws);
        bytes32[] memory proof = WithdrawalTree.proof(leaves, 0);
        bytes32 root = WithdrawalTree.root(leaves);
        _deposit(alice, alice, 10 ether);

        // Batch 0 carries no withdrawals and never pays.
        vm.expectRevert(abi.encodeWithSelector(Portal.BatchNotFinalized.selector, uint64(0), uint64(0)));
        portal.finalizeWithdrawal(0, ws[0], 0, proof);
        // A batch that does not exist.
        vm.expectRevert(abi.encodeWithSelector(Portal.BatchNotFinalized.selector, uint64(1), uint64(0)));
        portal.finalizeWithdrawal(1, ws[0], 0, proof);

        // Committed, not yet finalized: the root is not trusted yet.
        _commit(DATA, portal.depositCount());
        vm.expectRevert(abi.encodeWithSelector(Portal.BatchNotFinalized.selector, uint64(1), uint64(0)));
        portal.finalizeWithdrawal(1, ws[0], 0, proof);

        _finalize(1, _stateRoot(1), _single(WithdrawalTree.subtreeRoot(leaves, CHUNK_HEIGHT)));
        vm.assertEq(rollup.withdrawalRoots(1), root);
        // One past the last finalized batch still fails.
        vm.expectRevert(abi.encodeWithSelector(Portal.BatchNotFinalized.selector, uint64(2), uint64(1)));
        portal.finalizeWithdrawal(2, ws[0], 0, proof);
        vm.expectRevert(abi.encodeWithSelector(Portal.BatchNotFinalized.selector, type(uint64).max, uint64(1)));
        portal.finalizeWithdrawal(type(uint64).max, ws[0], 0, proof);

        portal.finalizeWithdrawal(1, ws[0], 0, proof);
        vm.assertTrue(portal.withdrawalFinalized(leaves[0]));
    }

    function test_Withdraw_RevertsOnWrongProof() public {
        Withdrawal[] memory ws = _withdrawals(4, 1 ether);
        uint64 batch = _finalizeWithTree(ws);
        bytes32[] memory leaves = WithdrawalTree.leavesOf(ws);
        bytes32 root = WithdrawalTree.root(leaves);

        // A tampered sibling at each level.
        for (uint256 level; level < 32; level += 7) {
            bytes32[] memory proof = WithdrawalTree.proof(leaves, 2);
            proof[level] = keccak256(abi.encode(proof[level]));
            bytes32 computed = WithdrawalTree.fold(leaves[2], 2, proof);
            vm.expectRevert(abi.encodeWithSelector(Portal.InvalidWithdrawalProof.selector, computed, root));
            portal.finalizeWithdrawal(batch, ws[2], 2, proof);
        }

        // A withdrawal that differs from the tree's in any field.
        bytes32[] memory good = WithdrawalTree.proof(leaves, 2);
        Withdrawal[4] memory forged = [ws[2], ws[2], ws[2], ws[2]];
        forged[0].nonce += 1;
        forged[1].from = alice;
        forged[2].to = alice;
        forged[3].value += 1;
        for (uint256 i; i < forged.length; ++i) {
            bytes32 computed = WithdrawalTree.fold(WithdrawalTree.leafHash(forged[i]), 2, good);
            vm.expectRevert(abi.encodeWithSelector(Portal.InvalidWithdrawalProof.selector, computed, root));
            portal.finalizeWithdrawal(batch, forged[i], 2, good);
        }
        vm.assertEq(portal.totalWithdrawn(), 0);
    }

    function test_Withdraw_RevertsOnWrongLeafIndex() public {
        Withdrawal[] memory ws = _withdrawals(4, 1 ether);
        uint64 batch = _finalizeWithTree(ws);
        bytes32[] memory leaves = WithdrawalTree.leavesOf(ws);
        bytes32 root = WithdrawalTree.root(leaves);
        bytes32[] memory proof = WithdrawalTree.proof(leaves, 1);

        uint256[4] memory wrong = [uint256(0), 3, 5, (uint256(1) << 32) - 1];
        for (uint256 i; i < wrong.length; ++i) {
            bytes32 computed = WithdrawalTree.fold(leaves[1], wrong[i], proof);
            vm.expectRevert(abi.encodeWithSelector(Portal.InvalidWithdrawalProof.selector, computed, root));
            portal.finalizeWithdrawal(batch, ws[1], wrong[i], proof);
        }
    }

    /// @notice Only bits 0..31 of the index steer the path, so an index of 2^32 + i would replay leaf i's proof
    ///         under a different index; the range check is what rules that out.
    function test_Withdraw_RevertsOnLeafIndexOutOfRange() public {
        Withdrawal[] memory ws = _withdrawals(2, 1 ether);
        uint64 batch = _finalizeWithTree(ws);
        bytes32[] memory leaves = WithdrawalTree.leavesOf(ws);
        bytes32[] memory proof = WithdrawalTree.proof(leaves, 1);

        uint256[3] memory bad = [uint256(1) << 32, (uint256(1) << 32) + 1, type(uint256).max];
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(Withdrawals.LeafIndexOutOfRange.selector, bad[i]));
            portal.finalizeWithdrawal(batch, ws[1], bad[i], proof);
        }
    }

    function test_Withdraw_RevertsOnWrongProofLength() public {
        Withdrawal[] memory ws = _withdrawals(1, 1 ether);
        uint64 batch = _finalizeWithTree(ws);
        bytes32[] memory full = WithdrawalTree.proof(WithdrawalTree.leavesOf(ws), 0);

        uint256[4] memory lengths = [uint256(0), 1, 31, 33];
        for (uint256 i; i < lengths.length; ++i) {
            bytes32[] memory proof = new bytes32[](lengths[i]);
            for (uint256 j; j < proof.length && j < full.length; ++j) {
                proof[j] = full[j];
            }
            vm.expectRevert(abi.encodeWithSelector(Withdrawals.InvalidProofLength.selector, lengths[i]));
            portal.finalizeWithdrawal(batch, ws[0], 0, proof);
        }
    }

    /// @notice An intermediate node cannot be passed off as a leaf with a shortened proof: the length is fixed and
    ///         a leaf is hashed from 128 bytes, a node from 64.
    function test_Withdraw_PaddingAndInnerNodesCannotBeClaimed() public {
        Withdrawal[] memory ws = _withdrawals(2, 1 ether);
        uint64 batch = _finalizeWithTree(ws);
        bytes32[] memory leaves = WithdrawalTree.leavesOf(ws);
        bytes32 root = WithdrawalTree.root(leaves);

        // A zero-valued withdrawal at a padding index, proven with the padding's real siblings.
        Withdrawal memory empty;
        bytes32[] memory paddingProof = WithdrawalTree.proof(leaves, 2);
        bytes32 computed = WithdrawalTree.fold(WithdrawalTree.leafHash(empty), 2, paddingProof);
        vm.expectRevert(abi.encodeWithSelector(Portal.InvalidWithdrawalProof.selector, computed, root));
        portal.finalizeWithdrawal(batch, empty, 2, paddingProof);
    }

    function test_Withdraw_RevertsWhenPaused() public {
        Withdrawal[] memory ws = _withdrawals(1, 1 ether);
        uint64 batch = _finalizeWithTree(ws);
        bytes32[] memory proof = WithdrawalTree.proof(WithdrawalTree.leavesOf(ws), 0);

        vm.prank(owner);
        rollup.setPaused(true);
        vm.expectRevert(Portal.RollupPaused.selector);
        portal.finalizeWithdrawal(batch, ws[0], 0, proof);

        vm.prank(owner);
        rollup.setPaused(false);
        portal.finalizeWithdrawal(batch, ws[0], 0, proof);
        vm.assertEq(portal.totalWithdrawn(), ws[0].value);
    }

    /// @notice A recipient that refuses the ETH makes the whole claim revert: nothing is marked paid, and the claim
    ///         succeeds later once the recipient accepts.
    function test_Withdraw_RejectedTransferStaysClaimable() public {
        EtherRejecter rejecter = new EtherRejecter();
        Withdrawal[] memory ws = _withdrawals(2, 1 ether);
        ws[1].to = address(rejecter);
        uint64 batch = _finalizeWithTree(ws);
        bytes32[] memory leaves = WithdrawalTree.leavesOf(ws);
        bytes32[] memory proof = WithdrawalTree.proof(leaves, 1);
        uint256 portalBefore = address(portal).balance;

        vm.expectRevert(abi.encodeWithSelector(Portal.TransferFailed.selector, address(rejecter), ws[1].value));
        portal.finalizeWithdrawal(batch, ws[1], 1, proof);
        vm.assertFalse(portal.withdrawalFinalized(leaves[1]));
        vm.assertEq(portal.totalWithdrawn(), 0);
        vm.assertEq(address(portal).balance, portalBefore);

        rejecter.setAccepting(true);
        portal.finalizeWithdrawal(batch, ws[1], 1, proof);
        vm.assertTrue(portal.withdrawalFinalized(leaves[1]));
        vm.assertEq(address(rejecter).balance, ws[1].value);
        vm.assertEq(portal.totalWithdrawn(), ws[1].value);
    }

    /// @notice The recipient re-enters finalizeWithdrawal with the same withdrawal while being paid: the leaf is
    ///         already marked, so the nested call fails and the withdrawal is paid once.
    function test_Withdraw_ReentrancyCannotDoublePay() public {
        ReentrantRecipient attacker = new ReentrantRecipient(portal);
        Withdrawal[] memory ws = _withdrawals(3, 1 ether);
        ws[0].to = address(attacker);
        uint64 batch = _finalizeWithTree(ws);
        bytes32[] memory leaves = WithdrawalTree.leavesOf(ws);
        bytes32[] memory proof = WithdrawalTree.proof(leaves, 0);
        attacker.arm(batch, ws[0], 0, proof);
        uint256 portalBefore = address(portal).balance;

        portal.finalizeWithdrawal(batch, ws[0], 0, proof);

        vm.assertTrue(attacker.reentryAttempted());
        vm.assertFalse(attacker.reentrySucceeded());
        vm.assertEq(
            attacker.reentryRevertData(), abi.encodeWithSelector(Portal.WithdrawalAlreadyFinalized.selector, leaves[0])
        );
        vm.assertEq(attacker.timesPaid(), 1);
        vm.assertEq(address(attacker).balance, ws[0].value);
        vm.assertEq(address(portal).balance, portalBefore - ws[0].value);
        vm.assertEq(portal.totalWithdrawn(), ws[0].value);
    }

    /// @notice A proof for one batch's tree does not pay against another batch, even a finalized one.
    function test_Withdraw_ProofBoundToItsBatch() public {
        Withdrawal[] memory first = _withdrawals(2, 1 ether);
        uint64 batch1 = _finalizeWithTree(first);
        Withdrawal[] memory second = _withdrawalsFrom(2, 2, 1 ether);
        uint64 batch2 = _finalizeWithTree(second);
        bytes32[] memory leaves1 = WithdrawalTree.leavesOf(first);
        bytes32[] memory proof = WithdrawalTree.proof(leaves1, 0);

        bytes32 root2 = WithdrawalTree.rootOf(second);
        vm.expectRevert(
            abi.encodeWithSelector(Portal.InvalidWithdrawalProof.selector, WithdrawalTree.root(leaves1), root2)
        );
        portal.finalizeWithdrawal(batch2, first[0], 0, proof);
        portal.finalizeWithdrawal(batch1, first[0], 0, proof);
    }

    /// @notice For every tree size 1..8 and every leaf, the builder's proof pays exactly that leaf, the proof for
    ///         another index does not, and the tree's root is what Portal recomputes.
    function testFuzz_Withdraw_AnyTreeSizeAndIndex(uint256 sizeSeed, uint256 indexSeed, uint256 otherSeed) public {
        uint256 size = bound(sizeSeed, 1, 8);
        uint256 index = bound(indexSeed, 0, size - 1);
        uint256 other = bound(otherSeed, 0, 15);
        vm.assume(other != index);

        Withdrawal[] memory ws = _withdrawals(size, 1 ether);
        uint64 batch = _finalizeWithTree(ws);
        bytes32[] memory leaves = WithdrawalTree.leavesOf(ws);
        (bytes32 root, bytes32[] memory proof) = WithdrawalTree.rootAndProof(leaves, index);
        vm.assertEq(WithdrawalTree.fold(leaves[index], index, proof), root);
        vm.assertEq(rollup.withdrawalRoots(batch), root);

        // The right proof at the wrong index fails.
        vm.expectRevert(
            abi.encodeWithSelector(
                Portal.InvalidWithdrawalProof.selector, WithdrawalTree.fold(leaves[index], other, proof), root
            )
        );
        portal.finalizeWithdrawal(batch, ws[index], other, proof);

        uint256 before = ws[index].to.balance;
        portal.finalizeWithdrawal(batch, ws[index], index, proof);
        vm.assertEq(ws[index].to.balance, before + ws[index].value);
        vm.assertTrue(portal.withdrawalFinalized(leaves[index]));
        vm.assertEq(portal.totalWithdrawn(), ws[index].value);
    }

    /// @notice Every leaf of a tree pays, each once, and the total leaves the Portal with the rest of the deposits.
    function testFuzz_Withdraw_AllLeavesOfATree(uint256 sizeSeed) public {
        uint256 size = bound(sizeSeed, 1, 8);
        Withdrawal[] memory ws = _withdrawals(size, 1 ether);
        uint256 depositedBefore = portal.totalDeposited();
        uint64 batch = _finalizeWithTree(ws);
        bytes32[] memory leaves = WithdrawalTree.leavesOf(ws);
        uint256 total;
        for (uint256 i; i < size; ++i) {
            portal.finalizeWithdrawal(batch, ws[i], i, WithdrawalTree.proof(leaves, i));
            total += ws[i].value;
        }
        vm.assertEq(portal.totalWithdrawn(), total);
        vm.assertEq(address(portal).balance, portal.totalDeposited() - total);
        vm.assertGe(portal.totalDeposited(), depositedBefore);
    }

    /// @notice Batches of several chunks: the withdrawal in slot s of chunk c is leaf (c << 10) | s of the batch's
    ///         tree. For several layouts (withdrawals in the first, the last, or every chunk; empty chunks between;
    ///         the first and last slot), the root the Rollup records from the chunk roots equals the root of the
    ///         plain tree of all those leaves, and each withdrawal pays with its proof from that plain tree at its
    ///         index, and not at the same slot of a neighbouring chunk.
    function test_Withdraw_FromChunkedBatches() public {
        uint256[][] memory layouts = new uint256[][](5);
        uint256[5] memory chunkCounts = [uint256(1), 2, 3, 4, 4];
        layouts[0] = _list3(0, 1, 1023);
        layouts[1] = _list1(1024);
        layouts[2] = _list3(5, 1024 + 7, 2048 + 1023);
        layouts[3] = _list1(3 * 1024 + 512);
        layouts[4] = new uint256[](5);
        (layouts[4][0], layouts[4][1], layouts[4][2], layouts[4][3], layouts[4][4]) = (0, 1024, 2048, 3072, 3073);

        uint64 nextNonce;
        for (uint256 l; l < layouts.length; ++l) {
            uint256[] memory indices = layouts[l];
            Withdrawal[] memory ws = _withdrawalsFrom(nextNonce, indices.length, 1 ether);
            nextNonce += uint64(indices.length);
            (uint64 batch, bytes32[] memory flat) = _finalizeChunked(ws, indices, chunkCounts[l]);
            bytes32 root = WithdrawalTree.root(flat);
            vm.assertEq(rollup.withdrawalRoots(batch), root, "recorded root is not the plain tree's");

            for (uint256 i; i < ws.length; ++i) {
                uint256 index = indices[i];
                bytes32[] memory proof = WithdrawalTree.proof(flat, index);
                // The same slot of the next chunk over (or the previous one for the last chunk).
                uint256 neighbour = index ^ (uint256(1) << CHUNK_HEIGHT);
                vm.expectRevert(
                    abi.encodeWithSelector(
                        Portal.InvalidWithdrawalProof.selector, WithdrawalTree.fold(flat[index], neighbour, proof), root
                    )
                );
                portal.finalizeWithdrawal(batch, ws[i], neighbour, proof);

                uint256 before = ws[i].to.balance;
                portal.finalizeWithdrawal(batch, ws[i], index, proof);
                vm.assertEq(ws[i].to.balance, before + ws[i].value);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Tree builder self-checks (the builder is only useful if it follows the documented tree)
    // ------------------------------------------------------------------------------------------------------------

    function test_TreeBuilder_MatchesHandComputedRoots() public pure {
        bytes32[] memory zeros = WithdrawalTree.zeroHashes();
        vm.assertEq(zeros[0], bytes32(0));
        vm.assertEq(zeros[1], keccak256(abi.encodePacked(bytes32(0), bytes32(0))));

        // Empty tree: the all-zero subtree of height 32.
        vm.assertEq(WithdrawalTree.root(new bytes32[](0)), zeros[32]);

        // One leaf: it is the left child all the way up, against zero subtrees.
        bytes32[] memory one = new bytes32[](1);
        one[0] = keccak256("leaf 0");
        bytes32 node = one[0];
        for (uint256 h; h < 32; ++h) {
            node = keccak256(abi.encodePacked(node, zeros[h]));
        }
        vm.assertEq(WithdrawalTree.root(one), node);

        // Three leaves: ((l0, l1), (l2, 0)) then zero subtrees from height 2.
        bytes32[] memory three = new bytes32[](3);
        three[0] = keccak256("leaf 0");
        three[1] = keccak256("leaf 1");
        three[2] = keccak256("leaf 2");
        node = keccak256(
            abi.encodePacked(
                keccak256(abi.encodePacked(three[0], three[1])), keccak256(abi.encodePacked(three[2], bytes32(0)))
            )
        );
        for (uint256 h = 2; h < 32; ++h) {
            node = keccak256(abi.encodePacked(node, zeros[h]));
        }
        vm.assertEq(WithdrawalTree.root(three), node);

        // Leaf 2's proof: its zero neighbour, then the (l0, l1) node, then zero subtrees.
        bytes32[] memory proof = WithdrawalTree.proof(three, 2);
        vm.assertEq(proof.length, 32);
        vm.assertEq(proof[0], bytes32(0));
        vm.assertEq(proof[1], keccak256(abi.encodePacked(three[0], three[1])));
        for (uint256 h = 2; h < 32; ++h) {
            vm.assertEq(proof[h], zeros[h]);
        }
    }

    /// @notice The builder's chunked construction (subtree roots, then the tree above them; a proof inside the
    ///         subtree, then above it) agrees with the plain tree of the flattened leaves.
    function test_TreeBuilder_SubtreesMatchThePlainTree() public pure {
        bytes32[][] memory chunks = new bytes32[][](3);
        chunks[0] = new bytes32[](4);
        chunks[0][1] = keccak256("a");
        chunks[0][3] = keccak256("b");
        chunks[1] = new bytes32[](0);
        chunks[2] = new bytes32[](1);
        chunks[2][0] = keccak256("c");
        bytes32[] memory flat = WithdrawalTree.flatten(chunks, CHUNK_HEIGHT);
        vm.assertEq(flat.length, 2048 + 1);

        bytes32[] memory roots = new bytes32[](3);
        for (uint256 c; c < 3; ++c) {
            roots[c] = WithdrawalTree.subtreeRoot(chunks[c], CHUNK_HEIGHT);
        }
        bytes32 root = WithdrawalTree.root(flat);
        vm.assertEq(WithdrawalTree.rootOfSubtrees(roots, CHUNK_HEIGHT), root);
        vm.assertEq(roots[1], WithdrawalTree.zeroHashes()[CHUNK_HEIGHT]);

        uint256[3][3] memory positions = [[uint256(0), 1, 1], [uint256(0), 3, 3], [uint256(2), 0, 2048]];
        for (uint256 i; i < positions.length; ++i) {
            (uint256 c, uint256 slot, uint256 index) = (positions[i][0], positions[i][1], positions[i][2]);
            (bytes32 r, bytes32[] memory proof) = WithdrawalTree.rootAndProofInSubtrees(chunks, CHUNK_HEIGHT, c, slot);
            vm.assertEq(r, root);
            bytes32[] memory plain = WithdrawalTree.proof(flat, index);
            for (uint256 h; h < 32; ++h) {
                vm.assertEq(proof[h], plain[h]);
            }
            vm.assertEq(WithdrawalTree.fold(chunks[c][slot], index, proof), root);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------------------------

    function _list1(uint256 a) internal pure returns (uint256[] memory list) {
        list = new uint256[](1);
        list[0] = a;
    }

    function _list3(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory list) {
        list = new uint256[](3);
        (list[0], list[1], list[2]) = (a, b, c);
    }

    /// @notice `n` withdrawals with nonces 0..n-1 to distinct fresh EOAs, of values up to `maxValue`.
    function _withdrawals(uint256 n, uint256 maxValue) internal returns (Withdrawal[] memory) {
        return _withdrawalsFrom(0, n, maxValue);
    }

    function _withdrawalsFrom(uint64 firstNonce, uint256 n, uint256 maxValue)
        internal
        returns (Withdrawal[] memory ws)
    {
        ws = new Withdrawal[](n);
        for (uint64 i; i < n; ++i) {
            uint64 nonce = firstNonce + i;
            ws[i] = Withdrawal({
                nonce: nonce,
                from: makeAddr(string.concat("l2 sender ", vm.toString(nonce))),
                to: makeAddr(string.concat("l1 recipient ", vm.toString(nonce))),
                value: maxValue / (1 + nonce % 3)
            });
        }
    }

    /// @notice Funds the Portal with a deposit covering `ws`, then commits and finalizes a batch of one chunk
    ///         holding `ws` in slots 0..n-1, so the batch's withdrawal root is the tree of `ws` (the accept-all
    ///         verifier stands in for the proof).
    function _finalizeWithTree(Withdrawal[] memory ws) internal returns (uint64 index) {
        uint256 total;
        for (uint256 i; i < ws.length; ++i) {
            total += ws[i].value;
        }
        _deposit(alice, alice, total + 1);
        (index,) = _commit(abi.encode("batch with withdrawals", ws.length), portal.depositCount());
        bytes32 chunkRoot = WithdrawalTree.subtreeRoot(WithdrawalTree.leavesOf(ws), CHUNK_HEIGHT);
        _finalize(index, _stateRoot(index), _single(chunkRoot));
        vm.assertEq(rollup.withdrawalRoots(index), WithdrawalTree.rootOf(ws));
    }

    /// @notice Commits and finalizes a batch of `chunkCount` chunks holding `ws`, withdrawal i in the leaf
    ///         `leafIndices[i]` = (chunk << 10) | slot, after funding the Portal for them. Returns the flat leaf array
    ///         of the batch's tree (every leaf up to the last chunk's last withdrawal).
    function _finalizeChunked(Withdrawal[] memory ws, uint256[] memory leafIndices, uint256 chunkCount)
        internal
        returns (uint64 index, bytes32[] memory flat)
    {
        bytes32[][] memory chunkLeaves = new bytes32[][](chunkCount);
        for (uint256 c; c < chunkCount; ++c) {
            uint256 used;
            for (uint256 i; i < ws.length; ++i) {
                if (leafIndices[i] >> CHUNK_HEIGHT == c) used = _max(used, (leafIndices[i] & 1023) + 1);
            }
            chunkLeaves[c] = new bytes32[](used);
        }
        uint256 total;
        for (uint256 i; i < ws.length; ++i) {
            chunkLeaves[leafIndices[i] >> CHUNK_HEIGHT][leafIndices[i] & 1023] = WithdrawalTree.leafHash(ws[i]);
            total += ws[i].value;
        }
        bytes32[] memory chunkRoots = new bytes32[](chunkCount);
        bytes[] memory chunks = new bytes[](chunkCount);
        for (uint256 c; c < chunkCount; ++c) {
            chunkRoots[c] = WithdrawalTree.subtreeRoot(chunkLeaves[c], CHUNK_HEIGHT);
            chunks[c] = abi.encode("chunk", c, chunkLeaves[c]);
        }
        _deposit(alice, alice, total);
        (index,) = _commitChunks(chunks, portal.depositCount());
        _finalize(index, _stateRoot(index), chunkRoots);
        flat = WithdrawalTree.flatten(chunkLeaves, CHUNK_HEIGHT);
    }

    function _max(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a : b;
    }
}
