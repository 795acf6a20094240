//! The gRPC server: the worker and operator services behind authentication, with message size limits, the standard
//! health service and server reflection, over plain TCP or TLS (optionally mutual: workers present a certificate
//! signed by the cluster's CA as well as the bearer token).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use tonic::{
    Request, Status,
    service::Interceptor,
    transport::{Certificate, Identity, Server, ServerTlsConfig},
};
use zkr_protos::{
    AUTHORIZATION,
    limits::MAX_MESSAGE_BYTES,
    v1::{FILE_DESCRIPTOR_SET, operator_server::OperatorServer, prover_coordinator_server::ProverCoordinatorServer},
};

use crate::service::{Coordinator, Shutdown};

/// Checks the bearer token of every call. Several tokens may be valid at once (rotation).
#[derive(Clone)]
pub struct BearerAuth {
    tokens: Arc<Vec<Vec<u8>>>,
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth").field("tokens", &self.tokens.len()).finish()
    }
}

impl BearerAuth {
    /// Accepts any of `tokens`. An empty list refuses every call.
    pub fn new(tokens: impl IntoIterator<Item = String>) -> Self {
        Self { tokens: Arc::new(tokens.into_iter().filter(|t| !t.is_empty()).map(String::into_bytes).collect()) }
    }
}

/// Compares without an early exit, so the time taken does not tell how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Interceptor for BearerAuth {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let presented = request
            .metadata()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| Status::unauthenticated("missing bearer token"))?;
        if self.tokens.iter().any(|t| constant_time_eq(t, presented.as_bytes())) {
            Ok(request)
        } else {
            Err(Status::unauthenticated("invalid bearer token"))
        }
    }
}

/// The coordinator's TLS files (PEM): also its configuration's `[tls]` section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The coordinator's certificate chain.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
    /// The CA that signs the workers' certificates: when set, every connection must present one (mTLS), health
    /// checks included.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

impl TlsFiles {
    /// Reads the files into a server configuration.
    pub fn load(&self) -> Result<ServerTlsConfig, ServeError> {
        // rustls will not choose between several compiled-in providers (alloy's HTTP client brings aws-lc-rs, tonic
        // ring): name one for the process. An error means one is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let read =
            |path: &Path| std::fs::read(path).map_err(|source| ServeError::Tls { path: path.to_owned(), source });
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(read(&self.cert)?, read(&self.key)?));
        if let Some(ca) = &self.client_ca {
            config = config.client_ca_root(Certificate::from_pem(read(ca)?)).client_auth_optional(false);
        }
        Ok(config)
    }
}

/// Why the server stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// A TLS file could not be read.
    #[error("reading {path}: {source}")]
    Tls {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The reflection service could not be built from the descriptors.
    #[error("reflection: {0}")]
    Reflection(String),
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] tonic::transport::Error),
}

/// Serves both services on `addr` until `shutdown` resolves, over TLS when `tls` is given.
pub async fn serve(
    addr: SocketAddr,
    coordinator: Arc<Coordinator>,
    auth: BearerAuth,
    tls: Option<ServerTlsConfig>,
    shutdown: Shutdown,
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
    serve_with_listener(listener, coordinator, auth, tls, shutdown).await
}

/// Serves both services on a bound listener (tests bind port 0 and read the address first).
pub async fn serve_with_listener(
    listener: tokio::net::TcpListener,
    coordinator: Arc<Coordinator>,
    auth: BearerAuth,
    tls: Option<ServerTlsConfig>,
    shutdown: Shutdown,
) -> Result<(), ServeError> {
    let workers = ProverCoordinatorServer::from_arc(Arc::clone(&coordinator))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let operators = OperatorServer::from_arc(coordinator)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<ProverCoordinatorServer<Coordinator>>().await;
    health_reporter.set_serving::<OperatorServer<Coordinator>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    let mut server = Server::builder();
    let tls_mode = if tls.is_some() { "tls" } else { "plaintext" };
    if let Some(tls) = tls {
        server = server.tls_config(tls)?;
    }
    tracing::info!(target: "coordinator::grpc", addr = ?listener.local_addr().ok(), tls = tls_mode, "gRPC server listening");
    server
        // Health checks answer without credentials (load balancers and orchestrators probe them).
        .add_service(health)
        .add_service(tonic::service::interceptor::InterceptedService::new(reflection, auth.clone()))
        .add_service(tonic::service::interceptor::InterceptedService::new(workers, auth.clone()))
        .add_service(tonic::service::interceptor::InterceptedService::new(operators, auth))
        .serve_with_incoming_shutdown(tokio_stream::wrappers::TcpListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_must_match_exactly() {
        let mut auth = BearerAuth::new(["s3cret".to_owned(), String::new()]);
        let with = |value: &str| {
            let mut request = Request::new(());
            request.metadata_mut().insert(AUTHORIZATION, value.parse().unwrap());
            request
        };
        assert!(auth.call(with("Bearer s3cret")).is_ok());
        for bad in ["Bearer s3cre", "Bearer s3crett", "s3cret", "Bearer ", "Basic s3cret"] {
            assert_eq!(auth.call(with(bad)).unwrap_err().code(), tonic::Code::Unauthenticated, "{bad}");
        }
        assert_eq!(auth.call(Request::new(())).unwrap_err().code(), tonic::Code::Unauthenticated);
        // The empty token configured is not a valid token.
        assert!(auth.call(with("Bearer ")).is_err());
    }
}
