//! The halo2 commitment scheme `MsmKzg`: proofs made through it verify with halo2's standard KZG verifier,
//! tampered ones do not, and its commitments, verifying keys and encoding equal `ParamsKZG`'s.
//!
//! Every test runs on the CPU backend, on the GPU backend over the kernel emulator (the CUDA kernels compiled for
//! the host, `kernels/emu`), and, when a CUDA device is present, on the GPU backend over it; without one it prints
//! `SKIPPED: no CUDA device: <reason>` for that case.
#![allow(clippy::print_stderr)]

#[path = "support/circuit.rs"]
mod circuit;

use std::sync::{Arc, OnceLock};

use circuit::{Chain, Multiopen, prove, verify};
use ff::Field;
use group::Curve;
use halo2_proofs::{
    plonk::{keygen_pk, keygen_vk},
    poly::{
        EvaluationDomain, Polynomial,
        commitment::{Blind, Params, ParamsProver},
        kzg::{
            commitment::{KZGCommitmentScheme, ParamsKZG},
            multiopen::ProverSHPLONK,
        },
    },
};
use halo2curves::bn256::{Bn256, Fr};
use rand::{SeedableRng, rngs::StdRng};
use zkr_kernels::{
    gpu::{Backend, EmulatorOptions, Gpu, GpuError},
    halo2::{GwcProver, MsmKzg, MsmParams, ShplonkProver},
};

const K: u32 = 9;

/// One SRS for every test (a seeded, insecure setup).
fn srs() -> &'static ParamsKZG<Bn256> {
    static SRS: OnceLock<ParamsKZG<Bn256>> = OnceLock::new();
    SRS.get_or_init(|| ParamsKZG::setup(K, StdRng::seed_from_u64(0x6b7a67)))
}

/// The emulated device, shared by the tests.
fn emulator() -> Arc<Gpu> {
    static EMULATOR: OnceLock<Arc<Gpu>> = OnceLock::new();
    Arc::clone(EMULATOR.get_or_init(|| {
        Arc::new(Gpu::emulated(EmulatorOptions::default()).expect("build.rs builds the kernel emulator"))
    }))
}

/// The scheme's params on every backend this machine has: the CPU, the GPU code over the emulator, and the GPU
/// when a device is present.
fn backends() -> Vec<MsmParams> {
    let mut all = vec![MsmParams::new(srs().clone(), Backend::Cpu).expect("the CPU backend is always available")];
    let emulated = MsmParams::on_gpu(srs().clone(), emulator()).expect("the emulator takes the SRS");
    assert_eq!(emulated.backend_name(), "gpu");
    all.push(emulated);
    match MsmParams::new(srs().clone(), Backend::Gpu) {
        Ok(gpu) => {
            assert_eq!(gpu.backend_name(), "gpu");
            all.push(gpu);
        }
        Err(err) => eprintln!("SKIPPED: no CUDA device: {err} (the GPU case of this test did not run)"),
    }
    assert_eq!(all[0].backend_name(), "cpu");
    all
}

fn random_poly<B>(n: usize, rng: &mut StdRng) -> Polynomial<Fr, B> {
    Polynomial::new((0..n).map(|_| Fr::random(&mut *rng)).collect())
}

#[test]
fn auto_without_a_device_runs_on_the_cpu() {
    let auto = MsmParams::new(srs().clone(), Backend::Auto).expect("auto never fails");
    // SAFETY: only tries to load libcuda.
    if unsafe { cudarc::driver::sys::is_culib_present() } {
        eprintln!("NOTE: a CUDA driver is present; Auto selected {}", auto.backend_name());
        return;
    }
    assert_eq!(auto.backend_name(), "cpu");
    assert!(matches!(MsmParams::new(srs().clone(), Backend::Gpu), Err(GpuError::NoDriver)));
}

#[test]
fn commitments_equal_halo2s_for_every_length() {
    let kzg = srs();
    let n = 1usize << K;
    let mut rng = StdRng::seed_from_u64(1);
    for params in backends() {
        // Shorter polynomials use a prefix of the bases (halo2's `assert!(n >= len)` and `&g[..len]`).
        for len in [0, 1, 2, 3, 17, 100, 255, 257, n - 1, n] {
            let blind = Blind(Fr::random(&mut rng));
            let coeff = random_poly(len, &mut rng);
            assert_eq!(
                params.commit(&coeff, blind),
                kzg.commit(&coeff, blind),
                "commit, {} backend, {len} coefficients",
                params.backend_name()
            );
            let lagrange = random_poly(len, &mut rng);
            assert_eq!(
                params.commit_lagrange(&lagrange, blind),
                kzg.commit_lagrange(&lagrange, blind),
                "commit_lagrange, {} backend, {len} values",
                params.backend_name()
            );
        }
        // The two bases describe the same polynomial.
        let domain = EvaluationDomain::<Fr>::new(1, K);
        let values = random_poly(n, &mut rng);
        let coeffs = domain.lagrange_to_coeff(values.clone());
        assert_eq!(
            params.commit(&coeffs, Blind::default()).to_affine(),
            params.commit_lagrange(&values, Blind::default()).to_affine()
        );
        // Degenerate scalars: all zero, all one.
        for value in [Fr::ZERO, Fr::ONE] {
            let poly = Polynomial::new(vec![value; n]);
            assert_eq!(params.commit_lagrange(&poly, Blind::default()), kzg.commit_lagrange(&poly, Blind::default()));
        }
    }
}

#[test]
#[should_panic(expected = "does not fit an SRS")]
fn a_polynomial_longer_than_the_srs_panics_as_in_halo2() {
    let params = MsmParams::cpu(srs().clone());
    let poly = Polynomial::new(vec![Fr::ONE; (1 << K) + 1]);
    let _ = params.commit(&poly, Blind::default());
}

#[test]
fn keys_equal_halo2s() {
    let circuit = Chain { start: Fr::from(3), rows: 300 };
    let reference = keygen_vk(srs(), &circuit).unwrap();
    for params in backends() {
        let vk = keygen_vk(&params, &circuit).unwrap();
        assert_eq!(vk.transcript_repr(), reference.transcript_repr(), "{} backend", params.backend_name());
        assert_eq!(vk.fixed_commitments(), reference.fixed_commitments());
    }
}

#[test]
fn proofs_verify_with_the_standard_verifier_and_tampering_is_rejected() {
    let circuit = Chain { start: Fr::from(5), rows: 400 };
    let instances = circuit.instances();
    let vk = keygen_vk(srs(), &circuit).unwrap();
    let pk = keygen_pk(srs(), vk, &circuit).unwrap();
    let vk = pk.get_vk();

    // The reference: halo2's own prover, for the proof size.
    let plain = prove::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>>(srs(), &pk, &circuit, 1);
    assert!(verify(srs(), vk, Multiopen::Shplonk, &instances, &plain));

    for params in backends() {
        let backend = params.backend_name();
        for multiopen in [Multiopen::Shplonk, Multiopen::Gwc] {
            let proof = match multiopen {
                Multiopen::Shplonk => prove::<MsmKzg, ShplonkProver<'_>>(&params, &pk, &circuit, 2),
                Multiopen::Gwc => prove::<MsmKzg, GwcProver<'_>>(&params, &pk, &circuit, 3),
            };
            if multiopen == Multiopen::Shplonk {
                assert_eq!(proof.len(), plain.len(), "{backend}: same proof shape as halo2's prover");
            }
            // Checked against the SRS as the verifier holds it, and as the params hand it out.
            assert!(verify(srs(), vk, multiopen, &instances, &proof), "{backend} {multiopen:?}: valid proof rejected");
            assert!(verify(params.verifier_params(), vk, multiopen, &instances, &proof));

            // A flipped bit anywhere in the proof (a commitment, an evaluation, the last opening).
            for at in [0, 40, proof.len() / 2, proof.len() - 1] {
                let mut tampered = proof.clone();
                tampered[at] ^= 0x02;
                assert!(
                    !verify(srs(), vk, multiopen, &instances, &tampered),
                    "{backend} {multiopen:?}: proof with byte {at} flipped accepted"
                );
            }
            assert!(!verify(srs(), vk, multiopen, &instances, &proof[..proof.len() - 32]), "truncated proof");
            let wrong = [instances[0], instances[1] + Fr::ONE];
            assert!(!verify(srs(), vk, multiopen, &wrong, &proof), "{backend} {multiopen:?}: wrong public input");
            let other = if multiopen == Multiopen::Shplonk { Multiopen::Gwc } else { Multiopen::Shplonk };
            assert!(!verify(srs(), vk, other, &instances, &proof), "{backend}: verified with the other multi-open");
        }
    }
}

#[test]
fn a_proving_key_made_through_the_scheme_proves_for_halo2s_verifier() {
    let circuit = Chain { start: Fr::from(7), rows: 200 };
    for params in backends() {
        let vk = keygen_vk(&params, &circuit).unwrap();
        let pk = keygen_pk(&params, vk, &circuit).unwrap();
        let proof = prove::<MsmKzg, ShplonkProver<'_>>(&params, &pk, &circuit, 4);
        assert!(verify(srs(), pk.get_vk(), Multiopen::Shplonk, &circuit.instances(), &proof));
    }
}

#[test]
fn downsize_refreshes_the_lagrange_bases() {
    let mut reference = srs().clone();
    reference.downsize(K - 1);
    let mut rng = StdRng::seed_from_u64(5);
    for params in backends() {
        let mut small = params.clone();
        small.downsize(K - 1);
        assert_eq!(small.backend_name(), params.backend_name());
        assert_eq!((small.k(), small.n()), (K - 1, 1 << (K - 1)));
        for len in [1, 100, 1 << (K - 1)] {
            let poly = random_poly(len, &mut rng);
            assert_eq!(
                small.commit_lagrange(&poly, Blind::default()),
                reference.commit_lagrange(&poly, Blind::default())
            );
            let poly = random_poly(len, &mut rng);
            assert_eq!(small.commit(&poly, Blind::default()), reference.commit(&poly, Blind::default()));
        }
        // The clone it came from still commits over the full SRS.
        let poly = random_poly(1 << K, &mut rng);
        assert_eq!(params.commit_lagrange(&poly, Blind::default()), srs().commit_lagrange(&poly, Blind::default()));
    }
}

#[test]
fn params_use_halo2s_encoding() {
    let mut expected = Vec::new();
    srs().write(&mut expected).unwrap();
    let params = MsmParams::cpu(srs().clone());
    let mut written = Vec::new();
    params.write(&mut written).unwrap();
    assert_eq!(written, expected);

    let read = MsmParams::read(&mut written.as_slice()).unwrap();
    assert_eq!(read.backend_name(), "cpu");
    let poly = random_poly(1 << K, &mut StdRng::seed_from_u64(6));
    assert_eq!(read.commit_lagrange(&poly, Blind::default()), srs().commit_lagrange(&poly, Blind::default()));
    // Where halo2's own `read` panics, ours returns errors.
    assert!(MsmParams::read(&mut &written[..written.len() / 2]).is_err(), "a truncated file");
    let mut huge_k = written.clone();
    huge_k[..4].copy_from_slice(&40u32.to_le_bytes());
    assert!(MsmParams::read(&mut huge_k.as_slice()).is_err(), "k past the field's two-adicity");
    let mut out_of_range = written.clone();
    out_of_range[4..36].fill(0xff);
    assert!(MsmParams::read(&mut out_of_range.as_slice()).is_err(), "a coordinate above the modulus");
}
