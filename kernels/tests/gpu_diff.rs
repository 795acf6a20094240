//! Differential tests: the CUDA kernels against the CPU twins (the reference).
//!
//! Every test runs on the kernel emulator (`kernels/emu`: the same kernel sources compiled for the host, driven by
//! the same host code as a GPU), at sizes up to 2^16, on every machine; and on a CUDA device at full sizes when one
//! is present (otherwise it prints `SKIPPED: no CUDA device: <reason>` for that part).
//!
//! Large sizes use exact oracles that stay cheap in a debug build: bases in arithmetic progression
//! `P_i = A + i·Q` give `Σ s_i·P_i = (Σ s_i)·A + (Σ i·s_i)·Q`, and an NTT output is spot-checked by evaluating the
//! input polynomial directly.
#![allow(clippy::print_stderr, clippy::unwrap_used)]

use std::sync::OnceLock;

use ff::{Field, PrimeField};
use group::{Curve, Group, prime::PrimeCurveAffine};
use halo2curves::bn256::{Fr, G1, G1Affine};
use rand::{SeedableRng, rngs::StdRng};
use zkr_kernels::{
    cpu,
    gpu::{Backend, EmulatorOptions, FATBIN, FATBIN_MAGIC, Gpu, GpuError, KERNEL_NAMES, Selected, select},
};

// ---------------------------------------------------------------------------------------------------------------
// Everywhere
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn without_a_driver_gpu_errors_and_auto_falls_back_to_cpu() {
    // SAFETY: only tries to load libcuda.
    let driver = unsafe { cudarc::driver::sys::is_culib_present() };
    // An ordinal no machine has: an error either way, never a panic.
    assert!(Gpu::new(10_000).is_err());
    let auto = select(Backend::Auto).expect("auto never fails");
    if driver {
        eprintln!("NOTE: a CUDA driver is present; Auto selected {}", auto.name());
        return;
    }
    assert_eq!(Gpu::new(0).err(), Some(GpuError::NoDriver));
    assert!(matches!(auto, Selected::Cpu { fallback: Some(GpuError::NoDriver) }));
    assert!(matches!(select(Backend::Gpu), Err(GpuError::NoDriver)));
    assert!(matches!(select(Backend::Cpu), Ok(Selected::Cpu { fallback: None })));
    assert!(GpuError::NoDriver.is_unavailable());
}

#[test]
fn embedded_fatbin_holds_every_kernel_the_loader_uses() {
    assert!(FATBIN.len() > 1024, "the fatbin is empty: run scripts/kernels.sh");
    assert_eq!(FATBIN[..4], FATBIN_MAGIC, "not a fatbin container");
    for name in KERNEL_NAMES {
        assert!(
            FATBIN.windows(name.len()).any(|w| w == name.as_bytes()),
            "kernel {name} is not in the fatbin: rebuild with scripts/kernels.sh"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/// A device the tests run on, and the largest size (log2) they use on it.
struct Device {
    gpu: &'static Gpu,
    max_log: u32,
}

impl Device {
    fn name(&self) -> &str {
        &self.gpu.info().name
    }
}

/// The emulator, shared by the tests.
fn emulator() -> &'static Gpu {
    static EMULATOR: OnceLock<Gpu> = OnceLock::new();
    EMULATOR.get_or_init(|| {
        let gpu = Gpu::emulated(EmulatorOptions::default()).expect("build.rs builds the kernel emulator");
        eprintln!("gpu_diff: emulated device: {}", gpu.info().name);
        gpu
    })
}

/// The CUDA device, or `None` after a loud skip notice.
fn hardware(test: &str) -> Option<&'static Gpu> {
    static GPU: OnceLock<Result<Gpu, GpuError>> = OnceLock::new();
    match GPU.get_or_init(|| Gpu::new(0)) {
        Ok(gpu) => Some(gpu),
        Err(err) => {
            eprintln!("SKIPPED: no CUDA device: {err} (the hardware part of test {test})");
            None
        }
    }
}

/// The largest size (log2) the tests give the emulator: 14, or `ZKR_EMULATOR_MAX_LOG` between 12 and 16 (the
/// sanitizer run, several times slower, uses 12). Every kernel and every edge case runs at 2^12 already: the sizes
/// above add passes (a third NTT pass from 2^21 only) and longer buckets, not new paths.
fn emulator_max_log() -> u32 {
    std::env::var("ZKR_EMULATOR_MAX_LOG").ok().and_then(|v| v.parse().ok()).unwrap_or(14).clamp(12, 16)
}

/// Every device of this machine: the emulator (it runs one thread at a time per core), and the GPU when there is
/// one.
fn devices(test: &str) -> Vec<Device> {
    let mut all = vec![Device { gpu: emulator(), max_log: emulator_max_log() }];
    all.extend(hardware(test).map(|gpu| Device { gpu, max_log: 24 }));
    all
}

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn scalars(n: usize, seed: u64) -> Vec<Fr> {
    let mut rng = rng(seed);
    (0..n).map(|_| Fr::random(&mut rng)).collect()
}

/// `P_i = A + i·Q` for random A, Q.
fn progression(n: usize, seed: u64) -> (Vec<G1Affine>, G1, G1) {
    let mut rng = rng(seed);
    let a = G1::generator() * Fr::random(&mut rng);
    let q = G1::generator() * Fr::random(&mut rng);
    let mut points = Vec::with_capacity(n);
    let mut p = a;
    for _ in 0..n {
        points.push(p);
        p += q;
    }
    let mut affine = vec![G1Affine::identity(); n];
    G1::batch_normalize(&points, &mut affine);
    (affine, a, q)
}

fn progression_msm(scalars: &[Fr], a: G1, q: G1) -> G1 {
    let sum: Fr = scalars.iter().sum();
    let weighted: Fr = scalars.iter().enumerate().map(|(i, s)| *s * Fr::from(i as u64)).sum();
    a * sum + q * weighted
}

fn gpu_msm(gpu: &Gpu, bases: &[G1Affine], scalars: &[Fr]) -> G1 {
    let resident = gpu.upload_bases(bases).expect("upload");
    gpu.msm(&resident, scalars).expect("gpu msm")
}

fn assert_msm(gpu: &Gpu, bases: &[G1Affine], scalars: &[Fr], what: &str) {
    let want = cpu::msm(scalars, &bases[..scalars.len()]);
    let got = gpu_msm(gpu, bases, scalars);
    assert_eq!(got.to_affine(), want.to_affine(), "{what}: n = {}", scalars.len());
}

// ---------------------------------------------------------------------------------------------------------------
// MSM
// ---------------------------------------------------------------------------------------------------------------

fn msm_small_and_odd_sizes(gpu: &Gpu) {
    let (bases, _, _) = progression(5000, 1);
    for n in [0, 1, 2, 3, 5, 7, 31, 100, 255, 1000, 1023, 1025, 3001, 4097] {
        assert_msm(gpu, &bases, &scalars(n, n as u64), "random");
    }
    // Fewer scalars than resident bases uses a prefix; more is an error.
    let resident = gpu.upload_bases(&bases[..10]).unwrap();
    assert_eq!(gpu.msm(&resident, &[]).unwrap(), G1::identity());
    assert!(matches!(gpu.msm(&resident, &scalars(11, 3)), Err(GpuError::LengthMismatch(_))));
}

#[test]
fn msm_small_and_odd_sizes_match_cpu() {
    for device in devices("msm_small_and_odd_sizes_match_cpu") {
        msm_small_and_odd_sizes(device.gpu);
    }
}

#[test]
fn msm_powers_of_two() {
    for device in devices("msm_powers_of_two") {
        let gpu = device.gpu;
        let max = device.max_log.min(20);
        let (bases, a, q) = progression(1 << max, 2);
        let resident = gpu.upload_bases(&bases).unwrap();
        for log_n in 10..=max {
            let n = 1usize << log_n;
            let s = scalars(n, u64::from(log_n));
            let got = gpu.msm(&resident, &s).unwrap();
            assert_eq!(got, progression_msm(&s, a, q), "n = 2^{log_n} on {}", device.name());
            if log_n <= 13 {
                assert_eq!(got, cpu::msm(&s, &bases[..n]), "n = 2^{log_n} vs the CPU twin on {}", device.name());
            }
        }
    }
}

fn msm_zero_scalars_on(gpu: &Gpu) {
    let (bases, _, _) = progression(2000, 3);
    assert_eq!(gpu_msm(gpu, &bases, &vec![Fr::ZERO; 2000]), G1::identity(), "all zero");
    let mut s = scalars(2000, 4);
    for v in s.iter_mut().step_by(3) {
        *v = Fr::ZERO;
    }
    assert_msm(gpu, &bases, &s, "every third scalar zero");
    let mut single = vec![Fr::ZERO; 2000];
    single[1234] = Fr::from(987_654_321u64);
    assert_msm(gpu, &bases, &single, "a single non-zero scalar");
}

#[test]
fn msm_zero_scalars() {
    for device in devices("msm_zero_scalars") {
        msm_zero_scalars_on(device.gpu);
    }
}

fn msm_duplicate_and_opposite_bases_on(gpu: &Gpu) {
    let p = (G1::generator() * Fr::from(77u64)).to_affine();
    let same = vec![p; 1500];
    assert_msm(gpu, &same, &scalars(1500, 5), "one point repeated");
    // Equal scalars on P and -P land in one bucket and cancel: P + (-P) inside the accumulation.
    let opposite: Vec<G1Affine> = (0..1500).map(|i| if i % 2 == 0 { p } else { -p }).collect();
    assert_eq!(gpu_msm(gpu, &opposite, &vec![Fr::from(5u64); 1500]), G1::identity(), "P and -P cancel");
    // Equal points with equal digits: P + P inside a bucket (the doubling path).
    assert_msm(gpu, &same, &vec![Fr::from(3u64); 1500], "P + P in one bucket");
    assert_msm(gpu, &opposite, &scalars(1500, 6), "P and -P, random scalars");
}

#[test]
fn msm_duplicate_and_opposite_bases() {
    for device in devices("msm_duplicate_and_opposite_bases") {
        msm_duplicate_and_opposite_bases_on(device.gpu);
    }
}

#[test]
fn msm_identity_bases() {
    for device in devices("msm_identity_bases") {
        let gpu = device.gpu;
        let (mut bases, _, _) = progression(1000, 7);
        for b in bases.iter_mut().step_by(4) {
            *b = G1Affine::identity();
        }
        assert_msm(gpu, &bases, &scalars(1000, 8), "every fourth base is the identity");
        assert_eq!(gpu_msm(gpu, &[G1Affine::identity(); 64], &scalars(64, 9)), G1::identity());
    }
}

fn msm_extreme_scalars_on(gpu: &Gpu) {
    let (bases, _, _) = progression(1000, 10);
    let minus_one = -Fr::ONE;
    assert_msm(gpu, &bases, &vec![Fr::ONE; 1000], "all ones");
    assert_msm(gpu, &bases, &vec![minus_one; 1000], "all r - 1");
    let mixed: Vec<Fr> = (0..1000).map(|i| if i % 2 == 0 { Fr::ONE } else { minus_one }).collect();
    assert_msm(gpu, &bases, &mixed, "1 and r - 1");
    // Top-heavy digits: 2^253 + (2^c)-ish patterns exercise the carries into the last window.
    let two_253 = Fr::from(2u64).pow_vartime([253]);
    let top: Vec<Fr> = (0..1000).map(|i| two_253 + Fr::from(i as u64) - Fr::from_u128(1 << 100)).collect();
    assert_msm(gpu, &bases, &top, "scalars near 2^253");
}

#[test]
fn msm_extreme_scalars() {
    for device in devices("msm_extreme_scalars") {
        msm_extreme_scalars_on(device.gpu);
    }
}

/// Buckets holding many points: a bucket is cut into segments of at most 32 points at these sizes, so one holding
/// every point (all scalars equal) is summed by `2^log_n / 32` threads, then the segments by one.
fn msm_dense_buckets_on(gpu: &Gpu, log_n: u32) {
    let n = 1usize << log_n;
    let (bases, a, q) = progression(n, 11);
    let mut s = scalars(n, 12);
    let common = Fr::random(rng(13));
    for v in s.iter_mut().step_by(4) {
        *v = common;
    }
    assert_msm(gpu, &bases[..4096], &s[..4096], "a quarter of the scalars equal");
    assert_eq!(gpu_msm(gpu, &bases, &s), progression_msm(&s, a, q), "a quarter equal, 2^{log_n}");
    // Every scalar equal: one oversized bucket per window, split across many threads.
    let all = vec![common; n];
    assert_eq!(gpu_msm(gpu, &bases, &all), progression_msm(&all, a, q), "all equal, 2^{log_n}");
}

#[test]
fn msm_dense_buckets() {
    for device in devices("msm_dense_buckets") {
        msm_dense_buckets_on(device.gpu, device.max_log);
    }
}

#[test]
fn msm_refuses_what_does_not_fit_the_device_memory() {
    // A 1 MiB device: the bases fit, the MSM's buffers do not.
    let small = Gpu::emulated(EmulatorOptions { memory_bytes: 1 << 20, ..EmulatorOptions::default() }).unwrap();
    let (bases, _, _) = progression(4096, 14);
    let resident = small.upload_bases(&bases).unwrap();
    assert!(matches!(small.msm(&resident, &scalars(4096, 15)), Err(GpuError::TooLarge(_))));
    // Bases of another handle are refused.
    assert!(matches!(emulator().msm(&resident, &scalars(4, 16)), Err(GpuError::InvalidInput(_))));
}

// ---------------------------------------------------------------------------------------------------------------
// NTT
// ---------------------------------------------------------------------------------------------------------------

/// `Σ_i coeffs[i]·x^i`.
fn evaluate(coeffs: &[Fr], x: Fr) -> Fr {
    coeffs.iter().rev().fold(Fr::ZERO, |acc, c| acc * x + c)
}

/// Every transform against the CPU twin up to `2^exact`, spot checks and round trips above, up to `2^max_log`.
fn ntt_sizes(gpu: &Gpu, exact: u32, max_log: u32) {
    let shift = Fr::MULTIPLICATIVE_GENERATOR;
    for log_n in 1..=max_log {
        let domain = cpu::NttDomain::new(log_n).unwrap();
        let input = scalars(1 << log_n, u64::from(log_n) + 100);

        let mut fwd = input.clone();
        gpu.ntt_forward(&mut [&mut fwd]).unwrap();
        let mut coset = input.clone();
        gpu.ntt_coset_forward(&mut [&mut coset], shift).unwrap();
        if log_n <= exact {
            let mut want = input.clone();
            domain.forward(&mut want).unwrap();
            assert_eq!(fwd, want, "forward 2^{log_n}");
            let mut want = input.clone();
            domain.coset_forward(&mut want, shift).unwrap();
            assert_eq!(coset, want, "coset forward 2^{log_n}");
            let mut inv = input.clone();
            gpu.ntt_inverse(&mut [&mut inv]).unwrap();
            let mut want = input.clone();
            domain.inverse(&mut want).unwrap();
            assert_eq!(inv, want, "inverse 2^{log_n}");
        } else {
            // Spot checks against direct evaluation: out[j] = f(ω^j), coset out[j] = f(shift·ω^j).
            let omega = domain.omega();
            assert_eq!(fwd[1], evaluate(&input, omega), "forward 2^{log_n}, j = 1");
            assert_eq!(coset[0], evaluate(&input, shift), "coset 2^{log_n}, j = 0");
        }
        gpu.ntt_inverse(&mut [&mut fwd]).unwrap();
        assert_eq!(fwd, input, "inverse(forward) 2^{log_n}");
        gpu.ntt_coset_inverse(&mut [&mut coset], shift).unwrap();
        assert_eq!(coset, input, "coset_inverse(coset_forward) 2^{log_n}");
    }
}

#[test]
fn ntt_matches_cpu_and_round_trips() {
    for device in devices("ntt_matches_cpu_and_round_trips") {
        ntt_sizes(device.gpu, 14, device.max_log);
    }
}

fn ntt_many_columns(gpu: &Gpu, sizes: &[u32]) {
    for &log_n in sizes {
        let domain = cpu::NttDomain::new(log_n).unwrap();
        let mut columns: Vec<Vec<Fr>> = (0..5).map(|c| scalars(1 << log_n, 200 + c)).collect();
        let mut want = columns.clone();
        for column in &mut want {
            gpu.ntt_forward(&mut [column.as_mut_slice()]).unwrap();
        }
        let mut cpu_want = columns.clone();
        let mut cpu_refs: Vec<&mut [Fr]> = cpu_want.iter_mut().map(Vec::as_mut_slice).collect();
        domain.forward_many(&mut cpu_refs).unwrap();
        let mut refs: Vec<&mut [Fr]> = columns.iter_mut().map(Vec::as_mut_slice).collect();
        gpu.ntt_forward(&mut refs).unwrap();
        assert_eq!(columns, want, "batched vs one column at a time, 2^{log_n}");
        assert_eq!(columns, cpu_want, "batched vs CPU forward_many, 2^{log_n}");
        let mut refs: Vec<&mut [Fr]> = columns.iter_mut().map(Vec::as_mut_slice).collect();
        gpu.ntt_inverse(&mut refs).unwrap();
        let mut cpu_refs: Vec<&mut [Fr]> = cpu_want.iter_mut().map(Vec::as_mut_slice).collect();
        domain.inverse_many(&mut cpu_refs).unwrap();
        assert_eq!(columns, cpu_want, "batched inverse vs CPU inverse_many, 2^{log_n}");
    }
}

/// An NTT of three or more shared-memory passes has a middle pass whose groups have both high and low index bits
/// (`ntt_index` with `s > 0` and `s + t < log_n`). On a GPU that takes 2^21; the emulator gets there at small sizes
/// with shallower passes (`EmulatorOptions::ntt_pass_stages`), through the same kernel and host code.
#[test]
fn ntt_with_three_or_more_passes_matches_cpu() {
    for depth in [1, 3, 4] {
        let shallow = Gpu::emulated(EmulatorOptions { ntt_pass_stages: depth, ..EmulatorOptions::default() }).unwrap();
        ntt_sizes(&shallow, 12, 12);
        ntt_many_columns(&shallow, &[9, 12]);
    }
    if let Some(gpu) = hardware("ntt_with_three_or_more_passes_matches_cpu") {
        let log_n = 21;
        let domain = cpu::NttDomain::new(log_n).unwrap();
        let input = scalars(1 << log_n, 21);
        let mut got = input.clone();
        gpu.ntt_forward(&mut [&mut got]).unwrap();
        let mut want = input.clone();
        domain.forward(&mut want).unwrap();
        assert!(got == want, "forward 2^{log_n} on {}", gpu.info().name);
        gpu.ntt_inverse(&mut [&mut got]).unwrap();
        assert!(got == input, "inverse(forward) 2^{log_n} on {}", gpu.info().name);
    }
}

#[test]
fn ntt_many_columns_match_single_columns() {
    for device in devices("ntt_many_columns_match_single_columns") {
        ntt_many_columns(device.gpu, &[3, 10, 12, device.max_log.min(15)]);
    }
}

#[test]
fn ntt_batches_by_free_memory_and_keeps_twiddles_within_a_budget() {
    // 1 MiB device: a 2^12 column is 128 KiB, so five columns go in batches of at most four (half the free memory);
    // twiddle tables are cached within a sixteenth of the memory (64 KiB), so a 2^13 table is built per call.
    let small = Gpu::emulated(EmulatorOptions { memory_bytes: 1 << 20, ..EmulatorOptions::default() }).unwrap();
    ntt_many_columns(&small, &[12, 13]);
    ntt_sizes(&small, 12, 13);
    // A column larger than the device.
    let mut big = scalars(1 << 16, 17);
    assert!(matches!(small.ntt_forward(&mut [&mut big]), Err(GpuError::TooLarge(_))));
}

fn ntt_rejects_bad_input_on(gpu: &Gpu) {
    let mut a = scalars(8, 1);
    let mut b = scalars(16, 2);
    assert!(matches!(gpu.ntt_forward(&mut [&mut a, &mut b]), Err(GpuError::LengthMismatch(_))));
    let mut c = scalars(12, 3);
    assert!(matches!(gpu.ntt_forward(&mut [&mut c]), Err(GpuError::InvalidInput(_))));
    let before = a.clone();
    assert!(matches!(gpu.ntt_coset_inverse(&mut [&mut a], Fr::ZERO), Err(GpuError::InvalidInput(_))));
    assert_eq!(a, before, "untouched on error");
    let mut one = vec![Fr::from(9u64)];
    gpu.ntt_forward(&mut [&mut one]).unwrap();
    assert_eq!(one, vec![Fr::from(9u64)]);
}

#[test]
fn ntt_rejects_bad_input() {
    for device in devices("ntt_rejects_bad_input") {
        ntt_rejects_bad_input_on(device.gpu);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The emulator's own checks
// ---------------------------------------------------------------------------------------------------------------

/// Threads and blocks run from the last to the first: same results (nothing depends on the order threads run in,
/// which a GPU does not fix), and the barriers hold in that order too.
#[test]
fn results_do_not_depend_on_the_order_threads_run_in() {
    let reversed = Gpu::emulated(EmulatorOptions { reverse_order: true, ..EmulatorOptions::default() }).unwrap();
    msm_small_and_odd_sizes(&reversed);
    msm_duplicate_and_opposite_bases_on(&reversed);
    msm_dense_buckets_on(&reversed, 12);
    ntt_sizes(&reversed, 12, emulator_max_log().min(14));
    ntt_many_columns(&reversed, &[3, 12]);
}

/// One worker thread: blocks run strictly one after another (the atomics never race).
#[test]
fn one_worker_gives_the_same_results() {
    let serial = Gpu::emulated(EmulatorOptions { workers: 1, ..EmulatorOptions::default() }).unwrap();
    msm_zero_scalars_on(&serial);
    msm_extreme_scalars_on(&serial);
    ntt_sizes(&serial, 12, 12);
}
