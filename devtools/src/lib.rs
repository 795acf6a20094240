//! Development tooling shared by tests and the devnet: finds the project's pinned toolchain, runs anvil, and holds
//! the test helpers for child processes and ports.
//!
//! `scripts/setup.sh` installs anvil, forge, cast and a `solc` command into `.tools/` at the workspace root (or into
//! `$ZKR_TOOLS_DIR`). This crate finds them there, so neither tests nor users edit `PATH`, and starts anvil as a
//! child process:
//!
//! ```text
//!  Anvil::new().spawn() --> anvil --host 127.0.0.1 --port 0 ...
//!        |                     | stdout: banner (keys, chain id), then "Listening on 127.0.0.1:PORT"
//!        |<--------------------+ parsed until the listening line, then drained to `tracing` on a thread
//!        v
//!  AnvilInstance { endpoint, chain_id, keys }  --drop--> kill + wait
//! ```
//!
//! Port 0 lets the kernel pick a free loopback port, so any number of tests run in parallel.

mod anvil;
mod error;
mod tools;

mod http;
mod postgres;
mod process;

pub use anvil::{Anvil, AnvilInstance};
pub use error::{Error, Result};
pub use http::http_get;
pub use postgres::{REQUIRE_POSTGRES, TEST_POSTGRES_URL, TestDatabase, off_runtime};
pub use process::{Process, free_port};
pub use tools::{Tools, workspace_root};
