//! The optimistic mode's proposer: posts each committed batch's output (its state root and withdrawal root) to the
//! `OptimisticRollup` with the proposer bond, resolves outputs whose windows have ended so finality follows them
//! without anyone else's help, and claims the bonds it is owed.
//!
//! The proposer is stateless across restarts: every round reads where the contract stands (`nextOutputBatch`,
//! `lastFinalizedBatch`, the next output's status) and acts on it, so a restarted node, or an output lost to a
//! challenge (proposals resume at its batch), needs nothing remembered. Defending a challenged output is the proving
//! cluster's job: the coordinator proves challenged batches and sends `proveOutput`.
//!
//! Outputs come from the node's own sealed batches ([`BatchRecord`]: the state root after the batch and the root of
//! its withdrawal tree), the same values the batch proof would prove.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use alloy::{
    eips::BlockNumberOrTag,
    network::EthereumWallet,
    primitives::{Address, B256, TxHash, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use tokio::sync::watch;
use zkr_contracts::{
    OptimisticRollup::{self, OptimisticRollupInstance},
    OutputStatus, Sent, sent_status,
};

use super::BatchRecord;
use crate::{Node, StoreError};

/// Proposer settings.
#[derive(Debug, Clone)]
pub struct ProposerConfig {
    /// L1 JSON-RPC endpoint.
    pub rpc_url: String,
    /// The `OptimisticRollup` contract.
    pub rollup: Address,
    /// Key of an account with the proposer role (best not the batcher's, so their transactions never queue behind
    /// each other).
    pub signer: PrivateKeySigner,
    /// Time between rounds.
    pub poll_interval: Duration,
    /// Fault injection for devnets and tests: batches whose first output this proposer posts with a wrong state
    /// root, so the challenge, the failed defence and the slashing can be watched. Never set it in production: the
    /// bond is lost.
    pub wrong_root_batches: BTreeSet<u64>,
}

/// Proposer errors that stop it.
#[derive(Debug, thiserror::Error)]
pub enum ProposerError {
    /// The node's storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The L1 endpoint URL is invalid.
    #[error("invalid L1 RPC URL {0}")]
    Url(String),
}

/// Proposes, resolves and claims until `shutdown` turns true. L1 errors are logged and retried.
pub async fn run_proposer(
    node: Arc<Node>,
    config: ProposerConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ProposerError> {
    let url = config.rpc_url.parse().map_err(|_| ProposerError::Url(config.rpc_url.clone()))?;
    let provider =
        ProviderBuilder::new().wallet(EthereumWallet::from(config.signer.clone())).connect_http(url).erased();
    let mut proposer = Proposer {
        node,
        config,
        provider,
        pending: None,
        faulted: BTreeSet::new(),
        finalized: None,
        orphan_scan: None,
    };
    loop {
        match proposer.round().await {
            Ok(()) => {}
            Err(Round::Fatal(err)) => return Err(err),
            Err(Round::L1(err)) => tracing::warn!(target: "node::proposer", %err, "L1 round failed; retrying"),
        }
        if crate::sequencer::wait_or_stop(proposer.config.poll_interval, &mut shutdown).await {
            return Ok(());
        }
    }
}

enum Round {
    Fatal(ProposerError),
    L1(String),
}

impl<E: std::fmt::Display> From<E> for Round
where
    E: Into<alloy::contract::Error>,
{
    fn from(err: E) -> Self {
        Self::L1(err.to_string())
    }
}

fn l1(err: impl std::fmt::Display) -> Round {
    Round::L1(err.to_string())
}

struct Proposer {
    node: Arc<Node>,
    config: ProposerConfig,
    provider: DynProvider,
    /// The transaction in flight and what it does: one at a time, so rounds never race their own nonces.
    pending: Option<(TxHash, String)>,
    /// Batches a wrong root was injected for already (each gets one).
    faulted: BTreeSet<u64>,
    /// `lastFinalizedBatch` at the previous round, to count and time what finalized since.
    finalized: Option<u64>,
    /// The next output id to look at for outputs orphaned by a lost ancestor (their bonds come back when resolved).
    orphan_scan: Option<U256>,
}

impl Proposer {
    async fn round(&mut self) -> Result<(), Round> {
        if !self.settle_pending().await? {
            return Ok(());
        }
        let provider = self.provider.clone();
        let rollup = OptimisticRollup::new(self.config.rollup, &provider);
        let next = rollup.nextOutputBatch().call().await?;
        let committed = rollup.lastCommittedBatch().call().await?;
        let finalized = rollup.lastFinalizedBatch().call().await?;
        self.observe_finality(&rollup, finalized).await?;

        if finalized + 1 < next && self.resolve(&rollup, finalized + 1).await? {
            return Ok(());
        }
        if next <= committed && self.propose(&rollup, next).await? {
            return Ok(());
        }
        if self.resolve_orphans(&rollup, finalized).await? {
            return Ok(());
        }
        let credit = rollup.credits(self.config.signer.address()).call().await?;
        if !credit.is_zero() {
            let pending = rollup.claimCredit().send().await?;
            tracing::info!(target: "node::proposer", wei = %credit, tx = %pending.tx_hash(), "claiming returned bonds");
            self.pending = Some((*pending.tx_hash(), "claim credit".into()));
        }
        Ok(())
    }

    /// Whether no transaction is in flight any more (the previous one was mined, failed or dropped).
    async fn settle_pending(&mut self) -> Result<bool, Round> {
        let Some((tx, what)) = &self.pending else { return Ok(true) };
        match sent_status(&self.provider, *tx).await.map_err(l1)? {
            Sent::Pending => return Ok(false),
            // Someone else got there first (another resolver), or the contract moved on: the next round reads
            // where it stands.
            Sent::Mined(receipt) if !receipt.status() => {
                tracing::warn!(target: "node::proposer", %tx, what, "transaction reverted");
            }
            Sent::Mined(_) => {}
            Sent::Dropped => {
                tracing::warn!(target: "node::proposer", %tx, what, "transaction dropped; the next round decides again");
            }
        }
        self.pending = None;
        Ok(true)
    }

    /// Counts and times the outputs that became final since the last round.
    async fn observe_finality(
        &mut self,
        rollup: &OptimisticRollupInstance<&DynProvider>,
        finalized: u64,
    ) -> Result<(), Round> {
        let previous = self.finalized.replace(finalized);
        let Some(previous) = previous else { return Ok(()) };
        for batch in previous + 1..=finalized {
            let output = rollup.outputs(rollup.outputOf(batch).call().await?).call().await?;
            let seconds = output.settledAt.saturating_sub(output.proposedAt) as f64;
            metrics::counter!(crate::metrics::OUTPUTS_FINALIZED, "proven" => output.proven.to_string()).increment(1);
            metrics::histogram!(crate::metrics::OUTPUT_FINALITY_SECONDS).record(seconds);
            tracing::info!(target: "node::proposer", batch, proven = output.proven, seconds, "output final");
        }
        Ok(())
    }

    /// Resolves the output of `batch` (the next to finalize) when its window has ended: final when unchallenged,
    /// lost when challenged and its proving window ran out (the proposals then resume at `batch`). Returns whether a
    /// transaction was sent.
    async fn resolve(&mut self, rollup: &OptimisticRollupInstance<&DynProvider>, batch: u64) -> Result<bool, Round> {
        let id = rollup.outputOf(batch).call().await?;
        let output = rollup.outputs(id).call().await?;
        let now = self.l1_time().await?;
        let status = OutputStatus::of(output.status);
        let ready = match status {
            Some(OutputStatus::Proposed) => now >= output.challengeDeadline,
            Some(OutputStatus::Challenged) => {
                let deadline = rollup.provingDeadline(id).call().await?;
                !deadline.is_zero() && U256::from(now) > deadline
            }
            _ => false,
        };
        if !ready {
            return Ok(false);
        }
        let lost = status == Some(OutputStatus::Challenged);
        let pending = rollup.resolveOutput(id).send().await?;
        tracing::info!(target: "node::proposer", batch, output = %id, lost, tx = %pending.tx_hash(), "resolving output");
        if lost {
            metrics::counter!(crate::metrics::OUTPUTS_LOST).increment(1);
        }
        self.pending = Some((*pending.tx_hash(), format!("resolve output {id}")));
        Ok(true)
    }

    /// Resolves this proposer's outputs that fell with a lost ancestor, so their bonds come back: scans a few output
    /// ids a round, from the output of the last final batch on. Returns whether a transaction was sent.
    async fn resolve_orphans(
        &mut self,
        rollup: &OptimisticRollupInstance<&DynProvider>,
        finalized: u64,
    ) -> Result<bool, Round> {
        const PER_ROUND: u64 = 16;
        let count = rollup.outputCount().call().await?;
        let start = match self.orphan_scan {
            Some(id) => id,
            None => rollup.outputOf(finalized).call().await?.max(U256::from(1)),
        };
        let mut id = start;
        let me = self.config.signer.address();
        while id < count && id < start + U256::from(PER_ROUND) {
            let output = rollup.outputs(id).call().await?;
            let status = OutputStatus::of(output.status);
            if status.is_some_and(|s| !s.is_settled()) {
                let parent = rollup.outputs(U256::from(output.parentId)).call().await?;
                if OutputStatus::of(parent.status) != Some(OutputStatus::Lost) {
                    // Open on a live parent: it may still finalize; look again from here next round.
                    break;
                }
                if output.proposer == me {
                    let pending = rollup.resolveOutput(id).send().await?;
                    tracing::info!(target: "node::proposer", output = %id, batch = output.batchIndex, tx = %pending.tx_hash(), "resolving an output orphaned by a lost ancestor");
                    self.pending = Some((*pending.tx_hash(), format!("resolve orphaned output {id}")));
                    self.orphan_scan = Some(id + U256::from(1));
                    return Ok(true);
                }
            }
            id += U256::from(1);
        }
        self.orphan_scan = Some(id);
        Ok(false)
    }

    /// Proposes the output of `batch` from the node's sealed batch. Returns whether a transaction was sent.
    async fn propose(&mut self, rollup: &OptimisticRollupInstance<&DynProvider>, batch: u64) -> Result<bool, Round> {
        let Some(record) = self.node.store().batch::<BatchRecord>(batch).map_err(|e| Round::Fatal(e.into()))? else {
            // Committed by another sequencer, or this node's database is behind L1: nothing of ours to propose.
            return Ok(false);
        };
        let onchain = rollup.batches(batch).call().await?.batchHash;
        if onchain != record.batch_hash {
            tracing::warn!(target: "node::proposer", batch, %onchain, ours = %record.batch_hash, "L1 holds another batch at this index; not proposing");
            return Ok(false);
        }
        let mut state_root = record.new_state_root;
        let wrong = self.config.wrong_root_batches.contains(&batch) && self.faulted.insert(batch);
        if wrong {
            state_root = wrong_root(state_root);
            tracing::warn!(target: "node::proposer", batch, %state_root, "fault injection: proposing a wrong state root");
        }
        let bond = rollup.disputeParams().call().await?.proposerBond;
        let pending =
            rollup.proposeOutput(batch, state_root, record.withdrawal_root).value(U256::from(bond)).send().await?;
        tracing::info!(
            target: "node::proposer",
            batch,
            %state_root,
            withdrawal_root = %record.withdrawal_root,
            tx = %pending.tx_hash(),
            "output proposed"
        );
        metrics::counter!(crate::metrics::OUTPUTS_PROPOSED).increment(1);
        self.pending = Some((*pending.tx_hash(), format!("propose batch {batch}")));
        Ok(true)
    }

    /// The time the next L1 block will about have: the latest block's, or this machine's clock if later (an L1
    /// that mines only on transactions has no block to read the time from until one is sent).
    async fn l1_time(&self) -> Result<u64, Round> {
        let block = self.provider.get_block_by_number(BlockNumberOrTag::Latest).await.map_err(l1)?;
        let latest = block.map(|b| b.header.timestamp).ok_or_else(|| Round::L1("L1 has no latest block".into()))?;
        Ok(latest.max(unix_now()))
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A state root that differs from `root` and is still a field element (so the contract takes it).
fn wrong_root(root: B256) -> B256 {
    B256::from((U256::from_be_bytes(root.0) + U256::from(1)) % zkr_protocol::SCALAR_FIELD_ORDER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_root_differs_and_stays_in_the_field() {
        let field = zkr_protocol::SCALAR_FIELD_ORDER;
        assert_eq!(
            field,
            U256::from_str_radix("21888242871839275222246405745257275088548364400416034343698204186575808495617", 10)
                .unwrap()
        );
        for root in [B256::ZERO, B256::from(field >> 1), B256::from(field - U256::from(1))] {
            let wrong = wrong_root(root);
            assert_ne!(wrong, root);
            assert!(U256::from_be_bytes(wrong.0) < field);
        }
    }
}
