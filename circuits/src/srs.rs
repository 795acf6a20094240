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
    halo2curves::bn256::Bn256,
    poly::{
        commitment::{Params, ParamsProver},
        kzg::commitment::ParamsKZG,
    },
};
use rand::{SeedableRng, rngs::StdRng};

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
    let params = ParamsKZG::<Bn256>::setup(k, StdRng::from_entropy());
    stage.finish();
    fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
    write(&srs_path(dir, k), &params)?;
    Ok(params)
}

/// `srs` cut down to `2^k` rows (for the chunk circuit, from the aggregation circuit's larger parameters).
pub fn downsized(srs: &ParamsKZG<Bn256>, k: u32) -> ParamsKZG<Bn256> {
    let mut params = srs.clone();
    if params.k() > k {
        params.downsize(k);
    }
    params
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
