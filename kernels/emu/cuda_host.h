// What kernels/cuda needs from CUDA, for a host build of the same sources (the emulator, emulator.cpp).
//
// The kernels compile unchanged: this header supplies the qualifiers (as nothing, or as host equivalents), the
// built-in variables (threadIdx, blockIdx, blockDim, gridDim: per emulated thread), block-wide barriers and warp
// shuffles (which switch fibers, see emulator.cpp), `__shared__` (one copy per worker thread, which runs one block
// at a time), atomics, and the integer intrinsics. The only device code with no portable C++ form, field.cuh's
// inline PTX, is guarded by `#ifdef __CUDA_ARCH__` and calls the zkr_host_* twins below on the host.
#pragma once

#include <cstdint>

#ifdef __CUDA_ARCH__
#error "cuda_host.h is for the host build of kernels/cuda; nvcc builds the device code directly"
#endif

#define __device__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(...)
// One copy per worker thread: a worker runs every emulated thread of a block before it takes the next block, and
// CUDA leaves shared memory undefined at block start, so nothing may rely on what a previous block left there.
#define __shared__ static thread_local

namespace zkr_emu {

struct Dim3 {
    unsigned int x, y, z;
};

// The built-in variables of the emulated thread that is running on this worker.
struct ThreadVars {
    Dim3 thread_idx;
    Dim3 block_idx;
    Dim3 block_dim;
    Dim3 grid_dim;
};
extern thread_local ThreadVars vars;

// A block-wide barrier (__syncthreads) and a warp exchange (the value of lane - delta); both suspend the emulated
// thread until every thread of the block (warp) arrives. Defined in emulator.cpp.
void sync_block();
unsigned int shfl_up(unsigned int mask, unsigned int value, unsigned int delta);

}  // namespace zkr_emu

#define threadIdx (::zkr_emu::vars.thread_idx)
#define blockIdx (::zkr_emu::vars.block_idx)
#define blockDim (::zkr_emu::vars.block_dim)
#define gridDim (::zkr_emu::vars.grid_dim)

inline void __syncthreads() { ::zkr_emu::sync_block(); }

inline unsigned int __shfl_up_sync(unsigned int mask, unsigned int value, unsigned int delta) {
    return ::zkr_emu::shfl_up(mask, value, delta);
}

// Blocks run in parallel on several workers: device atomics are host atomics.
inline unsigned int atomicAdd(unsigned int* address, unsigned int value) {
    return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}

// Leading zeros of a 32-bit word; 32 for zero (the PTX clz.b32 result).
inline int __clz(unsigned int x) { return x == 0 ? 32 : __builtin_clz(x); }

// Bit reversal of a 32-bit word (brev.b32).
inline unsigned int __brev(unsigned int x) {
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    x = ((x >> 8) & 0x00ff00ffu) | ((x & 0x00ff00ffu) << 8);
    return (x >> 16) | (x << 16);
}

inline unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }

// ---------------------------------------------------------------------------------------------------------------
// Host twins of field.cuh's PTX carry chains, with the same contracts (see the comments there). tests/ptx_twins.rs
// evaluates the asm strings of field.cuh with a PTX interpreter and compares them with these functions.
// ---------------------------------------------------------------------------------------------------------------

// r = a + b over 256 bits; the carry out of the top limb is dropped (addc.u32 without .cc).
inline void zkr_host_add8(unsigned int r[8], const unsigned int a[8], const unsigned int b[8]) {
    uint64_t carry = 0;
    for (int i = 0; i < 8; i++) {
        const uint64_t s = (uint64_t)a[i] + b[i] + carry;
        r[i] = (unsigned int)s;
        carry = s >> 32;
    }
}

// r = a - b over 256 bits; 0xffffffff when it borrowed, else 0 (subc.u32 of 0 - 0 - borrow).
inline unsigned int zkr_host_sub8(unsigned int r[8], const unsigned int a[8], const unsigned int b[8]) {
    uint64_t borrow = 0;
    for (int i = 0; i < 8; i++) {
        const uint64_t d = (uint64_t)a[i] - b[i] - borrow;
        r[i] = (unsigned int)d;
        borrow = (d >> 32) & 1u;
    }
    return borrow ? 0xffffffffu : 0u;
}

// t[0..9] += lo(a[j] * b) << 32j, the carry out of t[8] dropped.
inline void zkr_host_mad_lo_row(unsigned int t[9], const unsigned int a[8], unsigned int b) {
    uint64_t carry = 0;
    for (int j = 0; j < 8; j++) {
        const uint64_t s = (uint64_t)t[j] + (unsigned int)((uint64_t)a[j] * b) + carry;
        t[j] = (unsigned int)s;
        carry = s >> 32;
    }
    t[8] = (unsigned int)(t[8] + carry);
}

// t[1..9] += hi(a[j] * b) << 32(j+1), the carry out of t[8] dropped.
inline void zkr_host_mad_hi_row(unsigned int t[9], const unsigned int a[8], unsigned int b) {
    uint64_t carry = 0;
    for (int j = 0; j < 8; j++) {
        const uint64_t s = (uint64_t)t[j + 1] + (unsigned int)(((uint64_t)a[j] * b) >> 32) + carry;
        t[j + 1] = (unsigned int)s;
        carry = s >> 32;
    }
}
