//! Writes a small batch file for `zkr-prove batch`: a deposit and a withdrawal of a fresh dev chain, replayed from
//! genesis into chunk witnesses. `cargo run -p zkr-circuits --example batch_file -- <slots> <chunks> <out.json>`.
#![allow(missing_docs, clippy::unwrap_used)]

use alloy_primitives::{Address, B256};
use zkr_protocol::{DepositRecord, Genesis, Record, Replayer, TransferRecord, WITHDRAWAL_ADDRESS, encode_chunk};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let slots: usize = args.get(1).map_or(2, |s| s.parse().unwrap());
    let chunks: usize = args.get(2).map_or(1, |s| s.parse().unwrap());
    let out = args.get(3).map_or("batch.json", String::as_str);
    let alice = Address::repeat_byte(0xa1);
    let records = [
        Record::Deposit(DepositRecord {
            block: 1,
            timestamp: 1_700_000_000,
            index: 0,
            from: Address::repeat_byte(0x11),
            to: alice,
            value: 5_000_000_000_000_000_000,
        }),
        Record::Transfer(TransferRecord {
            block: 2,
            timestamp: 1_700_000_001,
            base_fee: 1_000_000_000,
            tx_type: 2,
            nonce: 0,
            from: alice,
            to: WITHDRAWAL_ADDRESS,
            value: 2_000_000_000_000_000_000,
            gas_limit: 21_000,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 2_000_000_000,
            r: B256::repeat_byte(1),
            s: B256::repeat_byte(2),
            y_parity: false,
        }),
    ];
    let committed: Vec<Vec<u8>> = records.chunks(slots).map(encode_chunk).collect();
    let genesis = Genesis { fee_recipient: Address::repeat_byte(0xfe), alloc: Vec::new() };
    let mut replica = Replayer::new(&genesis, slots, chunks).unwrap();
    let witnesses = replica.apply_batch(&committed).unwrap();
    std::fs::write(out, serde_json::to_vec_pretty(&serde_json::json!({ "chunks": witnesses })).unwrap()).unwrap();
}
