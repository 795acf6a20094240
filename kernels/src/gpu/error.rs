//! The error type of the GPU backend.

use cudarc::driver::{DriverError, sys::CUresult};

/// `Result` with [`GpuError`].
pub type Result<T, E = GpuError> = std::result::Result<T, E>;

/// Why a GPU operation failed or the GPU backend is unavailable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpuError {
    /// No CUDA driver library (libcuda) could be loaded on this machine.
    #[error("no CUDA driver: libcuda could not be loaded")]
    NoDriver,
    /// The driver is older than the kernels need: the fatbin holds CUDA 13.0 PTX and sm_90 code, which needs a
    /// driver of the R580 branch or newer.
    #[error(
        "the CUDA driver supports CUDA {}.{}, but the kernels need CUDA 13.0: install an NVIDIA driver of the R580 \
         branch or newer",
        version / 1000,
        version % 1000 / 10
    )]
    DriverTooOld {
        /// `cuDriverGetVersion`, e.g. 12040 for 12.4.
        version: i32,
    },
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
    /// The device faulted (an illegal address, a failed launch, an uncorrectable ECC error): the CUDA context is
    /// unusable for good, so the handle refuses every later call. Restart the process to use the device again.
    #[error("the GPU faulted and its context is unusable until the process restarts: {0}")]
    Fault(String),
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
        matches!(
            self,
            Self::NoDriver | Self::DriverTooOld { .. } | Self::NoDevice { .. } | Self::ModuleLoad(_) | Self::Layout(_)
        )
    }

    /// A short stable name of the variant, for metric labels: `no_driver`, `driver_too_old`, `no_device`, `driver`,
    /// `fault`, `module_load`, `length_mismatch`, `too_large`, `invalid_input`, `layout`, `bad_result`.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::NoDriver => "no_driver",
            Self::DriverTooOld { .. } => "driver_too_old",
            Self::NoDevice { .. } => "no_device",
            Self::Driver(_) => "driver",
            Self::Fault(_) => "fault",
            Self::ModuleLoad(_) => "module_load",
            Self::LengthMismatch(_) => "length_mismatch",
            Self::TooLarge(_) => "too_large",
            Self::InvalidInput(_) => "invalid_input",
            Self::Layout(_) => "layout",
            Self::BadResult(_) => "bad_result",
        }
    }

    /// Whether the error comes from the caller's arguments rather than from the device.
    pub const fn is_invalid_input(&self) -> bool {
        matches!(self, Self::LengthMismatch(_) | Self::TooLarge(_) | Self::InvalidInput(_))
    }
}

/// Whether a driver error leaves the context unusable ("sticky" errors in the CUDA documentation: every later call
/// in the context returns the same error).
fn is_sticky(code: CUresult) -> bool {
    matches!(
        code,
        CUresult::CUDA_ERROR_ILLEGAL_ADDRESS
            | CUresult::CUDA_ERROR_LAUNCH_TIMEOUT
            | CUresult::CUDA_ERROR_ASSERT
            | CUresult::CUDA_ERROR_HARDWARE_STACK_ERROR
            | CUresult::CUDA_ERROR_ILLEGAL_INSTRUCTION
            | CUresult::CUDA_ERROR_MISALIGNED_ADDRESS
            | CUresult::CUDA_ERROR_INVALID_ADDRESS_SPACE
            | CUresult::CUDA_ERROR_INVALID_PC
            | CUresult::CUDA_ERROR_LAUNCH_FAILED
            | CUresult::CUDA_ERROR_ECC_UNCORRECTABLE
            | CUresult::CUDA_ERROR_CONTEXT_IS_DESTROYED
    )
}

impl From<DriverError> for GpuError {
    fn from(err: DriverError) -> Self {
        if is_sticky(err.0) { Self::Fault(err.to_string()) } else { Self::Driver(err.to_string()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sticky_driver_errors_are_faults() {
        // (`GpuError::from` itself needs libcuda for the message.)
        assert!(is_sticky(CUresult::CUDA_ERROR_ILLEGAL_ADDRESS));
        assert!(is_sticky(CUresult::CUDA_ERROR_LAUNCH_FAILED));
        assert!(!is_sticky(CUresult::CUDA_ERROR_OUT_OF_MEMORY));
        assert!(!is_sticky(CUresult::CUDA_ERROR_INVALID_VALUE));
    }

    #[test]
    fn an_old_driver_is_named_plainly() {
        let err = GpuError::DriverTooOld { version: 12_040 };
        assert!(err.is_unavailable());
        assert_eq!(
            err.to_string(),
            "the CUDA driver supports CUDA 12.4, but the kernels need CUDA 13.0: install an NVIDIA driver of the \
             R580 branch or newer"
        );
    }
}
