//! Which codec the batcher should use: zstd against brotli on batches of signed transfers, as the node produces them.
//!
//! `cargo bench -p zkr-node --bench batch_codec` prints one table: bytes before and after, the ratio, the L1 calldata
//! gas of the result (16 per non-zero byte, 4 per zero byte) and compression and decompression times.

#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    network::TxSignerSync,
    primitives::{Address, TxKind, U256},
    signers::local::PrivateKeySigner,
};
use zkr_node::batcher::{BatchBlock, BatchPayload, Codec};

fn batch(senders: usize, txs: usize) -> BatchPayload {
    // One distinct key per sender: repeated keys would repeat whole transactions and flatter the compression.
    let keys: Vec<PrivateKeySigner> = (1..=senders as u64)
        .map(|i| {
            let mut secret = [0x11u8; 32];
            secret[24..].copy_from_slice(&i.to_be_bytes());
            PrivateKeySigner::from_bytes(&secret.into()).unwrap()
        })
        .collect();
    let chain_id = zkr_node::ChainSpec::dev().chain_id;
    let mut nonces = vec![0u64; senders];
    let per_block = 200;
    let blocks = (0..txs.div_ceil(per_block))
        .map(|b| BatchBlock {
            timestamp: 1_700_000_000 + b as u64,
            base_fee: 1_000_000_000,
            deposits: 0,
            transactions: (0..per_block.min(txs - b * per_block))
                .map(|i| {
                    let s = (b * per_block + i) * 7 % senders;
                    let mut tx = TxEip1559 {
                        chain_id,
                        nonce: nonces[s],
                        gas_limit: 21_000,
                        max_fee_per_gas: 2_000_000_000,
                        max_priority_fee_per_gas: 1_000_000,
                        to: TxKind::Call(Address::with_last_byte((i % 97) as u8)),
                        value: U256::from(10u64.pow(15) * (1 + i as u64 % 5)),
                        ..Default::default()
                    };
                    nonces[s] += 1;
                    let signature = keys[s].sign_transaction_sync(&mut tx).unwrap();
                    TxEnvelope::from(tx.into_signed(signature))
                })
                .collect(),
        })
        .collect();
    BatchPayload { first_block: 1, blocks }
}

fn calldata_gas(bytes: &[u8]) -> u64 {
    bytes.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum()
}

fn main() {
    println!("| transfers | codec | bytes | ratio | calldata gas | gas per transfer | compress | decompress |");
    println!("|---|---|---|---|---|---|---|---|");
    for (senders, txs) in [(50, 200), (500, 2_000), (2_000, 10_000)] {
        let payload = batch(senders, txs);
        let raw = payload.encode(Codec::Raw).len();
        for codec in [Codec::Raw, Codec::Zstd, Codec::Brotli] {
            let started = Instant::now();
            let data = payload.encode(codec);
            let compress = started.elapsed();
            let started = Instant::now();
            let decoded = BatchPayload::decode(&data).unwrap();
            let decompress = started.elapsed();
            assert_eq!(decoded, payload);
            let gas = calldata_gas(&data);
            println!(
                "| {txs} | {codec:?} | {} | {:.2} | {gas} | {:.0} | {:.1} ms | {:.1} ms |",
                data.len(),
                raw as f64 / data.len() as f64,
                gas as f64 / txs as f64,
                compress.as_secs_f64() * 1e3,
                decompress.as_secs_f64() * 1e3,
            );
        }
    }
}
