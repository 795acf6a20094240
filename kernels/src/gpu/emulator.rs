//! [`Driver`] for the kernel emulator: `kernels/cuda` compiled for the host by build.rs (`kernels/emu`), loaded as a
//! shared library. It is what CI runs the kernels on, through the same host code a GPU gets ([`super::Gpu`]).
//!
//! Device memory is host memory with guard pages (a kernel reading past a buffer faults); launches check block and
//! grid sizes as the driver does, run blocks on worker threads and the threads of synchronising kernels on fibers
//! (see `kernels/emu/emulator.cpp`). The device has a fixed memory size, so the host code's memory checks and
//! batching run as they would on a GPU.

use std::{
    ffi::{CString, c_char, c_int, c_uint, c_void},
    path::{Path, PathBuf},
    ptr::NonNull,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use super::{
    driver::{Arg, Driver, check_range},
    error::{GpuError, Result},
    kernels::Kernel,
};

/// The library build.rs made, or empty when it could not build one (no C++ compiler, not Linux).
const BUILT_LIBRARY: &str = env!("ZKR_KERNELS_EMULATOR_BUILT");

/// The emulator library's interface version this crate speaks (`zkr_emu_abi_version`).
const ABI_VERSION: c_uint = 1;

/// How [`super::Gpu::emulated`] sets up the emulated device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatorOptions {
    /// Host threads that run blocks in parallel; 0 for one per core.
    pub workers: usize,
    /// Run the threads of each block, and the blocks of each grid, from the last to the first: a kernel whose
    /// result depends on the order its threads happen to run in gives different results in the two orders.
    pub reverse_order: bool,
    /// The emulated device's memory in bytes: allocations past it fail as on a GPU, and the host code sizes its
    /// batches from what is free.
    pub memory_bytes: u64,
    /// The emulator library; `None` for `ZKR_KERNELS_EMULATOR_LIB` when set, else the one build.rs compiled. The
    /// sanitizer run (scripts/emulator-sanitize.sh) points it at an ASan + UBSan build.
    pub library: Option<PathBuf>,
    /// Most NTT stages per shared-memory pass of `zkr_ntt_pass`, 1 to 10 (10, the kernel tile's depth and what a GPU
    /// uses, by default). Fewer splits a transform into more passes, which reaches at small sizes the launches only
    /// large ones make otherwise: a middle pass whose groups have both high and low index bits needs three passes,
    /// from 2^21 at depth 10 but from 2^3 at depth 1.
    pub ntt_pass_stages: u32,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        Self { workers: 0, reverse_order: false, memory_bytes: 4 << 30, library: None, ntt_pass_stages: 10 }
    }
}

type AllocFn = unsafe extern "C" fn(usize) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void, usize);
type KernelFn = unsafe extern "C" fn(*const c_char) -> c_int;
type LaunchFn =
    unsafe extern "C" fn(c_int, c_uint, c_uint, c_uint, *mut *mut c_void, c_uint, c_int, *mut c_char, usize) -> c_int;
type VersionFn = unsafe extern "C" fn() -> c_uint;
type FlagFn = unsafe extern "C" fn() -> c_int;

/// The loaded library and its entry points.
struct Library {
    alloc: AllocFn,
    free: FreeFn,
    launch: LaunchFn,
    sanitized: bool,
    path: PathBuf,
    // Kept loaded while any function pointer above may be called.
    _lib: libloading::Library,
}

impl Library {
    fn open(path: &Path) -> Result<Self> {
        let fail = |what: String| GpuError::ModuleLoad(format!("kernel emulator {}: {what}", path.display()));
        // SAFETY: loading our own library runs no initialisers beyond the C++ runtime's.
        let lib = unsafe { libloading::Library::new(path) }.map_err(|err| fail(err.to_string()))?;
        // SAFETY: the symbols are looked up with the signatures emulator.cpp defines for ABI version 1, which is
        // checked first.
        unsafe {
            let version = *lib.get::<VersionFn>("zkr_emu_abi_version").map_err(|err| fail(err.to_string()))?;
            let found = version();
            if found != ABI_VERSION {
                return Err(fail(format!("interface version {found}, this build speaks {ABI_VERSION}")));
            }
            let sanitized = *lib.get::<FlagFn>("zkr_emu_sanitized").map_err(|err| fail(err.to_string()))?;
            Ok(Self {
                alloc: *lib.get::<AllocFn>("zkr_emu_alloc").map_err(|err| fail(err.to_string()))?,
                free: *lib.get::<FreeFn>("zkr_emu_free").map_err(|err| fail(err.to_string()))?,
                launch: *lib.get::<LaunchFn>("zkr_emu_launch").map_err(|err| fail(err.to_string()))?,
                sanitized: sanitized() != 0,
                path: path.to_owned(),
                _lib: lib,
            })
        }
    }

    /// Resolves every kernel by name, as the CUDA loader does from the fatbin.
    fn kernels(&self) -> Result<Vec<c_int>> {
        let lookup: KernelFn = {
            // SAFETY: as in `open`.
            let symbol = unsafe { self._lib.get::<KernelFn>("zkr_emu_kernel") };
            *symbol.map_err(|err| GpuError::ModuleLoad(format!("kernel emulator: {err}")))?
        };
        Kernel::ALL
            .iter()
            .map(|kernel| {
                let name = CString::new(kernel.name()).map_err(|_| GpuError::ModuleLoad("kernel name".into()))?;
                // SAFETY: a NUL-terminated name; the function only compares strings.
                let index = unsafe { lookup(name.as_ptr()) };
                if index < 0 {
                    return Err(GpuError::ModuleLoad(format!("kernel {} is not in the emulator", kernel.name())));
                }
                Ok(index)
            })
            .collect()
    }
}

/// A buffer of emulated device memory.
pub(crate) struct EmuBuffer {
    ptr: NonNull<u8>,
    len: usize,
    lib: Arc<Library>,
    used: Arc<AtomicU64>,
}

// SAFETY: the buffer owns its allocation; the host code serialises all access through the device's lock, as it does
// for CUDA buffers.
unsafe impl Send for EmuBuffer {}
// SAFETY: as above.
unsafe impl Sync for EmuBuffer {}

impl Drop for EmuBuffer {
    fn drop(&mut self) {
        // SAFETY: allocated by this library's zkr_emu_alloc with this length, freed once.
        unsafe { (self.lib.free)(self.ptr.as_ptr().cast(), self.len) };
        self.used.fetch_sub(self.len as u64, Ordering::Relaxed);
    }
}

impl EmuBuffer {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `len` bytes allocated and zeroed at creation; no kernel runs while the host holds this slice
        // (launches are synchronous and take the driver's calls in order).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and `&mut self` is the only handle.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

/// The emulated device.
pub(crate) struct EmulatorDriver {
    lib: Arc<Library>,
    kernels: Vec<c_int>,
    options: EmulatorOptions,
    used: Arc<AtomicU64>,
}

impl EmulatorDriver {
    /// Loads the emulator library named by `options` (or the default one).
    pub(crate) fn open(options: EmulatorOptions) -> Result<Self> {
        let path = match &options.library {
            Some(path) => path.clone(),
            None => match std::env::var_os("ZKR_KERNELS_EMULATOR_LIB") {
                Some(path) if !path.is_empty() => PathBuf::from(path),
                _ if BUILT_LIBRARY.is_empty() => {
                    return Err(GpuError::ModuleLoad(
                        "the kernel emulator was not built (build.rs needs a C++ compiler on Linux)".into(),
                    ));
                }
                _ => PathBuf::from(BUILT_LIBRARY),
            },
        };
        let lib = Arc::new(Library::open(&path)?);
        let kernels = lib.kernels()?;
        Ok(Self { lib, kernels, options, used: Arc::new(AtomicU64::new(0)) })
    }

    /// A name for [`super::DeviceInfo`].
    pub(crate) fn name(&self) -> String {
        let build = if self.lib.sanitized { ", ASan + UBSan" } else { "" };
        format!("zkr kernel emulator ({}{build})", self.lib.path.display())
    }

    pub(crate) fn memory_bytes(&self) -> u64 {
        self.options.memory_bytes
    }
}

impl Driver for EmulatorDriver {
    type Buffer = EmuBuffer;

    fn alloc_zeros(&self, bytes: usize) -> Result<Self::Buffer> {
        let len = bytes.max(1);
        let before = self.used.fetch_add(len as u64, Ordering::Relaxed);
        if before + len as u64 > self.options.memory_bytes {
            self.used.fetch_sub(len as u64, Ordering::Relaxed);
            return Err(GpuError::Driver(format!(
                "out of memory: {len} bytes asked, {} of {} free (CUDA_ERROR_OUT_OF_MEMORY)",
                self.options.memory_bytes.saturating_sub(before),
                self.options.memory_bytes
            )));
        }
        // SAFETY: returns zeroed memory of `len` bytes or null.
        let ptr = unsafe { (self.lib.alloc)(len) };
        let Some(ptr) = NonNull::new(ptr.cast::<u8>()) else {
            self.used.fetch_sub(len as u64, Ordering::Relaxed);
            return Err(GpuError::Driver(format!("the emulator could not map {len} bytes")));
        };
        Ok(EmuBuffer { ptr, len, lib: Arc::clone(&self.lib), used: Arc::clone(&self.used) })
    }

    fn upload(&self, src: &[u8]) -> Result<Self::Buffer> {
        let mut buffer = self.alloc_zeros(src.len())?;
        buffer.bytes_mut()[..src.len()].copy_from_slice(src);
        Ok(buffer)
    }

    fn write(&self, dst: &mut Self::Buffer, offset: usize, src: &[u8]) -> Result<()> {
        check_range(dst.len, offset, src.len())?;
        dst.bytes_mut()[offset..offset + src.len()].copy_from_slice(src);
        Ok(())
    }

    fn read(&self, src: &Self::Buffer, offset: usize, dst: &mut [u8]) -> Result<()> {
        check_range(src.len, offset, dst.len())?;
        dst.copy_from_slice(&src.bytes()[offset..offset + dst.len()]);
        Ok(())
    }

    fn duplicate(&self, src: &Self::Buffer) -> Result<Self::Buffer> {
        self.upload(src.bytes())
    }

    fn launch(&self, kernel: Kernel, grid: (u32, u32), block: u32, args: &mut [Arg<'_, Self::Buffer>]) -> Result<()> {
        // cuLaunchKernel's convention: params[i] points at the i-th argument's value (a pointer for a buffer).
        let mut pointers: Vec<*mut u8> = args
            .iter()
            .map(|arg| match arg {
                Arg::Buf(buffer) => buffer.ptr.as_ptr(),
                Arg::BufMut(buffer) => buffer.ptr.as_ptr(),
                Arg::U32(_) | Arg::Field(_) => std::ptr::null_mut(),
            })
            .collect();
        let params: Vec<*mut c_void> = args
            .iter_mut()
            .zip(pointers.iter_mut())
            .map(|(arg, pointer)| match arg {
                Arg::Buf(_) | Arg::BufMut(_) => std::ptr::from_mut(pointer).cast::<c_void>(),
                Arg::U32(value) => std::ptr::from_mut(value).cast::<c_void>(),
                Arg::Field(value) => value.as_mut_ptr().cast::<c_void>(),
            })
            .collect();
        let mut error = [0u8; 512];
        let workers = c_uint::try_from(self.options.workers).unwrap_or(c_uint::MAX);
        // SAFETY: `params` has one entry per parameter of the kernel, each pointing at a live value of the
        // parameter's type (the same lists the CUDA launches pass); buffers outlive the synchronous launch.
        let status = unsafe {
            (self.lib.launch)(
                self.kernels[kernel as usize],
                grid.0,
                grid.1,
                block,
                params.as_ptr().cast_mut(),
                workers,
                c_int::from(self.options.reverse_order),
                error.as_mut_ptr().cast::<c_char>(),
                error.len(),
            )
        };
        if status != 0 {
            let end = error.iter().position(|&b| b == 0).unwrap_or(error.len());
            return Err(GpuError::Driver(format!(
                "emulated launch of {}: {}",
                kernel.name(),
                String::from_utf8_lossy(&error[..end])
            )));
        }
        Ok(())
    }

    fn synchronize(&self) -> Result<()> {
        Ok(())
    }

    fn free_bytes(&self) -> Result<u64> {
        Ok(self.options.memory_bytes.saturating_sub(self.used.load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emulator_library_loads_and_has_every_kernel() {
        let driver = EmulatorDriver::open(EmulatorOptions::default()).expect("build.rs builds the emulator");
        assert_eq!(driver.kernels.len(), Kernel::ALL.len());
    }

    #[test]
    fn emulated_memory_is_bounded_and_copies_are_checked() {
        let options = EmulatorOptions { memory_bytes: 1 << 20, ..EmulatorOptions::default() };
        let driver = EmulatorDriver::open(options).expect("emulator");
        let mut a = driver.alloc_zeros(1000).expect("fits");
        assert_eq!(driver.free_bytes().expect("free"), (1 << 20) - 1000);
        assert!(matches!(driver.alloc_zeros(1 << 20), Err(GpuError::Driver(_))), "over the device's memory");
        driver.write(&mut a, 996, &[1, 2, 3, 4]).expect("in range");
        assert!(matches!(driver.write(&mut a, 997, &[1, 2, 3, 4]), Err(GpuError::InvalidInput(_))));
        let mut out = [0u8; 4];
        driver.read(&a, 996, &mut out).expect("in range");
        assert_eq!(out, [1, 2, 3, 4]);
        let b = driver.duplicate(&a).expect("copy");
        drop(a);
        let mut out = [0u8; 4];
        driver.read(&b, 996, &mut out).expect("in range");
        assert_eq!(out, [1, 2, 3, 4]);
        drop(b);
        assert_eq!(driver.free_bytes().expect("free"), 1 << 20);
    }

    #[test]
    fn launches_outside_the_kernels_bounds_are_refused() {
        let driver = EmulatorDriver::open(EmulatorOptions::default()).expect("emulator");
        let mut data = driver.alloc_zeros(4 * 1024).expect("alloc");
        let offsets = driver.alloc_zeros(4).expect("alloc");
        // zkr_scan_add has __launch_bounds__(1024).
        let err = driver
            .launch(Kernel::ScanAdd, (1, 1), 2048, &mut [Arg::BufMut(&mut data), Arg::U32(1024), Arg::Buf(&offsets)])
            .expect_err("too many threads");
        assert!(err.to_string().contains("threads per block"), "{err}");
        let err = driver
            .launch(
                Kernel::ScanAdd,
                (1, 70_000),
                1024,
                &mut [Arg::BufMut(&mut data), Arg::U32(1024), Arg::Buf(&offsets)],
            )
            .expect_err("grid too tall");
        assert!(err.to_string().contains("grid"), "{err}");
    }
}
