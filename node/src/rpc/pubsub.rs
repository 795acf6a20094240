//! Websocket subscriptions: `eth_subscribe` for `newHeads`, `logs` (with an address and topic filter) and
//! `newPendingTransactions` (hashes, or whole transactions with `true`), and `eth_unsubscribe`, as go-ethereum
//! serves them. Notifications are `eth_subscription` messages; subscription ids are 128-bit hex strings.
//!
//! Each subscription follows the node's broadcast of new blocks or accepted transactions. A client that reads too
//! slowly to keep up with a few thousand notifications misses the oldest rather than holding the node back.
//!
//! `eth_unsubscribe` is the node's own rather than jsonrpsee's: jsonrpsee sends the `eth_subscribe` answer before it
//! records the subscription, so a client that unsubscribes at once (web3.py does) could be told `false` and go on
//! receiving notifications. Here a subscription is recorded, by connection and id, before its id is sent.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use alloy::rpc::types::Filter;
use jsonrpsee::{
    ConnectionId, Extensions, PendingSubscriptionSink, RpcModule, SubscriptionMessage, SubscriptionSink,
    core::traits::IdProvider,
    types::{ErrorObject, Params, SubscriptionId},
};
use serde::Serialize;
use tokio::sync::{
    Notify,
    broadcast::{self, error::RecvError},
};

use super::{
    Rpc, RpcResult,
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

type Key = (ConnectionId, String);

/// The live subscriptions, by connection and id, each with the signal that ends it.
#[derive(Debug, Default)]
pub(super) struct Subscriptions {
    live: Mutex<HashMap<Key, Arc<Notify>>>,
}

impl Subscriptions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Notify>>> {
        // Nothing is left half-changed by a panic while holding the lock.
        self.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ends a subscription of this connection; whether there was one.
    fn end(&self, key: &Key) -> bool {
        match self.lock().remove(key) {
            Some(stop) => {
                // Kept as a permit if the subscription is not waiting on it yet.
                stop.notify_one();
                true
            }
            None => false,
        }
    }
}

/// A recorded subscription, forgotten when dropped (unsubscribed, refused, or its connection gone).
struct Live {
    rpc: Arc<Rpc>,
    key: Key,
    stop: Arc<Notify>,
}

impl Live {
    /// Records a subscription before its id reaches the client.
    fn record(rpc: Arc<Rpc>, key: Key) -> Self {
        let stop = Arc::new(Notify::new());
        rpc.subscriptions.lock().insert(key.clone(), stop.clone());
        Self { rpc, key, stop }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.rpc.subscriptions.lock().remove(&self.key);
    }
}

/// The id as the client sees it.
fn id_string(id: &SubscriptionId<'_>) -> String {
    match id {
        SubscriptionId::Num(number) => number.to_string(),
        SubscriptionId::Str(text) => text.to_string(),
    }
}

/// Registers `eth_subscribe` / `eth_unsubscribe`.
pub(super) fn register(module: &mut RpcModule<Rpc>) {
    module
        .register_method("eth_unsubscribe", |params: Params<'_>, rpc, extensions: &Extensions| -> RpcResult<bool> {
            let id: SubscriptionId<'_> = params.one()?;
            let Some(connection) = extensions.get::<ConnectionId>().copied() else { return Ok(false) };
            Ok(rpc.subscriptions.end(&(connection, id_string(&id))))
        })
        .expect("method names are unique");
    // jsonrpsee's own unsubscribe method needs a name of its own; clients use eth_unsubscribe above.
    module
        .register_subscription("eth_subscribe", "eth_subscription", "zkr_unsubscribeUnrecorded", subscribe)
        .expect("subscription method names are unique");
}

async fn subscribe(params: Params<'static>, pending: PendingSubscriptionSink, rpc: Arc<Rpc>, extensions: Extensions) {
    let Some(connection) = extensions.get::<ConnectionId>().copied() else {
        return pending.reject(ErrorObject::owned(-32603, "no connection id", None::<()>)).await;
    };
    let live = Live::record(rpc, (connection, id_string(&pending.subscription_id())));
    let mut sequence = params.sequence();
    let kind: String = match sequence.next() {
        Ok(kind) => kind,
        Err(err) => return pending.reject(err).await,
    };
    match kind.as_str() {
        "newHeads" => {
            let blocks = live.rpc.node.subscribe_blocks();
            forward_blocks(pending, &live, blocks, |block| vec![rpc_header(block)]).await;
        }
        "logs" => {
            let filter: Filter = match sequence.optional_next() {
                Ok(filter) => filter.unwrap_or_default(),
                Err(err) => return pending.reject(err).await,
            };
            let blocks = live.rpc.node.subscribe_blocks();
            forward_blocks(pending, &live, blocks, move |block| matching_logs(block, &filter)).await;
        }
        "newPendingTransactions" => {
            let full: bool = match sequence.optional_next() {
                Ok(full) => full.unwrap_or(false),
                Err(err) => return pending.reject(err).await,
            };
            forward_pending(pending, &live, full).await;
        }
        other => {
            let message = format!(
                "unsupported subscription {other:?}: this node serves newHeads, logs and newPendingTransactions"
            );
            pending.reject(ErrorObject::owned(-32602, message, None::<()>)).await;
        }
    }
}

/// Sends `items(block)` for every new block, one notification each, until the client unsubscribes or leaves.
async fn forward_blocks<T: Serialize>(
    pending: PendingSubscriptionSink,
    live: &Live,
    mut blocks: broadcast::Receiver<Arc<crate::Block>>,
    items: impl Fn(&crate::Block) -> Vec<T>,
) {
    let Ok(sink) = pending.accept().await else { return };
    loop {
        let block = tokio::select! {
            block = blocks.recv() => block,
            () = sink.closed() => return,
            () = live.stop.notified() => return,
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
async fn forward_pending(pending: PendingSubscriptionSink, live: &Live, full: bool) {
    let node = &live.rpc.node;
    let mut hashes = node.subscribe_pending();
    let Ok(sink) = pending.accept().await else { return };
    loop {
        let hash = tokio::select! {
            hash = hashes.recv() => hash,
            () = sink.closed() => return,
            () = live.stop.notified() => return,
        };
        let sent = match hash {
            Ok(hash) if full => match node.pooled(&hash) {
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
