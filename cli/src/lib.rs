//! What every zkr binary shares, so that each is configured, logs and exports metrics the same way.
//!
//! - [`config`]: a binary's settings are one serde struct, read from defaults, then a TOML file, then
//!   `ZKR_<BINARY>_*` environment variables, then command-line flags, each overriding the one before. A setting has
//!   one name everywhere: the TOML key path `l1.rpc_url` is the flag `--l1.rpc-url` and the variable
//!   `ZKR_COORDINATOR_L1__RPC_URL` (sections joined by `__`).
//! - [`telemetry`]: the tracing subscriber (filtered by `RUST_LOG`, written to standard error) and the Prometheus
//!   recorder with its optional HTTP listener.
//! - `zkr-healthcheck`: a dependency-free HTTP probe for container images without a shell.

pub mod config;
pub mod telemetry;

pub use config::{AuthSection, ConfigError, Overrides, load};
pub use telemetry::{init_tracing, install_metrics};
