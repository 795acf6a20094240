//! The embedded fatbin and the kernels the loader takes from it.

use std::sync::Arc;

use cudarc::{
    driver::{CudaContext, CudaFunction},
    nvrtc::Ptx,
};

use super::error::{GpuError, Result};

/// The kernels of `kernels/cuda`, compiled by `scripts/kernels.sh` for sm_90 (SASS) and compute_90 (PTX).
pub static FATBIN: &[u8] = include_bytes!("../../fatbin/zkr-kernels.fatbin");

/// The first four bytes of a fatbin container (`0xBA55ED50`, little-endian).
pub const FATBIN_MAGIC: [u8; 4] = [0x50, 0xed, 0x55, 0xba];

/// Every entry point the loader resolves, in the order of the fields of `Kernels`.
pub const KERNEL_NAMES: [&str; 14] = [
    "zkr_scan_blocks",
    "zkr_scan_add",
    "zkr_msm_digits",
    "zkr_msm_scatter",
    "zkr_msm_task_count",
    "zkr_msm_accumulate",
    "zkr_msm_bucket_sum",
    "zkr_msm_window_chunks",
    "zkr_msm_window_sum",
    "zkr_msm_combine",
    "zkr_ntt_twiddles",
    "zkr_ntt_bit_reverse",
    "zkr_ntt_pass",
    "zkr_ntt_scale",
];

/// The loaded entry points (see the .cuh files for what each does).
#[derive(Debug)]
pub(crate) struct Kernels {
    pub(crate) scan_blocks: CudaFunction,
    pub(crate) scan_add: CudaFunction,
    pub(crate) msm_digits: CudaFunction,
    pub(crate) msm_scatter: CudaFunction,
    pub(crate) msm_task_count: CudaFunction,
    pub(crate) msm_accumulate: CudaFunction,
    pub(crate) msm_bucket_sum: CudaFunction,
    pub(crate) msm_window_chunks: CudaFunction,
    pub(crate) msm_window_sum: CudaFunction,
    pub(crate) msm_combine: CudaFunction,
    pub(crate) ntt_twiddles: CudaFunction,
    pub(crate) ntt_bit_reverse: CudaFunction,
    pub(crate) ntt_pass: CudaFunction,
    pub(crate) ntt_scale: CudaFunction,
}

impl Kernels {
    /// Loads the fatbin into `ctx` and resolves every kernel.
    pub(crate) fn load(ctx: &Arc<CudaContext>) -> Result<Self> {
        if !FATBIN.starts_with(&FATBIN_MAGIC) {
            return Err(GpuError::ModuleLoad("the embedded fatbin has no fatbin header".into()));
        }
        // cuModuleLoadData takes fatbins as well as cubins and PTX; the driver picks the sm_90 SASS or JITs PTX.
        let module =
            ctx.load_module(Ptx::from_binary(FATBIN.to_vec())).map_err(|err| GpuError::ModuleLoad(err.to_string()))?;
        let get = |name: &str| {
            module.load_function(name).map_err(|err| GpuError::ModuleLoad(format!("kernel {name}: {err}")))
        };
        let [a, b, c, d, e, f, g, h, i, j, k, l, m, n] = KERNEL_NAMES;
        Ok(Self {
            scan_blocks: get(a)?,
            scan_add: get(b)?,
            msm_digits: get(c)?,
            msm_scatter: get(d)?,
            msm_task_count: get(e)?,
            msm_accumulate: get(f)?,
            msm_bucket_sum: get(g)?,
            msm_window_chunks: get(h)?,
            msm_window_sum: get(i)?,
            msm_combine: get(j)?,
            ntt_twiddles: get(k)?,
            ntt_bit_reverse: get(l)?,
            ntt_pass: get(m)?,
            ntt_scale: get(n)?,
        })
    }
}
