//! Native Poseidon over BN254's scalar field, equal to halo2-base's in-circuit
//! `PoseidonHasher::<Fr, 3, 2>::hash_fix_len_array` with the parameters the axiom stack uses everywhere
//! (t = 3, rate = 2, 8 full rounds, 57 partial rounds, x^5 S-box).
//!
//! The sponge, as halo2-base defines it (and not as circomlib does):
//! - the state starts as `[2^64, 0, 0]`;
//! - inputs are absorbed `RATE` at a time, added to `s[1..]`, each chunk followed by one permutation; the first
//!   rate slot left without an input gets `+1`;
//! - when the input length is a multiple of `RATE` (zero included), one more permutation absorbs an empty chunk;
//! - the hash is `s[1]`.
//!
//! So hashing two elements costs two permutations and hashing three costs two; [`compress`] is the one-permutation
//! two-to-one function of the tree's inner nodes. The permutation uses the optimized
//! constants of the spec (pre-sparse and sparse MDS matrices in the partial rounds), read through its public getters,
//! so the constants are the circuit's own. `tests` checks equality with the circuit hasher on random inputs.

use std::sync::OnceLock;

use halo2_base::poseidon::hasher::spec::OptimizedPoseidonSpec;

use crate::field::{Field, Fr};

/// State width.
pub const T: usize = 3;
/// Elements absorbed per permutation.
pub const RATE: usize = 2;
/// Full rounds.
pub const R_F: usize = 8;
/// Partial rounds.
pub const R_P: usize = 57;

/// The Poseidon parameters shared with the circuits.
pub type PoseidonSpec = OptimizedPoseidonSpec<Fr, T, RATE>;

/// The spec, built once (deriving the constants takes milliseconds).
pub fn spec() -> &'static PoseidonSpec {
    static SPEC: OnceLock<PoseidonSpec> = OnceLock::new();
    SPEC.get_or_init(PoseidonSpec::new::<R_F, R_P, 0>)
}

/// Poseidon hash of a fixed-length list, as the circuit's `hash_fix_len_array` computes it.
pub fn poseidon_hash(inputs: &[Fr]) -> Fr {
    let spec = spec();
    // The capacity starts at 2^64 (little-endian limbs).
    let mut state = [Fr::from_raw([0, 1, 0, 0]), Fr::ZERO, Fr::ZERO];
    for chunk in inputs.chunks(RATE) {
        permute(spec, &mut state, chunk);
    }
    if inputs.len().is_multiple_of(RATE) {
        permute(spec, &mut state, &[]);
    }
    state[1]
}

/// Hash of two elements with the sponge (two permutations).
pub fn hash2(left: Fr, right: Fr) -> Fr {
    poseidon_hash(&[left, right])
}

/// Two-to-one compression with a single permutation: the state `[2^64, left, right]` permuted, `s[1]` out. This is
/// the sponge's first absorption without the padding permutation, so it costs half of [`hash2`]; the state tree uses
/// it for inner nodes, where both inputs are always present. Leaves keep the padded sponge, so a leaf hash and a node
/// hash are different functions.
pub fn compress(left: Fr, right: Fr) -> Fr {
    let mut state = [Fr::from_raw([0, 1, 0, 0]), Fr::ZERO, Fr::ZERO];
    permute(spec(), &mut state, &[left, right]);
    state[1]
}

#[inline(always)]
fn pow5(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

#[inline(always)]
fn mix(state: &mut [Fr; T], matrix: &[[Fr; T]; T]) {
    let s = *state;
    for (out, row) in state.iter_mut().zip(matrix) {
        *out = row[0] * s[0] + row[1] * s[1] + row[2] * s[2];
    }
}

/// Absorbs `chunk` (fewer than `T` elements) into the rate slots, +1 to the first rate slot without an input, then
/// permutes.
fn permute(spec: &PoseidonSpec, state: &mut [Fr; T], chunk: &[Fr]) {
    for (i, slot) in state[1..].iter_mut().enumerate() {
        match chunk.get(i) {
            Some(input) => *slot += input,
            None if i == chunk.len() => *slot += Fr::ONE,
            None => {}
        }
    }
    permutation_with(spec, state);
}

/// The bare Poseidon permutation of a state (no absorption): what the circuits' Poseidon table proves, one row
/// group per call.
pub fn permutation(state: &mut [Fr; T]) {
    permutation_with(spec(), state);
}

fn permutation_with(spec: &PoseidonSpec, state: &mut [Fr; T]) {
    let constants = spec.constants();
    let matrices = spec.mds_matrices();
    let mds = matrices.mds().as_ref();
    let start = constants.start();

    for (s, c) in state.iter_mut().zip(&start[0]) {
        *s += c;
    }

    // First half of the full rounds; the last one mixes with the transition matrix into the sparse form.
    let half = spec.r_f() / 2;
    for round in &start[1..half] {
        for (s, c) in state.iter_mut().zip(round) {
            *s = pow5(*s) + c;
        }
        mix(state, mds);
    }
    for (s, c) in state.iter_mut().zip(&start[start.len() - 1]) {
        *s = pow5(*s) + c;
    }
    mix(state, matrices.pre_sparse_mds().as_ref());

    // Partial rounds: S-box on s[0] only, then a sparse matrix `[row] | [col_hat | I]`.
    for (c, sparse) in constants.partial().iter().zip(matrices.sparse_matrices()) {
        state[0] = pow5(state[0]) + c;
        let s = *state;
        let row = sparse.row();
        state[0] = row[0] * s[0] + row[1] * s[1] + row[2] * s[2];
        for (i, hat) in sparse.col_hat().iter().enumerate() {
            state[i + 1] = *hat * s[0] + s[i + 1];
        }
    }

    // Second half of the full rounds; the very last has no round constants.
    for round in constants.end() {
        for (s, c) in state.iter_mut().zip(round) {
            *s = pow5(*s) + c;
        }
        mix(state, mds);
    }
    for s in state.iter_mut() {
        *s = pow5(*s);
    }
    mix(state, mds);
}

#[cfg(test)]
mod tests {
    use halo2_base::{
        gates::{GateChip, flex_gate::threads::SinglePhaseCoreManager},
        poseidon::hasher::PoseidonHasher,
    };
    use proptest::prelude::*;

    use super::*;
    use crate::field::fr_to_b256;

    /// The circuit's own hasher, run for its witness values only.
    fn circuit_hash(inputs: &[Fr]) -> Fr {
        let mut pool = SinglePhaseCoreManager::<Fr>::new(true, Default::default());
        let gate = GateChip::<Fr>::default();
        let ctx = pool.main();
        let mut hasher = PoseidonHasher::<Fr, T, RATE>::new(spec().clone());
        hasher.initialize_consts(ctx, &gate);
        let cells = ctx.assign_witnesses(inputs.iter().copied());
        *hasher.hash_fix_len_array(ctx, &gate, &cells).value()
    }

    #[test]
    fn known_vectors() {
        let hex = |x: Fr| fr_to_b256(&x).to_string();
        let f = |x: u64| Fr::from(x);
        assert_eq!(hex(hash2(f(1), f(2))), "0x305df2f9f9f1c0b591427aa9fd8ff8b8b8ad8a16953065fca066cb6a69deff53");
        assert_eq!(hex(hash2(f(0), f(0))), "0x2b2ceb8eb042a119d745d0d54ba961a45e20a1b94cf2195b11a7076780eeb04f");
        assert_eq!(hex(poseidon_hash(&[f(7)])), "0x264daa77d09fa945dbb7b86643494e83ce7fc6622091765b61edb8562c36fb87");
        assert_eq!(
            hex(poseidon_hash(&[f(1), f(2), f(3)])),
            "0x1e771e80490bde52a453e40889e14665d5396a81ff3076ac798ce39ef71b6cf1"
        );
    }

    #[test]
    fn equals_the_circuit_on_every_length_up_to_five() {
        for len in 0..=5u64 {
            let inputs: Vec<Fr> = (0..len).map(|i| Fr::from(i * 7 + 3)).collect();
            assert_eq!(poseidon_hash(&inputs), circuit_hash(&inputs), "length {len}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn equals_the_circuit_on_random_inputs(limbs in prop::collection::vec(any::<[u64; 4]>(), 0..6)) {
            let inputs: Vec<Fr> = limbs.into_iter().map(Fr::from_raw).collect();
            prop_assert_eq!(poseidon_hash(&inputs), circuit_hash(&inputs));
        }
    }
}
