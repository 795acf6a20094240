//! The circuits' keys: generated once per setup, cached on disk, and what a verifier reads of them.
//!
//! A keys folder holds, per circuit, `<name>.json` (what key generation fixed besides the key: the circuit's
//! parameters and break points), `<name>.pk` (the proving key, for provers) and `<name>.protocol` (the verifying key
//! compiled for snark-verifier, for verifiers: `crate::verifier`), plus the SRS and its verifier part (`crate::srs`).
//! Names are derived from the circuit's parameters and revision, so keys of another shape are never picked up.
//!
//! ```text
//!  <dir>/kzg_bn254_<k>.srs                      the SRS (provers, key generation)
//!  <dir>/kzg_bn254_verifier.srs                 g[0], g2, s_g2 (verifiers)
//!  <dir>/chunk_r<rev>_k<k>_s<slots>_<hash>.{json,pk,protocol}
//!  <dir>/aggregation_k<k>_n<chunks>_r<rev>_<hash>.{json,pk,protocol}
//! ```

use std::{
    fs::{self, File},
    io::{self, BufReader},
    path::{Path, PathBuf},
};

use halo2_base::{
    gates::{
        circuit::{CircuitBuilderStage, builder::BaseCircuitBuilder},
        flex_gate::MultiPhaseThreadBreakPoints,
    },
    halo2_proofs::{
        SerdeFormat,
        halo2curves::bn256::{Bn256, Fr, G1Affine},
        plonk::{Circuit, ProvingKey, VerifyingKey, keygen_pk, keygen_vk},
        poly::{commitment::Params, kzg::commitment::ParamsKZG},
    },
};
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::{
    CircuitExt, SHPLONK, Snark,
    halo2::{
        aggregation::{AggregationCircuit, AggregationConfigParams, VerifierUniversality},
        gen_dummy_snark_from_vk,
    },
    snark_verifier::{
        system::halo2::{Config, compile},
        verifier::plonk::PlonkProtocol,
    },
};
use zkr_protocol::{
    ProofShape,
    chunk::CHUNK_PUBLIC_INPUTS,
    statement::{ACCUMULATOR_LIMBS, CHAINED, batch_statement, batch_statement_len},
};

use crate::{
    ChunkCircuit, ChunkCircuitParams, ChunkShape, Error,
    chunk::CHUNK_CIRCUIT_REVISION,
    error::{io_err, write_atomically},
    progress::{self, Model},
    srs::{deciding_key_of, downsized_in, load_srs},
    verifier::{BatchProof, DecidingKey, Verifier, evm_verifier_source, verify_batch_proof, verify_chunk_proof},
};

/// Where keys live and which circuits they are for: the cluster's setup, as every prover and verifier is configured.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeysConfig {
    /// Folder of the SRS and the keys.
    pub dir: PathBuf,
    /// The proof shape (the deployment file's).
    pub shape: ProofShape,
    /// The chain's fee recipient.
    pub fee_recipient: alloy_primitives::Address,
    /// Generate an insecure SRS when none is in `dir` (development and CI only).
    pub dev_srs: bool,
}

impl KeysConfig {
    /// Checks the shape, and that the chunk circuit's rows hold its slots.
    pub fn validate(&self) -> Result<(), Error> {
        self.shape.validate().map_err(Error::Shape)?;
        self.chunk().validate().map_err(Error::Shape)
    }

    /// The chunk circuit's shape.
    pub const fn chunk(&self) -> ChunkShape {
        ChunkShape { k: self.shape.chunk_k, slots: self.shape.chunk_slots }
    }

    /// The chunk circuit's parameters for this setup (its layout, computed: about a second at the CI shape).
    pub fn chunk_params(&self) -> Result<ChunkCircuitParams, Error> {
        ChunkCircuit::configure_shape(self.chunk(), self.fee_recipient).map_err(Error::Shape)
    }

    /// The file names (without extension) of this setup's keys, after checking the shape: what every loader of the
    /// keys computes once.
    pub(crate) fn key_names(&self) -> Result<KeyNames, Error> {
        self.validate()?;
        let params = self.chunk_params()?;
        let aggregation = aggregation_keys_name(self.shape.aggregation_k, self.shape.chunks_per_batch, &params);
        Ok(KeyNames { chunk: chunk_keys_name(&params), aggregation, chunk_params: params })
    }
}

/// The file names of a setup's keys (derived from its circuits' parameters and revision), and the chunk circuit's
/// parameters they were derived from.
#[derive(Debug)]
pub(crate) struct KeyNames {
    pub(crate) chunk: String,
    pub(crate) aggregation: String,
    pub(crate) chunk_params: ChunkCircuitParams,
}

/// Makes sure every key of `config` is in its folder, the compiled verifying keys and the SRS's verifier part included,
/// and returns the setup's [`Verifier`]. Nothing is generated when the verifier's files are all there; otherwise the
/// SRS is loaded (with `dev_srs`, generated) and the missing keys generated (minutes, and gigabytes for the
/// aggregation circuit). Provers generate what they lack themselves.
pub fn setup(config: &KeysConfig) -> Result<Verifier, Error> {
    let names = config.key_names()?;
    let files = [
        config.dir.join(crate::srs::VERIFIER_FILE),
        config.dir.join(format!("{}.protocol", names.chunk)),
        config.dir.join(format!("{}.protocol", names.aggregation)),
    ];
    if !files.iter().all(|f| f.is_file()) {
        let shape = config.shape;
        let agg_srs = load_srs(&config.dir, shape.aggregation_k, config.dev_srs)?;
        let chunk_srs = downsized_in(&config.dir, &agg_srs, shape.chunk_k);
        let chunk_keys = ChunkKeys::load_or_generate(&config.dir, &chunk_srs, names.chunk_params.clone())?;
        AggregationKeys::load_or_generate(&config.dir, &agg_srs, &chunk_srs, &chunk_keys, shape.chunks_per_batch)?;
    }
    Verifier::read(config, &names)
}

/// The file name (without extension) of the chunk circuit's keys.
pub(crate) fn chunk_keys_name(params: &ChunkCircuitParams) -> String {
    format!(
        "chunk_r{CHUNK_CIRCUIT_REVISION}_k{}_s{}_{}",
        params.shape.k,
        params.shape.slots,
        hex_prefix(&serde_json::to_vec(params).unwrap_or_default())
    )
}

/// The file name (without extension) of the aggregation circuit's keys over `chunks` proofs of the chunk circuit
/// with `chunk`.
pub(crate) fn aggregation_keys_name(k: u32, chunks: usize, chunk: &ChunkCircuitParams) -> String {
    let chunk = hex_prefix(&serde_json::to_vec(chunk).unwrap_or_default());
    format!("aggregation_k{k}_n{chunks}_r{CHUNK_CIRCUIT_REVISION}_{chunk}")
}

fn hex_prefix(bytes: &[u8]) -> String {
    let digest = alloy_primitives::keccak256(bytes);
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

impl CircuitExt<Fr> for ChunkCircuit {
    fn num_instance(&self) -> Vec<usize> {
        vec![CHUNK_PUBLIC_INPUTS]
    }

    fn instances(&self) -> Vec<Vec<Fr>> {
        Self::instances(self)
    }
}

/// What key generation fixes besides the chunk circuit's keys: written next to them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChunkKeyMeta {
    pub(crate) params: ChunkCircuitParams,
    pub(crate) break_points: MultiPhaseThreadBreakPoints,
}

/// The keys of a chunk circuit, with its verifying key compiled for snark-verifier (what the aggregation circuit and
/// every verifier of its proofs take) and the SRS's deciding key.
#[derive(Debug)]
pub struct ChunkKeys {
    params: ChunkCircuitParams,
    break_points: MultiPhaseThreadBreakPoints,
    pk: ProvingKey<G1Affine>,
    protocol: PlonkProtocol<G1Affine>,
    dk: DecidingKey,
}

/// The chunk circuit's verifying key compiled for snark-verifier.
fn chunk_protocol(srs: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>) -> PlonkProtocol<G1Affine> {
    compile(srs, vk, Config::kzg().with_num_instance(vec![CHUNK_PUBLIC_INPUTS]))
}

impl ChunkKeys {
    /// Generates the keys for `params` with `srs` (of exactly `2^k` rows).
    pub fn generate(srs: &ParamsKZG<Bn256>, params: ChunkCircuitParams) -> Result<Self, Error> {
        let circuit = ChunkCircuit::keygen(params.clone());
        let vk = keygen_vk(srs, &circuit).map_err(|e| Error::Halo2(format!("{e:?}")))?;
        let pk = keygen_pk(srs, vk, &circuit).map_err(|e| Error::Halo2(format!("{e:?}")))?;
        let protocol = chunk_protocol(srs, pk.get_vk());
        Ok(Self { break_points: circuit.break_points(), params, pk, protocol, dk: deciding_key_of(srs) })
    }

    /// Loads the keys for `params` from `dir`, or generates and saves them.
    pub fn load_or_generate(dir: &Path, srs: &ParamsKZG<Bn256>, params: ChunkCircuitParams) -> Result<Self, Error> {
        let name = chunk_keys_name(&params);
        let (meta, pk, protocol) = cached_keys::<ChunkCircuit, ChunkKeyMeta>(
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
            |vk| chunk_protocol(srs, vk),
        )?;
        Ok(Self { params: meta.params, break_points: meta.break_points, pk, protocol, dk: deciding_key_of(srs) })
    }

    /// The circuit parameters.
    pub const fn params(&self) -> &ChunkCircuitParams {
        &self.params
    }

    /// The break points key generation fixed (a prover lays the witness out with them).
    pub const fn break_points(&self) -> &MultiPhaseThreadBreakPoints {
        &self.break_points
    }

    /// The proving key.
    pub const fn pk(&self) -> &ProvingKey<G1Affine> {
        &self.pk
    }

    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }

    /// Verifies a chunk proof natively (`crate::verifier`, as every verifier of chunk proofs does).
    pub fn verify(&self, snark: &Snark) -> bool {
        snark.instances.len() == 1 && verify_chunk_proof(&self.dk, &self.protocol, &snark.instances[0], snark.proof())
    }

    /// The proof system's description of the circuit, for aggregation and verification.
    pub const fn protocol(&self) -> &PlonkProtocol<G1Affine> {
        &self.protocol
    }
}

/// Keys cached in `dir` as `<name>.json`, `<name>.pk` and `<name>.protocol`: read when the first two are there, else
/// generated and written; the compiled verifying key (`protocol` of the key's verifying key) is written whenever it
/// is missing, so keys folders made before verifiers read `.protocol` files get theirs on the next load.
fn cached_keys<C, M>(
    dir: &Path,
    name: &str,
    circuit_params: impl Fn(&M) -> C::Params,
    generate: impl FnOnce() -> Result<(M, ProvingKey<G1Affine>), Error>,
    protocol: impl FnOnce(&VerifyingKey<G1Affine>) -> PlonkProtocol<G1Affine>,
) -> Result<(M, ProvingKey<G1Affine>, PlonkProtocol<G1Affine>), Error>
where
    C: Circuit<Fr>,
    M: Serialize + serde::de::DeserializeOwned,
{
    let pk_path = dir.join(format!("{name}.pk"));
    let meta_path = dir.join(format!("{name}.json"));
    let protocol_path = dir.join(format!("{name}.protocol"));
    let (meta, pk) = if let (Ok(meta), Ok(pk_file)) = (fs::read(&meta_path), File::open(&pk_path)) {
        let meta: M = read_meta(&meta_path, &meta)?;
        let pk = ProvingKey::read::<_, C>(
            &mut BufReader::new(pk_file),
            SerdeFormat::RawBytesUnchecked,
            circuit_params(&meta),
        )
        .map_err(io_err(format!("reading {}", pk_path.display())))?;
        (meta, pk)
    } else {
        let (meta, pk) = generate()?;
        fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        write_atomically(&pk_path, |file| pk.write(file, SerdeFormat::RawBytesUnchecked))?;
        let json = serde_json::to_vec_pretty(&meta)
            .map_err(|e| io_err(format!("encoding {}", meta_path.display()))(io::Error::other(e)))?;
        write_atomically(&meta_path, |file| io::Write::write_all(file, &json))?;
        (meta, pk)
    };
    let protocol = protocol(pk.get_vk());
    if !protocol_path.is_file() {
        write_atomically(&protocol_path, |file| bincode::serialize_into(file, &protocol).map_err(io::Error::other))?;
    }
    Ok((meta, pk, protocol))
}

fn read_meta<M: serde::de::DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<M, Error> {
    serde_json::from_slice(bytes).map_err(|e| io_err(format!("reading {}", path.display()))(io::Error::other(e)))
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
    protocol: PlonkProtocol<G1Affine>,
    dk: DecidingKey,
}

/// The aggregation circuit's verifying key compiled for snark-verifier, with its accumulator (the EVM verifier's
/// view).
fn aggregation_protocol(srs: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>, chunks: usize) -> PlonkProtocol<G1Affine> {
    compile(
        srs,
        vk,
        Config::kzg()
            .with_num_instance(vec![ACCUMULATOR_LIMBS + batch_statement_len(chunks)])
            .with_accumulator_indices(AggregationCircuit::accumulator_indices()),
    )
}

/// What key generation fixes besides the aggregation circuit's keys: written next to them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AggregationKeyMeta {
    pub(crate) chunks: usize,
    pub(crate) config: AggregationConfigParams,
    pub(crate) break_points: MultiPhaseThreadBreakPoints,
}

impl AggregationKeys {
    /// Generates the aggregation keys for `chunks` chunk proofs of `chunk_keys` (made with `chunk_srs`), on
    /// `agg_srs` (its size is the aggregation circuit's).
    pub fn generate(
        agg_srs: &ParamsKZG<Bn256>,
        chunk_srs: &ParamsKZG<Bn256>,
        chunk_keys: &ChunkKeys,
        chunks: usize,
    ) -> Result<Self, Error> {
        let k = agg_srs.k();
        let dummy: Vec<Snark> = (0..chunks)
            .map(|_| gen_dummy_snark_from_vk::<SHPLONK>(chunk_srs, chunk_keys.vk(), vec![CHUNK_PUBLIC_INPUTS], None))
            .collect();
        let config = AggregationConfigParams { degree: k, lookup_bits: k as usize - 1, ..Default::default() };
        let mut circuit = aggregation_circuit(CircuitBuilderStage::Keygen, config, chunk_srs, dummy)?;
        let config = circuit.calculate_params(Some(20));
        let vk = keygen_vk(agg_srs, &circuit).map_err(|e| Error::Halo2(format!("{e:?}")))?;
        let pk = keygen_pk(agg_srs, vk, &circuit).map_err(|e| Error::Halo2(format!("{e:?}")))?;
        let protocol = aggregation_protocol(agg_srs, pk.get_vk(), chunks);
        Ok(Self { chunks, config, break_points: circuit.break_points(), pk, protocol, dk: deciding_key_of(agg_srs) })
    }

    /// Loads the keys from `dir` or generates and saves them.
    pub fn load_or_generate(
        dir: &Path,
        agg_srs: &ParamsKZG<Bn256>,
        chunk_srs: &ParamsKZG<Bn256>,
        chunk_keys: &ChunkKeys,
        chunks: usize,
    ) -> Result<Self, Error> {
        let name = aggregation_keys_name(agg_srs.k(), chunks, chunk_keys.params());
        let (meta, pk, protocol) = cached_keys::<AggregationCircuit, AggregationKeyMeta>(
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
            |vk| aggregation_protocol(agg_srs, vk, chunks),
        )?;
        let dk = deciding_key_of(agg_srs);
        Ok(Self { chunks: meta.chunks, config: meta.config, break_points: meta.break_points, pk, protocol, dk })
    }

    /// Number of chunk proofs per batch proof.
    pub const fn chunks(&self) -> usize {
        self.chunks
    }

    /// The proving key.
    pub const fn pk(&self) -> &ProvingKey<G1Affine> {
        &self.pk
    }

    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }

    /// The aggregation circuit over exactly [`AggregationKeys::chunks`] chunk proofs, in batch order, laid out as
    /// key generation fixed it, ready to prove: consecutive chunks must chain. `chunk_srs` is the chunk proofs' SRS.
    pub fn prover_circuit(
        &self,
        chunk_srs: &ParamsKZG<Bn256>,
        snarks: Vec<Snark>,
    ) -> Result<AggregationCircuit, Error> {
        if snarks.len() != self.chunks {
            return Err(Error::Aggregation(format!("{} chunk proofs for {} slots", snarks.len(), self.chunks)));
        }
        for pair in snarks.windows(2) {
            let (a, b) = (&pair[0].instances[0], &pair[1].instances[0]);
            if CHAINED.iter().any(|&(this, next)| a.get(this) != b.get(next)) {
                return Err(Error::Aggregation("consecutive chunks do not chain".into()));
            }
        }
        let mut circuit = aggregation_circuit(CircuitBuilderStage::Prover, self.config, chunk_srs, snarks)?;
        circuit.set_break_points(self.break_points.clone());
        Ok(circuit)
    }

    /// Verifies a batch proof natively (`crate::verifier`: the same check as the EVM verifier).
    pub fn verify(&self, proof: &BatchProof) -> bool {
        verify_batch_proof(&self.dk, &self.protocol, proof)
    }

    /// Solidity source of the EVM verifier of this aggregation circuit (snark-verifier's generator).
    pub fn evm_verifier_source(&self) -> Result<String, Error> {
        evm_verifier_source(&self.dk, &self.protocol)
    }
}

/// The aggregation circuit over `snarks` with the chaining constraints and the batch's public inputs.
fn aggregation_circuit(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    chunk_srs: &ParamsKZG<Bn256>,
    snarks: Vec<Snark>,
) -> Result<AggregationCircuit, Error> {
    if snarks.is_empty() {
        return Err(Error::Aggregation("no chunk proofs".into()));
    }
    let mut circuit = AggregationCircuit::new::<SHPLONK>(stage, config, chunk_srs, snarks, VerifierUniversality::None);
    let chunks: Vec<_> = circuit.previous_instances().clone();
    if chunks.iter().any(|c| c.len() != CHUNK_PUBLIC_INPUTS) {
        return Err(Error::Aggregation("a chunk proof with the wrong number of public inputs".into()));
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
