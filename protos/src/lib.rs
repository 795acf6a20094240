//! The proving cluster's wire protocol: the coordinator's gRPC services for prover workers and operators (package
//! `zkr.prover.v1`, `proto/zkr/prover/v1/prover.proto`), and the limits both ends apply.
//!
//! The coordinator and the worker depend on this crate and not on each other.

/// The generated messages, clients and servers of `zkr.prover.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic, rust_2018_idioms)]
pub mod v1 {
    tonic::include_proto!("zkr.prover.v1");

    /// The encoded file descriptors of the package, for gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("zkr_prover_v1_descriptor");
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
