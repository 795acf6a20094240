//! The sequencer loop: a block every interval, with or without transactions.

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;

use crate::{Node, NodeError};

/// Waits `duration`, or less if `shutdown` turns true; returns whether the task should stop. The polling tasks (deposit
/// watcher, batcher) pace themselves with it.
pub(crate) async fn wait_or_stop(duration: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = shutdown.changed() => return true,
    }
    *shutdown.borrow()
}

/// Produces blocks every `block_time` until `shutdown` turns true. Returns an error (and the caller must stop the
/// node) if a block cannot be stored.
pub async fn run_sequencer(
    node: Arc<Node>,
    block_time: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), NodeError> {
    let mut ticker = tokio::time::interval(block_time);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return Ok(()),
        }
        if *shutdown.borrow() {
            return Ok(());
        }
        let node = node.clone();
        let timestamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs());
        let produced = tokio::task::spawn_blocking(move || node.produce_block(timestamp))
            .await
            .map_err(|err| NodeError::Inconsistent(format!("block production panicked: {err}")))?;
        let block = produced?;
        if block.transactions.is_empty() && block.deposits.is_empty() {
            tracing::debug!(target: "node::sequencer", number = block.number(), "empty block");
        } else {
            tracing::info!(
                target: "node::sequencer",
                number = block.number(),
                txs = block.transactions.len(),
                deposits = block.deposits.len(),
                gas_used = block.header.gas_used,
                hash = %block.hash,
                "block"
            );
        }
    }
}
