//! The CUDA backend: kernels from `kernels/cuda`, compiled ahead of time into an embedded fatbin (sm_90 SASS and
//! compute_90 PTX) and loaded at run time through cudarc, so the same binary runs with or without a GPU.
//!
//! ```text
//!  select(Backend) ──► Gpu::new(ordinal): libcuda present? ─► device? ─► context ─► load FATBIN ─► Gpu
//!        │ Auto: any failure ──► Selected::Cpu { fallback: Some(reason) } (logged)
//!        ▼
//!  gpu.upload_bases(&[G1Affine]) ──► DeviceBases (resident)      scalars ──► gpu.msm(&bases, &[Fr]) ──► G1
//!  columns ──► gpu.ntt_forward / ntt_inverse / ntt_coset_forward / ntt_coset_inverse (in place)
//! ```
//!
//! The host code (`device.rs`) drives the device through a small [`driver`] trait with two implementations: CUDA
//! through cudarc, and the kernel emulator (`kernels/emu`: the same `.cu` sources compiled for the host), on which
//! CI runs every kernel ([`Gpu::emulated`]).
//!
//! Host arrays are shared with the device byte for byte (halo2curves' Montgomery limbs; checked once at run
//! time). Nothing here panics without a driver or a device: every entry point returns a [`GpuError`].

mod backend;
mod cuda;
mod device;
mod driver;
mod emulator;
mod error;
mod kernels;
mod plan;
mod raw;

pub use backend::{Backend, ParseBackendError, Selected, select, select_device};
pub use device::{DeviceBases, DeviceInfo, Gpu};
pub use emulator::EmulatorOptions;
pub use error::{GpuError, Result};
pub use kernels::{FATBIN, FATBIN_MAGIC, KERNEL_NAMES};
