//! What committing transfers as chunk records costs on L1: bytes and calldata gas per record.
//!
//! `cargo bench -p zkr-node --bench batch_chunks` prints one table. Blocks of signed transfers from distinct senders
//! (EIP-1559 or legacy, values and recipients varied) are turned into records as the batcher does
//! (`zkr_node::batcher::block_records`) and encoded as chunks; calldata gas is 16 per non-zero and 4 per zero byte
//! (EIP-2028), for the chunk bytes only (not the ABI framing of `commitBatch`'s `bytes[]`, 64 bytes per chunk).

#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use alloy::{
    consensus::{Header, SignableTransaction, TxEip1559, TxEnvelope, TxLegacy},
    network::TxSignerSync,
    primitives::{Address, B256, TxKind, U256},
    signers::local::PrivateKeySigner,
};
use zkr_node::{Block, BlockTx, batcher::block_records};

/// A block of `txs` transfers, `legacy` or EIP-1559, each from its own key.
fn block(txs: usize, legacy: bool) -> Block {
    let chain_id = zkr_node::ChainSpec::dev().chain_id;
    let transactions = (0..txs)
        .map(|i| {
            let mut secret = [0x11u8; 32];
            secret[24..].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            let key = PrivateKeySigner::from_bytes(&secret.into()).unwrap();
            let to = TxKind::Call(Address::with_last_byte((i % 97) as u8));
            let value = U256::from(10u64.pow(15) * (1 + i as u64 % 5));
            let envelope = if legacy {
                let mut tx = TxLegacy {
                    chain_id: Some(chain_id),
                    nonce: i as u64 % 7,
                    gas_price: 2_000_000_000,
                    gas_limit: 21_000,
                    to,
                    value,
                    ..Default::default()
                };
                let signature = key.sign_transaction_sync(&mut tx).unwrap();
                TxEnvelope::from(tx.into_signed(signature))
            } else {
                let mut tx = TxEip1559 {
                    chain_id,
                    nonce: i as u64 % 7,
                    gas_limit: 21_000,
                    max_fee_per_gas: 2_000_000_000,
                    max_priority_fee_per_gas: 1_000_000,
                    to,
                    value,
                    ..Default::default()
                };
                let signature = key.sign_transaction_sync(&mut tx).unwrap();
                TxEnvelope::from(tx.into_signed(signature))
            };
            BlockTx { envelope, sender: key.address() }
        })
        .collect();
    let header =
        Header { number: 1_234, timestamp: 1_700_000_000, base_fee_per_gas: Some(1_000_000_000), ..Default::default() };
    Block {
        header,
        hash: B256::ZERO,
        transactions,
        receipts: Vec::new(),
        deposits: Vec::new(),
        deposit_count: 0,
        deposit_hash: B256::ZERO,
        withdrawals: Vec::new(),
        withdrawal_count: 0,
        withdrawal_root: B256::ZERO,
    }
}

fn calldata_gas(bytes: &[u8]) -> u64 {
    bytes.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum()
}

fn main() {
    println!("| transfers | type | bytes | bytes per transfer | calldata gas | gas per transfer | encode |");
    println!("|---|---|---|---|---|---|---|");
    for txs in [200, 2_000] {
        for legacy in [false, true] {
            let block = block(txs, legacy);
            let started = Instant::now();
            let records: Vec<_> = block_records(&block).unwrap().into_iter().map(|slot| slot.record).collect();
            let bytes = zkr_protocol::encode_chunk(&records);
            let elapsed = started.elapsed();
            let gas = calldata_gas(&bytes);
            println!(
                "| {txs} | {} | {} | {} | {gas} | {} | {:.1} ms |",
                if legacy { "legacy" } else { "EIP-1559" },
                bytes.len(),
                bytes.len() / txs,
                gas / txs as u64,
                elapsed.as_secs_f64() * 1e3
            );
        }
    }
}
