//! `zkr-coordinator run`'s settings: a TOML file (`--config`), `ZKR_COORDINATOR_*` environment variables and
//! dotted flags, in that order of precedence from lowest to highest (`zkr_cli::config`).
//!
//! ```toml
//! deployment = "/etc/zkr/l1.json"          # zkr-deploy's file: the Rollup and the proof shape (required)
//! genesis = "/etc/zkr/genesis.json"        # the chain's genesis (required)
//! db = "/var/lib/zkr/coordinator.sqlite"   # or postgres://user:password@host/db (ZKR_COORDINATOR_DB)
//!
//! [keys]
//! dir = "/var/lib/zkr/keys"                # the compiled verifying keys that key generation writes
//!
//! [auth]
//! token_file = "/etc/zkr/secrets/token"    # or token = "...", better as ZKR_COORDINATOR_AUTH__TOKEN
//!
//! [grpc]
//! addr = "0.0.0.0:50051"                   # workers and operators
//! [http]
//! addr = "0.0.0.0:9102"                    # status page, /api/status, /metrics, /healthz
//!
//! [tls]                                    # with cert and key, gRPC serves TLS only
//! cert = "/etc/zkr/tls/tls.crt"
//! key = "/etc/zkr/tls/tls.key"
//! client_ca = "/etc/zkr/tls/ca.crt"        # every client must present a certificate it signs (mTLS)
//!
//! [l1]
//! rpc_url = "http://127.0.0.1:8545"
//! confirmations = 0
//! poll_ms = 2000
//! signer_key = "0x..."                     # sends finalizeBatch; better as ZKR_COORDINATOR_L1__SIGNER_KEY
//!
//! [jobs]
//! lease_ttl_ms = 30000
//! max_attempts = 3
//!
//! [optimistic]                             # only read when the deployment is optimistic
//! challenge = true                         # challenge outputs that differ from the replica's (bonds from signer_key)
//! defend = true                            # prove right outputs that were challenged
//! prove_every = 0                          # also prove every n-th batch unchallenged (0: never)
//! ```

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// Every setting of `zkr-coordinator run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoordinatorConfig {
    /// The deployment file `zkr-deploy` wrote: the Rollup, and the proof shape (chunk slots, circuit sizes, chunks
    /// per batch) the coordinator, its workers and the node's batcher all use.
    pub deployment: Option<PathBuf>,
    /// The chain's genesis (JSON of `zkr_protocol::Genesis`: feeRecipient and alloc).
    pub genesis: Option<PathBuf>,
    /// The store: an SQLite file (one coordinator), or a Postgres URL (`postgres://user:password@host/db`) that
    /// several coordinators share, each serving workers while one of them follows L1 and finalizes.
    pub db: String,
    /// `[keys]`.
    pub keys: KeysSection,
    /// `[auth]`.
    pub auth: zkr_cli::AuthSection,
    /// `[grpc]`.
    pub grpc: ListenSection,
    /// `[http]`.
    pub http: ListenSection,
    /// `[tls]`: without it gRPC is plaintext.
    pub tls: Option<crate::TlsFiles>,
    /// `[l1]`.
    pub l1: L1Section,
    /// `[jobs]`.
    pub jobs: JobsSection,
    /// `[optimistic]`: the dispute game's roles, for optimistic deployments.
    pub optimistic: OptimisticSection,
}

/// `[optimistic]`: see [`crate::disputes::DisputeRoles`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimisticSection {
    /// Challenge outputs that differ from the replica's (the bonds come from `l1.signer_key`'s account).
    pub challenge: bool,
    /// Prove right outputs that someone challenged.
    pub defend: bool,
    /// Prove every n-th batch's output even unchallenged, finalizing it at once (0: never).
    pub prove_every: u64,
}

impl Default for OptimisticSection {
    fn default() -> Self {
        let roles = crate::disputes::DisputeRoles::default();
        Self { challenge: roles.challenge, defend: roles.defend, prove_every: roles.prove_every }
    }
}

impl From<OptimisticSection> for crate::disputes::DisputeRoles {
    fn from(section: OptimisticSection) -> Self {
        Self { challenge: section.challenge, defend: section.defend, prove_every: section.prove_every }
    }
}

/// What [`CoordinatorConfig::check`] found set: the settings without a default.
#[derive(Debug, Clone, Copy)]
pub struct Required<'a> {
    /// `deployment`.
    pub deployment: &'a Path,
    /// `genesis`.
    pub genesis: &'a Path,
    /// `l1.signer_key`.
    pub signer_key: &'a str,
}

/// `[keys]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysSection {
    /// Folder of the compiled verifying keys (`*.protocol`) and the SRS's verifier points
    /// (`kzg_bn254_verifier.srs`) that key generation writes (`zkr-prove setup`, or a worker's first start).
    pub dir: PathBuf,
}

/// A listen address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenSection {
    /// The address.
    pub addr: SocketAddr,
}

/// `[l1]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct L1Section {
    /// L1 JSON-RPC endpoint.
    pub rpc_url: String,
    /// Confirmations before a committed batch is proven.
    pub confirmations: u64,
    /// How often to poll L1 (ms).
    pub poll_ms: u64,
    /// The private key that sends `finalizeBatch` (a prover role on the Rollup), or in the optimistic mode the
    /// challenges (with their bonds) and defences, 0x-hex.
    pub signer_key: Option<String>,
}

/// `[jobs]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsSection {
    /// A lease lapses this long after its last heartbeat (ms).
    pub lease_ttl_ms: u64,
    /// Attempts per job.
    pub max_attempts: u32,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        Self {
            deployment: None,
            genesis: None,
            db: ".zkr/coordinator.sqlite".into(),
            keys: KeysSection::default(),
            auth: zkr_cli::AuthSection::default(),
            grpc: ListenSection { addr: SocketAddr::from(([127, 0, 0, 1], 50051)) },
            http: ListenSection { addr: SocketAddr::from(([127, 0, 0, 1], 9102)) },
            tls: None,
            l1: L1Section::default(),
            jobs: JobsSection::default(),
            optimistic: OptimisticSection::default(),
        }
    }
}

impl Default for KeysSection {
    fn default() -> Self {
        Self { dir: PathBuf::from(".zkr/keys") }
    }
}

impl Default for L1Section {
    fn default() -> Self {
        Self { rpc_url: "http://127.0.0.1:8545".into(), confirmations: 0, poll_ms: 2_000, signer_key: None }
    }
}

impl Default for JobsSection {
    fn default() -> Self {
        Self { lease_ttl_ms: 30_000, max_attempts: 3 }
    }
}

impl CoordinatorConfig {
    /// The prefix of the coordinator's environment variables.
    pub const ENV_PREFIX: &str = "ZKR_COORDINATOR_";

    /// Defaults, then `file`, then `ZKR_COORDINATOR_*` variables, then `flags`.
    pub fn load(file: Option<&Path>, flags: zkr_cli::Overrides) -> Result<Self, zkr_cli::ConfigError> {
        zkr_cli::load(file, Self::ENV_PREFIX, flags)
    }

    /// The settings a run cannot do without, or all of those missing, named as an operator would set them.
    pub fn check(&self) -> Result<Required<'_>, String> {
        match (&self.deployment, &self.genesis, &self.l1.signer_key) {
            (Some(deployment), Some(genesis), Some(signer_key))
                if self.auth.token.is_some() || self.auth.token_file.is_some() =>
            {
                return Ok(Required { deployment, genesis, signer_key });
            }
            _ => {}
        }
        let mut missing = Vec::new();
        if self.deployment.is_none() {
            missing.push("deployment (--deployment)");
        }
        if self.genesis.is_none() {
            missing.push("genesis (--genesis)");
        }
        if self.l1.signer_key.is_none() {
            missing.push("l1.signer_key (ZKR_COORDINATOR_L1__SIGNER_KEY)");
        }
        if self.auth.token.is_none() && self.auth.token_file.is_none() {
            missing.push("auth.token or auth.token_file (--auth.token-file, ZKR_COORDINATOR_AUTH__TOKEN)");
        }
        Err(format!("missing settings: {}", missing.join(", ")))
    }

    /// The bearer token, from `auth.token` or `auth.token_file`.
    pub fn token(&self) -> Result<String, String> {
        zkr_protos::read_token(self.auth.token.as_deref(), self.auth.token_file.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_every_section_loads_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coordinator.toml");
        std::fs::write(
            &path,
            r#"
deployment = "/etc/zkr/l1.json"
genesis = "/etc/zkr/genesis.json"
db = "postgres://zkr:secret@db/zkr"
[keys]
dir = "/var/lib/zkr/keys"
[auth]
token_file = "/etc/zkr/secrets/token"
[grpc]
addr = "0.0.0.0:50051"
[http]
addr = "0.0.0.0:9102"
[tls]
cert = "/etc/zkr/tls/tls.crt"
key = "/etc/zkr/tls/tls.key"
[l1]
rpc_url = "http://l1:8545"
confirmations = 2
signer_key = "0x01"
[jobs]
max_attempts = 5
"#,
        )
        .unwrap();
        let flags = zkr_cli::Overrides::new().set("l1.rpc_url", Some("http://other:8545"));
        let config = CoordinatorConfig::load(Some(&path), flags).unwrap();
        config.check().unwrap();
        assert_eq!(config.l1.rpc_url, "http://other:8545");
        assert_eq!(config.l1.confirmations, 2);
        assert_eq!(config.l1.poll_ms, 2_000, "a key the file leaves out keeps its default");
        assert_eq!(config.jobs, JobsSection { lease_ttl_ms: 30_000, max_attempts: 5 });
        assert_eq!(config.tls.as_ref().unwrap().client_ca, None);
        assert_eq!(config.grpc.addr, "0.0.0.0:50051".parse().unwrap());
    }

    #[test]
    fn missing_settings_are_named() {
        let err = CoordinatorConfig::default().check().unwrap_err();
        for name in ["deployment", "genesis", "l1.signer_key", "auth.token"] {
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn the_old_flat_spellings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coordinator.toml");
        std::fs::write(&path, "l1_rpc = \"http://l1:8545\"\n").unwrap();
        let err = CoordinatorConfig::load(Some(&path), zkr_cli::Overrides::new()).unwrap_err();
        assert!(err.to_string().contains("l1_rpc"), "{err}");
    }
}
