//! [`Driver`] for a CUDA device through cudarc: the embedded fatbin loaded into a context, one stream.

use std::sync::Arc;

use cudarc::{
    driver::{CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg},
    nvrtc::Ptx,
};

use super::{
    device::DeviceInfo,
    driver::{Arg, Driver, check_range},
    error::{GpuError, Result},
    kernels::{FATBIN, FATBIN_MAGIC, Kernel},
};

/// The oldest driver API version that loads the fatbin: PTX of CUDA 13.0 (driver branch R580).
pub(crate) const MIN_DRIVER_VERSION: i32 = 13_000;

/// A CUDA device with the kernels loaded.
pub(crate) struct CudaDriver {
    stream: Arc<CudaStream>,
    functions: Vec<CudaFunction>,
    // Dropped last: every buffer and the module need the context.
    ctx: Arc<CudaContext>,
}

impl CudaDriver {
    /// Opens device `ordinal`, checks the driver version, creates the context and loads every kernel. The caller has
    /// checked that libcuda loads.
    pub(crate) fn open(ordinal: usize) -> Result<(Self, DeviceInfo)> {
        let mut version = 0;
        // SAFETY: libcuda is loaded (checked by the caller); cuDriverGetVersion only writes the int.
        unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut version) }.result()?;
        if version < MIN_DRIVER_VERSION {
            return Err(GpuError::DriverTooOld { version });
        }
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
            driver_version: version,
        };
        if !FATBIN.starts_with(&FATBIN_MAGIC) {
            return Err(GpuError::ModuleLoad("the embedded fatbin has no fatbin header".into()));
        }
        // cuModuleLoadData takes fatbins as well as cubins and PTX; the driver picks the sm_90 SASS or JITs PTX.
        let module =
            ctx.load_module(Ptx::from_binary(FATBIN.to_vec())).map_err(|err| GpuError::ModuleLoad(err.to_string()))?;
        let functions = Kernel::ALL
            .iter()
            .map(|kernel| {
                module
                    .load_function(kernel.name())
                    .map_err(|err| GpuError::ModuleLoad(format!("kernel {}: {err}", kernel.name())))
            })
            .collect::<Result<Vec<_>>>()?;
        let stream = ctx.new_stream()?;
        Ok((Self { stream, functions, ctx }, info))
    }
}

impl Driver for CudaDriver {
    type Buffer = CudaSlice<u8>;

    fn alloc_zeros(&self, bytes: usize) -> Result<Self::Buffer> {
        Ok(self.stream.alloc_zeros::<u8>(bytes.max(1))?)
    }

    fn upload(&self, src: &[u8]) -> Result<Self::Buffer> {
        Ok(self.stream.clone_htod(src)?)
    }

    fn write(&self, dst: &mut Self::Buffer, offset: usize, src: &[u8]) -> Result<()> {
        check_range(dst.len(), offset, src.len())?;
        self.stream.memcpy_htod(src, &mut dst.slice_mut(offset..offset + src.len()))?;
        Ok(())
    }

    fn read(&self, src: &Self::Buffer, offset: usize, dst: &mut [u8]) -> Result<()> {
        check_range(src.len(), offset, dst.len())?;
        self.stream.memcpy_dtoh(&src.slice(offset..offset + dst.len()), dst)?;
        // cuMemcpyDtoHAsync into pageable memory happens to return after the copy, but nothing promises it: wait.
        self.stream.synchronize()?;
        Ok(())
    }

    fn duplicate(&self, src: &Self::Buffer) -> Result<Self::Buffer> {
        Ok(self.stream.clone_dtod(src)?)
    }

    fn launch(&self, kernel: Kernel, grid: (u32, u32), block: u32, args: &mut [Arg<'_, Self::Buffer>]) -> Result<()> {
        let function = &self.functions[kernel as usize];
        let mut builder = self.stream.launch_builder(function);
        for arg in args.iter_mut() {
            match arg {
                Arg::Buf(buffer) => builder.arg(*buffer),
                Arg::BufMut(buffer) => builder.arg(&mut **buffer),
                Arg::U32(value) => builder.arg(&*value),
                Arg::Field(value) => builder.arg(&*value),
            };
        }
        let config = LaunchConfig { grid_dim: (grid.0, grid.1, 1), block_dim: (block, 1, 1), shared_mem_bytes: 0 };
        // SAFETY: every kernel's parameter list matches what device.rs passes (see the signatures in kernels/cuda;
        // the emulator checks the same argument lists on every CI run), every buffer is at least as large as the
        // kernel indexes (sizes from `plan`), and the stream orders the launch after prior work.
        unsafe { builder.launch(config) }?;
        Ok(())
    }

    fn synchronize(&self) -> Result<()> {
        Ok(self.stream.synchronize()?)
    }

    fn free_bytes(&self) -> Result<u64> {
        let (free, _) = self.ctx.mem_get_info()?;
        Ok(free as u64)
    }
}
