//! What the MSM and NTT host code needs from a device: memory, copies and kernel launches.
//!
//! Two implementations: [`super::cuda::CudaDriver`] (a CUDA device through cudarc) and
//! [`super::emulator::EmulatorDriver`] (the same kernel sources compiled for the host, `kernels/emu`). The host code
//! in `device.rs` is generic over this trait, so the emulator runs exactly the buffer sizes, launch shapes, launch
//! order and result decoding a GPU gets.

use super::{
    error::{GpuError, Result},
    kernels::Kernel,
};

/// A kernel argument, as the kernel's parameter list declares it.
#[derive(Debug)]
pub(crate) enum Arg<'a, B> {
    /// A buffer the kernel only reads (a `const T*` parameter).
    Buf(&'a B),
    /// A buffer the kernel writes (a `T*` parameter).
    BufMut(&'a mut B),
    /// A `u32` parameter.
    U32(u32),
    /// A field element parameter by value (`Fr`: 8 little-endian `u32` Montgomery limbs).
    Field([u32; 8]),
}

/// A device: allocations, copies and launches, in order on one stream.
pub(crate) trait Driver: Send + Sync + 'static {
    /// A device allocation of bytes.
    type Buffer: Send + Sync + 'static;

    /// `bytes` of zeroed device memory.
    fn alloc_zeros(&self, bytes: usize) -> Result<Self::Buffer>;

    /// A new buffer holding `src`.
    fn upload(&self, src: &[u8]) -> Result<Self::Buffer>;

    /// Copies `src` into `dst` at byte `offset`.
    fn write(&self, dst: &mut Self::Buffer, offset: usize, src: &[u8]) -> Result<()>;

    /// Copies `dst.len()` bytes of `src` from byte `offset` into `dst`, after all work queued before it has finished.
    fn read(&self, src: &Self::Buffer, offset: usize, dst: &mut [u8]) -> Result<()>;

    /// A new buffer with the contents of `src`.
    fn duplicate(&self, src: &Self::Buffer) -> Result<Self::Buffer>;

    /// Queues `kernel` on a grid of `grid` blocks of `block` threads.
    fn launch(&self, kernel: Kernel, grid: (u32, u32), block: u32, args: &mut [Arg<'_, Self::Buffer>]) -> Result<()>;

    /// Waits for all queued work.
    fn synchronize(&self) -> Result<()>;

    /// Device memory free for new allocations, in bytes.
    fn free_bytes(&self) -> Result<u64>;
}

/// Refuses a copy of `len` bytes at `offset` outside a buffer of `size` bytes.
pub(crate) fn check_range(size: usize, offset: usize, len: usize) -> Result<()> {
    if offset.checked_add(len).is_none_or(|end| end > size) {
        return Err(GpuError::InvalidInput(format!("a copy of {len} bytes at {offset} leaves a buffer of {size}")));
    }
    Ok(())
}
