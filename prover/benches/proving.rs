//! Proving benchmark: chunk keys and proofs by record slots and k, aggregation by chunks per batch.
//!
//! ```text
//! cargo bench -p zkr-prover --bench proving -- [--chunks 2:16,4:17,8:18] [--aggregate 1,2] [--aggregation-k 20]
//!                                                [--layer F:K] [--out target/zkr-bench] [--backend cpu|gpu|auto]
//! ```
//!
//! `--layer F:K` aggregates in two layers (a tree): groups of `F` chunk proofs are aggregated first at `k = K`, and
//! the last layer (`--aggregation-k`) aggregates the groups' proofs; each `--aggregate` count must be a multiple of
//! `F`.
//!
//! Proofs are made as the prover makes them, through `MsmKzg`: the commitments run on the MSM's CPU twin
//! (`--backend cpu`, the default) or on the GPU with the SRS resident (`gpu`; `auto` takes the GPU when there is one).
//! Key generation is halo2's, on the CPU, in every case.
//!
//! Every stage runs once (each takes seconds to many minutes) and prints one table. Peak memory is the process's
//! resident high-water mark during the stage (`VmHWM`, reset before the stage through `/proc/self/clear_refs`), so it
//! includes the keys and SRS the stage holds. Chunks are full: as many deposits and withdrawals as a chunk takes, and
//! transfers to new accounts in the other slots (the circuit's layout does not depend on the records, so the record
//! kinds do not change the time). Keys are generated afresh in a temporary folder; the development SRS is cached in
//! `--out`. For every aggregation the EVM verifier's source and the proof
//! are written to `--out/aggregation_n<N>/`, where `cargo run -p zkr-e2e --example verifier_gas` measures the L1 gas.
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_primitives::{Address, B256, U256};
use halo2_base::halo2_proofs::{halo2curves::bn256::Bn256, poly::kzg::commitment::ParamsKZG};
use zkr_circuits::{
    ChunkCircuit, ChunkShape,
    keys::{AggregationKeys, ChunkKeys, Inner},
    srs::{downsized, load_srs},
};
use zkr_kernels::{
    gpu::{Backend, Gpu, Selected, select},
    halo2::MsmParams,
};
use zkr_protocol::{
    ChunkWitness, DepositRecord, Record, TransferRecord, WITHDRAWAL_ADDRESS, build_chunk,
    chunk::{max_chunk_deposits, max_chunk_withdrawals},
};
use zkr_prover::{ProofTimes, aggregate_layer_timed, aggregate_timed, prove_chunk};
use zkr_state::{Account, AccountTree};

const FEE_RECIPIENT: Address = Address::repeat_byte(0xfe);

struct Options {
    chunks: Vec<ChunkShape>,
    aggregate: Vec<usize>,
    aggregation_k: u32,
    /// A lower aggregation layer: `(chunk proofs per group, k)`.
    layer: Option<(usize, u32)>,
    out: PathBuf,
    backend: Backend,
}

fn parse_options() -> Options {
    let mut options = Options {
        chunks: vec![ChunkShape { slots: 2, k: 16 }, ChunkShape { slots: 4, k: 17 }, ChunkShape { slots: 8, k: 18 }],
        aggregate: vec![1, 2],
        aggregation_k: 20,
        layer: None,
        // cargo runs benches in the package folder: the default is the workspace's target folder.
        out: Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/zkr-bench"),
        backend: Backend::Cpu,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--chunks" => {
                options.chunks = value()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        let (slots, k) = s.split_once(':').expect("--chunks takes slots:k pairs");
                        ChunkShape { slots: slots.parse().unwrap(), k: k.parse().unwrap() }
                    })
                    .collect();
            }
            "--aggregate" => {
                options.aggregate = value().split(',').filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
            }
            "--aggregation-k" => options.aggregation_k = value().parse().unwrap(),
            "--layer" => {
                let layer = value();
                let (group, k) = layer.split_once(':').expect("--layer takes group:k");
                options.layer = Some((group.parse().unwrap(), k.parse().unwrap()));
            }
            "--out" => options.out = PathBuf::from(value()),
            "--backend" => options.backend = value().parse().unwrap(),
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    options
}

/// `kzg` as the prover's params: on `gpu` (both bases uploaded, outside any measurement) or the CPU twin.
fn wrap(gpu: Option<&Arc<Gpu>>, kzg: ParamsKZG<Bn256>) -> MsmParams {
    match gpu {
        Some(gpu) => MsmParams::on_gpu(kzg, Arc::clone(gpu)).unwrap(),
        None => MsmParams::cpu(kzg),
    }
}

/// Resets the process's resident high-water mark.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's resident high-water mark in GiB.
fn peak_gib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    kib / (1024.0 * 1024.0)
}

fn measure<T>(f: impl FnOnce() -> T) -> (T, Duration, f64) {
    reset_peak();
    let started = Instant::now();
    let value = f();
    (value, started.elapsed(), peak_gib())
}

/// `chunks` consecutive full chunks from a genesis with one funded sender: each holds as many deposits and
/// withdrawals as it may (`max_chunk_deposits`, `max_chunk_withdrawals`), and transfers to new accounts (the most tree
/// writes a record makes) in the other slots.
fn full_chunks(slots: usize, chunks: usize) -> Vec<ChunkWitness> {
    let sender = Address::repeat_byte(0xaa);
    let mut tree = AccountTree::new();
    tree.set(FEE_RECIPIENT, Account::default()).unwrap();
    tree.set(WITHDRAWAL_ADDRESS, Account::default()).unwrap();
    tree.set(sender, Account { nonce: 0, balance: U256::from(10u128.pow(30)) }).unwrap();
    let mut deposit_hash = B256::ZERO;
    let (mut fresh, mut deposits, mut nonce) = (0u64, 0u64, 0u64);
    let mut fresh_address = || {
        fresh += 1;
        let mut to = [0u8; 20];
        to[..8].copy_from_slice(&fresh.to_be_bytes());
        to[19] = 0xd0;
        Address::from(to)
    };
    (0..chunks)
        .map(|_| {
            let (max_deposits, max_withdrawals) = (max_chunk_deposits(slots), max_chunk_withdrawals(slots));
            let records: Vec<Record> = (0..slots)
                .map(|i| {
                    if i < max_deposits {
                        deposits += 1;
                        return Record::Deposit(DepositRecord {
                            block: 1,
                            timestamp: 1,
                            index: deposits - 1,
                            from: Address::repeat_byte(1),
                            to: fresh_address(),
                            value: u128::from(deposits) * 1_000_000_000,
                        });
                    }
                    let to = if i < max_deposits + max_withdrawals { WITHDRAWAL_ADDRESS } else { fresh_address() };
                    nonce += 1;
                    Record::Transfer(TransferRecord {
                        block: 1,
                        timestamp: 1,
                        base_fee: 1_000_000_000,
                        tx_type: 2,
                        nonce: nonce - 1,
                        from: sender,
                        to,
                        value: 1_000_000_000 + u128::from(nonce),
                        gas_limit: 21_000,
                        max_fee_per_gas: 3_000_000_000,
                        max_priority_fee_per_gas: 1_000_000_000,
                        r: B256::repeat_byte(1),
                        s: B256::repeat_byte(2),
                        y_parity: false,
                    })
                })
                .collect();
            let witness = build_chunk(&mut tree, slots, FEE_RECIPIENT, deposit_hash, &records).unwrap();
            deposit_hash = witness.public.deposit_hash_after;
            witness
        })
        .collect()
}

struct Row {
    what: String,
    seconds: f64,
    peak_gib: f64,
    note: String,
}

fn main() {
    let options = parse_options();
    std::fs::create_dir_all(&options.out).unwrap();
    let keys_dir = tempfile_dir(&options.out);
    let mut rows: Vec<Row> = Vec::new();
    let mut row = |what: String, time: Duration, peak: f64, note: String| {
        println!("{what:<48} {:>9.1} s {:>7.2} GiB  {note}", time.as_secs_f64(), peak);
        rows.push(Row { what, seconds: time.as_secs_f64(), peak_gib: peak, note });
    };

    let gpu: Option<Arc<Gpu>> = match select(options.backend).unwrap() {
        Selected::Gpu(gpu) => Some(Arc::from(gpu)),
        Selected::Cpu { .. } => None,
    };
    println!("commitments on the {}", if gpu.is_some() { "GPU" } else { "CPU twin" });
    let max_k = options
        .chunks
        .iter()
        .map(|s| s.k)
        .max()
        .unwrap_or(16)
        .max(options.aggregation_k)
        .max(options.layer.map_or(0, |(_, k)| k));
    let (srs, time, peak) = measure(|| load_srs(&options.out, max_k, true).unwrap());
    row(format!("SRS 2^{max_k} (development, cached in --out)"), time, peak, String::new());

    for shape in &options.chunks {
        let label = format!("chunk, {} slots, k = {}", shape.slots, shape.k);
        let params = match ChunkCircuit::configure_shape(*shape, FEE_RECIPIENT) {
            Ok(params) => params,
            Err(e) => {
                row(label, Duration::ZERO, f64::NAN, format!("does not fit: {e}"));
                continue;
            }
        };
        let columns = params.base.num_advice_per_phase.iter().sum::<usize>();
        let chunk_params = wrap(gpu.as_ref(), downsized(&srs, shape.k));
        let (keys, time, peak) =
            measure(|| ChunkKeys::load_or_generate(&keys_dir, chunk_params.kzg(), params).unwrap());
        row(format!("{label}: keys"), time, peak, format!("{columns} halo2-base advice columns + keccak"));
        let witness = full_chunks(shape.slots, 1).remove(0);
        let (snark, time, peak) = measure(|| prove_chunk(&keys, &chunk_params, witness).unwrap());
        row(format!("{label}: proof"), time, peak, format!("{} bytes, verified", snark.proof.len()));
    }

    if !options.aggregate.is_empty() {
        let shape = options.chunks.first().copied().unwrap_or(ChunkShape { slots: 2, k: 16 });
        let chunk_params = wrap(gpu.as_ref(), downsized(&srs, shape.k));
        let agg_params = wrap(gpu.as_ref(), downsized(&srs, options.aggregation_k));
        let (chunk_srs, agg_srs) = (chunk_params.kzg(), agg_params.kzg());
        let params = ChunkCircuit::configure_shape(shape, FEE_RECIPIENT).unwrap();
        let keys = ChunkKeys::load_or_generate(&keys_dir, chunk_srs, params).unwrap();
        // The lower layer's keys, generated once for every count.
        let layer = options.layer.map(|(group, k)| {
            let params = wrap(gpu.as_ref(), downsized(&srs, k));
            let label = format!("layer of {group} ({} slots, k = {}), k = {k}", shape.slots, shape.k);
            let (keys, time, peak) = measure(|| {
                AggregationKeys::load_or_generate_over(&keys_dir, params.kzg(), chunk_srs, Inner::Chunks(&keys), group)
                    .unwrap()
            });
            row(format!("{label}: keys"), time, peak, columns_note(&keys));
            (keys, params, label)
        });
        for &chunks in &options.aggregate {
            let snarks: Vec<_> = full_chunks(shape.slots, chunks)
                .into_iter()
                .map(|witness| prove_chunk(&keys, &chunk_params, witness).unwrap())
                .collect();
            let (agg, proof, label) = match &layer {
                None => {
                    let label = format!(
                        "aggregation of {chunks} ({} slots, k = {}), k = {}",
                        shape.slots, shape.k, options.aggregation_k
                    );
                    let (agg, time, peak) = measure(|| {
                        AggregationKeys::load_or_generate(&keys_dir, agg_srs, chunk_srs, &keys, chunks).unwrap()
                    });
                    row(format!("{label}: keys"), time, peak, columns_note(&agg));
                    let ((proof, times), time, peak) =
                        measure(|| aggregate_timed(&agg, &agg_params, chunk_srs, snarks).unwrap());
                    row(format!("{label}: proof"), time, peak, times_note(proof.proof.len(), &times));
                    (agg, proof, label)
                }
                Some((lower, lower_params, lower_label)) => {
                    let group = lower.inputs();
                    assert!(chunks % group == 0, "--aggregate {chunks} is not a multiple of the layer's {group}");
                    let mut groups = Vec::new();
                    for (i, group) in snarks.chunks(group).enumerate() {
                        let ((snark, times), time, peak) =
                            measure(|| aggregate_layer_timed(lower, lower_params, chunk_srs, group.to_vec()).unwrap());
                        row(format!("{lower_label}: proof {i}"), time, peak, times_note(snark.proof.len(), &times));
                        groups.push(snark);
                    }
                    let label =
                        format!("last layer over {} of {lower_label}, k = {}", groups.len(), options.aggregation_k);
                    let (agg, time, peak) = measure(|| {
                        AggregationKeys::load_or_generate_over(
                            &keys_dir,
                            agg_srs,
                            lower_params.kzg(),
                            lower.as_inner(),
                            groups.len(),
                        )
                        .unwrap()
                    });
                    row(format!("{label}: keys"), time, peak, columns_note(&agg));
                    let ((proof, times), time, peak) =
                        measure(|| aggregate_timed(&agg, &agg_params, lower_params.kzg(), groups).unwrap());
                    row(format!("{label}: proof"), time, peak, times_note(proof.proof.len(), &times));
                    (agg, proof, label)
                }
            };
            let dir = options.out.join(format!("aggregation_n{chunks}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("verifier.sol"), agg.evm_verifier_source().unwrap()).unwrap();
            std::fs::write(dir.join("proof.json"), serde_json::to_vec(&proof).unwrap()).unwrap();
            println!("{label}: verifier source and proof in {}", dir.display());
        }
    }

    println!();
    println!("| stage | time (s) | peak memory (GiB) | note |");
    println!("|---|---:|---:|---|");
    for r in &rows {
        println!("| {} | {:.1} | {:.2} | {} |", r.what, r.seconds, r.peak_gib, r.note);
    }
    let _ = std::fs::remove_dir_all(&keys_dir);
}

/// The columns key generation chose for an aggregation circuit.
fn columns_note(keys: &AggregationKeys) -> String {
    let config = keys.config();
    format!(
        "{} advice, {} lookup advice, {} fixed columns",
        config.num_advice, config.num_lookup_advice, config.num_fixed
    )
}

/// A proof's size, and where its time went.
fn times_note(bytes: usize, times: &ProofTimes) -> String {
    format!(
        "{bytes} bytes, verified; in-circuit verification {:.1} s, MSMs {:.1} s, opening {:.1} s, FFTs and quotient \
         {:.1} s",
        times.aggregation.as_secs_f64(),
        times.msm.as_secs_f64(),
        times.opening.as_secs_f64(),
        times.quotient.as_secs_f64()
    )
}

/// A fresh folder for the keys, so that key generation is measured.
fn tempfile_dir(out: &Path) -> PathBuf {
    let dir = out.join(format!("keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
