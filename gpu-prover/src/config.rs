//! `zkr-prover`'s settings: a TOML file (`--config`), `ZKR_PROVER_*` environment variables and dotted flags, in
//! that order of precedence from lowest to highest (`zkr_cli::config`).
//!
//! ```toml
//! name = "gpu-0"                      # what operators see; default: the host name and process id
//! backend = "auto"                    # gpu | cpu | auto
//! kinds = ["chunk", "aggregation"]    # job kinds to take (chunk, layer, aggregation); empty or absent: all
//!
//! [coordinator]
//! url = "http://127.0.0.1:50051"      # https:// when the coordinator serves TLS
//!
//! [auth]
//! token_file = "/etc/zkr/secrets/token"   # or token = "...", better as ZKR_PROVER_AUTH__TOKEN
//!
//! [tls]                               # any of these turns TLS on
//! ca = "/etc/zkr/tls/ca.crt"          # the CA of the coordinator's certificate
//! cert = "/etc/zkr/tls/tls.crt"       # this worker's certificate, for a coordinator that requires mTLS
//! key = "/etc/zkr/tls/tls.key"
//! domain = "coordinator.internal"     # the name in the coordinator's certificate, when not the URL's host
//!
//! [keys]
//! dir = "/var/lib/zkr/keys"           # SRS and keys (generated here at first start)
//! dev_srs = false                     # generate an INSECURE SRS when none is there (development and CI only)
//!
//! [metrics]
//! addr = "0.0.0.0:9103"               # Prometheus; none serves no metrics
//! ```

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use zkr_protos::{ClientTls, v1::JobKind};

use crate::{ClientConfig, WorkerConfig};

/// Every setting of `zkr-prover`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProverConfig {
    /// The name operators see; the host name and process id when absent.
    pub name: Option<String>,
    /// Where the proofs' commitments run: `gpu` (our CUDA MSM with the SRS resident; the worker does not start
    /// without a usable GPU), `cpu` (the MSM's CPU twin), or `auto` (the GPU when one works, else the CPU, logging
    /// why).
    pub backend: BackendName,
    /// Job kinds to take; empty for all.
    pub kinds: Vec<KindName>,
    /// `[coordinator]`.
    pub coordinator: CoordinatorSection,
    /// `[auth]`.
    pub auth: zkr_cli::AuthSection,
    /// `[tls]`.
    pub tls: TlsSection,
    /// `[keys]`.
    pub keys: KeysSection,
    /// `[metrics]`.
    pub metrics: MetricsSection,
}

/// `backend`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendName {
    /// The GPU when one works, else the CPU.
    #[default]
    Auto,
    /// The GPU or nothing.
    Gpu,
    /// The CPU.
    Cpu,
}

/// An entry of `kinds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum KindName {
    /// Chunk proofs.
    Chunk,
    /// Batch proofs: aggregations of chunk proofs, or of layer proofs in a setup with a layer.
    Aggregation,
    /// Layer proofs: aggregations of a group of chunk proofs (a setup with a layer).
    Layer,
}

/// `[coordinator]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoordinatorSection {
    /// The coordinator's gRPC endpoint.
    pub url: String,
}

/// `[tls]`: how the worker reaches a coordinator that serves TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSection {
    /// The CA certificate (PEM) of the coordinator's certificate.
    pub ca: Option<PathBuf>,
    /// This worker's certificate (PEM), for a coordinator that requires mTLS.
    pub cert: Option<PathBuf>,
    /// The private key (PEM) of `cert`.
    pub key: Option<PathBuf>,
    /// The name the coordinator's certificate carries, when it is not the URL's host.
    pub domain: Option<String>,
}

/// `[keys]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysSection {
    /// Folder of the SRS and keys.
    pub dir: PathBuf,
    /// Generate an INSECURE SRS when none is in the folder (development and CI only).
    pub dev_srs: bool,
}

/// `[metrics]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSection {
    /// Serve Prometheus metrics on this address.
    pub addr: Option<SocketAddr>,
}

impl Default for CoordinatorSection {
    fn default() -> Self {
        Self { url: "http://127.0.0.1:50051".into() }
    }
}

impl Default for KeysSection {
    fn default() -> Self {
        Self { dir: PathBuf::from(".zkr/keys"), dev_srs: false }
    }
}

impl From<BackendName> for zkr_kernels::gpu::Backend {
    fn from(name: BackendName) -> Self {
        match name {
            BackendName::Auto => Self::Auto,
            BackendName::Gpu => Self::Gpu,
            BackendName::Cpu => Self::Cpu,
        }
    }
}

impl From<KindName> for JobKind {
    fn from(name: KindName) -> Self {
        match name {
            KindName::Chunk => Self::Chunk,
            KindName::Aggregation => Self::Aggregation,
            KindName::Layer => Self::Layer,
        }
    }
}

impl ProverConfig {
    /// The prefix of the worker's environment variables.
    pub const ENV_PREFIX: &str = "ZKR_PROVER_";

    /// Defaults, then `file`, then `ZKR_PROVER_*` variables, then `flags`.
    pub fn load(file: Option<&Path>, flags: zkr_cli::Overrides) -> Result<Self, zkr_cli::ConfigError> {
        zkr_cli::load(file, Self::ENV_PREFIX, flags)
    }

    /// The worker's configuration: reads the token, names the worker after `default_name` when no name is set.
    pub fn worker(&self, default_name: impl FnOnce() -> String) -> Result<WorkerConfig, String> {
        let token = zkr_protos::read_token(self.auth.token.as_deref(), self.auth.token_file.as_deref())?;
        let identity = match (&self.tls.cert, &self.tls.key) {
            (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
            (None, None) => None,
            _ => return Err("tls.cert and tls.key go together".into()),
        };
        let tls = ClientTls { ca: self.tls.ca.clone(), identity, domain: self.tls.domain.clone() };
        Ok(WorkerConfig {
            client: ClientConfig { endpoint: self.coordinator.url.clone(), token, tls },
            name: self.name.clone().unwrap_or_else(default_name),
            backend: self.backend.into(),
            kinds: self.kinds.iter().map(|&kind| kind.into()).collect(),
            keys_dir: self.keys.dir.clone(),
            dev_srs: self.keys.dev_srs,
            take_wait: Duration::from_secs(10),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_loads_into_a_worker_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prover.toml");
        std::fs::write(
            &path,
            r#"
backend = "cpu"
kinds = ["chunk"]
[coordinator]
url = "https://coordinator:50051"
[auth]
token = "secret"
[tls]
ca = "/etc/zkr/tls/ca.crt"
[keys]
dir = "/var/lib/zkr/keys"
[metrics]
addr = "0.0.0.0:9103"
"#,
        )
        .unwrap();
        let flags = zkr_cli::Overrides::new().set("name", Some("gpu-7")).flag("keys.dev_srs", true);
        let config = ProverConfig::load(Some(&path), flags).unwrap();
        let worker = config.worker(|| "unused".into()).unwrap();
        assert_eq!(worker.name, "gpu-7");
        assert_eq!(worker.client.endpoint, "https://coordinator:50051");
        assert_eq!(worker.client.token, "secret");
        assert!(worker.client.tls.enabled());
        assert_eq!(worker.kinds, vec![JobKind::Chunk]);
        assert_eq!(worker.backend, zkr_kernels::gpu::Backend::Cpu);
        assert!(worker.dev_srs);
        assert_eq!(config.metrics.addr, Some("0.0.0.0:9103".parse().unwrap()));
    }

    #[test]
    fn a_backend_it_does_not_know_and_a_half_identity_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prover.toml");
        std::fs::write(&path, "backend = \"tpu\"\n").unwrap();
        let err = ProverConfig::load(Some(&path), zkr_cli::Overrides::new()).unwrap_err();
        assert!(err.to_string().contains("tpu"), "{err}");

        std::fs::write(&path, "[auth]\ntoken = \"t\"\n[tls]\ncert = \"c.pem\"\n").unwrap();
        let config = ProverConfig::load(Some(&path), zkr_cli::Overrides::new()).unwrap();
        assert!(config.worker(String::new).unwrap_err().contains("tls.key"));
        assert!(ProverConfig::default().worker(String::new).unwrap_err().contains("token"));
    }
}
