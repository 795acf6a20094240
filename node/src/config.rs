//! The node's configuration: a TOML file merged with `ZKR_NODE_*` environment variables, over defaults that run a
//! local chain with no configuration at all.
//!
//! ```toml
//! data_dir = ".devnet/node"
//!
//! [chain]
//! chain_id = 42424
//! block_gas_limit = 30000000
//! fee_recipient = "0xfefefefefefefefefefefefefefefefefefefefe"
//! [chain.genesis_alloc]
//! "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" = "10000000000000000000000"
//!
//! [sequencer]
//! block_time_ms = 250    # a block every interval, empty or not
//!
//! [metrics]
//! addr = "127.0.0.1:9101"                # Prometheus, at /metrics
//!
//! [rpc]
//! addr = "127.0.0.1:8547"                # HTTP and websocket
//! max_subscriptions_per_connection = 128
//! max_filters = 10000
//! filter_timeout_secs = 300
//!
//! [l1]
//! rpc_url = "http://127.0.0.1:8545"
//! deployment = "deployments/l1.json"
//!
//! # Needs [l1]; the key is better given as ZKR_NODE_BATCHER__PRIVATE_KEY. The batch shape (records per chunk,
//! # chunks per batch) is the deployment file's proof shape; blocks hold at most one batch's records.
//! [batcher]
//! max_batch_age_secs = 60
//!
//! # Optimistic deployments only; needs [batcher] (outputs are of the node's own batches). The key is better given
//! # as ZKR_NODE_PROPOSER__PRIVATE_KEY.
//! [proposer]
//! poll_interval_ms = 1000
//! ```
//!
//! Environment variables name a key with `__` between sections: `ZKR_NODE_RPC__ADDR=0.0.0.0:8547`; flags with `.`
//! (`--rpc.addr`). Flags override the environment, which overrides the file (`zkr_cli::config`).

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::primitives::{Address, U256};
use serde::{Deserialize, Serialize};

use crate::{ChainSpec, ExecutionMode, RpcConfig};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// Chain parameters.
    pub chain: ChainSection,
    /// Block production.
    pub sequencer: SequencerSection,
    /// JSON-RPC server.
    pub rpc: RpcConfig,
    /// The L1 to follow for deposits; without it the node runs without a bridge.
    pub l1: Option<L1Section>,
    /// Prometheus metrics.
    pub metrics: MetricsSection,
    /// Commit batches to the Rollup on the `[l1]` chain; without it no batches are sealed.
    pub batcher: Option<BatcherSection>,
    /// Propose the outputs of the committed batches (optimistic deployments).
    pub proposer: Option<ProposerSection>,
}

/// `[proposer]`: see [`crate::batcher::ProposerConfig`]. Needs `[l1]` with an optimistic deployment, and `[batcher]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProposerSection {
    /// Hex private key of an account with the proposer role; better given as `ZKR_NODE_PROPOSER__PRIVATE_KEY`.
    pub private_key: String,
    /// Milliseconds between rounds.
    pub poll_interval_ms: u64,
    /// Fault injection for devnets and tests: batches whose first output is proposed with a wrong state root (its
    /// bond is lost to the challenger). Empty in production.
    pub wrong_root_batches: Vec<u64>,
}

impl Default for ProposerSection {
    fn default() -> Self {
        Self { private_key: String::new(), poll_interval_ms: 1_000, wrong_root_batches: Vec::new() }
    }
}

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSection {
    /// Address to serve Prometheus metrics on (`/metrics`); none serves no metrics.
    pub addr: Option<SocketAddr>,
}

impl Default for MetricsSection {
    fn default() -> Self {
        Self { addr: Some(SocketAddr::from(([127, 0, 0, 1], 9101))) }
    }
}

/// `[batcher]`: see [`crate::batcher::BatcherConfig`]. Needs `[l1]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatcherSection {
    /// Hex private key of an account with the sequencer role; better given as `ZKR_NODE_BATCHER__PRIVATE_KEY`.
    pub private_key: String,
    /// Records per chunk: the record slots of the chunk circuit. By default the deployment file's
    /// (`shape.chunkSlots`), which it must equal when set.
    pub chunk_slots: Option<usize>,
    /// Chunks per batch: by default the deployment file's (`shape.chunksPerBatch`, the Rollup's `chunksPerBatch`),
    /// which it may not exceed when set. A block holds at most `chunk_slots * chunks_per_batch` records, so that it
    /// always fits one batch.
    pub chunks_per_batch: Option<usize>,
    /// Seal a batch once its first block is this many seconds old (a full batch is sealed at once).
    pub max_batch_age_secs: u64,
    /// Milliseconds between rounds.
    pub poll_interval_ms: u64,
    /// Seconds before a commit that is not mined is replaced with higher fees.
    pub resubmit_after_secs: u64,
    /// Fee increase of a replacement, in percent.
    pub fee_bump_percent: u128,
}

impl Default for BatcherSection {
    fn default() -> Self {
        Self {
            private_key: String::new(),
            chunk_slots: None,
            chunks_per_batch: None,
            max_batch_age_secs: 60,
            poll_interval_ms: 1_000,
            resubmit_after_secs: 60,
            fee_bump_percent: 15,
        }
    }
}

/// `[l1]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct L1Section {
    /// L1 JSON-RPC endpoint.
    pub rpc_url: String,
    /// The deployment file written by `zkr-deploy` (addresses and deployment block).
    pub deployment: PathBuf,
    /// Blocks a deposit must be buried under before it is credited.
    pub confirmations: u64,
    /// Milliseconds between polls of L1.
    pub poll_interval_ms: u64,
    /// Most L1 blocks per `eth_getLogs` request.
    pub max_block_range: u64,
}

impl Default for L1Section {
    fn default() -> Self {
        Self {
            rpc_url: "http://127.0.0.1:8545".into(),
            deployment: PathBuf::from("deployments/l1.json"),
            confirmations: 2,
            poll_interval_ms: 1_000,
            max_block_range: 2_000,
        }
    }
}

/// `[chain]`: see [`ChainSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainSection {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Gas limit of every block.
    pub block_gas_limit: u64,
    /// Base fee of the first block, in wei.
    pub initial_base_fee: u64,
    /// Lowest base fee, in wei.
    pub min_base_fee: u64,
    /// Receives priority fees.
    pub fee_recipient: Address,
    /// `zk` (what the proof covers) or `full` (all of the EVM, for the optimistic variant).
    pub mode: ModeName,
    /// Genesis balances in wei, by address.
    pub genesis_alloc: BTreeMap<Address, U256>,
    /// Genesis timestamp.
    pub genesis_timestamp: u64,
}

/// Execution mode names in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeName {
    /// [`ExecutionMode::Zk`].
    Zk,
    /// [`ExecutionMode::Full`].
    Full,
}

/// `[sequencer]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SequencerSection {
    /// Interval between blocks, in milliseconds: the soft-confirmation latency. A block is made every interval, with
    /// or without transactions.
    pub block_time_ms: u64,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".zkr/node"),
            chain: ChainSection::default(),
            sequencer: SequencerSection::default(),
            rpc: RpcConfig::default(),
            l1: None,
            metrics: MetricsSection::default(),
            batcher: None,
            proposer: None,
        }
    }
}

impl Default for ChainSection {
    fn default() -> Self {
        let spec = ChainSpec::dev();
        Self {
            chain_id: spec.chain_id,
            block_gas_limit: spec.block_gas_limit,
            initial_base_fee: spec.initial_base_fee,
            min_base_fee: spec.min_base_fee,
            fee_recipient: spec.fee_recipient,
            mode: ModeName::Zk,
            genesis_alloc: BTreeMap::new(),
            genesis_timestamp: spec.genesis_timestamp,
        }
    }
}

impl Default for SequencerSection {
    fn default() -> Self {
        Self { block_time_ms: 250 }
    }
}

impl NodeConfig {
    /// Defaults, then the TOML file (if given), then `ZKR_NODE_*` environment variables, then `flags`.
    pub fn load(file: Option<&Path>, flags: zkr_cli::Overrides) -> Result<Self, zkr_cli::ConfigError> {
        zkr_cli::load(file, Self::ENV_PREFIX, flags)
    }

    /// The prefix of the node's environment variables.
    pub const ENV_PREFIX: &str = "ZKR_NODE_";

    /// The batch shape: the deployment file's proof shape (with `[l1]`; the default shape without), narrowed by
    /// `[batcher]`'s `chunk_slots` and `chunks_per_batch` where they are set. A setting the deployment's circuits
    /// cannot prove is refused: chunks of another size, or more chunks than the Rollup takes.
    pub fn batch_limits(&self) -> Result<crate::batcher::BatchLimits, String> {
        let deployment = match &self.l1 {
            Some(l1) => Some(zkr_contracts::Deployment::load(&l1.deployment).map_err(|err| err.to_string())?),
            None => None,
        };
        self.batch_limits_of(deployment.as_ref())
    }

    /// [`NodeConfig::batch_limits`] with the `[l1]` deployment file already read.
    fn batch_limits_of(
        &self,
        deployment: Option<&zkr_contracts::Deployment>,
    ) -> Result<crate::batcher::BatchLimits, String> {
        let file = self.l1.as_ref().map(|l1| l1.deployment.display().to_string()).unwrap_or_default();
        let deployed = deployment.map(|deployment| deployment.shape);
        let shape = deployed.unwrap_or(zkr_protocol::ProofShape::DEFAULT);
        let set = self.batcher.as_ref();
        let slots = set.and_then(|b| b.chunk_slots);
        let chunks = set.and_then(|b| b.chunks_per_batch);
        if let Some(shape) = &deployed {
            if let Some(slots) = slots.filter(|&slots| slots != shape.chunk_slots) {
                return Err(format!(
                    "[batcher] chunk_slots is {slots} but the circuits of {file} prove chunks of {} records",
                    shape.chunk_slots
                ));
            }
            if let Some(chunks) = chunks.filter(|&chunks| chunks > shape.chunks_per_batch) {
                return Err(format!(
                    "[batcher] chunks_per_batch is {chunks} but the Rollup in {file} takes at most {} chunks per batch",
                    shape.chunks_per_batch
                ));
            }
        }
        let limits = crate::batcher::BatchLimits {
            chunk_slots: slots.unwrap_or(shape.chunk_slots),
            chunks_per_batch: chunks.unwrap_or(shape.chunks_per_batch),
        };
        limits.validate().map_err(|err| format!("[batcher] {err}"))?;
        Ok(limits)
    }

    /// The chain parameters. A block holds at most as many records as a batch ([`NodeConfig::batch_limits`]), so that
    /// every block fits one batch.
    pub fn chain_spec(&self) -> Result<ChainSpec, String> {
        let chain = &self.chain;
        let limits = self.batch_limits()?;
        let mut spec = ChainSpec {
            chain_id: chain.chain_id,
            block_gas_limit: chain.block_gas_limit,
            initial_base_fee: chain.initial_base_fee,
            min_base_fee: chain.min_base_fee,
            fee_recipient: chain.fee_recipient,
            mode: match chain.mode {
                ModeName::Zk => ExecutionMode::Zk,
                ModeName::Full => ExecutionMode::Full,
            },
            genesis_alloc: chain.genesis_alloc.iter().map(|(a, b)| (*a, *b)).collect(),
            genesis_timestamp: chain.genesis_timestamp,
            ..ChainSpec::dev()
        };
        spec.fit_blocks_to(limits);
        Ok(spec)
    }

    /// The L1 watcher's settings, reading the deployment file named in `[l1]`.
    pub fn l1_config(&self) -> Option<Result<crate::L1Config, zkr_contracts::DeploymentError>> {
        let l1 = self.l1.as_ref()?;
        Some(zkr_contracts::Deployment::load(&l1.deployment).map(|deployment| crate::L1Config {
            rpc_url: l1.rpc_url.clone(),
            portal: deployment.portal,
            from_block: deployment.deployment_block,
            confirmations: l1.confirmations,
            poll_interval: Duration::from_millis(l1.poll_interval_ms.max(1)),
            max_block_range: l1.max_block_range,
        }))
    }

    /// The batcher's settings, if `[batcher]` and `[l1]` are configured.
    pub fn batcher_config(&self) -> Option<Result<crate::batcher::BatcherConfig, String>> {
        let batcher = self.batcher.as_ref()?;
        Some((|| {
            let l1 = self.l1.as_ref().ok_or("[batcher] needs an [l1] section")?;
            let deployment = zkr_contracts::Deployment::load(&l1.deployment).map_err(|err| err.to_string())?;
            let signer = batcher.private_key.parse().map_err(|_| "[batcher] private_key is not a hex private key")?;
            let limits = self.batch_limits_of(Some(&deployment))?;
            Ok(crate::batcher::BatcherConfig {
                rpc_url: l1.rpc_url.clone(),
                rollup: deployment.rollup,
                signer,
                limits,
                max_batch_age: Duration::from_secs(batcher.max_batch_age_secs),
                poll_interval: Duration::from_millis(batcher.poll_interval_ms.max(1)),
                resubmit_after: Duration::from_secs(batcher.resubmit_after_secs),
                fee_bump_percent: batcher.fee_bump_percent,
            })
        })())
    }

    /// The proposer's settings, if `[proposer]` is configured: it needs `[l1]` naming an optimistic deployment, and
    /// `[batcher]` (the outputs are of the batches this node commits).
    pub fn proposer_config(&self) -> Option<Result<crate::batcher::ProposerConfig, String>> {
        let proposer = self.proposer.as_ref()?;
        Some((|| {
            let l1 = self.l1.as_ref().ok_or("[proposer] needs an [l1] section")?;
            if self.batcher.is_none() {
                return Err(
                    "[proposer] needs a [batcher] section: it proposes the outputs of this node's batches".into()
                );
            }
            let deployment = zkr_contracts::Deployment::load(&l1.deployment).map_err(|err| err.to_string())?;
            if deployment.mode != zkr_contracts::SettlementMode::Optimistic {
                return Err(format!(
                    "[proposer] needs an optimistic deployment; {} is a {} deployment",
                    l1.deployment.display(),
                    deployment.mode
                ));
            }
            let signer = proposer.private_key.parse().map_err(|_| "[proposer] private_key is not a hex private key")?;
            Ok(crate::batcher::ProposerConfig {
                rpc_url: l1.rpc_url.clone(),
                rollup: deployment.rollup,
                signer,
                poll_interval: Duration::from_millis(proposer.poll_interval_ms.max(1)),
                wrong_root_batches: proposer.wrong_root_batches.iter().copied().collect(),
            })
        })())
    }

    /// Interval between blocks.
    pub fn block_time(&self) -> Duration {
        Duration::from_millis(self.sequencer.block_time_ms.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(
            &path,
            "data_dir = \"/tmp/x\"\n[sequencer]\nblock_time_ms = 100\n[chain.genesis_alloc]\n\
             \"0x0000000000000000000000000000000000000001\" = \"0x10\"\n",
        )
        .unwrap();
        let config = NodeConfig::load(Some(&path), zkr_cli::Overrides::new()).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(config.block_time(), Duration::from_millis(100));
        assert_eq!(config.chain.chain_id, ChainSpec::dev().chain_id);
        assert_eq!(config.chain_spec().unwrap().genesis_alloc, vec![(Address::with_last_byte(1), U256::from(16))]);

        std::fs::write(&path, "[sequencer]\nblock_time = 100\n").unwrap();
        let err = NodeConfig::load(Some(&path), zkr_cli::Overrides::new()).unwrap_err();
        assert!(err.to_string().contains("block_time"), "{err}");
    }

    #[test]
    fn the_batch_shape_caps_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        // Without [batcher], blocks are capped at the default shape, so that a batcher added later fits them.
        std::fs::write(&path, "").unwrap();
        let config = NodeConfig::load(Some(&path), zkr_cli::Overrides::new()).unwrap();
        assert_eq!(config.chain_spec().unwrap().max_block_records, crate::DEFAULT_MAX_BLOCK_RECORDS);

        std::fs::write(&path, "[batcher]\nchunk_slots = 16\nchunks_per_batch = 3\n").unwrap();
        let config = NodeConfig::load(Some(&path), zkr_cli::Overrides::new()).unwrap();
        assert_eq!(config.chain_spec().unwrap().max_block_records, 48);
        assert!(config.batch_limits().is_ok());

        // The old codec settings are gone, and shapes the protocol has no circuit for are refused.
        std::fs::write(&path, "[batcher]\ncodec = \"zstd\"\n").unwrap();
        assert!(NodeConfig::load(Some(&path), zkr_cli::Overrides::new()).unwrap_err().to_string().contains("codec"));
        for (slots, chunks) in [(3, 2), (2048, 1), (4, 0)] {
            let limits = crate::batcher::BatchLimits { chunk_slots: slots, chunks_per_batch: chunks };
            assert!(limits.validate().is_err(), "{limits:?}");
        }
    }

    /// Writes a deployment file at `path` in `mode` with `shape`: the Rollup at `0x01..`, the Portal at `0x02..`, the
    /// owner `0x03..`, one proposer `0x04..`.
    fn write_deployment(path: &std::path::Path, mode: zkr_protocol::SettlementMode, shape: zkr_protocol::ProofShape) {
        zkr_contracts::Deployment {
            chain_id: 31337,
            rollup: Address::repeat_byte(1),
            portal: Address::repeat_byte(2),
            verifier: None,
            owner: Address::repeat_byte(3),
            pending_owner: None,
            sequencers: vec![],
            provers: vec![],
            mode,
            proposers: vec![Address::repeat_byte(4)],
            dispute: None,
            shape,
            genesis_state_root: alloy::primitives::B256::ZERO,
            deployment_block: 1,
        }
        .save(path)
        .unwrap();
    }

    #[test]
    fn the_batch_shape_is_the_deployment_files_and_a_contrary_setting_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let deployment = dir.path().join("l1.json");
        let shape = zkr_protocol::ProofShape {
            chunk_slots: 8,
            chunk_k: 17,
            chunks_per_batch: 4,
            aggregation_k: 21,
            layer: None,
        };
        write_deployment(&deployment, zkr_protocol::SettlementMode::Zk, shape);
        let path = dir.path().join("node.toml");
        let load = |batcher: &str| {
            let l1 = format!("[l1]\ndeployment = {:?}\n", deployment.display().to_string());
            std::fs::write(&path, format!("{l1}[batcher]\n{batcher}")).unwrap();
            NodeConfig::load(Some(&path), zkr_cli::Overrides::new()).unwrap()
        };

        // Nothing set: the deployment's shape, and blocks of at most one such batch.
        let config = load("");
        let limits = config.batch_limits().unwrap();
        assert_eq!((limits.chunk_slots, limits.chunks_per_batch), (8, 4));
        assert_eq!(config.chain_spec().unwrap().max_block_records, 32);
        // Fewer chunks than the Rollup takes is a choice (batches are padded for the proof); the same slots are fine.
        let limits = load("chunk_slots = 8\nchunks_per_batch = 2\n").batch_limits().unwrap();
        assert_eq!((limits.chunk_slots, limits.chunks_per_batch), (8, 2));
        // Chunks the circuits do not prove, or more chunks than the Rollup takes: refused, naming the file.
        let err = load("chunk_slots = 4\n").batch_limits().unwrap_err();
        assert!(err.contains("chunk_slots is 4") && err.contains("chunks of 8 records"), "{err}");
        assert!(err.contains("l1.json"), "{err}");
        let err = load("chunks_per_batch = 5\n").chain_spec().unwrap_err();
        assert!(err.contains("at most 4 chunks per batch"), "{err}");
        // A deployment file that cannot be read is an error, not the default shape.
        std::fs::write(&deployment, "{}").unwrap();
        assert!(load("").batch_limits().is_err());
    }

    #[test]
    fn the_proposer_needs_an_optimistic_deployment_and_the_batcher() {
        let dir = tempfile::tempdir().unwrap();
        let deployment = dir.path().join("l1.json");
        let write = |mode| write_deployment(&deployment, mode, zkr_protocol::ProofShape::CI);
        let path = dir.path().join("node.toml");
        let key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
        let load = |sections: &str| {
            let l1 = format!("[l1]\ndeployment = {:?}\n", deployment.display().to_string());
            std::fs::write(&path, format!("{l1}{sections}")).unwrap();
            // An empty [proposer] table, as the Helm chart renders it: the key comes from the flags here (the
            // environment in a pod), and everything else from the defaults.
            let flags = zkr_cli::Overrides::new().set("proposer.private_key", Some(key.to_owned()));
            NodeConfig::load(Some(&path), flags).unwrap()
        };

        write(zkr_protocol::SettlementMode::Optimistic);
        let proposer = load("[batcher]\n[proposer]\n").proposer_config().unwrap().unwrap();
        assert_eq!(proposer.rollup, Address::repeat_byte(1));
        assert_eq!(proposer.poll_interval, Duration::from_secs(1));
        assert!(proposer.wrong_root_batches.is_empty());
        assert!(load("[batcher]\n").proposer_config().is_some(), "the key alone turns it on");
        let err = load("[proposer]\n").proposer_config().unwrap().unwrap_err();
        assert!(err.contains("needs a [batcher]"), "{err}");

        write(zkr_protocol::SettlementMode::Zk);
        let err = load("[batcher]\n[proposer]\n").proposer_config().unwrap().unwrap_err();
        assert!(err.contains("needs an optimistic deployment") && err.contains("a zk deployment"), "{err}");
    }
}
