//! The error type of the GPU backend.

use cudarc::driver::DriverError;

/// `Result` with [`GpuError`].
pub type Result<T, E = GpuError> = std::result::Result<T, E>;

/// Why a GPU operation failed or the GPU backend is unavailable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpuError {
    /// No CUDA driver library (libcuda) could be loaded on this machine.
    #[error("no CUDA driver: libcuda could not be loaded")]
    NoDriver,
    /// The driver loaded but there is no device with the requested ordinal.
    #[error("no CUDA device with ordinal {ordinal} ({count} present)")]
    NoDevice {
        /// The ordinal asked for.
        ordinal: usize,
        /// How many devices the driver reports.
        count: usize,
    },
    /// A CUDA driver call failed.
    #[error("CUDA driver error: {0}")]
    Driver(String),
    /// The embedded fatbin or one of its kernels could not be loaded (e.g. a driver older than CUDA 13.0, or a
    /// device that is neither sm_90 nor able to JIT compute_90 PTX).
    #[error("loading the kernel module failed: {0}")]
    ModuleLoad(String),
    /// Inputs whose lengths do not fit together (more scalars than resident bases, ragged NTT columns).
    #[error("length mismatch: {0}")]
    LengthMismatch(String),
    /// An input too large for the kernels' 32-bit indexing or for the device memory.
    #[error("input too large: {0}")]
    TooLarge(String),
    /// An argument outside the kernels' domain (a zero coset shift, a non-power-of-two NTT size).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// halo2curves' in-memory layout is not the raw Montgomery limbs the kernels read, so data cannot be shared
    /// byte for byte (a halo2curves upgrade changed it).
    #[error("unexpected memory layout of halo2curves types: {0}")]
    Layout(&'static str),
    /// The device returned a point that is not on the curve: a kernel bug or corrupted memory.
    #[error("the device returned an invalid result: {0}")]
    BadResult(&'static str),
}

impl GpuError {
    /// Whether the GPU backend is absent or unusable on this machine (as opposed to a failed call on a working
    /// device): the cases where `Backend::Auto` falls back to the CPU.
    pub const fn is_unavailable(&self) -> bool {
        matches!(self, Self::NoDriver | Self::NoDevice { .. } | Self::ModuleLoad(_) | Self::Layout(_))
    }

    /// Whether the error comes from the caller's arguments rather than from the device.
    pub const fn is_invalid_input(&self) -> bool {
        matches!(self, Self::LengthMismatch(_) | Self::TooLarge(_) | Self::InvalidInput(_))
    }
}

impl From<DriverError> for GpuError {
    fn from(err: DriverError) -> Self {
        Self::Driver(err.to_string())
    }
}
