//! `zkr-devnet`: the local devnet. It starts anvil as the L1, deploys the rollup's contracts, starts the L2 node
//! following the L1's deposits, and funds the development accounts on L2 through the bridge (real Portal deposits,
//! so every L2 balance is backed on L1). The coordinator and prover workers join it as they land. Ctrl-C stops
//! everything it started.

#![allow(clippy::print_stdout)]

use std::{path::PathBuf, sync::Arc, time::Duration};

use alloy::{
    network::EthereumWallet,
    primitives::{B256, U256},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use clap::Parser;
use eyre::{WrapErr, eyre};
use zkr_contracts::{DeployConfig, Deployment, Portal, deploy_l1};
use zkr_devtools::Anvil;
use zkr_node::{
    L1Config, Node, NodeConfig, RpcConfig,
    batcher::{BatchLimits, BatcherConfig, run_batcher},
    run_sequencer, start_rpc, watch_deposits,
};

/// Starts a local devnet: anvil as the L1 with the rollup's contracts, and the L2 node.
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
    #[arg(long = "fund.accounts", default_value_t = 4)]
    fund_accounts: usize,
    /// Seconds after which the batcher seals a batch of the blocks so far.
    #[arg(long = "batch.max-age-secs", default_value_t = 5)]
    batch_max_age_secs: u64,
    /// Folder for the deployment file and the node's database (the database is recreated at start: the L1 is new
    /// each run).
    #[arg(long, default_value = ".devnet")]
    dir: PathBuf,
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,zkr_node=info".into()),
        )
        .init();
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
    let node_config = NodeConfig { data_dir: node_dir, ..NodeConfig::default() };
    let spec = node_config.chain_spec();
    let mut genesis = spec.genesis_state()?;
    let genesis_root = B256::from(zkr_state::field::fr_to_b256(&genesis.root()?));

    // anvil's first development account deploys and holds the operator roles until the node and the coordinator
    // bring their own keys.
    let limits = BatchLimits::default();
    let mut deploy = DeployConfig::new(genesis_root);
    deploy.chunks_per_batch = limits.chunks_per_batch as u64;
    deploy.sequencers = vec![operator.address()];
    deploy.provers = vec![operator.address()];
    let deployment =
        deploy_l1(&l1(&operator), operator.address(), &deploy).await.wrap_err("deploying the L1 contracts")?;
    let deployment_file = args.dir.join("l1.json");
    deployment.save(&deployment_file)?;

    let node = Arc::new(Node::open(spec, &node_config.data_dir)?);
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

    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        result = sequencer => result??,
    }
    println!("\nstopping: L2 node, anvil (pid {}) ...", anvil.pid());
    let _ = shutdown.send(true);
    let _ = rpc_handle.stop();
    drop(anvil);
    Ok(())
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
    println!("  operator          {} (sequencer, prover, owner)", deployment.owner);
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
