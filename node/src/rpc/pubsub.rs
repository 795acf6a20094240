//! Websocket subscriptions: `eth_subscribe` for `newHeads`, `logs` (with an address and topic filter) and
//! `newPendingTransactions` (hashes, or whole transactions with `true`), and `eth_unsubscribe`, as go-ethereum
//! serves them. Notifications are `eth_subscription` messages; subscription ids are 128-bit hex strings.
//!
//! Each subscription follows the node's broadcast of new blocks or accepted transactions. A client that reads too
//! slowly to keep up with a few thousand notifications misses the oldest rather than holding the node back.

use std::sync::Arc;

use alloy::rpc::types::Filter;
use jsonrpsee::{
    PendingSubscriptionSink, RpcModule, SubscriptionMessage, SubscriptionSink,
    core::traits::IdProvider,
    types::{ErrorObject, SubscriptionId},
};
use serde::Serialize;
use tokio::sync::broadcast::{self, error::RecvError};

use super::{
    Rpc,
    convert::{matching_logs, rpc_header, rpc_pending_transaction},
    filters::random_id,
};

/// Subscription ids as go-ethereum makes them: `0x` and 32 hex digits.
#[derive(Debug, Clone, Copy)]
pub(super) struct HexIds;

impl IdProvider for HexIds {
    fn next_id(&self) -> SubscriptionId<'static> {
        SubscriptionId::Str(format!("{:#034x}", random_id()).into())
    }
}

/// Registers `eth_subscribe` / `eth_unsubscribe`.
pub(super) fn register(module: &mut RpcModule<Rpc>) {
    module
        .register_subscription(
            "eth_subscribe",
            "eth_subscription",
            "eth_unsubscribe",
            |params, pending, rpc, _| async move {
                let mut sequence = params.sequence();
                let kind: String = match sequence.next() {
                    Ok(kind) => kind,
                    Err(err) => return pending.reject(err).await,
                };
                match kind.as_str() {
                    "newHeads" => {
                        let blocks = rpc.node.subscribe_blocks();
                        forward_blocks(pending, blocks, |block| vec![rpc_header(block)]).await;
                    }
                    "logs" => {
                        let filter: Filter = match sequence.optional_next() {
                            Ok(filter) => filter.unwrap_or_default(),
                            Err(err) => return pending.reject(err).await,
                        };
                        let blocks = rpc.node.subscribe_blocks();
                        forward_blocks(pending, blocks, move |block| matching_logs(block, &filter)).await;
                    }
                    "newPendingTransactions" => {
                        let full: bool = match sequence.optional_next() {
                            Ok(full) => full.unwrap_or(false),
                            Err(err) => return pending.reject(err).await,
                        };
                        forward_pending(pending, rpc, full).await;
                    }
                    other => {
                        let message = format!(
                            "unsupported subscription {other:?}: this node serves newHeads, logs and \
                             newPendingTransactions"
                        );
                        pending.reject(ErrorObject::owned(-32602, message, None::<()>)).await;
                    }
                }
            },
        )
        .expect("subscription method names are unique");
}

/// Sends `items(block)` for every new block, one notification each, until the client unsubscribes or leaves.
async fn forward_blocks<T: Serialize>(
    pending: PendingSubscriptionSink,
    mut blocks: broadcast::Receiver<Arc<crate::Block>>,
    items: impl Fn(&crate::Block) -> Vec<T>,
) {
    let Ok(sink) = pending.accept().await else { return };
    loop {
        let block = tokio::select! {
            block = blocks.recv() => block,
            () = sink.closed() => return,
        };
        match block {
            Ok(block) => {
                for item in items(&block) {
                    if !send(&sink, &item).await {
                        return;
                    }
                }
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::debug!(target: "node::rpc", missed, "a slow subscriber missed blocks");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// Sends the hash (or, with `full`, the transaction) of every transaction accepted into the pool.
async fn forward_pending(pending: PendingSubscriptionSink, rpc: Arc<Rpc>, full: bool) {
    let mut hashes = rpc.node.subscribe_pending();
    let Ok(sink) = pending.accept().await else { return };
    loop {
        let hash = tokio::select! {
            hash = hashes.recv() => hash,
            () = sink.closed() => return,
        };
        let sent = match hash {
            Ok(hash) if full => match rpc.node.pooled(&hash) {
                Some(tx) => send(&sink, &rpc_pending_transaction(&tx)).await,
                // Already in a block or replaced: nothing pending to show.
                None => true,
            },
            Ok(hash) => send(&sink, &hash).await,
            Err(RecvError::Lagged(missed)) => {
                tracing::debug!(target: "node::rpc", missed, "a slow subscriber missed pending transactions");
                true
            }
            Err(RecvError::Closed) => return,
        };
        if !sent {
            return;
        }
    }
}

/// Sends one notification; false once the client is gone.
async fn send(sink: &SubscriptionSink, item: &impl Serialize) -> bool {
    match serde_json::value::to_raw_value(item) {
        Ok(raw) => sink.send(SubscriptionMessage::from(raw)).await.is_ok(),
        Err(err) => {
            tracing::warn!(target: "node::rpc", %err, "cannot serialize a notification");
            true
        }
    }
}
