//! The keccak inputs of a chunk circuit, computed natively from its witness in exactly the order and form the
//! circuit constrains them (see [`crate::layout::KeccakOffsets`]).

use alloy_primitives::{B256, keccak256};
use zkr_protocol::{
    CHUNK_WITHDRAWAL_HEIGHT, ChunkWitness, RECORD_BYTES, Record, WITHDRAWAL_ADDRESS, WriteSlot, encode_chunk,
    hashes::withdrawal_zero_hashes, record::offset,
};

use crate::layout::ChunkShape;

/// The record bytes of every slot (zeros for empty slots).
pub fn slot_bytes(shape: &ChunkShape, witness: &ChunkWitness) -> Vec<[u8; RECORD_BYTES]> {
    (0..shape.slots).map(|i| witness.records.get(i).map_or([0; RECORD_BYTES], Record::encode)).collect()
}

/// Whether slot `i` holds a withdrawal.
pub fn is_withdrawal(witness: &ChunkWitness, i: usize) -> bool {
    matches!(witness.records.get(i), Some(Record::Transfer(t)) if t.to == WITHDRAWAL_ADDRESS)
}

/// The inputs of every keccak permutation group, in table order.
pub fn keccak_inputs(shape: &ChunkShape, witness: &ChunkWitness) -> Vec<Vec<u8>> {
    let bytes = slot_bytes(shape, witness);
    let mut inputs = Vec::with_capacity(shape.keccak_offsets().data + 1);

    let mut hash = witness.public.deposit_hash_before;
    for (i, record) in bytes.iter().enumerate() {
        let mut input = hash.to_vec();
        input.extend_from_slice(&record[offset::NONCE..offset::VALUE + 32]);
        if matches!(witness.records.get(i), Some(Record::Deposit(_))) {
            hash = keccak256(&input);
        }
        inputs.push(input);
    }

    let mut level = Vec::with_capacity(shape.slots);
    for (i, record) in bytes.iter().enumerate() {
        let input = leaf_input(witness, i, record);
        level.push(if is_withdrawal(witness, i) { keccak256(&input) } else { B256::ZERO });
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
    for zero in &zeros[shape.slots.trailing_zeros() as usize..CHUNK_WITHDRAWAL_HEIGHT] {
        let input = [node.as_slice(), zero.as_slice()].concat();
        node = keccak256(&input);
        inputs.push(input);
    }

    inputs.push(encode_chunk(&witness.records));
    inputs
}

/// `abi.encode(uint64 nonce, address from, address from, uint256 value)` with the slot's counter value, sender and
/// value; computed for every slot, used only where the slot is a withdrawal.
fn leaf_input(witness: &ChunkWitness, slot: usize, record: &[u8; RECORD_BYTES]) -> Vec<u8> {
    let nonce = witness.slot_witnesses[slot].writes[WriteSlot::Recipient as usize].old.nonce;
    let mut input = vec![0u8; 128];
    input[24..32].copy_from_slice(&nonce.to_be_bytes());
    input[44..64].copy_from_slice(&record[offset::FROM..offset::FROM + 20]);
    input[76..96].copy_from_slice(&record[offset::FROM..offset::FROM + 20]);
    input[96..128].copy_from_slice(&record[offset::VALUE..offset::VALUE + 32]);
    input
}
