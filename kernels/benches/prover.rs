//! Proof time of a real halo2 circuit: halo2's plain `KZGCommitmentScheme` prover against the same prover running
//! through `zkr_kernels::halo2::MsmKzg` (CPU twin, and GPU with the SRS resident when a device is present).
//!
//! ```text
//! cargo bench -p zkr-kernels --bench prover -- [--k 12,14] [--reps 5]
//! ```
//!
//! The circuit is the tests' `Chain` (standard gate, copy constraints, a byte lookup, two public inputs) filling
//! `2^k` rows. Proving keys are made once per `k` with halo2's params; every prover proves with SHPLONK into a
//! Blake2b transcript, and every proof is checked with halo2's standard verifier outside the timing. The provers
//! alternate run by run, so that load from other processes hits them alike; the table gives the median wall time
//! over `--reps` runs and its ratio to the plain prover's (below 1 is faster). One unmeasured proof per prover
//! comes first (warm-up, and the GPU's first launches).
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a bench binary prints its table")]

#[path = "../tests/support/circuit.rs"]
mod circuit;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use circuit::{Chain, Multiopen, prove, verify};
use halo2_proofs::{
    plonk::{ProvingKey, keygen_pk, keygen_vk},
    poly::kzg::{
        commitment::{KZGCommitmentScheme, ParamsKZG},
        multiopen::ProverSHPLONK,
    },
};
use halo2curves::bn256::{Bn256, Fr, G1Affine};
use rand::{SeedableRng, rngs::StdRng};
use zkr_kernels::{
    gpu::Gpu,
    halo2::{MsmKzg, MsmParams, ShplonkProver},
};

struct Args {
    ks: Vec<u32>,
    reps: usize,
}

fn parse_args() -> Args {
    let mut args = Args { ks: vec![12, 14], reps: 5 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--k" => {
                let value = it.next().unwrap_or_else(|| panic!("--k needs a comma-separated list of log2 sizes"));
                args.ks = value
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.trim().parse().unwrap_or_else(|_| panic!("--k: `{s}` is not a log2 size")))
                    .collect();
            }
            "--reps" => {
                args.reps = it.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("--reps needs a count"))
            }
            // `cargo bench` passes `--bench`; libtest filters are meaningless here.
            _ => {}
        }
    }
    args.reps = args.reps.max(1);
    args
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 { format!("{s:.3} s") } else { format!("{:.1} ms", s * 1e3) }
}

/// One way of proving.
enum Contender {
    Plain(ParamsKZG<Bn256>),
    Ours(MsmParams),
}

impl Contender {
    fn label(&self) -> String {
        match self {
            Self::Plain(_) => "halo2 `KZGCommitmentScheme`".to_string(),
            Self::Ours(params) => format!("`MsmKzg`, {}", params.backend_name()),
        }
    }

    fn prove(&self, pk: &ProvingKey<G1Affine>, circuit: &Chain, seed: u64) -> (Duration, Vec<u8>) {
        let start = Instant::now();
        let proof = match self {
            Self::Plain(params) => {
                prove::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>>(params, pk, circuit, seed)
            }
            Self::Ours(params) => prove::<MsmKzg, ShplonkProver<'_>>(params, pk, circuit, seed),
        };
        (start.elapsed(), proof)
    }
}

fn main() {
    let args = parse_args();
    eprintln!(
        "zkr-kernels prover bench: k {:?}, {} reps, {} rayon threads",
        args.ks,
        args.reps,
        rayon::current_num_threads()
    );
    let gpu = match Gpu::new(0) {
        Ok(gpu) => {
            eprintln!("GPU: {}", gpu.info().name);
            Some(Arc::new(gpu))
        }
        Err(e) => {
            eprintln!("GPU: none, so no gpu rows ({e})");
            None
        }
    };

    println!("| k | rows | prover | median | / plain | proof bytes |");
    println!("|---:|---:|---|---:|---:|---:|");
    for &k in &args.ks {
        let setup = Instant::now();
        let kzg = ParamsKZG::<Bn256>::setup(k, StdRng::seed_from_u64(u64::from(k)));
        let circuit = Chain { start: Fr::from(3), rows: Chain::max_rows(k) };
        let instances = circuit.instances();
        let vk = keygen_vk(&kzg, &circuit).expect("keygen_vk");
        let pk = keygen_pk(&kzg, vk, &circuit).expect("keygen_pk");
        let mut contenders = vec![Contender::Ours(MsmParams::cpu(kzg.clone()))];
        if let Some(gpu) = &gpu {
            let params = MsmParams::on_gpu(kzg.clone(), Arc::clone(gpu)).expect("uploading the SRS");
            contenders.push(Contender::Ours(params));
        }
        contenders.insert(0, Contender::Plain(kzg.clone()));
        eprintln!("k = {k}: setup and keys in {}", format_duration(setup.elapsed()));

        let mut times = vec![Vec::with_capacity(args.reps); contenders.len()];
        let mut sizes = vec![0; contenders.len()];
        for rep in 0..=args.reps {
            for (i, contender) in contenders.iter().enumerate() {
                let (time, proof) = contender.prove(&pk, &circuit, (rep * contenders.len() + i) as u64);
                assert!(
                    verify(&kzg, pk.get_vk(), Multiopen::Shplonk, &instances, &proof),
                    "{}: bad proof",
                    contender.label()
                );
                sizes[i] = proof.len();
                // Run 0 is the warm-up.
                if rep > 0 {
                    times[i].push(time);
                }
            }
        }
        let medians: Vec<Duration> = times.into_iter().map(median).collect();
        for (i, contender) in contenders.iter().enumerate() {
            let ratio = if i == 0 {
                "plain".to_string()
            } else {
                format!("{:.2}x", medians[i].as_secs_f64() / medians[0].as_secs_f64())
            };
            println!(
                "| {k} | {} | {} | {} | {ratio} | {} |",
                circuit.rows,
                contender.label(),
                format_duration(medians[i]),
                sizes[i]
            );
        }
    }
}
