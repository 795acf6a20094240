//! Real proofs: the SRS, keys cached on disk, chunk proofs, their aggregation, and the EVM verifier.
//!
//! Chunk proofs use the Poseidon transcript (cheap to verify inside the aggregation circuit); the aggregation proof
//! uses the keccak transcript the EVM verifier expects. Every proof made here is verified natively before it is
//! returned, and a proof received from elsewhere is verified with [`ChunkKeys::verify`] before it is aggregated.
//!
//! Both proofs are made through [`MsmKzg`] (`zkr_kernels::halo2`): every commitment of the PLONK rounds runs our
//! MSM, on the GPU with the SRS resident on the device or on its CPU twin, as the [`MsmDevice`] chosen at load time
//! says (`--prover.backend auto|gpu|cpu`). The proofs are ordinary halo2 KZG proofs: keys, verification, the
//! aggregation circuit's view of a chunk proof and the EVM verifier all use the plain [`ParamsKZG`].
//!
//! ```text
//!  load_srs ──► ParamsKZG (aggregation k) ──downsize──► ParamsKZG (chunk k)
//!                   │                                      │
//!                   └──── MsmDevice::wrap: MsmParams ──────┘   (GPU: both bases uploaded once; CPU: a host copy
//!                                  │                            of g_lagrange, 64 bytes a point)
//!  create_proof::<MsmKzg, ShplonkProver> ──► proof ──► verify_proof::<KZGCommitmentScheme, VerifierSHPLONK>
//! ```

use std::{
    fs::{self, File},
    io::{self, BufReader, BufWriter},
    path::{Path, PathBuf},
    sync::Arc,
};

use halo2_base::{
    gates::{
        circuit::{CircuitBuilderStage, builder::BaseCircuitBuilder},
        flex_gate::MultiPhaseThreadBreakPoints,
    },
    halo2_proofs::{
        SerdeFormat,
        halo2curves::bn256::{Bn256, Fr, G1Affine},
        plonk::{ProvingKey, VerifyingKey, create_proof, keygen_pk, keygen_vk, verify_proof},
        poly::{
            VerificationStrategy,
            commitment::{Params, ParamsProver},
            kzg::{commitment::ParamsKZG, multiopen::VerifierSHPLONK, strategy::AccumulatorStrategy},
        },
        transcript::{TranscriptReadBuffer, TranscriptWriterBuffer},
    },
};
use rand::{SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::{
    CircuitExt, SHPLONK, Snark,
    evm::gen_evm_verifier_sol_code,
    halo2::{
        POSEIDON_SPEC, PoseidonTranscript,
        aggregation::{AggregationCircuit, AggregationConfigParams, VerifierUniversality},
        gen_dummy_snark_from_vk,
    },
    snark_verifier::{
        loader::native::NativeLoader,
        system::halo2::{Config, compile, transcript::evm::EvmTranscript},
    },
};
use zkr_kernels::{
    gpu::{Backend, DeviceInfo, Gpu, GpuError, Selected},
    halo2::{MsmKzg, MsmParams, ShplonkProver},
};
use zkr_protocol::{
    ChunkWitness,
    chunk::CHUNK_PUBLIC_INPUTS,
    statement::{ACCUMULATOR_LIMBS, CHAINED, batch_statement, batch_statement_len},
};

use crate::{
    ChunkCircuit, ChunkCircuitParams,
    chunk::{CHUNK_CIRCUIT_REVISION, public_inputs},
    progress::{self, Model},
};

/// Why proving failed.
#[derive(Debug, thiserror::Error)]
pub enum ProverError {
    /// Reading or writing keys or the SRS.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: io::Error,
    },
    /// The witness does not fit the circuit.
    #[error(transparent)]
    Circuit(#[from] crate::ChunkCircuitError),
    /// halo2 refused (unsatisfied circuit, wrong sizes).
    #[error("halo2: {0}")]
    Halo2(String),
    /// The proof produced does not verify: the witness is wrong.
    #[error("the proof does not verify: the witness does not satisfy the circuit")]
    Unsatisfied,
    /// The inputs to aggregation are wrong.
    #[error("aggregation: {0}")]
    Aggregation(String),
    /// Bytes received from another process do not decode.
    #[error("encoding: {0}")]
    Encoding(String),
    /// The GPU backend was asked for (`--prover.backend gpu`) and cannot be used: no driver or device, the kernels
    /// do not load, or the SRS does not fit on the device.
    #[error("the GPU cannot be used: {0}")]
    Backend(#[source] GpuError),
}

impl ProverError {
    /// Whether trying again (on this or another machine) may succeed: resource and I/O failures, as opposed to inputs
    /// that cannot be proven.
    pub const fn is_retryable(&self) -> bool {
        matches!(self, Self::Io { .. } | Self::Halo2(_))
    }
}

const TARGET: &str = "circuits::prover";

/// Where a prover's commitments (the MSMs of every PLONK round) run: a CUDA device, with the SRS kept resident, or
/// the MSM's CPU twin. Chosen once per process, before any SRS is loaded, so that a worker can say which backend it
/// proves with before it learns its setup. Clones share the device.
#[derive(Debug, Clone)]
pub struct MsmDevice {
    gpu: Option<Arc<Gpu>>,
    /// `Backend::Auto` chose the GPU: a failed SRS upload moves the prover to the CPU instead of failing.
    fallback: bool,
}

impl MsmDevice {
    /// Selects the device for `backend` (`zkr_kernels::gpu::select`, device 0): `Gpu` takes the GPU or fails,
    /// `Auto` takes it when it works and otherwise the CPU (the reason is logged as a warning), `Cpu` never touches
    /// CUDA.
    ///
    /// # Errors
    ///
    /// [`ProverError::Backend`], only for `Backend::Gpu`.
    pub fn select(backend: Backend) -> Result<Self, ProverError> {
        let device = match zkr_kernels::gpu::select(backend).map_err(ProverError::Backend)? {
            Selected::Gpu(gpu) => Self { gpu: Some(Arc::from(gpu)), fallback: backend == Backend::Auto },
            Selected::Cpu { .. } => Self::cpu(),
        };
        tracing::info!(
            target: TARGET,
            requested = %backend,
            selected = device.name(),
            gpu = device.gpu().map(|info| info.name.as_str()),
            "proving backend selected"
        );
        Ok(device)
    }

    /// The CPU twin of the MSM.
    pub const fn cpu() -> Self {
        Self { gpu: None, fallback: false }
    }

    /// `"gpu"` or `"cpu"`.
    pub const fn name(&self) -> &'static str {
        if self.gpu.is_some() { "gpu" } else { "cpu" }
    }

    /// The device's model and memory, when the GPU was selected.
    pub fn gpu(&self) -> Option<&DeviceInfo> {
        self.gpu.as_deref().map(Gpu::info)
    }

    /// The prover parameters of `agg` and `chunk` on this device, and the device they ended up on. On the GPU both
    /// SRSs are uploaded here, once; if an upload fails, a device chosen by `Backend::Auto` gives way to the CPU (with
    /// a warning) and one chosen by `Backend::Gpu` fails.
    fn wrap(
        &self,
        agg: ParamsKZG<Bn256>,
        chunk: ParamsKZG<Bn256>,
    ) -> Result<(Self, MsmParams, MsmParams), ProverError> {
        let Some(gpu) = &self.gpu else {
            return Ok((Self::cpu(), MsmParams::cpu(agg), MsmParams::cpu(chunk)));
        };
        // `MsmParams::on_gpu` consumes the params; the CPU fallback needs them back (a transient copy).
        let spare = self.fallback.then(|| (agg.clone(), chunk.clone()));
        let uploaded = MsmParams::on_gpu(agg, Arc::clone(gpu))
            .and_then(|agg| MsmParams::on_gpu(chunk, Arc::clone(gpu)).map(|chunk| (agg, chunk)));
        match (uploaded, spare) {
            (Ok((agg, chunk)), _) => Ok((self.clone(), agg, chunk)),
            (Err(err), Some((agg, chunk))) => {
                tracing::warn!(target: TARGET, %err, "uploading the SRS to the GPU failed; proving on the CPU");
                Ok((Self::cpu(), MsmParams::cpu(agg), MsmParams::cpu(chunk)))
            }
            (Err(err), None) => Err(ProverError::Backend(err)),
        }
    }
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> ProverError {
    let context = context.into();
    move |source| ProverError::Io { context, source }
}

/// Loads the KZG parameters for `2^k` rows from `dir`: `kzg_bn254_{k}.srs`, or a larger file there cut down to size.
/// Files are halo2's raw format (`SerdeFormat::RawBytesUnchecked`): trusted local files, read without checking every
/// point. With `dev_setup`, a missing file is generated from local randomness and saved — insecure (whoever ran it
/// knows the toxic waste), for development and CI only; production converts a powers-of-tau ceremony's output.
pub fn load_srs(dir: &Path, k: u32, dev_setup: bool) -> Result<ParamsKZG<Bn256>, ProverError> {
    for size in k..=26 {
        let path = srs_path(dir, size);
        if path.exists() {
            let file = File::open(&path).map_err(io_err(format!("opening {}", path.display())))?;
            let mut params = ParamsKZG::<Bn256>::read_custom(&mut BufReader::new(file), SerdeFormat::RawBytesUnchecked)
                .map_err(io_err(format!("reading {}", path.display())))?;
            if size > k {
                params.downsize(k);
            }
            return Ok(params);
        }
    }
    if !dev_setup {
        return Err(ProverError::Io {
            context: format!("no KZG parameters for 2^{k} rows in {}", dir.display()),
            source: io::Error::new(io::ErrorKind::NotFound, "pass a powers-of-tau file converted to kzg_bn254_<k>.srs"),
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
    let path = srs_path(dir, k);
    let tmp = path.with_extension("tmp");
    let mut file = BufWriter::new(File::create(&tmp).map_err(io_err(format!("creating {}", tmp.display())))?);
    params
        .write_custom(&mut file, SerdeFormat::RawBytesUnchecked)
        .map_err(io_err(format!("writing {}", tmp.display())))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(io_err(format!("renaming {}", tmp.display())))?;
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

fn srs_path(dir: &Path, k: u32) -> PathBuf {
    dir.join(format!("kzg_bn254_{k}.srs"))
}

impl CircuitExt<Fr> for ChunkCircuit {
    fn num_instance(&self) -> Vec<usize> {
        vec![CHUNK_PUBLIC_INPUTS]
    }

    fn instances(&self) -> Vec<Vec<Fr>> {
        Self::instances(self)
    }
}

/// What key generation fixes besides the keys: written next to them.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ChunkKeyMeta {
    params: ChunkCircuitParams,
    break_points: MultiPhaseThreadBreakPoints,
}

/// The keys of a chunk circuit.
#[derive(Debug)]
pub struct ChunkKeys {
    params: ChunkCircuitParams,
    break_points: MultiPhaseThreadBreakPoints,
    pk: ProvingKey<G1Affine>,
}

impl ChunkKeys {
    /// Generates the keys for `params` with `srs` (of exactly `2^k` rows).
    pub fn generate(srs: &ParamsKZG<Bn256>, params: ChunkCircuitParams) -> Result<Self, ProverError> {
        let circuit = ChunkCircuit::keygen(params.clone());
        let vk = keygen_vk(srs, &circuit).map_err(|e| ProverError::Halo2(format!("{e:?}")))?;
        let pk = keygen_pk(srs, vk, &circuit).map_err(|e| ProverError::Halo2(format!("{e:?}")))?;
        Ok(Self { break_points: circuit.break_points(), params, pk })
    }

    /// Loads the keys for `params` from `dir`, or generates and saves them. The file name is derived from the
    /// parameters, so keys of another shape are never picked up.
    pub fn load_or_generate(
        dir: &Path,
        srs: &ParamsKZG<Bn256>,
        params: ChunkCircuitParams,
    ) -> Result<Self, ProverError> {
        let name = format!(
            "chunk_r{CHUNK_CIRCUIT_REVISION}_k{}_s{}_{}",
            params.shape.k,
            params.shape.slots,
            hex_prefix(&serde_json::to_vec(&params).unwrap_or_default())
        );
        let (meta, pk) = cached_keys::<ChunkCircuit, ChunkKeyMeta>(
            dir,
            &name,
            |meta| meta.params.clone(),
            || {
                let k = params.shape.k;
                let stage = progress::start(dir, &format!("{name}_keys"), Model::ChunkKeys.estimate(k), true);
                let keys = Self::generate(srs, params)?;
                stage.finish();
                Ok((ChunkKeyMeta { params: keys.params, break_points: keys.break_points }, keys.pk))
            },
        )?;
        Ok(Self { params: meta.params, break_points: meta.break_points, pk })
    }

    /// The circuit parameters.
    pub const fn params(&self) -> &ChunkCircuitParams {
        &self.params
    }

    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }

    /// Proves a chunk with `params` (the SRS of exactly `2^k` rows, on its [`MsmDevice`]); the proof is checked with
    /// halo2's standard verifier before it is returned.
    pub fn prove(&self, params: &MsmParams, witness: ChunkWitness) -> Result<Snark, ProverError> {
        let instances = vec![public_inputs(&witness)];
        let circuit = ChunkCircuit::prover(self.params.clone(), witness, self.break_points.clone())?;
        let mut transcript = PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(vec![], POSEIDON_SPEC.clone());
        let refs: Vec<&[Fr]> = instances.iter().map(Vec::as_slice).collect();
        create_proof::<MsmKzg, ShplonkProver<'_>, _, _, _, _>(
            params,
            &self.pk,
            &[circuit],
            &[refs.as_slice()],
            StdRng::from_entropy(),
            &mut transcript,
        )
        .map_err(|e| ProverError::Halo2(format!("{e:?}")))?;
        let srs = params.kzg();
        let snark = Snark::new(self.protocol(srs), instances, transcript.finalize());
        if !self.verify(srs, &snark) {
            return Err(ProverError::Unsatisfied);
        }
        Ok(snark)
    }

    /// Verifies a chunk proof natively.
    pub fn verify(&self, srs: &ParamsKZG<Bn256>, snark: &Snark) -> bool {
        if snark.instances.len() != 1 || snark.instances[0].len() != CHUNK_PUBLIC_INPUTS {
            return false;
        }
        let refs: Vec<&[Fr]> = snark.instances.iter().map(Vec::as_slice).collect();
        let mut transcript = PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(snark.proof(), POSEIDON_SPEC.clone());
        verify_proof::<_, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            srs.verifier_params(),
            self.vk(),
            AccumulatorStrategy::new(srs.verifier_params()),
            &[refs.as_slice()],
            &mut transcript,
        )
        .is_ok_and(VerificationStrategy::<_, VerifierSHPLONK<'_, Bn256>>::finalize)
    }

    /// The proof system's description of the circuit, for aggregation.
    pub fn protocol(
        &self,
        srs: &ParamsKZG<Bn256>,
    ) -> snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol<G1Affine> {
        compile(srs, self.vk(), Config::kzg().with_num_instance(vec![CHUNK_PUBLIC_INPUTS]))
    }
}

/// Keys cached in `dir` as `<name>.json` (what key generation fixed besides the key) and `<name>.pk`: read when both
/// are there, else generated and written (the key through a temporary file, so a crash never leaves half a key).
fn cached_keys<C, M>(
    dir: &Path,
    name: &str,
    circuit_params: impl Fn(&M) -> C::Params,
    generate: impl FnOnce() -> Result<(M, ProvingKey<G1Affine>), ProverError>,
) -> Result<(M, ProvingKey<G1Affine>), ProverError>
where
    C: halo2_base::halo2_proofs::plonk::Circuit<Fr>,
    M: Serialize + serde::de::DeserializeOwned,
{
    let pk_path = dir.join(format!("{name}.pk"));
    let meta_path = dir.join(format!("{name}.json"));
    if let (Ok(meta), Ok(pk_file)) = (fs::read(&meta_path), File::open(&pk_path)) {
        let meta: M = serde_json::from_slice(&meta)
            .map_err(|e| io_err(format!("reading {}", meta_path.display()))(io::Error::other(e)))?;
        let pk = ProvingKey::read::<_, C>(
            &mut BufReader::new(pk_file),
            SerdeFormat::RawBytesUnchecked,
            circuit_params(&meta),
        )
        .map_err(io_err(format!("reading {}", pk_path.display())))?;
        return Ok((meta, pk));
    }
    let (meta, pk) = generate()?;
    fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
    write_pk(&pk_path, &pk)?;
    let json = serde_json::to_vec_pretty(&meta)
        .map_err(|e| io_err(format!("encoding {}", meta_path.display()))(io::Error::other(e)))?;
    fs::write(&meta_path, json).map_err(io_err(format!("writing {}", meta_path.display())))?;
    Ok((meta, pk))
}

fn write_pk(path: &Path, pk: &ProvingKey<G1Affine>) -> Result<(), ProverError> {
    let tmp = path.with_extension("tmp");
    let mut file = BufWriter::new(File::create(&tmp).map_err(io_err(format!("creating {}", tmp.display())))?);
    pk.write(&mut file, SerdeFormat::RawBytesUnchecked).map_err(io_err(format!("writing {}", tmp.display())))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err(format!("renaming {}", tmp.display())))
}

fn hex_prefix(bytes: &[u8]) -> String {
    let digest = alloy_primitives::keccak256(bytes);
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// The aggregation of `chunks` chunk proofs into one batch proof, verifiable on the EVM.
///
/// The circuit verifies each chunk proof against the chunk circuit's verifying key (a constant of the circuit, so only
/// proofs of that circuit are accepted), chains them (each chunk starts from the state root and deposit hash the
/// previous one ended with), and exposes, after the accumulator, the batch's public inputs in the layout the Rollup
/// contract builds (`zkr_protocol::statement`).
#[derive(Debug)]
pub struct AggregationKeys {
    chunks: usize,
    config: AggregationConfigParams,
    break_points: MultiPhaseThreadBreakPoints,
    pk: ProvingKey<G1Affine>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AggregationKeyMeta {
    chunks: usize,
    config: AggregationConfigParams,
    break_points: MultiPhaseThreadBreakPoints,
}

/// A batch proof: the public inputs (accumulator first) and the proof bytes, as the EVM verifier takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchProof {
    /// Every public input, accumulator limbs first.
    pub instances: Vec<Fr>,
    /// The proof (keccak transcript).
    pub proof: Vec<u8>,
}

impl AggregationKeys {
    /// Generates the aggregation keys for `chunks` chunk proofs of `chunk_keys` (made with `chunk_srs`), on
    /// `agg_srs` (its size is the aggregation circuit's).
    pub fn generate(
        agg_srs: &ParamsKZG<Bn256>,
        chunk_srs: &ParamsKZG<Bn256>,
        chunk_keys: &ChunkKeys,
        chunks: usize,
    ) -> Result<Self, ProverError> {
        let k = agg_srs.k();
        let dummy: Vec<Snark> = (0..chunks)
            .map(|_| gen_dummy_snark_from_vk::<SHPLONK>(chunk_srs, chunk_keys.vk(), vec![CHUNK_PUBLIC_INPUTS], None))
            .collect();
        let config = AggregationConfigParams { degree: k, lookup_bits: k as usize - 1, ..Default::default() };
        let mut circuit = build_aggregation(CircuitBuilderStage::Keygen, config, chunk_srs, dummy)?;
        let config = circuit.calculate_params(Some(20));
        let vk = keygen_vk(agg_srs, &circuit).map_err(|e| ProverError::Halo2(format!("{e:?}")))?;
        let pk = keygen_pk(agg_srs, vk, &circuit).map_err(|e| ProverError::Halo2(format!("{e:?}")))?;
        Ok(Self { chunks, config, break_points: circuit.break_points(), pk })
    }

    /// Loads the keys from `dir` or generates and saves them.
    pub fn load_or_generate(
        dir: &Path,
        agg_srs: &ParamsKZG<Bn256>,
        chunk_srs: &ParamsKZG<Bn256>,
        chunk_keys: &ChunkKeys,
        chunks: usize,
    ) -> Result<Self, ProverError> {
        let chunk_name = hex_prefix(&serde_json::to_vec(chunk_keys.params()).unwrap_or_default());
        let name = format!("aggregation_k{}_n{chunks}_r{CHUNK_CIRCUIT_REVISION}_{chunk_name}", agg_srs.k());
        let (meta, pk) = cached_keys::<AggregationCircuit, AggregationKeyMeta>(
            dir,
            &name,
            |meta| meta.config,
            || {
                let model = Model::AggregationKeys(chunks).estimate(agg_srs.k());
                let stage = progress::start(dir, &format!("{name}_keys"), model, true);
                let keys = Self::generate(agg_srs, chunk_srs, chunk_keys, chunks)?;
                stage.finish();
                let meta =
                    AggregationKeyMeta { chunks: keys.chunks, config: keys.config, break_points: keys.break_points };
                Ok((meta, keys.pk))
            },
        )?;
        Ok(Self { chunks: meta.chunks, config: meta.config, break_points: meta.break_points, pk })
    }

    /// Number of chunk proofs per batch proof.
    pub const fn chunks(&self) -> usize {
        self.chunks
    }

    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }

    /// Aggregates exactly [`AggregationKeys::chunks`] verified chunk proofs, in batch order, proving with
    /// `agg_params` (the aggregation circuit's SRS on its [`MsmDevice`]); `chunk_srs` is the chunk proofs' SRS.
    pub fn prove(
        &self,
        agg_params: &MsmParams,
        chunk_srs: &ParamsKZG<Bn256>,
        snarks: Vec<Snark>,
    ) -> Result<BatchProof, ProverError> {
        if snarks.len() != self.chunks {
            return Err(ProverError::Aggregation(format!("{} chunk proofs for {} slots", snarks.len(), self.chunks)));
        }
        for pair in snarks.windows(2) {
            let (a, b) = (&pair[0].instances[0], &pair[1].instances[0]);
            if a[1] != b[0] || a[6] != b[4] || a[7] != b[5] {
                return Err(ProverError::Aggregation("consecutive chunks do not chain".into()));
            }
        }
        let mut circuit = build_aggregation(CircuitBuilderStage::Prover, self.config, chunk_srs, snarks)?;
        circuit.set_break_points(self.break_points.clone());
        let instances = circuit.instances();
        let refs: Vec<&[Fr]> = instances.iter().map(Vec::as_slice).collect();
        let mut transcript = TranscriptWriterBuffer::<_, G1Affine, _>::init(Vec::new());
        create_proof::<MsmKzg, ShplonkProver<'_>, _, _, EvmTranscript<_, _, _, _>, _>(
            agg_params,
            &self.pk,
            &[circuit],
            &[refs.as_slice()],
            StdRng::from_entropy(),
            &mut transcript,
        )
        .map_err(|e| ProverError::Halo2(format!("{e:?}")))?;
        let proof = BatchProof { instances: instances[0].clone(), proof: transcript.finalize() };
        if !self.verify(agg_params.kzg(), &proof) {
            return Err(ProverError::Unsatisfied);
        }
        Ok(proof)
    }

    /// Verifies a batch proof natively (the same check as the EVM verifier).
    pub fn verify(&self, agg_srs: &ParamsKZG<Bn256>, proof: &BatchProof) -> bool {
        let instances = [proof.instances.as_slice()];
        let mut transcript = TranscriptReadBuffer::<_, G1Affine, _>::init(proof.proof.as_slice());
        verify_proof::<_, VerifierSHPLONK<'_, Bn256>, _, EvmTranscript<_, _, _, _>, _>(
            agg_srs.verifier_params(),
            self.vk(),
            AccumulatorStrategy::new(agg_srs.verifier_params()),
            &[instances.as_slice()],
            &mut transcript,
        )
        .is_ok_and(VerificationStrategy::<_, VerifierSHPLONK<'_, Bn256>>::finalize)
    }

    /// Solidity source of the EVM verifier of this aggregation circuit (snark-verifier's generator).
    pub fn evm_verifier_source(&self, agg_srs: &ParamsKZG<Bn256>) -> String {
        gen_evm_verifier_sol_code::<AggregationCircuit, SHPLONK>(
            agg_srs,
            self.vk(),
            vec![ACCUMULATOR_LIMBS + batch_statement_len(self.chunks)],
        )
    }
}

/// The aggregation circuit over `snarks` with the chaining constraints and the batch's public inputs.
fn build_aggregation(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    chunk_srs: &ParamsKZG<Bn256>,
    snarks: Vec<Snark>,
) -> Result<AggregationCircuit, ProverError> {
    if snarks.is_empty() {
        return Err(ProverError::Aggregation("no chunk proofs".into()));
    }
    let mut circuit = AggregationCircuit::new::<SHPLONK>(stage, config, chunk_srs, snarks, VerifierUniversality::None);
    let chunks: Vec<_> = circuit.previous_instances().clone();
    if chunks.iter().any(|c| c.len() != CHUNK_PUBLIC_INPUTS) {
        return Err(ProverError::Aggregation("a chunk proof with the wrong number of public inputs".into()));
    }
    let builder: &mut BaseCircuitBuilder<Fr> = &mut circuit.builder;
    let ctx = builder.main(0);
    for pair in chunks.windows(2) {
        for (this, next) in CHAINED {
            ctx.constrain_equal(&pair[0][this], &pair[1][next]);
        }
    }
    builder.assigned_instances[0].extend(batch_statement(chunks.len()).into_iter().map(|(j, input)| chunks[j][input]));
    Ok(circuit)
}

/// Where keys live and which circuits they are for: everything a prover process is configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProverConfig {
    /// Folder of the SRS and the keys.
    pub dir: PathBuf,
    /// The chunk circuit's shape.
    pub chunk: crate::ChunkShape,
    /// Chunk proofs per batch proof.
    pub chunks_per_batch: usize,
    /// log2 rows of the aggregation circuit.
    pub aggregation_k: u32,
    /// The chain's fee recipient.
    pub fee_recipient: alloy_primitives::Address,
    /// Generate an insecure SRS when none is in `dir` (development and CI only).
    pub dev_srs: bool,
}

/// Encodes field elements as 32-byte little-endian words (halo2's representation), as they travel between processes.
pub fn encode_field_elements(values: &[Fr]) -> Vec<Vec<u8>> {
    values.iter().map(|v| halo2_base::halo2_proofs::halo2curves::ff::PrimeField::to_repr(v).as_ref().to_vec()).collect()
}

/// Decodes 32-byte little-endian words into field elements, refusing any word that is not exactly 32 bytes or not
/// below the field's modulus (a non-canonical encoding).
pub fn decode_field_elements(words: &[Vec<u8>]) -> Result<Vec<Fr>, ProverError> {
    words
        .iter()
        .enumerate()
        .map(|(i, word)| {
            let repr: [u8; 32] =
                word.as_slice().try_into().map_err(|_| ProverError::Encoding(format!("word {i} is not 32 bytes")))?;
            Option::from(<Fr as halo2_base::halo2_proofs::halo2curves::ff::PrimeField>::from_repr(repr))
                .ok_or_else(|| ProverError::Encoding(format!("word {i} is not a canonical field element")))
        })
        .collect()
}

/// A stage of proving a batch, reported as it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Proving chunk `i`.
    Chunk(usize),
    /// Aggregating the chunk proofs.
    Aggregation,
}

/// The SRS and keys of both circuits. The chunk keys are loaded at once; the aggregation keys (gigabytes at our
/// sizes) on first use, so a worker that only proves chunks never holds them.
///
/// Both SRSs are wrapped once, at load time, in the [`MsmParams`] of the prover's [`MsmDevice`]. On the GPU both
/// bases of both SRSs stay resident on the device (128 bytes a point: 128 MiB for the aggregation SRS at k = 20,
/// 8 MiB for a chunk's at k = 16). On the CPU the params keep a host copy of `g_lagrange` (64 bytes a point: 64 MiB
/// at k = 20 and 4 MiB at k = 16) on top of the `ParamsKZG` itself, made by the first proof with that SRS (a
/// prover that only verifies, such as the coordinator's, never makes it).
#[derive(Debug)]
pub struct BatchProver {
    config: ProverConfig,
    device: MsmDevice,
    agg_params: MsmParams,
    chunk_params: MsmParams,
    chunk_keys: ChunkKeys,
    agg_keys: std::sync::Mutex<Option<std::sync::Arc<AggregationKeys>>>,
}

impl BatchProver {
    /// Loads (or, the first time, generates) the SRS and the chunk keys; proofs run on the MSM's CPU twin
    /// ([`MsmDevice::cpu`]), which never touches CUDA and makes the same proofs as halo2's own prover, faster (its
    /// MSM beats halo2's `msm_best`; see docs/perf.md). [`BatchProver::load_with_backend`] chooses the backend.
    pub fn load(config: &ProverConfig) -> Result<Self, ProverError> {
        Self::load_on(config, MsmDevice::cpu())
    }

    /// [`BatchProver::load`] on the backend `backend` selects ([`MsmDevice::select`]).
    ///
    /// # Errors
    ///
    /// Besides the loading errors, [`ProverError::Backend`] when `Backend::Gpu` finds no usable GPU (checked before
    /// anything is read from disk) or the SRS does not fit on it.
    pub fn load_with_backend(config: &ProverConfig, backend: Backend) -> Result<Self, ProverError> {
        Self::load_on(config, MsmDevice::select(backend)?)
    }

    /// [`BatchProver::load`] on a device selected beforehand: a worker selects it before registering, so that it
    /// registers with the backend it proves with. See [`BatchProver::backend`] for where the proofs did end up.
    pub fn load_on(config: &ProverConfig, device: MsmDevice) -> Result<Self, ProverError> {
        config.chunk.validate().map_err(ProverError::Aggregation)?;
        if config.aggregation_k < config.chunk.k {
            return Err(ProverError::Aggregation("the aggregation circuit cannot be smaller than a chunk's".into()));
        }
        let agg_srs = load_srs(&config.dir, config.aggregation_k, config.dev_srs)?;
        let chunk_srs = downsized(&agg_srs, config.chunk.k);
        // Before key generation, so that a GPU that cannot hold the SRS fails the load at once.
        let (device, agg_params, chunk_params) = device.wrap(agg_srs, chunk_srs)?;
        let params =
            ChunkCircuit::configure_shape(config.chunk, config.fee_recipient).map_err(ProverError::Aggregation)?;
        let chunk_keys = ChunkKeys::load_or_generate(&config.dir, chunk_params.kzg(), params)?;
        tracing::info!(
            target: TARGET,
            backend = chunk_params.backend_name(),
            gpu = device.gpu().map(|info| info.name.as_str()),
            chunk_k = config.chunk.k,
            aggregation_k = config.aggregation_k,
            "prover loaded"
        );
        Ok(Self {
            config: config.clone(),
            device,
            agg_params,
            chunk_params,
            chunk_keys,
            agg_keys: std::sync::Mutex::new(None),
        })
    }

    /// What computes the proofs' commitments: `"gpu"` or `"cpu"` (`"halo2"`, halo2's own MSM, only if the SRS's
    /// Lagrange bases could not be read out of it, which is logged). The label for logs and metrics; it can differ
    /// from the device asked for when `Backend::Auto` could not upload the SRS.
    pub fn backend(&self) -> &'static str {
        self.chunk_params.backend_name()
    }

    /// The device the proofs run on (after any fallback of the load).
    pub const fn device(&self) -> &MsmDevice {
        &self.device
    }

    /// Loads (or generates) everything, the aggregation keys included.
    pub fn load_all(config: &ProverConfig) -> Result<Self, ProverError> {
        let prover = Self::load(config)?;
        prover.aggregation_keys()?;
        Ok(prover)
    }

    /// The aggregation keys, loaded (or generated) on first use.
    fn aggregation_keys(&self) -> Result<std::sync::Arc<AggregationKeys>, ProverError> {
        let mut slot = self.agg_keys.lock().map_err(|_| ProverError::Aggregation("a keys loader panicked".into()))?;
        if let Some(keys) = slot.as_ref() {
            return Ok(std::sync::Arc::clone(keys));
        }
        let keys = std::sync::Arc::new(AggregationKeys::load_or_generate(
            &self.config.dir,
            self.agg_params.kzg(),
            self.chunk_params.kzg(),
            &self.chunk_keys,
            self.config.chunks_per_batch,
        )?);
        *slot = Some(std::sync::Arc::clone(&keys));
        Ok(keys)
    }

    /// Proves one chunk (a worker's job).
    pub fn prove_chunk(&self, witness: ChunkWitness) -> Result<Snark, ProverError> {
        let shape = self.config.chunk;
        let name = format!("chunk_proof_k{}_s{}_{}", shape.k, shape.slots, self.backend());
        let stage = progress::start(&self.config.dir, &name, Model::ChunkProof.estimate(shape.k), false);
        let snark = self.chunk_keys.prove(&self.chunk_params, witness)?;
        stage.finish();
        Ok(snark)
    }

    /// Checks a chunk proof received from elsewhere.
    pub fn verify_chunk(&self, snark: &Snark) -> bool {
        self.chunk_keys.verify(self.chunk_params.kzg(), snark)
    }

    /// A chunk proof received as public inputs and proof bytes, with this prover's description of the chunk circuit
    /// (never one supplied by the sender).
    pub fn chunk_snark(&self, instances: Vec<Fr>, proof: Vec<u8>) -> Snark {
        Snark::new(self.chunk_keys.protocol(self.chunk_params.kzg()), vec![instances], proof)
    }

    /// Aggregates verified chunk proofs into the batch proof.
    pub fn aggregate(&self, snarks: Vec<Snark>) -> Result<BatchProof, ProverError> {
        let keys = self.aggregation_keys()?;
        let (k, n) = (self.config.aggregation_k, snarks.len());
        let name = format!("aggregation_proof_k{k}_n{n}_{}", self.backend());
        let stage = progress::start(&self.config.dir, &name, Model::AggregationProof(n).estimate(k), false);
        let proof = keys.prove(&self.agg_params, self.chunk_params.kzg(), snarks)?;
        stage.finish();
        Ok(proof)
    }

    /// Proves a whole batch from its chunk witnesses, reporting each stage before it starts.
    pub fn prove_batch(
        &self,
        witnesses: Vec<ChunkWitness>,
        mut on_stage: impl FnMut(Stage),
    ) -> Result<BatchProof, ProverError> {
        let mut snarks = Vec::with_capacity(witnesses.len());
        for (i, witness) in witnesses.into_iter().enumerate() {
            on_stage(Stage::Chunk(i));
            snarks.push(self.prove_chunk(witness)?);
        }
        on_stage(Stage::Aggregation);
        self.aggregate(snarks)
    }

    /// Verifies a batch proof natively.
    pub fn verify_batch(&self, proof: &BatchProof) -> Result<bool, ProverError> {
        Ok(self.aggregation_keys()?.verify(self.agg_params.kzg(), proof))
    }

    /// Solidity source of the batch proof's EVM verifier.
    pub fn evm_verifier_source(&self) -> Result<String, ProverError> {
        Ok(self.aggregation_keys()?.evm_verifier_source(self.agg_params.kzg()))
    }

    /// Chunk proofs per batch proof.
    pub const fn chunks_per_batch(&self) -> usize {
        self.config.chunks_per_batch
    }
}

impl BatchProof {
    /// The accumulator limbs and the proof, as the Rollup's `proof` argument carries them: the on-chain adapter
    /// splices the Rollup's public inputs between the two.
    pub fn rollup_proof_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ACCUMULATOR_LIMBS * 32 + self.proof.len());
        for limb in &self.instances[..ACCUMULATOR_LIMBS] {
            let mut word = halo2_base::halo2_proofs::halo2curves::ff::PrimeField::to_repr(limb);
            word.reverse();
            out.extend_from_slice(&word);
        }
        out.extend_from_slice(&self.proof);
        out
    }

    /// The public inputs after the accumulator, as 32-byte big-endian words (what the Rollup must supply).
    pub fn batch_inputs(&self) -> Vec<alloy_primitives::U256> {
        self.instances[ACCUMULATOR_LIMBS..]
            .iter()
            .map(|f| {
                alloy_primitives::U256::from_le_bytes(halo2_base::halo2_proofs::halo2curves::ff::PrimeField::to_repr(f))
            })
            .collect()
    }

    /// The whole calldata of the generated EVM verifier: every public input then the proof.
    pub fn verifier_calldata(&self) -> Vec<u8> {
        snark_verifier_sdk::snark_verifier::loader::evm::encode_calldata(
            std::slice::from_ref(&self.instances),
            &self.proof,
        )
    }
}

#[cfg(test)]
mod wire_tests {
    use super::*;

    #[test]
    fn field_elements_round_trip_and_non_canonical_words_are_refused() {
        let values = vec![Fr::zero(), Fr::one(), -Fr::one(), Fr::from(0xdead_beef_u64)];
        let words = encode_field_elements(&values);
        assert!(words.iter().all(|w| w.len() == 32));
        assert_eq!(decode_field_elements(&words).unwrap(), values);
        // The modulus itself and all-ones are not field elements; short words are not words.
        let modulus_le = {
            let mut w = encode_field_elements(&[-Fr::one()]).remove(0);
            w[0] += 1;
            w
        };
        for bad in [modulus_le, vec![0xff; 32], vec![0; 31]] {
            assert!(matches!(decode_field_elements(&[bad]), Err(ProverError::Encoding(_))));
        }
    }
}

#[cfg(test)]
mod backend_tests {
    use alloy_primitives::{Address, B256};
    use zkr_protocol::{DepositRecord, Record, WITHDRAWAL_ADDRESS, build_chunk};
    use zkr_state::{Account, AccountTree};

    use super::*;

    const FEE_RECIPIENT: Address = Address::repeat_byte(0xfe);

    /// The smallest shape the chunk circuit takes, so that a real proof stays short in a test.
    const SHAPE: crate::ChunkShape = crate::ChunkShape { k: 15, slots: 1 };

    fn config(dir: &Path) -> ProverConfig {
        ProverConfig {
            dir: dir.to_path_buf(),
            chunk: SHAPE,
            chunks_per_batch: 1,
            // The SRS is generated at the aggregation circuit's size: keep it the chunk's (no aggregation here).
            aggregation_k: SHAPE.k,
            fee_recipient: FEE_RECIPIENT,
            dev_srs: true,
        }
    }

    fn witness() -> ChunkWitness {
        let mut tree = AccountTree::new();
        tree.set(FEE_RECIPIENT, Account::default()).expect("genesis");
        tree.set(WITHDRAWAL_ADDRESS, Account::default()).expect("genesis");
        let deposit = Record::Deposit(DepositRecord {
            block: 1,
            timestamp: 1_700_000_000,
            index: 0,
            from: Address::repeat_byte(0x11),
            to: Address::repeat_byte(0xa1),
            value: 1_000_000_000,
        });
        build_chunk(&mut tree, SHAPE.slots, FEE_RECIPIENT, B256::ZERO, &[deposit]).expect("a valid chunk")
    }

    /// A real chunk proof made through `MsmKzg` on the CPU twin, checked by halo2's standard SHPLONK verifier over the
    /// plain `ParamsKZG` (as the coordinator checks what workers send), and refused once tampered with.
    #[test]
    fn a_chunk_proved_on_the_cpu_msm_verifies_with_the_standard_verifier() {
        let dir = tempfile::tempdir().expect("temp dir");
        let prover = BatchProver::load_with_backend(&config(dir.path()), Backend::Cpu).expect("loads");
        assert_eq!(prover.backend(), "cpu");
        assert!(prover.device().gpu().is_none());

        let witness = witness();
        let expected = public_inputs(&witness);
        let snark = prover.prove_chunk(witness).expect("proves");
        assert_eq!(snark.instances, vec![expected.clone()]);

        // The bytes as another process receives them, against this prover's own description of the circuit.
        let received = prover.chunk_snark(expected.clone(), snark.proof.clone());
        assert!(prover.verify_chunk(&received));
        let mut tampered = snark.proof.clone();
        let middle = tampered.len() / 2;
        tampered[middle] ^= 1;
        assert!(!prover.verify_chunk(&prover.chunk_snark(expected.clone(), tampered)));
        let mut wrong = expected;
        wrong[0] += Fr::one();
        assert!(!prover.verify_chunk(&prover.chunk_snark(wrong, snark.proof.clone())));

        // A prover loaded the default way (cached keys, same SRS) accepts the same proof.
        let plain = BatchProver::load(&config(dir.path())).expect("loads again");
        assert!(plain.verify_chunk(&plain.chunk_snark(snark.instances[0].clone(), snark.proof)));
    }

    /// `--prover.backend gpu` without a usable GPU fails at selection, with the reason, before anything is read
    /// from disk; `auto` falls back to the CPU. On a machine with a GPU both select it.
    #[test]
    fn the_gpu_backend_without_a_device_fails_clearly_and_auto_falls_back() {
        let auto = MsmDevice::select(Backend::Auto).expect("auto always selects something");
        if let Some(info) = auto.gpu() {
            eprintln!("SKIPPED (a GPU is present: {}): the no-device error is not reachable here", info.name);
            assert!(MsmDevice::select(Backend::Gpu).is_ok());
            return;
        }
        assert_eq!(auto.name(), "cpu");
        assert_eq!(MsmDevice::select(Backend::Cpu).expect("cpu").name(), "cpu");

        let err = MsmDevice::select(Backend::Gpu).expect_err("no GPU here");
        assert!(matches!(&err, ProverError::Backend(e) if e.is_unavailable()), "{err:?}");
        assert!(!err.is_retryable());
        assert!(err.to_string().starts_with("the GPU cannot be used: "), "{err}");

        // The keys folder does not exist and no SRS may be generated: only the backend can be the error.
        let dir = tempfile::tempdir().expect("temp dir");
        let config = ProverConfig { dev_srs: false, ..config(&dir.path().join("missing")) };
        let err = BatchProver::load_with_backend(&config, Backend::Gpu).expect_err("no GPU here");
        assert!(matches!(err, ProverError::Backend(_)), "{err:?}");
        assert!(!dir.path().join("missing").exists());
    }
}
