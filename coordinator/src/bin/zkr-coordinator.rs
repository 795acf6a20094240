//! `zkr-coordinator`: the proving coordinator (`run`) and its operator commands (`ctl`).
//!
//! ```text
//! zkr-coordinator run --config coordinator.toml     # or flags: --deployment l1.json --genesis genesis.json ...
//! zkr-coordinator ctl status | jobs [--state failed] | requeue <JOB> | cancel <JOB> | drain <WORKER>
//! ```

// A command-line tool: `ctl` prints tables for the person running it.
#![allow(clippy::print_stdout)]

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use alloy::{
    network::EthereumWallet,
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use clap::{Args, Parser, Subcommand, ValueEnum};
use eyre::{Context, bail};
use tokio::sync::watch;
use zkr_circuits::{keys::KeysConfig, verifier::Verifier};
use zkr_coordinator::{
    BearerAuth, Coordinator, TlsFiles,
    chain::{ChainConfig, lead},
    checker::CircuitChecker,
    config::CoordinatorConfig,
    metrics,
    store::{Location, Policy, Store},
};
use zkr_protos::{
    ClientTls,
    cli::{ClientTlsArgs, TokenArgs},
    v1::{self as pb, operator_client::OperatorClient},
};

#[derive(Debug, Parser)]
#[command(name = "zkr-coordinator", version, about = "The zkr proving coordinator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the coordinator.
    Run(Box<RunArgs>),
    /// Operator commands against a running coordinator.
    Ctl(CtlArgs),
}

/// `zkr-coordinator run`: a TOML file, `ZKR_COORDINATOR_*` variables, then these flags (`coordinator::config`).
#[derive(Debug, Args)]
struct RunArgs {
    /// TOML configuration file (see `zkr_coordinator::config`); `ZKR_COORDINATOR_*` variables override it, and the
    /// flags below override both.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The deployment file `zkr-deploy` wrote: the Rollup, and the proof shape every component uses (`deployment`).
    #[arg(long)]
    deployment: Option<PathBuf>,
    /// The chain's genesis, JSON of `zkr_protocol::Genesis` (`genesis`).
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// The store: an SQLite file, or a Postgres URL several coordinators share (`db`, `ZKR_COORDINATOR_DB`).
    #[arg(long)]
    db: Option<String>,
    /// Folder of the compiled verifying keys (`keys.dir`).
    #[arg(long = "keys.dir")]
    keys_dir: Option<PathBuf>,
    /// A file holding the cluster's bearer token (`auth.token_file`); the token itself is better given as
    /// `ZKR_COORDINATOR_AUTH__TOKEN`.
    #[arg(long = "auth.token-file")]
    token_file: Option<PathBuf>,
    /// gRPC listen address, workers and operators (`grpc.addr`).
    #[arg(long = "grpc.addr")]
    grpc_addr: Option<SocketAddr>,
    /// HTTP listen address: the status page (`/`), its JSON (`/api/status`), Prometheus metrics (`/metrics`) and
    /// `/healthz` (`http.addr`). Read-only and unauthenticated: bind it where only operators reach it.
    #[arg(long = "http.addr")]
    http_addr: Option<SocketAddr>,
    /// TLS certificate chain, PEM (`tls.cert`); with `--tls.key`, the gRPC port serves TLS only.
    #[arg(long = "tls.cert", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of `--tls.cert`, PEM (`tls.key`).
    #[arg(long = "tls.key", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The CA that signs the workers' certificates, PEM (`tls.client_ca`): every gRPC client must present one.
    #[arg(long = "tls.client-ca")]
    tls_client_ca: Option<PathBuf>,
    /// L1 JSON-RPC endpoint (`l1.rpc_url`).
    #[arg(long = "l1.rpc-url")]
    l1_rpc_url: Option<String>,
    /// Confirmations before a committed batch is proven (`l1.confirmations`).
    #[arg(long = "l1.confirmations")]
    l1_confirmations: Option<u64>,
    /// How often to poll L1, ms (`l1.poll_ms`).
    #[arg(long = "l1.poll-ms")]
    l1_poll_ms: Option<u64>,
    /// A lease lapses this long after its last heartbeat, ms (`jobs.lease_ttl_ms`).
    #[arg(long = "jobs.lease-ttl-ms")]
    lease_ttl_ms: Option<u64>,
    /// Attempts per job (`jobs.max_attempts`).
    #[arg(long = "jobs.max-attempts")]
    max_attempts: Option<u32>,
}

impl RunArgs {
    /// The file, the environment and these flags, merged.
    fn config(&self) -> eyre::Result<CoordinatorConfig> {
        let flags = zkr_cli::Overrides::new()
            .set("deployment", self.deployment.clone())
            .set("genesis", self.genesis.clone())
            .set("db", self.db.clone())
            .set("keys.dir", self.keys_dir.clone())
            .set("auth.token_file", self.token_file.clone())
            .set("grpc.addr", self.grpc_addr)
            .set("http.addr", self.http_addr)
            .set("tls.cert", self.tls_cert.clone())
            .set("tls.key", self.tls_key.clone())
            .set("tls.client_ca", self.tls_client_ca.clone())
            .set("l1.rpc_url", self.l1_rpc_url.clone())
            .set("l1.confirmations", self.l1_confirmations)
            .set("l1.poll_ms", self.l1_poll_ms)
            .set("jobs.lease_ttl_ms", self.lease_ttl_ms)
            .set("jobs.max_attempts", self.max_attempts);
        CoordinatorConfig::load(self.config.as_deref(), flags).wrap_err("loading the configuration")
    }
}

#[derive(Debug, Args)]
struct CtlArgs {
    #[command(flatten)]
    token: TokenArgs,
    /// The coordinator's gRPC endpoint (`https://` with TLS).
    #[arg(long = "coordinator.url", default_value = "http://127.0.0.1:50051")]
    coordinator: String,
    #[command(flatten)]
    tls: ClientTlsArgs,
    #[command(subcommand)]
    action: CtlAction,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StateArg {
    Queued,
    Leased,
    Done,
    Failed,
    Cancelled,
}

#[derive(Debug, Subcommand)]
enum CtlAction {
    /// Queue, workers and recent batches.
    Status,
    /// Jobs, newest first.
    Jobs {
        /// Only jobs in this state.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        /// Only this batch's jobs.
        #[arg(long)]
        batch: Option<u64>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Puts a failed or cancelled job back in the queue with a fresh retry budget.
    Requeue {
        /// The job id (e.g. b12-c0).
        job: String,
    },
    /// Stops a job.
    Cancel {
        /// The job id.
        job: String,
    },
    /// Lets a worker finish what it holds and gives it nothing new.
    Drain {
        /// The worker's session id or name.
        worker: String,
    },
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    zkr_cli::init_tracing("info");
    match Cli::parse().command {
        Command::Run(args) => run(*args).await,
        Command::Ctl(args) => ctl(args).await,
    }
}

async fn run(args: RunArgs) -> eyre::Result<()> {
    let config = args.config()?;
    let required = config.check().map_err(|e| eyre::eyre!(e))?;
    let token = config.token().map_err(|e| eyre::eyre!(e))?;
    let (deployment_file, genesis_file) = (required.deployment, required.genesis);
    let deployment = zkr_contracts::Deployment::load(deployment_file).wrap_err("reading the deployment file")?;
    let genesis: zkr_protocol::Genesis = serde_json::from_slice(
        &std::fs::read(genesis_file).wrap_err_with(|| format!("reading {}", genesis_file.display()))?,
    )
    .wrap_err("parsing the genesis file")?;
    let tls = config.tls.as_ref().map(TlsFiles::load).transpose()?;
    let signer: PrivateKeySigner = required.signer_key.parse().wrap_err("parsing l1.signer_key")?;
    let account = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(config.l1.rpc_url.parse().wrap_err("parsing l1.rpc_url")?)
        .erased();
    let chain_id = provider.get_chain_id().await.wrap_err("reaching L1")?;
    if chain_id != deployment.chain_id {
        bail!("L1 is chain {chain_id}, the deployment file is for chain {}", deployment.chain_id);
    }

    let metrics_handle = metrics::install_prometheus().wrap_err("installing the metrics recorder")?;
    let keys = KeysConfig {
        dir: config.keys.dir.clone(),
        shape: deployment.shape,
        fee_recipient: genesis.fee_recipient,
        dev_srs: false,
    };
    let started = std::time::Instant::now();
    let verifier = tokio::task::spawn_blocking(move || Verifier::load(&keys))
        .await?
        .wrap_err("loading the verifying keys to check proofs")?;
    tracing::info!(
        target: "coordinator",
        dir = %config.keys.dir.display(),
        ms = started.elapsed().as_millis() as u64,
        "verifying keys loaded"
    );
    let setup = pb::ProverSetup::new(&deployment.shape, genesis.fee_recipient.to_vec());
    let policy =
        Policy { lease_ttl_ms: config.jobs.lease_ttl_ms, max_attempts: config.jobs.max_attempts, ..Policy::default() };
    let location: Location = config.db.parse()?;
    let db = location.clone();
    let store = tokio::task::spawn_blocking(move || -> zkr_coordinator::Result<Store> {
        let store = Store::open_at(&location, policy)?;
        // Time spent down does not count against the workers.
        store.resume(zkr_coordinator::now_ms())?;
        Ok(store)
    })
    .await?
    .wrap_err_with(|| format!("opening the store at {db}"))?;
    tracing::info!(target: "coordinator", %db, "store open");
    let store = Arc::new(store);
    let coordinator = Arc::new(Coordinator::new(store, Arc::new(CircuitChecker::new(verifier)), setup));

    let chain = ChainConfig {
        rollup: deployment.rollup,
        from_block: deployment.deployment_block,
        confirmations: config.l1.confirmations,
        poll_interval: Duration::from_millis(config.l1.poll_ms),
        genesis,
        chunk_slots: deployment.shape.chunk_slots,
        chunks_per_batch: deployment.shape.chunks_per_batch,
        max_block_range: 10_000,
        mode: deployment.mode,
        disputes: config.optimistic.into(),
        account,
    };
    tracing::info!(target: "coordinator", mode = %deployment.mode, %account, "settlement");
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut chain_tasks = tokio::spawn(lead(Arc::clone(&coordinator), provider, chain, stop_rx.clone()));
    tokio::spawn(Arc::clone(&coordinator).run_housekeeping());
    let mut http_stop = stop_rx.clone();
    let (http_addr, mut http) = zkr_coordinator::http::start_http(
        config.http.addr,
        Arc::clone(&coordinator),
        Some(metrics_handle),
        async move {
            let _ = http_stop.changed().await;
        },
    )
    .await
    .wrap_err_with(|| format!("binding the HTTP address {}", config.http.addr))?;
    let mut server_stop = stop_rx.clone();
    let mut server = tokio::spawn(zkr_coordinator::serve(
        config.grpc.addr,
        coordinator,
        BearerAuth::new([token]),
        tls,
        Box::pin(async move {
            let _ = server_stop.changed().await;
        }),
    ));
    tracing::info!(target: "coordinator", grpc = %config.grpc.addr, status = %format!("http://{http_addr}/"), "coordinator running");

    let outcome = tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        done = &mut chain_tasks => done.map_err(eyre::Report::from).and_then(|r| r.map_err(Into::into)),
        done = &mut server => done.map_err(eyre::Report::from).and_then(|r| r.map_err(Into::into)),
        done = &mut http => done.map_err(eyre::Report::from).and_then(|r| r.map_err(Into::into)),
    };
    let _ = stop_tx.send(true);
    outcome
}

async fn ctl(args: CtlArgs) -> eyre::Result<()> {
    let token: tonic::metadata::MetadataValue<_> =
        zkr_protos::bearer(&args.token.read().map_err(|e| eyre::eyre!(e))?).parse()?;
    let channel = ClientTls::from(args.tls)
        .endpoint(&args.coordinator)
        .map_err(|e| eyre::eyre!(e))?
        .connect()
        .await
        .wrap_err_with(|| format!("connecting to {}", args.coordinator))?;
    let mut client = OperatorClient::with_interceptor(channel, move |mut request: tonic::Request<()>| {
        request.metadata_mut().insert(zkr_protos::AUTHORIZATION, token.clone());
        Ok(request)
    });
    match args.action {
        CtlAction::Status => {
            let status = client.status(pb::StatusRequest {}).await?.into_inner();
            println!(
                "jobs: {} queued, {} leased, {} done, {} failed, {} cancelled",
                status.queued, status.leased, status.done, status.failed, status.cancelled
            );
            println!("\n{:<28} {:<6} {:<10} {:<9} jobs", "worker", "backend", "connected", "draining");
            for w in &status.workers {
                let backend = pb::Backend::try_from(w.backend).map_or("?", |b| match b {
                    pb::Backend::Cpu => "cpu",
                    pb::Backend::Cuda => "cuda",
                    pb::Backend::Unspecified => "?",
                });
                println!(
                    "{:<28} {:<6} {:<10} {:<9} {}",
                    w.worker_id,
                    backend,
                    w.connected,
                    w.draining,
                    w.jobs.join(",")
                );
            }
            println!("\n{:<8} {:<11} {:<7} {:<18} finalize tx", "batch", "state", "chunks", "commit to final");
            for b in &status.batches {
                let latency = if b.finalized_unix_ms > 0 {
                    format!("{:.1} s", b.finalized_unix_ms.saturating_sub(b.committed_unix_ms) as f64 / 1e3)
                } else {
                    "-".into()
                };
                let mut chunks = format!("{}/{}", b.chunks_proven, b.chunks);
                if b.groups > 0 {
                    chunks.push_str(&format!(" ({}/{} layer)", b.groups_proven, b.groups));
                }
                println!("{:<8} {:<11} {:<7} {:<18} {}", b.batch_index, b.state, chunks, latency, b.finalize_tx);
            }
            if !status.latency.is_empty() {
                println!("\nproving latency (lease to accepted proof, recent jobs):");
                for l in &status.latency {
                    let kind = pb::JobKind::try_from(l.kind).map_or("?", |k| match k {
                        pb::JobKind::Chunk => "chunk",
                        pb::JobKind::Aggregation => "aggregation",
                        pb::JobKind::Layer => "layer",
                        pb::JobKind::Unspecified => "?",
                    });
                    println!(
                        "  {kind:<12} {:>4} jobs  p50 {:>8.1} s  p95 {:>8.1} s  max {:>8.1} s  last {:>8.1} s",
                        l.samples, l.p50_seconds, l.p95_seconds, l.max_seconds, l.last_seconds
                    );
                }
            }
        }
        CtlAction::Jobs { state, batch, limit } => {
            let state = state.map_or(pb::JobState::Unspecified, |s| match s {
                StateArg::Queued => pb::JobState::Queued,
                StateArg::Leased => pb::JobState::Leased,
                StateArg::Done => pb::JobState::Done,
                StateArg::Failed => pb::JobState::Failed,
                StateArg::Cancelled => pb::JobState::Cancelled,
            });
            let jobs = client
                .list_jobs(pb::ListJobsRequest { state: state as i32, batch_index: batch, limit })
                .await?
                .into_inner()
                .jobs;
            println!("{:<14} {:<10} {:<9} {:<28} last error", "job", "state", "attempts", "worker");
            for j in jobs {
                let state = pb::JobState::try_from(j.state).map_or("?".to_owned(), |s| format!("{s:?}").to_lowercase());
                println!("{:<14} {:<10} {:<9} {:<28} {}", j.job_id, state, j.attempts, j.worker_id, j.last_error);
            }
        }
        CtlAction::Requeue { job } => {
            let job = client.requeue_job(pb::JobRequest { job_id: job }).await?.into_inner().job;
            println!("requeued {}", job.map(|j| j.job_id).unwrap_or_default());
        }
        CtlAction::Cancel { job } => {
            let job = client.cancel_job(pb::JobRequest { job_id: job }).await?.into_inner().job;
            println!("cancelled {}", job.map(|j| j.job_id).unwrap_or_default());
        }
        CtlAction::Drain { worker } => {
            let worker = client.drain_worker(pb::DrainWorkerRequest { worker }).await?.into_inner().worker;
            println!("draining {}", worker.map(|w| w.worker_id).unwrap_or_default());
        }
    }
    Ok(())
}
