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
//!  <dir>/aggregation_k<k>_n<chunks>_r<rev>_<hash>.{json,pk,protocol}    over chunk proofs (a batch's, or a layer's group)
//!  <dir>/aggregation_k<k>_n<inputs>_of_<hash>.{json,pk,protocol}          over layer proofs (a layered batch's)
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
    statement::{ACCUMULATOR_LIMBS, CHUNK_STATEMENT, STATEMENT_CHAINED, batch_statement_len, merged_statement},
};

use crate::{
    ChunkCircuit, ChunkCircuitParams, ChunkShape, Error,
    chunk::CHUNK_CIRCUIT_REVISION,
    error::{io_err, write_atomically},
    progress::{self, Model},
    srs::{deciding_key_of, downsized_in, load_srs},
    verifier::{
        BatchProof, DecidingKey, Verifier, evm_verifier_source, verify_batch_proof, verify_chunk_proof,
        verify_layer_proof,
    },
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
        let shape = &self.shape;
        let layer = shape.layer.map(|layer| chunk_aggregation_keys_name(layer.k, layer.group, &params));
        let aggregation = match &layer {
            None => chunk_aggregation_keys_name(shape.aggregation_k, shape.chunks_per_batch, &params),
            Some(layer) => layer_aggregation_keys_name(shape.aggregation_k, shape.batch_inputs(), layer),
        };
        Ok(KeyNames { chunk: chunk_keys_name(&params), layer, aggregation, chunk_params: params })
    }
}

/// The file names of a setup's keys (derived from its circuits' parameters and revision), and the chunk circuit's
/// parameters they were derived from.
#[derive(Debug)]
pub(crate) struct KeyNames {
    pub(crate) chunk: String,
    /// The layer's, when the shape has one.
    pub(crate) layer: Option<String>,
    /// The batch proof's circuit: over the chunk proofs, or over the layer's proofs.
    pub(crate) aggregation: String,
    pub(crate) chunk_params: ChunkCircuitParams,
}

/// Makes sure every key of `config` is in its folder, the compiled verifying keys and the SRS's verifier part included,
/// and returns the setup's [`Verifier`]. Nothing is generated when the verifier's files are all there; otherwise the
/// SRS is loaded (with `dev_srs`, generated) and the missing keys generated (minutes, and gigabytes for the
/// aggregation circuit). Provers generate what they lack themselves.
pub fn setup(config: &KeysConfig) -> Result<Verifier, Error> {
    let names = config.key_names()?;
    let protocols = [Some(&names.chunk), names.layer.as_ref(), Some(&names.aggregation)];
    let present = config.dir.join(crate::srs::VERIFIER_FILE).is_file()
        && protocols.iter().flatten().all(|name| config.dir.join(format!("{name}.protocol")).is_file());
    if !present {
        let shape = config.shape;
        let agg_srs = load_srs(&config.dir, shape.aggregation_k, config.dev_srs)?;
        let chunk_srs = downsized_in(&config.dir, &agg_srs, shape.chunk_k);
        let chunk_keys = ChunkKeys::load_or_generate(&config.dir, &chunk_srs, names.chunk_params.clone())?;
        match shape.layer {
            None => {
                AggregationKeys::load_or_generate(
                    &config.dir,
                    &agg_srs,
                    &chunk_srs,
                    &chunk_keys,
                    shape.chunks_per_batch,
                )?;
            }
            Some(layer) => {
                let layer_srs = downsized_in(&config.dir, &agg_srs, layer.k);
                let layer_keys =
                    AggregationKeys::load_or_generate(&config.dir, &layer_srs, &chunk_srs, &chunk_keys, layer.group)?;
                // The batch proof's keys need only the layer's verifying key: its proving key goes first.
                let layer_vk = layer_keys.verifying();
                drop((layer_keys, chunk_keys));
                AggregationKeys::load_or_generate_over(
                    &config.dir,
                    &agg_srs,
                    &layer_srs,
                    layer_vk.as_inner(),
                    shape.batch_inputs(),
                )?;
            }
        }
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

/// The file name (without extension) of the aggregation circuit's keys over `inputs` proofs of `inner`: over chunk
/// proofs, named by the chunk circuit's revision and parameters; over a layer, by the layer's keys' name.
pub(crate) fn aggregation_keys_name(k: u32, inputs: usize, inner: &Inner<'_>) -> String {
    match inner {
        Inner::Chunks(keys) => chunk_aggregation_keys_name(k, inputs, keys.params()),
        Inner::Layer(layer) => layer_aggregation_keys_name(k, inputs, layer.name),
    }
}

/// The file name (without extension) of the aggregation circuit's keys over `inputs` proofs of the layer whose keys
/// are named `layer`.
pub(crate) fn layer_aggregation_keys_name(k: u32, inputs: usize, layer: &str) -> String {
    format!("aggregation_k{k}_n{inputs}_of_{}", hex_prefix(layer.as_bytes()))
}

/// The file name (without extension) of the aggregation circuit's keys over `inputs` chunk proofs of the chunk
/// circuit with `chunk`.
pub(crate) fn chunk_aggregation_keys_name(k: u32, inputs: usize, chunk: &ChunkCircuitParams) -> String {
    let chunk = hex_prefix(&serde_json::to_vec(chunk).unwrap_or_default());
    format!("aggregation_k{k}_n{inputs}_r{CHUNK_CIRCUIT_REVISION}_{chunk}")
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

/// The proofs an aggregation circuit verifies: chunk proofs, or the proofs of an aggregation layer below it (a tree).
#[derive(Debug, Clone, Copy)]
pub enum Inner<'a> {
    /// Chunk proofs of these keys.
    Chunks(&'a ChunkKeys),
    /// Proofs of an aggregation layer (with a Poseidon transcript: [`AggregationKeys::verify_layer`]).
    Layer(LayerRef<'a>),
}

/// What an aggregation circuit over a layer needs of the layer's keys: their name, the chunks each proof covers and,
/// to make the keys above it, the verifying key ([`AggregationKeys::as_inner`], or [`LayerVk::as_inner`] once the
/// proving key is dropped).
#[derive(Debug, Clone, Copy)]
pub struct LayerRef<'a> {
    name: &'a str,
    chunks: usize,
    vk: Option<&'a VerifyingKey<G1Affine>>,
}

/// A layer without its proving key (gigabytes): enough to read and check the layer's proofs as the inputs of the
/// circuit above it, and, with the verifying key, to make that circuit's keys.
#[derive(Debug, Clone)]
pub struct LayerVk {
    name: String,
    chunks: usize,
    vk: Option<VerifyingKey<G1Affine>>,
    protocol: PlonkProtocol<G1Affine>,
    dk: DecidingKey,
}

impl LayerVk {
    /// The layer of `config` read from its folder without any proving key: its compiled verifying key (`.protocol`)
    /// and the deciding key of `srs` (any SRS of the setup). `None` unless the keys of the batch proof's circuit
    /// above the layer are there too, since making them needs the layer's verifying key proper (from its keys:
    /// [`AggregationKeys::verifying`]).
    pub fn read(config: &KeysConfig, srs: &ParamsKZG<Bn256>) -> Result<Option<Self>, Error> {
        let (Some(layer), names) = (config.shape.layer, config.key_names()?) else { return Ok(None) };
        let Some(name) = names.layer else { return Ok(None) };
        let above = ["json", "pk"].map(|ext| config.dir.join(format!("{}.{ext}", names.aggregation)));
        let protocol_file = config.dir.join(format!("{name}.protocol"));
        if !above.iter().all(|f| f.is_file()) || !protocol_file.is_file() {
            return Ok(None);
        }
        let protocol = crate::verifier::read_aggregation_protocol(&config.dir, &name, layer.group, "layer")?;
        Ok(Some(Self { name, chunks: layer.group, vk: None, protocol, dk: deciding_key_of(srs) }))
    }

    /// The layer as the inner circuit of the circuit above it.
    pub fn as_inner(&self) -> Inner<'_> {
        Inner::Layer(LayerRef { name: &self.name, chunks: self.chunks, vk: self.vk.as_ref() })
    }

    /// A layer proof received as public inputs and proof bytes, with this layer's description of its circuit (never
    /// one supplied by the sender).
    pub fn snark(&self, instances: Vec<Fr>, proof: Vec<u8>) -> Snark {
        Snark::new(self.protocol.clone(), vec![instances], proof)
    }

    /// Verifies a layer proof natively (Poseidon transcript).
    pub fn verify(&self, snark: &Snark) -> bool {
        snark.instances.len() == 1 && verify_layer_proof(&self.dk, &self.protocol, &snark.instances[0], snark.proof())
    }

    /// Chunks one layer proof covers.
    pub const fn chunks(&self) -> usize {
        self.chunks
    }
}

impl Inner<'_> {
    fn kind(&self) -> InnerKind {
        match self {
            Self::Chunks(_) => InnerKind::Chunk,
            Self::Layer(layer) => InnerKind::Layer { chunks: layer.chunks },
        }
    }

    fn vk(&self) -> Result<&VerifyingKey<G1Affine>, Error> {
        match self {
            Self::Chunks(keys) => Ok(keys.vk()),
            Self::Layer(layer) => layer.vk.ok_or_else(|| {
                Error::Aggregation(format!(
                    "making the keys above {} needs its verifying key (from its keys)",
                    layer.name
                ))
            }),
        }
    }
}

/// What an aggregation circuit verifies, as its key metadata records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InnerKind {
    /// Chunk proofs: public inputs in the chunk layout (`zkr_protocol::statement::chunk`).
    Chunk,
    /// Proofs of a layer below: the accumulator, then the statement of the `chunks` chunks each covers.
    Layer {
        /// Chunks each inner proof covers.
        chunks: usize,
    },
}

impl InnerKind {
    /// Chunks one inner proof covers.
    pub const fn chunks(&self) -> usize {
        match self {
            Self::Chunk => 1,
            Self::Layer { chunks } => *chunks,
        }
    }

    /// Public inputs of one inner proof.
    pub const fn num_instance(&self) -> usize {
        match self {
            Self::Chunk => CHUNK_PUBLIC_INPUTS,
            Self::Layer { chunks } => ACCUMULATOR_LIMBS + batch_statement_len(*chunks),
        }
    }

    /// Where the accumulator of an inner proof sits among its public inputs (none for chunk proofs).
    fn accumulator_indices(&self) -> Option<Vec<(usize, usize)>> {
        match self {
            Self::Chunk => None,
            Self::Layer { .. } => AggregationCircuit::accumulator_indices(),
        }
    }

    /// Indices, among an inner proof's public inputs, of the words of the statement of the range it covers.
    fn statement(&self) -> Vec<usize> {
        match self {
            Self::Chunk => CHUNK_STATEMENT.to_vec(),
            Self::Layer { chunks } => (ACCUMULATOR_LIMBS..ACCUMULATOR_LIMBS + batch_statement_len(*chunks)).collect(),
        }
    }
}

/// The aggregation of `inputs` proofs of an inner circuit (chunk proofs, or an aggregation layer's) into one proof
/// of the range of chunks they cover.
///
/// The circuit verifies each inner proof against the inner circuit's verifying key (a constant of the circuit, so
/// only proofs of that circuit are accepted), folds their accumulators into its own when they carry one, chains them
/// (each range starts from the state root and deposit hash the previous one ended with), and exposes, after the
/// accumulator, the statement of the whole range in the layout the Rollup contract builds
/// (`zkr_protocol::statement`). The last layer's proofs are made with the EVM's keccak transcript
/// ([`BatchProof`], checked by [`AggregationKeys::verify`]); a layer below proves with the Poseidon transcript, which
/// the layer above verifies in-circuit ([`AggregationKeys::verify_layer`]).
#[derive(Debug)]
pub struct AggregationKeys {
    name: String,
    inner: InnerKind,
    inputs: usize,
    config: AggregationConfigParams,
    break_points: MultiPhaseThreadBreakPoints,
    pk: ProvingKey<G1Affine>,
    protocol: PlonkProtocol<G1Affine>,
    dk: DecidingKey,
}

/// The aggregation circuit's verifying key compiled for snark-verifier, with its accumulator (the view of the EVM
/// verifier and of a layer above).
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
    /// Inner proofs per proof (named `chunks` before layers, when every input was a chunk proof).
    #[serde(alias = "chunks")]
    pub(crate) inputs: usize,
    #[serde(default = "chunk_inner")]
    pub(crate) inner: InnerKind,
    pub(crate) config: AggregationConfigParams,
    pub(crate) break_points: MultiPhaseThreadBreakPoints,
}

const fn chunk_inner() -> InnerKind {
    InnerKind::Chunk
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
        Self::generate_over(agg_srs, chunk_srs, Inner::Chunks(chunk_keys), chunks)
    }

    /// Generates the keys of the aggregation of `inputs` proofs of `inner` (made with `inner_srs`), on `agg_srs`.
    pub fn generate_over(
        agg_srs: &ParamsKZG<Bn256>,
        inner_srs: &ParamsKZG<Bn256>,
        inner: Inner<'_>,
        inputs: usize,
    ) -> Result<Self, Error> {
        let k = agg_srs.k();
        let kind = inner.kind();
        let inner_vk = inner.vk()?;
        let dummy: Vec<Snark> = (0..inputs)
            .map(|_| {
                gen_dummy_snark_from_vk::<SHPLONK>(
                    inner_srs,
                    inner_vk,
                    vec![kind.num_instance()],
                    kind.accumulator_indices(),
                )
            })
            .collect();
        let config = AggregationConfigParams { degree: k, lookup_bits: k as usize - 1, ..Default::default() };
        let mut circuit = aggregation_circuit(CircuitBuilderStage::Keygen, config, inner_srs, kind, dummy)?;
        let config = circuit.calculate_params(Some(20));
        let vk = keygen_vk(agg_srs, &circuit).map_err(|e| Error::Halo2(format!("{e:?}")))?;
        let pk = keygen_pk(agg_srs, vk, &circuit).map_err(|e| Error::Halo2(format!("{e:?}")))?;
        let chunks = kind.chunks() * inputs;
        let protocol = aggregation_protocol(agg_srs, pk.get_vk(), chunks);
        Ok(Self {
            name: aggregation_keys_name(k, inputs, &inner),
            inner: kind,
            inputs,
            config,
            break_points: circuit.break_points(),
            pk,
            protocol,
            dk: deciding_key_of(agg_srs),
        })
    }

    /// Loads the keys from `dir` or generates and saves them.
    pub fn load_or_generate(
        dir: &Path,
        agg_srs: &ParamsKZG<Bn256>,
        chunk_srs: &ParamsKZG<Bn256>,
        chunk_keys: &ChunkKeys,
        chunks: usize,
    ) -> Result<Self, Error> {
        Self::load_or_generate_over(dir, agg_srs, chunk_srs, Inner::Chunks(chunk_keys), chunks)
    }

    /// Loads the keys of the aggregation of `inputs` proofs of `inner` from `dir`, or generates and saves them.
    pub fn load_or_generate_over(
        dir: &Path,
        agg_srs: &ParamsKZG<Bn256>,
        inner_srs: &ParamsKZG<Bn256>,
        inner: Inner<'_>,
        inputs: usize,
    ) -> Result<Self, Error> {
        let name = aggregation_keys_name(agg_srs.k(), inputs, &inner);
        let chunks = inner.kind().chunks() * inputs;
        let (meta, pk, protocol) = cached_keys::<AggregationCircuit, AggregationKeyMeta>(
            dir,
            &name,
            |meta| meta.config,
            || {
                let model = Model::AggregationKeys(inputs).estimate(agg_srs.k());
                let stage = progress::start(dir, &format!("{name}_keys"), model, true);
                let keys = Self::generate_over(agg_srs, inner_srs, inner, inputs)?;
                stage.finish();
                let meta = AggregationKeyMeta {
                    inputs: keys.inputs,
                    inner: keys.inner,
                    config: keys.config,
                    break_points: keys.break_points,
                };
                Ok((meta, keys.pk))
            },
            |vk| aggregation_protocol(agg_srs, vk, chunks),
        )?;
        if meta.inputs != inputs || meta.inner != inner.kind() {
            return Err(Error::Aggregation(format!("{name}.json describes another aggregation")));
        }
        let dk = deciding_key_of(agg_srs);
        Ok(Self {
            name,
            inner: meta.inner,
            inputs: meta.inputs,
            config: meta.config,
            break_points: meta.break_points,
            pk,
            protocol,
            dk,
        })
    }

    /// The aggregation circuit's configuration (its columns), as key generation fixed it.
    pub const fn config(&self) -> &AggregationConfigParams {
        &self.config
    }

    /// Inner proofs per proof.
    pub const fn inputs(&self) -> usize {
        self.inputs
    }

    /// Chunks one proof covers: the chunk proofs per batch proof for the last layer.
    pub const fn chunks(&self) -> usize {
        self.inner.chunks() * self.inputs
    }

    /// What the circuit verifies.
    pub const fn inner(&self) -> InnerKind {
        self.inner
    }

    /// The proving key.
    pub const fn pk(&self) -> &ProvingKey<G1Affine> {
        &self.pk
    }

    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }

    /// The proof system's description of the circuit, accumulator included, for a layer above and for verifiers.
    pub const fn protocol(&self) -> &PlonkProtocol<G1Affine> {
        &self.protocol
    }

    /// These keys as the inner circuit of a layer above them.
    pub fn as_inner(&self) -> Inner<'_> {
        Inner::Layer(LayerRef { name: &self.name, chunks: self.chunks(), vk: Some(self.vk()) })
    }

    /// The verifying key alone (a copy), to make the keys of the layer above once this one's proving key is dropped.
    pub fn verifying(&self) -> LayerVk {
        LayerVk {
            name: self.name.clone(),
            chunks: self.chunks(),
            vk: Some(self.vk().clone()),
            protocol: self.protocol.clone(),
            dk: self.dk.clone(),
        }
    }

    /// The aggregation circuit over exactly [`AggregationKeys::inputs`] inner proofs, in batch order, laid out as
    /// key generation fixed it, ready to prove: consecutive ranges must chain. `inner_srs` is the inner proofs' SRS.
    pub fn prover_circuit(
        &self,
        inner_srs: &ParamsKZG<Bn256>,
        snarks: Vec<Snark>,
    ) -> Result<AggregationCircuit, Error> {
        if snarks.len() != self.inputs {
            return Err(Error::Aggregation(format!("{} inner proofs for {} slots", snarks.len(), self.inputs)));
        }
        let statement = self.inner.statement();
        if snarks.iter().any(|s| s.instances.len() != 1 || s.instances[0].len() != self.inner.num_instance()) {
            return Err(Error::Aggregation("an inner proof with the wrong number of public inputs".into()));
        }
        for pair in snarks.windows(2) {
            let (a, b) = (&pair[0].instances[0], &pair[1].instances[0]);
            if STATEMENT_CHAINED.iter().any(|&(this, next)| a[statement[this]] != b[statement[next]]) {
                return Err(Error::Aggregation("consecutive ranges do not chain".into()));
            }
        }
        let mut circuit = aggregation_circuit(CircuitBuilderStage::Prover, self.config, inner_srs, self.inner, snarks)?;
        circuit.set_break_points(self.break_points.clone());
        Ok(circuit)
    }

    /// Verifies a batch proof (the last layer's, keccak transcript) natively (`crate::verifier`: the same check as
    /// the EVM verifier).
    pub fn verify(&self, proof: &BatchProof) -> bool {
        verify_batch_proof(&self.dk, &self.protocol, proof)
    }

    /// Verifies a proof of this layer made for the layer above (Poseidon transcript) natively.
    pub fn verify_layer(&self, snark: &Snark) -> bool {
        snark.instances.len() == 1 && verify_layer_proof(&self.dk, &self.protocol, &snark.instances[0], snark.proof())
    }

    /// Solidity source of the EVM verifier of this aggregation circuit (snark-verifier's generator).
    pub fn evm_verifier_source(&self) -> Result<String, Error> {
        evm_verifier_source(&self.dk, &self.protocol)
    }
}

/// The aggregation circuit over `snarks` (proofs of `inner`) with the chaining constraints and the covered range's
/// statement as public inputs.
fn aggregation_circuit(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    inner_srs: &ParamsKZG<Bn256>,
    inner: InnerKind,
    snarks: Vec<Snark>,
) -> Result<AggregationCircuit, Error> {
    if snarks.is_empty() {
        return Err(Error::Aggregation("no inner proofs".into()));
    }
    let mut circuit = AggregationCircuit::new::<SHPLONK>(stage, config, inner_srs, snarks, VerifierUniversality::None);
    let previous: Vec<_> = circuit.previous_instances().clone();
    if previous.iter().any(|p| p.len() != inner.num_instance()) {
        return Err(Error::Aggregation("an inner proof with the wrong number of public inputs".into()));
    }
    let indices = inner.statement();
    let ranges: Vec<Vec<_>> = previous.iter().map(|p| indices.iter().map(|&i| p[i]).collect()).collect();
    let builder: &mut BaseCircuitBuilder<Fr> = &mut circuit.builder;
    let ctx = builder.main(0);
    for pair in ranges.windows(2) {
        for (this, next) in STATEMENT_CHAINED {
            ctx.constrain_equal(&pair[0][this], &pair[1][next]);
        }
    }
    let covered = vec![inner.chunks(); ranges.len()];
    builder.assigned_instances[0].extend(merged_statement(&covered).into_iter().map(|(r, word)| ranges[r][word]));
    Ok(circuit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregation_key_metadata_round_trips_and_reads_the_flat_format() {
        let meta = AggregationKeyMeta {
            inputs: 2,
            inner: InnerKind::Layer { chunks: 4 },
            config: AggregationConfigParams { degree: 22, num_advice: 3, lookup_bits: 21, ..Default::default() },
            break_points: vec![vec![1, 2]],
        };
        let json = serde_json::to_string(&meta).unwrap();
        let back: AggregationKeyMeta = serde_json::from_str(&json).unwrap();
        assert_eq!((back.inputs, back.inner, back.break_points), (2, meta.inner, meta.break_points));
        assert_eq!((back.config.degree, back.config.num_advice, back.config.lookup_bits), (22, 3, 21));
        assert_eq!(back.inner.chunks(), 4);
        assert_eq!(back.inner.num_instance(), ACCUMULATOR_LIMBS + batch_statement_len(4));

        // Keys written before layers: `chunks` inputs, every one a chunk proof.
        let mut flat: serde_json::Value = serde_json::from_str(&json).unwrap();
        let object = flat.as_object_mut().unwrap();
        object.remove("inner");
        let inputs = object.remove("inputs").unwrap();
        object.insert("chunks".into(), inputs);
        let old: AggregationKeyMeta = serde_json::from_value(flat).unwrap();
        assert_eq!((old.inputs, old.inner), (2, InnerKind::Chunk));
        assert_eq!(InnerKind::Chunk.num_instance(), CHUNK_PUBLIC_INPUTS);
        assert_eq!(InnerKind::Chunk.statement(), CHUNK_STATEMENT.to_vec());
        assert_eq!(InnerKind::Layer { chunks: 1 }.statement(), (12..22).collect::<Vec<_>>());
    }
}
