//! BN254 G1 multi-scalar multiplication: Pippenger's bucket method with signed digits and batch-affine bucket
//! accumulation.
//!
//! For a window of `c` bits every scalar contributes one signed digit `d` in `(-2^(c-1), 2^(c-1)]`, so a window
//! has `2^(c-1)` buckets and a negative digit adds the negated point (negating an affine point is free). Per window:
//!
//! ```text
//!  points in order ──▶ bucket += ±point, scheduled into a batch of additions to distinct buckets;
//!        │             a full batch is applied in affine coordinates with one shared inversion (Montgomery's
//!        │             trick); a point whose bucket is already in the batch waits in a queue for the next one
//!        ▼
//!  bucket reduction  S_w = Σ_b (b + 1)·B_b: running sums over segments of buckets, the segments in lockstep so
//!                    that their additions share inversions too
//! ```
//!
//! and the windows are combined as `Σ_w 2^(c·w)·S_w`. Windows are independent and run in parallel on rayon.
//! An affine addition with a shared inversion costs about 5 multiplications and 1 squaring, against 11
//! multiplications for a mixed projective addition; doublings (`P + P`) and cancellations (`P + (-P)`) are
//! detected and handled, and a bucket hit far more often than the others (many equal scalars) overflows into a
//! projective accumulator instead of serialising the batches. Below [`BATCH_AFFINE_MIN_POINTS`] points the shared
//! inversion does not pay for itself and the buckets are projective.

use ff::{Field, PrimeField};
use group::Group;
use halo2curves::bn256::{Fq, Fr, G1, G1Affine};
use rayon::prelude::*;

/// Bits of the scalar field modulus: every canonical scalar is below `2^254`.
const SCALAR_BITS: usize = Fr::NUM_BITS as usize;

/// The largest window [`signed_digits`] accepts: its digits must fit an `i32`.
pub const MAX_WINDOW_BITS: usize = 31;

/// The largest window [`window_bits`] picks: `2^(c-1)` affine buckets of 64 bytes per window in flight, 8 MiB at
/// 18 bits.
const MAX_CHOSEN_WINDOW_BITS: usize = 18;

/// Below this many points the bucket sums are accumulated with projective (mixed) additions: the field inversion
/// that a batch-affine round shares between its additions costs more than it saves.
pub const BATCH_AFFINE_MIN_POINTS: usize = 64;

/// Inputs larger than this are split in halves, which bounds the digit matrix (4 bytes per point and window) to
/// about 1 GiB.
const MAX_POINTS_PER_CALL: usize = 1 << 24;

/// Scalars per parallel task when recoding all scalars into signed digits.
const DIGIT_CHUNK: usize = 1 << 12;

/// Computes the multi-scalar multiplication `Σ scalars[i]·bases[i]`.
///
/// Works for any length, including zero (the identity) and one; identity points among `bases` contribute nothing.
/// The result equals that of `halo2curves::msm::msm_best` on the same inputs.
///
/// # Panics
///
/// If `scalars` and `bases` have different lengths.
pub fn msm(scalars: &[Fr], bases: &[G1Affine]) -> G1 {
    assert_eq!(scalars.len(), bases.len(), "msm: {} scalars but {} bases", scalars.len(), bases.len());
    let n = scalars.len();
    if n == 0 {
        return G1::identity();
    }
    if n > MAX_POINTS_PER_CALL {
        let mid = n / 2;
        let (lo, hi) = rayon::join(|| msm(&scalars[..mid], &bases[..mid]), || msm(&scalars[mid..], &bases[mid..]));
        return lo + hi;
    }
    let c = window_bits(n);
    if n < BATCH_AFFINE_MIN_POINTS { msm_projective(scalars, bases, c) } else { msm_batch_affine(scalars, bases, c) }
}

/// Returns the Pippenger window, in bits, used for `n` points.
///
/// The choice minimises a cost model, in field multiplications, of
/// `windows(c) · (n · add_cost + 2^(c-1) · reduction_cost)`: the bucket accumulation costs one addition per point
/// and window (about 7 multiplications batch-affine, 11 projective) and the bucket reduction two additions per
/// bucket and window (batch-affine too from [`BATCH_AFFINE_MIN_POINTS`] points on). The weights were fitted to
/// timings of 2^12 to 2^20 points. The result is in `1..=18`; the GPU kernels use the same function so that their
/// digits and buckets match the CPU twin's.
pub fn window_bits(n: usize) -> usize {
    // Weights in tenths of a field multiplication.
    let (add_cost, reduction_cost): (u128, u128) = if n < BATCH_AFFINE_MIN_POINTS { (110, 230) } else { (70, 140) };
    let n = n.max(1) as u128;
    let mut best = (u128::MAX, 1);
    for c in 1..=MAX_CHOSEN_WINDOW_BITS {
        let cost = num_windows(c) as u128 * (n * add_cost + (1u128 << (c - 1)) * reduction_cost);
        if cost < best.0 {
            best = (cost, c);
        }
    }
    best.1
}

/// Writes the signed-digit decomposition of `scalar` for windows of `c` bits into `out` (cleared first).
///
/// The canonical little-endian integer of `scalar` (as [`PrimeField::to_repr`] returns it) is cut into `c`-bit
/// windows, least significant first; a window value above `2^(c-1)` becomes `value - 2^c` and carries one into the
/// next window. The result has `ceil(256 / c) + 1` digits, each in `(-2^(c-1), 2^(c-1)]`, and
/// `scalar = Σ_i out[i]·2^(c·i)`. Digits past the first [`num_windows`]`(c)` are always zero for canonical scalars.
///
/// # Panics
///
/// If `c` is zero or larger than [`MAX_WINDOW_BITS`].
pub fn signed_digits(scalar: &Fr, c: usize, out: &mut Vec<i32>) {
    assert!((1..=MAX_WINDOW_BITS).contains(&c), "signed_digits: window of {c} bits is outside 1..=31");
    let limbs = scalar_limbs(scalar);
    let count = 256usize.div_ceil(c) + 1;
    out.clear();
    out.reserve(count);
    recode(&limbs, c, count, |_, digit| out.push(digit));
}

/// Returns how many signed digits of `c` bits can be non-zero for a canonical scalar (below `2^254`).
///
/// The top window holds `t = 254 - c·(q - 1)` bits with `q = ceil(254 / c)`; it can only carry into one more
/// window when `t = c`.
///
/// # Panics
///
/// If `c` is zero.
pub fn num_windows(c: usize) -> usize {
    assert!(c > 0, "num_windows: zero-bit window");
    let q = SCALAR_BITS.div_ceil(c);
    let top = SCALAR_BITS - c * (q - 1);
    if top < c { q } else { q + 1 }
}

/// The canonical integer of `scalar` as four little-endian 64-bit limbs.
fn scalar_limbs(scalar: &Fr) -> [u64; 4] {
    let repr = scalar.to_repr();
    let mut limbs = [0u64; 4];
    for (limb, bytes) in limbs.iter_mut().zip(repr.as_ref().chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        *limb = u64::from_le_bytes(word);
    }
    limbs
}

/// Bits `bit..bit + c` of the 256-bit integer `limbs` (`c <= 31`), zero past the end.
#[inline(always)]
fn raw_window(limbs: &[u64; 4], bit: usize, c: usize) -> u64 {
    let limb = bit / 64;
    if limb >= 4 {
        return 0;
    }
    let offset = bit % 64;
    let mut value = limbs[limb] >> offset;
    if offset + c > 64 && limb + 1 < 4 {
        value |= limbs[limb + 1] << (64 - offset);
    }
    value & ((1u64 << c) - 1)
}

/// Calls `emit(window, digit)` for the first `count` signed digits of `limbs`.
#[inline(always)]
fn recode(limbs: &[u64; 4], c: usize, count: usize, mut emit: impl FnMut(usize, i32)) {
    let half = 1u64 << (c - 1);
    let mut carry = 0u64;
    for window in 0..count {
        let value = raw_window(limbs, window * c, c) + carry;
        // `value <= 2^c` and `c <= 31`, so both branches fit an i32.
        if value > half {
            emit(window, (value as i64 - (1i64 << c)) as i32);
            carry = 1;
        } else {
            emit(window, value as i32);
            carry = 0;
        }
    }
}

/// Horner's rule over the window sums: `Σ_w 2^(c·w)·sums[w]`.
fn combine_windows(sums: &[G1], c: usize) -> G1 {
    let mut acc = G1::identity();
    for sum in sums.iter().rev() {
        for _ in 0..c {
            acc = acc.double();
        }
        acc += sum;
    }
    acc
}

/// Pippenger with projective buckets, single-threaded: for inputs too small to share inversions or threads.
fn msm_projective(scalars: &[Fr], bases: &[G1Affine], c: usize) -> G1 {
    let windows = num_windows(c);
    let mut digits = vec![0i32; scalars.len() * windows];
    for (scalar, row) in scalars.iter().zip(digits.chunks_exact_mut(windows)) {
        recode(&scalar_limbs(scalar), c, windows, |w, digit| row[w] = digit);
    }
    let mut buckets = vec![G1::identity(); 1 << (c - 1)];
    let sums: Vec<G1> = (0..windows)
        .map(|w| {
            buckets.fill(G1::identity());
            for (row, base) in digits.chunks_exact(windows).zip(bases) {
                let digit = row[w];
                if digit > 0 {
                    buckets[digit.unsigned_abs() as usize - 1] += base;
                } else if digit < 0 {
                    buckets[digit.unsigned_abs() as usize - 1] -= base;
                }
            }
            let mut running = G1::identity();
            let mut sum = G1::identity();
            for bucket in buckets.iter().rev() {
                running += bucket;
                sum += running;
            }
            sum
        })
        .collect();
    combine_windows(&sums, c)
}

/// Pippenger with batch-affine bucket accumulation, parallel over windows.
fn msm_batch_affine(scalars: &[Fr], bases: &[G1Affine], c: usize) -> G1 {
    let windows = num_windows(c);
    let digits = digit_matrix(scalars, bases, c, windows);
    let sums: Vec<G1> = digits
        .par_chunks_exact(scalars.len())
        .map_init(Window::default, |window, row| window_sum(row, bases, c, window))
        .collect();
    combine_windows(&sums, c)
}

/// Signed digits of every scalar, window-major (`windows` rows of `n` digits); zero for identity bases, which
/// then never reach a bucket.
fn digit_matrix(scalars: &[Fr], bases: &[G1Affine], c: usize, windows: usize) -> Vec<i32> {
    let n = scalars.len();
    let mut digits = vec![0i32; n * windows];
    // Hand every task the `windows` row segments of its chunk of scalars, so that tasks write disjoint memory.
    let mut tasks: Vec<Vec<&mut [i32]>> = (0..n.div_ceil(DIGIT_CHUNK)).map(|_| Vec::with_capacity(windows)).collect();
    for row in digits.chunks_exact_mut(n) {
        for (task, segment) in tasks.iter_mut().zip(row.chunks_mut(DIGIT_CHUNK)) {
            task.push(segment);
        }
    }
    tasks.into_par_iter().enumerate().for_each(|(chunk, mut rows)| {
        let start = chunk * DIGIT_CHUNK;
        let len = rows.first().map_or(0, |row| row.len());
        for j in 0..len {
            if bool::from(group::prime::PrimeCurveAffine::is_identity(&bases[start + j])) {
                continue;
            }
            recode(&scalar_limbs(&scalars[start + j]), c, windows, |w, digit| rows[w][j] = digit);
        }
    });
    digits
}

/// The identity as stored in affine buckets, `(0, 0)` (not on the curve; `halo2curves` represents it the same way).
const IDENTITY: G1Affine = G1Affine { x: Fq::ZERO, y: Fq::ZERO };

/// Whether an affine point is the identity: no curve point has `y = 0`, as BN254 G1 has odd prime order.
#[inline(always)]
fn is_identity(p: &G1Affine) -> bool {
    // `Fq`'s derived `PartialEq`: a plain limb comparison, where `is_zero` is constant time (and much slower).
    p.y == Fq::ZERO
}

/// How `bucket + point` is computed; both are known not to be the identity.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AddKind {
    /// `x_bucket != x_point`: chord, denominator `x_point - x_bucket`.
    Chord,
    /// `bucket == point`: tangent, denominator `2·y_bucket` (non-zero, see [`is_identity`]).
    Tangent,
    /// `bucket == -point`: the result is the identity.
    Cancel,
}

#[inline(always)]
fn classify(bucket: &G1Affine, point: &G1Affine) -> AddKind {
    if bucket.x != point.x {
        AddKind::Chord
    } else if bucket.y == point.y {
        AddKind::Tangent
    } else {
        AddKind::Cancel
    }
}

/// The slope denominator of a `Chord` or `Tangent` addition.
#[inline(always)]
fn denominator(kind: AddKind, bucket: &G1Affine, point: &G1Affine) -> Fq {
    if kind == AddKind::Tangent { bucket.y.double() } else { point.x - bucket.x }
}

/// `bucket + point` given `inv = 1 / denominator(kind, bucket, point)`.
#[inline(always)]
fn add_with_inverse(kind: AddKind, bucket: &G1Affine, point: &G1Affine, inv: &Fq) -> G1Affine {
    let lambda = if kind == AddKind::Tangent {
        let xx = bucket.x.square();
        (xx.double() + xx) * inv
    } else {
        (point.y - bucket.y) * inv
    };
    let x = lambda.square() - bucket.x - point.x;
    let y = lambda * (bucket.x - x) - bucket.y;
    G1Affine { x, y }
}

/// A scheduled `buckets[bucket] += point`.
#[derive(Clone, Copy)]
struct Pending {
    bucket: u32,
    kind: AddKind,
    point: G1Affine,
}

/// One window's buckets and the batch of affine additions being collected for them. A rayon worker reuses it from
/// one window to the next, so that only its first window pays for allocation and page faults.
#[derive(Default)]
struct Window {
    /// Affine bucket sums, [`IDENTITY`] when empty.
    buckets: Vec<G1Affine>,
    /// Whether a bucket is the target of an addition in `batch`.
    busy: Vec<bool>,
    /// Additions sharing the next inversion, at most one per bucket.
    batch: Vec<Pending>,
    /// Additions whose bucket was busy, retried after the batch is applied.
    queue: Vec<(u32, G1Affine)>,
    /// Projective overflow per bucket for additions the queue had no room for (many points in one bucket).
    spill: Vec<G1>,
    /// Buckets with a non-identity `spill`.
    spilled: Vec<u32>,
    /// Prefix products of the slope denominators (Montgomery's batch inversion).
    prefix: Vec<Fq>,
    /// Addition kinds of a [`batch_add_assign`].
    kinds: Vec<u8>,
    /// Batch size: the inversion is shared by this many additions.
    capacity: usize,
}

impl std::fmt::Debug for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Window").field("buckets", &self.buckets.len()).finish_non_exhaustive()
    }
}

impl Window {
    /// Empties the buckets for a window with `count` of them.
    fn reset(&mut self, count: usize) {
        self.buckets.clear();
        self.buckets.resize(count, IDENTITY);
        self.busy.clear();
        self.busy.resize(count, false);
        self.batch.clear();
        self.queue.clear();
        self.spilled.clear();
        // A quarter of the buckets: a point then finds its bucket busy with probability below 1/4, and
        // the inversion (about 100 multiplications) is spread over at least 32 additions.
        self.capacity = (count / 4).clamp(32, 1024);
    }

    /// `buckets[bucket] += point` for a non-identity `point`, eventually.
    #[inline(always)]
    fn add(&mut self, bucket: u32, point: G1Affine) {
        self.place(bucket, point);
        while self.batch.len() >= self.capacity {
            self.apply();
            self.retry_queue();
        }
    }

    /// Schedules an addition without applying the batch.
    #[inline(always)]
    fn place(&mut self, bucket: u32, point: G1Affine) {
        let b = bucket as usize;
        if self.busy[b] {
            if self.queue.len() < self.capacity {
                self.queue.push((bucket, point));
            } else {
                self.spill_add(bucket, &point);
            }
        } else if is_identity(&self.buckets[b]) {
            self.buckets[b] = point;
        } else {
            self.busy[b] = true;
            self.batch.push(Pending { bucket, kind: AddKind::Chord, point });
        }
    }

    fn spill_add(&mut self, bucket: u32, point: &G1Affine) {
        if self.spill.len() != self.buckets.len() {
            self.spill.clear();
            self.spill.resize(self.buckets.len(), G1::identity());
        }
        let slot = &mut self.spill[bucket as usize];
        if bool::from(slot.is_identity()) {
            self.spilled.push(bucket);
        }
        *slot += point;
    }

    fn retry_queue(&mut self) {
        let mut queue = std::mem::take(&mut self.queue);
        for (bucket, point) in queue.drain(..) {
            self.place(bucket, point);
        }
        // Keep whichever allocation is larger.
        if queue.capacity() > self.queue.capacity() {
            queue.append(&mut self.queue);
            self.queue = queue;
        }
    }

    /// Applies the batch with one shared inversion and frees its buckets.
    fn apply(&mut self) {
        let buckets = &mut self.buckets;
        self.prefix.clear();
        let mut acc = Fq::ONE;
        for op in self.batch.iter_mut() {
            let bucket = &buckets[op.bucket as usize];
            op.kind = classify(bucket, &op.point);
            if op.kind != AddKind::Cancel {
                self.prefix.push(acc);
                acc *= denominator(op.kind, bucket, &op.point);
            }
        }
        let mut inv = if self.prefix.is_empty() {
            Fq::ONE
        } else {
            let Some(inv) = Option::<Fq>::from(acc.invert()) else {
                unreachable!("every slope denominator is non-zero by construction")
            };
            inv
        };
        let mut slot = self.prefix.len();
        for op in self.batch.iter().rev() {
            let b = op.bucket as usize;
            let bucket = buckets[b];
            buckets[b] = if op.kind == AddKind::Cancel {
                IDENTITY
            } else {
                slot -= 1;
                let op_inv = inv * self.prefix[slot];
                inv *= denominator(op.kind, &bucket, &op.point);
                add_with_inverse(op.kind, &bucket, &op.point, &op_inv)
            };
            self.busy[b] = false;
        }
        self.batch.clear();
    }

    /// Applies everything outstanding and folds the spill back into the affine buckets.
    fn finish(&mut self) {
        self.apply();
        // Whatever is still queued waits on nothing now but would need batches of one per bucket: spill it.
        let queue = std::mem::take(&mut self.queue);
        for &(bucket, point) in &queue {
            if is_identity(&self.buckets[bucket as usize]) {
                self.buckets[bucket as usize] = point;
            } else {
                self.spill_add(bucket, &point);
            }
        }
        self.queue = queue;
        self.queue.clear();
        if self.spilled.is_empty() {
            return;
        }
        let sums: Vec<G1> = self.spilled.iter().map(|&b| self.spill[b as usize] + self.buckets[b as usize]).collect();
        let mut affine = vec![IDENTITY; sums.len()];
        group::Curve::batch_normalize(&sums[..], &mut affine);
        for (&b, point) in self.spilled.iter().zip(affine) {
            self.buckets[b as usize] = point;
            self.spill[b as usize] = G1::identity();
        }
        self.spilled.clear();
    }

    /// `Σ_b (b + 1)·buckets[b]`.
    ///
    /// The buckets are cut into `K` segments of `L` consecutive buckets, `K ≈ sqrt(5.6·buckets)`. Every segment
    /// runs the usual running sums from its top bucket down (`R += B_b; S += R`) in affine coordinates, the `K`
    /// segments in lockstep so that each step's `K` additions share one inversion. Then
    /// `Σ_b (b + 1)·B_b = Σ_s S_s + L·Σ_s s·R_s`, the last sums in projective coordinates.
    fn weighted_sum(&mut self) -> G1 {
        let count = self.buckets.len();
        let log = count.trailing_zeros();
        let segments = (1usize << (log + 3).div_ceil(2)).min(count);
        let len = count / segments;
        let mut running = vec![IDENTITY; segments];
        let mut partial = vec![IDENTITY; segments];
        let mut column = vec![IDENTITY; segments];
        for j in (0..len).rev() {
            for (slot, s) in column.iter_mut().zip(0..) {
                *slot = self.buckets[s * len + j];
            }
            batch_add_assign(&mut running, &column, &mut self.prefix, &mut self.kinds);
            batch_add_assign(&mut partial, &running, &mut self.prefix, &mut self.kinds);
        }
        let mut sum = G1::identity();
        let mut total = G1::identity();
        for s in (1..segments).rev() {
            if !is_identity(&running[s]) {
                sum += running[s];
            }
            total += sum;
        }
        for _ in 0..len.trailing_zeros() {
            total = total.double();
        }
        for p in partial.iter().filter(|p| !is_identity(p)) {
            total += p;
        }
        total
    }
}

/// How `target += addend` is computed when either may be the identity.
const KIND_CHORD: u8 = 0;
const KIND_TANGENT: u8 = 1;
const KIND_SKIP: u8 = 2;
const KIND_COPY: u8 = 3;
const KIND_CANCEL: u8 = 4;

/// `targets[i] += addends[i]` for all `i` with one shared inversion; any point may be the identity.
fn batch_add_assign(targets: &mut [G1Affine], addends: &[G1Affine], prefix: &mut Vec<Fq>, kinds: &mut Vec<u8>) {
    prefix.clear();
    kinds.clear();
    let mut acc = Fq::ONE;
    for (t, a) in targets.iter().zip(addends) {
        let kind = if is_identity(a) {
            KIND_SKIP
        } else if is_identity(t) {
            KIND_COPY
        } else {
            match classify(t, a) {
                AddKind::Chord => KIND_CHORD,
                AddKind::Tangent => KIND_TANGENT,
                AddKind::Cancel => KIND_CANCEL,
            }
        };
        if kind <= KIND_TANGENT {
            let kind = if kind == KIND_CHORD { AddKind::Chord } else { AddKind::Tangent };
            prefix.push(acc);
            acc *= denominator(kind, t, a);
        }
        kinds.push(kind);
    }
    let mut inv = if prefix.is_empty() {
        Fq::ONE
    } else {
        let Some(inv) = Option::<Fq>::from(acc.invert()) else {
            unreachable!("every slope denominator is non-zero by construction")
        };
        inv
    };
    let mut slot = prefix.len();
    for ((t, a), &kind) in targets.iter_mut().zip(addends).zip(kinds.iter()).rev() {
        match kind {
            KIND_SKIP => {}
            KIND_COPY => *t = *a,
            KIND_CANCEL => *t = IDENTITY,
            _ => {
                let kind = if kind == KIND_CHORD { AddKind::Chord } else { AddKind::Tangent };
                slot -= 1;
                let own = inv * prefix[slot];
                inv *= denominator(kind, t, a);
                *t = add_with_inverse(kind, t, a, &own);
            }
        }
    }
}

/// `Σ_b (b + 1)·B_b` for one window, where bucket `B_b` sums the points whose digit in this window is `±(b + 1)`.
fn window_sum(digits: &[i32], bases: &[G1Affine], c: usize, window: &mut Window) -> G1 {
    window.reset(1 << (c - 1));
    for (&digit, base) in digits.iter().zip(bases) {
        if digit != 0 {
            let point = if digit < 0 { G1Affine { x: base.x, y: -base.y } } else { *base };
            window.add(digit.unsigned_abs() - 1, point);
        }
    }
    window.finish();
    window.weighted_sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use group::{Curve, prime::PrimeCurveAffine};
    use rand::{Rng, SeedableRng, rngs::StdRng};

    fn naive(scalars: &[Fr], bases: &[G1Affine]) -> G1 {
        scalars.iter().zip(bases).fold(G1::identity(), |acc, (s, b)| acc + b * s)
    }

    fn random_points(n: usize, rng: &mut StdRng) -> Vec<G1Affine> {
        let mut p = G1::random(&mut *rng);
        let step = G1::random(&mut *rng);
        let points: Vec<G1> = (0..n)
            .map(|_| {
                p += step;
                p
            })
            .collect();
        let mut affine = vec![G1Affine::identity(); n];
        G1::batch_normalize(&points, &mut affine);
        affine
    }

    #[test]
    fn num_windows_covers_the_scalar() {
        for c in 1..=MAX_WINDOW_BITS {
            let w = num_windows(c);
            assert!(w * c >= SCALAR_BITS, "c = {c}");
            // r - 1 has bit 253 set: its digits past num_windows are zero.
            let mut digits = Vec::new();
            signed_digits(&(-Fr::ONE), c, &mut digits);
            assert!(digits[w..].iter().all(|&d| d == 0), "c = {c}");
        }
    }

    #[test]
    fn window_bits_is_monotone_and_bounded() {
        let mut last = 0;
        for log in 0..32 {
            let c = window_bits(1 << log);
            assert!((1..=MAX_CHOSEN_WINDOW_BITS).contains(&c));
            assert!(c >= last, "window shrank at 2^{log}");
            last = c;
        }
        assert!(window_bits(0) >= 1);
    }

    #[test]
    fn window_handles_doubling_cancellation_and_spill() {
        let mut rng = StdRng::seed_from_u64(7);
        let p = random_points(2, &mut rng);
        let neg = G1Affine { x: p[0].x, y: -p[0].y };
        let mut window = Window::default();
        window.reset(4);
        // Bucket 0: P, P, -P, P, P → 3P; bucket 1: P, -P → identity; bucket 3: 200·Q through the queue and spill.
        for (bucket, point) in [(0, p[0]), (0, p[0]), (1, p[0]), (0, neg), (1, neg), (0, p[0]), (0, p[0])] {
            window.add(bucket, point);
        }
        for _ in 0..200 {
            window.add(3, p[1]);
        }
        window.finish();
        assert_eq!(window.buckets[0], (p[0] * Fr::from(3)).to_affine());
        assert!(is_identity(&window.buckets[1]));
        assert!(is_identity(&window.buckets[2]));
        assert_eq!(window.buckets[3], (p[1] * Fr::from(200)).to_affine());
    }

    #[test]
    fn both_paths_match_naive() {
        let mut rng = StdRng::seed_from_u64(1);
        for n in [1usize, 2, 5, 63, 64, 65, 200] {
            let bases = random_points(n, &mut rng);
            let scalars: Vec<Fr> = (0..n).map(|_| Fr::random(&mut rng)).collect();
            let expected = naive(&scalars, &bases);
            assert_eq!(msm(&scalars, &bases), expected, "n = {n}");
            for c in [1usize, 4, 9] {
                assert_eq!(msm_projective(&scalars, &bases, c), expected, "projective n = {n} c = {c}");
                assert_eq!(msm_batch_affine(&scalars, &bases, c), expected, "batch-affine n = {n} c = {c}");
            }
        }
    }

    #[test]
    fn small_windows_with_dense_buckets() {
        let mut rng = StdRng::seed_from_u64(2);
        let n = 300;
        let bases = random_points(n, &mut rng);
        let scalars: Vec<Fr> = (0..n).map(|_| Fr::from(rng.gen_range(0u64..8))).collect();
        assert_eq!(msm_batch_affine(&scalars, &bases, 2), naive(&scalars, &bases));
    }
}
