//! Bytes in the circuit: range-checked byte cells, big-endian integers made of them, and the little-endian 64-bit
//! words the keccak table absorbs.

use halo2_base::{
    AssignedValue, Context,
    QuantumCell::Constant,
    gates::{GateInstructions, RangeChip, RangeInstructions},
    utils::ScalarField,
};
use zkr_state::field::{Field, Fr};

/// Assigns `values` as byte cells, each range-checked to 8 bits.
pub fn load_bytes(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, values: &[u8]) -> Vec<AssignedValue<Fr>> {
    let cells = ctx.assign_witnesses(values.iter().map(|b| Fr::from(u64::from(*b))));
    for cell in &cells {
        range.range_check(ctx, *cell, 8);
    }
    cells
}

/// The big-endian integer of at most 31 bytes.
pub fn compose_be(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, bytes: &[AssignedValue<Fr>]) -> AssignedValue<Fr> {
    assert!(bytes.len() < 32, "{} bytes may not fit the field", bytes.len());
    let powers: Vec<_> = (0..bytes.len()).rev().map(|i| Constant(pow256(i))).collect();
    range.gate().inner_product(ctx, bytes.iter().copied(), powers)
}

/// The `len` big-endian bytes of `value` (which must be below `2^(8 len)`, or the circuit is unsatisfiable).
pub fn decompose_be(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    value: AssignedValue<Fr>,
    len: usize,
) -> Vec<AssignedValue<Fr>> {
    let le = value.value().to_bytes_le();
    let be: Vec<u8> = (0..len).map(|i| le.get(len - 1 - i).copied().unwrap_or(0)).collect();
    let bytes = load_bytes(ctx, range, &be);
    let composed = compose_be(ctx, range, &bytes);
    ctx.constrain_equal(&composed, &value);
    bytes
}

/// The keccak words of a byte string: 8 bytes per word, little-endian, the last word short if the length is not a
/// multiple of 8; `words` words in all, missing ones zero.
pub fn keccak_words(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    bytes: &[AssignedValue<Fr>],
    words: usize,
) -> Vec<AssignedValue<Fr>> {
    (0..words)
        .map(|w| {
            let chunk = bytes.get(8 * w..(8 * w + 8).min(bytes.len())).unwrap_or(&[]);
            if chunk.is_empty() {
                return ctx.load_zero();
            }
            let powers: Vec<_> = (0..chunk.len()).map(|i| Constant(pow256(i))).collect();
            range.gate().inner_product(ctx, chunk.iter().copied(), powers)
        })
        .collect()
}

/// `256^i`.
pub fn pow256(i: usize) -> Fr {
    Fr::from(256).pow_vartime([i as u64])
}
