//! Time and resident memory of loading a setup's verifying keys: what the coordinator holds to check proofs. The keys
//! folder must hold the setup's keys (`zkr-prove setup` writes them).
//!
//! ```text
//! cargo run --release -p zkr-circuits --example verifier_memory -- <keys dir> [slots:k] [chunks] [aggregation k]
//! ```
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::{path::PathBuf, time::Instant};

use alloy_primitives::Address;
use zkr_circuits::{
    keys::KeysConfig,
    verifier::{BatchVerifier, ChunkVerifier},
};
use zkr_protocol::ProofShape;

fn status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .map(|l| l[field.len() + 1..].trim().to_string())
        .unwrap_or_default()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("the keys folder"));
    let (slots, k) = args.next().map_or((2, 16), |s| {
        let (a, b) = s.split_once(':').expect("slots:k");
        (a.parse().unwrap(), b.parse().unwrap())
    });
    let chunks = args.next().map_or(1, |s| s.parse().unwrap());
    let aggregation_k = args.next().map_or(20, |s| s.parse().unwrap());
    let config = KeysConfig {
        dir,
        shape: ProofShape { chunk_slots: slots, chunk_k: k, chunks_per_batch: chunks, aggregation_k, layer: None },
        fee_recipient: Address::repeat_byte(0xfe),
        dev_srs: false,
    };
    let row =
        |step: &str, seconds: String| println!("| {step} | {seconds} | {} | {} |", status("VmRSS:"), status("VmHWM:"));
    println!("| step | seconds | VmRSS | VmHWM |\n|---|---:|---:|---:|");
    row("start", String::new());
    let started = Instant::now();
    let chunk = ChunkVerifier::load(&config).unwrap();
    row("chunk verifier", format!("{:.2}", started.elapsed().as_secs_f64()));
    let started = Instant::now();
    let batch = BatchVerifier::load(&config).unwrap();
    row("batch verifier", format!("{:.2}", started.elapsed().as_secs_f64()));
    drop((chunk, batch));
}
