//! The gRPC server: the worker and operator services behind authentication, with message size limits, the standard
//! health service and server reflection.

use std::{net::SocketAddr, sync::Arc};

use tonic::{Request, Status, service::Interceptor, transport::Server};
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
    /// The reflection service could not be built from the descriptors.
    #[error("reflection: {0}")]
    Reflection(String),
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] tonic::transport::Error),
}

/// Serves both services on `addr` until `shutdown` resolves.
pub async fn serve(
    addr: SocketAddr,
    coordinator: Arc<Coordinator>,
    auth: BearerAuth,
    shutdown: Shutdown,
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
    serve_with_listener(listener, coordinator, auth, shutdown).await
}

/// Serves both services on a bound listener (tests bind port 0 and read the address first).
pub async fn serve_with_listener(
    listener: tokio::net::TcpListener,
    coordinator: Arc<Coordinator>,
    auth: BearerAuth,
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
    tracing::info!(target: "coordinator::grpc", addr = ?listener.local_addr().ok(), "gRPC server listening");
    Server::builder()
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
