//! BN254 `Fr` number-theoretic transforms over the power-of-two subgroups, natural order in and out.
//!
//! The transform is the radix-2 Cooley-Tukey network that maps natural order to bit-reversed order, with one
//! twiddle per butterfly block taken from a single table of `n/2` powers of ω stored in bit-reversed order
//! (level `m` uses the first `m` entries, contiguous), followed by a bit-reversal permutation:
//!
//! ```text
//!   levels with blocks larger than NTT_BLOCK      levels inside NTT_BLOCK-sized blocks (cache resident)
//!   one parallel pass over the array each    ──▶  one parallel pass, blocks spread over rayon    ──▶  bit reversal
//! ```
//!
//! The inverse reuses the forward network: `inverse(A)[i] = forward(A)[-i mod n] / n`.

use std::sync::OnceLock;

use ff::{Field, PrimeField};
use halo2curves::bn256::Fr;
use rayon::prelude::*;

/// The largest supported `log_n`: `Fr`'s two-adicity ([`PrimeField::S`]).
pub const MAX_LOG_N: u32 = Fr::S;

/// Elements per cache-resident block (2^12 elements of 32 bytes = 128 KiB, well inside a core's L2).
const NTT_BLOCK: usize = 1 << 12;

/// Smallest number of elements a rayon task handles in the element-wise passes.
const MIN_TASK: usize = 1 << 11;

/// Errors of the NTT domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NttError {
    /// The requested domain is larger than the largest power-of-two subgroup of `Fr`.
    #[error("NTT domain 2^{log_n} exceeds the largest power-of-two subgroup of Fr (2^{max})")]
    TooLarge {
        /// The requested `log2` of the size.
        log_n: u32,
        /// The largest supported `log2` of the size.
        max: u32,
    },
    /// A slice handed to a transform does not have the domain's size.
    #[error("NTT input has {actual} values but the domain has size {expected}")]
    LengthMismatch {
        /// The domain's size.
        expected: usize,
        /// The slice's length.
        actual: usize,
    },
    /// The coset shift of an inverse coset transform is zero, which has no inverse.
    #[error("the coset shift of an inverse coset NTT must be non-zero")]
    ZeroShift,
}

impl NttError {
    /// Whether the error comes from the caller's arguments rather than from the machine: true for every variant
    /// (the CPU transforms cannot fail otherwise), kept for parity with the GPU errors.
    pub const fn is_invalid_input(&self) -> bool {
        matches!(self, Self::TooLarge { .. } | Self::LengthMismatch { .. } | Self::ZeroShift)
    }
}

/// An evaluation domain `<ω>` of size `2^log_n` in `Fr`, with its twiddle table.
///
/// `ω` is the generator halo2 picks: [`PrimeField::ROOT_OF_UNITY`] squared `S - log_n` times, so transforms agree
/// with halo2's `EvaluationDomain`. The twiddle table (`n/2` elements, 32 bytes each) is built on the first
/// transform and kept; [`NttDomain::new`] itself is cheap.
#[derive(Clone)]
pub struct NttDomain {
    log_n: u32,
    omega: Fr,
    omega_inv: Fr,
    n_inv: Fr,
    /// `twiddles[i] = ω^bitrev(i)` over `log_n - 1` bits, for `i < n/2`.
    twiddles: OnceLock<Vec<Fr>>,
}

impl std::fmt::Debug for NttDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NttDomain")
            .field("log_n", &self.log_n)
            .field("omega", &self.omega)
            .field("twiddles_cached", &self.twiddles.get().is_some())
            .finish()
    }
}

impl NttDomain {
    /// Creates the domain of size `2^log_n`.
    ///
    /// # Errors
    ///
    /// [`NttError::TooLarge`] if `log_n` exceeds [`MAX_LOG_N`] (28).
    pub fn new(log_n: u32) -> Result<Self, NttError> {
        if log_n > MAX_LOG_N {
            return Err(NttError::TooLarge { log_n, max: MAX_LOG_N });
        }
        let mut omega = Fr::ROOT_OF_UNITY;
        let mut omega_inv = Fr::ROOT_OF_UNITY_INV;
        for _ in log_n..MAX_LOG_N {
            omega = omega.square();
            omega_inv = omega_inv.square();
        }
        // 1/2^log_n = (1/2)^log_n.
        let n_inv = Fr::TWO_INV.pow_vartime([u64::from(log_n)]);
        Ok(Self { log_n, omega, omega_inv, n_inv, twiddles: OnceLock::new() })
    }

    /// `log2` of the domain size.
    pub fn log_n(&self) -> u32 {
        self.log_n
    }

    /// The domain size `n = 2^log_n`.
    pub fn size(&self) -> usize {
        1 << self.log_n
    }

    /// The generator ω of the domain, a primitive `n`-th root of unity.
    pub fn omega(&self) -> Fr {
        self.omega
    }

    /// `ω^-1`.
    pub fn omega_inv(&self) -> Fr {
        self.omega_inv
    }

    /// Forward transform in place: `values[j] ← Σ_i values[i]·ω^(i·j)`, natural order in and out.
    ///
    /// # Errors
    ///
    /// [`NttError::LengthMismatch`] if `values.len()` is not [`NttDomain::size`]; `values` is then untouched.
    pub fn forward(&self, values: &mut [Fr]) -> Result<(), NttError> {
        self.check_len(values)?;
        self.forward_unchecked(values);
        Ok(())
    }

    /// Inverse transform in place, including the `1/n` scaling: `inverse(forward(a)) = a`.
    ///
    /// # Errors
    ///
    /// [`NttError::LengthMismatch`] if `values.len()` is not [`NttDomain::size`]; `values` is then untouched.
    pub fn inverse(&self, values: &mut [Fr]) -> Result<(), NttError> {
        self.check_len(values)?;
        self.inverse_unchecked(values);
        Ok(())
    }

    /// Coset transform in place: evaluates the polynomial with coefficients `values` on `shift·<ω>`, i.e.
    /// `values[j] ← Σ_i values[i]·(shift·ω^j)^i`.
    ///
    /// # Errors
    ///
    /// [`NttError::LengthMismatch`] if `values.len()` is not [`NttDomain::size`]; `values` is then untouched.
    pub fn coset_forward(&self, values: &mut [Fr], shift: Fr) -> Result<(), NttError> {
        self.check_len(values)?;
        scale_by_powers(values, Fr::ONE, shift);
        self.forward_unchecked(values);
        Ok(())
    }

    /// Inverse of [`NttDomain::coset_forward`]: interpolates the evaluations `values` on `shift·<ω>` back to
    /// coefficients.
    ///
    /// # Errors
    ///
    /// [`NttError::LengthMismatch`] if `values.len()` is not [`NttDomain::size`], [`NttError::ZeroShift`] if
    /// `shift` is zero; `values` is then untouched.
    pub fn coset_inverse(&self, values: &mut [Fr], shift: Fr) -> Result<(), NttError> {
        self.check_len(values)?;
        let shift_inv = Option::<Fr>::from(shift.invert()).ok_or(NttError::ZeroShift)?;
        self.forward_unchecked(values);
        reverse_tail(values);
        // Fold the 1/n of the inverse into the coset unscaling.
        scale_by_powers(values, self.n_inv, shift_inv);
        Ok(())
    }

    /// [`NttDomain::forward`] on every column, columns in parallel.
    ///
    /// # Errors
    ///
    /// [`NttError::LengthMismatch`] for the first column whose length is not [`NttDomain::size`]; no column is
    /// transformed then.
    pub fn forward_many(&self, columns: &mut [&mut [Fr]]) -> Result<(), NttError> {
        columns.iter().try_for_each(|column| self.check_len(column))?;
        self.twiddles();
        columns.par_iter_mut().for_each(|column| self.forward_unchecked(column));
        Ok(())
    }

    /// [`NttDomain::inverse`] on every column, columns in parallel.
    ///
    /// # Errors
    ///
    /// [`NttError::LengthMismatch`] for the first column whose length is not [`NttDomain::size`]; no column is
    /// transformed then.
    pub fn inverse_many(&self, columns: &mut [&mut [Fr]]) -> Result<(), NttError> {
        columns.iter().try_for_each(|column| self.check_len(column))?;
        self.twiddles();
        columns.par_iter_mut().for_each(|column| self.inverse_unchecked(column));
        Ok(())
    }

    fn check_len(&self, values: &[Fr]) -> Result<(), NttError> {
        if values.len() == self.size() {
            Ok(())
        } else {
            Err(NttError::LengthMismatch { expected: self.size(), actual: values.len() })
        }
    }

    fn forward_unchecked(&self, values: &mut [Fr]) {
        if values.len() <= 1 {
            return;
        }
        network(values, self.twiddles());
        bit_reverse_permute(values);
    }

    fn inverse_unchecked(&self, values: &mut [Fr]) {
        self.forward_unchecked(values);
        reverse_tail(values);
        let n_inv = self.n_inv;
        values.par_iter_mut().with_min_len(MIN_TASK).for_each(|v| *v *= n_inv);
    }

    /// The twiddle table, built on first use.
    fn twiddles(&self) -> &[Fr] {
        self.twiddles.get_or_init(|| twiddle_table(self.log_n, self.omega))
    }
}

/// `twiddles[i] = ω^bitrev(i)` for `i < n/2`, bit reversal over `log_n - 1` bits.
///
/// Built by doubling: `twiddles[m + i] = twiddles[i]·ω_{4m}` for `i < m`, where `ω_{4m} = ω^(n/4m)`, because
/// `bitrev(m + i) = bitrev(m) + bitrev(i)` and `bitrev(m) = n/(4m)`.
fn twiddle_table(log_n: u32, omega: Fr) -> Vec<Fr> {
    if log_n == 0 {
        return Vec::new();
    }
    let half = 1usize << (log_n - 1);
    // squares[k] = ω^(2^k).
    let mut squares = Vec::with_capacity(log_n as usize);
    let mut w = omega;
    for _ in 0..log_n {
        squares.push(w);
        w = w.square();
    }
    let mut table = vec![Fr::ZERO; half];
    table[0] = Fr::ONE;
    let mut m = 1;
    while m < half {
        // ω_{4m} = ω^(n/(4m)) = ω^(2^(log_n - 2 - log m)).
        let step = squares[(log_n - 2 - m.trailing_zeros()) as usize];
        let (done, next) = table.split_at_mut(m);
        next[..m].par_iter_mut().with_min_len(MIN_TASK).zip(done.par_iter()).for_each(|(t, d)| *t = *d * step);
        m *= 2;
    }
    table
}

/// The butterflies of one block of `2·t` elements with twiddle `w`.
#[inline(always)]
fn butterflies(block: &mut [Fr], t: usize, w: &Fr) {
    let (lo, hi) = block.split_at_mut(t);
    butterfly_rows(lo, hi, w);
}

/// `(lo, hi) ← (lo + w·hi, lo - w·hi)` element-wise.
#[inline(always)]
fn butterfly_rows(lo: &mut [Fr], hi: &mut [Fr], w: &Fr) {
    if *w == Fr::ONE {
        for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
            let v = *y;
            *y = *x - v;
            *x += v;
        }
    } else {
        for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
            let v = *y * w;
            *y = *x - v;
            *x += v;
        }
    }
}

/// Natural order in, bit-reversed order out.
fn network(values: &mut [Fr], twiddles: &[Fr]) {
    let n = values.len();
    let mut t = n / 2;
    let mut m = 1;
    // Levels whose butterfly blocks span more than NTT_BLOCK elements: one pass each over the whole array.
    while 2 * t > NTT_BLOCK {
        let tw = &twiddles[..m];
        if m >= 2 * rayon::current_num_threads() {
            values.par_chunks_mut(2 * t).zip(tw.par_iter()).for_each(|(block, w)| butterflies(block, t, w));
        } else {
            for (block, w) in values.chunks_mut(2 * t).zip(tw) {
                let (lo, hi) = block.split_at_mut(t);
                lo.par_chunks_mut(MIN_TASK)
                    .zip(hi.par_chunks_mut(MIN_TASK))
                    .for_each(|(lo, hi)| butterfly_rows(lo, hi, w));
            }
        }
        t /= 2;
        m *= 2;
    }
    // The remaining levels inside blocks of 2t elements, each block cache resident.
    let block_len = 2 * t;
    values.par_chunks_mut(block_len).enumerate().for_each(|(b, block)| {
        let mut tt = t;
        while tt >= 1 {
            let per_block = block_len / (2 * tt);
            let tw = &twiddles[b * per_block..(b + 1) * per_block];
            for (sub, w) in block.chunks_mut(2 * tt).zip(tw) {
                butterflies(sub, tt, w);
            }
            tt /= 2;
        }
    });
}

/// `values[i] ← values[-i mod n]`: turns a forward transform with ω into one with ω^-1.
fn reverse_tail(values: &mut [Fr]) {
    if values.len() > 1 {
        values[1..].reverse();
    }
}

/// `values[i] ← values[i]·first·ratio^i`, in parallel.
fn scale_by_powers(values: &mut [Fr], first: Fr, ratio: Fr) {
    values.par_chunks_mut(MIN_TASK).enumerate().for_each(|(chunk, vals)| {
        let mut power = first * ratio.pow_vartime([(chunk * MIN_TASK) as u64]);
        for v in vals {
            *v *= power;
            power *= ratio;
        }
    });
}

/// Permutes `values` into bit-reversed index order: `values[i] ↔ values[bitrev(i)]`.
///
/// # Panics
///
/// If `values.len()` is not a power of two (lengths 0 and 1 are left as they are).
pub fn bit_reverse_permute<T>(values: &mut [T]) {
    let n = values.len();
    if n <= 1 {
        return;
    }
    assert!(n.is_power_of_two(), "bit_reverse_permute: length {n} is not a power of two");
    let shift = usize::BITS - n.trailing_zeros();
    for i in 0..n {
        let j = i.reverse_bits() >> shift;
        if i < j {
            values.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Σ_i a_i ω^(ij)` straight from the definition.
    fn dft(a: &[Fr], omega: Fr) -> Vec<Fr> {
        let n = a.len();
        (0..n)
            .map(|j| {
                let wj = omega.pow_vartime([j as u64]);
                a.iter().rev().fold(Fr::ZERO, |acc, x| acc * wj + x)
            })
            .collect()
    }

    #[test]
    fn twiddles_are_bit_reversed_powers() {
        let log_n = 6;
        let domain = NttDomain::new(log_n).expect("log_n is small");
        let table = domain.twiddles();
        for (i, t) in table.iter().enumerate() {
            let e = i.reverse_bits() >> (usize::BITS - (log_n - 1));
            assert_eq!(*t, domain.omega().pow_vartime([e as u64]), "i = {i}");
        }
    }

    #[test]
    fn forward_matches_definition() {
        for log_n in 0..=7 {
            let domain = NttDomain::new(log_n).expect("log_n is small");
            let a: Vec<Fr> = (0..domain.size()).map(|i| Fr::from(3 * i as u64 + 1).square()).collect();
            let mut b = a.clone();
            domain.forward(&mut b).expect("length matches");
            assert_eq!(b, dft(&a, domain.omega()), "log_n = {log_n}");
        }
    }

    #[test]
    fn blocked_levels_match_definition() {
        // Larger than NTT_BLOCK, so both the whole-array passes and the blocked levels run.
        let log_n = NTT_BLOCK.trailing_zeros() + 2;
        let domain = NttDomain::new(log_n).expect("log_n is small");
        let a: Vec<Fr> = (0..domain.size()).map(|i| Fr::from(i as u64 * 7 + 5)).collect();
        let mut b = a.clone();
        domain.forward(&mut b).expect("length matches");
        for j in [0usize, 1, 2, 1000, domain.size() - 1] {
            let wj = domain.omega().pow_vartime([j as u64]);
            let expected = a.iter().rev().fold(Fr::ZERO, |acc, x| acc * wj + x);
            assert_eq!(b[j], expected, "j = {j}");
        }
    }

    #[test]
    fn bit_reverse_is_an_involution() {
        let mut v: Vec<usize> = (0..64).collect();
        bit_reverse_permute(&mut v);
        assert_eq!(v[1], 32);
        assert_eq!(v[6], 24);
        bit_reverse_permute(&mut v);
        assert_eq!(v, (0..64).collect::<Vec<_>>());
    }
}
