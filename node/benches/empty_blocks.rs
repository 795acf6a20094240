//! What the sequencer's steady blocks cost while the chain is idle: production time and disk per empty block, and
//! what they add to batches (bytes committed on L1) and to the batcher's rounds.
//!
//! `cargo bench -p zkr-node --bench empty_blocks [-- BLOCKS]` (default 20,000 empty blocks) prints one table. The
//! batcher rows compare the incremental [`Sealer`] (what the batcher runs: it reads each block once) with a fresh
//! `seal_batches` per round (how the batcher worked before: every round read every block since the last batch), over
//! the same idle stretch, and the ratio of the two.

#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, TxKind, U256},
    signers::local::PrivateKeySigner,
};
use zkr_node::{
    ChainSpec, DB_FILE, Node,
    batcher::{BatchLimits, Sealer, seal_batches},
};

const ETH: u128 = 1_000_000_000_000_000_000;

fn transfer(signer: &PrivateKeySigner, chain_id: u64) -> Vec<u8> {
    let mut tx = TxEip1559 {
        chain_id,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(Address::repeat_byte(0x42)),
        value: U256::from(1),
        ..Default::default()
    };
    let signature = signer.sign_transaction_sync(&mut tx).unwrap();
    TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
}

/// A node with `empty` empty blocks, then one block holding one transfer; returns the node, its directory and how
/// long the empty blocks took to produce.
fn chain(empty: u64) -> (Node, tempfile::TempDir, Duration) {
    let signer = PrivateKeySigner::from_bytes(&[7u8; 32].into()).unwrap();
    let mut spec = ChainSpec::dev();
    spec.genesis_alloc = vec![(signer.address(), U256::from(ETH))];
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(spec.clone(), dir.path()).unwrap();
    let started = Instant::now();
    for number in 0..empty {
        node.produce_block(number / 4).unwrap();
    }
    let elapsed = started.elapsed();
    node.submit(&transfer(&signer, spec.chain_id)).unwrap();
    assert_eq!(node.produce_block(empty / 4 + 1).unwrap().transactions.len(), 1);
    (node, dir, elapsed)
}

fn db_bytes(dir: &tempfile::TempDir) -> u64 {
    std::fs::metadata(dir.path().join(DB_FILE)).unwrap().len()
}

fn main() {
    let blocks: u64 = std::env::args().nth(1).and_then(|arg| arg.parse().ok()).unwrap_or(20_000);
    let limits = BatchLimits::default();
    let max_age = Duration::from_secs(60);

    let (baseline, baseline_dir, _) = chain(0);
    let (idle, idle_dir, produce) = chain(blocks);
    let per_block_us = produce.as_secs_f64() * 1e6 / blocks as f64;
    let disk_per_block = (db_bytes(&idle_dir) - db_bytes(&baseline_dir)) as f64 / blocks as f64;

    // The batch that follows the idle stretch: the same records, so the same bytes and the same commitBatch calldata.
    let sealed = |node: &Node| {
        let batches = seal_batches(node, limits, max_age, u64::MAX).unwrap();
        assert_eq!(batches.len(), 1);
        let bytes: usize = batches[0].chunks.iter().map(|chunk| chunk.len()).sum();
        (bytes, batches[0].last_block - batches[0].first_block + 1)
    };
    let (baseline_bytes, baseline_blocks) = sealed(&baseline);
    let (idle_bytes, idle_blocks) = sealed(&idle);
    assert_eq!(baseline_bytes, idle_bytes);

    // Batcher rounds over an idle stretch that seals nothing: `rounds` rounds once the stretch exists.
    let (fresh, _fresh_dir, _) = chain(blocks);
    let rounds = 20u32;
    let now = 0; // nothing is old: every round finds no batch to seal, as on an idle chain between records
    let mut sealer = Sealer::new(limits, max_age);
    let started = Instant::now();
    assert!(sealer.seal(&fresh, now).unwrap().is_empty());
    let first_round = started.elapsed();
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(sealer.seal(&fresh, now).unwrap().is_empty());
    }
    let incremental = started.elapsed() / rounds;
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(seal_batches(&fresh, limits, max_age, now).unwrap().is_empty());
    }
    let rescan = started.elapsed() / rounds;

    let per_day = 86_400_000.0 / 250.0;
    println!("empty blocks: {blocks} produced on a fresh node (release build), then one transfer\n");
    println!("| measure | value |");
    println!("|---|---:|");
    println!("| Node::produce_block, empty | {per_block_us:.0} µs/block |");
    println!("| database growth per empty block | {disk_per_block:.0} bytes |");
    println!(
        "| database growth per day at 250 ms blocks ({per_day:.0} blocks) | {:.0} MB |",
        disk_per_block * per_day / 1e6
    );
    println!(
        "| batch after the idle stretch: blocks, committed bytes | {idle_blocks} blocks, {idle_bytes} bytes (without the \
         stretch: {baseline_blocks} block, {baseline_bytes} bytes) |"
    );
    println!("| batches sealed (L1 commits, proofs) by the idle stretch alone | 0 |");
    println!(
        "| batcher round, first read of the {blocks} blocks (Sealer) | {:.1} ms |",
        first_round.as_secs_f64() * 1e3
    );
    println!(
        "| batcher round afterwards, Sealer (reads new blocks only) | {:.3} ms |",
        incremental.as_secs_f64() * 1e3
    );
    println!(
        "| batcher round afterwards, seal_batches (re-reads the stretch: the previous batcher) | {:.1} ms |",
        rescan.as_secs_f64() * 1e3
    );
    println!("| Sealer ÷ re-read | {:.4}x |", incremental.as_secs_f64() / rescan.as_secs_f64().max(f64::MIN_POSITIVE));
}
