//! Development helpers: signed transactions for the devnet's load, tests and benchmarks.

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
};

/// One gwei in wei.
pub const GWEI: u128 = 1_000_000_000;

/// An EIP-1559 transfer of `value` wei (21,000 gas, 10 gwei max fee, 2 gwei tip), signed and encoded for
/// `eth_sendRawTransaction` or [`crate::Node::submit`].
pub fn signed_transfer(signer: &PrivateKeySigner, chain_id: u64, nonce: u64, to: Address, value: u128) -> Bytes {
    let mut tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10 * GWEI,
        max_priority_fee_per_gas: 2 * GWEI,
        to: TxKind::Call(to),
        value: U256::from(value),
        ..Default::default()
    };
    match signer.sign_transaction_sync(&mut tx) {
        Ok(signature) => TxEnvelope::from(tx.into_signed(signature)).encoded_2718().into(),
        // A local key signs any transaction with a chain id; there is nothing else to fail.
        Err(e) => unreachable!("a local key failed to sign: {e}"),
    }
}
