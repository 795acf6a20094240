//! `zkr-devnet`: the local devnet. Today it starts anvil as the L1, deploys the rollup's contracts and prints
//! where they are; the node, the coordinator and prover workers join it as they land. Ctrl-C stops everything it
//! started.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use alloy::{
    network::EthereumWallet,
    primitives::B256,
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use clap::Parser;
use eyre::{WrapErr, eyre};
use zkr_contracts::{DeployConfig, Deployment, deploy_l1};
use zkr_devtools::Anvil;

/// Starts a local devnet: anvil as the L1 with the rollup's contracts deployed on it.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port of the L1 JSON-RPC endpoint (anvil); 0 picks a free one.
    #[arg(long = "l1.port", default_value_t = 8545)]
    l1_port: u16,
    /// L1 block time in seconds; by default anvil mines a block per transaction.
    #[arg(long = "l1.block-time")]
    l1_block_time: Option<u64>,
    /// L2 genesis state root recorded as batch 0's state root.
    #[arg(long = "genesis-state-root", default_value_t = B256::ZERO)]
    genesis_state_root: B256,
    /// Where to write the deployment file that the other components read.
    #[arg(long, default_value = ".devnet/l1.json")]
    out: PathBuf,
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = Args::parse();

    let mut anvil = Anvil::new().port(args.l1_port);
    if let Some(seconds) = args.l1_block_time {
        anvil = anvil.block_time(seconds);
    }
    let anvil = anvil.spawn().wrap_err("starting anvil (is the port free?)")?;
    tracing::info!(endpoint = anvil.endpoint(), chain_id = anvil.chain_id(), "L1 (anvil) is up");

    // anvil's first development account deploys and holds the operator roles until the node and the
    // coordinator bring their own keys.
    let key = anvil.private_keys().first().ok_or_else(|| eyre!("anvil printed no development keys"))?;
    let signer: PrivateKeySigner = key.parse().wrap_err("parsing anvil's development key")?;
    let operator = signer.address();
    let provider = ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(anvil.endpoint().parse()?);

    let mut config = DeployConfig::new(args.genesis_state_root);
    config.sequencers = vec![operator];
    config.provers = vec![operator];
    let deployment = deploy_l1(&provider, operator, &config).await.wrap_err("deploying the L1 contracts")?;
    deployment.save(&args.out)?;
    print_summary(&deployment, anvil.endpoint(), &args.out, provider.get_block_number().await?);

    tokio::signal::ctrl_c().await?;
    println!("\nstopping: anvil (pid {}) ...", anvil.pid());
    drop(anvil);
    Ok(())
}

fn print_summary(deployment: &Deployment, endpoint: &str, out: &std::path::Path, block: u64) {
    println!();
    println!("  zkr devnet");
    println!("  ----------------------------------------------------------------");
    println!("  L1 RPC            {endpoint} (chain id {}, block {block})", deployment.chain_id);
    println!("  Rollup            {}", deployment.rollup);
    println!("  Portal            {}", deployment.portal);
    println!("  operator          {} (sequencer, prover, owner)", deployment.owner);
    match deployment.verifier {
        Some(verifier) => println!("  verifier          {verifier}"),
        None => println!("  verifier          none yet: batches commit but cannot be finalized"),
    }
    println!("  deployment file   {}", out.display());
    println!("  ----------------------------------------------------------------");
    println!("  deposit 1 ETH to L2 with the toolchain's cast:");
    println!(
        "    .tools/bin/cast send --rpc-url {endpoint} --private-key <anvil key> {} 'depositETH(address)' <to> --value 1ether",
        deployment.portal
    );
    println!("  Ctrl-C stops the devnet.");
}
