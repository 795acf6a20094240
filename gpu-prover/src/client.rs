//! The gRPC connection to the coordinator: credentials on every call, message size limits, optional TLS.

use std::time::Duration;

use tonic::{
    Request, Status,
    metadata::MetadataValue,
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};
use zkr_protos::{
    AUTHORIZATION, ClientTls, bearer, limits::MAX_MESSAGE_BYTES, v1::prover_coordinator_client::ProverCoordinatorClient,
};

/// How to reach the coordinator.
#[derive(Debug, Clone, Default)]
pub struct ClientConfig {
    /// `http://host:port` or `https://host:port`.
    pub endpoint: String,
    /// The cluster's bearer token.
    pub token: String,
    /// TLS (off unless a CA or an identity is given).
    pub tls: ClientTls,
}

/// Adds the bearer token to every call.
#[derive(Clone)]
pub struct BearerToken(MetadataValue<tonic::metadata::Ascii>);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(..)")
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request.metadata_mut().insert(AUTHORIZATION, self.0.clone());
        Ok(request)
    }
}

/// The coordinator client a worker uses.
pub type Client = ProverCoordinatorClient<InterceptedService<Channel, BearerToken>>;

/// Connects to the coordinator (lazily: the first call opens the connection, and reconnects after failures).
pub fn connect(config: &ClientConfig) -> eyre::Result<Client> {
    let token: MetadataValue<_> =
        bearer(&config.token).parse().map_err(|_| eyre::eyre!("the token must be printable ASCII"))?;
    let endpoint = config
        .tls
        .endpoint(&config.endpoint)
        .map_err(|e| eyre::eyre!(e))?
        .connect_timeout(Duration::from_secs(10))
        .tcp_keepalive(Some(Duration::from_secs(30)))
        .http2_keep_alive_interval(Duration::from_secs(30));
    Ok(ProverCoordinatorClient::with_interceptor(endpoint.connect_lazy(), BearerToken(token))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES))
}
