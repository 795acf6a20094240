//! Prints what chunk circuits of several shapes hold: cells per record, columns, lookups, degree.
//!
//! `cargo run --release -p zkr-circuits --example shape_stats [-- slots:k ...]`
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use alloy_primitives::Address;
use halo2_base::halo2_proofs::{
    halo2curves::bn256::Fr,
    plonk::{Circuit, ConstraintSystem},
};
use zkevm_hashes::keccak::vanilla::param::NUM_ROUNDS;
use zkr_circuits::{ChunkCircuit, ChunkShape, gadgets::poseidon::table::LANE_WIDTH};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let shapes: Vec<(usize, u32)> = if args.is_empty() {
        vec![(2, 15), (2, 16), (8, 17), (16, 18), (32, 19), (64, 20)]
    } else {
        args.iter()
            .map(|a| {
                let (slots, k) = a.split_once(':').expect("slots:k");
                (slots.parse().unwrap(), k.parse().unwrap())
            })
            .collect()
    };
    println!(
        "| slots | k | cells per record | halo2-base + lookup cells | Poseidon table cells | keccak cells | \
         keccak permutations (deposits + leaves + nodes + data) | advice columns (base + lookup / keccak / Poseidon) | \
         fixed | lookups | degree |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|");
    for (slots, k) in shapes {
        let shape = ChunkShape { k, slots };
        let (params, layout) = ChunkCircuit::layout(shape, Address::repeat_byte(0xfe)).unwrap();
        let mut cs = ConstraintSystem::<Fr>::default();
        let _ = ChunkCircuit::configure_with_params(&mut cs, params.clone());
        let base_columns: usize = params.base.num_advice_per_phase.iter().sum::<usize>()
            + params.base.num_lookup_advice_per_phase.iter().sum::<usize>();
        let poseidon_columns = params.poseidon_lanes * LANE_WIDTH;
        let keccak_columns = cs.num_advice_columns() - base_columns - poseidon_columns;
        let keccak_cells =
            keccak_columns * layout.keccak_permutations * (NUM_ROUNDS + 1) * shape.keccak_rows_per_round();
        let base_cells = layout.base_cells + layout.lookup_cells;
        let total = base_cells + layout.poseidon_cells + keccak_cells;
        println!(
            "| {slots} | {k} | {} | {} | {} | {} | {} ({} + {} + {} + {}) | {base_columns} / {keccak_columns} / \
             {poseidon_columns} | {} | {} | {} |",
            total / slots,
            base_cells,
            layout.poseidon_cells,
            keccak_cells,
            layout.keccak_permutations,
            shape.deposits(),
            shape.withdrawals(),
            shape.tree_nodes(),
            shape.data_keccak_fs(),
            cs.num_fixed_columns(),
            cs.lookups().len(),
            cs.degree(),
        );
    }
}
