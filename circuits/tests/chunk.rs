//! The chunk circuit under MockProver: satisfied on valid chunks, unsatisfied when any part of the statement or the
//! witness is wrong.

#![allow(clippy::unwrap_used)]

use alloy_primitives::{Address, B256, U256, keccak256};
use halo2_base::halo2_proofs::dev::MockProver;
use zkr_circuits::{ChunkCircuit, ChunkCircuitParams, ChunkShape, chunk::public_inputs};
use zkr_protocol::{
    ChunkWitness, DepositRecord, LeafWrite, RECORD_BYTES, Record, TransferRecord, WITHDRAWAL_ADDRESS, build_chunk,
    record::offset,
};
use zkr_state::{Account, AccountTree, field::Fr};

const FEE_RECIPIENT: Address = Address::repeat_byte(0xfe);
const GWEI: u128 = 1_000_000_000;
const ETH: u128 = 1_000_000_000_000_000_000;

fn alice() -> Address {
    Address::repeat_byte(0xa1)
}
fn bob() -> Address {
    Address::repeat_byte(0xb0)
}

fn genesis() -> AccountTree {
    let mut tree = AccountTree::new();
    tree.set(FEE_RECIPIENT, Account::default()).unwrap();
    tree.set(WITHDRAWAL_ADDRESS, Account::default()).unwrap();
    tree.set(alice(), Account { nonce: 0, balance: U256::from(10 * ETH) }).unwrap();
    tree
}

fn transfer(from: Address, nonce: u64, to: Address, value: u128) -> Record {
    Record::Transfer(TransferRecord {
        block: 1,
        timestamp: 1_700_000_000,
        base_fee: GWEI as u64,
        tx_type: 2,
        nonce,
        from,
        to,
        value,
        gas_limit: 21_000,
        max_fee_per_gas: 3 * GWEI,
        max_priority_fee_per_gas: GWEI,
        r: B256::repeat_byte(1),
        s: B256::repeat_byte(2),
        y_parity: false,
    })
}

fn deposit(index: u64, to: Address, value: u128) -> Record {
    Record::Deposit(DepositRecord {
        block: 1,
        timestamp: 1_700_000_000,
        index,
        from: Address::repeat_byte(0x11),
        to,
        value,
    })
}

fn shape() -> ChunkShape {
    ChunkShape { k: 16, slots: 2 }
}

fn params() -> ChunkCircuitParams {
    use std::sync::OnceLock;
    static PARAMS: OnceLock<ChunkCircuitParams> = OnceLock::new();
    PARAMS.get_or_init(|| ChunkCircuit::configure_shape(shape(), FEE_RECIPIENT).unwrap()).clone()
}

fn witness(records: &[Record]) -> ChunkWitness {
    let mut tree = genesis();
    build_chunk(&mut tree, shape().slots, FEE_RECIPIENT, B256::ZERO, records).unwrap()
}

fn verify(witness: ChunkWitness, instances: Vec<Fr>) -> Result<(), String> {
    let circuit = ChunkCircuit::new(params(), witness).map_err(|e| e.to_string())?;
    let prover = MockProver::run(shape().k, &circuit, vec![instances]).map_err(|e| e.to_string())?;
    prover.verify().map_err(|failures| format!("{} failures, first: {:?}", failures.len(), failures.first()))
}

fn satisfied(witness: ChunkWitness) {
    let instances = public_inputs(&witness);
    verify(witness, instances).expect("satisfied");
}

/// The circuit builds and lays out, but its constraints fail: the chunk is refused by the proof system itself, not
/// by a check before it.
fn unsatisfied(witness: ChunkWitness, instances: Vec<Fr>) {
    let circuit = ChunkCircuit::new(params(), witness).expect("the circuit builds");
    let prover = MockProver::run(shape().k, &circuit, vec![instances]).expect("the circuit lays out");
    assert!(prover.verify().is_err(), "the circuit accepted a wrong chunk");
}

#[test]
fn transfer_to_a_new_account_and_a_withdrawal() {
    let params = params();
    eprintln!("base params: {:?}", params.base);
    satisfied(witness(&[transfer(alice(), 0, bob(), ETH), transfer(alice(), 1, WITHDRAWAL_ADDRESS, ETH / 2)]));
}

#[test]
fn a_deposit_a_withdrawal_and_an_empty_chunk() {
    satisfied(witness(&[deposit(0, bob(), 5 * ETH), transfer(alice(), 0, WITHDRAWAL_ADDRESS, ETH)]));
    satisfied(witness(&[]));
}

/// 8 slots, at most 2 deposits and 2 withdrawals: room for ranks above 0.
fn wide() -> ChunkShape {
    ChunkShape { k: 17, slots: 8 }
}

fn wide_check(records: &[Record], tamper: impl FnOnce(&mut ChunkWitness, &mut Vec<Fr>)) -> Result<(), String> {
    let mut tree = genesis();
    let mut w = build_chunk(&mut tree, wide().slots, FEE_RECIPIENT, B256::ZERO, records).unwrap();
    let mut instances = public_inputs(&w);
    tamper(&mut w, &mut instances);
    let params = ChunkCircuit::configure_shape(wide(), FEE_RECIPIENT).unwrap();
    let circuit = ChunkCircuit::new(params, w).map_err(|e| e.to_string())?;
    let prover = MockProver::run(wide().k, &circuit, vec![instances]).map_err(|e| e.to_string())?;
    prover.verify().map_err(|failures| format!("{} failures", failures.len()))
}

#[test]
fn deposits_and_withdrawals_take_chain_steps_and_leaves_in_record_order() {
    // Deposits and withdrawals interleaved with transfers, each kind at its cap of 2; then the same deposits
    // reordered, against the chain value of the true order.
    let records = [
        transfer(alice(), 0, bob(), ETH),
        deposit(0, Address::repeat_byte(0x66), 5 * ETH),
        transfer(alice(), 1, WITHDRAWAL_ADDRESS, ETH / 2),
        transfer(bob(), 0, Address::repeat_byte(0x55), ETH / 4),
        deposit(1, alice(), 1),
        transfer(bob(), 1, WITHDRAWAL_ADDRESS, ETH / 4),
    ];
    wide_check(&records, |_, _| {}).expect("satisfied");

    let truth = {
        let mut tree = genesis();
        build_chunk(&mut tree, wide().slots, FEE_RECIPIENT, B256::ZERO, &records).unwrap()
    };
    let mut reordered = records;
    reordered.swap(1, 4);
    let truth = public_inputs(&truth);
    let result = wide_check(&reordered, |_, instances| {
        instances[6] = truth[6];
        instances[7] = truth[7];
    });
    assert!(result.is_err(), "reordered deposits were accepted");
    // The subtree root of the first withdrawal alone: the second one's leaf, at rank 1, is part of the root.
    let result = wide_check(&records, |_, instances| {
        let mut tree = genesis();
        let only_first = build_chunk(&mut tree, wide().slots, FEE_RECIPIENT, B256::ZERO, &records[..3]).unwrap();
        let only_first = public_inputs(&only_first);
        instances[8] = only_first[8];
        instances[9] = only_first[9];
    });
    assert!(result.is_err(), "a withdrawal left out of the subtree was accepted");
}

/// A 2-slot witness holding `records` (more deposits or withdrawals than 2 slots may take), built at 8 slots and cut
/// down, with public inputs whose withdrawal root and deposit chain count only the first of each: what a circuit
/// without the caps would compute. Only the cap constraints can refuse it.
fn over_the_cap(records: &[Record]) -> (ChunkWitness, Vec<Fr>) {
    let mut tree = genesis();
    let mut w = build_chunk(&mut tree, 8, FEE_RECIPIENT, B256::ZERO, records).unwrap();
    w.slots = shape().slots;
    w.slot_witnesses.truncate(shape().slots);
    let first_of_each: Vec<Record> = {
        let mut seen = (false, false);
        records
            .iter()
            .filter(|r| match zkr_protocol::chunk::SlotKind::of(r) {
                zkr_protocol::chunk::SlotKind::Deposit => !std::mem::replace(&mut seen.0, true),
                zkr_protocol::chunk::SlotKind::Withdrawal => !std::mem::replace(&mut seen.1, true),
                zkr_protocol::chunk::SlotKind::Transfer => true,
            })
            .copied()
            .collect()
    };
    let mut tree = genesis();
    let capped = public_inputs(&build_chunk(&mut tree, 8, FEE_RECIPIENT, B256::ZERO, &first_of_each).unwrap());
    let mut instances = public_inputs(&w);
    instances[6..10].copy_from_slice(&capped[6..10]);
    (w, instances)
}

#[test]
fn more_deposits_than_the_cap_are_refused() {
    let (w, instances) = over_the_cap(&[deposit(0, bob(), 1), deposit(1, alice(), 2)]);
    unsatisfied(w, instances);
}

#[test]
fn more_withdrawals_than_the_cap_are_refused() {
    let (w, instances) = over_the_cap(&[
        transfer(alice(), 0, WITHDRAWAL_ADDRESS, ETH),
        transfer(alice(), 1, WITHDRAWAL_ADDRESS, ETH / 2),
    ]);
    unsatisfied(w, instances);
}

#[test]
fn the_witness_refuses_more_deposits_or_withdrawals_than_the_cap() {
    let mut tree = genesis();
    let err = build_chunk(&mut tree, 2, FEE_RECIPIENT, B256::ZERO, &[deposit(0, bob(), 1), deposit(1, bob(), 1)])
        .unwrap_err();
    assert!(err.to_string().contains("2 deposits do not fit a chunk of 2 slots"), "{err}");
}

#[test]
fn legacy_fees_self_transfers_and_the_fee_recipient_sending() {
    let legacy = |from, nonce, to, value| {
        let Record::Transfer(mut t) = transfer(from, nonce, to, value) else { unreachable!() };
        t.tx_type = 0;
        t.max_fee_per_gas = 2 * GWEI;
        t.max_priority_fee_per_gas = 2 * GWEI;
        t.gas_limit = 50_000;
        Record::Transfer(t)
    };
    // To itself, then nothing to an address without a leaf (which gets none).
    satisfied(witness(&[legacy(alice(), 0, alice(), ETH), transfer(alice(), 1, Address::repeat_byte(0x77), 0)]));
    // The fee recipient receives a deposit and pays its own fee.
    satisfied(witness(&[deposit(0, FEE_RECIPIENT, ETH), transfer(FEE_RECIPIENT, 0, bob(), 1)]));
}

#[test]
fn a_changed_new_root_is_refused() {
    let w = witness(&[transfer(alice(), 0, bob(), ETH)]);
    let mut instances = public_inputs(&w);
    instances[1] += Fr::from(1);
    unsatisfied(w, instances);
}

#[test]
fn a_changed_balance_is_refused() {
    // The sender's old leaf claims more than it has: its path no longer leads to the root.
    let mut w = witness(&[transfer(alice(), 0, bob(), ETH)]);
    w.slot_witnesses[0].writes[0].old.balance += 1;
    let instances = public_inputs(&w);
    unsatisfied(w, instances);
}

#[test]
fn a_record_not_in_the_committed_bytes_is_refused() {
    // The witness applies a transfer of 2 ETH but the public data hash is that of a transfer of 1 ETH.
    let committed = witness(&[transfer(alice(), 0, bob(), ETH)]);
    let applied = witness(&[transfer(alice(), 0, bob(), 2 * ETH)]);
    let mut instances = public_inputs(&applied);
    instances[2] = public_inputs(&committed)[2];
    instances[3] = public_inputs(&committed)[3];
    unsatisfied(applied, instances);
}

#[test]
fn a_second_leaf_for_an_existing_address_is_refused() {
    // A deposit to alice, who has a leaf, witnessed as an insertion: the low leaf is her predecessor (whose successor
    // is alice), and a second leaf for alice goes into the first empty slot. Everything else is consistent, so only
    // the ordering check (alice < successor of the low leaf) can refuse it.
    let mut tree = genesis();
    let record = deposit(0, alice(), 1);
    let predecessor = tree.leaves().iter().find(|leaf| leaf.next == alice()).unwrap().address;
    let zkr_state::AccountProof::Present(low) = tree.prove(&predecessor).unwrap() else { panic!("present") };
    let empty_slot = tree.empty_slot_proof().unwrap();
    let empty = empty_slot.clone();
    let duplicate = zkr_state::LeafProof {
        leaf: zkr_state::AccountLeaf {
            address: alice(),
            next: alice(),
            account: Account { nonce: 0, balance: U256::from(1) },
        },
        ..empty
    };
    let mut honest = genesis();
    let mut w = build_chunk(&mut honest, 2, FEE_RECIPIENT, B256::ZERO, &[record]).unwrap();
    let write = |proof: &zkr_state::LeafProof| LeafWrite {
        enabled: true,
        index: proof.index,
        old: proof.leaf.into(),
        siblings: proof.siblings.iter().map(zkr_state::field::fr_to_b256).collect(),
    };
    w.slot_witnesses[0].recipient_present = false;
    w.slot_witnesses[0].writes[1] = write(&low);
    w.slot_witnesses[0].writes[2] = write(&empty_slot);
    w.public.new_state_root = zkr_state::field::fr_to_b256(&duplicate.root().unwrap());
    let instances = public_inputs(&w);
    unsatisfied(w, instances);
}

#[test]
fn a_withdrawal_missing_from_the_tree_is_refused() {
    let w = witness(&[transfer(alice(), 0, WITHDRAWAL_ADDRESS, ETH)]);
    let mut instances = public_inputs(&w);
    let empty = witness(&[]);
    instances[8] = public_inputs(&empty)[8];
    instances[9] = public_inputs(&empty)[9];
    unsatisfied(w, instances);
}

#[test]
fn a_skipped_deposit_is_refused() {
    // The chunk credits deposit 1 but starts from the hash before deposit 0.
    let w = witness(&[deposit(1, bob(), 1)]);
    let mut tree = genesis();
    let truth = build_chunk(
        &mut tree,
        8,
        FEE_RECIPIENT,
        B256::ZERO,
        &[deposit(0, Address::repeat_byte(9), 7), deposit(1, bob(), 1)],
    )
    .unwrap();
    let mut instances = public_inputs(&w);
    instances[6] = public_inputs(&truth)[6];
    instances[7] = public_inputs(&truth)[7];
    unsatisfied(w, instances);
}

#[test]
fn a_changed_record_field_is_refused() {
    let mut w = witness(&[transfer(alice(), 0, bob(), ETH)]);
    let instances = public_inputs(&w);
    if let Record::Transfer(t) = &mut w.records[0] {
        t.max_priority_fee_per_gas -= 1;
    }
    unsatisfied(w, instances);
}

#[test]
fn the_poseidon_table_spreads_over_lanes_when_the_rows_run_out() {
    // At k = 14 the 540 permutations of 2 slots need 20,520 rows, more than one lane holds: two lanes, same rules.
    let shape = ChunkShape { k: 14, slots: 2 };
    let params = ChunkCircuit::configure_shape(shape, FEE_RECIPIENT).unwrap();
    assert_eq!(params.poseidon_lanes, 2);
    let w = witness(&[transfer(alice(), 0, bob(), ETH), transfer(alice(), 1, WITHDRAWAL_ADDRESS, ETH / 2)]);
    let instances = public_inputs(&w);
    let mut wrong_root = instances.clone();
    wrong_root[1] += Fr::from(1);
    for (instances, holds) in [(instances, true), (wrong_root, false)] {
        let circuit = ChunkCircuit::new(params.clone(), w.clone()).unwrap();
        let prover = MockProver::run(shape.k, &circuit, vec![instances]).unwrap();
        assert_eq!(prover.verify().is_ok(), holds);
    }
}

/// Checks `records` with the bytes of their slots changed by `tamper` (as a dishonest prover may), against public
/// inputs whose data hash is that of the changed bytes: only the rules on the bytes themselves can refuse them.
fn check_bytes(records: &[Record], tamper: impl FnOnce(&mut [[u8; RECORD_BYTES]])) -> Result<(), String> {
    let w = witness(records);
    let mut bytes: Vec<[u8; RECORD_BYTES]> =
        (0..shape().slots).map(|i| records.get(i).map_or([0; RECORD_BYTES], Record::encode)).collect();
    tamper(&mut bytes);
    let (hi, lo) = zkr_protocol::split_u256(keccak256(bytes[..records.len()].concat()));
    let mut instances = public_inputs(&w);
    instances[2] = zkr_state::field::fr_from_u256(hi).unwrap();
    instances[3] = zkr_state::field::fr_from_u256(lo).unwrap();
    let circuit = ChunkCircuit::new(params(), w).unwrap().with_slot_bytes(|b| b.copy_from_slice(&bytes));
    let prover = MockProver::run(shape().k, &circuit, vec![instances]).unwrap();
    prover.verify().map_err(|failures| format!("{} failures", failures.len()))
}

#[test]
fn bytes_the_proof_does_not_read_yet_change_only_the_data_hash() {
    // The control for the tests below: a transfer's signature is committed but not yet checked (README), so changing
    // it passes once the data hash is that of the changed bytes.
    let result = check_bytes(&[transfer(alice(), 0, bob(), ETH)], |b| b[0][offset::SIG_R] ^= 1);
    assert_eq!(result, Ok(()));
}

#[test]
fn a_deposit_with_bytes_in_fields_it_does_not_use_is_refused() {
    for (what, at, byte) in [
        ("base fee", offset::BASE_FEE + 7, 1),
        ("transaction type", offset::TX_TYPE, 2),
        ("gas limit", offset::GAS_LIMIT, 1),
        ("max fee", offset::MAX_FEE + 15, 9),
        ("signature", offset::SIG_S, 0x80),
        ("y parity", offset::SIG_V, 1),
    ] {
        let result = check_bytes(&[deposit(0, bob(), ETH)], |b| b[0][at] = byte);
        assert!(result.is_err(), "a deposit with its {what} set was accepted");
    }
}

/// The chunk circuit has no rule of its own for this: an empty slot's bytes lie past the data's end in the data's
/// keccak words, which the keccak table holds at zero there.
#[test]
fn an_empty_slot_with_a_nonzero_byte_is_refused() {
    for at in [offset::KIND + 1, offset::VALUE + 31, offset::SIG_V] {
        let result = check_bytes(&[transfer(alice(), 0, bob(), ETH)], |b| b[1][at] = 1);
        assert!(result.is_err(), "an empty slot with byte {at} set was accepted");
    }
}

#[test]
fn a_y_parity_other_than_0_or_1_is_refused() {
    let result = check_bytes(&[transfer(alice(), 0, bob(), ETH)], |b| b[0][offset::SIG_V] = 2);
    assert!(result.is_err(), "y parity 2 was accepted");
}
