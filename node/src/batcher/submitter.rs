//! Committing sealed batches to L1, in order, with replacement of stuck commits and recovery from reorgs.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use zkr_contracts::Rollup;

use super::{BatchError, BatchLimits, BatchRecord, Sealer};
use crate::{ExecutionMode, Node, NodeError, StoreError};

/// Batcher settings.
#[derive(Debug, Clone)]
pub struct BatcherConfig {
    /// L1 JSON-RPC endpoint.
    pub rpc_url: String,
    /// The Rollup contract.
    pub rollup: Address,
    /// Key of an account with the sequencer role.
    pub signer: PrivateKeySigner,
    /// Records per chunk and chunks per batch; a batch is sealed once its next block would not fit.
    pub limits: BatchLimits,
    /// A batch is sealed once its first block is this old.
    pub max_batch_age: Duration,
    /// Time between rounds.
    pub poll_interval: Duration,
    /// A commit not mined after this long is sent again with higher fees.
    pub resubmit_after: Duration,
    /// Fee increase of a replacement, in percent (L1 nodes require at least 10).
    pub fee_bump_percent: u128,
}

/// A commit transaction in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitAttempt {
    /// Transaction hash.
    pub tx_hash: B256,
    /// Its nonce (a replacement reuses it).
    pub nonce: u64,
    /// Fee cap per gas.
    pub max_fee_per_gas: u128,
    /// Tip per gas.
    pub max_priority_fee_per_gas: u128,
    /// Gas limit, estimated once and reused by replacements: estimating again would run against a pending state
    /// that already holds the stuck commit, and revert.
    pub gas_limit: u64,
    /// When it was sent (Unix seconds).
    pub sent_at: u64,
}

/// Batcher errors that stop it.
#[derive(Debug, thiserror::Error)]
pub enum BatcherError {
    /// The node's storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The node failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// L1 holds a different batch at an index this batcher committed: another sequencer is writing.
    #[error("L1 holds batch {index} with hash {on_l1}, this node sealed {ours}")]
    Conflict {
        /// The batch index.
        index: u64,
        /// The hash on L1.
        on_l1: B256,
        /// Ours.
        ours: B256,
    },
    /// The L1 endpoint URL is invalid.
    #[error("invalid L1 RPC URL {0}")]
    Url(String),
    /// The settings cannot produce batches this node's blocks fit in, or that the Rollup accepts.
    #[error("batcher configuration: {0}")]
    Config(String),
    /// Blocks could not be sealed into a batch.
    #[error(transparent)]
    Batch(#[from] BatchError),
}

/// Seals and commits batches until `shutdown` turns true. L1 errors are logged and retried; a conflicting batch on
/// L1 or a storage failure stops the batcher.
///
/// It refuses to start (returns an error at once, or as soon as L1 answers) when its settings cannot work: a chunk
/// shape the protocol does not have, blocks that may not fit a batch (`max_block_records` above
/// `chunk_slots * chunks_per_batch`, or `max_block_deposits` or `max_block_withdrawals` above what a chunk takes), more
/// chunks per batch than the Rollup's `chunksPerBatch`, or a chain in full
/// mode (whose transactions have no record form).
pub async fn run_batcher(
    node: Arc<Node>,
    config: BatcherConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), BatcherError> {
    check_config(&node, &config)?;
    let url = config.rpc_url.parse().map_err(|_| BatcherError::Url(config.rpc_url.clone()))?;
    let provider =
        ProviderBuilder::new().wallet(EthereumWallet::from(config.signer.clone())).connect_http(url).erased();
    let sealer = Sealer::new(config.limits, config.max_batch_age);
    let mut batcher = Batcher { node, config, provider, sealer };
    loop {
        match batcher.check_rollup().await {
            Ok(()) => break,
            Err(RoundError::Fatal(err)) => return Err(err),
            Err(RoundError::L1(err)) => {
                tracing::warn!(target: "node::batcher", %err, "cannot read the Rollup's chunksPerBatch; retrying");
            }
        }
        if crate::sequencer::wait_or_stop(batcher.config.poll_interval, &mut shutdown).await {
            return Ok(());
        }
    }
    loop {
        batcher.seal()?;
        if let Err(err) = batcher.submit().await {
            match err {
                RoundError::Fatal(err) => return Err(err),
                RoundError::L1(err) => tracing::warn!(target: "node::batcher", %err, "L1 round failed; retrying"),
            }
        }
        if crate::sequencer::wait_or_stop(batcher.config.poll_interval, &mut shutdown).await {
            return Ok(());
        }
    }
}

enum RoundError {
    Fatal(BatcherError),
    L1(String),
}

impl<E: std::fmt::Display> From<E> for RoundError
where
    E: Into<alloy::contract::Error>,
{
    fn from(err: E) -> Self {
        Self::L1(err.to_string())
    }
}

struct Batcher {
    node: Arc<Node>,
    config: BatcherConfig,
    provider: DynProvider,
    sealer: Sealer,
}

/// The checks of the settings that need no L1.
fn check_config(node: &Node, config: &BatcherConfig) -> Result<(), BatcherError> {
    config.limits.validate().map_err(BatcherError::Config)?;
    let spec = node.spec();
    if spec.mode != ExecutionMode::Zk {
        return Err(BatcherError::Config(
            "the chain runs in full mode, whose transactions have no chunk record; batches need zk mode".into(),
        ));
    }
    if spec.max_block_records > config.limits.max_records() {
        return Err(BatcherError::Config(format!(
            "a block may hold {} records but a batch only {} ({} chunks of {}): lower max_block_records or raise \
             the batch shape",
            spec.max_block_records,
            config.limits.max_records(),
            config.limits.chunks_per_batch,
            config.limits.chunk_slots
        )));
    }
    let slots = config.limits.chunk_slots;
    for (name, value, max) in [
        ("max_block_deposits", spec.max_block_deposits, zkr_protocol::chunk::max_chunk_deposits(slots)),
        ("max_block_withdrawals", spec.max_block_withdrawals, zkr_protocol::chunk::max_chunk_withdrawals(slots)),
    ] {
        if value > max {
            return Err(BatcherError::Config(format!(
                "{name} is {value} but a chunk of {slots} slots takes at most {max}: a block within it may not fit a \
                 batch"
            )));
        }
    }
    Ok(())
}

impl Batcher {
    /// Refuses a batch shape the Rollup does not take: more chunks than its `chunksPerBatch`.
    async fn check_rollup(&self) -> Result<(), RoundError> {
        let onchain = Rollup::new(self.config.rollup, &self.provider).chunksPerBatch().call().await?;
        if U256::from(self.config.limits.chunks_per_batch) > onchain {
            return Err(RoundError::Fatal(BatcherError::Config(format!(
                "chunks_per_batch is {} but the Rollup at {} takes at most {onchain} chunks per batch",
                self.config.limits.chunks_per_batch, self.config.rollup
            ))));
        }
        Ok(())
    }

    /// Seals every batch that is ready.
    fn seal(&mut self) -> Result<(), BatcherError> {
        self.sealer.seal(&self.node, unix_now())?;
        Ok(())
    }

    /// One round against L1: reconcile with what the Rollup holds, then send (or replace) the next commit.
    async fn submit(&self) -> Result<(), RoundError> {
        let rollup = Rollup::new(self.config.rollup, &self.provider);
        let on_l1 = rollup.lastCommittedBatch().call().await?;
        let finalized = rollup.lastFinalizedBatch().call().await?;
        self.node.set_l1_progress(on_l1, finalized);
        let store = self.node.store();
        let fatal = |err: StoreError| RoundError::Fatal(err.into());

        // Batches L1 holds: check they are ours and note where they landed.
        let mut index = on_l1;
        while index >= 1 {
            let Some(mut record) = store.batch::<BatchRecord>(index).map_err(fatal)? else { break };
            if record.committed_at.is_some() {
                break;
            }
            let onchain = rollup.batches(index).call().await?.batchHash;
            if onchain != record.batch_hash {
                return Err(RoundError::Fatal(BatcherError::Conflict {
                    index,
                    on_l1: onchain,
                    ours: record.batch_hash,
                }));
            }
            record.committed_at =
                Some(self.provider.get_block_number().await.map_err(|e| RoundError::L1(e.to_string()))?);
            tracing::info!(target: "node::batcher", index, "batch committed on L1");
            metrics::counter!(crate::metrics::BATCHES_COMMITTED).increment(1);
            store.put_batch(index, &record).map_err(fatal)?;
            index -= 1;
        }
        // Batches we saw on L1 that L1 no longer holds were dropped by a reorg: commit them again.
        let mut index = on_l1 + 1;
        while let Some(mut record) = store.batch::<BatchRecord>(index).map_err(fatal)? {
            if record.committed_at.take().is_some() {
                tracing::warn!(target: "node::batcher", index, "batch commit dropped by an L1 reorg; committing again");
                metrics::counter!(crate::metrics::BATCH_REORGS).increment(1);
                record.commit = None;
                store.put_batch(index, &record).map_err(fatal)?;
            }
            index += 1;
        }

        let Some(mut next) = store.batch::<BatchRecord>(on_l1 + 1).map_err(fatal)? else { return Ok(()) };
        if let Some(attempt) = &next.commit {
            if let Some(receipt) = self
                .provider
                .get_transaction_receipt(attempt.tx_hash)
                .await
                .map_err(|e| RoundError::L1(e.to_string()))?
            {
                let gas = u128::from(receipt.gas_used) * receipt.effective_gas_price;
                metrics::counter!(crate::metrics::L1_GAS).increment(receipt.gas_used);
                tracing::debug!(target: "node::batcher", index = next.index, wei = gas, "commit mined");
                if !receipt.status() {
                    tracing::warn!(target: "node::batcher", index = next.index, tx = %attempt.tx_hash, "commit reverted; sending again");
                    next.commit = None;
                } else {
                    // Mined: the next round sees it in lastCommittedBatch.
                    return Ok(());
                }
            } else if unix_now().saturating_sub(attempt.sent_at) < self.config.resubmit_after.as_secs() {
                return Ok(());
            }
        }
        self.send(&rollup, &mut next).await?;
        store.put_batch(next.index, &next).map_err(fatal)?;
        Ok(())
    }

    /// Sends the commit of `record`, replacing a previous attempt at the same nonce with fees raised by the bump.
    async fn send(
        &self,
        rollup: &Rollup::RollupInstance<&DynProvider>,
        record: &mut BatchRecord,
    ) -> Result<(), RoundError> {
        let l1 = |e: alloy::transports::TransportError| RoundError::L1(e.to_string());
        let estimate = self.provider.estimate_eip1559_fees().await.map_err(l1)?;
        let call =
            rollup.commitBatch(record.index, record.parent_batch_hash, record.deposit_end, record.chunks.clone());
        let (nonce, max_fee, tip, gas_limit) = match &record.commit {
            Some(previous) => {
                let bump = |fee: u128| fee + fee * self.config.fee_bump_percent / 100 + 1;
                (
                    previous.nonce,
                    estimate.max_fee_per_gas.max(bump(previous.max_fee_per_gas)),
                    estimate.max_priority_fee_per_gas.max(bump(previous.max_priority_fee_per_gas)),
                    previous.gas_limit,
                )
            }
            None => {
                let gas = call.estimate_gas().await?;
                (
                    self.provider.get_transaction_count(self.config.signer.address()).pending().await.map_err(l1)?,
                    estimate.max_fee_per_gas,
                    estimate.max_priority_fee_per_gas,
                    gas + gas / 5,
                )
            }
        };
        let pending =
            call.nonce(nonce).gas(gas_limit).max_fee_per_gas(max_fee).max_priority_fee_per_gas(tip).send().await?;
        let tx_hash = *pending.tx_hash();
        tracing::info!(
            target: "node::batcher",
            index = record.index,
            %tx_hash,
            nonce,
            replacement = record.commit.is_some(),
            "commit sent"
        );
        record.commit = Some(CommitAttempt {
            tx_hash,
            nonce,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: tip,
            gas_limit,
            sent_at: unix_now(),
        });
        Ok(())
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
