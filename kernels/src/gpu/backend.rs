//! Run-time choice between the CUDA kernels and the CPU twins.

use std::{fmt, str::FromStr};

use super::{
    device::Gpu,
    error::{GpuError, Result},
};

/// Which implementation runs the MSMs and NTTs (`--backend auto|gpu|cpu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The GPU when a device is present and the kernels load, else the CPU.
    #[default]
    Auto,
    /// The GPU, or an error.
    Gpu,
    /// The CPU twins; CUDA is never touched.
    Cpu,
}

impl Backend {
    /// The name used on the command line and in logs: `auto`, `gpu` or `cpu`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Gpu => "gpu",
            Self::Cpu => "cpu",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown backend name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend {0:?}: expected auto, gpu or cpu")]
pub struct ParseBackendError(String);

impl FromStr for Backend {
    type Err = ParseBackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "gpu" => Ok(Self::Gpu),
            "cpu" => Ok(Self::Cpu),
            _ => Err(ParseBackendError(s.to_owned())),
        }
    }
}

/// The implementation [`select`] settled on.
#[derive(Debug)]
pub enum Selected {
    /// A working device with the kernels loaded.
    Gpu(Box<Gpu>),
    /// The CPU twins; `fallback` says why the GPU was not used when `Backend::Auto` fell back.
    Cpu {
        /// The reason `Auto` did not pick the GPU; `None` when the CPU was asked for.
        fallback: Option<GpuError>,
    },
}

impl Selected {
    /// `"gpu"` or `"cpu"`: the label for logs and metrics.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Gpu(_) => "gpu",
            Self::Cpu { .. } => "cpu",
        }
    }

    /// The device handle when the GPU was selected.
    pub fn gpu(&self) -> Option<&Gpu> {
        match self {
            Self::Gpu(gpu) => Some(gpu),
            Self::Cpu { .. } => None,
        }
    }
}

/// Picks the implementation for `backend` on device 0. See [`select_device`].
///
/// # Errors
///
/// Only for `Backend::Gpu`, when the device cannot be used.
pub fn select(backend: Backend) -> Result<Selected> {
    select_device(backend, 0)
}

/// Picks the implementation for `backend`, using device `ordinal` for the GPU.
///
/// `Auto` tries the GPU and falls back to the CPU with a warning that carries the reason; `Gpu` returns that reason
/// as the error; `Cpu` never calls into CUDA.
///
/// # Errors
///
/// Only for `Backend::Gpu`, when [`Gpu::new`] fails.
pub fn select_device(backend: Backend, ordinal: usize) -> Result<Selected> {
    match backend {
        Backend::Cpu => {
            tracing::info!(target: "kernels::backend", backend = "cpu", "using the CPU kernels (asked for)");
            Ok(Selected::Cpu { fallback: None })
        }
        Backend::Gpu => Gpu::new(ordinal).map(|gpu| Selected::Gpu(Box::new(gpu))),
        Backend::Auto => match Gpu::new(ordinal) {
            Ok(gpu) => Ok(Selected::Gpu(Box::new(gpu))),
            Err(err) => {
                tracing::warn!(target: "kernels::backend", %err, "no usable GPU, falling back to the CPU kernels");
                Ok(Selected::Cpu { fallback: Some(err) })
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_round_trips_through_strings() {
        for backend in [Backend::Auto, Backend::Gpu, Backend::Cpu] {
            assert_eq!(backend.to_string().parse::<Backend>(), Ok(backend));
        }
        assert_eq!(" GPU ".parse::<Backend>(), Ok(Backend::Gpu));
        assert!("cuda".parse::<Backend>().is_err());
        assert_eq!(Backend::default(), Backend::Auto);
    }

    #[test]
    fn cpu_selection_never_touches_cuda() {
        let selected = select(Backend::Cpu).expect("cpu is always available");
        assert_eq!(selected.name(), "cpu");
        assert!(matches!(selected, Selected::Cpu { fallback: None }));
    }
}
