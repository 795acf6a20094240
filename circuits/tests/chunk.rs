//! The chunk circuit under MockProver: satisfied on valid chunks, unsatisfied when any part of the statement or the
//! witness is wrong.

#![allow(clippy::unwrap_used)]

use alloy_primitives::{Address, B256, U256, keccak256};
use halo2_base::halo2_proofs::dev::MockProver;
use zkr_circuits::{ChunkCircuit, ChunkCircuitParams, ChunkShape, chunk::public_inputs};
use zkr_protocol::{
    ChunkWitness, DepositRecord, LeafWrite, RECORD_BYTES, Record, TransferRecord, WITHDRAWAL_ADDRESS, build_chunk,
    encode_chunk, record::offset, witness::LeafData,
};
use zkr_state::{
    Account, AccountLeaf, AccountTree, TREE_DEPTH,
    field::{Field, Fr, fr_to_b256},
    poseidon::compress,
};

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
    tree.root().unwrap();
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
    // is alice), and a second leaf for alice goes into the next free slot. Everything else is consistent, so only the
    // ordering check (alice < successor of the low leaf) can refuse it.
    let before = genesis();
    let mut honest = genesis();
    let mut w = build_chunk(&mut honest, 2, FEE_RECIPIENT, B256::ZERO, &[deposit(0, alice(), 1)]).unwrap();
    let predecessor = *before.leaves().iter().find(|leaf| leaf.next == alice()).unwrap();
    let index = before.len() as u64;
    let duplicate =
        AccountLeaf { address: alice(), next: alice(), account: Account { nonce: 0, balance: U256::from(1) } };
    let slot = &mut w.slot_witnesses[0];
    slot.recipient_present = false;
    let low = before.index_of(&predecessor.address).unwrap();
    slot.writes[1] = LeafWrite { enabled: true, index: low, old: predecessor.into(), ..LeafWrite::disabled() };
    slot.writes[2] = LeafWrite { enabled: true, index, ..LeafWrite::disabled() };
    let mut head = before.leaves()[0];
    head.account.nonce += 1;
    reroot(&mut w, &before, &[predecessor, duplicate, head]);
    let instances = public_inputs(&w);
    unsatisfied(w, instances);
}

/// Every enabled write of `w` in the circuit's order: the slots' writes, then the leaf count.
fn writes(w: &mut ChunkWitness) -> Vec<&mut LeafWrite> {
    let slots = w.slot_witnesses.iter_mut().flat_map(|slot| slot.writes.iter_mut());
    slots.chain(std::iter::once(&mut w.leaf_count)).filter(|write| write.enabled).collect()
}

fn leaf(data: &LeafData) -> AccountLeaf {
    AccountLeaf {
        address: data.address,
        next: data.next,
        account: Account { nonce: data.nonce, balance: U256::from(data.balance) },
    }
}

/// The leaf each enabled write of an honest witness leaves behind: what the next write at its index finds there, or
/// the leaf at the end of the chunk (`end`).
fn written(w: &mut ChunkWitness, end: &AccountTree) -> Vec<AccountLeaf> {
    let all: Vec<(u64, AccountLeaf)> = writes(w).iter().map(|write| (write.index, leaf(&write.old))).collect();
    (0..all.len())
        .map(|i| {
            let later = all[i + 1..].iter().find(|(index, _)| *index == all[i].0);
            later.map_or(end.leaves()[all[i].0 as usize], |(_, old)| *old)
        })
        .collect()
}

/// Gives every enabled write of `w` its path, starting from `before`'s leaves, with write `i` leaving `after[i]` at
/// its index, and sets the new root to where they end: a witness for any placement of leaves, consistent in
/// everything but the placement (which the native tree would never choose).
fn reroot(w: &mut ChunkWitness, before: &AccountTree, after: &[AccountLeaf]) {
    let mut leaves: std::collections::BTreeMap<u64, Fr> =
        before.leaves().iter().enumerate().map(|(i, leaf)| (i as u64, leaf.hash().unwrap())).collect();
    let mut zeros = vec![Fr::ZERO];
    for h in 0..TREE_DEPTH {
        zeros.push(compress(zeros[h], zeros[h]));
    }
    fn node(leaves: &std::collections::BTreeMap<u64, Fr>, zeros: &[Fr], height: usize, index: u64) -> Fr {
        let first = index << height;
        if leaves.range(first..first + (1 << height)).next().is_none() {
            return zeros[height];
        }
        if height == 0 {
            return leaves[&index];
        }
        compress(node(leaves, zeros, height - 1, 2 * index), node(leaves, zeros, height - 1, 2 * index + 1))
    }
    let writes = writes(w);
    assert_eq!(writes.len(), after.len(), "one leaf per enabled write");
    for (write, new) in writes.into_iter().zip(after) {
        write.siblings =
            (0..TREE_DEPTH).map(|h| fr_to_b256(&node(&leaves, &zeros, h, (write.index >> h) ^ 1))).collect();
        leaves.insert(write.index, new.hash().unwrap());
    }
    w.public.new_state_root = fr_to_b256(&node(&leaves, &zeros, TREE_DEPTH, 0));
}

fn carol() -> Address {
    Address::repeat_byte(0xc0)
}
fn dave() -> Address {
    Address::repeat_byte(0x0d)
}

#[test]
fn new_accounts_take_the_next_free_leaf_indices_and_no_other() {
    // Two new accounts in one chunk: carol by a deposit, dave by a transfer. The honest placement is the count before
    // the chunk, then the index after it; `reroot` rebuilds exactly the honest witness from it.
    let records = [deposit(0, carol(), ETH), transfer(alice(), 0, dave(), ETH)];
    let before = genesis();
    let mut end = genesis();
    let honest = build_chunk(&mut end, 2, FEE_RECIPIENT, B256::ZERO, &records).unwrap();
    let next = before.len() as u64;
    assert_eq!(end.index_of(&carol()), Some(next));
    assert_eq!(end.index_of(&dave()), Some(next + 1));
    assert_eq!(honest.leaf_count.old.nonce, next, "leaf 0 held the count before the chunk");
    assert_eq!(end.get(&Address::ZERO).unwrap().nonce, next + 2, "and holds the count after it");
    let mut w = honest.clone();
    let after = written(&mut w, &end);
    reroot(&mut w, &before, &after);
    assert_eq!(w, honest, "the rebuilt witness is the honest one");
    satisfied(w);

    // The same leaves at other free indices: swapped, both one further, or one far away. Every path and root is
    // consistent; only the placement rule refuses them.
    assert!(honest.slot_witnesses.iter().all(|slot| slot.writes[2].enabled), "both slots insert");
    for placement in [[next + 1, next], [next + 1, next + 2], [next, next + 9]] {
        let mut moved = honest.clone();
        for (slot, index) in moved.slot_witnesses.iter_mut().zip(placement) {
            slot.writes[2].index = index;
        }
        reroot(&mut moved, &before, &after);
        let instances = public_inputs(&moved);
        unsatisfied(moved, instances);
    }
}

#[test]
fn the_zero_address_cannot_send() {
    // The zero address's nonce counts the leaves, so a transfer from it would move the count. Its witness: alice's
    // honest transfer to an existing account, sent from the zero address instead (funded like alice), every path
    // consistent; the count write then starts from the nonce the transfer left.
    let mut before = genesis();
    let head = *before.get(&Address::ZERO).unwrap();
    before.set(Address::ZERO, Account { balance: U256::from(10 * ETH), ..head }).unwrap();
    let head = before.leaves()[0];
    let mut end = before.clone();
    let records = [transfer(alice(), 0, FEE_RECIPIENT, ETH)];
    let mut w = build_chunk(&mut end, 2, FEE_RECIPIENT, B256::ZERO, &records).unwrap();
    let mut after = written(&mut w, &end);
    let Record::Transfer(t) = &mut w.records[0] else { unreachable!() };
    t.from = Address::ZERO;
    t.nonce = head.account.nonce;
    let sender = &mut w.slot_witnesses[0].writes[0];
    let paid = sender.old.balance - after[0].account.balance.to::<u128>();
    *sender = LeafWrite { index: 0, old: head.into(), ..sender.clone() };
    let mut sent = head;
    sent.account.nonce += 1;
    sent.account.balance -= U256::from(paid);
    after[0] = sent;
    let count = after.len() - 1;
    w.leaf_count.old = sent.into();
    after[count] = sent;
    w.public.data_hash = keccak256(encode_chunk(&w.records));
    reroot(&mut w, &before, &after);
    assert!(matches!(
        build_chunk(&mut before.clone(), 2, FEE_RECIPIENT, B256::ZERO, &w.records),
        Err(zkr_protocol::WitnessError::Invalid { .. })
    ));
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
