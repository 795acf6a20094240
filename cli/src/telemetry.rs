//! Logs and metrics, set up the same way by every binary.

use std::{io::IsTerminal, net::SocketAddr};

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Installs the tracing subscriber: human-readable lines on standard error, filtered by `RUST_LOG` when it is set
/// and by `default_filter` (for example `"info"`) otherwise. Standard output stays free for a command's own output.
pub fn init_tracing(default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let ansi = std::io::stderr().is_terminal();
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).init();
}

/// Installs the Prometheus recorder with histogram `buckets` (matched by metric name) and returns the handle that
/// renders the metrics. With `listen`, also serves them over HTTP there (`/metrics`; the listener answers every
/// path). Must be called inside a tokio runtime: the recorder's upkeep and the listener run on it.
pub fn install_metrics(
    listen: Option<SocketAddr>,
    buckets: &[(Matcher, &[f64])],
) -> Result<PrometheusHandle, BuildError> {
    let mut builder = PrometheusBuilder::new();
    for (matcher, values) in buckets {
        builder = builder.set_buckets_for_metric(matcher.clone(), values)?;
    }
    match listen {
        Some(addr) => {
            let (recorder, exporter) = builder.with_http_listener(addr).build()?;
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder)?;
            tokio::spawn(exporter);
            Ok(handle)
        }
        None => builder.install_recorder(),
    }
}
