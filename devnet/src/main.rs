//! `zkr-devnet`: the local devnet. It starts anvil as the L1, deploys the rollup's contracts with the real batch
//! verifier, starts the L2 node following the L1's deposits, funds development accounts on L2 through the bridge
//! (real Portal deposits, so every L2 balance is backed on L1), starts the proving cluster (`zkr-coordinator` and N
//! CPU `zkr-prover` workers), sends a load of transfers, and shows progress until batches are finalized on L1 with
//! real proofs. Ctrl-C stops everything it started.

#![allow(clippy::print_stdout)]

mod cluster;

use std::{path::PathBuf, process::Command, sync::Arc, time::Duration};

use alloy::{
    network::EthereumWallet,
    primitives::{B256, U256},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use clap::Parser;
use eyre::{WrapErr, eyre};
use zkr_contracts::{
    DeployConfig, Deployment, DisputeParams, OptimisticRollup, Portal, Rollup, SettlementMode, deploy_batch_verifier,
    deploy_l1,
};
use zkr_devtools::Anvil;
use zkr_node::{
    L1Config, Node, NodeConfig, RpcConfig,
    batcher::{BatchLimits, BatcherConfig, ProposerConfig, run_batcher, run_proposer},
    run_sequencer, start_rpc, watch_deposits,
};
use zkr_protocol::ProofShape;

/// Starts a local devnet: anvil as the L1 with the rollup's contracts, the L2 node, and the proving cluster.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port of the L1 JSON-RPC endpoint (anvil).
    #[arg(long = "l1.port", default_value_t = 8545)]
    l1_port: u16,
    /// L1 block time in seconds; by default anvil mines a block per transaction.
    #[arg(long = "l1.block-time")]
    l1_block_time: Option<u64>,
    /// Port of the L2 JSON-RPC endpoint (the node).
    #[arg(long = "l2.port", default_value_t = 8547)]
    l2_port: u16,
    /// Milliseconds between L2 blocks.
    #[arg(long = "l2.block-time-ms", default_value_t = 250)]
    l2_block_time_ms: u64,
    /// ETH each of the first development accounts deposits to its own address on L2 at startup.
    #[arg(long = "fund.eth", default_value_t = 100)]
    fund_eth: u64,
    /// How many development accounts are funded on L2.
    #[arg(long = "fund.accounts", default_value_t = 2)]
    fund_accounts: usize,
    /// Seconds after which the batcher seals a batch of the blocks so far.
    #[arg(long = "batch.max-age-secs", default_value_t = 5)]
    batch_max_age_secs: u64,
    /// Folder for the deployment file, the databases and the logs (the databases are recreated at start: the L1 is
    /// new each run).
    #[arg(long, default_value = ".devnet")]
    dir: PathBuf,
    /// Prover workers (CPU) to start; 0 runs no cluster (batches are committed but never finalized).
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Folder of the SRS, the proving keys and the batch verifier; kept across runs (the first run makes them, which
    /// takes several minutes).
    #[arg(long = "keys.dir", default_value = ".zkr/keys")]
    keys_dir: PathBuf,
    /// log2 rows of the chunk circuit (the proof shape is written into the deployment file, which the node and the
    /// coordinator read; the default is CI's).
    #[arg(long, default_value_t = ProofShape::CI.chunk_k)]
    chunk_k: u32,
    /// Record slots per chunk.
    #[arg(long, default_value_t = ProofShape::CI.chunk_slots)]
    chunk_slots: usize,
    /// Chunks per batch (the aggregation of 2 needs about 20 GiB of memory on the CPU backend).
    #[arg(long, default_value_t = ProofShape::CI.chunks_per_batch)]
    chunks_per_batch: usize,
    /// log2 rows of the aggregation circuit.
    #[arg(long, default_value_t = ProofShape::CI.aggregation_k)]
    aggregation_k: u32,
    /// An aggregation layer between the chunk proofs and the batch proof: `<chunks per group>:<k>` (none by default).
    #[arg(long)]
    layer: Option<zkr_protocol::LayerShape>,
    /// Transfers the load sends between the funded accounts.
    #[arg(long = "load.txs", default_value_t = 4)]
    load_txs: usize,
    /// Milliseconds between the load's transfers.
    #[arg(long = "load.interval-ms", default_value_t = 1_000)]
    load_interval_ms: u64,
    /// The coordinator's gRPC port.
    #[arg(long = "coordinator.port", default_value_t = 50051)]
    coordinator_port: u16,
    /// The coordinator's HTTP port: status page, JSON and metrics.
    #[arg(long = "status.port", default_value_t = 9102)]
    status_port: u16,
    /// The node's Prometheus port; the workers take the ports after the status port.
    #[arg(long = "metrics.port", default_value_t = 9101)]
    metrics_port: u16,
    /// Stop (exit 0) once this many batches are finalized on L1; 0 runs until Ctrl-C.
    #[arg(long, default_value_t = 0)]
    exit_after_finalized: u64,
    /// How batches become final: `zk` (each with a validity proof) or `optimistic` (outputs proposed with a bond,
    /// final after the challenge window; a challenged output is settled by a validity proof from the cluster).
    #[arg(long, default_value = "zk")]
    mode: SettlementMode,
    /// Optimistic mode: seconds an output may be challenged.
    #[arg(long = "dispute.challenge-window-secs", default_value_t = 30)]
    challenge_window_secs: u64,
    /// Optimistic mode: seconds a challenged output has to be proven (a batch proof takes minutes on the CPU).
    #[arg(long = "dispute.proving-window-secs", default_value_t = 1800)]
    proving_window_secs: u64,
    /// Optimistic mode: the proposer posts a wrong state root for this batch (once), so the challenge, the failed
    /// defence and the slashing can be watched; the proposer then posts the right one.
    #[arg(long = "wrong-root-at")]
    wrong_root_at: Option<u64>,
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    zkr_cli::init_tracing("info,node::sequencer=warn,zkevm_hashes=warn");
    let args = Args::parse();

    let mut anvil = Anvil::new().port(args.l1_port);
    if let Some(seconds) = args.l1_block_time {
        anvil = anvil.block_time(seconds);
    }
    let anvil = anvil.spawn().wrap_err("starting anvil (is the port free?)")?;
    tracing::info!(endpoint = anvil.endpoint(), chain_id = anvil.chain_id(), "L1 (anvil) is up");

    let keys: Vec<PrivateKeySigner> =
        anvil.private_keys().iter().map(|k| k.parse()).collect::<Result<_, _>>().wrap_err("anvil's dev keys")?;
    let operator = keys.first().ok_or_else(|| eyre!("anvil printed no development keys"))?.clone();
    let l1 = |signer: &PrivateKeySigner| {
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer.clone()))
            .connect_http(anvil.endpoint().parse().expect("anvil's endpoint is a URL"))
    };

    // A fresh L1 means a fresh L2: remove the previous devnet's node database, and nothing else.
    let node_dir = args.dir.join("node");
    let database = node_dir.join(zkr_node::DB_FILE);
    if database.exists() {
        std::fs::remove_file(&database).wrap_err_with(|| format!("removing {}", database.display()))?;
    }
    let coordinator_db = args.dir.join("coordinator.sqlite");
    for stale in [
        coordinator_db.clone(),
        coordinator_db.with_extension("sqlite-wal"),
        coordinator_db.with_extension("sqlite-shm"),
    ] {
        if stale.exists() {
            std::fs::remove_file(&stale).wrap_err_with(|| format!("removing {}", stale.display()))?;
        }
    }
    let node_config = NodeConfig { data_dir: node_dir, ..NodeConfig::default() };
    let shape = ProofShape {
        chunk_slots: args.chunk_slots,
        chunk_k: args.chunk_k,
        chunks_per_batch: args.chunks_per_batch,
        aggregation_k: args.aggregation_k,
        layer: args.layer,
    };
    shape.validate().map_err(|e| eyre!("proof shape: {e}"))?;
    let limits = BatchLimits::from(shape);
    let mut spec = node_config.chain_spec().map_err(|e| eyre!(e))?;
    spec.fit_blocks_to(limits);
    let mut genesis = spec.genesis_state()?;
    let genesis_root = B256::from(zkr_state::field::fr_to_b256(&genesis.root()?));

    // anvil's first development account deploys and sequences; the fourth is the coordinator's key (the prover in
    // the ZK mode, the challenger and defender in the optimistic mode); the third proposes outputs.
    let prover = keys.get(3).ok_or_else(|| eyre!("anvil printed fewer than 4 development keys"))?.clone();
    let proposer = keys[2].clone();
    if args.mode == SettlementMode::Zk && args.wrong_root_at.is_some() {
        return Err(eyre!("--wrong-root-at is for --mode optimistic"));
    }
    let mut deploy = DeployConfig::new(genesis_root);
    deploy.shape = shape;
    deploy.mode = args.mode;
    deploy.sequencers = vec![operator.address()];
    match args.mode {
        SettlementMode::Zk => deploy.provers = vec![operator.address(), prover.address()],
        SettlementMode::Optimistic => {
            deploy.proposers = vec![proposer.address()];
            deploy.dispute = DisputeParams {
                challenge_window: args.challenge_window_secs,
                proving_window: args.proving_window_secs,
                ..DisputeParams::DEFAULT
            };
        }
    }
    if args.workers > 0 {
        let (keys_dir, fee_recipient) = (args.keys_dir.clone(), spec.fee_recipient);
        let parts =
            tokio::task::spawn_blocking(move || cluster::verifier_parts(shape, &keys_dir, fee_recipient)).await??;
        let public_inputs = zkr_protocol::statement::batch_statement_len(limits.chunks_per_batch);
        let verifier = deploy_batch_verifier(&l1(&operator), operator.address(), &parts, public_inputs)
            .await
            .wrap_err("deploying the batch verifier")?;
        tracing::info!(verifier = %verifier.verifier, parts = verifier.parts.len(), "batch verifier deployed");
        deploy.verifier = Some(verifier.verifier);
    }
    let deployment =
        deploy_l1(&l1(&operator), operator.address(), &deploy).await.wrap_err("deploying the L1 contracts")?;
    let deployment_file = args.dir.join("l1.json");
    deployment.save(&deployment_file)?;

    let node = Arc::new(Node::open(spec.clone(), &node_config.data_dir)?);
    zkr_node::metrics::install_prometheus(([127, 0, 0, 1], args.metrics_port).into())
        .wrap_err("starting the node's metrics endpoint (is the port free?)")?;
    let rpc = RpcConfig { addr: ([127, 0, 0, 1], args.l2_port).into(), ..node_config.rpc.clone() };
    let (l2_addr, rpc_handle) =
        start_rpc(node.clone(), rpc).await.wrap_err("starting the L2 JSON-RPC (is the port free?)")?;
    let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    let l1_config = L1Config {
        rpc_url: anvil.endpoint().to_string(),
        portal: deployment.portal,
        from_block: deployment.deployment_block,
        confirmations: 0,
        poll_interval: Duration::from_millis(200),
        max_block_range: 2_000,
    };
    tokio::spawn(watch_deposits(node.clone(), l1_config, shutdown_rx.clone()));
    let batcher = BatcherConfig {
        rpc_url: anvil.endpoint().to_string(),
        rollup: deployment.rollup,
        signer: operator.clone(),
        limits,
        max_batch_age: Duration::from_secs(args.batch_max_age_secs),
        poll_interval: Duration::from_millis(500),
        resubmit_after: Duration::from_secs(30),
        fee_bump_percent: 15,
    };
    tokio::spawn(run_batcher(node.clone(), batcher, shutdown_rx.clone()));
    if args.mode == SettlementMode::Optimistic {
        let proposer = ProposerConfig {
            rpc_url: anvil.endpoint().to_string(),
            rollup: deployment.rollup,
            signer: proposer.clone(),
            poll_interval: Duration::from_millis(500),
            wrong_root_batches: args.wrong_root_at.into_iter().collect(),
        };
        tokio::spawn(run_proposer(node.clone(), proposer, shutdown_rx.clone()));
    }
    let sequencer =
        tokio::spawn(run_sequencer(node.clone(), Duration::from_millis(args.l2_block_time_ms), shutdown_rx));

    // Fund the first development accounts on L2 through the bridge.
    let funded: Vec<_> = keys.iter().take(args.fund_accounts).collect();
    let amount = U256::from(args.fund_eth) * U256::from(10u64).pow(U256::from(18));
    for key in &funded {
        let portal = Portal::new(deployment.portal, l1(key));
        portal.depositETH(key.address()).value(amount).send().await?.get_receipt().await?;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while node.head().deposit_count < funded.len() as u64 {
        if std::time::Instant::now() > deadline {
            return Err(eyre!("the node did not credit the devnet's deposits"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The proving cluster: the coordinator follows the Rollup and finalizes with the prover key; worker 0 also
    // aggregates, the others prove chunks only (an aggregation holds ~11 GiB on the CPU backend).
    let logs = args.dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let mut processes = Vec::new();
    if args.workers > 0 {
        let token_file = args.dir.join("token");
        std::fs::write(&token_file, cluster::random_token()?)?;
        let genesis_file = args.dir.join("genesis.json");
        std::fs::write(&genesis_file, serde_json::to_vec_pretty(&spec.genesis())?)?;
        processes.push(cluster::Process::spawn(
            "coordinator",
            Command::new(cluster::binary("zkr-coordinator")?)
                .arg("run")
                .arg("--auth.token-file")
                .arg(&token_file)
                .arg("--deployment")
                .arg(&deployment_file)
                .arg("--genesis")
                .arg(&genesis_file)
                .arg("--db")
                .arg(&coordinator_db)
                .arg("--keys.dir")
                .arg(&args.keys_dir)
                .args(["--l1.poll-ms", "500"])
                .arg(format!("--grpc.addr=127.0.0.1:{}", args.coordinator_port))
                .arg(format!("--http.addr=127.0.0.1:{}", args.status_port))
                .arg(format!("--l1.rpc-url={}", anvil.endpoint()))
                .env("ZKR_COORDINATOR_L1__SIGNER_KEY", B256::from_slice(&prover.to_bytes()[..]).to_string()),
            &logs,
        )?);
        for i in 0..args.workers {
            let name = format!("worker-{i}");
            let mut command = Command::new(cluster::binary("zkr-prover")?);
            command
                .arg(format!("--coordinator.url=http://127.0.0.1:{}", args.coordinator_port))
                .arg("--auth.token-file")
                .arg(&token_file)
                .arg("--keys.dir")
                .arg(&args.keys_dir)
                .args(["--keys.dev-srs", "--backend", "cpu", "--name", &name])
                .arg(format!("--metrics.addr=127.0.0.1:{}", args.status_port as usize + 1 + i));
            if i > 0 {
                command.args(["--kinds", "chunk"]);
            }
            processes.push(cluster::Process::spawn(&name, &mut command, &logs)?);
        }
    }

    let l1_block = l1(&operator).get_block_number().await?;
    print_summary(
        &deployment,
        anvil.endpoint(),
        &format!("http://{l2_addr}"),
        &deployment_file,
        l1_block,
        &funded,
        args.fund_eth,
    );
    if !processes.is_empty() {
        println!("  proving cluster   coordinator and {} CPU workers; logs in {}", args.workers, logs.display());
        println!("  status page       http://127.0.0.1:{}/", args.status_port);
        println!("  dashboards        docker compose -f deploy/docker-compose.yml up -d; http://127.0.0.1:3000");
        println!("  ----------------------------------------------------------------");
    }

    // The load: transfers between the funded accounts, one per interval.
    let load = {
        let node = node.clone();
        let senders: Vec<PrivateKeySigner> = funded.iter().map(|k| (*k).clone()).collect();
        let (count, interval, chain_id) = (args.load_txs, Duration::from_millis(args.load_interval_ms), spec.chain_id);
        tokio::spawn(async move {
            for i in 0..count {
                let Some(from) = senders.get(i % senders.len().max(1)) else { return };
                let to = senders[(i + 1) % senders.len()].address();
                let nonce = node.pending_nonce(&from.address());
                let tx = zkr_node::dev::signed_transfer(from, chain_id, nonce, to, 1_000_000_000_000_000);
                if let Err(err) = node.submit(&tx) {
                    tracing::warn!(%err, "load: a transfer was refused");
                }
                tokio::time::sleep(interval).await;
            }
            tracing::info!(transfers = count, "load sent");
        })
    };

    let rollup = Rollup::new(deployment.rollup, l1(&operator));
    let mut disputes = (args.mode == SettlementMode::Optimistic).then(|| DisputeLog::new(deployment.rollup, l1_block));
    let started = std::time::Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    // A line when something changed, and at least every 30 s.
    let (mut last_line, mut last_print) = (String::new(), std::time::Instant::now());
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c, sequencer);
    let outcome: eyre::Result<()> = loop {
        tokio::select! {
            result = &mut ctrl_c => break result.map_err(Into::into),
            result = &mut sequencer => break result.map_err(eyre::Report::from).and_then(|r| r.map_err(Into::into)),
            _ = ticker.tick() => {}
        }
        if let Some(process) = processes.iter_mut().find(|p| p.name == "coordinator")
            && let Some(status) = process.exited()
        {
            break Err(eyre!("the coordinator exited ({status}); its log: {}", process.log.display()));
        }
        for process in processes.iter_mut().filter(|p| p.name != "coordinator") {
            if let Some(status) = process.exited() {
                tracing::warn!(worker = process.name, %status, log = %process.log.display(), "a worker exited");
            }
        }
        let committed = rollup.lastCommittedBatch().call().await.unwrap_or_default();
        let finalized = rollup.lastFinalizedBatch().call().await.unwrap_or_default();
        let cluster = if processes.is_empty() { String::new() } else { progress(args.status_port).await };
        let outputs = match &mut disputes {
            Some(log) => {
                let provider = l1(&operator);
                log.print_new(&provider, started).await;
                let optimistic = OptimisticRollup::new(deployment.rollup, &provider);
                let next = optimistic.nextOutputBatch().call().await.unwrap_or_default();
                format!(", outputs proposed {:>3}", next.saturating_sub(1))
            }
            None => String::new(),
        };
        let line = format!(
            "L2 block {:>4} | batches committed {committed:>3}{outputs}, finalized {finalized:>3}{cluster}",
            node.head().header.number
        );
        if line != last_line || last_print.elapsed() >= Duration::from_secs(30) {
            println!("[{:>5}s] {line}", started.elapsed().as_secs());
            (last_line, last_print) = (line, std::time::Instant::now());
        }
        if args.exit_after_finalized > 0 && finalized >= args.exit_after_finalized {
            match args.mode {
                SettlementMode::Zk => println!("{finalized} batches finalized on L1 with real proofs"),
                SettlementMode::Optimistic => println!("{finalized} outputs final on L1"),
            }
            break Ok(());
        }
    };
    load.abort();
    if !processes.is_empty() {
        print!("{}", batch_summary(args.status_port).await);
    }
    println!("\nstopping: {} cluster processes, the L2 node, anvil (pid {}) ...", processes.len(), anvil.pid());
    let stopping = tokio::task::spawn_blocking(move || {
        for process in processes.iter_mut().rev() {
            process.stop(Duration::from_secs(10));
        }
    });
    let _ = stopping.await;
    let _ = shutdown.send(true);
    let _ = rpc_handle.stop();
    drop(anvil);
    outcome
}

/// Prints the optimistic dispute game's events as they happen: proposals, challenges, proofs, losses and payouts.
struct DisputeLog {
    rollup: alloy::primitives::Address,
    from_block: u64,
}

impl DisputeLog {
    const fn new(rollup: alloy::primitives::Address, from_block: u64) -> Self {
        Self { rollup, from_block }
    }

    async fn print_new(&mut self, provider: &impl Provider, started: std::time::Instant) {
        use OptimisticRollup::{Credited, OutputChallenged, OutputFinalized, OutputLost, OutputProposed, OutputProven};
        let Ok(head) = provider.get_block_number().await else { return };
        if head < self.from_block {
            return;
        }
        let filter = alloy::rpc::types::Filter::new().address(self.rollup).from_block(self.from_block).to_block(head);
        let Ok(logs) = provider.get_logs(&filter).await else { return };
        self.from_block = head + 1;
        let eth = |wei: U256| format!("{:.3} ETH", f64::from(wei) / 1e18);
        for log in logs {
            let at = format!("[{:>5}s]", started.elapsed().as_secs());
            let line = if let Ok(e) = log.log_decode::<OutputProposed>() {
                let e = e.inner.data;
                format!("output {} of batch {} proposed: state root {}", e.outputId, e.batchIndex, e.stateRoot)
            } else if let Ok(e) = log.log_decode::<OutputChallenged>() {
                let e = e.inner.data;
                format!("output {} of batch {} CHALLENGED by {}", e.outputId, e.batchIndex, e.challenger)
            } else if let Ok(e) = log.log_decode::<OutputProven>() {
                let e = e.inner.data;
                format!("output {} of batch {} defended with a validity proof", e.outputId, e.batchIndex)
            } else if let Ok(e) = log.log_decode::<OutputFinalized>() {
                let e = e.inner.data;
                format!(
                    "output {} of batch {} final{}",
                    e.outputId,
                    e.batchIndex,
                    if e.proven { " (proven)" } else { "" }
                )
            } else if let Ok(e) = log.log_decode::<OutputLost>() {
                let e = e.inner.data;
                format!("output {} of batch {} LOST: deleted, proposals resume at its batch", e.outputId, e.batchIndex)
            } else if let Ok(e) = log.log_decode::<Credited>() {
                let e = e.inner.data;
                format!("{} is owed {} of bonds", e.account, eth(e.amount))
            } else {
                continue;
            };
            println!("{at} {line}");
        }
    }
}

/// One line of the cluster's state from the coordinator's `/api/status`.
async fn progress(port: u16) -> String {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(Ok((200, body))) = tokio::task::spawn_blocking(move || zkr_devtools::http_get(addr, "/api/status")).await
    else {
        return " | coordinator starting (loading keys)".into();
    };
    let Ok(status) = serde_json::from_str::<serde_json::Value>(&body) else {
        return " | coordinator: bad status".into();
    };
    let jobs = &status["jobs"];
    let workers = status["workers"].as_array().map_or(0, |w| w.iter().filter(|w| w["connected"] == true).count());
    let latency = status["batches"]
        .as_array()
        .and_then(|batches| {
            batches.iter().find(|b| b["finalizedUnixMs"].as_u64().unwrap_or(0) > 0).map(|b| {
                let ms = b["finalizedUnixMs"]
                    .as_u64()
                    .unwrap_or(0)
                    .saturating_sub(b["committedUnixMs"].as_u64().unwrap_or(0));
                format!(", batch {} commit to finalize {:.0} s", b["index"], ms as f64 / 1e3)
            })
        })
        .unwrap_or_default();
    format!(
        " | jobs queued {}, proving {}, done {} | workers {workers}{latency}",
        jobs["queued"], jobs["leased"], jobs["done"]
    )
}

/// The finalized batches' latencies (commit to proven, commit to finalized on L1) and their mean, from the
/// coordinator's `/api/status`, as a markdown table.
async fn batch_summary(port: u16) -> String {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(Ok((200, body))) = tokio::task::spawn_blocking(move || zkr_devtools::http_get(addr, "/api/status")).await
    else {
        return String::new();
    };
    let Ok(status) = serde_json::from_str::<serde_json::Value>(&body) else { return String::new() };
    let since_commit = |b: &serde_json::Value, field: &str| {
        let (at, committed) = (b[field].as_u64().unwrap_or(0), b["committedUnixMs"].as_u64().unwrap_or(0));
        (at > 0 && committed > 0).then(|| at.saturating_sub(committed) as f64 / 1e3)
    };
    let mut rows: Vec<(u64, f64, f64)> = status["batches"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| {
            Some((b["index"].as_u64()?, since_commit(b, "provenUnixMs")?, since_commit(b, "finalizedUnixMs")?))
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    rows.sort_by_key(|r| r.0);
    let mut out = String::from("\n| batch | commit to proven | commit to finalized |\n|---:|---:|---:|\n");
    for (index, proven, finalized) in &rows {
        out.push_str(&format!("| {index} | {proven:.1} s | {finalized:.1} s |\n"));
    }
    let mean = |f: fn(&(u64, f64, f64)) -> f64| rows.iter().map(f).sum::<f64>() / rows.len() as f64;
    out.push_str(&format!("| mean | {:.1} s | {:.1} s |\n", mean(|r| r.1), mean(|r| r.2)));
    out
}

fn print_summary(
    deployment: &Deployment,
    l1: &str,
    l2: &str,
    file: &std::path::Path,
    l1_block: u64,
    funded: &[&PrivateKeySigner],
    eth: u64,
) {
    println!();
    println!("  zkr devnet");
    println!("  ----------------------------------------------------------------");
    println!("  L1 RPC            {l1} (chain id {}, block {l1_block})", deployment.chain_id);
    println!("  L2 RPC            {l2} (chain id {})", zkr_node::ChainSpec::dev().chain_id);
    println!("  Rollup            {}", deployment.rollup);
    println!("  Portal            {}", deployment.portal);
    match deployment.dispute {
        None => println!("  operator          {} (sequencer, prover, owner)", deployment.owner),
        Some(dispute) => {
            println!(
                "  mode              optimistic: outputs final after a {} s challenge window",
                dispute.challenge_window
            );
            println!(
                "                    a challenged output has {} s to be proven by the cluster",
                dispute.proving_window
            );
            println!("  operator          {} (sequencer, owner)", deployment.owner);
            for proposer in &deployment.proposers {
                println!("  proposer          {proposer}");
            }
        }
    }
    match deployment.verifier {
        Some(verifier) => println!("  verifier          {verifier}"),
        None => println!("  verifier          none yet: batches commit but cannot be finalized"),
    }
    println!("  batcher           commits L2 blocks to the Rollup as batches of chunks of records, every few seconds");
    println!("  deployment file   {}", file.display());
    println!("  funded on L2      {} accounts with {eth} ETH each, deposited through the Portal:", funded.len());
    for key in funded {
        println!("    {}  key {}", key.address(), B256::from_slice(&key.to_bytes()[..]));
    }
    println!("  ----------------------------------------------------------------");
    println!("  send on L2:   .tools/bin/cast send --rpc-url {l2} --private-key <key> <to> --value 1ether");
    println!(
        "  deposit:      .tools/bin/cast send --rpc-url {l1} --private-key <key> {} 'depositETH(address)' <to> --value 1ether",
        deployment.portal
    );
    println!("  Ctrl-C stops the devnet.");
}
