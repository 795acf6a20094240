//! `zkr-prove`: proves batches, with the commitments on the GPU (our CUDA MSM, SRS resident) or the CPU.
//!
//! ```text
//! zkr-prove setup [--keys.dev-srs]         # SRS and keys into --keys.dir, and the EVM verifier's Solidity (whole and split)
//!           [--deployment l1.json]         # the proof shape from the deployment file (or --chunk-slots, --chunk-k, ...)
//! zkr-prove batch <BATCH.json> --out <P>   # chunk proofs, aggregation, native verification; stage timings
//!           [--backend auto|gpu|cpu]       # auto (default): the GPU when one works, else the CPU
//! ```
//!
//! A batch file is the JSON of the batch's chunk witnesses (`{"chunks": [ChunkWitness, ...]}`), as a prover's
//! replica of the state produces them from committed batches (`zkr_protocol::Replayer`).

// A command-line tool: its report (paths, the stage table) is for the person running it.
#![allow(clippy::print_stderr)]

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use alloy_primitives::Address;
use clap::{
    Args, Parser, Subcommand,
    builder::{PossibleValuesParser, TypedValueParser},
};
use eyre::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use zkr_circuits::keys::KeysConfig;
use zkr_kernels::gpu::Backend;
use zkr_protocol::{ChunkWitness, Deployment, ProofShape};
use zkr_prover::{BatchProver, Stage};

#[derive(Debug, Parser)]
#[command(name = "zkr-prove", version, about = "Proves rollup batches (halo2, KZG on BN254) on the GPU or the CPU")]
struct Cli {
    #[command(flatten)]
    prover: ProverArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct ProverArgs {
    /// Folder of the SRS and the keys.
    #[arg(long = "keys.dir", default_value = ".zkr/keys", global = true)]
    keys_dir: PathBuf,
    /// The deployment file (`zkr-deploy` writes it): the proof shape is taken from it. The shape flags below may
    /// restate it; one that differs is refused.
    #[arg(long, global = true)]
    deployment: Option<PathBuf>,
    /// log2 rows of the chunk circuit (the deployment file's `shape.chunkK`; default 16).
    #[arg(long, global = true)]
    chunk_k: Option<u32>,
    /// Record slots per chunk, a power of two (`shape.chunkSlots`; default 4).
    #[arg(long, global = true)]
    chunk_slots: Option<usize>,
    /// Chunk proofs per batch proof (`shape.chunksPerBatch`, the Rollup's `chunksPerBatch`; default 2).
    #[arg(long, global = true)]
    chunks_per_batch: Option<usize>,
    /// log2 rows of the aggregation circuit (`shape.aggregationK`; default 20).
    #[arg(long, global = true)]
    aggregation_k: Option<u32>,
    /// An aggregation layer between the chunk proofs and the batch proof: `<chunks per group>:<k>`, or `none`
    /// (`shape.layer`; default 1:20).
    #[arg(long, global = true)]
    layer: Option<zkr_protocol::LayerFlag>,
    /// The chain's fee recipient.
    #[arg(long, default_value = "0xfefefefefefefefefefefefefefefefefefefefe", global = true)]
    fee_recipient: Address,
    /// Generate an INSECURE SRS when none is in the keys folder (development and CI only).
    #[arg(long = "keys.dev-srs", global = true)]
    dev_srs: bool,
    /// Where the proofs' commitments run: `gpu` (fails without a usable GPU), `cpu`, or `auto` (the GPU when one
    /// works, else the CPU, saying why).
    #[arg(
        long = "backend",
        default_value_t = Backend::Auto,
        value_parser = backend_parser(),
        global = true
    )]
    backend: Backend,
}

impl ProverArgs {
    /// The keys' setup: the deployment file's shape (the default shape without one), with the flags given.
    fn config(&self) -> eyre::Result<KeysConfig> {
        let base = match &self.deployment {
            Some(path) => Deployment::load(path)?.shape,
            None => ProofShape::DEFAULT,
        };
        let shape = ProofShape {
            chunk_slots: self.chunk_slots.unwrap_or(base.chunk_slots),
            chunk_k: self.chunk_k.unwrap_or(base.chunk_k),
            chunks_per_batch: self.chunks_per_batch.unwrap_or(base.chunks_per_batch),
            aggregation_k: self.aggregation_k.unwrap_or(base.aggregation_k),
            layer: self.layer.map_or(base.layer, |flag| flag.0),
        };
        if let Some(path) = self.deployment.as_ref().filter(|_| shape != base) {
            bail!("the shape flags give {}, but {} deploys {}", shape.tag(), path.display(), base.tag());
        }
        shape.validate().map_err(|e| eyre::eyre!("proof shape: {e}"))?;
        Ok(KeysConfig { dir: self.keys_dir.clone(), shape, fee_recipient: self.fee_recipient, dev_srs: self.dev_srs })
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Loads or generates the SRS and the keys, and writes the EVM verifier's Solidity sources.
    ///
    /// The generated verifier is written whole (`BatchVerifierHalo2.sol`) and split into contracts under the
    /// 24,576-byte code size limit (`BatchVerifierHalo2.part<i>.sol`), which `BatchVerifier` chains in order.
    Setup {
        /// Folder for the verifier sources (default: the keys folder).
        #[arg(long)]
        verifier_dir: Option<PathBuf>,
        /// Number of verifier parts (default: one per 80,000 bytes of generated source).
        #[arg(long)]
        verifier_parts: Option<usize>,
    },
    /// Proves a batch file.
    Batch {
        /// The batch file.
        file: PathBuf,
        /// Where to write the proof.
        #[arg(long)]
        out: PathBuf,
    },
}

/// A batch to prove.
#[derive(Debug, Serialize, Deserialize)]
struct BatchFile {
    chunks: Vec<ChunkWitness>,
}

/// The proof file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProofFile {
    /// The Rollup's public inputs (after the accumulator), 0x-hex words.
    batch_inputs: Vec<String>,
    /// The Rollup's `proof` argument: accumulator limbs then the proof.
    rollup_proof: String,
    /// The generated verifier's full calldata.
    verifier_calldata: String,
}

/// `auto`, `gpu` or `cpu` (listed in `--help`), parsed by the kernels' `Backend`.
fn backend_parser() -> impl TypedValueParser<Value = Backend> {
    PossibleValuesParser::new(["auto", "gpu", "cpu"]).try_map(|s| s.parse::<Backend>())
}

fn main() -> eyre::Result<()> {
    zkr_cli::init_tracing("info");
    let cli = Cli::parse();
    let config = cli.prover.config()?;
    let mut timings: Vec<(String, Duration)> = Vec::new();

    // Generating the SRS and keys (first run) logs its progress and the time left (`zkr_circuits::progress`).
    eprintln!("loading the SRS and keys from {}", config.dir.display());
    match cli.command {
        Command::Setup { verifier_dir, verifier_parts } => {
            // Key generation and the verifier need no MSM device: the GPU is not touched.
            let started = Instant::now();
            let verifier = zkr_circuits::keys::setup(&config).wrap_err("generating the keys")?;
            timings.push(("SRS and keys".into(), started.elapsed()));
            let started = Instant::now();
            let source = verifier.batch.evm_verifier_source().wrap_err("generating the EVM verifier")?;
            let parts = match verifier_parts {
                Some(n) => zkr_circuits::evm::split_verifier(&source, n),
                None => zkr_circuits::evm::split_verifier_default(&source),
            }
            .wrap_err("splitting the verifier")?;
            let dir = verifier_dir.unwrap_or_else(|| config.dir.clone());
            std::fs::create_dir_all(&dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
            let whole = dir.join("BatchVerifierHalo2.sol");
            std::fs::write(&whole, &source).wrap_err_with(|| format!("writing {}", whole.display()))?;
            eprintln!("verifier source: {} ({} bytes)", whole.display(), source.len());
            for (i, (name, part)) in parts.sources.iter().enumerate() {
                let path = dir.join(format!("BatchVerifierHalo2.part{i}.sol"));
                std::fs::write(&path, part).wrap_err_with(|| format!("writing {}", path.display()))?;
                eprintln!("verifier part {i}: {} (contract {name}, {} bytes)", path.display(), part.len());
            }
            timings.push(("EVM verifier sources".into(), started.elapsed()));
        }
        Command::Batch { file, out } => {
            let started = Instant::now();
            let prover = BatchProver::load_with_backend(&config, cli.prover.backend).wrap_err("loading the prover")?;
            timings.push(("SRS and keys".into(), started.elapsed()));
            match prover.device().gpu() {
                Some(gpu) => eprintln!("backend: {} ({})", prover.backend(), gpu.name),
                None => eprintln!("backend: {}", prover.backend()),
            }
            let bytes = std::fs::read(&file).wrap_err_with(|| format!("reading {}", file.display()))?;
            let batch: BatchFile = serde_json::from_slice(&bytes).wrap_err("parsing the batch file")?;
            if batch.chunks.len() != prover.chunks_per_batch() {
                bail!("the batch has {} chunks; the keys prove {}", batch.chunks.len(), prover.chunks_per_batch());
            }
            let shape = prover.shape();
            let layer_proofs = if shape.layer.is_some() { shape.batch_inputs() } else { 0 };
            let bar = ProgressBar::new((batch.chunks.len() + layer_proofs) as u64 + 1).with_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(500));
            let mut stage_started = Instant::now();
            let mut current: Option<String> = None;
            let proof = prover.prove_batch(batch.chunks, |stage| {
                if let Some(name) = current.take() {
                    timings.push((name, stage_started.elapsed()));
                    bar.inc(1);
                }
                let name = match stage {
                    Stage::Chunk(i) => format!("chunk {i} proof"),
                    Stage::Layer(j) => format!("layer proof {j}"),
                    Stage::Aggregation => "aggregation proof".to_string(),
                };
                bar.set_message(name.clone());
                current = Some(name);
                stage_started = Instant::now();
            })?;
            if let Some(name) = current.take() {
                timings.push((name, stage_started.elapsed()));
            }
            bar.finish_and_clear();
            let hex = |bytes: &[u8]| format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
            let file = ProofFile {
                batch_inputs: proof.batch_inputs().iter().map(|w| format!("{w:#066x}")).collect(),
                rollup_proof: hex(&proof.rollup_proof_bytes()),
                verifier_calldata: hex(&proof.verifier_calldata()),
            };
            std::fs::write(&out, serde_json::to_vec_pretty(&file)?)
                .wrap_err_with(|| format!("writing {}", out.display()))?;
            eprintln!("proof: {}", out.display());
        }
    }

    eprintln!("\n{:<24} {:>12}", "stage", "seconds");
    for (name, elapsed) in &timings {
        eprintln!("{name:<24} {:>12.1}", elapsed.as_secs_f64());
    }
    eprintln!("{:<24} {:>12.1}", "total", timings.iter().map(|(_, d)| d.as_secs_f64()).sum::<f64>());
    Ok(())
}
