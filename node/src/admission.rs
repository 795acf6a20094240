//! Checks a raw transaction before it may enter the pool: everything that can be decided without the pool first
//! ([`decode`]), then nonce and balance against the sender's pending state ([`check_sender`]).

use alloy::{
    consensus::{Transaction, TxEnvelope, transaction::SignerRecoverable},
    eips::{Decodable2718, Typed2718, eip2930::AccessList},
    primitives::{Address, B256, Bytes, TxKind, U256},
};
use zkr_state::Account;

use crate::{ChainSpec, ExecutionMode, TxError, WITHDRAWAL_ADDRESS};

/// Intrinsic gas of a call (EIP-2028 calldata and EIP-2930 access list costs come on top).
pub const TX_BASE_GAS: u64 = 21_000;
const TX_CREATE_GAS: u64 = 53_000;
const CALLDATA_ZERO_GAS: u64 = 4;
const CALLDATA_NONZERO_GAS: u64 = 16;
const ACCESS_LIST_ADDRESS_GAS: u64 = 2_400;
const ACCESS_LIST_KEY_GAS: u64 = 1_900;
const INITCODE_WORD_GAS: u64 = 2;
/// EIP-7623 (Prague): calldata-heavy transactions pay at least 10 gas per calldata token.
const FLOOR_GAS_PER_TOKEN: u64 = 10;
/// Highest address of a precompile (Prague's BLS12-381 ones end at 0x11).
const LAST_PRECOMPILE: u64 = 0x11;

/// A transaction that passed the stateless checks: decoded, signed for this chain, with its sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PooledTx {
    /// The transaction.
    pub envelope: TxEnvelope,
    /// Its recovered sender.
    pub sender: Address,
    /// Its hash.
    pub hash: B256,
    /// Its EIP-2718 encoding, as submitted.
    pub encoded: Bytes,
}

impl PooledTx {
    /// The most the transaction can cost its sender: `gas_limit * max_fee_per_gas + value`.
    pub fn max_cost(&self) -> U256 {
        U256::from(self.envelope.gas_limit()) * U256::from(self.envelope.max_fee_per_gas()) + self.envelope.value()
    }

    /// The sender's nonce the transaction uses.
    pub fn nonce(&self) -> u64 {
        self.envelope.nonce()
    }
}

/// Decodes `raw` and checks everything that does not depend on the sender's state.
pub fn decode(raw: &[u8], spec: &ChainSpec, base_fee: u64) -> Result<PooledTx, TxError> {
    if raw.len() > spec.max_tx_size {
        return Err(TxError::Oversized { size: raw.len(), limit: spec.max_tx_size });
    }
    let envelope = TxEnvelope::decode_2718_exact(raw).map_err(|err| TxError::Malformed(err.to_string()))?;
    let ty = envelope.ty();
    if !matches!(envelope, TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) | TxEnvelope::Eip1559(_)) {
        return Err(TxError::UnsupportedType(ty));
    }
    match envelope.chain_id() {
        None => return Err(TxError::NotReplayProtected),
        Some(have) if have != spec.chain_id => return Err(TxError::WrongChainId { have, want: spec.chain_id }),
        Some(_) => {}
    }
    let sender = envelope.recover_signer().map_err(|err| TxError::InvalidSignature(err.to_string()))?;

    if envelope.max_priority_fee_per_gas().is_some_and(|tip| tip > envelope.max_fee_per_gas()) {
        return Err(TxError::TipAboveFeeCap);
    }
    if envelope.max_fee_per_gas() < u128::from(base_fee) {
        return Err(TxError::FeeCapTooLow { sender, max_fee: envelope.max_fee_per_gas(), base_fee });
    }
    if envelope.gas_limit() > spec.block_gas_limit {
        return Err(TxError::ExceedsBlockGasLimit);
    }
    let minimum = intrinsic_gas(&envelope);
    if envelope.gas_limit() < minimum {
        return Err(TxError::IntrinsicGasTooLow { gas: envelope.gas_limit(), minimum });
    }
    check_scope(spec, envelope.kind(), envelope.input(), envelope.access_list(), envelope.value())?;
    let hash = *envelope.tx_hash();
    Ok(PooledTx { envelope, sender, hash, encoded: Bytes::copy_from_slice(raw) })
}

/// Checks the transaction against its sender's account and the next nonce the pool expects from it (the account's
/// nonce plus the sender's transactions already pooled).
pub fn check_sender(tx: &PooledTx, account: &Account, next_nonce: u64, spec: &ChainSpec) -> Result<(), TxError> {
    let nonce = tx.nonce();
    if nonce < next_nonce {
        return Err(TxError::NonceTooLow { next: next_nonce, nonce });
    }
    if nonce - next_nonce > spec.max_nonce_gap {
        return Err(TxError::NonceTooHigh { next: next_nonce, nonce, max_gap: spec.max_nonce_gap });
    }
    let cost = tx.max_cost();
    if account.balance < cost {
        return Err(TxError::InsufficientFunds { balance: account.balance, cost });
    }
    Ok(())
}

/// Gas charged before execution starts: base cost, calldata, access list and init code (EIP-2, 2028, 2930, 3860),
/// raised to the EIP-7623 calldata floor.
pub fn intrinsic_gas(tx: &TxEnvelope) -> u64 {
    let input = tx.input();
    let zeros = input.iter().filter(|b| **b == 0).count() as u64;
    let nonzeros = input.len() as u64 - zeros;
    let create = tx.kind().is_create();
    let mut gas = if create { TX_CREATE_GAS } else { TX_BASE_GAS };
    gas += zeros * CALLDATA_ZERO_GAS + nonzeros * CALLDATA_NONZERO_GAS;
    if let Some(list) = tx.access_list() {
        gas += list
            .iter()
            .map(|item| ACCESS_LIST_ADDRESS_GAS + ACCESS_LIST_KEY_GAS * item.storage_keys.len() as u64)
            .sum::<u64>();
    }
    if create {
        gas += INITCODE_WORD_GAS * (input.len() as u64).div_ceil(32);
    }
    let floor = TX_BASE_GAS + FLOOR_GAS_PER_TOKEN * (zeros + 4 * nonzeros);
    gas.max(floor)
}

/// What the chain refuses in a transaction's own fields, whoever sends it: in zk mode anything but a plain value
/// transfer, and in any mode a withdrawal of nothing. Admission and `eth_estimateGas` refuse with it alike.
pub(crate) fn check_scope(
    spec: &ChainSpec,
    kind: TxKind,
    input: &[u8],
    access_list: Option<&AccessList>,
    value: U256,
) -> Result<(), TxError> {
    if spec.mode == ExecutionMode::Zk {
        check_zk_scope(kind, input, access_list)?;
    }
    if kind.to() == Some(&WITHDRAWAL_ADDRESS) && value.is_zero() {
        return Err(TxError::ZeroWithdrawal);
    }
    Ok(())
}

/// In zk mode the proof covers plain value transfers, which use exactly 21,000 gas: no creation, no calldata, no
/// access list, no precompiles.
fn check_zk_scope(kind: TxKind, input: &[u8], access_list: Option<&AccessList>) -> Result<(), TxError> {
    let TxKind::Call(to) = kind else { return Err(TxError::CreateNotSupported) };
    if !input.is_empty() {
        return Err(TxError::CallNotSupported("the transaction carries calldata"));
    }
    if access_list.is_some_and(|list| !list.is_empty()) {
        return Err(TxError::AccessListNotSupported);
    }
    if is_precompile(&to) {
        return Err(TxError::CallNotSupported("the recipient is a precompile"));
    }
    Ok(())
}

fn is_precompile(address: &Address) -> bool {
    let value = U256::from_be_slice(address.as_slice());
    value >= U256::from(1) && value <= U256::from(LAST_PRECOMPILE)
}
