//! Poseidon in the circuit, the same functions as `zkr_state::poseidon` computes natively: the padded sponge
//! (leaves) and the one-permutation compression (inner nodes of the state tree).
//!
//! halo2-base's own hasher only exposes the padded sponge, which costs two permutations for a tree node; the
//! permutation here follows the same optimized round structure (sparse MDS in the partial rounds) with the spec's own
//! constants, so both hashers agree with the native code (checked in the tests).

use halo2_base::{
    AssignedValue, Context,
    QuantumCell::{Constant, Existing},
    gates::{GateChip, GateInstructions},
};
use zkr_state::{
    field::{Field, Fr},
    poseidon::{PoseidonSpec, RATE, T, spec},
};

/// Poseidon over a gate chip.
#[derive(Debug, Clone)]
pub struct PoseidonChip {
    spec: &'static PoseidonSpec,
}

impl Default for PoseidonChip {
    fn default() -> Self {
        Self { spec: spec() }
    }
}

impl PoseidonChip {
    /// The two-to-one compression of the state tree's inner nodes.
    pub fn compress(
        &self,
        ctx: &mut Context<Fr>,
        gate: &GateChip<Fr>,
        left: AssignedValue<Fr>,
        right: AssignedValue<Fr>,
    ) -> AssignedValue<Fr> {
        let mut state = initial_state(ctx);
        self.permute(ctx, gate, &mut state, &[left, right]);
        state[1]
    }

    /// The padded sponge hash of a fixed-length list (`zkr_state::poseidon::poseidon_hash`).
    pub fn hash(&self, ctx: &mut Context<Fr>, gate: &GateChip<Fr>, inputs: &[AssignedValue<Fr>]) -> AssignedValue<Fr> {
        let mut state = initial_state(ctx);
        for chunk in inputs.chunks(RATE) {
            self.permute(ctx, gate, &mut state, chunk);
        }
        if inputs.len().is_multiple_of(RATE) {
            self.permute(ctx, gate, &mut state, &[]);
        }
        state[1]
    }

    /// One permutation absorbing `chunk` (at most `RATE` elements; the first empty rate slot gets +1).
    fn permute(
        &self,
        ctx: &mut Context<Fr>,
        gate: &GateChip<Fr>,
        state: &mut [AssignedValue<Fr>; T],
        chunk: &[AssignedValue<Fr>],
    ) {
        let constants = self.spec.constants();
        let matrices = self.spec.mds_matrices();
        let mds = matrices.mds().as_ref();
        let start = constants.start();

        let first = &start[0];
        state[0] = gate.add(ctx, state[0], Constant(first[0]));
        for i in 1..T {
            let mut constant = first[i];
            match chunk.get(i - 1) {
                Some(input) => {
                    let with_input = gate.add(ctx, state[i], *input);
                    state[i] = gate.add(ctx, with_input, Constant(constant));
                    continue;
                }
                None if i - 1 == chunk.len() => constant += Fr::ONE,
                None => {}
            }
            state[i] = gate.add(ctx, state[i], Constant(constant));
        }

        let half = self.spec.r_f() / 2;
        for round in &start[1..half] {
            for (s, c) in state.iter_mut().zip(round) {
                *s = pow5_add(ctx, gate, *s, *c);
            }
            mix(ctx, gate, state, mds);
        }
        for (s, c) in state.iter_mut().zip(&start[start.len() - 1]) {
            *s = pow5_add(ctx, gate, *s, *c);
        }
        mix(ctx, gate, state, matrices.pre_sparse_mds().as_ref());

        for (c, sparse) in constants.partial().iter().zip(matrices.sparse_matrices()) {
            state[0] = pow5_add(ctx, gate, state[0], *c);
            let s = *state;
            let row = sparse.row();
            state[0] = gate.inner_product(ctx, s, row.iter().map(|r| Constant(*r)));
            for (i, hat) in sparse.col_hat().iter().enumerate() {
                state[i + 1] = gate.mul_add(ctx, Constant(*hat), s[0], s[i + 1]);
            }
        }

        for round in constants.end() {
            for (s, c) in state.iter_mut().zip(round) {
                *s = pow5_add(ctx, gate, *s, *c);
            }
            mix(ctx, gate, state, mds);
        }
        for s in state.iter_mut() {
            *s = pow5_add(ctx, gate, *s, Fr::ZERO);
        }
        mix(ctx, gate, state, mds);
    }
}

/// `[2^64, 0, 0]`.
fn initial_state(ctx: &mut Context<Fr>) -> [AssignedValue<Fr>; T] {
    let zero = ctx.load_zero();
    [ctx.load_constant(Fr::from_raw([0, 1, 0, 0])), zero, zero]
}

/// `x^5 + c`.
fn pow5_add(ctx: &mut Context<Fr>, gate: &GateChip<Fr>, x: AssignedValue<Fr>, c: Fr) -> AssignedValue<Fr> {
    let x2 = gate.mul(ctx, x, x);
    let x4 = gate.mul(ctx, x2, x2);
    gate.mul_add(ctx, x4, x, Constant(c))
}

fn mix(ctx: &mut Context<Fr>, gate: &GateChip<Fr>, state: &mut [AssignedValue<Fr>; T], matrix: &[[Fr; T]; T]) {
    let s = *state;
    for (out, row) in state.iter_mut().zip(matrix) {
        *out = gate.inner_product(ctx, s.iter().map(|x| Existing(*x)), row.iter().map(|m| Constant(*m)));
    }
}

#[cfg(test)]
mod tests {
    use halo2_base::gates::flex_gate::threads::SinglePhaseCoreManager;
    use proptest::prelude::*;
    use zkr_state::poseidon::{compress, poseidon_hash};

    use super::*;

    fn run(f: impl FnOnce(&mut Context<Fr>, &GateChip<Fr>, &PoseidonChip) -> AssignedValue<Fr>) -> Fr {
        let mut pool = SinglePhaseCoreManager::<Fr>::new(true, Default::default());
        let gate = GateChip::<Fr>::default();
        let chip = PoseidonChip::default();
        *f(pool.main(), &gate, &chip).value()
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
                let compressed = run(|ctx, gate, chip| {
                    let l = ctx.load_witness(inputs[0]);
                    let r = ctx.load_witness(inputs[1]);
                    chip.compress(ctx, gate, l, r)
                });
                prop_assert_eq!(compressed, compress(inputs[0], inputs[1]));
            }
        }
    }
}
