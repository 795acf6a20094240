//! The device handle: a [`Driver`] (a CUDA device or the emulator), resident bases, and the MSM and NTT host code.
//!
//! The host code (`Runner<D>`) is generic over the driver, so the emulator runs exactly what a GPU runs: the same
//! buffer sizes, launch shapes and order, and result decoding. [`Gpu`] hides the driver behind a trait object.

use std::{
    any::Any,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use ff::Field;
use group::Group;
use halo2curves::{
    CurveExt,
    bn256::{Fr, G1, G1Affine},
};

use super::{
    cuda::CudaDriver,
    driver::{Arg, Driver},
    emulator::{EmulatorDriver, EmulatorOptions},
    error::{GpuError, Result},
    kernels::Kernel,
    plan::{
        self, MsmPlan, NTT_SCALE_CHUNK, REDUCE_SEGMENT, SCAN_BLOCK, WINDOW_SUM_THREADS, blocks_for, ntt_batch_columns,
        ntt_pass_shape, ntt_passes,
    },
    raw::{self, AFFINE_BYTES, FIELD_BYTES, JACOBIAN_BYTES, XYZZ_BYTES},
};
use crate::cpu;

/// What the driver reports about the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The CUDA ordinal (0 for the emulator).
    pub ordinal: usize,
    /// The device name, e.g. "NVIDIA H100 80GB HBM3", or the emulator's.
    pub name: String,
    /// Total device memory in bytes.
    pub total_memory_bytes: usize,
    /// Compute capability (major, minor); the kernels are built for 9.0 (the emulator reports 9.0).
    pub compute_capability: (i32, i32),
    /// The driver's CUDA API version (`cuDriverGetVersion`, e.g. 13000 for 13.0); 0 for the emulator.
    pub driver_version: i32,
}

/// Base points uploaded once and kept on the device (the SRS of a prover), for [`Gpu::msm`].
pub struct DeviceBases {
    points: Box<dyn Any + Send + Sync>,
    len: usize,
    owner: u64,
}

impl std::fmt::Debug for DeviceBases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceBases").field("len", &self.len).field("owner", &self.owner).finish_non_exhaustive()
    }
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

/// One NTT call after argument checks: the plain transform with `omega`, and the scalings around it.
#[derive(Debug, Clone, Copy)]
struct NttJob {
    log_n: u32,
    omega: Fr,
    inverse: u32,
    /// `(c, g)`: `data[i] *= c·g^i` before the transform.
    before: Option<(Fr, Fr)>,
    /// The same after it.
    after: Option<(Fr, Fr)>,
}

/// The host code over any driver, as a trait object for [`Gpu`].
trait Engine: Send + Sync {
    fn upload_bases(&self, bytes: &[u8]) -> Result<Box<dyn Any + Send + Sync>>;
    fn msm(&self, bases: &(dyn Any + Send + Sync), scalars: &[Fr], plan: &MsmPlan) -> Result<Vec<u8>>;
    fn ntt(&self, columns: &mut [&mut [Fr]], job: NttJob) -> Result<()>;
    fn free_bytes(&self) -> Result<u64>;
}

/// A CUDA device, or the emulator, with the kernels loaded, ready for MSMs and NTTs.
///
/// Calls on one handle are serialised (one stream); use one handle per device. A fault that leaves the CUDA context
/// unusable ([`GpuError::Fault`]) is remembered: every later call returns it at once (see [`Gpu::fault`]).
pub struct Gpu {
    info: DeviceInfo,
    /// Tags the bases uploaded through this handle, so bases of another handle are refused.
    id: u64,
    engine: Box<dyn Engine>,
    /// Serialises calls: each one allocates its own buffers but shares the stream.
    lock: Mutex<()>,
    /// The first fault, after which the context is unusable.
    fault: Mutex<Option<GpuError>>,
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

fn next_id() -> u64 {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl Gpu {
    /// Opens CUDA device `ordinal`: checks for the driver library and its version, the device, creates the context
    /// and loads the kernels.
    ///
    /// # Errors
    ///
    /// [`GpuError::NoDriver`] without libcuda, [`GpuError::DriverTooOld`] below CUDA 13.0 (R580),
    /// [`GpuError::NoDevice`] without that device, [`GpuError::ModuleLoad`] when the fatbin does not load
    /// (unsupported device), [`GpuError::Driver`] for other driver failures, [`GpuError::Layout`] if halo2curves'
    /// memory layout changed.
    pub fn new(ordinal: usize) -> Result<Self> {
        raw::check_layout()?;
        // SAFETY: only tries to dlopen libcuda; without this check cudarc panics on the first driver call.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(GpuError::NoDriver);
        }
        let (driver, info) = no_panic("opening the CUDA device", || CudaDriver::open(ordinal))?;
        tracing::info!(
            target: "kernels::gpu",
            ordinal,
            name = %info.name,
            memory_bytes = info.total_memory_bytes,
            compute_capability = ?info.compute_capability,
            driver_version = info.driver_version,
            "CUDA device ready"
        );
        let budget = twiddle_budget(&info);
        Ok(Self::with_engine(info, Box::new(Runner::new(driver, budget, plan::NTT_TILE_LOG))))
    }

    /// The kernel emulator (`kernels/emu`) as a device: the same kernel sources compiled for the host, driven by
    /// the same host code as a GPU. For tests and debugging; it is orders of magnitude slower than a GPU.
    ///
    /// # Errors
    ///
    /// [`GpuError::ModuleLoad`] when the emulator library was not built or does not load.
    pub fn emulated(options: EmulatorOptions) -> Result<Self> {
        raw::check_layout()?;
        let stages = options.ntt_pass_stages;
        let driver = EmulatorDriver::open(options)?;
        let info = DeviceInfo {
            ordinal: 0,
            name: driver.name(),
            total_memory_bytes: usize::try_from(driver.memory_bytes()).unwrap_or(usize::MAX),
            compute_capability: (9, 0),
            driver_version: 0,
        };
        let budget = twiddle_budget(&info);
        Ok(Self::with_engine(info, Box::new(Runner::new(driver, budget, stages))))
    }

    fn with_engine(info: DeviceInfo, engine: Box<dyn Engine>) -> Self {
        Self { info, id: next_id(), engine, lock: Mutex::new(()), fault: Mutex::new(None) }
    }

    /// The device's name, memory and compute capability.
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// The fault that made the device unusable, if one happened. A worker that sees one should stop and be
    /// restarted: a CUDA context does not recover from a kernel fault.
    pub fn fault(&self) -> Option<GpuError> {
        lock(&self.fault).clone()
    }

    /// Runs `f` on the engine: serialised, refused after a fault, panics turned into errors, faults remembered.
    fn run<T>(&self, what: &str, f: impl FnOnce(&dyn Engine) -> Result<T>) -> Result<T> {
        let _guard = lock(&self.lock);
        if let Some(fault) = self.fault() {
            return Err(fault);
        }
        let result = no_panic(what, || f(&*self.engine));
        if let Err(err @ GpuError::Fault(_)) = &result {
            tracing::error!(
                target: "kernels::gpu",
                device = %self.info.name,
                %err,
                "the device faulted; every later call fails until the process restarts"
            );
            *lock(&self.fault) = Some(err.clone());
        }
        result
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
        let points = self.run("uploading bases", |engine| engine.upload_bases(raw::affine_bytes(bases)))?;
        Ok(DeviceBases { points, len: bases.len(), owner: self.id })
    }

    /// `Σ scalars[i]·bases[i]` over the first `scalars.len()` resident bases.
    ///
    /// # Errors
    ///
    /// [`GpuError::LengthMismatch`] if there are more scalars than bases, [`GpuError::InvalidInput`] for bases of
    /// another device handle, [`GpuError::TooLarge`] past the kernels' indexing or the free device memory, and
    /// [`GpuError::Driver`] / [`GpuError::Fault`] / [`GpuError::BadResult`] for device failures.
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
        let jacobian = self.run("running an MSM", |engine| {
            let free = engine.free_bytes()?;
            if plan.device_bytes() > free {
                return Err(GpuError::TooLarge(format!(
                    "an MSM of {} points needs about {} bytes of device memory; {free} free",
                    plan.n,
                    plan.device_bytes()
                )));
            }
            engine.msm(&*bases.points, scalars, &plan)
        })?;
        jacobian_to_g1(&jacobian)
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
    /// is not a power of two or a zero shift, [`GpuError::TooLarge`] past `2^28` ([`cpu::MAX_LOG_N`]) or when not
    /// even one column fits the free device memory, [`GpuError::Driver`] / [`GpuError::Fault`] for device failures.
    /// Columns are untouched on argument errors.
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
        let (before, after) = match kind {
            NttKind::Forward => (None, None),
            NttKind::Inverse => (None, Some((n_inv, Fr::ONE))),
            NttKind::CosetForward(shift) => (Some((Fr::ONE, shift)), None),
            NttKind::CosetInverse(shift) => {
                let shift_inv = Option::<Fr>::from(shift.invert())
                    .ok_or_else(|| GpuError::InvalidInput("the coset shift of an inverse NTT is zero".into()))?;
                (None, Some((n_inv, shift_inv)))
            }
        };
        if log_n == 0 {
            // Size 1: every transform is the identity (n^-1 = 1, shift^0 = 1).
            return Ok(());
        }
        let inverse = u32::from(matches!(kind, NttKind::Inverse | NttKind::CosetInverse(_)));
        let job = NttJob { log_n, omega: domain.omega(), inverse, before, after };
        self.run("running an NTT", |engine| engine.ntt(columns, job))
    }
}

/// The device memory the twiddle cache may keep: a sixteenth of the device (256 MiB of a 4 GiB device, 5 GiB of
/// an H100), enough for the tables of the two or three sizes one proof uses up to 2^24.
fn twiddle_budget(info: &DeviceInfo) -> u64 {
    info.total_memory_bytes as u64 / 16
}

/// NTT twiddle tables (`ω^e`, `e < n/2`) by `log_n`, least recently used evicted first, within a byte budget.
struct TwiddleCache<B> {
    budget: u64,
    entries: Vec<(u32, B, u64)>,
    tick: u64,
}

fn twiddle_bytes(log_n: u32) -> u64 {
    (FIELD_BYTES as u64) << (log_n - 1)
}

impl<B> TwiddleCache<B> {
    fn bytes(&self) -> u64 {
        self.entries.iter().map(|(log_n, _, _)| twiddle_bytes(*log_n)).sum()
    }

    fn position(&mut self, log_n: u32) -> Option<usize> {
        self.tick += 1;
        let tick = self.tick;
        let i = self.entries.iter().position(|(l, _, _)| *l == log_n)?;
        self.entries[i].2 = tick;
        Some(i)
    }

    /// Makes room for a table of `log_n`; false if it is larger than the whole budget (then it is not cached).
    fn make_room(&mut self, log_n: u32) -> bool {
        let need = twiddle_bytes(log_n);
        if need > self.budget {
            return false;
        }
        while self.bytes() + need > self.budget {
            let Some(oldest) = self.entries.iter().enumerate().min_by_key(|(_, e)| e.2).map(|(i, _)| i) else { break };
            self.entries.swap_remove(oldest);
        }
        true
    }
}

/// The MSM and NTT host code over driver `D`.
struct Runner<D: Driver> {
    driver: D,
    twiddles: Mutex<TwiddleCache<D::Buffer>>,
    /// Most NTT stages per shared-memory pass: the tile's depth on a GPU, less on the emulator when asked.
    ntt_pass_stages: u32,
}

impl<D: Driver> Runner<D> {
    fn new(driver: D, twiddle_budget: u64, ntt_pass_stages: u32) -> Self {
        Self {
            driver,
            twiddles: Mutex::new(TwiddleCache { budget: twiddle_budget, entries: Vec::new(), tick: 0 }),
            ntt_pass_stages,
        }
    }

    fn read_u32(&self, buffer: &D::Buffer, index: usize) -> Result<u32> {
        let mut bytes = [0u8; 4];
        self.driver.read(buffer, 4 * index, &mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn msm_on_device(&self, bases: &D::Buffer, scalars: &[Fr], plan: &MsmPlan) -> Result<Vec<u8>> {
        let d = &self.driver;
        let MsmPlan { n, c, windows, log_buckets, num_buckets, total_keys, segment, log_chunks, .. } = *plan;
        let u32s = |count: u32| 4 * count as usize;
        let d_scalars = d.upload(raw::fr_bytes(scalars))?;

        // Digits, bucket sizes, and the counting sort by bucket.
        let mut keys = d.alloc_zeros(u32s(total_keys))?;
        let mut counts = d.alloc_zeros(u32s(num_buckets + 1))?;
        self.driver.launch(
            Kernel::MsmDigits,
            (blocks_for(n, 256), 1),
            256,
            &mut [
                Arg::Buf(&d_scalars),
                Arg::U32(n),
                Arg::U32(c),
                Arg::U32(windows),
                Arg::BufMut(&mut keys),
                Arg::BufMut(&mut counts),
            ],
        )?;
        let mut offsets = d.alloc_zeros(u32s(num_buckets + 1))?;
        self.exclusive_scan(&counts, &mut offsets, num_buckets + 1)?;
        drop(counts);
        let mut cursor = d.duplicate(&offsets)?;
        let mut sorted = d.alloc_zeros(u32s(total_keys))?;
        self.driver.launch(
            Kernel::MsmScatter,
            (blocks_for(total_keys, 256), 1),
            256,
            &mut [
                Arg::Buf(&keys),
                Arg::U32(n),
                Arg::U32(total_keys),
                Arg::BufMut(&mut cursor),
                Arg::BufMut(&mut sorted),
            ],
        )?;
        drop((keys, cursor, d_scalars));

        // Segments of at most `segment` points per bucket, one thread each.
        let (task_offsets, num_tasks) = self.segment_offsets(&offsets, num_buckets, segment)?;
        if num_tasks == 0 {
            // Every digit is zero: every scalar is zero.
            return Ok(vec![0; JACOBIAN_BYTES]);
        }
        let mut task_sums = d.alloc_zeros(num_tasks as usize * XYZZ_BYTES)?;
        self.driver.launch(
            Kernel::MsmAccumulate,
            (blocks_for(num_tasks, 128), 1),
            128,
            &mut [
                Arg::Buf(bases),
                Arg::Buf(&sorted),
                Arg::Buf(&offsets),
                Arg::Buf(&task_offsets),
                Arg::U32(num_buckets),
                Arg::U32(num_tasks),
                Arg::U32(segment),
                Arg::BufMut(&mut task_sums),
            ],
        )?;
        drop((sorted, offsets));
        // Buckets with many segment sums are reduced in levels, so that no thread adds up more than
        // REDUCE_SEGMENT of them; a level that changes nothing (no bucket had two) ends the loop.
        let (mut task_sums, mut task_offsets, mut num_tasks) = (task_sums, task_offsets, num_tasks);
        for _ in 0..plan.reduce_levels {
            let (out_offsets, num_out) = self.segment_offsets(&task_offsets, num_buckets, REDUCE_SEGMENT)?;
            if num_out == num_tasks {
                break;
            }
            let mut reduced = d.alloc_zeros(num_out as usize * XYZZ_BYTES)?;
            self.driver.launch(
                Kernel::MsmReduceSegments,
                (blocks_for(num_out, 128), 1),
                128,
                &mut [
                    Arg::Buf(&task_sums),
                    Arg::Buf(&task_offsets),
                    Arg::Buf(&out_offsets),
                    Arg::U32(num_buckets),
                    Arg::U32(num_out),
                    Arg::U32(REDUCE_SEGMENT),
                    Arg::BufMut(&mut reduced),
                ],
            )?;
            (task_sums, task_offsets, num_tasks) = (reduced, out_offsets, num_out);
        }
        let mut buckets = d.alloc_zeros(num_buckets as usize * XYZZ_BYTES)?;
        self.driver.launch(
            Kernel::MsmBucketSum,
            (blocks_for(num_buckets, 128), 1),
            128,
            &mut [Arg::Buf(&task_sums), Arg::Buf(&task_offsets), Arg::U32(num_buckets), Arg::BufMut(&mut buckets)],
        )?;
        drop((task_sums, task_offsets));

        // Bucket reduction per window, then the windows combined.
        let chunk_threads = windows << log_chunks;
        let mut chunks = d.alloc_zeros(chunk_threads as usize * XYZZ_BYTES)?;
        self.driver.launch(
            Kernel::MsmWindowChunks,
            (blocks_for(chunk_threads, 128), 1),
            128,
            &mut [
                Arg::Buf(&buckets),
                Arg::U32(windows),
                Arg::U32(log_buckets),
                Arg::U32(log_chunks),
                Arg::BufMut(&mut chunks),
            ],
        )?;
        let mut window_sums = d.alloc_zeros(windows as usize * JACOBIAN_BYTES)?;
        self.driver.launch(
            Kernel::MsmWindowSum,
            (windows, 1),
            WINDOW_SUM_THREADS,
            &mut [Arg::Buf(&chunks), Arg::U32(log_chunks), Arg::BufMut(&mut window_sums)],
        )?;
        let mut out = d.alloc_zeros(JACOBIAN_BYTES)?;
        self.driver.launch(
            Kernel::MsmCombine,
            (1, 1),
            32,
            &mut [Arg::Buf(&window_sums), Arg::U32(windows), Arg::U32(c), Arg::BufMut(&mut out)],
        )?;
        let mut result = vec![0; JACOBIAN_BYTES];
        d.read(&out, 0, &mut result)?;
        Ok(result)
    }

    /// Where each bucket's segments of at most `seg` items start, when bucket `b` holds items
    /// `offsets[b] .. offsets[b + 1]`, and how many segments there are in all (`zkr_msm_task_count`, then a scan).
    fn segment_offsets(&self, offsets: &D::Buffer, num_buckets: u32, seg: u32) -> Result<(D::Buffer, u32)> {
        let d = &self.driver;
        let mut counts = d.alloc_zeros(4 * (num_buckets as usize + 1))?;
        d.launch(
            Kernel::MsmTaskCount,
            (blocks_for(num_buckets, 256), 1),
            256,
            &mut [Arg::Buf(offsets), Arg::U32(num_buckets), Arg::U32(seg), Arg::BufMut(&mut counts)],
        )?;
        let mut segment_offsets = d.alloc_zeros(4 * (num_buckets as usize + 1))?;
        self.exclusive_scan(&counts, &mut segment_offsets, num_buckets + 1)?;
        drop(counts);
        let total = self.read_u32(&segment_offsets, num_buckets as usize)?;
        Ok((segment_offsets, total))
    }

    /// Exclusive prefix sum of the first `n` values of `input` into `out`.
    fn exclusive_scan(&self, input: &D::Buffer, out: &mut D::Buffer, n: u32) -> Result<()> {
        let blocks = blocks_for(n, SCAN_BLOCK);
        let mut sums = self.driver.alloc_zeros(4 * blocks as usize)?;
        self.driver.launch(
            Kernel::ScanBlocks,
            (blocks, 1),
            SCAN_BLOCK,
            &mut [Arg::Buf(input), Arg::BufMut(&mut *out), Arg::U32(n), Arg::BufMut(&mut sums)],
        )?;
        if blocks > 1 {
            let mut sum_offsets = self.driver.alloc_zeros(4 * blocks as usize)?;
            self.exclusive_scan(&sums, &mut sum_offsets, blocks)?;
            self.driver.launch(
                Kernel::ScanAdd,
                (blocks, 1),
                SCAN_BLOCK,
                &mut [Arg::BufMut(&mut *out), Arg::U32(n), Arg::Buf(&sum_offsets)],
            )?;
        }
        Ok(())
    }

    fn twiddle_table(&self, log_n: u32, omega: Fr) -> Result<D::Buffer> {
        let half = 1u32 << (log_n - 1);
        let mut table = self.driver.alloc_zeros(half as usize * FIELD_BYTES)?;
        self.driver.launch(
            Kernel::NttTwiddles,
            (blocks_for(half, 256), 1),
            256,
            &mut [Arg::BufMut(&mut table), Arg::U32(half), Arg::Field(raw::fr_limbs(&omega))],
        )?;
        Ok(table)
    }

    fn ntt_columns(&self, columns: &mut [&mut [Fr]], job: NttJob, twiddles: &D::Buffer) -> Result<()> {
        let free = self.driver.free_bytes()?;
        let column_bytes = (FIELD_BYTES as u64) << job.log_n;
        if free < column_bytes {
            return Err(GpuError::TooLarge(format!(
                "an NTT column of 2^{} elements needs {column_bytes} bytes of device memory; {free} free",
                job.log_n
            )));
        }
        let batch = ntt_batch_columns(job.log_n, columns.len(), free / 2);
        for group in columns.chunks_mut(batch) {
            self.ntt_batch(group, job, twiddles)?;
        }
        Ok(())
    }

    fn ntt_batch(&self, columns: &mut [&mut [Fr]], job: NttJob, twiddles: &D::Buffer) -> Result<()> {
        let d = &self.driver;
        let NttJob { log_n, inverse, before, after, .. } = job;
        let column_bytes = FIELD_BYTES << log_n;
        let count = columns.len() as u32;
        let mut data = d.alloc_zeros(column_bytes * columns.len())?;
        for (i, column) in columns.iter().enumerate() {
            d.write(&mut data, i * column_bytes, raw::fr_bytes(column))?;
        }
        let n = 1u32 << log_n;
        let scale = |data: &mut D::Buffer, (c, g): (Fr, Fr)| {
            let threads = n.div_ceil(NTT_SCALE_CHUNK);
            self.driver.launch(
                Kernel::NttScale,
                (blocks_for(threads, 256), count),
                256,
                &mut [Arg::BufMut(data), Arg::U32(log_n), Arg::Field(raw::fr_limbs(&c)), Arg::Field(raw::fr_limbs(&g))],
            )
        };
        if let Some(params) = before {
            scale(&mut data, params)?;
        }
        self.driver.launch(
            Kernel::NttBitReverse,
            (blocks_for(n, 256), count),
            256,
            &mut [Arg::BufMut(&mut data), Arg::U32(log_n)],
        )?;
        let (threads, blocks) = ntt_pass_shape(log_n);
        for (first, stages) in ntt_passes(log_n, self.ntt_pass_stages) {
            self.driver.launch(
                Kernel::NttPass,
                (blocks, count),
                threads,
                &mut [
                    Arg::BufMut(&mut data),
                    Arg::Buf(twiddles),
                    Arg::U32(log_n),
                    Arg::U32(first),
                    Arg::U32(stages),
                    Arg::U32(inverse),
                ],
            )?;
        }
        if let Some(params) = after {
            scale(&mut data, params)?;
        }
        for (i, column) in columns.iter_mut().enumerate() {
            d.read(&data, i * column_bytes, raw::fr_bytes_mut(column))?;
        }
        Ok(())
    }
}

impl<D: Driver> Engine for Runner<D> {
    fn upload_bases(&self, bytes: &[u8]) -> Result<Box<dyn Any + Send + Sync>> {
        let points =
            if bytes.is_empty() { self.driver.alloc_zeros(AFFINE_BYTES)? } else { self.driver.upload(bytes)? };
        self.driver.synchronize()?;
        Ok(Box::new(points))
    }

    fn msm(&self, bases: &(dyn Any + Send + Sync), scalars: &[Fr], plan: &MsmPlan) -> Result<Vec<u8>> {
        let bases = bases
            .downcast_ref::<D::Buffer>()
            .ok_or_else(|| GpuError::InvalidInput("the bases were uploaded to another kind of device".into()))?;
        self.msm_on_device(bases, scalars, plan)
    }

    fn ntt(&self, columns: &mut [&mut [Fr]], job: NttJob) -> Result<()> {
        let mut cache = lock(&self.twiddles);
        if let Some(i) = cache.position(job.log_n) {
            return self.ntt_columns(columns, job, &cache.entries[i].1);
        }
        // A new table: it must fit beside at least one column, and it is cached only within the budget.
        let free = self.driver.free_bytes()?;
        let need = twiddle_bytes(job.log_n) + ((FIELD_BYTES as u64) << job.log_n);
        if free < need {
            return Err(GpuError::TooLarge(format!(
                "an NTT of 2^{} needs {need} bytes of device memory for its twiddles and one column; {free} free",
                job.log_n
            )));
        }
        if cache.make_room(job.log_n) {
            let table = self.twiddle_table(job.log_n, job.omega)?;
            let tick = cache.tick;
            cache.entries.push((job.log_n, table, tick));
            let last = cache.entries.len() - 1;
            self.ntt_columns(columns, job, &cache.entries[last].1)
        } else {
            drop(cache);
            let table = self.twiddle_table(job.log_n, job.omega)?;
            self.ntt_columns(columns, job, &table)
        }
    }

    fn free_bytes(&self) -> Result<u64> {
        self.driver.free_bytes()
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
