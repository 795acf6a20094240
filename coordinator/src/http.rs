//! The coordinator's HTTP side, for people and for Prometheus: the status page (`/`), its JSON (`/api/status`), the
//! metrics (`/metrics`) and a liveness probe (`/healthz`). It only reads; anything that changes state goes through
//! the authenticated operator gRPC service. Bind it where only operators reach it.

use std::{future::Future, net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::Coordinator;

#[derive(Clone)]
struct AppState {
    coordinator: Arc<Coordinator>,
    metrics: Option<PrometheusHandle>,
}

/// The routes, over `coordinator`; `/metrics` answers 404 without a `metrics` handle.
pub fn router(coordinator: Arc<Coordinator>, metrics: Option<PrometheusHandle>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/status", get(status))
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(AppState { coordinator, metrics })
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve_http(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

/// Binds `addr` and serves the HTTP side until `shutdown` resolves. Returns the bound address and the server task.
pub async fn start_http(
    addr: SocketAddr,
    coordinator: Arc<Coordinator>,
    metrics: Option<PrometheusHandle>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    Ok((bound, tokio::spawn(serve_http(listener, router(coordinator, metrics), shutdown))))
}

async fn page(State(state): State<AppState>) -> Response {
    match state.coordinator.snapshot().await {
        Ok(snapshot) => Html(snapshot.to_html()).into_response(),
        Err(err) => unavailable(&err),
    }
}

async fn status(State(state): State<AppState>) -> Response {
    match state.coordinator.snapshot().await {
        Ok(snapshot) => Json(snapshot.to_json()).into_response(),
        Err(err) => unavailable(&err),
    }
}

async fn render_metrics(State(state): State<AppState>) -> Response {
    match state.metrics {
        Some(handle) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are not enabled").into_response(),
    }
}

fn unavailable(err: &crate::Error) -> Response {
    tracing::error!(target: "coordinator::http", %err, "reading the status failed");
    (StatusCode::SERVICE_UNAVAILABLE, format!("status unavailable: {err}")).into_response()
}
