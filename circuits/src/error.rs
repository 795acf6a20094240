//! Why setting up, loading or checking the circuits' keys failed.

use std::{
    fs::{self, File},
    io::{self, BufWriter, Write},
    path::Path,
};

/// Why key generation, loading or a check failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing keys or the SRS.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: io::Error,
    },
    /// The witness does not fit the circuit.
    #[error(transparent)]
    Circuit(#[from] crate::ChunkCircuitError),
    /// halo2 refused (unsatisfied circuit, wrong sizes).
    #[error("halo2: {0}")]
    Halo2(String),
    /// The proof produced does not verify: the witness is wrong.
    #[error("the proof does not verify: the witness does not satisfy the circuit")]
    Unsatisfied,
    /// The proof shape, or a circuit's layout for it, is not one the circuits take.
    #[error("shape: {0}")]
    Shape(String),
    /// The inputs to aggregation are wrong.
    #[error("aggregation: {0}")]
    Aggregation(String),
    /// Bytes received from another process do not decode.
    #[error("encoding: {0}")]
    Encoding(String),
}

impl Error {
    /// Whether trying again (on this or another machine) may succeed: resource and I/O failures, as opposed to inputs
    /// that cannot be proven.
    pub const fn is_retryable(&self) -> bool {
        matches!(self, Self::Io { .. } | Self::Halo2(_))
    }
}

/// An [`Error::Io`] with what was being done.
pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}

/// Writes `path` through a temporary file next to it, renamed once complete and flushed, so that a crash never leaves
/// half a file (half a key) under the final name.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    let context = || format!("writing {}", tmp.display());
    let mut file = BufWriter::new(File::create(&tmp).map_err(io_err(format!("creating {}", tmp.display())))?);
    write(&mut file).and_then(|()| file.flush()).map_err(io_err(context()))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err(format!("renaming {}", tmp.display())))
}
