//! Launch shapes and buffer sizes for the kernels, as plain functions so they are tested without a device.

use super::error::{GpuError, Result};
use crate::cpu;

/// Threads per block of the prefix-sum kernels (`ZKR_SCAN_BLOCK` in msm.cuh).
pub(crate) const SCAN_BLOCK: u32 = 1024;
/// Threads per block of `zkr_msm_window_sum` (`ZKR_WINDOW_SUM_THREADS`).
pub(crate) const WINDOW_SUM_THREADS: u32 = 128;
/// Largest number of NTT stages run in shared memory per pass (`ZKR_NTT_TILE_LOG` in ntt.cuh).
pub(crate) const NTT_TILE_LOG: u32 = 10;
/// Elements per thread of `zkr_ntt_scale` (`ZKR_NTT_SCALE_CHUNK`).
pub(crate) const NTT_SCALE_CHUNK: u32 = 16;
/// The largest grid y dimension: NTT columns per launch.
pub(crate) const MAX_GRID_Y: usize = 65_535;

/// Fewest points a bucket-accumulation thread sums (below this, the per-thread setup dominates).
const MIN_SEGMENT: u32 = 32;
/// Most partial sums of one bucket that one thread adds up (`zkr_msm_reduce_segments`, and `zkr_msm_bucket_sum`
/// at the end): a bucket holding every point (all scalars equal) is reduced in levels of this fan-in instead of by
/// one thread.
pub(crate) const REDUCE_SEGMENT: u32 = 32;
/// Accumulation threads aimed for: enough to fill an H100 (132 SMs) several times over.
const TARGET_TASKS: u64 = 1 << 17;
/// Bucket-reduction threads aimed for (the kernel uses ~210 registers: about 256 resident threads per SM).
const TARGET_CHUNK_THREADS: u32 = 1 << 15;

/// Blocks of `threads` threads covering `items` items.
pub(crate) fn blocks_for(items: u32, threads: u32) -> u32 {
    items.div_ceil(threads).max(1)
}

/// How one MSM of `n` points is cut up on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MsmPlan {
    /// Number of points and scalars.
    pub(crate) n: u32,
    /// Window width in bits, the CPU twin's [`cpu::window_bits`].
    pub(crate) c: u32,
    /// Windows that can hold a non-zero digit, the CPU twin's [`cpu::num_windows`].
    pub(crate) windows: u32,
    /// `log2` of the buckets per window: magnitudes `1 ..= 2^(c-1)`.
    pub(crate) log_buckets: u32,
    /// Buckets over all windows.
    pub(crate) num_buckets: u32,
    /// One key per (window, scalar).
    pub(crate) total_keys: u32,
    /// Most points one accumulation thread sums.
    pub(crate) segment: u32,
    /// `log2` of the chunks each window's buckets are reduced in.
    pub(crate) log_chunks: u32,
    /// Most levels of `zkr_msm_reduce_segments` a bucket can need before at most [`REDUCE_SEGMENT`] partial sums
    /// are left: a bucket holds at most `n` points, so `ceil(n / segment)` segment sums.
    pub(crate) reduce_levels: u32,
}

impl MsmPlan {
    /// The plan for `n > 0` points.
    ///
    /// # Errors
    ///
    /// [`GpuError::TooLarge`] when the keys, bucket ids or point references would not fit the kernels' 32-bit
    /// indices (point references carry a sign bit, bucket keys too).
    pub(crate) fn new(n: usize) -> Result<Self> {
        let c = cpu::window_bits(n);
        let windows = cpu::num_windows(c);
        let log_buckets = c - 1;
        let num_buckets = (windows as u64) << log_buckets;
        let total_keys = windows as u64 * n as u64;
        let limit = 1u64 << 31;
        if n as u64 >= limit || num_buckets >= limit || total_keys >= limit {
            return Err(GpuError::TooLarge(format!(
                "an MSM of {n} points needs {total_keys} digit keys; the kernels index at most 2^31"
            )));
        }
        let segment = (total_keys.div_ceil(TARGET_TASKS) as u32).max(MIN_SEGMENT);
        let windows = windows as u32;
        let per_window = (TARGET_CHUNK_THREADS / windows).max(1);
        let log_chunks = per_window.ilog2().min(log_buckets as u32);
        let mut reduce_levels = 0;
        let mut most = (n as u64).div_ceil(u64::from(segment));
        while most > u64::from(REDUCE_SEGMENT) {
            most = most.div_ceil(u64::from(REDUCE_SEGMENT));
            reduce_levels += 1;
        }
        Ok(Self {
            n: n as u32,
            c: c as u32,
            windows,
            log_buckets: log_buckets as u32,
            num_buckets: num_buckets as u32,
            total_keys: total_keys as u32,
            segment,
            log_chunks,
            reduce_levels,
        })
    }

    /// An upper bound on the accumulation tasks: full segments plus one partial segment per bucket.
    pub(crate) fn max_tasks(&self) -> u64 {
        u64::from(self.total_keys).div_ceil(u64::from(self.segment)) + u64::from(self.num_buckets)
    }

    /// Device bytes one MSM call allocates at most (besides the resident bases).
    pub(crate) fn device_bytes(&self) -> u64 {
        let keys = 4 * u64::from(self.total_keys);
        let per_bucket = 4 * (u64::from(self.num_buckets) + 1);
        let scalars = 32 * u64::from(self.n);
        let xyzz =
            128 * (self.max_tasks() + u64::from(self.num_buckets) + (u64::from(self.windows) << self.log_chunks));
        // A reduction level holds its input and its output (at most a 1/REDUCE_SEGMENT of the tasks, plus one per
        // bucket), with two more offset arrays.
        let reduce = if self.reduce_levels > 0 {
            128 * (self.max_tasks() / u64::from(REDUCE_SEGMENT) + u64::from(self.num_buckets)) + 2 * per_bucket
        } else {
            0
        };
        // keys and the sorted references; counts, offsets, cursor, task counts, task offsets; scan block sums.
        scalars + 2 * keys + 5 * per_bucket + per_bucket / 512 + xyzz + reduce + 96 * (u64::from(self.windows) + 1)
    }
}

/// The shared-memory passes of an NTT of size `2^log_n`: `(first stage, stages)` covering `0 .. log_n` in order,
/// each at most `max_stages` stages (clamped to `1 ..= NTT_TILE_LOG`, which is what the kernel's tile holds; the
/// GPU uses the tile's full depth), balanced (sizes differ by at most one, larger first).
pub(crate) fn ntt_passes(log_n: u32, max_stages: u32) -> Vec<(u32, u32)> {
    if log_n == 0 {
        return Vec::new();
    }
    let count = log_n.div_ceil(max_stages.clamp(1, NTT_TILE_LOG));
    let (base, extra) = (log_n / count, log_n % count);
    let mut passes = Vec::with_capacity(count as usize);
    let mut s = 0;
    for p in 0..count {
        let t = base + u32::from(p < extra);
        passes.push((s, t));
        s += t;
    }
    passes
}

/// Threads per block and blocks of `zkr_ntt_pass` for size `2^log_n` (`log_n >= 1`): one thread per butterfly of a
/// tile of `min(2^log_n, 2^NTT_TILE_LOG)` elements.
pub(crate) fn ntt_pass_shape(log_n: u32) -> (u32, u32) {
    let tile_log = log_n.min(NTT_TILE_LOG);
    (1 << (tile_log - 1), 1 << (log_n - tile_log))
}

/// Columns of `2^log_n` elements per batch, given `free_bytes` of device memory for them.
pub(crate) fn ntt_batch_columns(log_n: u32, columns: usize, free_bytes: u64) -> usize {
    let column_bytes = 32u64 << log_n;
    let fit = (free_bytes / column_bytes).max(1);
    columns.min(MAX_GRID_Y).min(usize::try_from(fit).unwrap_or(usize::MAX)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msm_plan_matches_the_cpu_twin_and_fits_32_bits() {
        for log_n in 0..=26 {
            let n = 1usize << log_n;
            let plan = MsmPlan::new(n).expect("plan");
            assert_eq!(plan.c as usize, cpu::window_bits(n));
            assert_eq!(plan.windows as usize, cpu::num_windows(plan.c as usize));
            assert_eq!(u64::from(plan.num_buckets), u64::from(plan.windows) << plan.log_buckets);
            assert!(plan.segment >= MIN_SEGMENT);
            assert!(plan.max_tasks() < 1 << 32);
            assert!(plan.log_chunks <= plan.log_buckets);
            // The scatter encodes (point index << 1) and (bucket << 1) in u32.
            assert!(plan.n < 1 << 31 && plan.num_buckets < 1 << 31);
        }
        assert!(matches!(MsmPlan::new(1 << 31), Err(GpuError::TooLarge(_))));
    }

    #[test]
    fn reduction_levels_leave_at_most_a_segment_of_partial_sums_per_bucket() {
        for log_n in 0..=26 {
            let plan = MsmPlan::new(1usize << log_n).expect("plan");
            let mut most = (1u64 << log_n).div_ceil(u64::from(plan.segment));
            for _ in 0..plan.reduce_levels {
                most = most.div_ceil(u64::from(REDUCE_SEGMENT));
            }
            assert!(most <= u64::from(REDUCE_SEGMENT), "2^{log_n}: {most} partial sums left");
        }
        // 2^14 points, segments of 32: a bucket holding all of them has 512 segment sums, 16 after one level.
        assert_eq!(MsmPlan::new(1 << 14).expect("plan").reduce_levels, 1);
        assert_eq!(MsmPlan::new(1 << 10).expect("plan").reduce_levels, 0);
    }

    #[test]
    fn msm_plan_segments_bound_the_task_count() {
        let plan = MsmPlan::new(1 << 24).expect("plan");
        assert!(plan.max_tasks() <= TARGET_TASKS + u64::from(plan.num_buckets));
        assert!(plan.device_bytes() < 16 << 30, "2^24 points fit an H100 comfortably");
    }

    #[test]
    fn ntt_passes_cover_every_stage_once() {
        for log_n in 0..=28 {
            let passes = ntt_passes(log_n, NTT_TILE_LOG);
            let mut next = 0;
            for &(s, t) in &passes {
                assert_eq!(s, next);
                assert!((1..=NTT_TILE_LOG).contains(&t));
                next += t;
            }
            assert_eq!(next, log_n);
            if let (Some(first), Some(last)) = (passes.first(), passes.last()) {
                assert!(first.1 - last.1 <= 1);
            }
        }
        assert_eq!(ntt_passes(24, NTT_TILE_LOG), vec![(0, 8), (8, 8), (16, 8)]);
        assert_eq!(ntt_passes(11, NTT_TILE_LOG), vec![(0, 6), (6, 5)]);
        // Shallower passes (the emulator's option): three passes at 2^12, the middle one with high and low bits.
        assert_eq!(ntt_passes(12, 4), vec![(0, 4), (4, 4), (8, 4)]);
        assert_eq!(ntt_passes(12, 0), ntt_passes(12, 1));
        assert_eq!(ntt_passes(12, 99), ntt_passes(12, NTT_TILE_LOG));
    }

    #[test]
    fn ntt_pass_shape_gives_one_thread_per_butterfly() {
        assert_eq!(ntt_pass_shape(1), (1, 1));
        assert_eq!(ntt_pass_shape(10), (512, 1));
        assert_eq!(ntt_pass_shape(24), (512, 1 << 14));
        for log_n in 1..=28 {
            let (threads, blocks) = ntt_pass_shape(log_n);
            assert_eq!(u64::from(threads) * 2 * u64::from(blocks), 1u64 << log_n);
        }
    }

    #[test]
    fn ntt_batches_respect_grid_and_memory() {
        assert_eq!(ntt_batch_columns(10, 100_000, u64::MAX), MAX_GRID_Y);
        assert_eq!(ntt_batch_columns(20, 8, 3 * (32 << 20)), 3);
        assert_eq!(ntt_batch_columns(20, 8, 0), 1);
    }

    #[test]
    fn blocks_cover_items() {
        assert_eq!(blocks_for(0, 256), 1);
        assert_eq!(blocks_for(257, 256), 2);
    }
}
