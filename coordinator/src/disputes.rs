//! The optimistic mode's side of the cluster: it takes the finalizer's place when the deployment is optimistic.
//!
//! The follower ([`crate::chain`]) replays every committed batch on the coordinator's own replica exactly as in the ZK
//! mode, but stores its chunk jobs *held*: nothing is proven unless it is needed. Each round, this task compares the
//! outputs proposed on the `OptimisticRollup` with what the replica computed for the same batches, and:
//!
//! - **challenges** a wrong output (state root or withdrawal root other than the replica's) within its window, with
//!   the challenger bond, then resolves it once its proving window has run out, and claims the bonds it won;
//! - **defends** a right output someone challenged: it releases the batch's held jobs to the workers, and once the
//!   batch proof is in and the output's parent is final, sends `proveOutput` with it;
//! - optionally **samples**: proves every n-th batch unchallenged, which makes its output final at once;
//! - marks batches final in the store as L1 finalizes them, dropping the held jobs of those that never needed a proof.
//!
//! It holds no state that matters across restarts: every round reads where L1 stands and what the store holds, so a
//! restarted coordinator (or another one taking the leader lock) carries on, within the same challenge window.

use std::time::Duration;

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, TxHash, U256},
    providers::{DynProvider, Provider},
};
use prost::Message;
use tokio::sync::watch;
use zkr_contracts::{
    OptimisticRollup::{self, OptimisticRollupInstance},
    OutputStatus, Sent, sent_status,
};
use zkr_protos::v1 as pb;

use crate::{
    Coordinator,
    chain::{BatchMeta, ChainError, FollowError, rollup_proof_bytes, wait_or_stop},
    metrics,
    service::now_ms,
    store::Store,
};

/// What this coordinator does in the optimistic mode's dispute game.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisputeRoles {
    /// Challenge outputs that differ from the replica's.
    pub challenge: bool,
    /// Prove right outputs that were challenged.
    pub defend: bool,
    /// Prove every n-th batch's output even unchallenged (0: never), which finalizes it at once.
    pub prove_every: u64,
}

impl Default for DisputeRoles {
    fn default() -> Self {
        Self { challenge: true, defend: true, prove_every: 0 }
    }
}

/// Most outputs looked at per round (the ones after the last final one).
const MAX_OUTPUTS_PER_ROUND: u64 = 256;

/// Plays the dispute game until `shutdown` fires, sending from `account` (`provider`'s signer). L1 errors are retried.
pub async fn run(
    coordinator: std::sync::Arc<Coordinator>,
    provider: DynProvider,
    rollup: Address,
    account: Address,
    roles: DisputeRoles,
    poll_interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ChainError> {
    let mut arbiter = Arbiter { coordinator, provider, rollup, roles, account, pending: None, marked: None };
    tracing::info!(target: "coordinator::disputes", %rollup, ?roles, %account, "playing the optimistic dispute game");
    loop {
        match arbiter.round().await {
            Ok(()) => {}
            Err(FollowError::Fatal(err)) => return Err(err),
            Err(FollowError::L1(err)) => {
                tracing::warn!(target: "coordinator::disputes", %err, "L1 round failed; retrying")
            }
        }
        if wait_or_stop(poll_interval, &mut shutdown).await {
            return Ok(());
        }
    }
}

struct Arbiter {
    coordinator: std::sync::Arc<Coordinator>,
    provider: DynProvider,
    rollup: Address,
    roles: DisputeRoles,
    account: Address,
    /// The transaction in flight and what it does: one at a time.
    pending: Option<(TxHash, String)>,
    /// The highest batch marked final in the store.
    marked: Option<u64>,
}

fn l1(err: impl std::fmt::Display) -> FollowError {
    FollowError::L1(err.to_string())
}

/// Our view of an output against the replica's.
enum Verdict {
    /// The store has not followed this batch yet.
    Unknown,
    /// The output is the replica's.
    Right,
    /// The output differs from the replica's.
    Wrong,
}

impl Arbiter {
    async fn round(&mut self) -> Result<(), FollowError> {
        if !self.settle_pending().await? {
            return Ok(());
        }
        let provider = self.provider.clone();
        let rollup = OptimisticRollup::new(self.rollup, &provider);
        let finalized = rollup.lastFinalizedBatch().call().await?;
        let next = rollup.nextOutputBatch().call().await?;
        self.mark_final(finalized).await?;
        let now = self.l1_time().await?;

        for batch in finalized + 1..next.min(finalized + 1 + MAX_OUTPUTS_PER_ROUND) {
            let id = rollup.outputOf(batch).call().await?;
            if id.is_zero() {
                break;
            }
            let output = rollup.outputs(id).call().await?;
            let Some(status) = OutputStatus::of(output.status) else { break };
            let (verdict, meta) = self.verdict(batch, &output).await?;
            let sampled = self.roles.prove_every != 0 && batch % self.roles.prove_every == 0;
            let sent = match (status, verdict) {
                (_, Verdict::Unknown) => break,
                (OutputStatus::Proposed, Verdict::Wrong) if self.roles.challenge && now < output.challengeDeadline => {
                    self.challenge(&rollup, id, batch).await?;
                    true
                }
                (OutputStatus::Challenged, Verdict::Wrong) if self.roles.challenge => {
                    let deadline = rollup.provingDeadline(id).call().await?;
                    let over = !deadline.is_zero() && U256::from(now) > deadline;
                    if over {
                        self.send(rollup.resolveOutput(id), format!("resolve lost output {id} of batch {batch}"))
                            .await?;
                    }
                    over
                }
                (OutputStatus::Challenged, Verdict::Right) | (OutputStatus::Proposed, Verdict::Right)
                    if (status == OutputStatus::Challenged && self.roles.defend) || sampled =>
                {
                    self.defend(&rollup, id, batch, finalized, meta).await?
                }
                _ => false,
            };
            if sent {
                return Ok(());
            }
        }

        let credit = rollup.credits(self.account).call().await?;
        if !credit.is_zero() {
            return self.send(rollup.claimCredit(), format!("claim {credit} wei of bonds")).await;
        }
        Ok(())
    }

    /// Whether no transaction is in flight any more.
    async fn settle_pending(&mut self) -> Result<bool, FollowError> {
        let Some((tx, what)) = &self.pending else { return Ok(true) };
        match sent_status(&self.provider, *tx).await.map_err(l1)? {
            Sent::Pending => return Ok(false),
            Sent::Mined(receipt) => {
                ::metrics::counter!(metrics::L1_GAS).increment(receipt.gas_used);
                if receipt.status() {
                    tracing::info!(target: "coordinator::disputes", %tx, what, "mined");
                } else {
                    tracing::warn!(target: "coordinator::disputes", %tx, what, "reverted; the next round decides again");
                }
            }
            Sent::Dropped => {
                tracing::warn!(target: "coordinator::disputes", %tx, what, "dropped; the next round decides again");
            }
        }
        self.pending = None;
        Ok(true)
    }

    async fn send<P: Provider, C: alloy::sol_types::SolCall>(
        &mut self,
        call: alloy::contract::SolCallBuilder<P, C>,
        what: String,
    ) -> Result<(), FollowError> {
        let pending = call.send().await?;
        tracing::info!(target: "coordinator::disputes", tx = %pending.tx_hash(), what, "sent");
        self.pending = Some((*pending.tx_hash(), what));
        Ok(())
    }

    /// Compares `output` with the replica's output of `batch`.
    async fn verdict(
        &self,
        batch: u64,
        output: &OptimisticRollup::Output,
    ) -> Result<(Verdict, Option<BatchMeta>), FollowError> {
        let Some(record) = self.coordinator.with_store(move |store| store.batch(batch)).await? else {
            return Ok((Verdict::Unknown, None));
        };
        let meta: BatchMeta = serde_json::from_slice(&record.meta).map_err(|e| {
            FollowError::Fatal(ChainError::Unprovable { index: batch, reason: format!("stored batch: {e}") })
        })?;
        let withdrawal_root = zkr_protocol::batch_withdrawal_root(&meta.chunk_withdrawal_roots);
        let right = output.stateRoot == meta.new_state_root && output.withdrawalRoot == withdrawal_root;
        if !right {
            // Every round until the output settles: at debug; the challenge itself is logged as a warning.
            tracing::debug!(
                target: "coordinator::disputes",
                batch,
                proposed = %output.stateRoot,
                replica = %meta.new_state_root,
                proposed_withdrawals = %output.withdrawalRoot,
                replica_withdrawals = %withdrawal_root,
                "a proposed output differs from the replica's"
            );
        }
        Ok((if right { Verdict::Right } else { Verdict::Wrong }, Some(meta)))
    }

    async fn challenge(
        &mut self,
        rollup: &OptimisticRollupInstance<&DynProvider>,
        id: U256,
        batch: u64,
    ) -> Result<(), FollowError> {
        let bond = rollup.disputeParams().call().await?.challengerBond;
        ::metrics::counter!(metrics::OUTPUTS_CHALLENGED).increment(1);
        tracing::warn!(target: "coordinator::disputes", batch, output = %id, bond, "challenging an output that differs from the replica's");
        self.send(rollup.challengeOutput(id).value(U256::from(bond)), format!("challenge output {id} of batch {batch}"))
            .await
    }

    /// Gets the batch proven (releasing its held jobs) and, once the proof is in and the output's parent is final,
    /// sends it. Returns whether a transaction was sent.
    async fn defend(
        &mut self,
        rollup: &OptimisticRollupInstance<&DynProvider>,
        id: U256,
        batch: u64,
        finalized: u64,
        meta: Option<BatchMeta>,
    ) -> Result<bool, FollowError> {
        if self.coordinator.with_store(move |store| store.release_batch(batch, now_ms())).await? {
            self.coordinator.notify_ready();
            tracing::info!(target: "coordinator::disputes", batch, output = %id, "proving the batch to defend its output");
        }
        if batch != finalized + 1 {
            // Its parent is not final yet: the proof cannot be checked before.
            return Ok(false);
        }
        let Some(proof) = self.coordinator.with_store(move |store| store.batch_proof(batch)).await? else {
            return Ok(false);
        };
        let Some(meta) = meta else { return Ok(false) };
        let proof = pb::BatchProof::decode(proof.as_slice()).map_err(|e| {
            FollowError::Fatal(ChainError::Unprovable { index: batch, reason: format!("stored proof: {e}") })
        })?;
        ::metrics::counter!(metrics::OUTPUTS_DEFENDED).increment(1);
        let call = rollup.proveOutput(
            id,
            meta.chunk_data_hashes.clone(),
            meta.chunk_withdrawal_roots.clone(),
            rollup_proof_bytes(&proof).into(),
        );
        self.send(call, format!("prove output {id} of batch {batch}")).await?;
        Ok(true)
    }

    /// Marks the batches L1 finalized since the last round as final in the store.
    async fn mark_final(&mut self, finalized: u64) -> Result<(), FollowError> {
        let from = self.marked.map_or(1, |m| m + 1);
        if from > finalized {
            return Ok(());
        }
        let marked = self
            .coordinator
            .with_store(move |store: &Store| {
                let now = now_ms();
                let mut last = from - 1;
                for index in from..=finalized {
                    let Some(batch) = store.batch(index)? else { break };
                    match batch.state.as_str() {
                        "held" => store.finalize_held_batch(index, now)?,
                        "finalized" => {}
                        _ => store.set_finalized(index, now)?,
                    }
                    if batch.state != "finalized" {
                        let latency = now.saturating_sub(batch.committed_ms) as f64 / 1000.0;
                        ::metrics::counter!(metrics::BATCHES_FINALIZED).increment(1);
                        ::metrics::histogram!(metrics::BATCH_FINALIZE_SECONDS).record(latency);
                    }
                    last = index;
                }
                Ok(last)
            })
            .await?;
        if marked >= from {
            tracing::info!(target: "coordinator::disputes", through = marked, "outputs final on L1");
        }
        self.marked = Some(marked);
        Ok(())
    }

    /// The time the next L1 block will about have: the latest block's, or this machine's clock if later.
    async fn l1_time(&self) -> Result<u64, FollowError> {
        let block = self.provider.get_block_by_number(BlockNumberOrTag::Latest).await.map_err(l1)?;
        let latest =
            block.map(|b| b.header.timestamp).ok_or_else(|| FollowError::L1("L1 has no latest block".into()))?;
        Ok(latest.max(now_ms() / 1000))
    }
}
