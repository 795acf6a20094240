//! The L1 side of the bridge as the node sees it: deposits queued on the Portal are credited on L2, in queue order.
//!
//! ```text
//!  Portal.DepositQueued (L1) --watch_deposits: eth_getLogs, `confirmations` deep--> Node::queue_deposits
//!        --> next block: deposits first, in nonce order, each checked against the L1 hash chain, then transactions
//! ```
//!
//! The node recomputes the Portal's hash chain as it credits deposits; a block records its deposits, the total
//! applied and the chain value after them (also in the header's `mix_hash`, so the block hash commits to it). A value
//! that differs from the one L1 emitted stops block production: the node never credits what L1 does not hold.
//! Reorgs deeper than `confirmations` are not handled yet.

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, B256, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use zkr_contracts::Portal;

use crate::Node;

/// A deposit from L1, as the Portal queued it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deposit {
    /// Position in the queue.
    pub nonce: u64,
    /// The L1 account that paid.
    pub from: Address,
    /// The L2 account credited.
    pub to: Address,
    /// Amount in wei.
    pub value: U256,
    /// The hash chain value after this deposit, as the Portal computed it.
    pub queue_hash: B256,
}

/// Where and how to follow L1.
#[derive(Debug, Clone)]
pub struct L1Config {
    /// L1 JSON-RPC endpoint.
    pub rpc_url: String,
    /// The Portal contract.
    pub portal: Address,
    /// First L1 block to scan (the deployment block).
    pub from_block: u64,
    /// Blocks an event must be buried under before it is credited.
    pub confirmations: u64,
    /// Time between polls.
    pub poll_interval: Duration,
    /// Most L1 blocks per `eth_getLogs` request.
    pub max_block_range: u64,
}

/// Errors of the L1 watcher.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The L1 endpoint URL is invalid.
    #[error("invalid L1 RPC URL {0}")]
    Url(String),
}

/// Follows the Portal's deposit events until `shutdown` turns true, handing confirmed deposits to the node. L1
/// errors are logged and retried at the next poll.
pub async fn watch_deposits(
    node: Arc<Node>,
    config: L1Config,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), BridgeError> {
    let url = config.rpc_url.parse().map_err(|_| BridgeError::Url(config.rpc_url.clone()))?;
    let provider = ProviderBuilder::new().connect_http(url);
    let mut next_block = config.from_block;
    loop {
        match poll_once(&provider, &config, next_block).await {
            Ok((deposits, scanned_to)) => {
                if !deposits.is_empty() {
                    tracing::info!(target: "node::bridge", count = deposits.len(), "deposits confirmed on L1");
                }
                node.queue_deposits(deposits);
                next_block = scanned_to;
            }
            Err(err) => tracing::warn!(target: "node::bridge", %err, "L1 poll failed; retrying"),
        }
        if crate::sequencer::wait_or_stop(config.poll_interval, &mut shutdown).await {
            return Ok(());
        }
    }
}

/// Scans from `from` up to the confirmed head; returns the deposits found and the next block to scan.
async fn poll_once(
    provider: &impl Provider,
    config: &L1Config,
    from: u64,
) -> Result<(Vec<Deposit>, u64), alloy::transports::TransportError> {
    let head = provider.get_block_number().await?;
    let Some(confirmed) = head.checked_sub(config.confirmations) else { return Ok((Vec::new(), from)) };
    let mut deposits = Vec::new();
    let mut start = from;
    while start <= confirmed {
        let end = confirmed.min(start + config.max_block_range.max(1) - 1);
        let filter = Filter::new()
            .address(config.portal)
            .event_signature(Portal::DepositQueued::SIGNATURE_HASH)
            .from_block(start)
            .to_block(end);
        for log in provider.get_logs(&filter).await? {
            match log.log_decode::<Portal::DepositQueued>() {
                Ok(event) => {
                    let event = event.inner.data;
                    deposits.push(Deposit {
                        nonce: event.nonce,
                        from: event.from,
                        to: event.to,
                        value: event.value,
                        queue_hash: event.queueHash,
                    });
                }
                Err(err) => tracing::warn!(target: "node::bridge", %err, "undecodable Portal log skipped"),
            }
        }
        start = end + 1;
    }
    Ok((deposits, start.max(from)))
}
