//! Batches as chunks of records: blocks of real signed transactions sealed and decoded back, malformed chunks refused,
//! and blocks capped so that each fits a batch.

use std::time::Duration;

use alloy::{
    consensus::{TxEip2930, TxLegacy},
    primitives::{Address, Bytes, TxKind, U256},
};
use proptest::prelude::*;
use zkr_node::{
    Deposit, Node,
    batcher::{BatchDecodeError, BatchLimits, Sealer, decode_batch, seal_batches, transfer_envelope},
};
use zkr_protocol::hashes::deposit_queue_hash;
use zkr_protocol::{RECORD_BYTES, RecordError};

use crate::*;

/// `count` deposits from L1 to `to` continuing `node`'s hash chain, 1 gwei each.
fn deposits(node: &Node, count: u64, to: Address) -> Vec<Deposit> {
    let head = node.head();
    let mut hash = head.deposit_hash;
    (head.deposit_count..head.deposit_count + count)
        .map(|nonce| {
            let (from, value) = (Address::repeat_byte(0x1a), U256::from(GWEI));
            hash = deposit_queue_hash(hash, nonce, from, to, value);
            Deposit { nonce, from, to, value, queue_hash: hash }
        })
        .collect()
}

/// A node whose blocks 1..=3 hold deposits and the three transaction types, sealed into batches of `limits`.
fn sealed_node(limits: BatchLimits) -> (tempfile::TempDir, Node) {
    let (alice, bob) = (key(1), key(2));
    let mut spec = spec_with(&[alice.address(), bob.address()]);
    spec.max_block_records = limits.max_records();
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(spec.clone(), dir.path()).unwrap();
    let chain_id = spec.chain_id;
    let to = Address::repeat_byte(0x77);

    node.queue_deposits(deposits(&node, 2, bob.address()));
    node.submit(&sign_1559(&alice, transfer(chain_id, 0, to, 1))).unwrap();
    let legacy = TxLegacy {
        chain_id: Some(chain_id),
        nonce: 0,
        gas_price: 2 * GWEI,
        gas_limit: 21_000,
        to: TxKind::Call(to),
        value: U256::from(2),
        input: Bytes::new(),
    };
    node.submit(&sign_legacy(&bob, legacy)).unwrap();
    node.produce_block(100).unwrap();

    let eip2930 = TxEip2930 {
        chain_id,
        nonce: 1,
        gas_price: 3 * GWEI,
        gas_limit: 22_000,
        to: TxKind::Call(zkr_node::WITHDRAWAL_ADDRESS),
        value: U256::from(3),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    node.submit(&sign_2930(&bob, eip2930)).unwrap();
    node.produce_block(101).unwrap();

    node.queue_deposits(deposits(&node, 1, to));
    node.produce_block(102).unwrap();
    seal_batches(&node, limits, Duration::ZERO, u64::MAX).unwrap();
    (dir, node)
}

#[test]
fn sealed_chunks_decode_back_to_the_blocks() {
    let limits = BatchLimits { chunk_slots: 2, chunks_per_batch: 4 };
    let (_dir, node) = sealed_node(limits);
    let batch = node.batch(1).unwrap().unwrap();
    assert_eq!((batch.first_block, batch.last_block), (1, 3));
    // 4 + 1 + 1 records in chunks of two: the first block spans two chunks.
    assert_eq!(batch.chunks.iter().map(|c| c.len() / RECORD_BYTES).collect::<Vec<_>>(), vec![2, 2, 2]);
    assert_eq!(batch.data_hash, zkr_protocol::hashes::batch_data_hash_from_chunk_hashes(&batch.chunk_data_hashes()));
    assert_eq!((batch.deposit_start, batch.deposit_end), (0, 3));
    assert_eq!(batch.deposit_hash_after, node.head().deposit_hash);
    assert_eq!(batch.prev_state_root, node.block_by_number(0).unwrap().unwrap().header.state_root);

    let decoded = decode_batch(&batch.chunks).unwrap();
    assert_eq!(decoded.len(), 3);
    for block_records in decoded {
        let block = node.block_by_number(block_records.number).unwrap().unwrap();
        assert_eq!(block_records.timestamp, block.header.timestamp);
        if !block.transactions.is_empty() {
            assert_eq!(block_records.base_fee, block.header.base_fee_per_gas);
        }
        let deposits: Vec<_> =
            block_records.deposits.iter().map(|d| (d.index, d.from, d.to, U256::from(d.value))).collect();
        let expected: Vec<_> = block.deposits.iter().map(|d| (d.nonce, d.from, d.to, d.value)).collect();
        assert_eq!(deposits, expected);
        let rebuilt: Vec<_> =
            block_records.transfers.iter().map(|t| transfer_envelope(t, node.spec().chain_id)).collect();
        let original: Vec<_> = block.transactions.iter().map(|tx| tx.envelope.clone()).collect();
        assert_eq!(rebuilt, original, "block {}", block.number());
        for (record, tx) in block_records.transfers.iter().zip(&block.transactions) {
            assert_eq!(record.from, tx.sender);
        }
    }
}

#[test]
fn malformed_chunks_are_refused_with_a_reason() {
    let (_dir, node) = sealed_node(BatchLimits { chunk_slots: 2, chunks_per_batch: 4 });
    let chunks: Vec<Vec<u8>> = node.batch(1).unwrap().unwrap().chunks.iter().map(|c| c.to_vec()).collect();

    let mut truncated = chunks.clone();
    truncated[1].truncate(RECORD_BYTES + 10);
    let err = decode_batch(&truncated).unwrap_err();
    assert_eq!(err, BatchDecodeError::Chunk { chunk: 1, source: RecordError::Length(RECORD_BYTES + 10) });
    assert_eq!(
        err.to_string(),
        format!("chunk 1: chunk length {} is not a multiple of {RECORD_BYTES}", RECORD_BYTES + 10)
    );

    let mut bad_kind = chunks.clone();
    bad_kind[2][RECORD_BYTES] = 7;
    assert_eq!(decode_batch(&bad_kind), Err(BatchDecodeError::Chunk { chunk: 2, source: RecordError::Kind(7) }));

    let mut oversized = chunks.clone();
    oversized[0][zkr_protocol::record::offset::VALUE] = 1; // a value beyond 128 bits
    assert_eq!(decode_batch(&oversized), Err(BatchDecodeError::Chunk { chunk: 0, source: RecordError::ValueTooLarge }));

    let swapped = vec![chunks[2].clone(), chunks[0].clone()];
    let err = decode_batch(&swapped).unwrap_err();
    assert!(matches!(err, BatchDecodeError::Order { chunk: 1, slot: 0, .. }), "{err}");
    assert_eq!(err.to_string(), "chunk 1, slot 0: block 1 after block 3");
}

#[test]
fn blocks_never_outgrow_a_batch() {
    let senders: Vec<_> = (1..=12u8).map(key).collect();
    let spec = spec_with(&senders.iter().map(|s| s.address()).collect::<Vec<_>>());
    assert_eq!(
        (spec.max_block_records, spec.max_block_deposits, spec.max_block_withdrawals),
        (TEST_LIMITS.max_records(), zkr_protocol::chunk::max_chunk_deposits(TEST_LIMITS.chunk_slots), 1)
    );
    let (cap, deposit_cap) = (spec.max_block_records, spec.max_block_deposits);
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(spec.clone(), dir.path()).unwrap();
    node.queue_deposits(deposits(&node, 2 * deposit_cap as u64 + 1, Address::repeat_byte(0x55)));
    for sender in &senders {
        node.submit(&sign_1559(sender, transfer(spec.chain_id, 0, Address::repeat_byte(0x66), 1))).unwrap();
    }
    // Deposits come first, at most a chunk's worth a block; transactions fill the room left and wait in the pool.
    let first = node.produce_block(1).unwrap();
    assert_eq!((first.deposits.len(), first.transactions.len()), (deposit_cap, cap - deposit_cap));
    let left = senders.len() - (cap - deposit_cap);
    let second = node.produce_block(2).unwrap();
    assert_eq!((second.deposits.len(), second.transactions.len()), (deposit_cap, left));
    let third = node.produce_block(3).unwrap();
    assert_eq!((third.deposits.len(), third.transactions.len()), (1, 0));
    assert_eq!(node.pool_size(), 0);

    // At most a chunk's withdrawals a block: the second one waits, and so does its sender's next transaction, which
    // would otherwise find a nonce gap and be dropped.
    let withdraw = |sender, nonce| sign_1559(sender, transfer(spec.chain_id, nonce, zkr_node::WITHDRAWAL_ADDRESS, 1));
    node.submit(&withdraw(&senders[1], 1)).unwrap();
    node.submit(&withdraw(&senders[0], 1)).unwrap();
    node.submit(&sign_1559(&senders[0], transfer(spec.chain_id, 2, Address::repeat_byte(0x66), 1))).unwrap();
    let fourth = node.produce_block(4).unwrap();
    assert_eq!((fourth.transactions.len(), fourth.withdrawals.len()), (1, 1));
    assert_eq!(fourth.transactions[0].sender, senders[1].address());
    assert_eq!(node.pool_size(), 2);
    let fifth = node.produce_block(5).unwrap();
    assert_eq!((fifth.transactions.len(), fifth.withdrawals.len()), (2, 1));
    assert_eq!(node.pool_size(), 0);

    // A shape smaller than the node's blocks cannot seal them, nor can a shape the protocol has no circuit for.
    let small = BatchLimits { chunk_slots: 2, chunks_per_batch: 2 };
    let err = seal_batches(&node, small, Duration::ZERO, 10).unwrap_err();
    assert_eq!(err.to_string(), format!("block 1 holds {cap} records, which take 4 chunks of a batch of at most 2"));
    let odd = BatchLimits { chunk_slots: 0, chunks_per_batch: 2 };
    assert!(matches!(seal_batches(&node, odd, Duration::ZERO, 10), Err(zkr_node::batcher::BatchError::Limits(_))));
    assert_eq!(node.store().last_batch_index().unwrap(), None);

    // Each block fits a batch of the tests' shape; a batch is sealed once its last chunk is full: block 1 alone, then
    // blocks 2 to 4 (its deposit and its withdrawal fit the second chunk, which holds neither yet).
    let limits = TEST_LIMITS;
    let batches = seal_batches(&node, limits, Duration::from_secs(3600), 5).unwrap();
    let spans: Vec<_> = batches.iter().map(|b| (b.first_block, b.last_block, b.record_count())).collect();
    assert_eq!(spans, vec![(1, 1, cap), (2, 4, cap)]);
    assert!(batches.iter().all(|b| b.chunks.len() == limits.chunks_per_batch));
    // The fifth block is not full and not old yet: it waits; at its age limit it is sealed.
    assert!(seal_batches(&node, limits, Duration::from_secs(3600), 6).unwrap().is_empty());
    let late = seal_batches(&node, limits, Duration::from_secs(3600), 5 + 3600).unwrap();
    assert_eq!(late.iter().map(|b| (b.index, b.first_block, b.last_block)).collect::<Vec<_>>(), vec![(3, 5, 5)]);
}

#[test]
fn invalid_transactions_are_dropped_and_empty_blocks_seal_no_batch() {
    let alice = key(1);
    let mut spec = spec_with(&[alice.address()]);
    spec.max_block_records = 1;
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(spec.clone(), dir.path()).unwrap();
    let limits = BatchLimits { chunk_slots: 2, chunks_per_batch: 1 };
    let mut sealer = Sealer::new(limits, Duration::from_secs(10));
    // An idle chain: empty blocks, however old, make no batch (committing it would cost L1 gas for nothing).
    for timestamp in 1..=5 {
        node.produce_block(timestamp).unwrap();
    }
    assert!(sealer.seal(&node, 1_000).unwrap().is_empty());

    // Two transactions spending all but a little, one block each: the second is invalid once the first executed.
    let most = 10 * ETH - 21_000 * 10 * GWEI - 1;
    let first = node.submit(&sign_1559(&alice, transfer(spec.chain_id, 0, Address::repeat_byte(1), most))).unwrap();
    node.submit(&sign_1559(&alice, transfer(spec.chain_id, 1, Address::repeat_byte(1), 1))).unwrap();
    let block = node.produce_block(100).unwrap();
    assert_eq!(block.transactions.len(), 1);
    assert_eq!(*block.transactions[0].envelope.tx_hash(), first);
    // Only the invalid one is left: it is dropped, and the block is empty.
    let empty = node.produce_block(101).unwrap();
    assert!(empty.transactions.is_empty());
    assert_eq!(node.pool_size(), 0);
    assert_eq!(node.head().number(), 7);

    // The age counts from the first block with a record (block 6, at 100), not from the idle blocks before it.
    assert!(sealer.seal(&node, 105).unwrap().is_empty());
    let batches = sealer.seal(&node, 110).unwrap();
    assert_eq!(
        batches.iter().map(|b| (b.first_block, b.last_block, b.record_count())).collect::<Vec<_>>(),
        vec![(1, 7, 1)]
    );
    // A fresh sealer (a restarted batcher) agrees with the one that read the blocks as they came.
    for timestamp in 200..=202 {
        node.produce_block(timestamp).unwrap();
    }
    assert!(seal_batches(&node, limits, Duration::from_secs(10), 10_000).unwrap().is_empty());
    assert!(sealer.seal(&node, 10_000).unwrap().is_empty());
    assert_eq!(node.store().last_batch_index().unwrap(), Some(1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Whatever arrives from L1, decoding returns an error or blocks, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..3 * RECORD_BYTES), 0..4)) {
        let _ = decode_batch(&chunks);
    }
}
