//! `zkr-node`: the rollup's L2 node.

use std::{path::PathBuf, sync::Arc};

use clap::Parser;
use eyre::WrapErr;
use zkr_node::{Node, NodeConfig, run_sequencer, start_rpc, watch_deposits};

/// Runs the L2 node: sequencer, execution and JSON-RPC.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file (see the zkr-node crate docs); `ZKR_NODE_*` variables override it, and the flags
    /// below override both.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Database directory (`data_dir`).
    #[arg(long = "data-dir", visible_alias = "datadir")]
    data_dir: Option<PathBuf>,
    /// JSON-RPC listen address, HTTP and websocket (`rpc.addr`).
    #[arg(long = "rpc.addr")]
    rpc_addr: Option<std::net::SocketAddr>,
    /// Prometheus metrics address (`metrics.addr`).
    #[arg(long = "metrics.addr")]
    metrics_addr: Option<std::net::SocketAddr>,
    /// Milliseconds between blocks (`sequencer.block_time_ms`).
    #[arg(long = "sequencer.block-time-ms")]
    block_time_ms: Option<u64>,
    /// Development chain: funds the 10 accounts of the standard test mnemonic with 10,000 ETH each at genesis (as
    /// anvil does) and prints them; the database goes to `.zkr/dev` unless a data directory is given.
    #[arg(long)]
    dev: bool,
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    zkr_cli::init_tracing("info");
    let args = Args::parse();
    let flags = zkr_cli::Overrides::new()
        .set("data_dir", args.data_dir.clone())
        .set("rpc.addr", args.rpc_addr)
        .set("metrics.addr", args.metrics_addr)
        .set("sequencer.block_time_ms", args.block_time_ms);
    let mut config = NodeConfig::load(args.config.as_deref(), flags).wrap_err("loading the configuration")?;
    let dev_accounts = if args.dev {
        if args.data_dir.is_none() && config.data_dir == NodeConfig::default().data_dir {
            config.data_dir = PathBuf::from(".zkr/dev");
        }
        let accounts = zkr_node::dev::dev_accounts(zkr_node::dev::DEV_ACCOUNTS);
        for account in &accounts {
            config.chain.genesis_alloc.insert(account.address(), zkr_node::dev::DEV_BALANCE);
        }
        accounts
    } else {
        Vec::new()
    };
    if let Some(addr) = config.metrics.addr {
        zkr_node::metrics::install_prometheus(addr).wrap_err("starting the metrics endpoint")?;
        tracing::info!(%addr, "metrics at /metrics");
    }

    let node = Arc::new(
        Node::open(config.chain_spec().map_err(|err| eyre::eyre!(err))?, &config.data_dir)
            .wrap_err_with(|| format!("opening {}", config.data_dir.display()))?,
    );
    let head = node.head();
    tracing::info!(number = head.number(), hash = %head.hash, state_root = %head.header.state_root, "chain head");

    let (addr, rpc) = start_rpc(node.clone(), config.rpc.clone()).await.wrap_err("starting JSON-RPC")?;
    if !dev_accounts.is_empty() {
        print_dev_accounts(&dev_accounts, node.spec().chain_id, addr, &config.data_dir)?;
    }
    tracing::info!(%addr, chain_id = node.spec().chain_id, "node ready");

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    if let Some(l1) = config.l1_config() {
        let l1 = l1.wrap_err("reading the L1 deployment file")?;
        tracing::info!(portal = %l1.portal, from_block = l1.from_block, "following L1 deposits");
        tokio::spawn(watch_deposits(node.clone(), l1, shutdown_rx.clone()));
    }
    let batcher = match config.batcher_config() {
        Some(batcher) => {
            let batcher = batcher.map_err(|err| eyre::eyre!(err))?;
            tracing::info!(
                rollup = %batcher.rollup,
                chunk_slots = batcher.limits.chunk_slots,
                chunks_per_batch = batcher.limits.chunks_per_batch,
                "committing batches to L1"
            );
            Some(tokio::spawn(zkr_node::batcher::run_batcher(node.clone(), batcher, shutdown_rx.clone())))
        }
        None => None,
    };
    let proposer = match config.proposer_config() {
        Some(proposer) => {
            let proposer = proposer.map_err(|err| eyre::eyre!(err))?;
            tracing::info!(rollup = %proposer.rollup, proposer = %proposer.signer.address(), "proposing outputs (optimistic mode)");
            Some(tokio::spawn(zkr_node::batcher::run_proposer(node.clone(), proposer, shutdown_rx.clone())))
        }
        None => None,
    };
    let proposer = async move {
        match proposer {
            Some(handle) => handle.await.map_err(eyre::Report::from)?.map_err(eyre::Report::from),
            None => std::future::pending().await,
        }
    };
    let batcher = async move {
        match batcher {
            Some(handle) => handle.await.map_err(eyre::Report::from)?.map_err(eyre::Report::from),
            None => std::future::pending().await,
        }
    };
    let sequencer = tokio::spawn(run_sequencer(node.clone(), config.block_time(), shutdown_rx));
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        result = sequencer => {
            // The sequencer only stops on its own when a block could not be stored.
            result??;
        }
        result = batcher => {
            // The batcher only stops on its own on a conflicting batch on L1 or a storage failure.
            result?;
        }
        result = proposer => {
            // The proposer only stops on its own on a storage failure.
            result?;
        }
    }
    tracing::info!("shutting down");
    let _ = shutdown_tx.send(true);
    let _ = rpc.stop();
    rpc.stopped().await;
    Ok(())
}

/// What `--dev` prints, as anvil does: the funded accounts and their (public, test-only) keys.
fn print_dev_accounts(
    accounts: &[alloy::signers::local::PrivateKeySigner],
    chain_id: u64,
    addr: std::net::SocketAddr,
    data_dir: &std::path::Path,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "\nDevelopment chain {chain_id}: {} accounts with 10000 ETH each\n", accounts.len())?;
    for (index, account) in accounts.iter().enumerate() {
        writeln!(out, "({index}) {}  0x{}", account.address(), alloy::hex::encode(account.to_bytes()))?;
    }
    writeln!(out, "\nMnemonic: {}", zkr_node::dev::DEV_MNEMONIC)?;
    writeln!(out, "These keys are public: use them only on this development chain.")?;
    writeln!(out, "Database: {}", data_dir.display())?;
    writeln!(out, "JSON-RPC: http://{addr} and ws://{addr}\n")?;
    out.flush()
}
