//! Admission and execution with real signed transactions (alloy's local signer) and revm.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod admission;
mod api;
mod batch;
mod batcher;
mod bridge;
mod clients;
mod execution;
mod node;
mod replay;
mod restart;
mod rpc;

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEip2930, TxEnvelope, TxLegacy},
    eips::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
};
use zkr_node::ChainSpec;

pub(crate) const GWEI: u128 = 1_000_000_000;
pub(crate) const ETH: u128 = 1_000_000_000_000_000_000;

/// A deterministic key: tests need stable addresses, not secrets.
pub(crate) fn key(seed: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&[seed; 32].into()).unwrap()
}

/// The node tests' batch shape: chunks of 4 records, 2 a batch, so that a few transactions fill blocks (8 records, of
/// them 1 deposit and 1 withdrawal), chunks and batches. The default shape's blocks hold 128.
pub(crate) const TEST_LIMITS: zkr_node::batcher::BatchLimits =
    zkr_node::batcher::BatchLimits { chunk_slots: 4, chunks_per_batch: 2 };

/// The dev chain with blocks fitted to [`TEST_LIMITS`], `funded` holding 10 ETH each.
pub(crate) fn spec_with(funded: &[Address]) -> ChainSpec {
    let mut spec = ChainSpec::dev();
    spec.fit_blocks_to(TEST_LIMITS);
    spec.genesis_alloc = funded.iter().map(|a| (*a, U256::from(10 * ETH))).collect();
    spec
}

/// An EIP-1559 transfer: max fee 10 gwei, tip 2 gwei, 21,000 gas.
pub(crate) fn transfer(chain_id: u64, nonce: u64, to: Address, value: u128) -> TxEip1559 {
    TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10 * GWEI,
        max_priority_fee_per_gas: 2 * GWEI,
        to: TxKind::Call(to),
        value: U256::from(value),
        ..Default::default()
    }
}

pub(crate) fn sign_1559(signer: &PrivateKeySigner, mut tx: TxEip1559) -> Bytes {
    let signature = signer.sign_transaction_sync(&mut tx).unwrap();
    TxEnvelope::from(tx.into_signed(signature)).encoded_2718().into()
}

pub(crate) fn sign_legacy(signer: &PrivateKeySigner, mut tx: TxLegacy) -> Bytes {
    let signature = signer.sign_transaction_sync(&mut tx).unwrap();
    TxEnvelope::from(tx.into_signed(signature)).encoded_2718().into()
}

pub(crate) fn sign_2930(signer: &PrivateKeySigner, mut tx: TxEip2930) -> Bytes {
    let signature = signer.sign_transaction_sync(&mut tx).unwrap();
    TxEnvelope::from(tx.into_signed(signature)).encoded_2718().into()
}

/// Polls `check` every 50 ms until it yields a value, and returns it; panics with `what` after 20 s.
pub(crate) async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
