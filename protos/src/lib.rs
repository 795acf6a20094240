//! The proving cluster's wire protocol: the coordinator's gRPC services for prover workers and operators (package
//! `zkr.prover.v1`, `proto/zkr/prover/v1/prover.proto`), and the limits both ends apply.
//!
//! The coordinator and the worker depend on this crate and not on each other.

/// The generated messages, clients and servers of `zkr.prover.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic, rust_2018_idioms)]
pub mod v1 {
    tonic::include_proto!("zkr.prover.v1");

    #[cfg(test)]
    mod tests {
        #[test]
        fn a_setup_carries_the_shape_and_its_layer() {
            let flat = zkr_protocol::ProofShape::CI;
            let layered = zkr_protocol::ProofShape {
                chunks_per_batch: 4,
                layer: Some(zkr_protocol::LayerShape { group: 2, k: 20 }),
                ..flat
            };
            for shape in [flat, layered] {
                assert_eq!(super::ProverSetup::new(&shape, vec![0xfe; 20]).shape(), shape);
            }
            assert_eq!(super::ProverSetup::new(&flat, vec![]).layer, None);
        }
    }

    /// The encoded file descriptors of the package, for gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("zkr_prover_v1_descriptor");
}

impl v1::ProverSetup {
    /// The setup of a cluster proving `shape`, whose chunk circuit has `fee_recipient` (20 bytes) as its constant.
    pub fn new(shape: &zkr_protocol::ProofShape, fee_recipient: Vec<u8>) -> Self {
        Self {
            chunk_k: shape.chunk_k,
            chunk_slots: shape.chunk_slots as u32,
            chunks_per_batch: shape.chunks_per_batch as u32,
            aggregation_k: shape.aggregation_k,
            fee_recipient,
            layer: shape.layer.map(|layer| v1::Layer { group: layer.group as u32, k: layer.k }),
        }
    }

    /// The proof shape this setup proves (not validated: `ProofShape::validate`).
    pub fn shape(&self) -> zkr_protocol::ProofShape {
        zkr_protocol::ProofShape {
            chunk_slots: self.chunk_slots as usize,
            chunk_k: self.chunk_k,
            chunks_per_batch: self.chunks_per_batch as usize,
            aggregation_k: self.aggregation_k,
            layer: self
                .layer
                .as_ref()
                .map(|layer| zkr_protocol::LayerShape { group: layer.group as usize, k: layer.k }),
        }
    }
}

/// Message size limits, set on purpose on both ends: tonic's default (4 MiB decoding, unlimited encoding) would
/// refuse a large batch's aggregation input and accept anything going out.
pub mod limits {
    /// The largest message either end decodes or encodes: 32 MiB. The largest messages are aggregation inputs
    /// (every chunk proof of a batch: about 55 KB per chunk at the CI shape, and proofs grow with the logarithm of
    /// the circuit) and chunk witnesses (about 4.5 KB per record slot); 32 MiB leaves two orders of magnitude.
    pub const MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;

    /// The longest a `TakeJob` call waits for a job before it returns empty.
    pub const MAX_TAKE_WAIT_MS: u32 = 30_000;
}

/// Buckets (seconds) of every proving-latency histogram, on the coordinator and the workers alike so their series
/// line up on one dashboard: 100 ms to an hour.
pub const PROVING_BUCKETS: &[f64] =
    &[0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 60.0, 120.0, 240.0, 480.0, 900.0, 1800.0, 3600.0];

/// The cluster's bearer token from a flag or a file (trimmed), as both binaries take it.
pub fn read_token(token: Option<&str>, file: Option<&std::path::Path>) -> Result<String, String> {
    match (token, file) {
        (Some(token), _) => Ok(token.to_owned()),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|t| t.trim().to_owned())
            .map_err(|e| format!("reading {}: {e}", path.display())),
        (None, None) => Err("a token is required (auth.token or auth.token_file)".into()),
    }
}

/// Command-line argument groups shared by the cluster's binaries (feature `cli`): the token and a client's TLS.
#[cfg(feature = "cli")]
pub mod cli {
    use std::path::PathBuf;

    use crate::ClientTls;

    /// `--auth.token` / `--auth.token-file` (or `ZKR_TOKEN` / `ZKR_TOKEN_FILE`), for the operator commands; the
    /// long-running binaries read the same settings from their configuration (`auth.token`, `auth.token_file`).
    #[derive(Debug, Clone, Default, clap::Args)]
    pub struct TokenArgs {
        /// The cluster's bearer token.
        #[arg(long = "auth.token", env = "ZKR_TOKEN", hide_env_values = true, conflicts_with = "token_file")]
        pub token: Option<String>,
        /// A file holding the cluster's bearer token.
        #[arg(long = "auth.token-file", env = "ZKR_TOKEN_FILE")]
        pub token_file: Option<PathBuf>,
    }

    impl TokenArgs {
        /// The token, from the flag or the file ([`crate::read_token`]).
        pub fn read(&self) -> Result<String, String> {
            crate::read_token(self.token.as_deref(), self.token_file.as_deref())
        }
    }

    /// `--tls.ca`, `--tls.cert`, `--tls.key`, `--tls.domain`: how a client reaches a coordinator that serves TLS.
    #[derive(Debug, Clone, Default, clap::Args)]
    pub struct ClientTlsArgs {
        /// The CA certificate (PEM) of the coordinator's TLS certificate; implies TLS.
        #[arg(long = "tls.ca")]
        pub tls_ca: Option<PathBuf>,
        /// This client's certificate (PEM), for a coordinator that requires mTLS.
        #[arg(long = "tls.cert", requires = "tls_key")]
        pub tls_cert: Option<PathBuf>,
        /// The private key (PEM) of `--tls.cert`.
        #[arg(long = "tls.key", requires = "tls_cert")]
        pub tls_key: Option<PathBuf>,
        /// The name the coordinator's certificate carries, when it is not the endpoint's host.
        #[arg(long = "tls.domain")]
        pub tls_domain: Option<String>,
    }

    impl From<ClientTlsArgs> for ClientTls {
        fn from(args: ClientTlsArgs) -> Self {
            Self { ca: args.tls_ca, identity: args.tls_cert.zip(args.tls_key), domain: args.tls_domain }
        }
    }
}

/// The TLS side of a client connection (workers and `zkr-coordinator ctl`), as both binaries take it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTls {
    /// The CA certificate (PEM) that signed the coordinator's certificate. Setting it (or `identity`) turns TLS on.
    pub ca: Option<std::path::PathBuf>,
    /// This client's certificate and private key (PEM), for a coordinator that requires mTLS.
    pub identity: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// The name the coordinator's certificate must carry, when it is not the endpoint's host.
    pub domain: Option<String>,
}

impl ClientTls {
    /// Whether TLS is on.
    pub const fn enabled(&self) -> bool {
        self.ca.is_some() || self.identity.is_some()
    }

    /// An endpoint for `url` (`http://` or `https://host:port`) with these TLS settings; it does not connect.
    pub fn endpoint(&self, url: &str) -> Result<tonic::transport::Endpoint, String> {
        use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
        let mut endpoint = Endpoint::from_shared(url.to_owned()).map_err(|e| format!("endpoint {url:?}: {e}"))?;
        if self.enabled() {
            let read =
                |path: &std::path::Path| std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()));
            let mut tls = ClientTlsConfig::new();
            if let Some(ca) = &self.ca {
                tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
            }
            if let Some((cert, key)) = &self.identity {
                tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            if let Some(domain) = &self.domain {
                tls = tls.domain_name(domain.clone());
            }
            endpoint = endpoint.tls_config(tls).map_err(|e| format!("TLS settings: {e}"))?;
        }
        Ok(endpoint)
    }
}

/// The gRPC metadata key of the cluster's bearer token.
pub const AUTHORIZATION: &str = "authorization";

/// The value of [`AUTHORIZATION`] for `token`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

impl v1::Stage {
    /// The `stage` label of metrics.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Witness => "witness",
            Self::Msm => "msm",
            Self::Ntt => "ntt",
            Self::Quotient => "quotient",
            Self::Opening => "opening",
            Self::Aggregation => "aggregation",
            Self::Verify => "verify",
            Self::Total => "total",
        }
    }
}
