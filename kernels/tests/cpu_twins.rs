//! Differential tests of the CPU twins against the halo2 implementations they replace
//! (`halo2curves::msm::msm_best`, halo2-axiom's `best_fft`) and against definitions, on the inputs that have broken
//! other MSM and NTT libraries.

use ff::{Field, PrimeField};
use group::{Curve, Group, prime::PrimeCurveAffine};
use halo2_proofs::{arithmetic::best_fft, fft::recursive::FFTData};
use halo2curves::bn256::{Fr, G1, G1Affine};
use proptest::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};
use zkr_kernels::cpu::{
    MAX_LOG_N, NttDomain, NttError, bit_reverse_permute, msm, num_windows, signed_digits, window_bits,
};

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Distinct random points: a walk `P + Q, P + 2Q, ...`, normalised in one batch.
fn random_points(n: usize, rng: &mut StdRng) -> Vec<G1Affine> {
    let mut p = G1::random(&mut *rng);
    let step = G1::random(&mut *rng);
    let walk: Vec<G1> = (0..n)
        .map(|_| {
            p += step;
            p
        })
        .collect();
    let mut affine = vec![G1Affine::identity(); n];
    G1::batch_normalize(&walk, &mut affine);
    affine
}

fn random_scalars(n: usize, rng: &mut StdRng) -> Vec<Fr> {
    (0..n).map(|_| Fr::random(&mut *rng)).collect()
}

/// `Σ scalars[i]·bases[i]` by one scalar multiplication per point.
fn naive(scalars: &[Fr], bases: &[G1Affine]) -> G1 {
    scalars.iter().zip(bases).fold(G1::identity(), |acc, (s, b)| acc + b * s)
}

fn assert_matches_peer(scalars: &[Fr], bases: &[G1Affine], what: &str) {
    let got = msm(scalars, bases);
    assert_eq!(got, halo2curves::msm::msm_best(scalars, bases), "{what}: differs from msm_best");
}

#[test]
fn msm_empty_is_identity() {
    assert_eq!(msm(&[], &[]), G1::identity());
}

#[test]
#[should_panic(expected = "msm")]
fn msm_rejects_length_mismatch() {
    let _ = msm(&[Fr::ONE], &[]);
}

#[test]
fn msm_random_sizes_match_peer() {
    let mut rng = rng(1);
    let bases = random_points(1 << 13, &mut rng);
    let scalars = random_scalars(1 << 13, &mut rng);
    for n in [1usize, 2, 3, 7, 63, 64, 65, 255, 1000, 1025, 4099, 1 << 13] {
        assert_matches_peer(&scalars[..n], &bases[..n], &format!("n = {n}"));
    }
}

#[test]
fn msm_zero_scalars() {
    let mut rng = rng(2);
    for n in [1usize, 100, 1000] {
        let bases = random_points(n, &mut rng);
        let zeros = vec![Fr::ZERO; n];
        assert_eq!(msm(&zeros, &bases), G1::identity(), "all zero, n = {n}");
        let mut single = zeros.clone();
        let k = rng.gen_range(0..n);
        single[k] = Fr::random(&mut rng);
        assert_eq!(msm(&single, &bases), bases[k] * single[k], "single non-zero, n = {n}");
        let mut some = random_scalars(n, &mut rng);
        for s in some.iter_mut().step_by(3) {
            *s = Fr::ZERO;
        }
        assert_matches_peer(&some, &bases, &format!("a third zero, n = {n}"));
    }
}

#[test]
fn msm_one_and_minus_one() {
    let mut rng = rng(3);
    for n in [5usize, 1000] {
        let bases = random_points(n, &mut rng);
        let scalars: Vec<Fr> = (0..n).map(|i| if i % 2 == 0 { Fr::ONE } else { -Fr::ONE }).collect();
        let expected =
            bases.iter().enumerate().fold(G1::identity(), |acc, (i, b)| if i % 2 == 0 { acc + b } else { acc - b });
        assert_eq!(msm(&scalars, &bases), expected, "n = {n}");
        assert_matches_peer(&scalars, &bases, &format!("±1, n = {n}"));
    }
}

/// Points repeated and negated under equal scalars land in one bucket: the batch-affine additions must take the
/// tangent for `P + P` and return the identity for `P + (-P)`.
#[test]
fn msm_duplicate_and_opposite_points_in_one_bucket() {
    let mut rng = rng(4);
    let pool = random_points(3, &mut rng);
    for n in [10usize, 1000, 5000] {
        let bases: Vec<G1Affine> = (0..n)
            .map(|_| {
                let p = pool[rng.gen_range(0..pool.len())];
                if rng.gen_bool(0.5) { -p } else { p }
            })
            .collect();
        let small: Vec<Fr> = (0..n).map(|_| Fr::from(rng.gen_range(1u64..4))).collect();
        assert_eq!(msm(&small, &bases), naive(&small, &bases), "small scalars, n = {n}");
        let s = Fr::random(&mut rng);
        let same = vec![s; n];
        assert_eq!(msm(&same, &bases), naive(&same, &bases), "one scalar, n = {n}");
    }
    // Exact cancellation to the identity: P and -P under the same scalar, many times over.
    let p = pool[0];
    let bases: Vec<G1Affine> = (0..2000).map(|i| if i % 2 == 0 { p } else { -p }).collect();
    let scalars = vec![Fr::from(12345u64); 2000];
    assert_eq!(msm(&scalars, &bases), G1::identity());
    // Only doublings: one point, one scalar.
    let bases = vec![p; 3000];
    assert_eq!(msm(&scalars[..1], &bases[..1]) * Fr::from(3000u64), msm(&vec![Fr::from(12345u64); 3000], &bases));
}

#[test]
fn msm_identity_bases() {
    let mut rng = rng(5);
    for n in [1usize, 50, 1000] {
        let mut bases = random_points(n, &mut rng);
        for b in bases.iter_mut().step_by(4) {
            *b = G1Affine::identity();
        }
        let scalars = random_scalars(n, &mut rng);
        assert_eq!(msm(&scalars, &bases), naive(&scalars, &bases), "n = {n}");
        let all = vec![G1Affine::identity(); n];
        assert_eq!(msm(&scalars, &all), G1::identity(), "all identity, n = {n}");
    }
}

/// A quarter of the scalars equal: one bucket per window gets a quarter of the points.
#[test]
fn msm_dense_buckets() {
    let mut rng = rng(6);
    let n = 1 << 12;
    let bases = random_points(n, &mut rng);
    let mut scalars = random_scalars(n, &mut rng);
    let s = Fr::random(&mut rng);
    for x in scalars.iter_mut().step_by(4) {
        *x = s;
    }
    assert_matches_peer(&scalars, &bases, "quarter equal");
    let small: Vec<Fr> = (0..n).map(|i| if i % 4 == 0 { Fr::from(5u64) } else { Fr::random(&mut rng) }).collect();
    assert_matches_peer(&small, &bases, "quarter equal to 5");
}

#[test]
fn window_bits_is_sane() {
    let mut last = window_bits(0);
    assert!(last >= 1);
    for log in 0..=30 {
        let c = window_bits(1 << log);
        assert!((1..=18).contains(&c), "2^{log}: {c}");
        assert!(c >= last, "window shrank at 2^{log}");
        last = c;
    }
    assert!((8..=12).contains(&window_bits(1 << 12)));
    assert!((14..=18).contains(&window_bits(1 << 20)));
}

fn reconstruct(digits: &[i32], c: usize) -> Fr {
    let radix = Fr::from(2u64).pow_vartime([c as u64]);
    digits.iter().rev().fold(Fr::ZERO, |acc, &d| {
        let d = if d < 0 { -Fr::from(u64::from(d.unsigned_abs())) } else { Fr::from(d as u64) };
        acc * radix + d
    })
}

fn check_digits(scalar: &Fr, c: usize) {
    let mut digits = Vec::new();
    signed_digits(scalar, c, &mut digits);
    assert_eq!(digits.len(), 256usize.div_ceil(c) + 1);
    let half = 1i64 << (c - 1);
    assert!(digits.iter().all(|&d| -half < i64::from(d) && i64::from(d) <= half), "range, c = {c}");
    assert!(digits[num_windows(c)..].iter().all(|&d| d == 0), "past num_windows, c = {c}");
    assert_eq!(reconstruct(&digits, c), *scalar, "c = {c}");
}

#[test]
fn signed_digits_edge_scalars() {
    for c in 1..=31 {
        for s in [Fr::ZERO, Fr::ONE, -Fr::ONE, Fr::from(u64::MAX), Fr::TWO_INV, -Fr::TWO_INV] {
            check_digits(&s, c);
        }
    }
}

proptest! {
    #[test]
    fn signed_digits_reconstruct(seed in any::<[u8; 32]>(), c in 1usize..=31) {
        let scalar = Fr::random(StdRng::from_seed(seed));
        check_digits(&scalar, c);
    }
}

fn halo2_fft(values: &mut [Fr], domain: &NttDomain) {
    let data = FFTData::new(domain.size(), domain.omega(), domain.omega_inv());
    best_fft(values, domain.omega(), domain.log_n(), &data, false);
}

#[test]
fn ntt_omega_is_halo2s() {
    for log_n in 0..=MAX_LOG_N {
        let domain = NttDomain::new(log_n).expect("supported size");
        let mut expected = Fr::ROOT_OF_UNITY;
        for _ in log_n..Fr::S {
            expected = expected.square();
        }
        assert_eq!(domain.omega(), expected, "log_n = {log_n}");
        assert_eq!(domain.size(), 1 << log_n);
        assert_eq!(domain.omega() * domain.omega_inv(), Fr::ONE);
        if log_n > 0 {
            assert_eq!(domain.omega().pow_vartime([1u64 << (log_n - 1)]), -Fr::ONE, "primitive, log_n = {log_n}");
        }
    }
    assert_eq!(NttDomain::new(29).err(), Some(NttError::TooLarge { log_n: 29, max: 28 }));
}

#[test]
fn ntt_forward_matches_halo2_and_round_trips() {
    let mut rng = rng(7);
    for log_n in 0..=16 {
        let domain = NttDomain::new(log_n).expect("supported size");
        let input = random_scalars(domain.size(), &mut rng);
        let mut ours = input.clone();
        domain.forward(&mut ours).expect("length matches");
        if log_n > 0 {
            let mut theirs = input.clone();
            halo2_fft(&mut theirs, &domain);
            assert_eq!(ours, theirs, "forward, log_n = {log_n}");
        }
        domain.inverse(&mut ours).expect("length matches");
        assert_eq!(ours, input, "inverse ∘ forward, log_n = {log_n}");
        domain.inverse(&mut ours).expect("length matches");
        domain.forward(&mut ours).expect("length matches");
        assert_eq!(ours, input, "forward ∘ inverse, log_n = {log_n}");
    }
}

#[test]
fn ntt_coset() {
    let mut rng = rng(8);
    for log_n in 1..=16 {
        let domain = NttDomain::new(log_n).expect("supported size");
        let input = random_scalars(domain.size(), &mut rng);
        let shift = Fr::random(&mut rng);
        let mut ours = input.clone();
        domain.coset_forward(&mut ours, shift).expect("length matches");
        let mut expected: Vec<Fr> = input
            .iter()
            .scan(Fr::ONE, |power, x| {
                let y = *x * *power;
                *power *= shift;
                Some(y)
            })
            .collect();
        domain.forward(&mut expected).expect("length matches");
        assert_eq!(ours, expected, "coset forward, log_n = {log_n}");
        domain.coset_inverse(&mut ours, shift).expect("non-zero shift");
        assert_eq!(ours, input, "coset round trip, log_n = {log_n}");
    }
    // Evaluations on the coset are evaluations of the polynomial at shift·ω^j.
    let domain = NttDomain::new(3).expect("supported size");
    let coeffs = random_scalars(8, &mut rng);
    let shift = Fr::MULTIPLICATIVE_GENERATOR;
    let mut evals = coeffs.clone();
    domain.coset_forward(&mut evals, shift).expect("length matches");
    for (j, e) in evals.iter().enumerate() {
        let x = shift * domain.omega().pow_vartime([j as u64]);
        assert_eq!(*e, coeffs.iter().rev().fold(Fr::ZERO, |acc, c| acc * x + c), "j = {j}");
    }
    assert_eq!(domain.coset_inverse(&mut evals, Fr::ZERO), Err(NttError::ZeroShift));
}

#[test]
fn ntt_many_matches_single() {
    let mut rng = rng(9);
    let domain = NttDomain::new(10).expect("supported size");
    let columns: Vec<Vec<Fr>> = (0..5).map(|_| random_scalars(domain.size(), &mut rng)).collect();
    let mut batched = columns.clone();
    let mut views: Vec<&mut [Fr]> = batched.iter_mut().map(Vec::as_mut_slice).collect();
    domain.forward_many(&mut views).expect("lengths match");
    for (column, got) in columns.iter().zip(&batched) {
        let mut expected = column.clone();
        domain.forward(&mut expected).expect("length matches");
        assert_eq!(*got, expected);
    }
    let mut views: Vec<&mut [Fr]> = batched.iter_mut().map(Vec::as_mut_slice).collect();
    domain.inverse_many(&mut views).expect("lengths match");
    assert_eq!(batched, columns);
    domain.forward_many(&mut []).expect("no columns is fine");
}

#[test]
fn ntt_rejects_wrong_lengths() {
    let domain = NttDomain::new(4).expect("supported size");
    let mut short = vec![Fr::ONE; 15];
    let mismatch = NttError::LengthMismatch { expected: 16, actual: 15 };
    assert_eq!(domain.forward(&mut short), Err(mismatch.clone()));
    assert_eq!(domain.inverse(&mut short), Err(mismatch.clone()));
    assert_eq!(domain.coset_forward(&mut short, Fr::ONE), Err(mismatch.clone()));
    assert_eq!(domain.coset_inverse(&mut short, Fr::ONE), Err(mismatch.clone()));
    assert!(short.iter().all(|x| *x == Fr::ONE), "untouched on error");
    let mut good = vec![Fr::ONE; 16];
    let mut columns: Vec<&mut [Fr]> = vec![&mut good, &mut short];
    assert_eq!(domain.forward_many(&mut columns), Err(mismatch.clone()));
    assert!(good.iter().all(|x| *x == Fr::ONE), "no column transformed on error");
    assert!(mismatch.is_invalid_input());
}

#[test]
fn bit_reverse_permute_small() {
    let mut empty: [u8; 0] = [];
    bit_reverse_permute(&mut empty);
    let mut one = [7u8];
    bit_reverse_permute(&mut one);
    assert_eq!(one, [7]);
    let mut eight: Vec<u32> = (0..8).collect();
    bit_reverse_permute(&mut eight);
    assert_eq!(eight, [0, 4, 2, 6, 1, 5, 3, 7]);
}

#[test]
#[should_panic(expected = "power of two")]
fn bit_reverse_permute_rejects_other_lengths() {
    bit_reverse_permute(&mut [1, 2, 3]);
}
