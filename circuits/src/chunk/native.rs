//! The keccak inputs of a chunk circuit, computed natively from its witness in exactly the order and form the
//! circuit constrains them (see [`crate::layout::KeccakOffsets`]).

use alloy_primitives::{Address, B256, U256, keccak256};
use zkr_protocol::{
    CHUNK_WITHDRAWAL_HEIGHT, ChunkWitness, RECORD_BYTES, Record, WITHDRAWAL_ADDRESS, WriteSlot,
    hashes::{deposit_queue_preimage, withdrawal_leaf_preimage, withdrawal_zero_hashes},
};

use crate::layout::ChunkShape;

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
        let input = match deposits.next() {
            Some(d) => {
                let input = deposit_queue_preimage(hash, d.index, d.from, d.to, U256::from(d.value));
                hash = keccak256(input);
                input
            }
            None => deposit_queue_preimage(hash, 0, Address::ZERO, Address::ZERO, U256::ZERO),
        };
        inputs.push(input.to_vec());
    }

    // The withdrawal leaves in record order, then zero leaves (whose permutations hash zero fields).
    let mut level = Vec::with_capacity(shape.withdrawals());
    let mut withdrawals = witness.records.iter().enumerate().filter_map(|(i, r)| match r {
        Record::Transfer(t) if t.to == WITHDRAWAL_ADDRESS => Some((i, t)),
        _ => None,
    });
    for _ in 0..shape.withdrawals() {
        let input = match withdrawals.next() {
            Some((slot, t)) => {
                let counter = witness.slot_witnesses[slot].writes[WriteSlot::Recipient as usize].old.nonce;
                let input = withdrawal_leaf_preimage(counter, t.from, t.from, U256::from(t.value));
                level.push(keccak256(&input));
                input
            }
            None => {
                level.push(B256::ZERO);
                withdrawal_leaf_preimage(0, Address::ZERO, Address::ZERO, U256::ZERO)
            }
        };
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
