//! The KZG structured reference string: loading it (or generating a development one), cutting it to a circuit's size,
//! and the few points a verifier needs.
//!
//! Files are halo2's raw format (`SerdeFormat::RawBytesUnchecked`): trusted local files, read without checking every
//! point. A verifier of KZG proofs needs only `g[0]`, `g2` and `s_g2` (the deciding key); loading the SRS writes
//! them to [`VERIFIER_FILE`] (a few hundred bytes) next to it, so that a process that only checks proofs (the
//! coordinator) never reads the SRS itself (128 MiB at k = 20).

use std::{
    fs::{self, File},
    io::BufReader,
    path::{Path, PathBuf},
};

use halo2_base::halo2_proofs::{
    SerdeFormat,
    arithmetic::{Field, parallelize},
    halo2curves::{
        bn256::{Bn256, Fr, G1, G1Affine, G2Affine},
        ff::PrimeField,
        group::{Curve, Group, prime::PrimeCurveAffine},
    },
    poly::{
        commitment::{Params, ParamsProver},
        kzg::commitment::ParamsKZG,
    },
};
use rand::{RngCore, SeedableRng, rngs::StdRng};

use crate::{
    Error,
    error::{io_err, write_atomically},
    progress::{self, Model},
    verifier::DecidingKey,
};

/// The SRS's verifier part in a keys folder: the SRS cut to 2 rows, which keeps `g[0]`, `g2` and `s_g2`.
pub const VERIFIER_FILE: &str = "kzg_bn254_verifier.srs";

/// Rows of the verifier part's file (the smallest SRS halo2 handles without special cases).
const VERIFIER_K: u32 = 1;

/// Loads the KZG parameters for `2^k` rows from `dir`: `kzg_bn254_{k}.srs`, or a larger file there cut down to size.
/// With `dev_setup`, a missing file is generated from local randomness and saved — insecure (whoever ran it knows the
/// toxic waste), for development and CI only; production converts a powers-of-tau ceremony's output. The verifier
/// part ([`VERIFIER_FILE`]) is written next to it when missing or of another SRS.
pub fn load_srs(dir: &Path, k: u32, dev_setup: bool) -> Result<ParamsKZG<Bn256>, Error> {
    let params = read_or_generate(dir, k, dev_setup)?;
    if let Err(err) = write_verifier_part(dir, &params) {
        // Not fatal for a prover; a verifier that needs the file says which one is missing.
        tracing::warn!(%err, "the SRS's verifier part could not be written");
    }
    Ok(params)
}

fn read_or_generate(dir: &Path, k: u32, dev_setup: bool) -> Result<ParamsKZG<Bn256>, Error> {
    for size in k..=26 {
        let path = srs_path(dir, size);
        if path.exists() {
            let mut params = read(&path)?;
            if size > k {
                params.downsize(k);
            }
            return Ok(params);
        }
    }
    if !dev_setup {
        return Err(Error::Io {
            context: format!("no KZG parameters for 2^{k} rows in {}", dir.display()),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "pass a powers-of-tau file converted to kzg_bn254_<k>.srs",
            ),
        });
    }
    tracing::warn!(
        k,
        dir = %dir.display(),
        "generating an INSECURE development SRS from local randomness; never use these keys or proofs in production"
    );
    let stage = progress::start(dir, &format!("srs_k{k}"), Model::Srs.estimate(k), true);
    let params = self::dev_setup(k, StdRng::from_entropy());
    stage.finish();
    fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
    write(&srs_path(dir, k), &params)?;
    Ok(params)
}

/// `srs` cut down to `2^k` rows (for the chunk circuit, from the aggregation circuit's larger parameters).
///
/// Cutting recomputes the Lagrange basis of the smaller domain, an FFT over G1 (about a minute at `2^16` rows on two
/// cores); [`downsized_in`] keeps the result on disk.
pub fn downsized(srs: &ParamsKZG<Bn256>, k: u32) -> ParamsKZG<Bn256> {
    let mut params = srs.clone();
    if params.k() > k {
        params.downsize(k);
    }
    params
}

/// [`downsized`], read from `dir`'s `kzg_bn254_<k>.srs` when that file is `srs` cut down (same `s`), else computed
/// and written there for the next process. A file of another SRS is replaced.
pub fn downsized_in(dir: &Path, srs: &ParamsKZG<Bn256>, k: u32) -> ParamsKZG<Bn256> {
    if srs.k() <= k {
        return srs.clone();
    }
    let path = srs_path(dir, k);
    if let Ok(cached) = read(&path)
        && cached.k() == k
        && cached.s_g2() == srs.s_g2()
        && cached.get_g().get(1) == srs.get_g().get(1)
    {
        return cached;
    }
    let params = downsized(srs, k);
    if let Err(err) = write(&path, &params) {
        tracing::warn!(%err, "the cut-down SRS could not be cached");
    }
    params
}

/// An insecure SRS for `2^k` rows from `rng`: exactly what `ParamsKZG::setup(k, rng)` makes for the same `rng` (the
/// secret `s` is its first draw), computed about ten times faster. halo2 multiplies the generator by each power of `s`
/// and by each Lagrange coefficient with a generic scalar multiplication; here both bases are fixed-base products of
/// the generator with one precomputed table, and the Lagrange coefficients `Lᵢ(s) = ωⁱ (sⁿ − 1) / (n (s − ωⁱ))` take
/// one batched inversion.
pub fn dev_setup(k: u32, mut rng: impl RngCore) -> ParamsKZG<Bn256> {
    assert!(k <= Fr::S, "no 2^{k}-th root of unity in the scalar field");
    let n = 1usize << k;
    let s = Fr::random(&mut rng);

    let mut powers = vec![Fr::ONE; n];
    for i in 1..n {
        powers[i] = powers[i - 1] * s;
    }
    let mut omega = Fr::ROOT_OF_UNITY_INV.invert().unwrap_or(Fr::ONE);
    for _ in k..Fr::S {
        omega = omega.square();
    }
    let mut omegas = vec![Fr::ONE; n];
    for i in 1..n {
        omegas[i] = omegas[i - 1] * omega;
    }
    let mut inverses: Vec<Fr> = omegas.iter().map(|w| s - w).collect();
    halo2_base::halo2_proofs::halo2curves::ff::BatchInvert::batch_invert(inverses.iter_mut());
    let n_inv = Fr::from(n as u64).invert().unwrap_or(Fr::ONE);
    let multiplier = (s.pow_vartime([n as u64]) - Fr::ONE) * n_inv;
    let lagrange: Vec<Fr> = omegas.iter().zip(&inverses).map(|(w, inv)| multiplier * w * inv).collect();

    let table = FixedBase::of(G1::generator());
    let g = table.mul_all(&powers);
    let g_lagrange = table.mul_all(&lagrange);
    let g2 = G2Affine::generator();
    let s_g2 = (g2 * s).to_affine();
    // `from_parts` is a method; a one-row SRS (cheap) lends it its receiver.
    ParamsKZG::<Bn256>::setup(0, StdRng::seed_from_u64(0)).from_parts(k, g, Some(g_lagrange), g2, s_g2)
}

/// Multiples of one point by many scalars: a table of `d · 2^(8j) · P` for every byte position `j` and byte `d`, so a
/// product is 32 mixed additions.
struct FixedBase {
    windows: Vec<Vec<G1Affine>>,
}

impl FixedBase {
    fn of(point: G1) -> Self {
        let mut windows = Vec::with_capacity(32);
        let mut base = point;
        for _ in 0..32 {
            let mut row = vec![G1::identity(); 256];
            for d in 1..256 {
                row[d] = row[d - 1] + base;
            }
            let mut affine = vec![G1Affine::identity(); 256];
            G1::batch_normalize(&row, &mut affine);
            windows.push(affine);
            for _ in 0..8 {
                base = base.double();
            }
        }
        Self { windows }
    }

    fn mul(&self, scalar: &Fr) -> G1 {
        let bytes = scalar.to_repr();
        let mut acc = G1::identity();
        for (window, byte) in self.windows.iter().zip(bytes.as_ref()) {
            if *byte != 0 {
                acc += window[usize::from(*byte)];
            }
        }
        acc
    }

    fn mul_all(&self, scalars: &[Fr]) -> Vec<G1Affine> {
        let mut projective = vec![G1::identity(); scalars.len()];
        parallelize(&mut projective, |chunk, start| {
            for (out, scalar) in chunk.iter_mut().zip(&scalars[start..]) {
                *out = self.mul(scalar);
            }
        });
        let mut affine = vec![G1Affine::identity(); scalars.len()];
        parallelize(&mut affine, |chunk, start| {
            G1::batch_normalize(&projective[start..start + chunk.len()], chunk);
        });
        affine
    }
}

/// The deciding key of `srs`: the points a KZG verifier reads (`g[0]`, `g2`, `s_g2`).
pub fn deciding_key_of(srs: &ParamsKZG<Bn256>) -> DecidingKey {
    (srs.get_g()[0], srs.g2(), srs.s_g2()).into()
}

/// The deciding key from the SRS's verifier part in `dir` ([`VERIFIER_FILE`]), without reading the SRS: it verifies
/// proofs and generates the EVM verifier; it cannot prove or generate keys.
pub fn deciding_key(dir: &Path) -> Result<DecidingKey, Error> {
    Ok(deciding_key_of(&read(&dir.join(VERIFIER_FILE))?))
}

/// Writes the verifier part of `srs` into `dir`, unless the file there is already this SRS's.
fn write_verifier_part(dir: &Path, srs: &ParamsKZG<Bn256>) -> Result<(), Error> {
    let path = dir.join(VERIFIER_FILE);
    if let Ok(existing) = read(&path)
        && existing.s_g2() == srs.s_g2()
        && existing.get_g().first() == srs.get_g().first()
    {
        return Ok(());
    }
    write(&path, &downsized(srs, VERIFIER_K))
}

fn srs_path(dir: &Path, k: u32) -> PathBuf {
    dir.join(format!("kzg_bn254_{k}.srs"))
}

fn read(path: &Path) -> Result<ParamsKZG<Bn256>, Error> {
    let file = File::open(path).map_err(io_err(format!("opening {}", path.display())))?;
    ParamsKZG::<Bn256>::read_custom(&mut BufReader::new(file), SerdeFormat::RawBytesUnchecked)
        .map_err(io_err(format!("reading {}", path.display())))
}

fn write(path: &Path, params: &ParamsKZG<Bn256>) -> Result<(), Error> {
    write_atomically(path, |file| params.write_custom(file, SerdeFormat::RawBytesUnchecked))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(params: &ParamsKZG<Bn256>) -> Vec<u8> {
        let mut out = Vec::new();
        params.write_custom(&mut out, SerdeFormat::RawBytesUnchecked).unwrap();
        out
    }

    #[test]
    fn the_fast_development_setup_is_halo2s_for_the_same_randomness() {
        for k in [1, 5, 9] {
            let fast = dev_setup(k, StdRng::seed_from_u64(u64::from(k)));
            let halo2 = ParamsKZG::<Bn256>::setup(k, StdRng::seed_from_u64(u64::from(k)));
            assert_eq!(bytes(&fast), bytes(&halo2), "k = {k}");
        }
        assert_ne!(
            bytes(&dev_setup(5, StdRng::seed_from_u64(1))),
            bytes(&dev_setup(5, StdRng::seed_from_u64(2))),
            "the secret comes from the randomness"
        );
    }

    #[test]
    fn a_cut_down_srs_is_cached_and_one_of_another_srs_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let srs = dev_setup(8, StdRng::seed_from_u64(8));
        let expected = bytes(&downsized(&srs, 5));
        assert_eq!(bytes(&downsized_in(dir.path(), &srs, 5)), expected);
        let file = srs_path(dir.path(), 5);
        assert_eq!(std::fs::read(&file).unwrap(), expected, "written for the next process");
        assert_eq!(bytes(&downsized_in(dir.path(), &srs, 5)), expected, "read back");

        // A file left by another SRS is not taken for this one's.
        let other = dev_setup(8, StdRng::seed_from_u64(9));
        assert_eq!(bytes(&downsized_in(dir.path(), &other, 5)), bytes(&downsized(&other, 5)));
        assert_eq!(std::fs::read(&file).unwrap(), bytes(&downsized(&other, 5)));
        // No cut: the SRS itself.
        assert_eq!(bytes(&downsized_in(dir.path(), &srs, 8)), bytes(&srs));
    }
}
