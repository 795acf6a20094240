//! The keccak inputs of a chunk circuit, computed natively from its witness in exactly the order and form the
//! circuit constrains them (see [`crate::layout::KeccakOffsets`]).

use alloy_primitives::{B256, U256, keccak256};
use zkr_protocol::{
    CHUNK_WITHDRAWAL_HEIGHT, ChunkWitness, RECORD_BYTES, Record, WITHDRAWAL_ADDRESS, WriteSlot,
    hashes::withdrawal_zero_hashes,
};

use crate::layout::{ChunkShape, DEPOSIT_INPUT_BYTES, LEAF_INPUT_BYTES};

/// The record bytes of every slot (zeros for empty slots).
pub fn slot_bytes(shape: &ChunkShape, witness: &ChunkWitness) -> Vec<[u8; RECORD_BYTES]> {
    (0..shape.slots).map(|i| witness.records.get(i).map_or([0; RECORD_BYTES], Record::encode)).collect()
}

/// The inputs of every keccak permutation group, in table order. `bytes` are the slots' bytes
/// ([`slot_bytes`] for an honest prover); the data is the first `records.len()` of them.
pub fn keccak_inputs(shape: &ChunkShape, witness: &ChunkWitness, bytes: &[[u8; RECORD_BYTES]]) -> Vec<Vec<u8>> {
    let mut inputs = Vec::with_capacity(shape.keccak_offsets().data + 1);

    // The hash chain's steps: one per deposit, then steps over zero fields that leave the chain as it is.
    let mut deposits = witness.records.iter().filter_map(|r| match r {
        Record::Deposit(d) => Some(d),
        Record::Transfer(_) => None,
    });
    let mut hash = witness.public.deposit_hash_before;
    for _ in 0..shape.deposits() {
        let mut input = hash.to_vec();
        match deposits.next() {
            Some(d) => {
                input.extend_from_slice(&d.index.to_be_bytes());
                input.extend_from_slice(d.from.as_slice());
                input.extend_from_slice(d.to.as_slice());
                input.extend_from_slice(&U256::from(d.value).to_be_bytes::<32>());
                hash = keccak256(&input);
            }
            None => input.resize(DEPOSIT_INPUT_BYTES, 0),
        }
        inputs.push(input);
    }

    // The withdrawal leaves in record order, then zero leaves (whose permutations hash zero fields).
    let mut level = Vec::with_capacity(shape.withdrawals());
    let mut withdrawals = witness.records.iter().enumerate().filter_map(|(i, r)| match r {
        Record::Transfer(t) if t.to == WITHDRAWAL_ADDRESS => Some((i, t)),
        _ => None,
    });
    for _ in 0..shape.withdrawals() {
        let mut input = vec![0u8; LEAF_INPUT_BYTES];
        match withdrawals.next() {
            Some((slot, t)) => {
                let counter = witness.slot_witnesses[slot].writes[WriteSlot::Recipient as usize].old.nonce;
                input[24..32].copy_from_slice(&counter.to_be_bytes());
                input[44..64].copy_from_slice(t.from.as_slice());
                input[76..96].copy_from_slice(t.from.as_slice());
                input[112..128].copy_from_slice(&t.value.to_be_bytes());
                level.push(keccak256(&input));
            }
            None => level.push(B256::ZERO),
        }
        inputs.push(input);
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| {
                let input = [pair[0].as_slice(), pair[1].as_slice()].concat();
                let node = keccak256(&input);
                inputs.push(input);
                node
            })
            .collect();
    }
    let zeros = withdrawal_zero_hashes();
    let mut node = level[0];
    for zero in &zeros[shape.withdrawals().trailing_zeros() as usize..CHUNK_WITHDRAWAL_HEIGHT] {
        let input = [node.as_slice(), zero.as_slice()].concat();
        node = keccak256(&input);
        inputs.push(input);
    }

    inputs.push(bytes[..witness.records.len()].concat());
    inputs
}
