//! The native replay of a chunk over the state tree: the reference for what the chunk circuit constrains, and the
//! producer of its witness.
//!
//! Every record slot of the chunk circuit makes the same four tree writes, each either enabled or not:
//!
//! | write | transfer                                 | deposit                      | empty slot |
//! |-------|------------------------------------------|------------------------------|------------|
//! | 0     | sender: nonce + 1, pays value and fees   | -                            | -          |
//! | 1     | recipient: credited, or its low leaf relinked for an insertion; for a withdrawal, the withdrawal counter (nonce + 1) | recipient, as for a transfer | - |
//! | 2     | recipient's new leaf in an empty slot    | as for a transfer            | -          |
//! | 3     | fee recipient: credited the priority fee | -                            | -          |
//!
//! in that order, which is the order the node writes a transaction's changes in, so a new account gets the same leaf
//! index in both. A transfer of zero to an address without a leaf creates none (EIP-161); a deposit always credits.
//! Execution rules (Ethereum's for a plain transfer, as revm applies them): the sender's nonce equals the
//! transaction's; `max_fee >= base_fee`, `max_priority_fee <= max_fee` (equal for legacy and EIP-2930); gas limit at
//! least 21000; the sender's balance covers `gas_limit * max_fee + value`; it pays `21000 * min(max_fee, base_fee +
//! max_priority_fee) + value`; the fee recipient gets `21000 * (that price - base_fee)`; the base fee is burned.
//!
//! The fee recipient's leaf and the withdrawal counter's leaf exist from genesis, so writes 1 and 3 on them are
//! always updates.
//!
//! After the last slot the chunk makes one more write: leaf 0 (the zero address) takes the tree's number of leaves as
//! its nonce ([`AccountTree::write_len`]). The count before it is where the chunk's first new account went, and each
//! next one takes the index after, so a new account's leaf index is fixed by the records alone and a replica rebuilds
//! the same root from L1 data. The zero address never sends (no key signs for it, and the rules refuse it), so
//! nothing else writes that nonce.

use crate::hashes::{deposit_queue_hash, withdrawal_leaf};
use alloy_primitives::{Address, B256, U256, keccak256};
use serde::{Deserialize, Serialize};
use zkr_state::{Account, AccountLeaf, AccountProof, AccountTree, LeafProof, TREE_DEPTH, field::fr_to_b256};

use crate::{
    ChunkPublicInputs, Record, TRANSFER_GAS, WITHDRAWAL_ADDRESS,
    chunk::{MAX_CHUNK_SLOTS, SlotKind, max_chunk_deposits, max_chunk_withdrawals},
    chunk_withdrawal_root, encode_chunk,
};

/// The four writes of a slot (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteSlot {
    /// The sender.
    Sender = 0,
    /// The recipient (or its low leaf, or the withdrawal counter).
    Recipient = 1,
    /// The recipient's new leaf.
    Insert = 2,
    /// The fee recipient.
    FeeRecipient = 3,
}

/// A leaf as the witness carries it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeafData {
    /// The account's address.
    pub address: Address,
    /// The next larger address in the tree, zero at the end.
    pub next: Address,
    /// Nonce.
    pub nonce: u64,
    /// Balance.
    pub balance: u128,
}

impl From<AccountLeaf> for LeafData {
    fn from(leaf: AccountLeaf) -> Self {
        Self {
            address: leaf.address,
            next: leaf.next,
            nonce: leaf.account.nonce,
            balance: leaf.account.balance.to::<u128>(),
        }
    }
}

/// One write of the tree: the leaf before it and its path, against the root before the write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeafWrite {
    /// Whether the slot makes this write.
    pub enabled: bool,
    /// Leaf index.
    pub index: u64,
    /// The leaf before the write (ignored for the insertion write, whose slot is empty).
    pub old: LeafData,
    /// Sibling hashes from the leaf up (field elements, big-endian).
    pub siblings: Vec<B256>,
}

impl LeafWrite {
    /// A write the slot does not make.
    pub fn disabled() -> Self {
        Self { enabled: false, index: 0, old: LeafData::default(), siblings: vec![B256::ZERO; TREE_DEPTH] }
    }

    fn from_proof(proof: &LeafProof) -> Self {
        Self {
            enabled: true,
            index: proof.index,
            old: proof.leaf.into(),
            siblings: proof.siblings.iter().map(fr_to_b256).collect(),
        }
    }
}

/// What the circuit needs for one record slot beyond the record's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotWitness {
    /// The writes, indexed by [`WriteSlot`].
    pub writes: [LeafWrite; 4],
    /// Whether the recipient had a leaf before the record.
    pub recipient_present: bool,
}

impl SlotWitness {
    fn empty() -> Self {
        Self { writes: std::array::from_fn(|_| LeafWrite::disabled()), recipient_present: false }
    }
}

/// Everything a prover needs for one chunk: the job a worker receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkWitness {
    /// Record slots of the circuit that proves it.
    pub slots: usize,
    /// The chain's fee recipient (a constant of the circuit).
    pub fee_recipient: Address,
    /// The chunk's records.
    pub records: Vec<Record>,
    /// One witness per slot, `slots` of them.
    pub slot_witnesses: Vec<SlotWitness>,
    /// The write of the number of leaves into leaf 0, after the slots (see the module docs).
    pub leaf_count: LeafWrite,
    /// The statement.
    pub public: ChunkPublicInputs,
}

/// Why a chunk cannot be proven.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// More records than slots.
    #[error("{records} records do not fit a chunk of {slots} slots")]
    TooManyRecords {
        /// Records given.
        records: usize,
        /// Slots of the circuit.
        slots: usize,
    },
    /// More deposits or withdrawals than the chunk may hold ([`crate::chunk::max_chunk_deposits`],
    /// [`crate::chunk::max_chunk_withdrawals`]).
    #[error("{count} {what} do not fit a chunk of {slots} slots, which takes at most {max}")]
    TooManyOfKind {
        /// "deposits" or "withdrawals".
        what: &'static str,
        /// How many the records hold.
        count: usize,
        /// The cap.
        max: usize,
        /// Slots of the circuit.
        slots: usize,
    },
    /// The slot count is not a power of two up to the maximum.
    #[error("a chunk has a power of two of slots, at most {MAX_CHUNK_SLOTS}; got {0}")]
    Slots(usize),
    /// The record breaks an execution rule; the node would never have included it.
    #[error("record {index}: {reason}")]
    Invalid {
        /// Record position.
        index: usize,
        /// The rule.
        reason: String,
    },
    /// The state tree refused a write.
    #[error(transparent)]
    State(#[from] zkr_state::Error),
}

/// Replays `records` on `tree` (which ends in the state after the chunk) and returns the chunk's witness.
/// `deposit_hash` is the Portal's hash-chain value before the chunk's first deposit.
pub fn build_chunk(
    tree: &mut AccountTree,
    slots: usize,
    fee_recipient: Address,
    deposit_hash: B256,
    records: &[Record],
) -> Result<ChunkWitness, WitnessError> {
    if !slots.is_power_of_two() || slots > MAX_CHUNK_SLOTS {
        return Err(WitnessError::Slots(slots));
    }
    if records.len() > slots {
        return Err(WitnessError::TooManyRecords { records: records.len(), slots });
    }
    for (what, kind, max) in [
        ("deposits", SlotKind::Deposit, max_chunk_deposits(slots)),
        ("withdrawals", SlotKind::Withdrawal, max_chunk_withdrawals(slots)),
    ] {
        let count = records.iter().filter(|r| SlotKind::of(r) == kind).count();
        if count > max {
            return Err(WitnessError::TooManyOfKind { what, count, max, slots });
        }
    }
    let prev_state_root = fr_to_b256(&tree.root()?);
    let mut deposit_hash_after = deposit_hash;
    let mut withdrawal_leaves = Vec::new();
    let mut slot_witnesses = Vec::with_capacity(slots);
    for (index, record) in records.iter().enumerate() {
        let invalid = |reason: String| WitnessError::Invalid { index, reason };
        let mut slot = SlotWitness::empty();
        match record {
            Record::Transfer(t) => {
                let sender =
                    tree.get(&t.from).copied().ok_or_else(|| invalid(format!("sender {} has no account", t.from)))?;
                let price = check_transfer(t, &sender).map_err(invalid)?;
                let fee = U256::from(TRANSFER_GAS) * U256::from(price);
                let tip = U256::from(TRANSFER_GAS) * U256::from(price - u128::from(t.base_fee));
                let value = U256::from(t.value);

                slot.writes[WriteSlot::Sender as usize] =
                    update(tree, t.from, Account { nonce: sender.nonce + 1, balance: sender.balance - fee - value })?;
                if t.to == WITHDRAWAL_ADDRESS {
                    let counter = tree
                        .get(&WITHDRAWAL_ADDRESS)
                        .copied()
                        .ok_or_else(|| invalid("the withdrawal counter has no leaf".into()))?;
                    slot.recipient_present = true;
                    slot.writes[WriteSlot::Recipient as usize] =
                        update(tree, WITHDRAWAL_ADDRESS, Account { nonce: counter.nonce + 1, ..counter })?;
                    withdrawal_leaves.push(withdrawal_leaf(counter.nonce, t.from, t.from, value));
                } else {
                    credit(tree, &mut slot, t.to, value, !value.is_zero())?;
                }
                let recipient =
                    tree.get(&fee_recipient).copied().ok_or_else(|| invalid("the fee recipient has no leaf".into()))?;
                slot.writes[WriteSlot::FeeRecipient as usize] =
                    update(tree, fee_recipient, Account { balance: recipient.balance + tip, ..recipient })?;
            }
            Record::Deposit(d) => {
                deposit_hash_after = deposit_queue_hash(deposit_hash_after, d.index, d.from, d.to, U256::from(d.value));
                credit(tree, &mut slot, d.to, U256::from(d.value), true)?;
            }
        }
        slot_witnesses.push(slot);
    }
    slot_witnesses.resize_with(slots, SlotWitness::empty);
    let leaf_count = LeafWrite::from_proof(&tree.write_len()?);

    let public = ChunkPublicInputs {
        prev_state_root,
        new_state_root: fr_to_b256(&tree.root()?),
        data_hash: keccak256(encode_chunk(records)),
        deposit_hash_before: deposit_hash,
        deposit_hash_after,
        withdrawal_root: chunk_withdrawal_root(&withdrawal_leaves),
    };
    Ok(ChunkWitness { slots, fee_recipient, records: records.to_vec(), slot_witnesses, leaf_count, public })
}

/// Checks a transfer against its sender's account; returns the price per gas it pays.
fn check_transfer(t: &crate::TransferRecord, sender: &Account) -> Result<u128, String> {
    if t.from.is_zero() {
        return Err("the zero address cannot send".into());
    }
    if t.tx_type > 2 {
        return Err(format!("unknown transaction type {}", t.tx_type));
    }
    if t.tx_type < 2 && t.max_priority_fee_per_gas != t.max_fee_per_gas {
        return Err("a legacy or EIP-2930 transaction has one gas price".into());
    }
    if t.nonce != sender.nonce {
        return Err(format!("nonce {} but the sender's is {}", t.nonce, sender.nonce));
    }
    if t.nonce == u64::MAX {
        return Err("nonce overflow".into());
    }
    if t.max_fee_per_gas < u128::from(t.base_fee) {
        return Err(format!("max fee {} below the base fee {}", t.max_fee_per_gas, t.base_fee));
    }
    if t.max_priority_fee_per_gas > t.max_fee_per_gas {
        return Err("priority fee above the max fee".into());
    }
    if t.gas_limit < TRANSFER_GAS {
        return Err(format!("gas limit {} below {TRANSFER_GAS}", t.gas_limit));
    }
    let max_cost = U256::from(t.gas_limit) * U256::from(t.max_fee_per_gas) + U256::from(t.value);
    if sender.balance < max_cost {
        return Err(format!("balance {} below the maximum cost {max_cost}", sender.balance));
    }
    Ok(t.max_fee_per_gas.min(u128::from(t.base_fee) + t.max_priority_fee_per_gas))
}

/// Updates the leaf of `address`, which must exist, and returns the write.
fn update(tree: &mut AccountTree, address: Address, account: Account) -> Result<LeafWrite, WitnessError> {
    let AccountProof::Present(proof) = tree.prove(&address)? else {
        return Err(WitnessError::Invalid { index: 0, reason: format!("{address} has no leaf") });
    };
    tree.set(address, account)?;
    Ok(LeafWrite::from_proof(&proof))
}

/// Credits `value` to `to` (writes 1 and 2 of the slot): an update if it has a leaf, else an insertion when `create`.
fn credit(
    tree: &mut AccountTree,
    slot: &mut SlotWitness,
    to: Address,
    value: U256,
    create: bool,
) -> Result<(), WitnessError> {
    match tree.get(&to).copied() {
        Some(account) => {
            slot.recipient_present = true;
            slot.writes[WriteSlot::Recipient as usize] =
                update(tree, to, Account { balance: account.balance + value, ..account })?;
        }
        None if create => {
            let (low, empty) = tree.insert_stepwise(to, Account { nonce: 0, balance: value })?;
            slot.writes[WriteSlot::Recipient as usize] = LeafWrite::from_proof(&low);
            slot.writes[WriteSlot::Insert as usize] = LeafWrite::from_proof(&empty);
        }
        None => {}
    }
    Ok(())
}
