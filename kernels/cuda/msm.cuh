// Multi-scalar multiplication on BN254 G1: sum_i s_i * P_i by Pippenger's bucket method.
//
// With window c, each scalar is cut into W = ceil(256/c) + 1 signed digits d_w in (-2^(c-1), 2^(c-1)], so that
// s = sum_w d_w 2^(cw). For window w, bucket k (k = 1 .. 2^(c-1)) holds the sum of the points whose digit has
// magnitude k, negated when the digit is negative; the window sum is sum_k k * B_k and the result is
// sum_w 2^(cw) * window_w. The host (src/gpu/plan.rs) picks c and the launch shapes and drives these steps:
//
//   zkr_msm_digits          scalars -> one key per (window, scalar): global bucket id and sign; counts per bucket
//   zkr_scan_* (x2)         exclusive prefix sums: bucket offsets
//   zkr_msm_scatter         counting sort: point references grouped by bucket
//   zkr_msm_task_count      each bucket is cut into segments of at most `seg` points (oversized buckets are
//   zkr_scan_* (x2)         spread over many threads); prefix sums give each segment a task id
//   zkr_msm_accumulate      one thread per segment: XYZZ sum of its affine points
//   zkr_msm_task_count,     while some bucket has many segment sums (one bucket holding most points: a column of
//   zkr_scan_* (x2),        ones or of one constant), they are summed in segments again, level by level, so no
//   zkr_msm_reduce_segments thread sums more than ZKR_REDUCE_SEGMENT of them
//   zkr_msm_bucket_sum      one thread per bucket: sum of its remaining partial sums
//   zkr_msm_window_chunks   each window's buckets in chunks: sum_k k * B_k over the chunk, in parallel
//   zkr_msm_window_sum      one block per window: tree sum of its chunks, to Jacobian
//   zkr_msm_combine         one thread: Horner over the windows with Jacobian doublings
#pragma once
#include "curve.cuh"

#define ZKR_NO_KEY 0xffffffffu
#define ZKR_SCAN_BLOCK 1024

// ---------------------------------------------------------------------------------------------------------------
// Exclusive prefix sum of u32 over any length, in two kernels per level (the host recurses on the block sums).
// ---------------------------------------------------------------------------------------------------------------

// Each block scans ZKR_SCAN_BLOCK values (one per thread) and writes its total to block_sums[blockIdx.x].
extern "C" __global__ void __launch_bounds__(ZKR_SCAN_BLOCK)
zkr_scan_blocks(const u32* in, u32* out, u32 n, u32* block_sums) {
    __shared__ u32 warp_totals[32];
    const u32 i = blockIdx.x * ZKR_SCAN_BLOCK + threadIdx.x;
    const u32 lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const u32 x = i < n ? in[i] : 0;
    // Inclusive scan within the warp.
    u32 s = x;
#pragma unroll
    for (u32 d = 1; d < 32; d <<= 1) {
        const u32 y = __shfl_up_sync(0xffffffffu, s, d);
        if (lane >= d) s += y;
    }
    if (lane == 31) warp_totals[warp] = s;
    __syncthreads();
    // The first warp scans the 32 warp totals.
    if (warp == 0) {
        u32 t = warp_totals[lane];
#pragma unroll
        for (u32 d = 1; d < 32; d <<= 1) {
            const u32 y = __shfl_up_sync(0xffffffffu, t, d);
            if (lane >= d) t += y;
        }
        warp_totals[lane] = t;  // inclusive
    }
    __syncthreads();
    const u32 before = warp == 0 ? 0 : warp_totals[warp - 1];
    if (i < n) out[i] = before + s - x;
    if (threadIdx.x == ZKR_SCAN_BLOCK - 1) block_sums[blockIdx.x] = warp_totals[31];
}

// Adds each block's offset (the exclusive scan of the block sums) to its values.
extern "C" __global__ void __launch_bounds__(ZKR_SCAN_BLOCK)
zkr_scan_add(u32* data, u32 n, const u32* block_offsets) {
    const u32 i = blockIdx.x * ZKR_SCAN_BLOCK + threadIdx.x;
    if (i < n) data[i] += block_offsets[blockIdx.x];
}

// ---------------------------------------------------------------------------------------------------------------
// Digits and the counting sort
// ---------------------------------------------------------------------------------------------------------------

// Bits [off, off + c) of a 256-bit integer (c <= 31; bits past 255 read as zero).
ZKR_DEV u32 scalar_bits(const u32 s[8], u32 off, u32 c) {
    const u32 limb = off >> 5, sh = off & 31;
    u64 pair = limb_at(s, limb);
    if (limb + 1 < 8) pair |= (u64)limb_at(s, limb + 1) << 32;
    return (u32)(pair >> sh) & ((1u << c) - 1u);
}

// One thread per scalar. keys[w * n + i] = (global bucket << 1) | negative, or ZKR_NO_KEY for a zero digit, where
// global bucket = w * 2^(c-1) + |d| - 1; bucket_counts (zeroed by the host) receives the size of every bucket.
extern "C" __global__ void __launch_bounds__(256)
zkr_msm_digits(const Fr* scalars, u32 n, u32 c, u32 num_windows, u32* keys, u32* bucket_counts) {
    const u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const Fr s = scalars[i].from_montgomery();
    const u32 half = 1u << (c - 1), buckets = half;
    u32 carry = 0;
    for (u32 w = 0; w < num_windows; w++) {
        // Signed digit: d = bits + carry in [0, 2^c]; above 2^(c-1) borrow 2^c from the next window.
        u32 d = scalar_bits(s.v, w * c, c) + carry;
        carry = d > half ? 1u : 0u;
        u32 key = ZKR_NO_KEY;
        if (d != 0 && d != (1u << c)) {
            const bool neg = d > half;
            const u32 mag = neg ? (1u << c) - d : d;
            const u32 bucket = w * buckets + mag - 1;
            key = (bucket << 1) | (neg ? 1u : 0u);
            atomicAdd(&bucket_counts[bucket], 1u);
        }
        keys[(u64)w * n + i] = key;
    }
}

// Counting sort, second half: cursor starts as a copy of the bucket offsets; each key claims the next slot of its
// bucket. The order inside a bucket is whatever the atomics give: the bucket sum does not depend on it.
// sorted[slot] = (point index << 1) | negative.
extern "C" __global__ void __launch_bounds__(256)
zkr_msm_scatter(const u32* keys, u32 n, u32 total, u32* cursor, u32* sorted) {
    const u32 k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= total) return;
    const u32 key = keys[k];
    if (key == ZKR_NO_KEY) return;
    const u32 slot = atomicAdd(&cursor[key >> 1], 1u);
    sorted[slot] = ((k % n) << 1) | (key & 1u);
}

// ---------------------------------------------------------------------------------------------------------------
// Bucket accumulation
// ---------------------------------------------------------------------------------------------------------------

// task_counts[b] = number of segments of at most `seg` points in bucket b.
extern "C" __global__ void __launch_bounds__(256)
zkr_msm_task_count(const u32* offsets, u32 num_buckets, u32 seg, u32* task_counts) {
    const u32 b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= num_buckets) return;
    const u32 len = offsets[b + 1] - offsets[b];
    task_counts[b] = (len + seg - 1) / seg;
}

// The bucket owning task t: the last b with task_offsets[b] <= t (empty buckets share their successor's offset,
// so the last one is the bucket whose range [task_offsets[b], task_offsets[b + 1]) contains t).
ZKR_DEV u32 owning_bucket(const u32* task_offsets, u32 num_buckets, u32 t) {
    u32 lo = 0, hi = num_buckets;  // answer in [lo, hi)
    while (hi - lo > 1) {
        const u32 mid = (lo + hi) >> 1;
        if (task_offsets[mid] <= t) lo = mid; else hi = mid;
    }
    return lo;
}

// One thread per segment: the XYZZ sum of up to `seg` affine points of one bucket, negated per the sign bit.
extern "C" __global__ void __launch_bounds__(128)
zkr_msm_accumulate(const Affine* bases, const u32* sorted, const u32* offsets, const u32* task_offsets,
                   u32 num_buckets, u32 num_tasks, u32 seg, Xyzz* task_sums) {
    const u32 t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= num_tasks) return;
    const u32 b = owning_bucket(task_offsets, num_buckets, t);
    const u32 start = offsets[b] + (t - task_offsets[b]) * seg;
    const u32 end = min(start + seg, offsets[b + 1]);
    Xyzz acc = Xyzz::identity();
    for (u32 k = start; k < end; k++) {
        const u32 ref = sorted[k];
        Affine p = bases[ref >> 1];
        if (ref & 1u) p.y = -p.y;  // -(0, 0) stays (0, 0): the identity
        acc = xyzz_add_affine(acc, p);
    }
    task_sums[t] = acc;
}

// One thread per output: the sum of up to `seg` consecutive partial sums of one bucket. Bucket b's inputs are
// in[in_offsets[b] .. in_offsets[b + 1]]; its outputs start at out_offsets[b] (the exclusive scan of
// ceil(count / seg), from zkr_msm_task_count), so every output has at least one input.
extern "C" __global__ void __launch_bounds__(128)
zkr_msm_reduce_segments(const Xyzz* in, const u32* in_offsets, const u32* out_offsets, u32 num_buckets, u32 num_out,
                        u32 seg, Xyzz* out) {
    const u32 t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= num_out) return;
    const u32 b = owning_bucket(out_offsets, num_buckets, t);
    const u32 start = in_offsets[b] + (t - out_offsets[b]) * seg;
    const u32 end = min(start + seg, in_offsets[b + 1]);
    Xyzz acc = in[start];
    for (u32 k = start + 1; k < end; k++) acc = xyzz_add(acc, in[k]);
    out[t] = acc;
}

// One thread per bucket: the sum of its segments' partial sums.
extern "C" __global__ void __launch_bounds__(128)
zkr_msm_bucket_sum(const Xyzz* task_sums, const u32* task_offsets, u32 num_buckets, Xyzz* buckets) {
    const u32 b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= num_buckets) return;
    const u32 first = task_offsets[b], last = task_offsets[b + 1];
    Xyzz acc = Xyzz::identity();
    if (first < last) acc = task_sums[first];
    for (u32 t = first + 1; t < last; t++) acc = xyzz_add(acc, task_sums[t]);
    buckets[b] = acc;
}

// ---------------------------------------------------------------------------------------------------------------
// Bucket reduction and window combination
// ---------------------------------------------------------------------------------------------------------------

// Thread (w, j) owns buckets [lo, lo + L) of window w, lo = j L, L = 2^(log_buckets - log_chunks). Walking the
// chunk from the top with a running sum R and a total T gives T = sum_m (m + 1) B_{lo+m} and R = sum_m B_{lo+m};
// bucket index lo + m stands for magnitude lo + m + 1, so the chunk's share of sum_k k B_k is T + lo R.
extern "C" __global__ void __launch_bounds__(128)
zkr_msm_window_chunks(const Xyzz* buckets, u32 num_windows, u32 log_buckets, u32 log_chunks, Xyzz* chunk_sums) {
    const u32 g = blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= (num_windows << log_chunks)) return;
    const u32 w = g >> log_chunks, j = g & ((1u << log_chunks) - 1u);
    const u32 len = 1u << (log_buckets - log_chunks);
    const u32 lo = j * len;
    const Xyzz* chunk = buckets + ((u64)w << log_buckets) + lo;
    Xyzz running = Xyzz::identity(), total = Xyzz::identity();
    for (int m = (int)len - 1; m >= 0; m--) {
        running = xyzz_add(running, chunk[m]);
        total = xyzz_add(total, running);
    }
    chunk_sums[g] = xyzz_add(total, xyzz_mul_u32(running, lo));
}

#define ZKR_WINDOW_SUM_THREADS 128

// One block per window: the sum of its 2^log_chunks chunk sums (strided per thread, then a tree in shared
// memory), written as Jacobian.
extern "C" __global__ void __launch_bounds__(ZKR_WINDOW_SUM_THREADS)
zkr_msm_window_sum(const Xyzz* chunk_sums, u32 log_chunks, Jacobian* window_sums) {
    __shared__ Xyzz partial[ZKR_WINDOW_SUM_THREADS];
    const u32 w = blockIdx.x, chunks = 1u << log_chunks;
    const Xyzz* mine = chunk_sums + ((u64)w << log_chunks);
    Xyzz acc = Xyzz::identity();
    for (u32 j = threadIdx.x; j < chunks; j += ZKR_WINDOW_SUM_THREADS) acc = xyzz_add(acc, mine[j]);
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (u32 stride = ZKR_WINDOW_SUM_THREADS / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) partial[threadIdx.x] = xyzz_add(partial[threadIdx.x], partial[threadIdx.x + stride]);
        __syncthreads();
    }
    if (threadIdx.x == 0) window_sums[w] = jacobian_from_xyzz(partial[0]);
}

// One thread: result = sum_w 2^(cw) window_w by Horner from the top window, c Jacobian doublings per step.
extern "C" __global__ void __launch_bounds__(32)
zkr_msm_combine(const Jacobian* window_sums, u32 num_windows, u32 c, Jacobian* out) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    Jacobian acc = window_sums[num_windows - 1];
    for (int w = (int)num_windows - 2; w >= 0; w--) {
        for (u32 k = 0; k < c; k++) acc = jacobian_dbl(acc);
        acc = jacobian_add(acc, window_sums[w]);
    }
    out[0] = acc;
}
