//! `zkr-prover`: a prover worker. Connects to the coordinator, proves the jobs it is given, and exposes its metrics.
//!
//! ```text
//! zkr-prover --coordinator http://127.0.0.1:50051 --token-file token --keys-dir .zkr/keys [--dev-srs]
//!            [--prover.backend auto|gpu|cpu]
//! ```

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{
    Parser, ValueEnum,
    builder::{PossibleValuesParser, TypedValueParser},
};
use eyre::Context;
use tokio::sync::watch;
use zkr_gpu_prover::{ClientConfig, Worker, WorkerConfig};
use zkr_kernels::gpu::Backend;
use zkr_protos::{
    cli::{ClientTlsArgs, TokenArgs},
    v1::JobKind,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Chunk,
    Aggregation,
}

#[derive(Debug, Parser)]
#[command(name = "zkr-prover", version, about = "A prover worker of the zkr proving cluster")]
struct Cli {
    /// The coordinator's gRPC endpoint.
    #[arg(long, env = "ZKR_COORDINATOR", default_value = "http://127.0.0.1:50051")]
    coordinator: String,
    #[command(flatten)]
    token: TokenArgs,
    #[command(flatten)]
    tls: ClientTlsArgs,
    /// The name operators see (default: the host name and process id).
    #[arg(long)]
    name: Option<String>,
    /// Where the proofs' commitments run: `gpu` (our CUDA MSM with the SRS resident; the worker does not start
    /// without a usable GPU), `cpu` (the MSM's CPU twin), or `auto` (the GPU when one works, else the CPU, logging
    /// why). The worker registers with the backend it uses.
    #[arg(
        long = "prover.backend",
        alias = "backend",
        env = "ZKR_PROVER_BACKEND",
        default_value_t = Backend::Auto,
        value_parser = backend_parser()
    )]
    backend: Backend,
    /// Job kinds to take (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    kinds: Vec<KindArg>,
    /// Folder of the SRS and keys.
    #[arg(long, env = "ZKR_KEYS_DIR", default_value = ".zkr/keys")]
    keys_dir: PathBuf,
    /// Generate an INSECURE SRS when none is in the keys folder (development and CI only).
    #[arg(long)]
    dev_srs: bool,
    /// Serve Prometheus metrics on this address.
    #[arg(long = "metrics.addr")]
    metrics_addr: Option<SocketAddr>,
}

/// `auto`, `gpu` or `cpu` (listed in `--help`), parsed by the kernels' `Backend`.
fn backend_parser() -> impl TypedValueParser<Value = Backend> {
    PossibleValuesParser::new(["auto", "gpu", "cpu"]).try_map(|s| s.parse::<Backend>())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "worker".into())
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let cli = Cli::parse();
    let token = cli.token.read().map_err(|e| eyre::eyre!(e))?;
    if let Some(addr) = cli.metrics_addr {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                zkr_protos::PROVING_BUCKETS,
            )?
            .install()
            .wrap_err("starting the metrics endpoint")?;
    }
    let config = WorkerConfig {
        client: ClientConfig { endpoint: cli.coordinator, token, tls: cli.tls.into() },
        name: cli.name.unwrap_or_else(|| format!("{}-{}", host_name(), std::process::id())),
        backend: cli.backend,
        kinds: cli
            .kinds
            .iter()
            .map(|k| match k {
                KindArg::Chunk => JobKind::Chunk,
                KindArg::Aggregation => JobKind::Aggregation,
            })
            .collect(),
        keys_dir: cli.keys_dir,
        dev_srs: cli.dev_srs,
        take_wait: Duration::from_secs(10),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!(target: "prover::worker", "shutting down: handing the lease back");
        let _ = stop_tx.send(true);
    });
    Worker::new(config)?.run(stop_rx).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
