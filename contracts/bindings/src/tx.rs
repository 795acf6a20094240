//! Following a sent transaction to its end, for the L1 loops that keep one transaction in flight (the node's
//! proposer, the coordinator's dispute task): each round asks where it stands before deciding anything new.

use alloy::{primitives::TxHash, providers::Provider, rpc::types::TransactionReceipt, transports::TransportError};

/// Where a sent transaction stands.
#[derive(Debug)]
pub enum Sent {
    /// Mined, successfully or not (see the receipt's status).
    Mined(Box<TransactionReceipt>),
    /// Known to the node, not mined yet.
    Pending,
    /// Unknown to the node: dropped (replaced, evicted, or undone by a reorg).
    Dropped,
}

/// Where `tx` stands on `provider`'s chain.
pub async fn sent_status<P: Provider>(provider: &P, tx: TxHash) -> Result<Sent, TransportError> {
    if let Some(receipt) = provider.get_transaction_receipt(tx).await? {
        return Ok(Sent::Mined(Box::new(receipt)));
    }
    Ok(if provider.get_transaction_by_hash(tx).await?.is_some() { Sent::Pending } else { Sent::Dropped })
}
