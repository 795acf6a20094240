//! `zkr-deploy`: deploys the rollup's L1 contracts to any Ethereum JSON-RPC endpoint and writes the deployment file.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use alloy::primitives::U256;
use alloy::{
    primitives::{Address, B256},
    providers::ProviderBuilder,
    signers::local::PrivateKeySigner,
};
use clap::Parser;
use eyre::WrapErr;
use zkr_contracts::{
    DEFAULT_VERIFIER_GAS_LIMIT, DeployConfig, DisputeParams, MAX_CHUNKS_PER_BATCH, ProofShape, SettlementMode,
    deploy_l1,
};

/// Deploys the Portal and the Rollup, grants roles, and writes the addresses and deployment block to a JSON file.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// L1 JSON-RPC endpoint.
    #[arg(long = "l1.rpc-url", env = "ZKR_L1_RPC_URL", default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Private key of the deploying account (hex). It becomes the Rollup's owner until `--owner` accepts.
    #[arg(long = "private-key", env = "ZKR_DEPLOYER_KEY", hide_env_values = true)]
    private_key: PrivateKeySigner,
    /// L2 genesis state root: the node's state root of its genesis.
    #[arg(long = "genesis-state-root")]
    genesis_state_root: B256,
    /// Account to offer ownership to (it must call acceptOwnership).
    #[arg(long)]
    owner: Option<Address>,
    /// Account to grant the sequencer role (repeatable).
    #[arg(long = "sequencer")]
    sequencers: Vec<Address>,
    /// How batches become final: `zk` (a validity proof per batch) or `optimistic` (proposed outputs, final after
    /// a challenge window, disputes settled by a validity proof).
    #[arg(long, default_value = "zk")]
    mode: SettlementMode,
    /// Account to grant the prover role (repeatable; zk mode).
    #[arg(long = "prover")]
    provers: Vec<Address>,
    /// Account to grant the proposer role (repeatable; optimistic mode).
    #[arg(long = "proposer")]
    proposers: Vec<Address>,
    /// Seconds an output may be challenged after it is proposed (optimistic mode).
    #[arg(long = "dispute.challenge-window", default_value_t = DisputeParams::DEFAULT.challenge_window)]
    challenge_window: u64,
    /// Seconds a challenged output has to be proven (optimistic mode).
    #[arg(long = "dispute.proving-window", default_value_t = DisputeParams::DEFAULT.proving_window)]
    proving_window: u64,
    /// Wei a proposer bonds per output (optimistic mode).
    #[arg(long = "dispute.proposer-bond", default_value_t = DisputeParams::DEFAULT.proposer_bond)]
    proposer_bond: U256,
    /// Wei a challenger bonds per challenge (optimistic mode).
    #[arg(long = "dispute.challenger-bond", default_value_t = DisputeParams::DEFAULT.challenger_bond)]
    challenger_bond: U256,
    /// Batch proof verifier contract; without one, batches cannot be finalized until the owner sets it.
    #[arg(long)]
    verifier: Option<Address>,
    /// Gas the Rollup forwards to the verifier.
    #[arg(long = "verifier-gas-limit", default_value_t = DEFAULT_VERIFIER_GAS_LIMIT)]
    verifier_gas_limit: u64,
    /// Chunk positions of every batch proof (1 to 64): must match the aggregation circuit behind the verifier.
    #[arg(
        long = "chunks-per-batch",
        default_value_t = ProofShape::DEFAULT.chunks_per_batch as u64,
        value_parser = clap::value_parser!(u64).range(1..=MAX_CHUNKS_PER_BATCH as u64)
    )]
    chunks_per_batch: u64,
    /// Records per chunk (a power of two): the chunk circuit's record slots, and the node's chunks.
    #[arg(long = "chunk-slots", default_value_t = ProofShape::DEFAULT.chunk_slots)]
    chunk_slots: usize,
    /// log2 rows of the chunk circuit.
    #[arg(long = "chunk-k", default_value_t = ProofShape::DEFAULT.chunk_k)]
    chunk_k: u32,
    /// log2 rows of the aggregation circuit (the batch verifier's).
    #[arg(long = "aggregation-k", default_value_t = ProofShape::DEFAULT.aggregation_k)]
    aggregation_k: u32,
    /// An aggregation layer between the chunk proofs and the batch proof: `<chunks per group>:<k>`, or `none`.
    #[arg(long, default_value_t = zkr_protocol::LayerFlag(ProofShape::DEFAULT.layer))]
    layer: zkr_protocol::LayerFlag,
    /// Where to write the deployment file.
    #[arg(long, short, default_value = "deployments/l1.json")]
    out: PathBuf,
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    zkr_cli::init_tracing("info");
    let args = Args::parse();

    let deployer = args.private_key.address();
    let url = args.rpc_url.parse().wrap_err_with(|| format!("invalid --l1.rpc-url {}", args.rpc_url))?;
    let provider = ProviderBuilder::new().wallet(args.private_key).connect_http(url);

    if args.sequencers.is_empty() {
        tracing::warn!("no --sequencer given: nobody can commit batches until the owner grants the role");
    }
    match args.mode {
        SettlementMode::Zk if !args.proposers.is_empty() => eyre::bail!("--proposer is for --mode optimistic"),
        SettlementMode::Optimistic if !args.provers.is_empty() => {
            eyre::bail!("--prover is for --mode zk: in the optimistic mode anyone may prove a challenged output")
        }
        SettlementMode::Optimistic if args.proposers.is_empty() => {
            tracing::warn!("no --proposer given: nobody can propose outputs until the owner grants the role");
        }
        _ => {}
    }
    if args.verifier.is_none() {
        tracing::warn!("no --verifier given: batches cannot be finalized until the owner sets one");
    }
    let config = DeployConfig {
        owner: args.owner,
        sequencers: args.sequencers,
        provers: args.provers,
        mode: args.mode,
        proposers: args.proposers,
        dispute: DisputeParams {
            challenge_window: args.challenge_window,
            proving_window: args.proving_window,
            proposer_bond: args.proposer_bond,
            challenger_bond: args.challenger_bond,
        },
        verifier: args.verifier,
        verifier_gas_limit: args.verifier_gas_limit,
        shape: ProofShape {
            chunk_slots: args.chunk_slots,
            chunk_k: args.chunk_k,
            chunks_per_batch: args.chunks_per_batch as usize,
            aggregation_k: args.aggregation_k,
            layer: args.layer.0,
        },
        genesis_state_root: args.genesis_state_root,
    };
    let deployment = deploy_l1(&provider, deployer, &config).await.wrap_err("deployment failed")?;
    deployment.save(&args.out)?;

    println!("{}", serde_json::to_string_pretty(&deployment)?);
    println!("deployment written to {}", args.out.display());
    Ok(())
}
