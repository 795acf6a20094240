//! The deployment file: where the L1 side was deployed and with which proof shape. `zkr-deploy` writes it; the node,
//! the coordinator, the devnet and `zkr-prove` read it, so the addresses and the shape are written once.

use std::path::Path;

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use crate::ProofShape;

/// Why a deployment file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// The file could not be read or written.
    #[error("deployment file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON of the expected shape.
    #[error("deployment file {path}: {source}")]
    Json {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

/// How batches become final on L1: the two variants of the rollup, chosen at deployment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SettlementMode {
    /// The ZK rollup (the `Rollup` contract): every batch is final when its validity proof verifies.
    #[default]
    Zk,
    /// The optimistic rollup (the `OptimisticRollup` contract): a proposer posts each batch's output with a bond; it
    /// is final after a challenge window, and a challenged output is settled by the batch's validity proof.
    Optimistic,
}

impl SettlementMode {
    /// The name used in the deployment file, flags and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Zk => "zk",
            Self::Optimistic => "optimistic",
        }
    }
}

impl std::fmt::Display for SettlementMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SettlementMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "zk" => Ok(Self::Zk),
            "optimistic" => Ok(Self::Optimistic),
            other => Err(format!("unknown settlement mode {other:?} (expected zk or optimistic)")),
        }
    }
}

/// The optimistic mode's dispute parameters (`OptimisticRollup.DisputeParams`): windows in seconds, bonds in wei.
/// The owner may change them on L1; the deployment file records those it was deployed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisputeParams {
    /// Seconds after a proposal during which it may be challenged.
    pub challenge_window: u64,
    /// Seconds a challenged output has to be proven (from the challenge, or from its parent's finalization if later).
    pub proving_window: u64,
    /// Wei a proposer bonds per output.
    pub proposer_bond: U256,
    /// Wei a challenger bonds per challenge.
    pub challenger_bond: U256,
}

impl DisputeParams {
    /// The contract's documented defaults (`OptimisticRollup.DEFAULT_*`): a one-day challenge window, a three-day
    /// proving window, 1 ETH from proposers and 0.1 ETH from challengers.
    pub const DEFAULT: Self = Self {
        challenge_window: 24 * 3600,
        proving_window: 3 * 24 * 3600,
        proposer_bond: U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]),
        challenger_bond: U256::from_limbs([100_000_000_000_000_000, 0, 0, 0]),
    };
}

impl Default for DisputeParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Where the L1 side was deployed: the file the node, the coordinator and the devnet read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// Chain id of the L1.
    pub chain_id: u64,
    /// How batches become final. Files written before the optimistic mode existed are ZK deployments.
    #[serde(default)]
    pub mode: SettlementMode,
    /// The settlement contract: `Rollup` in the ZK mode, `OptimisticRollup` in the optimistic mode. Both take
    /// commits the same way.
    pub rollup: Address,
    /// The Portal (bridge) contract.
    pub portal: Address,
    /// The verifier the Rollup was deployed with, if any.
    pub verifier: Option<Address>,
    /// The Rollup's owner after deployment.
    pub owner: Address,
    /// The account ownership was offered to and that has yet to accept it.
    pub pending_owner: Option<Address>,
    /// Accounts granted the sequencer role.
    pub sequencers: Vec<Address>,
    /// Accounts granted the prover role (ZK mode).
    pub provers: Vec<Address>,
    /// Accounts granted the proposer role (optimistic mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proposers: Vec<Address>,
    /// The dispute parameters deployed with (optimistic mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute: Option<DisputeParams>,
    /// The proof shape every component of the cluster and the node's batcher must use.
    pub shape: ProofShape,
    /// The L2 genesis state root.
    pub genesis_state_root: B256,
    /// The block of the first deployment transaction: nothing of the rollup happened before it, so followers of
    /// L1 events start here.
    pub deployment_block: u64,
}

impl Deployment {
    /// Reads a deployment file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DeploymentError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| io_error(path, source))?;
        serde_json::from_str(&text).map_err(|source| DeploymentError::Json { path: path.display().to_string(), source })
    }

    /// Writes the deployment file atomically (a reader never sees half of it), creating parent folders.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), DeploymentError> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
        }
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|source| DeploymentError::Json { path: path.display().to_string(), source })?;
        text.push('\n');
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|source| io_error(&tmp, source))?;
        std::fs::rename(&tmp, path).map_err(|source| io_error(path, source))
    }
}

fn io_error(path: &Path, source: std::io::Error) -> DeploymentError {
    DeploymentError::Io { path: path.display().to_string(), source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/l1.json");
        let deployment = Deployment {
            chain_id: 31337,
            rollup: Address::repeat_byte(1),
            portal: Address::repeat_byte(2),
            verifier: None,
            owner: Address::repeat_byte(3),
            pending_owner: Some(Address::repeat_byte(4)),
            sequencers: vec![Address::repeat_byte(5)],
            provers: vec![],
            mode: SettlementMode::Optimistic,
            proposers: vec![Address::repeat_byte(7)],
            dispute: Some(DisputeParams::DEFAULT),
            shape: ProofShape { chunks_per_batch: 4, ..ProofShape::CI },
            genesis_state_root: B256::repeat_byte(6),
            deployment_block: 42,
        };
        deployment.save(&path).unwrap();
        assert_eq!(Deployment::load(&path).unwrap(), deployment);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"deploymentBlock\": 42"), "{text}");
        assert!(text.contains("\"chunksPerBatch\": 4"), "{text}");
        assert!(text.contains("\"chunkSlots\": 2"), "{text}");
        assert!(text.contains("\"mode\": \"optimistic\""), "{text}");
    }

    #[test]
    fn a_file_without_a_mode_is_a_zk_deployment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l1.json");
        let zk = Deployment {
            chain_id: 1,
            mode: SettlementMode::Zk,
            rollup: Address::repeat_byte(1),
            portal: Address::repeat_byte(2),
            verifier: None,
            owner: Address::repeat_byte(3),
            pending_owner: None,
            sequencers: vec![],
            provers: vec![],
            proposers: vec![],
            dispute: None,
            shape: ProofShape::CI,
            genesis_state_root: B256::ZERO,
            deployment_block: 1,
        };
        zk.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap().replace("  \"mode\": \"zk\",\n", "");
        assert!(!text.contains("mode"), "{text}");
        assert!(!text.contains("proposers") && !text.contains("dispute"), "{text}");
        std::fs::write(&path, text).unwrap();
        assert_eq!(Deployment::load(&path).unwrap(), zk);
        assert_eq!("optimistic".parse::<SettlementMode>(), Ok(SettlementMode::Optimistic));
        assert!("fast".parse::<SettlementMode>().unwrap_err().contains("zk or optimistic"));
    }

    #[test]
    fn malformed_deployment_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l1.json");
        std::fs::write(&path, "{\"chainId\": 1}").unwrap();
        let err = Deployment::load(&path).unwrap_err();
        assert!(matches!(err, DeploymentError::Json { .. }), "{err}");
        assert!(err.to_string().contains("l1.json"), "{err}");
        let err = Deployment::load(dir.path().join("missing.json")).unwrap_err();
        assert!(matches!(err, DeploymentError::Io { .. }), "{err}");
    }
}
