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
//! # Needs [l1]; the key is better given as ZKR_NODE_BATCHER__PRIVATE_KEY.
//! [batcher]
//! chunk_slots = 4        # records per chunk: the chunk circuit's slots
//! chunks_per_batch = 2   # at most the Rollup's chunksPerBatch; blocks hold at most 4 * 2 records
//! max_batch_age_secs = 60
//! ```
//!
//! Environment variables name a key with `__` between sections: `ZKR_NODE_RPC__ADDR=0.0.0.0:8547`.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::primitives::{Address, U256};
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
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
    /// Address to serve Prometheus metrics on (`/metrics`); none serves no metrics.
    pub metrics_addr: Option<SocketAddr>,
    /// Commit batches to the Rollup on the `[l1]` chain; without it no batches are sealed.
    pub batcher: Option<BatcherSection>,
}

/// `[batcher]`: see [`crate::batcher::BatcherConfig`]. Needs `[l1]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatcherSection {
    /// Hex private key of an account with the sequencer role; better given as `ZKR_NODE_BATCHER__PRIVATE_KEY`.
    pub private_key: String,
    /// Records per chunk: the record slots of the chunk circuit, a power of two up to
    /// `zkr_protocol::chunk::MAX_CHUNK_SLOTS` (default 4).
    pub chunk_slots: usize,
    /// Chunks per batch, at most the Rollup's `chunksPerBatch` (default 2). A block holds at most
    /// `chunk_slots * chunks_per_batch` records, so that it always fits one batch.
    pub chunks_per_batch: usize,
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
            chunk_slots: crate::batcher::DEFAULT_CHUNK_SLOTS,
            chunks_per_batch: crate::batcher::DEFAULT_CHUNKS_PER_BATCH,
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

impl BatcherSection {
    /// The batch shape these settings give.
    pub const fn limits(&self) -> crate::batcher::BatchLimits {
        crate::batcher::BatchLimits { chunk_slots: self.chunk_slots, chunks_per_batch: self.chunks_per_batch }
    }
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
            metrics_addr: Some(SocketAddr::from(([127, 0, 0, 1], 9101))),
            batcher: None,
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
    /// Defaults, then the TOML file (if given), then `ZKR_NODE_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Self::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment.merge(Env::prefixed("ZKR_NODE_").split("__")).extract().map_err(Box::new)
    }

    /// The chain parameters. A block holds at most as many records as a batch of the `[batcher]` shape (the default
    /// shape without a `[batcher]` section), so that every block fits one batch.
    pub fn chain_spec(&self) -> ChainSpec {
        let chain = &self.chain;
        let limits = self.batcher.as_ref().map(BatcherSection::limits).unwrap_or_default();
        ChainSpec {
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
            max_block_records: limits.max_records(),
            ..ChainSpec::dev()
        }
    }

    /// The L1 watcher's settings, reading the deployment file named in `[l1]`.
    pub fn l1_config(&self) -> Option<Result<crate::L1Config, zkr_contracts::Error>> {
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
            let limits = batcher.limits();
            limits.validate().map_err(|err| format!("[batcher] {err}"))?;
            if limits.chunks_per_batch as u64 > deployment.chunks_per_batch {
                return Err(format!(
                    "[batcher] chunks_per_batch is {} but the Rollup in {} takes at most {} chunks per batch",
                    limits.chunks_per_batch,
                    l1.deployment.display(),
                    deployment.chunks_per_batch
                ));
            }
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
        let config = NodeConfig::load(Some(&path)).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(config.block_time(), Duration::from_millis(100));
        assert_eq!(config.chain.chain_id, ChainSpec::dev().chain_id);
        assert_eq!(config.chain_spec().genesis_alloc, vec![(Address::with_last_byte(1), U256::from(16))]);

        std::fs::write(&path, "[sequencer]\nblock_time = 100\n").unwrap();
        let err = NodeConfig::load(Some(&path)).unwrap_err();
        assert!(err.to_string().contains("block_time"), "{err}");
    }

    #[test]
    fn the_batch_shape_caps_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        // Without [batcher], blocks are capped at the default shape, so that a batcher added later fits them.
        std::fs::write(&path, "").unwrap();
        let config = NodeConfig::load(Some(&path)).unwrap();
        assert_eq!(config.chain_spec().max_block_records, crate::DEFAULT_MAX_BLOCK_RECORDS);

        std::fs::write(&path, "[batcher]\nchunk_slots = 16\nchunks_per_batch = 3\n").unwrap();
        let config = NodeConfig::load(Some(&path)).unwrap();
        assert_eq!(config.chain_spec().max_block_records, 48);
        assert!(config.batcher.as_ref().unwrap().limits().validate().is_ok());

        // The old codec settings are gone, and shapes the protocol has no circuit for are refused.
        std::fs::write(&path, "[batcher]\ncodec = \"zstd\"\n").unwrap();
        assert!(NodeConfig::load(Some(&path)).unwrap_err().to_string().contains("codec"));
        for (slots, chunks) in [(3, 2), (2048, 1), (4, 0)] {
            let limits = crate::batcher::BatchLimits { chunk_slots: slots, chunks_per_batch: chunks };
            assert!(limits.validate().is_err(), "{limits:?}");
        }
    }
}
