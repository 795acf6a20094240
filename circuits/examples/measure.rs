//! Times every proving stage once: chunk keys, two chunk proofs, aggregation keys and proof, and writes the EVM
//! verifier's source. `cargo run --release -p zkr-circuits --example measure -- <chunk k> <aggregation k>`.
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::{path::Path, time::Instant};

use alloy_primitives::{Address, B256};
use zkr_circuits::{ChunkCircuit, ChunkShape, prover::*};
use zkr_protocol::{DepositRecord, Record, WITHDRAWAL_ADDRESS, build_chunk};
use zkr_state::{Account, AccountTree};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let k: u32 = args.get(1).map_or(16, |s| s.parse().unwrap());
    let agg_k: u32 = args.get(2).map_or(20, |s| s.parse().unwrap());
    let dir = Path::new(".zkr/measure");
    let fee = Address::repeat_byte(0xfe);
    let shape = ChunkShape { k, slots: 2 };
    let t = Instant::now();
    let params = ChunkCircuit::configure_shape(shape, fee).unwrap();
    println!("configure {:?} {:?}", t.elapsed(), params.base);
    let t = Instant::now();
    let agg_srs = load_srs(dir, agg_k, true).unwrap();
    let chunk_srs = load_srs(dir, k, true).unwrap();
    println!("srs {:?}", t.elapsed());
    let t = Instant::now();
    let keys = ChunkKeys::load_or_generate(dir, &chunk_srs, params).unwrap();
    println!("chunk keys {:?}", t.elapsed());

    let mut tree = AccountTree::new();
    tree.set(fee, Account::default()).unwrap();
    tree.set(WITHDRAWAL_ADDRESS, Account::default()).unwrap();
    let dep = |index, to, value| {
        Record::Deposit(DepositRecord { block: 1, timestamp: 1, index, from: Address::repeat_byte(1), to, value })
    };
    let w0 = build_chunk(&mut tree, 2, fee, B256::ZERO, &[dep(0, Address::repeat_byte(0xa1), 5)]).unwrap();
    let w1 = build_chunk(&mut tree, 2, fee, w0.public.deposit_hash_after, &[]).unwrap();
    let mut snarks = Vec::new();
    for w in [w0, w1] {
        let t = Instant::now();
        snarks.push(keys.prove(&chunk_srs, w).unwrap());
        println!("chunk proof {:?}", t.elapsed());
    }
    let t = Instant::now();
    let agg = AggregationKeys::load_or_generate(dir, &agg_srs, &chunk_srs, &keys, 2).unwrap();
    println!("aggregation keys {:?}", t.elapsed());
    let t = Instant::now();
    let proof = agg.prove(&agg_srs, &chunk_srs, snarks).unwrap();
    println!("aggregation proof {:?}, {} instances, {} bytes", t.elapsed(), proof.instances.len(), proof.proof.len());
    let source = agg.evm_verifier_source(&agg_srs);
    std::fs::write(dir.join("verifier.sol"), &source).unwrap();
    std::fs::write(dir.join("proof.json"), serde_json::to_vec(&proof).unwrap()).unwrap();
    println!("verifier source {} bytes", source.len());
}
