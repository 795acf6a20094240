//! The chunk circuit: one chunk of a batch, applied to the state tree, bound to the bytes the Rollup committed.
//!
//! The statement is [`zkr_protocol::ChunkPublicInputs`]; the rules are those of [`zkr_protocol::witness`], whose
//! native replay this circuit mirrors slot by slot. The circuit has a fixed layout whatever the witness: every slot
//! makes its four tree writes (disabled ones leave the root as it is) and the chunk one more (the leaf count), every
//! keccak permutation of the table is used, and the data's length selects among precomputed positions. Nothing
//! branches on witness values, so one set of keys serves every chunk of a shape.
//!
//! Two regions share the rows: halo2-base's gates (everything but keccak) and zkevm-hashes' keccak table. The keccak
//! table is assigned from the natively computed inputs ([`native::keccak_inputs`]); its input words, lengths, final
//! flags and digests are then copied into halo2-base cells and constrained against what the gates computed.

pub mod native;

use std::cell::RefCell;

use alloy_primitives::{Address, B256};
use halo2_base::{
    AssignedValue, Context,
    QuantumCell::{Constant, Existing},
    gates::{
        GateChip, GateInstructions, RangeChip, RangeInstructions,
        circuit::{BaseCircuitParams, BaseConfig, builder::BaseCircuitBuilder},
        flex_gate::MultiPhaseThreadBreakPoints,
    },
    halo2_proofs::{
        circuit::{Layouter, SimpleFloorPlanner},
        plonk::{Circuit, ConstraintSystem, Error},
    },
    safe_types::SafeTypeChip,
};
use zkevm_hashes::keccak::{
    component::circuit::shard::{LoadedKeccakF, transmute_keccak_assigned_to_virtual},
    vanilla::{KeccakAssignedRow, KeccakCircuitConfig, KeccakConfigParams, witness::multi_keccak},
};
use zkr_protocol::{
    CHUNK_WITHDRAWAL_HEIGHT, ChunkWitness, RECORD_BYTES, TRANSFER_GAS, WITHDRAWAL_ADDRESS, WriteSlot,
    chunk::CHUNK_PUBLIC_INPUTS,
    hashes::withdrawal_zero_hashes,
    record::{KIND_DEPOSIT, KIND_TRANSFER, offset},
    witness::LeafWrite,
};
use zkr_state::{
    TREE_DEPTH,
    field::{Field, Fr, PrimeField, fr_from_address, fr_from_b256, fr_from_u256},
};

use crate::{
    gadgets::{
        bytes::{compose_be, decompose_be, keccak_words, load_bytes},
        poseidon::{self, Permutation, PoseidonChip, PoseidonTableConfig, ROWS_PER_PERMUTATION},
    },
    layout::{
        ChunkShape, DEPOSIT_INPUT_BYTES, KECCAK_RATE, KECCAK_WORDS, LEAF_INPUT_BYTES, NODE_INPUT_BYTES, UNUSABLE_ROWS,
    },
};

/// The revision of the chunk circuit's constraints, part of every cached key's file name: raise it with any change
/// to the constraints that the parameters do not show, so that no stale key is ever loaded.
pub const CHUNK_CIRCUIT_REVISION: u32 = 5;

/// Everything that fixes a chunk circuit's keys: its shape, the chain's fee recipient, and halo2-base's column
/// layout (found by [`ChunkCircuit::configure_shape`]).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkCircuitParams {
    /// Rows and slots.
    pub shape: ChunkShape,
    /// The chain's fee recipient.
    pub fee_recipient: Address,
    /// Lanes of the Poseidon table (six advice columns each).
    pub poseidon_lanes: usize,
    /// halo2-base's columns.
    pub base: BaseCircuitParams,
}

impl ChunkCircuitParams {
    fn keccak(&self) -> KeccakConfigParams {
        KeccakConfigParams { k: self.shape.k, rows_per_round: self.shape.keccak_rows_per_round() }
    }
}

/// What a chunk circuit's layout holds, whatever the witness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLayout {
    /// halo2-base's gate cells.
    pub base_cells: usize,
    /// halo2-base's cells copied into range-lookup columns.
    pub lookup_cells: usize,
    /// Poseidon permutations.
    pub permutations: usize,
    /// Advice cells of the Poseidon table's permutations.
    pub poseidon_cells: usize,
    /// Keccak permutations of the keccak table.
    pub keccak_permutations: usize,
}

/// The chunk circuit over one witness.
#[derive(Debug)]
pub struct ChunkCircuit {
    params: ChunkCircuitParams,
    witness: ChunkWitness,
    /// The bytes each slot holds: its record's encoding, zeros for an empty slot.
    bytes: Vec<[u8; RECORD_BYTES]>,
    builder: RefCell<BaseCircuitBuilder<Fr>>,
}

/// The configuration: halo2-base's gates and range lookups, the keccak table and the Poseidon table.
#[derive(Debug, Clone)]
pub struct ChunkConfig {
    base: BaseConfig<Fr>,
    keccak: KeccakCircuitConfig<Fr>,
    poseidon: PoseidonTableConfig,
}

impl ChunkCircuit {
    /// Works out halo2-base's column layout for `shape` by laying the circuit out once without a witness, and
    /// returns the full parameters.
    pub fn configure_shape(shape: ChunkShape, fee_recipient: Address) -> Result<ChunkCircuitParams, String> {
        Self::layout(shape, fee_recipient).map(|(params, _)| params)
    }

    /// [`Self::configure_shape`], with what the layout holds.
    pub fn layout(shape: ChunkShape, fee_recipient: Address) -> Result<(ChunkCircuitParams, ChunkLayout), String> {
        shape.validate()?;
        let mut builder = BaseCircuitBuilder::<Fr>::new(false);
        builder.set_k(shape.k as usize);
        builder.set_lookup_bits(shape.lookup_bits());
        builder.set_instance_columns(1);
        let loaded = {
            let mut copy = builder.core().copy_manager.lock().expect("copy manager");
            (0..shape.keccak_capacity())
                .map(|_| {
                    LoadedKeccakF::new(
                        copy.mock_external_assigned(Fr::ZERO),
                        std::array::from_fn(|_| copy.mock_external_assigned(Fr::ZERO)),
                        SafeTypeChip::unsafe_to_bool(copy.mock_external_assigned(Fr::ZERO)),
                        copy.mock_external_assigned(Fr::ZERO),
                        copy.mock_external_assigned(Fr::ZERO),
                    )
                })
                .collect::<Vec<_>>()
        };
        let witness = empty_witness(shape, fee_recipient);
        let bytes = native::slot_bytes(&shape, &witness);
        let params = ChunkCircuitParams { shape, fee_recipient, poseidon_lanes: 1, base: BaseCircuitParams::default() };
        let permutations = generate(&params, &witness, &bytes, &mut builder, &loaded).map_err(|e| e.to_string())?.len();
        let statistics = builder.statistics();
        let base = builder.calculate_params(Some(UNUSABLE_ROWS));
        builder.clear();
        let per_lane = ((1usize << shape.k) - UNUSABLE_ROWS) / ROWS_PER_PERMUTATION;
        let poseidon_lanes = permutations.div_ceil(per_lane).max(1);
        let layout = ChunkLayout {
            base_cells: statistics.gate.total_advice_per_phase.iter().sum(),
            lookup_cells: statistics.total_lookup_advice_per_phase.iter().sum(),
            permutations,
            poseidon_cells: permutations * ROWS_PER_PERMUTATION * poseidon::table::LANE_WIDTH,
            keccak_permutations: shape.keccak_capacity(),
        };
        Ok((ChunkCircuitParams { shape, fee_recipient, poseidon_lanes, base }, layout))
    }

    /// A circuit for key generation or mock proving (constraints recorded).
    pub fn new(params: ChunkCircuitParams, witness: ChunkWitness) -> Result<Self, ChunkCircuitError> {
        Self::with_builder(params, witness, BaseCircuitBuilder::new(false))
    }

    /// A circuit for the real prover, which only assigns witnesses along `break_points` from key generation.
    pub fn prover(
        params: ChunkCircuitParams,
        witness: ChunkWitness,
        break_points: MultiPhaseThreadBreakPoints,
    ) -> Result<Self, ChunkCircuitError> {
        let circuit = Self::with_builder(params, witness, BaseCircuitBuilder::new(true))?;
        circuit.builder.borrow_mut().set_break_points(break_points);
        Ok(circuit)
    }

    /// A circuit for key generation: an empty chunk.
    pub fn keygen(params: ChunkCircuitParams) -> Self {
        let witness = empty_witness(params.shape, params.fee_recipient);
        Self::new(params, witness).expect("the empty chunk fits every shape")
    }

    fn with_builder(
        params: ChunkCircuitParams,
        witness: ChunkWitness,
        mut builder: BaseCircuitBuilder<Fr>,
    ) -> Result<Self, ChunkCircuitError> {
        if witness.slots != params.shape.slots || witness.slot_witnesses.len() != params.shape.slots {
            return Err(ChunkCircuitError::Shape(format!(
                "a witness for {} slots does not fit a circuit of {}",
                witness.slots, params.shape.slots
            )));
        }
        if witness.records.len() > params.shape.slots {
            return Err(ChunkCircuitError::Shape(format!(
                "{} records in {} slots",
                witness.records.len(),
                params.shape.slots
            )));
        }
        if witness.fee_recipient != params.fee_recipient {
            return Err(ChunkCircuitError::Shape(format!(
                "the witness pays fees to {} but the circuit to {}",
                witness.fee_recipient, params.fee_recipient
            )));
        }
        builder.set_params(params.base.clone());
        let bytes = native::slot_bytes(&params.shape, &witness);
        Ok(Self { params, witness, bytes, builder: RefCell::new(builder) })
    }

    /// Lets `tamper` change the bytes the circuit reads for each slot, which are otherwise the records' encodings (and
    /// zeros for empty slots). An honest prover never does this; a dishonest one may put any bytes there, so tests use
    /// it to show what the constraints refuse. The chunk's data is the first `records.len()` slots' bytes.
    pub fn with_slot_bytes(mut self, tamper: impl FnOnce(&mut [[u8; RECORD_BYTES]])) -> Self {
        tamper(&mut self.bytes);
        self
    }

    /// The break points of the layout, once keys have been generated with this circuit.
    pub fn break_points(&self) -> MultiPhaseThreadBreakPoints {
        self.builder.borrow().break_points()
    }

    /// The circuit's parameters.
    pub const fn params(&self) -> &ChunkCircuitParams {
        &self.params
    }

    /// The public inputs, as the verifier takes them (one instance column).
    pub fn instances(&self) -> Vec<Vec<Fr>> {
        vec![public_inputs(&self.witness)]
    }
}

/// The public inputs of a witness as field elements.
pub fn public_inputs(witness: &ChunkWitness) -> Vec<Fr> {
    witness.public.to_words().iter().map(|w| fr_from_u256(*w).expect("public inputs are field elements")).collect()
}

/// Why a chunk circuit cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkCircuitError {
    /// The witness does not fit the circuit.
    #[error("witness does not fit the circuit: {0}")]
    Shape(String),
    /// A witness value is not what the circuit can hold.
    #[error("bad witness: {0}")]
    Witness(String),
}

fn empty_witness(shape: ChunkShape, fee_recipient: Address) -> ChunkWitness {
    let mut tree = zkr_state::AccountTree::new();
    zkr_protocol::build_chunk(&mut tree, shape.slots, fee_recipient, B256::ZERO, &[])
        .expect("an empty chunk always replays")
}

impl Circuit<Fr> for ChunkCircuit {
    type Config = ChunkConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ChunkCircuitParams;

    fn params(&self) -> Self::Params {
        self.params.clone()
    }

    fn without_witnesses(&self) -> Self {
        unimplemented!("the chunk circuit is always built with a witness (an empty chunk for key generation)")
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: Self::Params) -> Self::Config {
        let keccak = KeccakCircuitConfig::new(meta, params.keccak());
        let poseidon = PoseidonTableConfig::configure(meta, params.poseidon_lanes);
        // Last, so that halo2-base sees every other column when it counts unusable rows.
        let base = BaseCircuitBuilder::configure_with_params(meta, params.base);
        ChunkConfig { base, keccak, poseidon }
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> Self::Config {
        unreachable!("the chunk circuit is configured with its parameters")
    }

    fn synthesize(&self, config: Self::Config, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let keccak_params = self.params.keccak();
        config.keccak.load_aux_tables(&mut layouter, keccak_params.k)?;
        let inputs = native::keccak_inputs(&self.params.shape, &self.witness, &self.bytes);
        let mut rows: Vec<KeccakAssignedRow<'_, Fr>> = Vec::new();
        layouter.assign_region(
            || "keccak",
            |mut region| {
                let (witness_rows, _) =
                    multi_keccak::<Fr>(&inputs, Some(self.params.shape.keccak_capacity()), keccak_params);
                rows = config.keccak.assign(&mut region, &witness_rows);
                Ok(())
            },
        )?;
        let mut builder = self.builder.borrow_mut();
        let loaded =
            transmute_keccak_assigned_to_virtual(&builder.core().copy_manager, rows, keccak_params.rows_per_round);
        let calls =
            generate(&self.params, &self.witness, &self.bytes, &mut builder, &loaded).map_err(|_| Error::Synthesis)?;
        let inputs: Vec<_> = calls.iter().map(Permutation::input_values).collect();
        let slots = calls.len().div_ceil(config.poseidon.lanes());
        let assigned = config.poseidon.assign(&mut layouter, &inputs, slots)?;
        let copy_manager = builder.core().copy_manager.clone();
        poseidon::link(builder.main(0), &copy_manager, &calls, assigned);
        builder.synthesize(config.base, layouter)?;
        builder.clear();
        Ok(())
    }
}

/// A 256-bit value as two 128-bit cells, with its 32 bytes.
#[derive(Debug, Clone)]
struct Word {
    hi: AssignedValue<Fr>,
    lo: AssignedValue<Fr>,
    bytes: Vec<AssignedValue<Fr>>,
}

impl Word {
    fn from_halves(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, hi: AssignedValue<Fr>, lo: AssignedValue<Fr>) -> Self {
        let mut bytes = decompose_be(ctx, range, hi, 16);
        bytes.extend(decompose_be(ctx, range, lo, 16));
        Self { hi, lo, bytes }
    }

    fn witness(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, value: B256) -> Self {
        let (hi, lo) = split(value);
        let hi = ctx.load_witness(hi);
        let lo = ctx.load_witness(lo);
        Self::from_halves(ctx, range, hi, lo)
    }

    fn constant(ctx: &mut Context<Fr>, value: B256) -> Self {
        let (hi, lo) = split(value);
        let bytes = value.iter().map(|b| ctx.load_constant(Fr::from(u64::from(*b)))).collect();
        Self { hi: ctx.load_constant(hi), lo: ctx.load_constant(lo), bytes }
    }

    fn select(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, a: &Self, b: &Self, pick_a: AssignedValue<Fr>) -> Self {
        let hi = range.gate().select(ctx, a.hi, b.hi, pick_a);
        let lo = range.gate().select(ctx, a.lo, b.lo, pick_a);
        Self::from_halves(ctx, range, hi, lo)
    }
}

fn split(value: B256) -> (Fr, Fr) {
    let (hi, lo) = zkr_protocol::split_u256(value);
    (fr_from_u256(hi).expect("128 bits"), fr_from_u256(lo).expect("128 bits"))
}

/// Checks one keccak permutation of the table: it hashes exactly `input` (one permutation's worth, at most 135
/// bytes) as an input of its own, and returns its digest.
fn keccak_single(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    loaded: &LoadedKeccakF<Fr>,
    input: &[AssignedValue<Fr>],
) -> Word {
    debug_assert!(input.len() < KECCAK_RATE);
    let gate = range.gate();
    let words = keccak_words(ctx, range, input, KECCAK_WORDS);
    for (ours, theirs) in words.iter().zip(loaded.word_values()) {
        ctx.constrain_equal(ours, theirs);
    }
    gate.assert_is_const(ctx, &loaded.bytes_left(), &Fr::from(input.len() as u64));
    gate.assert_is_const(ctx, &AssignedValue::from(loaded.is_final()), &Fr::ONE);
    Word::from_halves(ctx, range, loaded.hash_hi(), loaded.hash_lo())
}

/// Cells of one tree write.
struct WriteCells {
    index: AssignedValue<Fr>,
    address: AssignedValue<Fr>,
    next: AssignedValue<Fr>,
    nonce: AssignedValue<Fr>,
    balance: AssignedValue<Fr>,
    index_bits: Vec<AssignedValue<Fr>>,
    siblings: Vec<AssignedValue<Fr>>,
}

impl WriteCells {
    fn load(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, write: &LeafWrite) -> Result<Self, ChunkCircuitError> {
        let gate = range.gate();
        let address = ctx.load_witness(fr_from_address(write.old.address));
        let next = ctx.load_witness(fr_from_address(write.old.next));
        let nonce = ctx.load_witness(Fr::from(write.old.nonce));
        let balance = ctx.load_witness(Fr::from_u128(write.old.balance));
        // The packed leaf value is only unambiguous with these bounds; the comparisons need the address ones.
        range.range_check(ctx, address, 160);
        range.range_check(ctx, next, 160);
        range.range_check(ctx, nonce, 64);
        range.range_check(ctx, balance, 128);
        if write.index >= 1 << TREE_DEPTH || write.siblings.len() != TREE_DEPTH {
            return Err(ChunkCircuitError::Witness(format!("a tree path of {} siblings", write.siblings.len())));
        }
        let index = ctx.load_witness(Fr::from(write.index));
        let index_bits = gate.num_to_bits(ctx, index, TREE_DEPTH);
        let siblings = write
            .siblings
            .iter()
            .map(|s| fr_from_b256(*s).map(|f| ctx.load_witness(f)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ChunkCircuitError::Witness(e.to_string()))?;
        Ok(Self { index, address, next, nonce, balance, index_bits, siblings })
    }
}

/// Shared chips of the generation.
struct Chips {
    range: RangeChip<Fr>,
    poseidon: PoseidonChip,
}

impl Chips {
    fn gate(&self) -> &GateChip<Fr> {
        self.range.gate()
    }

    fn leaf_hash(
        &self,
        ctx: &mut Context<Fr>,
        address: AssignedValue<Fr>,
        next: AssignedValue<Fr>,
        nonce: AssignedValue<Fr>,
        balance: AssignedValue<Fr>,
    ) -> AssignedValue<Fr> {
        let packed = self.gate().mul_add(ctx, nonce, Constant(Fr::from_raw([0, 0, 1, 0])), balance);
        self.poseidon.hash(ctx, self.gate(), &[address, next, packed])
    }

    fn fold(&self, ctx: &mut Context<Fr>, leaf: AssignedValue<Fr>, cells: &WriteCells) -> AssignedValue<Fr> {
        let mut node = leaf;
        for (bit, sibling) in cells.index_bits.iter().zip(&cells.siblings) {
            let left = self.gate().select(ctx, *sibling, node, *bit);
            let sum = self.gate().add(ctx, *sibling, node);
            let right = self.gate().sub(ctx, sum, left);
            node = self.poseidon.compress(ctx, left, right);
        }
        node
    }

    /// Applies one write: checks the old leaf (or the empty slot) under `root` when enabled, and returns the root
    /// with the new leaf, or `root` unchanged when disabled.
    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        ctx: &mut Context<Fr>,
        root: AssignedValue<Fr>,
        enabled: AssignedValue<Fr>,
        cells: &WriteCells,
        old_empty: bool,
        new: [AssignedValue<Fr>; 4],
    ) -> AssignedValue<Fr> {
        let old_hash = if old_empty {
            ctx.load_zero()
        } else {
            self.leaf_hash(ctx, cells.address, cells.next, cells.nonce, cells.balance)
        };
        let new_hash = self.leaf_hash(ctx, new[0], new[1], new[2], new[3]);
        let old_root = self.fold(ctx, old_hash, cells);
        let new_root = self.fold(ctx, new_hash, cells);
        let diff = self.gate().sub(ctx, old_root, root);
        self.assert_zero_when(ctx, enabled, diff);
        self.gate().select(ctx, new_root, root, enabled)
    }

    /// `cond * value == 0`.
    fn assert_zero_when(&self, ctx: &mut Context<Fr>, cond: AssignedValue<Fr>, value: AssignedValue<Fr>) {
        let product = self.gate().mul(ctx, cond, value);
        self.gate().assert_is_const(ctx, &product, &Fr::ZERO);
    }
}

/// For each slot, the indicator of its rank among the slots whose `flags` are set (all zero for the others), over
/// the ranks below `cap`; and a constraint that at most `cap` flags are set, so that every flagged slot has a rank.
/// Slot `i` has at most `i` flagged slots before it, so its indicator stops at rank `min(i, cap - 1)`.
fn ranks(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    flags: impl IntoIterator<Item = AssignedValue<Fr>>,
    cap: usize,
) -> Vec<Vec<AssignedValue<Fr>>> {
    let gate = range.gate();
    let mut before = ctx.load_zero();
    let mut out = Vec::new();
    for (i, flag) in flags.into_iter().enumerate() {
        let indicator = gate.idx_to_indicator(ctx, before, cap.min(i + 1));
        out.push(indicator.into_iter().map(|bit| gate.mul(ctx, bit, flag)).collect());
        before = gate.add(ctx, before, flag);
    }
    range.check_less_than_safe(ctx, before, cap as u64 + 1);
    out
}

/// The fields of the slot of rank `rank` (see [`ranks`]), zero if there is none, and whether there is one.
fn route<const N: usize>(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    ranks: &[Vec<AssignedValue<Fr>>],
    slots: &[(AssignedValue<Fr>, [AssignedValue<Fr>; N])],
    rank: usize,
) -> (AssignedValue<Fr>, [AssignedValue<Fr>; N]) {
    let (selectors, fields): (Vec<_>, Vec<&[AssignedValue<Fr>; N]>) = ranks
        .iter()
        .zip(slots)
        .filter_map(|(indicator, (_, fields))| indicator.get(rank).map(|bit| (Existing(*bit), fields)))
        .unzip();
    let present = gate.sum(ctx, selectors.iter().copied());
    let routed =
        std::array::from_fn(|f| gate.inner_product(ctx, fields.iter().map(|v| Existing(v[f])), selectors.clone()));
    (present, routed)
}

/// Lays out the halo2-base part of the chunk circuit in `builder`, the keccak table's cells given as `loaded`, and
/// returns the Poseidon permutations it asked for (for the Poseidon table).
fn generate(
    params: &ChunkCircuitParams,
    witness: &ChunkWitness,
    slot_bytes: &[[u8; RECORD_BYTES]],
    builder: &mut BaseCircuitBuilder<Fr>,
    loaded: &[LoadedKeccakF<Fr>],
) -> Result<Vec<Permutation>, ChunkCircuitError> {
    let shape = params.shape;
    let offsets = shape.keccak_offsets();
    assert_eq!(loaded.len(), shape.keccak_capacity(), "keccak table size");
    let range_chip = builder.range_chip();
    let ctx = builder.main(0);
    let chips = Chips { range: range_chip, poseidon: PoseidonChip::new(ctx) };
    let range = &chips.range;
    let gate = chips.gate();

    let prev_root = ctx.load_witness(
        fr_from_b256(witness.public.prev_state_root).map_err(|e| ChunkCircuitError::Witness(e.to_string()))?,
    );
    let deposit_before = Word::witness(ctx, range, witness.public.deposit_hash_before);
    let fee_recipient = Constant(fr_from_address(params.fee_recipient));
    let withdrawal_address = Constant(fr_from_address(WITHDRAWAL_ADDRESS));

    let mut root = prev_root;
    // The tree's number of leaves before the chunk, which leaf 0 holds (checked by the chunk's last write, below), and
    // the insertions so far: the chunk's k-th new account takes leaf index `leaves_before + k`.
    let leaves_before = ctx.load_witness(Fr::from(witness.leaf_count.old.nonce));
    let mut inserted = ctx.load_zero();
    let mut data: Vec<AssignedValue<Fr>> = Vec::with_capacity(shape.data_capacity());
    let mut occupied: Vec<AssignedValue<Fr>> = Vec::with_capacity(shape.slots);
    // Per slot: whether it is a deposit and the fields of its hash-chain step (index, from, to, value); whether it
    // is a withdrawal and the fields of its leaf (counter, sender, value).
    let mut deposits: Vec<(AssignedValue<Fr>, [AssignedValue<Fr>; 4])> = Vec::with_capacity(shape.slots);
    let mut withdrawals: Vec<(AssignedValue<Fr>, [AssignedValue<Fr>; 3])> = Vec::with_capacity(shape.slots);
    let zero_word = Word::constant(ctx, B256::ZERO);

    for (raw, slot) in slot_bytes.iter().zip(&witness.slot_witnesses) {
        let b = load_bytes(ctx, range, raw);
        debug_assert_eq!(b.len(), RECORD_BYTES);
        data.extend_from_slice(&b);

        // Kind: 0 (empty), 1 (transfer) or 2 (deposit); occupied slots come first.
        let kind = b[offset::KIND];
        let is_tx = gate.is_equal(ctx, kind, Constant(Fr::from(u64::from(KIND_TRANSFER))));
        let is_dep = gate.is_equal(ctx, kind, Constant(Fr::from(u64::from(KIND_DEPOSIT))));
        let kind_again = gate.mul_add(ctx, is_dep, Constant(Fr::from(2)), is_tx);
        ctx.constrain_equal(&kind_again, &kind);
        let is_occupied = gate.add(ctx, is_tx, is_dep);
        if let Some(previous) = occupied.last() {
            let gap = gate.mul_not(ctx, *previous, is_occupied);
            gate.assert_is_const(ctx, &gap, &Fr::ZERO);
        }
        occupied.push(is_occupied);

        // Canonical bytes, as `Record::decode` takes them: a deposit's fields that deposits do not use (base fee;
        // type, gas limit, fees, signature) are zero, and the y parity is a bit. (An empty slot is all zero already:
        // its bytes lie past the data's end in the data's keccak words, which the keccak table holds at zero there.)
        let deposit_unused =
            b[offset::BASE_FEE..offset::BASE_FEE + 8].iter().chain(&b[offset::TX_TYPE..RECORD_BYTES]).copied();
        let deposit_unused = gate.sum(ctx, deposit_unused);
        chips.assert_zero_when(ctx, is_dep, deposit_unused);
        gate.assert_bit(ctx, b[offset::SIG_V]);

        // Fields.
        let base_fee = compose_be(ctx, range, &b[offset::BASE_FEE..offset::BASE_FEE + 8]);
        let nonce = compose_be(ctx, range, &b[offset::NONCE..offset::NONCE + 8]);
        let from = compose_be(ctx, range, &b[offset::FROM..offset::FROM + 20]);
        let to = compose_be(ctx, range, &b[offset::TO..offset::TO + 20]);
        let value_high = gate.sum(ctx, b[offset::VALUE..offset::VALUE + 16].iter().copied());
        gate.assert_is_const(ctx, &value_high, &Fr::ZERO);
        let value = compose_be(ctx, range, &b[offset::VALUE + 16..offset::VALUE + 32]);
        let tx_type = b[offset::TX_TYPE];
        let gas_limit = compose_be(ctx, range, &b[offset::GAS_LIMIT..offset::GAS_LIMIT + 8]);
        let max_fee = compose_be(ctx, range, &b[offset::MAX_FEE..offset::MAX_FEE + 16]);
        let priority_fee = compose_be(ctx, range, &b[offset::MAX_PRIORITY_FEE..offset::MAX_PRIORITY_FEE + 16]);

        // Transaction type 0, 1 or 2; types 0 and 1 have a single gas price.
        let t1 = gate.sub(ctx, tx_type, Constant(Fr::ONE));
        let t2 = gate.sub(ctx, tx_type, Constant(Fr::from(2)));
        let t01 = gate.mul(ctx, tx_type, t1);
        let t012 = gate.mul(ctx, t01, t2);
        gate.assert_is_const(ctx, &t012, &Fr::ZERO);
        let is_1559 = gate.is_equal(ctx, tx_type, Constant(Fr::from(2)));
        let single_price = gate.mul_not(ctx, is_1559, is_tx);
        let price_diff = gate.sub(ctx, priority_fee, max_fee);
        chips.assert_zero_when(ctx, single_price, price_diff);

        // Fee rules.
        let below_base = range.is_less_than(ctx, max_fee, base_fee, 128);
        chips.assert_zero_when(ctx, is_tx, below_base);
        let tip_above_cap = range.is_less_than(ctx, max_fee, priority_fee, 128);
        chips.assert_zero_when(ctx, is_tx, tip_above_cap);
        let low_gas = range.is_less_than(ctx, gas_limit, Constant(Fr::from(TRANSFER_GAS)), 64);
        chips.assert_zero_when(ctx, is_tx, low_gas);
        let base_plus_tip = gate.add(ctx, base_fee, priority_fee);
        let capped = range.is_less_than(ctx, max_fee, base_plus_tip, 130);
        let price = gate.select(ctx, max_fee, base_plus_tip, capped);
        let gas = Constant(Fr::from(TRANSFER_GAS));
        let fee = gate.mul(ctx, price, gas);
        let tip_price = gate.sub(ctx, price, base_fee);
        let tip = gate.mul(ctx, tip_price, gas);
        let debit = gate.add(ctx, fee, value);
        let max_cost = gate.mul_add(ctx, gas_limit, max_fee, value);

        // Write 0: the sender, never the zero address (whose nonce counts the leaves).
        let from_zero = gate.is_zero(ctx, from);
        chips.assert_zero_when(ctx, is_tx, from_zero);
        let w = &slot.writes[WriteSlot::Sender as usize];
        let cells = WriteCells::load(ctx, range, w)?;
        let d = gate.sub(ctx, cells.address, from);
        chips.assert_zero_when(ctx, is_tx, d);
        let d = gate.sub(ctx, cells.nonce, nonce);
        chips.assert_zero_when(ctx, is_tx, d);
        let poor = range.is_less_than(ctx, cells.balance, max_cost, 194);
        chips.assert_zero_when(ctx, is_tx, poor);
        let new_nonce = gate.add(ctx, cells.nonce, is_tx);
        range.range_check(ctx, new_nonce, 64);
        let charged = gate.mul(ctx, debit, is_tx);
        let new_balance = gate.sub(ctx, cells.balance, charged);
        range.range_check(ctx, new_balance, 128);
        root = chips.write(ctx, root, is_tx, &cells, false, [cells.address, cells.next, new_nonce, new_balance]);

        // Writes 1 and 2: the recipient, its insertion, or the withdrawal counter.
        let to_counter = gate.is_equal(ctx, to, withdrawal_address);
        let is_withdrawal = gate.mul(ctx, is_tx, to_counter);
        let credit = gate.sub(ctx, is_occupied, is_withdrawal);
        let present = ctx.load_witness(Fr::from(u64::from(slot.recipient_present)));
        gate.assert_bit(ctx, present);
        let value_zero = gate.is_zero(ctx, value);
        let transfer_credit = gate.sub(ctx, is_tx, is_withdrawal);
        let creates_on_transfer = gate.mul_not(ctx, value_zero, transfer_credit);
        let creates = gate.add(ctx, is_dep, creates_on_transfer);
        let update = gate.mul(ctx, credit, present);
        let insert = gate.mul_not(ctx, present, creates);
        let update_or_counter = gate.add(ctx, update, is_withdrawal);
        let enabled = gate.add(ctx, update_or_counter, insert);

        let w = &slot.writes[WriteSlot::Recipient as usize];
        let low = WriteCells::load(ctx, range, w)?;
        let target = gate.select(ctx, withdrawal_address, to, is_withdrawal);
        let d = gate.sub(ctx, low.address, target);
        chips.assert_zero_when(ctx, update_or_counter, d);
        // An insertion relinks the low leaf: low.address < to < low.next (or low.next is the end of the list).
        let below = range.is_less_than(ctx, low.address, to, 160);
        let not_below = gate.not(ctx, below);
        chips.assert_zero_when(ctx, insert, not_below);
        let end = gate.is_zero(ctx, low.next);
        let above = range.is_less_than(ctx, to, low.next, 160);
        let fits = gate.or(ctx, end, above);
        let not_fits = gate.not(ctx, fits);
        chips.assert_zero_when(ctx, insert, not_fits);
        let new_next = gate.select(ctx, to, low.next, insert);
        let new_nonce = gate.add(ctx, low.nonce, is_withdrawal);
        range.range_check(ctx, new_nonce, 64);
        let new_balance = gate.mul_add(ctx, value, update, low.balance);
        range.range_check(ctx, new_balance, 128);
        root = chips.write(ctx, root, enabled, &low, false, [low.address, new_next, new_nonce, new_balance]);

        let w = &slot.writes[WriteSlot::Insert as usize];
        let slot_cells = WriteCells::load(ctx, range, w)?;
        let next_free = gate.add(ctx, leaves_before, inserted);
        let d = gate.sub(ctx, slot_cells.index, next_free);
        chips.assert_zero_when(ctx, insert, d);
        inserted = gate.add(ctx, inserted, insert);
        let zero = ctx.load_zero();
        root = chips.write(ctx, root, insert, &slot_cells, true, [to, low.next, zero, value]);

        // Write 3: the fee recipient.
        let w = &slot.writes[WriteSlot::FeeRecipient as usize];
        let cells = WriteCells::load(ctx, range, w)?;
        let d = gate.sub(ctx, cells.address, fee_recipient);
        chips.assert_zero_when(ctx, is_tx, d);
        let new_balance = gate.mul_add(ctx, tip, is_tx, cells.balance);
        range.range_check(ctx, new_balance, 128);
        root = chips.write(ctx, root, is_tx, &cells, false, [cells.address, cells.next, cells.nonce, new_balance]);

        deposits.push((is_dep, [nonce, from, to, value]));
        withdrawals.push((is_withdrawal, [low.nonce, from, value]));
    }

    // The last write: leaf 0, the zero address, held the count before the chunk (nothing else writes its nonce) and
    // takes the count after it.
    let cells = WriteCells::load(ctx, range, &witness.leaf_count)?;
    gate.assert_is_const(ctx, &cells.index, &Fr::ZERO);
    gate.assert_is_const(ctx, &cells.address, &Fr::ZERO);
    ctx.constrain_equal(&cells.nonce, &leaves_before);
    let leaves_after = gate.add(ctx, leaves_before, inserted);
    let always = ctx.load_constant(Fr::ONE);
    root = chips.write(ctx, root, always, &cells, false, [cells.address, cells.next, leaves_after, cells.balance]);

    // The deposit hash chain: the chunk's j-th deposit, in slot order, takes step j; steps past its last deposit
    // leave the chain as it is.
    let zeros = |ctx: &mut Context<Fr>, n: usize| (0..n).map(|_| ctx.load_zero()).collect::<Vec<_>>();
    let deposit_ranks = ranks(ctx, range, deposits.iter().map(|(flag, _)| *flag), shape.deposits());
    let mut deposit_hash = deposit_before.clone();
    for j in 0..shape.deposits() {
        let (active, [index, from, to, value]) = route(ctx, gate, &deposit_ranks, &deposits, j);
        let mut input = deposit_hash.bytes.clone();
        input.extend(decompose_be(ctx, range, index, 8));
        input.extend(decompose_be(ctx, range, from, 20));
        input.extend(decompose_be(ctx, range, to, 20));
        input.extend(zeros(ctx, 16));
        input.extend(decompose_be(ctx, range, value, 16));
        debug_assert_eq!(input.len(), DEPOSIT_INPUT_BYTES);
        let next = keccak_single(ctx, range, &loaded[offsets.deposits + j], &input);
        deposit_hash = Word::select(ctx, range, &next, &deposit_hash, active);
    }

    // The withdrawal leaves: the chunk's j-th withdrawal takes leaf j, abi.encode(counter, sender, sender, value);
    // leaves past its last withdrawal are zero.
    let withdrawal_ranks = ranks(ctx, range, withdrawals.iter().map(|(flag, _)| *flag), shape.withdrawals());
    let mut leaves: Vec<Word> = Vec::with_capacity(shape.withdrawals());
    for j in 0..shape.withdrawals() {
        let (active, [counter, from, value]) = route(ctx, gate, &withdrawal_ranks, &withdrawals, j);
        let from = decompose_be(ctx, range, from, 20);
        let mut input = zeros(ctx, 24);
        input.extend(decompose_be(ctx, range, counter, 8));
        for _ in 0..2 {
            input.extend(zeros(ctx, 12));
            input.extend_from_slice(&from);
        }
        input.extend(zeros(ctx, 16));
        input.extend(decompose_be(ctx, range, value, 16));
        debug_assert_eq!(input.len(), LEAF_INPUT_BYTES);
        let leaf = keccak_single(ctx, range, &loaded[offsets.leaves + j], &input);
        leaves.push(Word::select(ctx, range, &leaf, &zero_word, active));
    }

    // The withdrawal subtree.
    let mut node_index = offsets.nodes;
    let mut level = leaves;
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len() / 2);
        for pair in level.chunks(2) {
            let input = [pair[0].bytes.as_slice(), pair[1].bytes.as_slice()].concat();
            debug_assert_eq!(input.len(), NODE_INPUT_BYTES);
            next.push(keccak_single(ctx, range, &loaded[node_index], &input));
            node_index += 1;
        }
        level = next;
    }
    let zero_hashes = withdrawal_zero_hashes();
    let mut withdrawal_root = level.pop().expect("at least one leaf");
    for zero in &zero_hashes[shape.withdrawals().trailing_zeros() as usize..CHUNK_WITHDRAWAL_HEIGHT] {
        let zero = Word::constant(ctx, *zero);
        let input = [withdrawal_root.bytes.as_slice(), zero.bytes.as_slice()].concat();
        withdrawal_root = keccak_single(ctx, range, &loaded[node_index], &input);
        node_index += 1;
    }
    debug_assert_eq!(node_index, offsets.data);

    // The data: n occupied slots hash as n * RECORD_BYTES bytes over the last permutations of the table.
    let count = gate.sum(ctx, occupied.iter().copied());
    let count_indicator = gate.idx_to_indicator(ctx, count, shape.slots + 1);
    let indicator_sum = gate.sum(ctx, count_indicator.iter().copied());
    gate.assert_is_const(ctx, &indicator_sum, &Fr::ONE);
    let last_permutation = |n: usize| (n * RECORD_BYTES) / KECCAK_RATE;
    let data_fs = shape.data_keccak_fs();
    data.resize_with(data_fs * KECCAK_RATE, || ctx.load_zero());
    for j in 0..data_fs {
        let f = &loaded[offsets.data + j];
        let words = keccak_words(ctx, range, &data[j * KECCAK_RATE..(j + 1) * KECCAK_RATE], KECCAK_WORDS);
        for (ours, theirs) in words.iter().zip(f.word_values()) {
            ctx.constrain_equal(ours, theirs);
        }
        // Permutation j starts with max(0, L - 136 j) bytes of the data's length L left (0 for the empty inputs
        // padding the table after the data). Pinning every permutation's count, not only the first one's, leaves
        // zkevm-hashes' carrying of the count from one permutation to the next nothing to decide: that rule is off
        // on rows a prover may mark final in the middle of an input, which would let the count restart.
        let left: Vec<_> = (0..=shape.slots)
            .map(|n| Constant(Fr::from((n * RECORD_BYTES).saturating_sub(j * KECCAK_RATE) as u64)))
            .collect();
        let expected_left = gate.inner_product(ctx, count_indicator.iter().copied().map(Existing), left);
        ctx.constrain_equal(&expected_left, &f.bytes_left());
        // Permutation j ends an input exactly when the data ends at or before it: it is the data's last one, or one
        // of the empty inputs padding the table after it.
        let ends: Vec<_> =
            (0..=shape.slots).filter(|n| last_permutation(*n) <= j).map(|n| count_indicator[n]).collect();
        let expected = gate.sum(ctx, ends);
        ctx.constrain_equal(&expected, &AssignedValue::from(f.is_final()));
    }
    let hi: Vec<_> =
        (0..=shape.slots).map(|n| Existing(loaded[offsets.data + last_permutation(n)].hash_hi())).collect();
    let lo: Vec<_> =
        (0..=shape.slots).map(|n| Existing(loaded[offsets.data + last_permutation(n)].hash_lo())).collect();
    let data_hi = gate.select_by_indicator(ctx, hi, count_indicator.iter().copied());
    let data_lo = gate.select_by_indicator(ctx, lo, count_indicator.iter().copied());

    let public = [
        prev_root,
        root,
        data_hi,
        data_lo,
        deposit_before.hi,
        deposit_before.lo,
        deposit_hash.hi,
        deposit_hash.lo,
        withdrawal_root.hi,
        withdrawal_root.lo,
    ];
    debug_assert_eq!(public.len(), CHUNK_PUBLIC_INPUTS);
    builder.assigned_instances[0].extend(public);
    Ok(chips.poseidon.into_calls())
}
