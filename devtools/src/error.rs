use std::{io, path::PathBuf, time::Duration};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors from finding or running the local toolchain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tool is not installed where the setup script puts it.
    #[error("`{name}` not found at {}: run scripts/setup.sh to install the pinned toolchain", path.display())]
    ToolMissing {
        /// The tool's name.
        name: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The process could not be started or its output read.
    #[error("failed to run {name}: {source}")]
    Io {
        /// The tool's name.
        name: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// solc refused a source or printed no bytecode.
    #[error("solc: {0}")]
    Solc(String),
    /// Anvil exited or closed its output before it was ready.
    #[error("anvil exited before listening; its output:\n{output}")]
    AnvilExited {
        /// What anvil printed.
        output: String,
    },
    /// A test needs the Postgres test server and none is configured.
    #[error(
        "ZKR_REQUIRE_POSTGRES is set but ZKR_TEST_POSTGRES_URL is not: eval \"$(scripts/postgres.sh start)\" first"
    )]
    PostgresMissing,
    /// The Postgres test server refused a request.
    #[error("postgres test server: {0}")]
    Postgres(String),
    /// Anvil did not report a listening address in time.
    #[error("anvil was not listening after {timeout:?}")]
    AnvilTimeout {
        /// How long we waited.
        timeout: Duration,
    },
}

impl Error {
    /// Whether the fix is to run the setup script.
    pub const fn is_setup_missing(&self) -> bool {
        matches!(self, Self::ToolMissing { .. })
    }
}
