//! Proving with the circuits' keys: chunk proofs and their aggregation into one batch proof.
//!
//! Every proof is made through [`MsmKzg`] (`zkr_kernels::halo2`): every commitment of the PLONK rounds runs our MSM,
//! on the GPU with the SRS resident on the device or on its CPU twin, as the [`MsmDevice`] chosen at load time says
//! (`--backend auto|gpu|cpu`). The proofs are ordinary halo2 KZG proofs: keys, verification, the aggregation
//! circuit's view of a chunk proof and the EVM verifier are `zkr-circuits`', over the plain [`ParamsKZG`], and every
//! proof made here is verified with them before it is returned.
//!
//! ```text
//!  load_srs ──► ParamsKZG (aggregation k) ──downsize──► ParamsKZG (chunk k)
//!                   │                                      │
//!                   └──── MsmDevice::wrap: MsmParams ──────┘   (GPU: both bases uploaded once; CPU: a host copy
//!                                  │                            of g_lagrange, 64 bytes a point)
//!  create_proof::<MsmKzg, ShplonkProver> ──► proof ──► zkr_circuits::verifier (VerifierSHPLONK)
//! ```

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use halo2_base::halo2_proofs::{
    halo2curves::bn256::{Bn256, Fr, G1Affine},
    plonk::{Circuit, ProvingKey, create_proof},
    poly::kzg::commitment::ParamsKZG,
    transcript::{EncodedChallenge, TranscriptWrite, TranscriptWriterBuffer},
};
use rand::{SeedableRng, rngs::StdRng};
use snark_verifier_sdk::{
    CircuitExt,
    halo2::{POSEIDON_SPEC, PoseidonTranscript},
    snark_verifier::{loader::native::NativeLoader, system::halo2::transcript::evm::EvmTranscript},
};
use zkr_circuits::{
    ChunkCircuit,
    chunk::public_inputs,
    keys::{AggregationKeys, ChunkKeys, KeysConfig, LayerVk},
    progress::{self, Model},
    srs::{downsized_in, load_srs},
    verifier::BatchProof,
};
use zkr_kernels::{
    gpu::{Backend, DeviceInfo, Gpu, GpuError, Selected},
    halo2::{MsmKzg, MsmParams, ShplonkProver},
};
use zkr_protocol::ChunkWitness;

/// A proof with its public inputs and its circuit's description, as the aggregation circuit takes it.
pub use snark_verifier_sdk::Snark;

/// Why proving failed.
#[derive(Debug, thiserror::Error)]
pub enum ProverError {
    /// Keys, SRS, the circuit or a proof's check (`zkr_circuits::Error`).
    #[error(transparent)]
    Circuits(#[from] zkr_circuits::Error),
    /// The GPU backend was asked for (`--backend gpu`) and cannot be used: no driver or device, the kernels
    /// do not load, or the SRS does not fit on the device.
    #[error("the GPU cannot be used: {0}")]
    Backend(#[source] GpuError),
}

impl ProverError {
    /// Whether trying again (on this or another machine) may succeed: resource and I/O failures, as opposed to inputs
    /// that cannot be proven.
    pub const fn is_retryable(&self) -> bool {
        match self {
            Self::Circuits(e) => e.is_retryable(),
            Self::Backend(_) => false,
        }
    }
}

impl From<zkr_circuits::ChunkCircuitError> for ProverError {
    fn from(e: zkr_circuits::ChunkCircuitError) -> Self {
        Self::Circuits(e.into())
    }
}

fn poisoned() -> ProverError {
    zkr_circuits::Error::Aggregation("a keys loader panicked".into()).into()
}

fn halo2_err(e: impl std::fmt::Debug) -> ProverError {
    zkr_circuits::Error::Halo2(format!("{e:?}")).into()
}

const TARGET: &str = "prover";

/// Where a prover's commitments (the MSMs of every PLONK round) run: a CUDA device, with the SRS kept resident, or
/// the MSM's CPU twin. Chosen once per process, before any SRS is loaded, so that a worker can say which backend it
/// proves with before it learns its setup. Clones share the device.
#[derive(Debug, Clone)]
pub struct MsmDevice {
    gpu: Option<Arc<Gpu>>,
    /// `Backend::Auto` chose the GPU: a failed SRS upload moves the prover to the CPU instead of failing.
    fallback: bool,
    /// Why `Backend::Auto` did not take the GPU, when it did not.
    unusable: Option<GpuError>,
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
            Selected::Gpu(gpu) => {
                Self { gpu: Some(Arc::from(gpu)), fallback: backend == Backend::Auto, unusable: None }
            }
            Selected::Cpu { fallback } => Self { unusable: fallback, ..Self::cpu() },
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
        Self { gpu: None, fallback: false, unusable: None }
    }

    /// Why `Backend::Auto` proves on the CPU although it was free to take a GPU (`NoDriver` on machines without
    /// one, `DriverTooOld` where the driver predates CUDA 13.0, ...); `None` when it took the GPU or was told to use
    /// the CPU.
    pub const fn unusable(&self) -> Option<&GpuError> {
        self.unusable.as_ref()
    }

    /// The fault that made the GPU unusable while proving, if one happened: the CUDA context does not recover, so
    /// a worker that sees one should stop and be restarted (its proofs meanwhile fall back to the CPU).
    pub fn fault(&self) -> Option<GpuError> {
        self.gpu.as_deref().and_then(Gpu::fault)
    }

    /// `"gpu"` or `"cpu"`.
    pub const fn name(&self) -> &'static str {
        if self.gpu.is_some() { "gpu" } else { "cpu" }
    }

    /// The device's model and memory, when the GPU was selected.
    pub fn gpu(&self) -> Option<&DeviceInfo> {
        self.gpu.as_deref().map(Gpu::info)
    }

    /// The prover parameters of each SRS of `srss` (the aggregation's, the chunk's, a layer's), in order, on this
    /// device, and the device they ended up on. On the GPU every SRS is uploaded here, once; if an upload fails, a
    /// device chosen by `Backend::Auto` gives way to the CPU (with a warning) and one chosen by `Backend::Gpu` fails.
    fn wrap(&self, srss: Vec<ParamsKZG<Bn256>>) -> Result<(Self, Vec<MsmParams>), ProverError> {
        let Some(gpu) = &self.gpu else {
            return Ok((Self::cpu(), srss.into_iter().map(MsmParams::cpu).collect()));
        };
        // `MsmParams::on_gpu` consumes the params; the CPU fallback needs them back (a transient copy).
        let spare = self.fallback.then(|| srss.clone());
        let uploaded: Result<Vec<_>, _> = srss.into_iter().map(|srs| MsmParams::on_gpu(srs, Arc::clone(gpu))).collect();
        match (uploaded, spare) {
            (Ok(params), _) => Ok((self.clone(), params)),
            (Err(err), Some(srss)) => {
                tracing::warn!(target: TARGET, %err, "uploading the SRS to the GPU failed; proving on the CPU");
                Ok((Self::cpu(), srss.into_iter().map(MsmParams::cpu).collect()))
            }
            (Err(err), None) => Err(ProverError::Backend(err)),
        }
    }
}

/// Where one proof's time went, stage by stage (the stages a worker reports, `zkr.prover.v1.Stage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProofTimes {
    /// Building the circuit's witness: the chunk circuit's cells from the chunk witness. For an aggregation this is
    /// [`ProofTimes::aggregation`] instead.
    pub witness: Duration,
    /// The aggregation circuit's witness: verifying the chunk proofs in-circuit (zero for a chunk proof).
    pub aggregation: Duration,
    /// The commitments of the PLONK rounds: the MSMs on the selected backend ([`MsmParams::times`]).
    pub msm: Duration,
    /// The multi-open argument (SHPLONK), its own commitments included.
    pub opening: Duration,
    /// The rest of halo2's prover: assigning the columns, the permutation and lookup arguments, the FFTs (inside
    /// halo2, not this project's NTT) and the quotient. Measured as the proof's time less `msm` and `opening`.
    pub quotient: Duration,
    /// The prover's own check of the proof before it is returned.
    pub verify: Duration,
}

/// One PLONK proof of `circuit` with `instances`, every commitment through [`MsmKzg`] on `params`' device; returns
/// where its time went, `(msm, opening, quotient)` as [`ProofTimes`] defines them.
fn prove_timed<C, E, T>(
    params: &MsmParams,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Vec<Fr>],
    transcript: &mut T,
) -> Result<(Duration, Duration, Duration), ProverError>
where
    C: Circuit<Fr>,
    E: EncodedChallenge<G1Affine>,
    T: TranscriptWrite<G1Affine, E>,
{
    let (before, start) = (params.times(), Instant::now());
    let refs: Vec<&[Fr]> = instances.iter().map(Vec::as_slice).collect();
    create_proof::<MsmKzg, ShplonkProver<'_>, E, _, T, C>(
        params,
        pk,
        &[circuit],
        &[refs.as_slice()],
        StdRng::from_entropy(),
        transcript,
    )
    .map_err(halo2_err)?;
    let (spent, total) = (params.times().since(&before), start.elapsed());
    Ok((spent.msm, spent.opening, total.saturating_sub(spent.msm + spent.opening)))
}

/// Proves a chunk with `keys` and `params` (the SRS of exactly `2^k` rows, on its [`MsmDevice`]); the proof is checked
/// with halo2's standard verifier before it is returned.
pub fn prove_chunk(keys: &ChunkKeys, params: &MsmParams, witness: ChunkWitness) -> Result<Snark, ProverError> {
    prove_chunk_timed(keys, params, witness).map(|(snark, _)| snark)
}

/// [`prove_chunk`], and where its time went.
pub fn prove_chunk_timed(
    keys: &ChunkKeys,
    params: &MsmParams,
    witness: ChunkWitness,
) -> Result<(Snark, ProofTimes), ProverError> {
    let started = Instant::now();
    let instances = vec![public_inputs(&witness)];
    let circuit = ChunkCircuit::prover(keys.params().clone(), witness, keys.break_points().clone())?;
    let witness_time = started.elapsed();
    let mut transcript = PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(vec![], POSEIDON_SPEC.clone());
    let (msm, opening, quotient) = prove_timed(params, keys.pk(), circuit, &instances, &mut transcript)?;
    let snark = Snark::new(keys.protocol().clone(), instances, transcript.finalize());
    let times = ProofTimes { witness: witness_time, msm, opening, quotient, ..ProofTimes::default() };
    checked(snark, times, |snark| keys.verify(snark))
}

/// Aggregates exactly [`AggregationKeys::chunks`] verified chunk proofs, in batch order, proving with `agg_params`
/// (the aggregation circuit's SRS on its [`MsmDevice`]); `chunk_srs` is the chunk proofs' SRS. The proof is checked
/// (as the EVM verifier checks it) before it is returned.
pub fn aggregate(
    keys: &AggregationKeys,
    agg_params: &MsmParams,
    chunk_srs: &ParamsKZG<Bn256>,
    snarks: Vec<Snark>,
) -> Result<BatchProof, ProverError> {
    aggregate_timed(keys, agg_params, chunk_srs, snarks).map(|(proof, _)| proof)
}

/// [`aggregate`], and where its time went.
pub fn aggregate_timed(
    keys: &AggregationKeys,
    agg_params: &MsmParams,
    chunk_srs: &ParamsKZG<Bn256>,
    snarks: Vec<Snark>,
) -> Result<(BatchProof, ProofTimes), ProverError> {
    let mut transcript: EvmTranscript<G1Affine, NativeLoader, Vec<u8>, Vec<u8>> =
        TranscriptWriterBuffer::<_, G1Affine, _>::init(Vec::new());
    let (instances, times) = prove_aggregation(keys, agg_params, chunk_srs, snarks, &mut transcript)?;
    let proof = BatchProof { instances, proof: transcript.finalize() };
    checked(proof, times, |proof| keys.verify(proof))
}

/// Returns `proof` with its times once `check` accepts it (its time as [`ProofTimes::verify`]); a proof the
/// prover's own check refuses is an error.
fn checked<P>(proof: P, mut times: ProofTimes, check: impl FnOnce(&P) -> bool) -> Result<(P, ProofTimes), ProverError> {
    let started = Instant::now();
    if !check(&proof) {
        return Err(zkr_circuits::Error::Unsatisfied.into());
    }
    times.verify = started.elapsed();
    Ok((proof, times))
}

/// Proves the aggregation circuit of `keys` over `snarks` (made with `inner_srs`) into `transcript`: returns the
/// proof's public inputs and where its time went (the check aside, which is the caller's).
fn prove_aggregation<E, T>(
    keys: &AggregationKeys,
    agg_params: &MsmParams,
    inner_srs: &ParamsKZG<Bn256>,
    snarks: Vec<Snark>,
    transcript: &mut T,
) -> Result<(Vec<Fr>, ProofTimes), ProverError>
where
    E: EncodedChallenge<G1Affine>,
    T: TranscriptWrite<G1Affine, E>,
{
    let started = Instant::now();
    let circuit = keys.prover_circuit(inner_srs, snarks)?;
    let mut instances = circuit.instances();
    let aggregation = started.elapsed();
    let (msm, opening, quotient) = prove_timed(agg_params, keys.pk(), circuit, &instances, transcript)?;
    let times = ProofTimes { aggregation, msm, opening, quotient, ..ProofTimes::default() };
    Ok((instances.swap_remove(0), times))
}

/// Aggregates exactly [`AggregationKeys::inputs`] verified inner proofs (chunk proofs or a lower layer's, in batch
/// order) into a proof for the layer above: the Poseidon transcript, which an aggregation circuit verifies
/// in-circuit, and the layer's accumulator first among its public inputs. `inner_srs` is the inner proofs' SRS. The
/// proof is checked before it is returned.
pub fn aggregate_layer_timed(
    keys: &AggregationKeys,
    agg_params: &MsmParams,
    inner_srs: &ParamsKZG<Bn256>,
    snarks: Vec<Snark>,
) -> Result<(Snark, ProofTimes), ProverError> {
    let mut transcript = PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(vec![], POSEIDON_SPEC.clone());
    let (instances, times) = prove_aggregation(keys, agg_params, inner_srs, snarks, &mut transcript)?;
    let snark = Snark::new(keys.protocol().clone(), vec![instances], transcript.finalize());
    checked(snark, times, |snark| keys.verify_layer(snark))
}

/// A stage of proving a batch, reported as it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Proving chunk `i`.
    Chunk(usize),
    /// Proving the layer proof of group `j` (a setup with a layer).
    Layer(usize),
    /// Aggregating the chunk proofs (or the layer proofs) into the batch proof.
    Aggregation,
}

/// The SRS and keys of the setup's circuits. The chunk keys are loaded at once; the layer's and the aggregation's
/// (gigabytes at our sizes) on first use, so a worker that only proves chunks never holds them.
///
/// Every SRS (the aggregation's, the chunk's, and the layer's when the setup has one) is wrapped once, at load time,
/// in the [`MsmParams`] of the prover's [`MsmDevice`]. On the GPU both bases of each stay resident on the device (128
/// bytes a point: 128 MiB for the aggregation SRS at k = 20, 8 MiB for a chunk's at k = 16). On the CPU the params keep a host copy of `g_lagrange` (64 bytes a point: 64 MiB
/// at k = 20 and 4 MiB at k = 16) on top of the `ParamsKZG` itself, made by the first proof with that SRS. (A process
/// that only checks proofs, such as the coordinator, holds none of this: `zkr_circuits::verifier::Verifier`.)
#[derive(Debug)]
pub struct BatchProver {
    config: KeysConfig,
    device: MsmDevice,
    agg_params: MsmParams,
    chunk_params: MsmParams,
    /// The layer's SRS, when the setup has a layer.
    layer_params: Option<MsmParams>,
    chunk_keys: ChunkKeys,
    agg_keys: std::sync::Mutex<Option<std::sync::Arc<AggregationKeys>>>,
    layer_keys: std::sync::Mutex<Option<std::sync::Arc<AggregationKeys>>>,
    /// The layer's verifying key, to read layer proofs and make the batch proof's keys without its proving key.
    layer_vk: std::sync::Mutex<Option<std::sync::Arc<LayerVk>>>,
}

impl BatchProver {
    /// Loads (or, the first time, generates) the SRS and the chunk keys; proofs run on the MSM's CPU twin
    /// ([`MsmDevice::cpu`]), which never touches CUDA and makes the same proofs as halo2's own prover, faster (its
    /// MSM beats halo2's `msm_best`; see docs/perf.md). [`BatchProver::load_with_backend`] chooses the backend.
    pub fn load(config: &KeysConfig) -> Result<Self, ProverError> {
        Self::load_on(config, MsmDevice::cpu())
    }

    /// [`BatchProver::load`] on the backend `backend` selects ([`MsmDevice::select`]).
    ///
    /// # Errors
    ///
    /// Besides the loading errors, [`ProverError::Backend`] when `Backend::Gpu` finds no usable GPU (checked before
    /// anything is read from disk) or the SRS does not fit on it.
    pub fn load_with_backend(config: &KeysConfig, backend: Backend) -> Result<Self, ProverError> {
        Self::load_on(config, MsmDevice::select(backend)?)
    }

    /// [`BatchProver::load`] on a device selected beforehand: a worker selects it before registering, so that it
    /// registers with the backend it proves with. See [`BatchProver::backend`] for where the proofs did end up.
    pub fn load_on(config: &KeysConfig, device: MsmDevice) -> Result<Self, ProverError> {
        config.validate()?;
        let agg_srs = load_srs(&config.dir, config.shape.aggregation_k, config.dev_srs)?;
        let mut srss = vec![downsized_in(&config.dir, &agg_srs, config.shape.chunk_k)];
        if let Some(layer) = config.shape.layer {
            srss.push(downsized_in(&config.dir, &agg_srs, layer.k));
        }
        srss.insert(0, agg_srs);
        // Before key generation, so that a GPU that cannot hold the SRS fails the load at once.
        let (device, params) = device.wrap(srss)?;
        let mut params = params.into_iter();
        let (Some(agg_params), Some(chunk_params)) = (params.next(), params.next()) else {
            return Err(zkr_circuits::Error::Aggregation("an SRS went missing".into()).into());
        };
        let layer_params = params.next();
        let params = config.chunk_params()?;
        let chunk_keys = ChunkKeys::load_or_generate(&config.dir, chunk_params.kzg(), params)?;
        tracing::info!(
            target: TARGET,
            backend = chunk_params.backend_name(),
            gpu = device.gpu().map(|info| info.name.as_str()),
            shape = %config.shape.tag(),
            "prover loaded"
        );
        Ok(Self {
            config: config.clone(),
            device,
            agg_params,
            chunk_params,
            layer_params,
            chunk_keys,
            agg_keys: std::sync::Mutex::new(None),
            layer_keys: std::sync::Mutex::new(None),
            layer_vk: std::sync::Mutex::new(None),
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

    /// The batch proof's keys, loaded (or generated) on first use: over the chunk proofs, or over the layer's
    /// proofs (made with the layer's verifying key alone).
    fn aggregation_keys(&self) -> Result<std::sync::Arc<AggregationKeys>, ProverError> {
        let mut slot = self.agg_keys.lock().map_err(|_| poisoned())?;
        if let Some(keys) = slot.as_ref() {
            return Ok(std::sync::Arc::clone(keys));
        }
        let (dir, shape) = (&self.config.dir, &self.config.shape);
        let keys = match &self.layer_params {
            None => AggregationKeys::load_or_generate(
                dir,
                self.agg_params.kzg(),
                self.chunk_params.kzg(),
                &self.chunk_keys,
                shape.chunks_per_batch,
            )?,
            Some(layer_params) => {
                let layer = self.layer_vk()?;
                AggregationKeys::load_or_generate_over(
                    dir,
                    self.agg_params.kzg(),
                    layer_params.kzg(),
                    layer.as_inner(),
                    shape.batch_inputs(),
                )?
            }
        };
        let keys = std::sync::Arc::new(keys);
        *slot = Some(std::sync::Arc::clone(&keys));
        Ok(keys)
    }

    /// The layer's SRS; an error when the setup has no layer.
    fn layer_params(&self) -> Result<&MsmParams, ProverError> {
        self.layer_params
            .as_ref()
            .ok_or_else(|| zkr_circuits::Error::Aggregation("the setup has no layer".into()).into())
    }

    /// The layer's keys, loaded (or generated) on first use.
    fn layer_keys(&self) -> Result<std::sync::Arc<AggregationKeys>, ProverError> {
        let params = self.layer_params()?;
        let mut slot = self.layer_keys.lock().map_err(|_| poisoned())?;
        if let Some(keys) = slot.as_ref() {
            return Ok(std::sync::Arc::clone(keys));
        }
        let keys = std::sync::Arc::new(self.load_layer_keys(params)?);
        *slot = Some(std::sync::Arc::clone(&keys));
        Ok(keys)
    }

    /// Reads (or generates) the layer's keys over the chunk proofs, with the layer's SRS `params`.
    fn load_layer_keys(&self, params: &MsmParams) -> Result<AggregationKeys, ProverError> {
        let group = self.config.shape.layer.map_or(1, |layer| layer.group);
        let dir = &self.config.dir;
        Ok(AggregationKeys::load_or_generate(dir, params.kzg(), self.chunk_params.kzg(), &self.chunk_keys, group)?)
    }

    /// The layer's verifying key: from the layer's keys if this prover holds them; else, once the batch proof's keys
    /// are made, the layer's compiled verifying key alone ([`LayerVk::read`]); else from the layer's keys, read (or
    /// generated) and dropped. A worker that only makes batch proofs never keeps the layer's proving key, and reads
    /// it only when it has to make the keys above it.
    fn layer_vk(&self) -> Result<std::sync::Arc<LayerVk>, ProverError> {
        let mut slot = self.layer_vk.lock().map_err(|_| poisoned())?;
        if let Some(vk) = slot.as_ref() {
            return Ok(std::sync::Arc::clone(vk));
        }
        let held = self.layer_keys.lock().map_err(|_| poisoned())?.clone();
        let params = self.layer_params()?;
        let vk = match held {
            Some(keys) => keys.verifying(),
            // The batch proof's keys are made: the layer's compiled verifying key is all that is needed.
            None => match LayerVk::read(&self.config, params.kzg())? {
                Some(vk) => vk,
                None => self.load_layer_keys(params)?.verifying(),
            },
        };
        let vk = std::sync::Arc::new(vk);
        *slot = Some(std::sync::Arc::clone(&vk));
        Ok(vk)
    }

    /// Proves one chunk (a worker's job).
    pub fn prove_chunk(&self, witness: ChunkWitness) -> Result<Snark, ProverError> {
        self.prove_chunk_timed(witness).map(|(snark, _)| snark)
    }

    /// [`BatchProver::prove_chunk`], and where its time went.
    pub fn prove_chunk_timed(&self, witness: ChunkWitness) -> Result<(Snark, ProofTimes), ProverError> {
        let shape = self.config.chunk();
        let name = format!("chunk_proof_k{}_s{}_{}", shape.k, shape.slots, self.backend());
        let stage = progress::start(&self.config.dir, &name, Model::ChunkProof.estimate(shape.k), false);
        let proved = prove_chunk_timed(&self.chunk_keys, &self.chunk_params, witness)?;
        stage.finish();
        Ok(proved)
    }

    /// Checks a chunk proof received from elsewhere.
    pub fn verify_chunk(&self, snark: &Snark) -> bool {
        self.chunk_keys.verify(snark)
    }

    /// A chunk proof received as public inputs and proof bytes, with this prover's description of the chunk circuit
    /// (never one supplied by the sender).
    pub fn chunk_snark(&self, instances: Vec<Fr>, proof: Vec<u8>) -> Snark {
        Snark::new(self.chunk_keys.protocol().clone(), vec![instances], proof)
    }

    /// A layer proof received as public inputs and proof bytes, with this prover's description of the layer circuit
    /// (never one supplied by the sender); an error when the setup has no layer.
    pub fn layer_snark(&self, instances: Vec<Fr>, proof: Vec<u8>) -> Result<Snark, ProverError> {
        Ok(self.layer_vk()?.snark(instances, proof))
    }

    /// Checks a layer proof received from elsewhere.
    pub fn verify_layer(&self, snark: &Snark) -> Result<bool, ProverError> {
        Ok(self.layer_vk()?.verify(snark))
    }

    /// Aggregates a group of verified chunk proofs (the setup's layer group, in batch order) into a layer proof,
    /// and where its time went.
    pub fn prove_layer_timed(&self, snarks: Vec<Snark>) -> Result<(Snark, ProofTimes), ProverError> {
        let keys = self.layer_keys()?;
        let params = self.layer_params()?;
        let (k, n) = (self.config.shape.layer.map_or(0, |layer| layer.k), snarks.len());
        let name = format!("layer_proof_k{k}_n{n}_{}", self.backend());
        let stage = progress::start(&self.config.dir, &name, Model::AggregationProof(n).estimate(k), false);
        let proved = aggregate_layer_timed(&keys, params, self.chunk_params.kzg(), snarks)?;
        stage.finish();
        Ok(proved)
    }

    /// Aggregates verified inner proofs into the batch proof: the chunk proofs, or with a layer the layer proofs.
    pub fn aggregate(&self, snarks: Vec<Snark>) -> Result<BatchProof, ProverError> {
        self.aggregate_timed(snarks).map(|(proof, _)| proof)
    }

    /// [`BatchProver::aggregate`], and where its time went.
    pub fn aggregate_timed(&self, snarks: Vec<Snark>) -> Result<(BatchProof, ProofTimes), ProverError> {
        let keys = self.aggregation_keys()?;
        let (k, n) = (self.config.shape.aggregation_k, snarks.len());
        // Over layer proofs the circuit is another one (narrower), with its own times.
        let over = if self.layer_params.is_some() { "_of_layers" } else { "" };
        let name = format!("aggregation_proof_k{k}_n{n}{over}_{}", self.backend());
        let stage = progress::start(&self.config.dir, &name, Model::AggregationProof(n).estimate(k), false);
        let inner_srs = self.layer_params.as_ref().unwrap_or(&self.chunk_params).kzg();
        let proved = aggregate_timed(&keys, &self.agg_params, inner_srs, snarks)?;
        stage.finish();
        Ok(proved)
    }

    /// Proves a whole batch from its chunk witnesses (the layer proofs too, with a layer), reporting each stage
    /// before it starts.
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
        if let Some(layer) = self.config.shape.layer {
            let mut layers = Vec::with_capacity(snarks.len().div_ceil(layer.group.max(1)));
            for (j, group) in snarks.chunks(layer.group.max(1)).enumerate() {
                on_stage(Stage::Layer(j));
                layers.push(self.prove_layer_timed(group.to_vec())?.0);
            }
            snarks = layers;
        }
        on_stage(Stage::Aggregation);
        self.aggregate(snarks)
    }

    /// Chunk proofs per batch proof.
    pub const fn chunks_per_batch(&self) -> usize {
        self.config.shape.chunks_per_batch
    }

    /// The proof shape it proves.
    pub const fn shape(&self) -> &zkr_protocol::ProofShape {
        &self.config.shape
    }
}

#[cfg(test)]
mod backend_tests {
    use std::path::Path;

    use alloy_primitives::{Address, B256};
    use zkr_circuits::verifier::ChunkVerifier;
    use zkr_protocol::{DepositRecord, ProofShape, Record, WITHDRAWAL_ADDRESS, build_chunk};
    use zkr_state::{Account, AccountTree};

    use super::*;

    const FEE_RECIPIENT: Address = Address::repeat_byte(0xfe);

    /// The smallest shape the chunk circuit takes, so that a real proof stays short in a test. The SRS is generated
    /// at the aggregation circuit's size: it is kept the chunk's (no aggregation here).
    const SHAPE: ProofShape =
        ProofShape { chunk_slots: 1, chunk_k: 15, chunks_per_batch: 1, aggregation_k: 15, layer: None };

    fn config(dir: &Path) -> KeysConfig {
        KeysConfig { dir: dir.to_path_buf(), shape: SHAPE, fee_recipient: FEE_RECIPIENT, dev_srs: true }
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
        build_chunk(&mut tree, SHAPE.chunk_slots, FEE_RECIPIENT, B256::ZERO, &[deposit]).expect("a valid chunk")
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
        let (snark, times) = prover.prove_chunk_timed(witness).expect("proves");
        assert_eq!(snark.instances, vec![expected.clone()]);
        // Every stage of a chunk proof took time; there is no in-circuit verification in it.
        for (stage, spent) in [
            ("witness", times.witness),
            ("msm", times.msm),
            ("quotient", times.quotient),
            ("opening", times.opening),
            ("verify", times.verify),
        ] {
            assert!(!spent.is_zero(), "{stage} took no time: {times:?}");
        }
        assert!(times.aggregation.is_zero());

        // The bytes as another process receives them, against this prover's own description of the circuit.
        let received = prover.chunk_snark(expected.clone(), snark.proof.clone());
        assert!(prover.verify_chunk(&received));
        let mut tampered = snark.proof.clone();
        let middle = tampered.len() / 2;
        tampered[middle] ^= 1;
        assert!(!prover.verify_chunk(&prover.chunk_snark(expected.clone(), tampered.clone())));
        let mut wrong = expected;
        wrong[0] += Fr::one();
        assert!(!prover.verify_chunk(&prover.chunk_snark(wrong, snark.proof.clone())));

        // A prover loaded the default way (cached keys, same SRS) accepts the same proof.
        let plain = BatchProver::load(&config(dir.path())).expect("loads again");
        assert!(plain.verify_chunk(&plain.chunk_snark(snark.instances[0].clone(), snark.proof.clone())));

        // So does the verifier a coordinator loads: the `.vk` file and the SRS's verifier points, no proving key.
        let verifier = ChunkVerifier::load(&config(dir.path())).expect("the verifying key was written with the keys");
        assert!(verifier.verify(&snark.instances[0], &snark.proof));
        assert!(!verifier.verify(&snark.instances[0], &tampered));
        let mut wrong = snark.instances[0].clone();
        wrong[3] += Fr::one();
        assert!(!verifier.verify(&wrong, &snark.proof));
        assert!(!verifier.verify(&snark.instances[0][1..], &snark.proof));
        // Malformed bytes are a refusal, not a panic: empty, cut short, garbage, and the proof with bytes appended.
        let garbage: Vec<u8> = (0..snark.proof.len()).map(|i| (i * 31 % 251) as u8).collect();
        let mut longer = snark.proof.clone();
        longer.extend_from_slice(&[0; 32]);
        for bad in [&[][..], &snark.proof[..snark.proof.len() / 3], &garbage] {
            assert!(!verifier.verify(&snark.instances[0], bad));
        }
        // Trailing bytes are not read: the proof still verifies (as with halo2's verifier); the coordinator's
        // messages carry the proof alone.
        assert!(verifier.verify(&snark.instances[0], &longer));
    }

    /// `--backend gpu` without a usable GPU fails at selection, with the reason, before anything is read
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
        assert!(auto.unusable().is_some(), "auto says why it took the CPU");
        assert!(auto.fault().is_none());
        let cpu = MsmDevice::select(Backend::Cpu).expect("cpu");
        assert_eq!(cpu.name(), "cpu");
        assert!(cpu.unusable().is_none(), "the CPU was asked for");

        let err = MsmDevice::select(Backend::Gpu).expect_err("no GPU here");
        assert!(matches!(&err, ProverError::Backend(e) if e.is_unavailable()), "{err:?}");
        assert!(!err.is_retryable());
        assert!(err.to_string().starts_with("the GPU cannot be used: "), "{err}");

        // The keys folder does not exist and no SRS may be generated: only the backend can be the error.
        let dir = tempfile::tempdir().expect("temp dir");
        let config = KeysConfig { dev_srs: false, ..config(&dir.path().join("missing")) };
        let err = BatchProver::load_with_backend(&config, Backend::Gpu).expect_err("no GPU here");
        assert!(matches!(err, ProverError::Backend(_)), "{err:?}");
        assert!(!dir.path().join("missing").exists());
    }
}
