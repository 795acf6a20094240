//! The device handle: context, loaded kernels, resident bases, and the MSM and NTT drivers.

use std::{
    collections::{HashMap, hash_map::Entry},
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use cudarc::driver::{CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchArgs, LaunchConfig, PushKernelArg};
use ff::Field;
use group::Group;
use halo2curves::{
    CurveExt,
    bn256::{Fr, G1, G1Affine},
};

use super::{
    error::{GpuError, Result},
    kernels::Kernels,
    plan::{
        self, MsmPlan, NTT_SCALE_CHUNK, SCAN_BLOCK, WINDOW_SUM_THREADS, blocks_for, ntt_batch_columns, ntt_pass_shape,
        ntt_passes,
    },
    raw::{self, AFFINE_BYTES, FIELD_BYTES, JACOBIAN_BYTES, XYZZ_BYTES},
};
use crate::cpu;

/// What the driver reports about the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The CUDA ordinal.
    pub ordinal: usize,
    /// The device name, e.g. "NVIDIA H100 80GB HBM3".
    pub name: String,
    /// Total device memory in bytes.
    pub total_memory_bytes: usize,
    /// Compute capability (major, minor); the kernels are built for 9.0.
    pub compute_capability: (i32, i32),
}

/// Base points uploaded once and kept on the device (the SRS of a prover), for [`Gpu::msm`].
#[derive(Debug)]
pub struct DeviceBases {
    points: CudaSlice<u8>,
    len: usize,
    owner: u64,
}

impl DeviceBases {
    /// Number of resident points.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no point is resident.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Which transform [`Gpu::ntt`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NttKind {
    Forward,
    Inverse,
    CosetForward(Fr),
    CosetInverse(Fr),
}

/// A CUDA device with the kernels loaded, ready for MSMs and NTTs.
///
/// Calls on one handle are serialised (one stream); use one handle per device.
pub struct Gpu {
    info: DeviceInfo,
    /// Tags the bases uploaded through this handle, so bases of another context are refused.
    id: u64,
    stream: Arc<CudaStream>,
    kernels: Kernels,
    /// NTT twiddle tables (`ω^e`, `e < n/2`) per `log_n`, built on first use.
    twiddles: Mutex<HashMap<u32, CudaSlice<u8>>>,
    /// Serialises calls: each one allocates its own buffers but shares the stream.
    lock: Mutex<()>,
    // Dropped last: every buffer and the module need the context.
    ctx: Arc<CudaContext>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("info", &self.info).finish_non_exhaustive()
    }
}

/// Turns a panic inside cudarc (a missing driver symbol, say) into an error.
fn no_panic<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        Err(GpuError::Driver(format!("{what}: {msg}")))
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn cfg(grid: (u32, u32), block: u32) -> LaunchConfig {
    LaunchConfig { grid_dim: (grid.0, grid.1, 1), block_dim: (block, 1, 1), shared_mem_bytes: 0 }
}

fn launch<'a>(
    stream: &'a Arc<CudaStream>,
    f: &'a CudaFunction,
    config: LaunchConfig,
    push: impl FnOnce(&mut LaunchArgs<'a>),
) -> Result<()> {
    let mut args = stream.launch_builder(f);
    push(&mut args);
    // SAFETY: every kernel's parameter list matches what the callers push (see the signatures in kernels/cuda),
    // every buffer is at least as large as the kernel indexes (sizes from `plan`), and cudarc orders the launch
    // after prior work on the stream.
    unsafe { args.launch(config) }?;
    Ok(())
}

impl Gpu {
    /// Opens device `ordinal`: checks for the driver library, the device, creates the context and loads the kernels.
    ///
    /// # Errors
    ///
    /// [`GpuError::NoDriver`] without libcuda, [`GpuError::NoDevice`] without that device,
    /// [`GpuError::ModuleLoad`] when the fatbin does not load (driver too old, unsupported device),
    /// [`GpuError::Driver`] for other driver failures, [`GpuError::Layout`] if halo2curves' memory layout changed.
    pub fn new(ordinal: usize) -> Result<Self> {
        raw::check_layout()?;
        // SAFETY: only tries to dlopen libcuda; without this check cudarc panics on the first driver call.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(GpuError::NoDriver);
        }
        no_panic("opening the CUDA device", || Self::open(ordinal))
    }

    fn open(ordinal: usize) -> Result<Self> {
        let count = match CudaContext::device_count() {
            Ok(count) => usize::try_from(count).unwrap_or(0),
            // cuInit fails with CUDA_ERROR_NO_DEVICE on machines with a driver but no GPU.
            Err(err) if err.0 == cudarc::driver::sys::CUresult::CUDA_ERROR_NO_DEVICE => 0,
            Err(err) => return Err(err.into()),
        };
        if ordinal >= count {
            return Err(GpuError::NoDevice { ordinal, count });
        }
        let ctx = CudaContext::new(ordinal)?;
        let info = DeviceInfo {
            ordinal,
            name: ctx.name()?,
            total_memory_bytes: ctx.total_mem()?,
            compute_capability: ctx.compute_capability()?,
        };
        let kernels = Kernels::load(&ctx)?;
        let stream = ctx.new_stream()?;
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            target: "kernels::gpu",
            ordinal,
            name = %info.name,
            memory_bytes = info.total_memory_bytes,
            compute_capability = ?info.compute_capability,
            "CUDA device ready"
        );
        Ok(Self { info, id, stream, kernels, twiddles: Mutex::new(HashMap::new()), lock: Mutex::new(()), ctx })
    }

    /// The device's name, memory and compute capability.
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// Uploads `bases` once; they stay on the device until the returned handle is dropped.
    ///
    /// # Errors
    ///
    /// [`GpuError::TooLarge`] past 2^31 points, [`GpuError::Driver`] when the allocation or copy fails.
    pub fn upload_bases(&self, bases: &[G1Affine]) -> Result<DeviceBases> {
        if bases.len() >= 1 << 31 {
            return Err(GpuError::TooLarge(format!("{} base points; at most 2^31 - 1", bases.len())));
        }
        let _guard = lock(&self.lock);
        no_panic("uploading bases", || {
            let bytes = raw::affine_bytes(bases);
            let points = if bytes.is_empty() {
                self.stream.alloc_zeros::<u8>(AFFINE_BYTES)?
            } else {
                self.stream.clone_htod(bytes)?
            };
            self.stream.synchronize()?;
            Ok(DeviceBases { points, len: bases.len(), owner: self.id })
        })
    }

    /// `Σ scalars[i]·bases[i]` over the first `scalars.len()` resident bases.
    ///
    /// # Errors
    ///
    /// [`GpuError::LengthMismatch`] if there are more scalars than bases, [`GpuError::InvalidInput`] for bases of
    /// another device handle, [`GpuError::TooLarge`] past the kernels' indexing or the free device memory, and
    /// [`GpuError::Driver`] / [`GpuError::BadResult`] for device failures.
    pub fn msm(&self, bases: &DeviceBases, scalars: &[Fr]) -> Result<G1> {
        if bases.owner != self.id {
            return Err(GpuError::InvalidInput("the bases were uploaded through another Gpu handle".into()));
        }
        if scalars.len() > bases.len {
            return Err(GpuError::LengthMismatch(format!(
                "{} scalars but only {} resident bases",
                scalars.len(),
                bases.len
            )));
        }
        if scalars.is_empty() {
            return Ok(G1::identity());
        }
        let plan = MsmPlan::new(scalars.len())?;
        let _guard = lock(&self.lock);
        no_panic("running an MSM", || {
            let (free, _) = self.ctx.mem_get_info()?;
            if plan.device_bytes() > free as u64 {
                return Err(GpuError::TooLarge(format!(
                    "an MSM of {} points needs about {} bytes of device memory; {free} free",
                    plan.n,
                    plan.device_bytes()
                )));
            }
            let jacobian = self.msm_on_device(&bases.points, scalars, &plan)?;
            jacobian_to_g1(&jacobian)
        })
    }

    fn msm_on_device(&self, bases: &CudaSlice<u8>, scalars: &[Fr], plan: &MsmPlan) -> Result<Vec<u8>> {
        let s = &self.stream;
        let k = &self.kernels;
        let MsmPlan { n, c, windows, log_buckets, num_buckets, total_keys, segment, log_chunks } = *plan;
        let d_scalars = s.clone_htod(raw::fr_bytes(scalars))?;

        // Digits, bucket sizes, and the counting sort by bucket.
        let mut keys = s.alloc_zeros::<u32>(total_keys as usize)?;
        let mut counts = s.alloc_zeros::<u32>(num_buckets as usize + 1)?;
        launch(s, &k.msm_digits, cfg((blocks_for(n, 256), 1), 256), |a| {
            a.arg(&d_scalars).arg(&n).arg(&c).arg(&windows).arg(&mut keys).arg(&mut counts);
        })?;
        let mut offsets = s.alloc_zeros::<u32>(num_buckets as usize + 1)?;
        self.exclusive_scan(&counts, &mut offsets, num_buckets + 1)?;
        drop(counts);
        let mut cursor = s.clone_dtod(&offsets)?;
        let mut sorted = s.alloc_zeros::<u32>(total_keys as usize)?;
        launch(s, &k.msm_scatter, cfg((blocks_for(total_keys, 256), 1), 256), |a| {
            a.arg(&keys).arg(&n).arg(&total_keys).arg(&mut cursor).arg(&mut sorted);
        })?;
        drop((keys, cursor, d_scalars));

        // Segments of at most `segment` points per bucket, one thread each.
        let mut task_counts = s.alloc_zeros::<u32>(num_buckets as usize + 1)?;
        launch(s, &k.msm_task_count, cfg((blocks_for(num_buckets, 256), 1), 256), |a| {
            a.arg(&offsets).arg(&num_buckets).arg(&segment).arg(&mut task_counts);
        })?;
        let mut task_offsets = s.alloc_zeros::<u32>(num_buckets as usize + 1)?;
        self.exclusive_scan(&task_counts, &mut task_offsets, num_buckets + 1)?;
        drop(task_counts);
        let last = num_buckets as usize;
        let num_tasks = s.clone_dtoh(&task_offsets.slice(last..last + 1))?[0];
        if num_tasks == 0 {
            // Every digit is zero: every scalar is zero.
            return Ok(vec![0; JACOBIAN_BYTES]);
        }
        let mut task_sums = s.alloc_zeros::<u8>(num_tasks as usize * XYZZ_BYTES)?;
        launch(s, &k.msm_accumulate, cfg((blocks_for(num_tasks, 128), 1), 128), |a| {
            a.arg(bases)
                .arg(&sorted)
                .arg(&offsets)
                .arg(&task_offsets)
                .arg(&num_buckets)
                .arg(&num_tasks)
                .arg(&segment)
                .arg(&mut task_sums);
        })?;
        drop((sorted, offsets));
        let mut buckets = s.alloc_zeros::<u8>(num_buckets as usize * XYZZ_BYTES)?;
        launch(s, &k.msm_bucket_sum, cfg((blocks_for(num_buckets, 128), 1), 128), |a| {
            a.arg(&task_sums).arg(&task_offsets).arg(&num_buckets).arg(&mut buckets);
        })?;
        drop((task_sums, task_offsets));

        // Bucket reduction per window, then the windows combined.
        let chunk_threads = windows << log_chunks;
        let mut chunks = s.alloc_zeros::<u8>(chunk_threads as usize * XYZZ_BYTES)?;
        launch(s, &k.msm_window_chunks, cfg((blocks_for(chunk_threads, 128), 1), 128), |a| {
            a.arg(&buckets).arg(&windows).arg(&log_buckets).arg(&log_chunks).arg(&mut chunks);
        })?;
        let mut window_sums = s.alloc_zeros::<u8>(windows as usize * JACOBIAN_BYTES)?;
        launch(s, &k.msm_window_sum, cfg((windows, 1), WINDOW_SUM_THREADS), |a| {
            a.arg(&chunks).arg(&log_chunks).arg(&mut window_sums);
        })?;
        let mut out = s.alloc_zeros::<u8>(JACOBIAN_BYTES)?;
        launch(s, &k.msm_combine, cfg((1, 1), 32), |a| {
            a.arg(&window_sums).arg(&windows).arg(&c).arg(&mut out);
        })?;
        let result = s.clone_dtoh(&out)?;
        s.synchronize()?;
        Ok(result)
    }

    /// Exclusive prefix sum of the first `n` values of `input` into `out`.
    fn exclusive_scan(&self, input: &CudaSlice<u32>, out: &mut CudaSlice<u32>, n: u32) -> Result<()> {
        let s = &self.stream;
        let blocks = blocks_for(n, SCAN_BLOCK);
        let mut sums = s.alloc_zeros::<u32>(blocks as usize)?;
        launch(s, &self.kernels.scan_blocks, cfg((blocks, 1), SCAN_BLOCK), |a| {
            a.arg(input).arg(&mut *out).arg(&n).arg(&mut sums);
        })?;
        if blocks > 1 {
            let mut sum_offsets = s.alloc_zeros::<u32>(blocks as usize)?;
            self.exclusive_scan(&sums, &mut sum_offsets, blocks)?;
            launch(s, &self.kernels.scan_add, cfg((blocks, 1), SCAN_BLOCK), |a| {
                a.arg(&mut *out).arg(&n).arg(&sum_offsets);
            })?;
        }
        Ok(())
    }

    /// Forward NTT of every column in place (natural order in and out), as [`cpu::NttDomain::forward`].
    ///
    /// # Errors
    ///
    /// See [`Gpu::ntt_coset_inverse`].
    pub fn ntt_forward(&self, columns: &mut [&mut [Fr]]) -> Result<()> {
        self.ntt(columns, NttKind::Forward)
    }

    /// Inverse NTT of every column in place, `1/n` included, as [`cpu::NttDomain::inverse`].
    ///
    /// # Errors
    ///
    /// See [`Gpu::ntt_coset_inverse`].
    pub fn ntt_inverse(&self, columns: &mut [&mut [Fr]]) -> Result<()> {
        self.ntt(columns, NttKind::Inverse)
    }

    /// Coset NTT of every column (evaluations on `shift·<ω>`), as [`cpu::NttDomain::coset_forward`].
    ///
    /// # Errors
    ///
    /// See [`Gpu::ntt_coset_inverse`].
    pub fn ntt_coset_forward(&self, columns: &mut [&mut [Fr]], shift: Fr) -> Result<()> {
        self.ntt(columns, NttKind::CosetForward(shift))
    }

    /// Inverse coset NTT of every column, as [`cpu::NttDomain::coset_inverse`].
    ///
    /// # Errors
    ///
    /// [`GpuError::LengthMismatch`] for columns of different lengths, [`GpuError::InvalidInput`] for a length that
    /// is not a power of two or a zero shift, [`GpuError::TooLarge`] past `2^28` ([`cpu::MAX_LOG_N`]),
    /// [`GpuError::Driver`] for device failures. Columns are untouched on argument errors.
    pub fn ntt_coset_inverse(&self, columns: &mut [&mut [Fr]], shift: Fr) -> Result<()> {
        self.ntt(columns, NttKind::CosetInverse(shift))
    }

    fn ntt(&self, columns: &mut [&mut [Fr]], kind: NttKind) -> Result<()> {
        let Some(first) = columns.first() else { return Ok(()) };
        let n = first.len();
        if let Some(bad) = columns.iter().find(|column| column.len() != n) {
            return Err(GpuError::LengthMismatch(format!("NTT columns of {n} and {} values", bad.len())));
        }
        if !n.is_power_of_two() {
            return Err(GpuError::InvalidInput(format!("NTT size {n} is not a power of two")));
        }
        let log_n = n.ilog2();
        let domain = cpu::NttDomain::new(log_n).map_err(|err| GpuError::TooLarge(err.to_string()))?;
        let n_inv = Fr::from(n as u64).invert().unwrap_or(Fr::ONE);
        // (before: c, g) and (after: c, g) scalings data[i] *= c·g^i around the plain transform.
        let (before, omega, after) = match kind {
            NttKind::Forward => (None, domain.omega(), None),
            NttKind::Inverse => (None, domain.omega(), Some((n_inv, Fr::ONE))),
            NttKind::CosetForward(shift) => (Some((Fr::ONE, shift)), domain.omega(), None),
            NttKind::CosetInverse(shift) => {
                let shift_inv = Option::<Fr>::from(shift.invert())
                    .ok_or_else(|| GpuError::InvalidInput("the coset shift of an inverse NTT is zero".into()))?;
                (None, domain.omega(), Some((n_inv, shift_inv)))
            }
        };
        if log_n == 0 {
            // Size 1: every transform is the identity (n^-1 = 1, shift^0 = 1).
            return Ok(());
        }
        let inverse = u32::from(matches!(kind, NttKind::Inverse | NttKind::CosetInverse(_)));
        let _guard = lock(&self.lock);
        no_panic("running an NTT", || {
            let mut tables = lock(&self.twiddles);
            let twiddles = match tables.entry(log_n) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(self.twiddle_table(log_n, omega)?),
            };
            let (free, _) = self.ctx.mem_get_info()?;
            let batch = ntt_batch_columns(log_n, columns.len(), free as u64 / 2);
            for group in columns.chunks_mut(batch) {
                self.ntt_batch(group, log_n, twiddles, inverse, before, after)?;
            }
            Ok(())
        })
    }

    fn twiddle_table(&self, log_n: u32, omega: Fr) -> Result<CudaSlice<u8>> {
        let half = 1u32 << (log_n - 1);
        let mut table = self.stream.alloc_zeros::<u8>(half as usize * FIELD_BYTES)?;
        let omega = raw::fr_limbs(&omega);
        launch(&self.stream, &self.kernels.ntt_twiddles, cfg((blocks_for(half, 256), 1), 256), |a| {
            a.arg(&mut table).arg(&half).arg(&omega);
        })?;
        Ok(table)
    }

    fn ntt_batch(
        &self,
        columns: &mut [&mut [Fr]],
        log_n: u32,
        twiddles: &CudaSlice<u8>,
        inverse: u32,
        before: Option<(Fr, Fr)>,
        after: Option<(Fr, Fr)>,
    ) -> Result<()> {
        let s = &self.stream;
        let column_bytes = FIELD_BYTES << log_n;
        let count = columns.len() as u32;
        let mut data = s.alloc_zeros::<u8>(column_bytes * columns.len())?;
        for (i, column) in columns.iter().enumerate() {
            s.memcpy_htod(raw::fr_bytes(column), &mut data.slice_mut(i * column_bytes..(i + 1) * column_bytes))?;
        }
        let n = 1u32 << log_n;
        let scale = |data: &mut CudaSlice<u8>, (c, g): (Fr, Fr)| {
            let (c, g) = (raw::fr_limbs(&c), raw::fr_limbs(&g));
            let threads = n.div_ceil(NTT_SCALE_CHUNK);
            launch(s, &self.kernels.ntt_scale, cfg((blocks_for(threads, 256), count), 256), |a| {
                a.arg(data).arg(&log_n).arg(&c).arg(&g);
            })
        };
        if let Some(params) = before {
            scale(&mut data, params)?;
        }
        launch(s, &self.kernels.ntt_bit_reverse, cfg((blocks_for(n, 256), count), 256), |a| {
            a.arg(&mut data).arg(&log_n);
        })?;
        let (threads, blocks) = ntt_pass_shape(log_n);
        for (first, stages) in ntt_passes(log_n) {
            launch(s, &self.kernels.ntt_pass, cfg((blocks, count), threads), |a| {
                a.arg(&mut data).arg(twiddles).arg(&log_n).arg(&first).arg(&stages).arg(&inverse);
            })?;
        }
        if let Some(params) = after {
            scale(&mut data, params)?;
        }
        for (i, column) in columns.iter_mut().enumerate() {
            s.memcpy_dtoh(&data.slice(i * column_bytes..(i + 1) * column_bytes), raw::fr_bytes_mut(column))?;
        }
        s.synchronize()?;
        Ok(())
    }
}

/// The device's Jacobian result (X, Y, Z raw Montgomery bytes) as a halo2curves point.
fn jacobian_to_g1(bytes: &[u8]) -> Result<G1> {
    let coordinate = |i: usize| {
        raw::fq_from_raw(&bytes[i * FIELD_BYTES..(i + 1) * FIELD_BYTES])
            .ok_or(GpuError::BadResult("a coordinate is not a reduced field element"))
    };
    if bytes.len() != JACOBIAN_BYTES {
        return Err(GpuError::BadResult("the result has the wrong size"));
    }
    let (x, y, z) = (coordinate(0)?, coordinate(1)?, coordinate(2)?);
    if bool::from(z.is_zero()) {
        return Ok(G1::identity());
    }
    Option::from(G1::new_jacobian(x, y, z)).ok_or(GpuError::BadResult("the result is not on the curve"))
}

// Plan constants the kernels hard-code: keep the Rust side honest about them.
const _: () = assert!(plan::NTT_TILE_LOG == 10 && SCAN_BLOCK == 1024 && WINDOW_SUM_THREADS == 128);

#[cfg(test)]
mod tests {
    use group::Curve;
    use halo2curves::serde::SerdeObject;

    use super::*;

    fn jacobian_bytes(x: &halo2curves::bn256::Fq, y: &halo2curves::bn256::Fq, z: &halo2curves::bn256::Fq) -> Vec<u8> {
        [x.to_raw_bytes(), y.to_raw_bytes(), z.to_raw_bytes()].concat()
    }

    #[test]
    fn jacobian_results_convert_to_halo2curves_points() {
        let p = G1::generator() * Fr::from(12345u64);
        let (x, y, z) = p.jacobian_coordinates();
        assert_eq!(jacobian_to_g1(&jacobian_bytes(&x, &y, &z)).expect("on curve").to_affine(), p.to_affine());
        let zero = halo2curves::bn256::Fq::ZERO;
        assert_eq!(jacobian_to_g1(&jacobian_bytes(&zero, &zero, &zero)), Ok(G1::identity()));
        let one = halo2curves::bn256::Fq::ONE;
        assert!(matches!(jacobian_to_g1(&jacobian_bytes(&one, &one, &one)), Err(GpuError::BadResult(_))));
        assert!(matches!(jacobian_to_g1(&[0xff; JACOBIAN_BYTES]), Err(GpuError::BadResult(_))));
    }
}
