//! The differential test of the node against the proof's rules: blocks executed by the node (revm over the account
//! tree) are sealed into batches, and replaying each batch's chunks with `zkr_protocol::build_chunk` (the native
//! model of the chunk circuit) from the genesis tree must end in exactly the node's state root, deposit hash chain
//! value and withdrawal root, batch after batch.

use std::time::Duration;

use alloy::{
    consensus::{TxEip1559, TxEip2930, TxLegacy, transaction::SignerRecoverable},
    primitives::{Address, B256, Bytes, TxKind, U256, keccak256},
    signers::local::PrivateKeySigner,
};
use zkr_node::{
    ChainSpec, Deposit, Node, WITHDRAWAL_ADDRESS,
    batcher::{BatchLimits, BatchRecord, seal_batches, transfer_envelope},
};
use zkr_protocol::hashes::{deposit_queue_hash, withdrawal_root_from_proof};
use zkr_protocol::{Record, batch_withdrawal_root, build_chunk, decode_chunk};
use zkr_state::field::fr_to_b256;

use crate::*;

/// The three transaction types the node admits, as the chunk records carry them.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Legacy,
    AccessList,
    Dynamic,
}

/// A signed transfer of `value` to `to`: 1559 with a 10 gwei cap and a 2 gwei tip, or a 3 gwei gas price.
fn signed(signer: &PrivateKeySigner, kind: Kind, nonce: u64, to: Address, value: u128, gas_limit: u64) -> Bytes {
    let chain_id = ChainSpec::dev().chain_id;
    let (to, value) = (TxKind::Call(to), U256::from(value));
    match kind {
        Kind::Legacy => sign_legacy(
            signer,
            TxLegacy {
                chain_id: Some(chain_id),
                nonce,
                gas_price: 3 * GWEI,
                gas_limit,
                to,
                value,
                input: Bytes::new(),
            },
        ),
        Kind::AccessList => sign_2930(
            signer,
            TxEip2930 {
                chain_id,
                nonce,
                gas_price: 3 * GWEI,
                gas_limit,
                to,
                value,
                access_list: Default::default(),
                input: Bytes::new(),
            },
        ),
        Kind::Dynamic => sign_1559(
            signer,
            TxEip1559 {
                chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas: 10 * GWEI,
                max_priority_fee_per_gas: 2 * GWEI,
                to,
                value,
                ..Default::default()
            },
        ),
    }
}

/// Deposits continuing the Portal's hash chain from `head`'s.
fn deposits(node: &Node, list: &[(Address, Address, u128)]) -> Vec<Deposit> {
    let head = node.head();
    let (mut nonce, mut hash) = (head.deposit_count, head.deposit_hash);
    list.iter()
        .map(|(from, to, value)| {
            hash = deposit_queue_hash(hash, nonce, *from, *to, U256::from(*value));
            let deposit = Deposit { nonce, from: *from, to: *to, value: U256::from(*value), queue_hash: hash };
            nonce += 1;
            deposit
        })
        .collect()
}

/// Submits `txs`, queues `incoming`, and produces one block that must hold all of them.
fn block(node: &Node, txs: &[Bytes], incoming: &[(Address, Address, u128)], timestamp: u64) {
    node.queue_deposits(deposits(node, incoming));
    for raw in txs {
        node.submit(raw).unwrap();
    }
    let block = node.produce_block(timestamp).unwrap();
    assert_eq!(
        (block.transactions.len(), block.deposits.len()),
        (txs.len(), incoming.len()),
        "block {}",
        block.number()
    );
    assert!(block.receipts.iter().all(|r| r.status()), "every transfer succeeds");
}

/// Replays every batch of the node on the genesis tree, chunk after chunk, and checks each batch's ends and the final
/// state against the node's. Returns the batches.
fn replay(node: &Node, spec: &ChainSpec, limits: BatchLimits) -> Vec<BatchRecord> {
    let batches = seal_batches(node, limits, Duration::ZERO, u64::MAX).unwrap();
    assert!(!batches.is_empty());
    let mut tree = spec.genesis_state().unwrap();
    let mut deposit_hash = B256::ZERO;
    let mut withdrawals = 0u64;
    for (position, batch) in batches.iter().enumerate() {
        assert_eq!(batch.index, position as u64 + 1);
        assert!(batch.chunks.len() <= limits.chunks_per_batch, "batch {}", batch.index);
        assert_eq!(batch.prev_state_root, fr_to_b256(&tree.root().unwrap()), "batch {}", batch.index);
        assert_eq!(batch.deposit_hash_before, deposit_hash, "batch {}", batch.index);
        let mut chunk_roots = Vec::new();
        for (c, chunk) in batch.chunks.iter().enumerate() {
            let records = decode_chunk(chunk).unwrap();
            assert!(records.len() <= batch.chunk_slots);
            let before = fr_to_b256(&tree.root().unwrap());
            let leaves_before = tree.len() as u64;
            let witness = build_chunk(&mut tree, batch.chunk_slots, spec.fee_recipient, deposit_hash, &records)
                .unwrap_or_else(|err| panic!("batch {} chunk {c}: {err}", batch.index));
            let public = witness.public;
            assert_eq!(public.prev_state_root, before);
            // New accounts took the next free leaves: leaf 0 held the count before the chunk and holds it after.
            assert_eq!(witness.leaf_count.old.nonce, leaves_before);
            assert_eq!(tree.get(&Address::ZERO).unwrap().nonce, tree.len() as u64);
            assert_eq!(public.data_hash, keccak256(chunk));
            assert_eq!(public.deposit_hash_before, deposit_hash);
            deposit_hash = public.deposit_hash_after;
            chunk_roots.push(public.withdrawal_root);

            // Every transfer record is the signed transaction the node executed, rebuilt from L1 data alone.
            for record in &records {
                let Record::Transfer(t) = record else { continue };
                let envelope = transfer_envelope(t, spec.chain_id);
                assert_eq!(envelope.recover_signer().unwrap(), t.from);
                let block = node.block_by_number(t.block).unwrap().unwrap();
                assert!(block.transactions.iter().any(|tx| tx.envelope == envelope), "block {}", t.block);
                withdrawals += u64::from(t.to == WITHDRAWAL_ADDRESS);
            }
        }
        // The chunk circuit's statements chain into exactly what the node recorded for the batch.
        assert_eq!(fr_to_b256(&tree.root().unwrap()), batch.new_state_root, "batch {}", batch.index);
        let last = node.block_by_number(batch.last_block).unwrap().unwrap();
        assert_eq!(batch.new_state_root, last.header.state_root);
        assert_eq!(deposit_hash, batch.deposit_hash_after, "batch {}", batch.index);
        assert_eq!(deposit_hash, last.deposit_hash);
        assert_eq!(chunk_roots, batch.chunk_withdrawal_roots(), "batch {}", batch.index);
        assert_eq!(batch_withdrawal_root(&chunk_roots), batch.withdrawal_root, "batch {}", batch.index);
    }
    // The whole tree, leaf by leaf (same accounts at the same indices, the same count in leaf 0), not only its root.
    assert_eq!(tree.leaves(), node.store().leaves().unwrap().as_slice());
    assert_eq!(node.account(&Address::ZERO).nonce, tree.len() as u64);
    assert_eq!(fr_to_b256(&tree.root().unwrap()), node.head().header.state_root);
    // The withdrawal counter in the state is the chain's withdrawal count.
    let head = node.head();
    assert_eq!(head.withdrawal_count, withdrawals);
    assert_eq!(node.account(&WITHDRAWAL_ADDRESS), zkr_state::Account { nonce: withdrawals, balance: U256::ZERO });
    batches
}

#[test]
fn replaying_the_chunks_gives_the_nodes_roots() {
    let (alice, bob, carol) = (key(0x11), key(0x12), key(0x13));
    let dave = key(0x14); // funded by a deposit only
    // Chunks of 8 records, of them at most 2 deposits and 2 withdrawals; blocks as large as a batch, with at most
    // one chunk's deposits and withdrawals.
    let limits = BatchLimits { chunk_slots: 8, chunks_per_batch: 2 };
    let mut spec = spec_with(&[alice.address(), bob.address(), carol.address()]);
    spec.fit_blocks_to(limits);
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(spec.clone(), dir.path()).unwrap();
    let l1 = Address::repeat_byte(0x1a);
    let (fresh, empty, fee) = (Address::repeat_byte(0xf1), Address::repeat_byte(0xe0), spec.fee_recipient);

    // Block 1 (six records): two deposits, one of them creating dave's account; an EIP-1559
    // transfer to a fresh address; a legacy one with a gas limit above what it uses; a zero-value transfer to a
    // fresh address (no account is created); a withdrawal.
    block(
        &node,
        &[
            signed(&alice, Kind::Dynamic, 0, fresh, ETH, 21_000),
            signed(&bob, Kind::Legacy, 0, alice.address(), ETH / 3, 30_000),
            signed(&carol, Kind::Dynamic, 0, empty, 0, 21_000),
            signed(&alice, Kind::Dynamic, 1, WITHDRAWAL_ADDRESS, 2 * ETH, 21_000),
        ],
        &[(l1, dave.address(), 3 * ETH), (l1, alice.address(), ETH / 7)],
        1_700_000_000,
    );
    assert_eq!(node.account(&empty), zkr_state::Account::default());
    // Block 2: EIP-2930 (empty access list) to the fee recipient, a legacy withdrawal, a self-transfer, dave spends
    // deposited funds on a fresh address, a deposit to the fee recipient.
    block(
        &node,
        &[
            signed(&carol, Kind::AccessList, 1, fee, ETH / 5, 21_000),
            signed(&bob, Kind::Legacy, 1, WITHDRAWAL_ADDRESS, ETH / 2, 21_000),
            signed(&bob, Kind::Dynamic, 2, bob.address(), ETH / 9, 21_000),
            signed(&dave, Kind::Dynamic, 0, Address::repeat_byte(0xf2), ETH, 25_000),
        ],
        &[(l1, fee, 11)],
        1_700_000_001,
    );
    // Block 3: seven records, two deposits and two withdrawals among them: after block 2 they would need a third
    // chunk (the second one reaches its deposit cap), so they start the next batch.
    block(
        &node,
        &[
            signed(&alice, Kind::Legacy, 2, WITHDRAWAL_ADDRESS, 1, 21_000),
            signed(&dave, Kind::AccessList, 1, WITHDRAWAL_ADDRESS, ETH / 4, 21_000),
            signed(&carol, Kind::Dynamic, 2, fresh, 5, 21_000),
            signed(&bob, Kind::Dynamic, 3, Address::repeat_byte(0xf3), 0, 21_000),
            signed(&alice, Kind::Dynamic, 3, dave.address(), 7, 21_000),
        ],
        &[(l1, Address::repeat_byte(0xf4), 1), (l1, bob.address(), 2)],
        1_700_000_002,
    );
    // Block 4: deposits only.
    block(&node, &[], &[(l1, Address::repeat_byte(0xf5), ETH)], 1_700_000_003);

    let batches = replay(&node, &spec, limits);
    // 6 + 5 | 7 + 1 records: block 2's deposit opens the second chunk (the first has its two), block 3 would need a
    // third; block 4's deposit opens the second chunk of batch 2.
    let shape: Vec<_> = batches.iter().map(|b| (b.first_block, b.last_block, b.record_count())).collect();
    assert_eq!(shape, vec![(1, 2, 11), (3, 4, 8)]);
    assert!(batches.iter().all(|b| b.chunks.len() == 2));

    // Withdrawals are numbered by the counter, in order, and each one's Portal proof is at its place among its chunk's
    // withdrawals.
    let mut numbers = Vec::new();
    for batch in &batches {
        for number in batch.first_block..=batch.last_block {
            for record in node.block_by_number(number).unwrap().unwrap().withdrawals {
                numbers.push(record.withdrawal.nonce);
                let leaf = record.withdrawal.leaf();
                let (index, proof) = batch.withdrawal_proof(leaf).unwrap();
                let (chunk, slot) = ((index >> 10) as usize, (index & 1023) as usize);
                assert_eq!(batch.chunk_withdrawals[chunk][slot], leaf);
                assert_eq!(withdrawal_root_from_proof(leaf, index, &proof), batch.withdrawal_root);
            }
        }
    }
    assert_eq!(numbers, (0..4).collect::<Vec<_>>());
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn replaying_random_blocks_gives_the_nodes_roots() {
    let senders: Vec<PrivateKeySigner> = (0x31..0x37).map(key).collect();
    let funded: Vec<Address> = senders.iter().map(|s| s.address()).collect();
    let mut spec = spec_with(&funded);
    let limits = BatchLimits { chunk_slots: 2, chunks_per_batch: 3 };
    spec.fit_blocks_to(limits);
    spec.max_block_records = 5;
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(spec.clone(), dir.path()).unwrap();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut nonces = vec![0u64; senders.len()];
    let recipients: Vec<Address> = (0..4u8)
        .map(|i| Address::repeat_byte(0xa0 + i))
        .chain(funded.iter().copied())
        .chain([WITHDRAWAL_ADDRESS, spec.fee_recipient])
        .collect();
    for number in 0..24u64 {
        let deposit_count = rng.below(spec.max_block_deposits as u64 + 1) as usize;
        let incoming: Vec<_> = (0..deposit_count)
            .map(|_| {
                // Deposits go anywhere but to the system addresses (the last two recipients).
                let to = recipients[rng.below(recipients.len() as u64 - 2) as usize];
                (Address::repeat_byte(0x1a), to, u128::from(rng.below(5)) * ETH / 10)
            })
            .collect();
        let mut txs = Vec::new();
        let mut used = Vec::new();
        let mut withdrawals = 0;
        while deposit_count + txs.len() < spec.max_block_records && rng.below(5) > 0 {
            let s = rng.below(senders.len() as u64) as usize;
            if used.contains(&s) && rng.below(2) == 0 {
                continue;
            }
            used.push(s);
            let mut to = recipients[rng.below(recipients.len() as u64) as usize];
            if to == WITHDRAWAL_ADDRESS && withdrawals == spec.max_block_withdrawals {
                to = recipients[0];
            }
            withdrawals += usize::from(to == WITHDRAWAL_ADDRESS);
            let mut value = u128::from(rng.below(4)) * ETH / 100;
            if to == WITHDRAWAL_ADDRESS {
                value += 1;
            }
            let kind = [Kind::Legacy, Kind::AccessList, Kind::Dynamic][rng.below(3) as usize];
            let gas_limit = 21_000 + 1_000 * rng.below(3);
            txs.push(signed(&senders[s], kind, nonces[s], to, value, gas_limit));
            nonces[s] += 1;
        }
        if txs.is_empty() && incoming.is_empty() {
            continue;
        }
        block(&node, &txs, &incoming, 1_700_000_000 + number);
    }
    let batches = replay(&node, &spec, limits);
    assert!(batches.len() > 5, "{} batches", batches.len());
    assert!(node.head().withdrawal_count > 0);
}
