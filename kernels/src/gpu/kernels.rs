//! The embedded fatbin and the kernels the loader takes from it.

/// The kernels of `kernels/cuda`, compiled by `scripts/kernels.sh` for sm_90 (SASS) and compute_90 (PTX).
pub static FATBIN: &[u8] = include_bytes!("../../fatbin/zkr-kernels.fatbin");

/// The first four bytes of a fatbin container (`0xBA55ED50`, little-endian).
pub const FATBIN_MAGIC: [u8; 4] = [0x50, 0xed, 0x55, 0xba];

/// Every entry point the loader resolves, in the order of [`Kernel`].
pub const KERNEL_NAMES: [&str; 15] = [
    "zkr_scan_blocks",
    "zkr_scan_add",
    "zkr_msm_digits",
    "zkr_msm_scatter",
    "zkr_msm_task_count",
    "zkr_msm_accumulate",
    "zkr_msm_bucket_sum",
    "zkr_msm_reduce_segments",
    "zkr_msm_window_chunks",
    "zkr_msm_window_sum",
    "zkr_msm_combine",
    "zkr_ntt_twiddles",
    "zkr_ntt_bit_reverse",
    "zkr_ntt_pass",
    "zkr_ntt_scale",
];

/// One entry point of the kernels, in the order of [`KERNEL_NAMES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    ScanBlocks,
    ScanAdd,
    MsmDigits,
    MsmScatter,
    MsmTaskCount,
    MsmAccumulate,
    MsmBucketSum,
    MsmReduceSegments,
    MsmWindowChunks,
    MsmWindowSum,
    MsmCombine,
    NttTwiddles,
    NttBitReverse,
    NttPass,
    NttScale,
}

impl Kernel {
    /// Every kernel, in the order of [`KERNEL_NAMES`].
    pub(crate) const ALL: [Self; 15] = [
        Self::ScanBlocks,
        Self::ScanAdd,
        Self::MsmDigits,
        Self::MsmScatter,
        Self::MsmTaskCount,
        Self::MsmAccumulate,
        Self::MsmBucketSum,
        Self::MsmReduceSegments,
        Self::MsmWindowChunks,
        Self::MsmWindowSum,
        Self::MsmCombine,
        Self::NttTwiddles,
        Self::NttBitReverse,
        Self::NttPass,
        Self::NttScale,
    ];

    /// The entry point's name in the sources and the fatbin.
    pub(crate) const fn name(self) -> &'static str {
        KERNEL_NAMES[self as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_and_names_line_up() {
        for (i, kernel) in Kernel::ALL.into_iter().enumerate() {
            assert_eq!(kernel as usize, i);
            assert_eq!(kernel.name(), KERNEL_NAMES[i]);
        }
    }
}
