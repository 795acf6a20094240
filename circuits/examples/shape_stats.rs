//! Prints the constraint system size of chunk circuits of several shapes.
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use alloy_primitives::Address;
use halo2_base::halo2_proofs::{
    halo2curves::bn256::Fr,
    plonk::{Circuit, ConstraintSystem},
};
use zkr_circuits::{ChunkCircuit, ChunkShape};

fn main() {
    for (k, slots) in [(16, 2), (17, 2), (18, 2), (18, 4), (19, 4), (20, 8)] {
        let shape = ChunkShape { k, slots };
        let params = ChunkCircuit::configure_shape(shape, Address::repeat_byte(0xfe)).unwrap();
        let mut cs = ConstraintSystem::<Fr>::default();
        let _ = ChunkCircuit::configure_with_params(&mut cs, params.clone());
        println!(
            "k={k} slots={slots}: base advice {:?} lookup advice {:?} | total advice {} fixed {} lookups {} degree {} keccak rows/round {}",
            params.base.num_advice_per_phase,
            params.base.num_lookup_advice_per_phase,
            cs.num_advice_columns(),
            cs.num_fixed_columns(),
            cs.lookups().len(),
            cs.degree(),
            shape.keccak_rows_per_round(),
        );
    }
}
