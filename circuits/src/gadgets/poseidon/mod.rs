//! Poseidon in the circuit, the same functions as `zkr_state::poseidon` computes natively: the padded sponge
//! (leaves) and the one-permutation compression (inner nodes of the state tree).
//!
//! The permutations themselves are proven by the custom-gate [`table`] (about 230 cells each, where halo2-base's
//! flex gate takes about 2,200). The circuit's halo2-base side only records what it asks for: [`PoseidonChip`]
//! takes the input cells, loads the output as witness cells (computed natively), and keeps the pair; once the table
//! is laid out, [`link`] copy-constrains each pair to its row group. An output witness that is not the permutation of
//! its input therefore fails the table's gates or the copy constraints.

pub mod table;

use std::cell::RefCell;

use halo2_base::{
    AssignedValue, Context,
    gates::{GateChip, GateInstructions},
    virtual_region::copy_constraints::SharedCopyConstraintManager,
};
use zkr_state::{
    field::{Field, Fr},
    poseidon::{RATE, T, permutation},
};

pub use table::{AssignedPermutation, PoseidonTableConfig, ROWS_PER_PERMUTATION};

/// One permutation asked for by the halo2-base side.
#[derive(Debug, Clone)]
pub struct Permutation {
    /// The state before it.
    pub input: [AssignedValue<Fr>; T],
    /// Witness cells holding the state after it.
    pub output: [AssignedValue<Fr>; T],
}

impl Permutation {
    /// The input's values, for laying out the table.
    pub fn input_values(&self) -> [Fr; T] {
        self.input.map(|cell| *cell.value())
    }
}

/// The state tree's hashes over the Poseidon table.
#[derive(Debug)]
pub struct PoseidonChip {
    /// The sponge's initial capacity element, `2^64`.
    capacity: AssignedValue<Fr>,
    zero: AssignedValue<Fr>,
    one: AssignedValue<Fr>,
    calls: RefCell<Vec<Permutation>>,
}

impl PoseidonChip {
    /// A chip whose constants live in `ctx`.
    pub fn new(ctx: &mut Context<Fr>) -> Self {
        Self {
            capacity: ctx.load_constant(Fr::from_raw([0, 1, 0, 0])),
            zero: ctx.load_zero(),
            one: ctx.load_constant(Fr::ONE),
            calls: RefCell::default(),
        }
    }

    /// The two-to-one compression of the state tree's inner nodes: `[2^64, left, right]` permuted, `s[1]` out.
    pub fn compress(
        &self,
        ctx: &mut Context<Fr>,
        left: AssignedValue<Fr>,
        right: AssignedValue<Fr>,
    ) -> AssignedValue<Fr> {
        self.permute(ctx, [self.capacity, left, right])[1]
    }

    /// The padded sponge hash of a fixed-length list (`zkr_state::poseidon::poseidon_hash`).
    pub fn hash(&self, ctx: &mut Context<Fr>, gate: &GateChip<Fr>, inputs: &[AssignedValue<Fr>]) -> AssignedValue<Fr> {
        let mut chunks: Vec<&[AssignedValue<Fr>]> = inputs.chunks(RATE).collect();
        if inputs.len().is_multiple_of(RATE) {
            chunks.push(&[]);
        }
        // `None`: the initial state `[2^64, 0, 0]`, whose rate slots take the inputs as they are.
        let mut state: Option<[AssignedValue<Fr>; T]> = None;
        for chunk in chunks {
            let mut input = state.unwrap_or([self.capacity, self.zero, self.zero]);
            for i in 0..RATE {
                let added = match chunk.get(i) {
                    Some(cell) => *cell,
                    None if i == chunk.len() => self.one,
                    None => continue,
                };
                input[i + 1] = match state {
                    Some(s) => gate.add(ctx, s[i + 1], added),
                    None => added,
                };
            }
            state = Some(self.permute(ctx, input));
        }
        state.expect("at least one permutation")[1]
    }

    /// Records one permutation of `input` and returns its output cells.
    pub fn permute(&self, ctx: &mut Context<Fr>, input: [AssignedValue<Fr>; T]) -> [AssignedValue<Fr>; T] {
        let mut values = input.map(|cell| *cell.value());
        permutation(&mut values);
        let output = values.map(|value| ctx.load_witness(value));
        self.calls.borrow_mut().push(Permutation { input, output });
        output
    }

    /// The permutations recorded so far, in order.
    pub fn into_calls(self) -> Vec<Permutation> {
        self.calls.into_inner()
    }
}

/// Ties each recorded permutation to its row group of the table: input and output cells are copy-constrained.
pub fn link(
    ctx: &mut Context<Fr>,
    copy_manager: &SharedCopyConstraintManager<Fr>,
    calls: &[Permutation],
    assigned: Vec<AssignedPermutation<'_>>,
) {
    assert_eq!(calls.len(), assigned.len(), "one row group per recorded permutation");
    let external: Vec<_> = {
        let mut copy = copy_manager.lock().expect("copy manager");
        assigned
            .into_iter()
            .map(|p| {
                (p.input.map(|c| copy.load_external_assigned(c)), p.output.map(|c| copy.load_external_assigned(c)))
            })
            .collect()
    };
    for (call, (input, output)) in calls.iter().zip(&external) {
        for (ours, theirs) in call.input.iter().zip(input).chain(call.output.iter().zip(output)) {
            ctx.constrain_equal(ours, theirs);
        }
    }
}

#[cfg(test)]
mod tests {
    use halo2_base::{
        gates::{
            circuit::{BaseCircuitParams, BaseConfig, builder::BaseCircuitBuilder},
            flex_gate::threads::SinglePhaseCoreManager,
        },
        halo2_proofs::{
            circuit::{Layouter, SimpleFloorPlanner},
            dev::MockProver,
            plonk::{Circuit, ConstraintSystem, Error},
        },
    };
    use proptest::prelude::*;
    use zkr_state::poseidon::{compress, poseidon_hash};

    use super::*;

    fn run(f: impl FnOnce(&mut Context<Fr>, &GateChip<Fr>, &PoseidonChip) -> AssignedValue<Fr>) -> Fr {
        let mut pool = SinglePhaseCoreManager::<Fr>::new(true, Default::default());
        let gate = GateChip::<Fr>::default();
        let ctx = pool.main();
        let chip = PoseidonChip::new(ctx);
        *f(ctx, &gate, &chip).value()
    }

    /// One permutation asked for by halo2-base with a claimed output (the public inputs), laid out in the table and,
    /// when `link` is set, tied to it.
    #[derive(Debug)]
    struct LinkCircuit {
        input: [Fr; T],
        claimed: [Fr; T],
        link: bool,
        builder: RefCell<BaseCircuitBuilder<Fr>>,
    }

    const K: usize = 8;

    fn base_params() -> BaseCircuitParams {
        BaseCircuitParams {
            k: K,
            num_advice_per_phase: vec![1],
            num_fixed: 1,
            num_lookup_advice_per_phase: vec![],
            lookup_bits: None,
            num_instance_columns: 1,
        }
    }

    impl Circuit<Fr> for LinkCircuit {
        type Config = (BaseConfig<Fr>, PoseidonTableConfig);
        type FloorPlanner = SimpleFloorPlanner;
        type Params = BaseCircuitParams;

        fn params(&self) -> BaseCircuitParams {
            base_params()
        }

        fn without_witnesses(&self) -> Self {
            unimplemented!("mock proving only")
        }

        fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: BaseCircuitParams) -> Self::Config {
            let table = PoseidonTableConfig::configure(meta, 1);
            (BaseCircuitBuilder::configure_with_params(meta, params), table)
        }

        fn configure(_: &mut ConstraintSystem<Fr>) -> Self::Config {
            unreachable!("configured with parameters")
        }

        fn synthesize(&self, (base, table): Self::Config, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
            let mut builder = self.builder.borrow_mut();
            let ctx = builder.main(0);
            let input: [AssignedValue<Fr>; T] = self.input.map(|v| ctx.load_witness(v));
            let output: [AssignedValue<Fr>; T] = self.claimed.map(|v| ctx.load_witness(v));
            let calls = vec![Permutation { input, output }];
            builder.assigned_instances[0].extend(output);
            let assigned = table.assign(&mut layouter, &[self.input], 1)?;
            if self.link {
                let copy_manager = builder.core().copy_manager.clone();
                link(builder.main(0), &copy_manager, &calls, assigned);
            }
            builder.synthesize(base, layouter)?;
            builder.clear();
            Ok(())
        }
    }

    fn linked_circuit_holds(claimed_offset: u64, link_them: bool) -> bool {
        let input = [Fr::from(2), Fr::from(3), Fr::from(4)];
        let mut claimed = input;
        permutation(&mut claimed);
        claimed[1] += Fr::from(claimed_offset);
        let mut builder = BaseCircuitBuilder::new(false);
        builder.set_params(base_params());
        let circuit = LinkCircuit { input, claimed, link: link_them, builder: RefCell::new(builder) };
        MockProver::run(K as u32, &circuit, vec![claimed.to_vec()]).expect("synthesis").verify().is_ok()
    }

    #[test]
    fn an_output_witness_that_is_not_the_permutation_of_its_input_is_refused() {
        assert!(linked_circuit_holds(0, true));
        assert!(!linked_circuit_holds(1, true));
        // Without the link the same false claim goes through: the link is what binds the halo2-base cells.
        assert!(linked_circuit_holds(1, false));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn equals_the_native_functions(limbs in prop::collection::vec(any::<[u64; 4]>(), 0..6)) {
            let inputs: Vec<Fr> = limbs.into_iter().map(Fr::from_raw).collect();
            let hashed = run(|ctx, gate, chip| {
                let cells = ctx.assign_witnesses(inputs.iter().copied());
                chip.hash(ctx, gate, &cells)
            });
            prop_assert_eq!(hashed, poseidon_hash(&inputs));
            if inputs.len() >= 2 {
                let compressed = run(|ctx, _, chip| {
                    let l = ctx.load_witness(inputs[0]);
                    let r = ctx.load_witness(inputs[1]);
                    chip.compress(ctx, l, r)
                });
                prop_assert_eq!(compressed, compress(inputs[0], inputs[1]));
            }
        }
    }
}
