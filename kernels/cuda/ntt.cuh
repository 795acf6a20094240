// Radix-2 number-theoretic transforms over Fr, natural order in and out, many columns per launch.
//
// A transform of size N = 2^log_n is: bit-reversal permutation, then log_n decimation-in-time stages. Stage s
// combines pairs (u, v) at distance 2^s: (u + w v, u - w v) with w = omega^(j N / 2^(s+1)), j the position of u in
// its half-block (i mod 2^s). The inverse runs the same stages with omega^-1 and scales by N^-1; cosets scale by
// powers of the shift before (forward) or after (inverse) the transform (zkr_ntt_scale).
//
// Stages s .. s+t-1 only mix the t index bits [s, s+t) of i = hi 2^(s+t) + mid 2^s + lo, so for fixed (hi, lo) the
// 2^t elements form an independent group: zkr_ntt_pass loads whole groups into shared memory and runs t stages there
// (t <= 10, 1024 elements per block), one global round trip per pass instead of per stage.
//
// Every kernel takes columns stacked in one buffer (column y at y * N) and uses blockIdx.y as the column.
#pragma once
#include "field.cuh"

#define ZKR_NTT_TILE_LOG 10
#define ZKR_NTT_TILE (1u << ZKR_NTT_TILE_LOG)

// tw[e] = omega^e for e < half (= N/2). The inverse transform reads the same table (see twiddle()).
extern "C" __global__ void __launch_bounds__(256)
zkr_ntt_twiddles(Fr* tw, u32 half, Fr omega) {
    const u32 e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= half) return;
    tw[e] = omega.pow(e);
}

// omega^e, or omega^-e for the inverse: omega^-e = omega^(N - e) = -omega^(N/2 - e) since omega^(N/2) = -1.
ZKR_DEV Fr twiddle(const Fr* tw, u32 e, u32 half, u32 inverse) {
    if (!inverse || e == 0) return tw[e];
    return -tw[half - e];
}

// In-place bit-reversal permutation: thread i swaps with rev(i) when i < rev(i).
extern "C" __global__ void __launch_bounds__(256)
zkr_ntt_bit_reverse(Fr* data, u32 log_n) {
    const u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    const u32 n = 1u << log_n;
    if (i >= n) return;
    const u32 r = __brev(i) >> (32 - log_n);
    if (i >= r) return;
    Fr* col = data + ((u64)blockIdx.y << log_n);
    const Fr a = col[i];
    col[i] = col[r];
    col[r] = a;
}

// Global index of element `mid` of local group `gl` in block `block` of a pass over stages s .. s+t-1:
// group g = (hi, lo) sits at hi 2^(s+t) + mid 2^s + lo.
ZKR_DEV u32 ntt_index(u32 block, u32 groups_log, u32 s, u32 t, u32 gl, u32 mid) {
    const u32 g = (block << groups_log) | gl;
    return ((g >> s) << (s + t)) | (mid << s) | (g & ((1u << s) - 1u));
}

// Stages s .. s+t-1 of the transform. A block holds E = min(N, 1024) elements: E / 2^t groups of 2^t elements,
// stored in shared memory as [mid][group] so that neighbouring threads read neighbouring lo (coalesced for s > 0).
// blockDim.x = E / 2: one butterfly per thread per stage.
extern "C" __global__ void __launch_bounds__(ZKR_NTT_TILE / 2)
zkr_ntt_pass(Fr* data, const Fr* tw, u32 log_n, u32 s, u32 t, u32 inverse) {
    __shared__ Fr tile[ZKR_NTT_TILE];
    const u32 n = 1u << log_n, half = n >> 1;
    const u32 e_log = log_n < ZKR_NTT_TILE_LOG ? log_n : ZKR_NTT_TILE_LOG;
    const u32 elems = 1u << e_log;
    const u32 groups_log = e_log - t;  // groups per block = 2^groups_log
    const u32 group_mask = (1u << groups_log) - 1u;
    const u32 lo_mask = (1u << s) - 1u;
    Fr* col = data + ((u64)blockIdx.y << log_n);

    for (u32 idx = threadIdx.x; idx < elems; idx += blockDim.x) {
        const u32 gl = idx & group_mask, mid = idx >> groups_log;
        tile[idx] = col[ntt_index(blockIdx.x, groups_log, s, t, gl, mid)];
    }
    __syncthreads();

    for (u32 k = 0; k < t; k++) {
        // Butterfly b: group gl, and r-th butterfly of the group's stage k (half-blocks of h = 2^k in mid space).
        const u32 b = threadIdx.x;
        const u32 gl = b & group_mask, r = b >> groups_log;
        const u32 j = r & ((1u << k) - 1u);
        const u32 mu = ((r >> k) << (k + 1)) | j, mv = mu + (1u << k);
        // Position of u in its half-block in absolute terms: i mod 2^(s+k) = j 2^s + lo.
        const u32 g = (blockIdx.x << groups_log) | gl;
        const u32 pos = (j << s) | (g & lo_mask);
        const u32 e = pos << (log_n - (s + k) - 1);
        const Fr w = twiddle(tw, e, half, inverse);
        const Fr u = tile[(mu << groups_log) | gl];
        const Fr v = tile[(mv << groups_log) | gl] * w;
        tile[(mu << groups_log) | gl] = u + v;
        tile[(mv << groups_log) | gl] = u - v;
        __syncthreads();
    }

    for (u32 idx = threadIdx.x; idx < elems; idx += blockDim.x) {
        const u32 gl = idx & group_mask, mid = idx >> groups_log;
        col[ntt_index(blockIdx.x, groups_log, s, t, gl, mid)] = tile[idx];
    }
}

#define ZKR_NTT_SCALE_CHUNK 16

// data[i] *= c * g^i. Each thread takes ZKR_NTT_SCALE_CHUNK consecutive i: one exponentiation, then a running
// product.
extern "C" __global__ void __launch_bounds__(256)
zkr_ntt_scale(Fr* data, u32 log_n, Fr c, Fr g) {
    const u32 n = 1u << log_n;
    const u32 start = (blockIdx.x * blockDim.x + threadIdx.x) * ZKR_NTT_SCALE_CHUNK;
    if (start >= n) return;
    Fr* col = data + ((u64)blockIdx.y << log_n);
    Fr x = c * g.pow(start);
    const u32 end = min(start + ZKR_NTT_SCALE_CHUNK, n);
    for (u32 i = start; i < end; i++) {
        col[i] = col[i] * x;
        x = x * g;
    }
}
