//! `zkr-prover`: a prover worker. Connects to the coordinator, proves the jobs it is given, and exposes its metrics.
//!
//! ```text
//! zkr-prover --config prover.toml
//! zkr-prover --coordinator.url http://127.0.0.1:50051 --auth.token-file token --keys.dir .zkr/keys
//!            [--keys.dev-srs] [--backend auto|gpu|cpu] [--kinds chunk,layer,aggregation] [--metrics.addr 0.0.0.0:9103]
//! ```

use std::{net::SocketAddr, path::PathBuf};

use clap::Parser;
use eyre::Context;
use tokio::sync::watch;
use zkr_gpu_prover::{
    Worker,
    config::{BackendName, KindName, ProverConfig},
};
use zkr_protos::cli::ClientTlsArgs;

/// A prover worker: a TOML file, `ZKR_PROVER_*` variables, then these flags (`zkr_gpu_prover::config`).
#[derive(Debug, Parser)]
#[command(name = "zkr-prover", version, about = "A prover worker of the zkr proving cluster")]
struct Cli {
    /// TOML configuration file (see `zkr_gpu_prover::config`); `ZKR_PROVER_*` variables override it, and the flags
    /// below override both.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The coordinator's gRPC endpoint, `https://` with TLS (`coordinator.url`).
    #[arg(long = "coordinator.url")]
    coordinator_url: Option<String>,
    /// A file holding the cluster's bearer token (`auth.token_file`); the token itself is better given as
    /// `ZKR_PROVER_AUTH__TOKEN`.
    #[arg(long = "auth.token-file")]
    token_file: Option<PathBuf>,
    /// TLS to the coordinator (`tls.ca`, `tls.cert`, `tls.key`, `tls.domain`): the flags `zkr-coordinator ctl`
    /// takes too.
    #[command(flatten)]
    tls: ClientTlsArgs,
    /// The name operators see; default: the host name and process id (`name`).
    #[arg(long)]
    name: Option<String>,
    /// Where the proofs' commitments run: `gpu` (the worker does not start without a usable GPU), `cpu`, or `auto`
    /// (the GPU when one works, else the CPU, logging why) (`backend`).
    #[arg(long, value_enum)]
    backend: Option<BackendName>,
    /// Job kinds to take, comma-separated; default: all (`kinds`).
    #[arg(long, value_enum, value_delimiter = ',')]
    kinds: Option<Vec<KindName>>,
    /// Folder of the SRS and keys (`keys.dir`).
    #[arg(long = "keys.dir")]
    keys_dir: Option<PathBuf>,
    /// Generate an INSECURE SRS when none is in the keys folder, development and CI only (`keys.dev_srs`).
    #[arg(long = "keys.dev-srs")]
    dev_srs: bool,
    /// Serve Prometheus metrics on this address (`metrics.addr`).
    #[arg(long = "metrics.addr")]
    metrics_addr: Option<SocketAddr>,
}

impl Cli {
    fn config(&self) -> eyre::Result<ProverConfig> {
        let flags = zkr_cli::Overrides::new()
            .set("coordinator.url", self.coordinator_url.clone())
            .set("auth.token_file", self.token_file.clone())
            .set("tls.ca", self.tls.tls_ca.clone())
            .set("tls.cert", self.tls.tls_cert.clone())
            .set("tls.key", self.tls.tls_key.clone())
            .set("tls.domain", self.tls.tls_domain.clone())
            .set("name", self.name.clone())
            .set("backend", self.backend)
            .set("kinds", self.kinds.clone())
            .set("keys.dir", self.keys_dir.clone())
            .flag("keys.dev_srs", self.dev_srs)
            .set("metrics.addr", self.metrics_addr);
        ProverConfig::load(self.config.as_deref(), flags).wrap_err("loading the configuration")
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "worker".into())
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    zkr_cli::init_tracing("info");
    let config = Cli::parse().config()?;
    if let Some(addr) = config.metrics.addr {
        zkr_cli::install_metrics(
            Some(addr),
            &[(metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()), zkr_protos::PROVING_BUCKETS)],
        )
        .wrap_err("starting the metrics endpoint")?;
    }
    let worker = config
        .worker(|| format!("{}-{}", host_name(), std::process::id()))
        .map_err(|e| eyre::eyre!("configuration: {e}"))?;
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!(target: "prover::worker", "shutting down: handing the lease back");
        let _ = stop_tx.send(true);
    });
    Worker::new(worker)?.run(stop_rx).await?;
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
