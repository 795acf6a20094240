//! MSM and NTT timings: the CPU twins against the halo2 implementations they replace, in one run.
//!
//! ```text
//! cargo bench -p zkr-kernels --bench kernels -- [--msm 16,18,20] [--ntt 16,20,22] [--reps 5]
//! ```
//!
//! Prints one markdown table: operation, `log2 n`, backend, median wall time over `--reps` runs and the ratio to
//! the peer measured in the same run (below 1 is faster). Peer and twin alternate run by run so that load from
//! other processes hits both alike; inputs come from a seeded rng, and every twin result is checked against the
//! peer's. The peers are `halo2curves::msm::msm_best` and halo2-axiom's `best_fft` (its x86-64 `parallel::fft`).
//! The twins' one-time setup (the NTT twiddle table, kept by `NttDomain`) happens before the timed runs.
//!
//! With a CUDA device (device 0), every size also gets a `gpu` row, checked against the peer like the twin's: the
//! MSM with its bases resident on the device (uploaded once, outside the timing, as a prover keeps its SRS) and the
//! scalars uploaded in every call; the NTT with the column copied to the device and back in every call. Without a
//! device the table says why the GPU rows are missing.
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a bench binary prints its table")]

use std::time::{Duration, Instant};

use ff::Field;
use group::{Curve, Group};
use halo2_proofs::{arithmetic::best_fft, fft::recursive::FFTData};
use halo2curves::bn256::{Fr, G1, G1Affine};
use rand::{SeedableRng, rngs::StdRng};
use rayon::prelude::*;
use zkr_kernels::{
    cpu::{NttDomain, msm},
    gpu::Gpu,
};

const SEED: u64 = 0x006b_6572_6e65_6c73;

/// Inputs are generated per chunk of this many elements, each chunk from its own seeded rng.
const GEN_CHUNK: usize = 1 << 14;

struct Args {
    msm: Vec<u32>,
    ntt: Vec<u32>,
    reps: usize,
}

fn parse_list(value: Option<String>, flag: &str) -> Vec<u32> {
    let value = value.unwrap_or_else(|| panic!("{flag} needs a comma-separated list of log2 sizes"));
    value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim().parse().unwrap_or_else(|_| panic!("{flag}: `{s}` is not a log2 size")))
        .collect()
}

fn parse_args() -> Args {
    let mut args = Args { msm: vec![16, 18, 20], ntt: vec![16, 18, 20, 22], reps: 5 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--msm" => args.msm = parse_list(it.next(), "--msm"),
            "--ntt" => args.ntt = parse_list(it.next(), "--ntt"),
            "--reps" => {
                args.reps = it.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("--reps needs a count"))
            }
            // `cargo bench` passes `--bench`; libtest filters are meaningless here.
            _ => {}
        }
    }
    args.reps = args.reps.max(1);
    args
}

/// One line of the table.
struct Row {
    op: &'static str,
    log_n: u32,
    backend: &'static str,
    median: Duration,
    /// Median of this backend over the peer's median, `None` for the peer itself.
    ratio: Option<f64>,
    note: String,
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 { format!("{s:.3} s") } else { format!("{:.2} ms", s * 1e3) }
}

fn random_scalars(n: usize) -> Vec<Fr> {
    (0..n.div_ceil(GEN_CHUNK))
        .into_par_iter()
        .flat_map_iter(|chunk| {
            let mut rng = StdRng::seed_from_u64(SEED ^ ((chunk as u64) << 20));
            let len = GEN_CHUNK.min(n - chunk * GEN_CHUNK);
            (0..len).map(move |_| Fr::random(&mut rng)).collect::<Vec<_>>()
        })
        .collect()
}

/// Distinct pseudo-random points: a walk `P, P + Q, P + 2Q, ...` per chunk from random `P`, `Q`.
fn random_points(n: usize) -> Vec<G1Affine> {
    (0..n.div_ceil(GEN_CHUNK))
        .into_par_iter()
        .flat_map_iter(|chunk| {
            let mut rng = StdRng::seed_from_u64(SEED.rotate_left(17) ^ chunk as u64);
            let len = GEN_CHUNK.min(n - chunk * GEN_CHUNK);
            let mut p = G1::random(&mut rng);
            let step = G1::random(&mut rng);
            let walk: Vec<G1> = (0..len)
                .map(|_| {
                    p += step;
                    p
                })
                .collect();
            let mut affine = vec![G1Affine::default(); len];
            G1::batch_normalize(&walk, &mut affine);
            affine
        })
        .collect()
}

fn bench_msm(logs: &[u32], reps: usize, gpu: Option<&Gpu>, rows: &mut Vec<Row>) {
    let Some(&max) = logs.iter().max() else { return };
    let scalars = random_scalars(1 << max);
    let bases = random_points(1 << max);
    let resident = gpu.map(|gpu| gpu.upload_bases(&bases).unwrap_or_else(|e| panic!("uploading the bases: {e}")));
    for &log_n in logs {
        let (s, b) = (&scalars[..1 << log_n], &bases[..1 << log_n]);
        let (mut peer, mut ours) = (Vec::new(), Vec::new());
        let mut agree = true;
        for _ in 0..reps {
            let start = Instant::now();
            let expected = halo2curves::msm::msm_best(s, b);
            peer.push(start.elapsed());
            let start = Instant::now();
            let got = msm(s, b);
            ours.push(start.elapsed());
            agree &= got == expected;
        }
        let (peer, ours) = (median(peer), median(ours));
        rows.push(Row {
            op: "msm",
            log_n,
            backend: "halo2curves msm_best",
            median: peer,
            ratio: None,
            note: String::new(),
        });
        rows.push(Row {
            op: "msm",
            log_n,
            backend: "cpu twin",
            median: ours,
            ratio: Some(ours.as_secs_f64() / peer.as_secs_f64()),
            note: format!(
                "{}window {} bits",
                if agree { "" } else { "RESULT MISMATCH; " },
                zkr_kernels::cpu::window_bits(1 << log_n)
            ),
        });
        if let (Some(gpu), Some(resident)) = (gpu, resident.as_ref()) {
            let expected = halo2curves::msm::msm_best(s, b);
            // One untimed call: kernels' first launch and the allocator's first use.
            let warm = gpu.msm(resident, s).unwrap_or_else(|e| panic!("gpu msm 2^{log_n}: {e}"));
            let mut times = Vec::new();
            let mut agree = warm == expected;
            for _ in 0..reps {
                let start = Instant::now();
                let got = gpu.msm(resident, s).unwrap_or_else(|e| panic!("gpu msm 2^{log_n}: {e}"));
                times.push(start.elapsed());
                agree &= got == expected;
            }
            let time = median(times);
            rows.push(Row {
                op: "msm",
                log_n,
                backend: "gpu",
                median: time,
                ratio: Some(time.as_secs_f64() / peer.as_secs_f64()),
                note: format!("{}bases resident, scalars uploaded", if agree { "" } else { "RESULT MISMATCH; " }),
            });
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Forward,
    Inverse,
}

fn bench_ntt(logs: &[u32], reps: usize, gpu: Option<&Gpu>, rows: &mut Vec<Row>) {
    let Some(&max) = logs.iter().max() else { return };
    let input = random_scalars(1 << max);
    for &log_n in logs {
        let domain = NttDomain::new(log_n).unwrap_or_else(|e| panic!("--ntt {log_n}: {e}"));
        let n = domain.size();
        let input = &input[..n];
        // On x86-64 halo2-axiom's `best_fft` runs `parallel::fft`, which ignores the FFT data; elsewhere it runs
        // the recursive FFT, which needs it.
        #[cfg(target_arch = "x86_64")]
        let data = FFTData::<Fr>::default();
        #[cfg(not(target_arch = "x86_64"))]
        let data = FFTData::<Fr>::new(n, domain.omega(), domain.omega_inv());
        let n_inv = Fr::from(n as u64).invert().unwrap_or(Fr::ZERO);
        // Builds and caches the twiddle table outside the timed runs.
        let mut warm = input.to_vec();
        // The first transform also builds the domain's twiddle table; reported, not counted in the median.
        let setup = Instant::now();
        domain.forward(&mut warm).unwrap_or_else(|e| panic!("{e}"));
        let setup = setup.elapsed();

        for direction in [Direction::Forward, Direction::Inverse] {
            let (mut peer, mut ours) = (Vec::new(), Vec::new());
            let mut agree = true;
            let (mut a, mut b) = (input.to_vec(), input.to_vec());
            for _ in 0..reps {
                a.copy_from_slice(input);
                b.copy_from_slice(input);
                let start = Instant::now();
                match direction {
                    Direction::Forward => best_fft(&mut a, domain.omega(), log_n, &data, false),
                    Direction::Inverse => {
                        // What halo2's `EvaluationDomain::ifft` does: the FFT with ω^-1, then the 1/n scaling.
                        best_fft(&mut a, domain.omega_inv(), log_n, &data, true);
                        a.par_iter_mut().for_each(|v| *v *= n_inv);
                    }
                }
                peer.push(start.elapsed());
                let start = Instant::now();
                let result = match direction {
                    Direction::Forward => domain.forward(&mut b),
                    Direction::Inverse => domain.inverse(&mut b),
                };
                ours.push(start.elapsed());
                agree &= result.is_ok() && a == b;
            }
            let (peer, ours) = (median(peer), median(ours));
            let op = if direction == Direction::Forward { "ntt forward" } else { "ntt inverse" };
            rows.push(Row {
                op,
                log_n,
                backend: "halo2-axiom best_fft",
                median: peer,
                ratio: None,
                note: String::new(),
            });
            let mut note = if agree { String::new() } else { "RESULT MISMATCH; ".into() };
            if direction == Direction::Forward {
                note = format!("{note}first call, which builds the twiddle table: {}", format_duration(setup));
            }
            rows.push(Row {
                op,
                log_n,
                backend: "cpu twin",
                median: ours,
                ratio: Some(ours.as_secs_f64() / peer.as_secs_f64()),
                note,
            });
            if let Some(gpu) = gpu {
                let transform = |values: &mut [Fr]| match direction {
                    Direction::Forward => gpu.ntt_forward(&mut [values]),
                    Direction::Inverse => gpu.ntt_inverse(&mut [values]),
                };
                let mut c = input.to_vec();
                transform(&mut c).unwrap_or_else(|e| panic!("gpu ntt 2^{log_n}: {e}"));
                let mut times = Vec::new();
                let mut agree = true;
                for _ in 0..reps {
                    c.copy_from_slice(input);
                    let start = Instant::now();
                    transform(&mut c).unwrap_or_else(|e| panic!("gpu ntt 2^{log_n}: {e}"));
                    times.push(start.elapsed());
                    agree &= c == a;
                }
                let time = median(times);
                rows.push(Row {
                    op,
                    log_n,
                    backend: "gpu",
                    median: time,
                    ratio: Some(time.as_secs_f64() / peer.as_secs_f64()),
                    note: format!(
                        "{}includes the copies to and from the device",
                        if agree { "" } else { "RESULT MISMATCH; " }
                    ),
                });
            }
        }
    }
}

fn main() {
    let args = parse_args();
    eprintln!(
        "zkr-kernels bench: msm {:?}, ntt {:?}, {} reps, {} rayon threads",
        args.msm,
        args.ntt,
        args.reps,
        rayon::current_num_threads()
    );
    let gpu = match Gpu::new(0) {
        Ok(gpu) => {
            let info = gpu.info();
            eprintln!(
                "GPU: {} (compute {}.{}, {:.0} GiB)",
                info.name,
                info.compute_capability.0,
                info.compute_capability.1,
                info.total_memory_bytes as f64 / f64::from(1u32 << 30)
            );
            Some(gpu)
        }
        Err(e) => {
            eprintln!("GPU: none, so no gpu rows ({e})");
            None
        }
    };
    let mut rows = Vec::new();
    bench_msm(&args.msm, args.reps, gpu.as_ref(), &mut rows);
    bench_ntt(&args.ntt, args.reps, gpu.as_ref(), &mut rows);

    println!("| op | log2 n | backend | median | ours / peer | note |");
    println!("|---|---:|---|---:|---:|---|");
    for row in &rows {
        let ratio = row.ratio.map_or_else(|| "peer".to_string(), |r| format!("{r:.2}x"));
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            row.op,
            row.log_n,
            row.backend,
            format_duration(row.median),
            ratio,
            row.note
        );
    }
}
