//! L1: committed batches in, finalizations out.
//!
//! - The follower reads each committed batch's chunks from the calldata of its `commitBatch` transaction, checks
//!   them against the data hash the Rollup stored, replays them on the coordinator's own replica of the L2 state
//!   (`zkr_protocol::Replayer`, from genesis), and creates the batch's chunk jobs. It trusts neither the node nor
//!   the sequencer: only what L1 holds.
//! - The finalizer sends `finalizeBatch` for the lowest proven batch, strictly in order, watches the transaction,
//!   sends it again when it reverts or disappears (a reorg), and notices finalizations that a reorg undid. In the
//!   optimistic mode [`crate::disputes`] takes its place, and the follower holds each batch's jobs until needed.
//!
//! Both are restart-safe: the follower rebuilds its replica from the batches in the store, and the finalizer starts
//! from what the Rollup says.

use std::{sync::Arc, time::Duration};

use alloy::{
    consensus::Transaction as _,
    eips::BlockId,
    primitives::{Address, B256, Bytes, keccak256},
    providers::{DynProvider, Provider},
    rpc::types::Filter,
    sol_types::{SolCall, SolEvent},
};
use prost::Message;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use zkr_contracts::Rollup;
use zkr_protocol::{Genesis, Replayer, SettlementMode};
use zkr_protos::v1 as pb;

use crate::{
    Coordinator,
    disputes::{self, DisputeRoles},
    metrics,
    service::now_ms,
    store::{Leader, Store},
};

/// What the follower and the finalizer need to know.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// The Rollup.
    pub rollup: Address,
    /// Where to start looking for `BatchCommitted` events (the deployment block).
    pub from_block: u64,
    /// Blocks a commit must be buried under before its batch is proven.
    pub confirmations: u64,
    /// How often to poll L1.
    pub poll_interval: Duration,
    /// The chain's genesis, which the replica starts from.
    pub genesis: Genesis,
    /// Record slots per chunk (the chunk circuit's).
    pub chunk_slots: usize,
    /// Chunk proofs per batch proof (the Rollup's `chunksPerBatch`).
    pub chunks_per_batch: usize,
    /// The most blocks one `eth_getLogs` call spans.
    pub max_block_range: u64,
    /// How batches become final (the deployment's): in the optimistic mode batches are proven only when their
    /// output is disputed ([`crate::disputes`]) instead of all finalized with a proof.
    pub mode: SettlementMode,
    /// The optimistic mode's roles of this coordinator.
    pub disputes: DisputeRoles,
    /// The L1 account the provider signs with (it sends finalizations, or challenges and defences).
    pub account: Address,
}

/// What the store keeps of a batch for finalization (the `meta` of [`crate::store::BatchRecord`], JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchMeta {
    /// The committed chunks, exactly as on L1.
    pub chunks: Vec<Bytes>,
    /// The state root after the batch, as the replica computed it.
    pub new_state_root: B256,
    /// keccak256 of each chunk.
    pub chunk_data_hashes: Vec<B256>,
    /// Each chunk's withdrawal subtree root.
    pub chunk_withdrawal_roots: Vec<B256>,
    /// The L1 block the commit landed in.
    pub commit_block: u64,
}

/// Why the follower or the finalizer stopped for good.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// L1 holds data this coordinator cannot prove: a sequencer fault, or a configuration that does not match the
    /// chain (genesis, chunk shape).
    #[error("batch {index}: {reason}")]
    Unprovable {
        /// The batch.
        index: u64,
        /// Why.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::Error),
}

/// How often a standing-by coordinator asks for the leader lock, and the leader checks that it still holds it.
pub const LEADER_CHECK: Duration = Duration::from_secs(5);

/// Runs the follower and the finalizer while this coordinator leads, until `shutdown` fires.
///
/// Coordinators that share a Postgres store serve workers alike, but only one at a time follows L1 and sends
/// finalizations (two finalizers would race for the same batch and waste gas on reverts). The leader is whoever
/// holds the store's leader lock ([`Store::try_lead`]); the others ask again every [`LEADER_CHECK`], so one takes
/// over within seconds of the leader dying or losing the database. A leader that finds its lock gone stops both
/// tasks and stands by. On SQLite the one coordinator always leads.
pub async fn lead(
    coordinator: Arc<Coordinator>,
    provider: DynProvider,
    config: ChainConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ChainError> {
    let mut standing_by = false;
    loop {
        let leader = match coordinator.with_store(Store::try_lead).await {
            Ok(Some(leader)) => Some(leader),
            Ok(None) => {
                ::metrics::gauge!(metrics::LEADER).set(0.0);
                if !standing_by {
                    tracing::info!(target: "coordinator::chain", "another coordinator leads: serving workers, standing by to follow L1");
                    standing_by = true;
                }
                None
            }
            Err(err) => {
                tracing::warn!(target: "coordinator::chain", %err, "could not ask for the leader lock; asking again");
                None
            }
        };
        let Some(leader) = leader else {
            if wait_or_stop(LEADER_CHECK, &mut shutdown).await {
                return Ok(());
            }
            continue;
        };
        standing_by = false;
        tracing::info!(target: "coordinator::chain", store = coordinator.store().backend_name(), "leading: following L1 and finalizing");
        ::metrics::gauge!(metrics::LEADER).set(1.0);
        let outcome = lead_while_held(&coordinator, &provider, &config, &mut shutdown, leader).await;
        ::metrics::gauge!(metrics::LEADER).set(0.0);
        match outcome {
            Leading::Stopped(result) => return result,
            Leading::Lost => {
                tracing::warn!(target: "coordinator::chain", "the leader lock is lost: stopped following L1 and finalizing");
            }
        }
    }
}

enum Leading {
    /// Shut down, or the follower or finalizer stopped for good.
    Stopped(Result<(), ChainError>),
    /// The lock went (the database session ended).
    Lost,
}

async fn lead_while_held(
    coordinator: &Arc<Coordinator>,
    provider: &DynProvider,
    config: &ChainConfig,
    shutdown: &mut watch::Receiver<bool>,
    leader: Leader,
) -> Leading {
    let (stop, stopped) = watch::channel(false);
    let mut follower = tokio::spawn(follow(Arc::clone(coordinator), provider.clone(), config.clone(), stopped.clone()));
    let mut finalizer = match config.mode {
        SettlementMode::Zk => {
            tokio::spawn(finalize(Arc::clone(coordinator), provider.clone(), config.clone(), stopped))
        }
        SettlementMode::Optimistic => tokio::spawn(disputes::run(
            Arc::clone(coordinator),
            provider.clone(),
            config.rollup,
            config.account,
            config.disputes,
            config.poll_interval,
            stopped,
        )),
    };
    let joined = |done: Result<Result<(), ChainError>, tokio::task::JoinError>| {
        done.map_err(|e| ChainError::Store(crate::Error::Task(e.to_string()))).and_then(|r| r)
    };
    let mut leader = Some(leader);
    let outcome = loop {
        tokio::select! {
            done = &mut follower => break Leading::Stopped(joined(done)),
            done = &mut finalizer => break Leading::Stopped(joined(done)),
            stop = wait_or_stop(LEADER_CHECK, shutdown) => {
                if stop {
                    break Leading::Stopped(Ok(()));
                }
                let Some(mut held) = leader.take() else { break Leading::Lost };
                let check = tokio::task::spawn_blocking(move || {
                    let still = held.still_leads();
                    (held, still)
                })
                .await;
                match check {
                    Ok((held, Ok(true))) => leader = Some(held),
                    Ok((_, Ok(false))) => break Leading::Lost,
                    Ok((_, Err(err))) => {
                        tracing::warn!(target: "coordinator::chain", %err, "the leader's database session failed");
                        break Leading::Lost;
                    }
                    Err(err) => break Leading::Stopped(Err(ChainError::Store(crate::Error::Task(err.to_string())))),
                }
            }
        }
    };
    // Both tasks stop at their next await; the one that ended already is finished.
    let _ = stop.send(true);
    for task in [follower, finalizer] {
        // A finished task was polled to its end above (polling it again would panic) or ended on its own.
        if !task.is_finished()
            && let Err(err) = joined(task.await)
        {
            tracing::warn!(target: "coordinator::chain", %err, "stopping after the leader lock");
        }
    }
    outcome
}

/// Follows the Rollup until `shutdown` fires. L1 errors are retried; an unprovable batch stops the follower.
pub async fn follow(
    coordinator: Arc<Coordinator>,
    provider: DynProvider,
    config: ChainConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ChainError> {
    let mut replica = {
        let config = config.clone();
        coordinator.with_store(move |store| Ok(rebuild_replica(store, &config))).await??
    };
    let rollup = Rollup::new(config.rollup, &provider);
    loop {
        match follow_once(&coordinator, &provider, &rollup, &config, &mut replica).await {
            Ok(()) => {}
            Err(FollowError::Fatal(err)) => return Err(err),
            Err(FollowError::L1(err)) => tracing::warn!(target: "coordinator::chain", %err, "L1 poll failed; retrying"),
        }
        if wait_or_stop(config.poll_interval, &mut shutdown).await {
            return Ok(());
        }
    }
}

/// A round's failure: L1 (retried next round) or for good.
pub(crate) enum FollowError {
    L1(String),
    Fatal(ChainError),
}

impl From<alloy::transports::TransportError> for FollowError {
    fn from(err: alloy::transports::TransportError) -> Self {
        Self::L1(err.to_string())
    }
}

impl From<alloy::contract::Error> for FollowError {
    fn from(err: alloy::contract::Error) -> Self {
        Self::L1(err.to_string())
    }
}

impl From<crate::Error> for FollowError {
    fn from(err: crate::Error) -> Self {
        Self::Fatal(ChainError::Store(err))
    }
}

fn replayer(config: &ChainConfig) -> Result<Replayer, ChainError> {
    Replayer::new(&config.genesis, config.chunk_slots, config.chunks_per_batch)
        .map_err(|e| ChainError::Unprovable { index: 0, reason: format!("genesis: {e}") })
}

/// The replica, advanced through every batch the store knows.
fn rebuild_replica(store: &Store, config: &ChainConfig) -> Result<Replayer, ChainError> {
    let mut replica = replayer(config)?;
    let last = store.last_batch()?.unwrap_or(0);
    for index in 1..=last {
        let batch = store.batch(index)?.ok_or_else(|| ChainError::Unprovable {
            index,
            reason: "missing from the store (the database was edited?)".into(),
        })?;
        let meta: BatchMeta = serde_json::from_slice(&batch.meta)
            .map_err(|e| ChainError::Unprovable { index, reason: format!("stored batch: {e}") })?;
        replica.apply_batch(&meta.chunks).map_err(|e| ChainError::Unprovable { index, reason: e.to_string() })?;
    }
    if last > 0 {
        tracing::info!(target: "coordinator::chain", batches = last, "replica rebuilt from the store");
    }
    Ok(replica)
}

async fn follow_once(
    coordinator: &Coordinator,
    provider: &DynProvider,
    rollup: &Rollup::RollupInstance<&DynProvider>,
    config: &ChainConfig,
    replica: &mut Replayer,
) -> Result<(), FollowError> {
    let head = provider.get_block_number().await?;
    let Some(confirmed) = head.checked_sub(config.confirmations) else { return Ok(()) };
    let at = BlockId::number(confirmed);
    let committed = rollup.lastCommittedBatch().block(at).call().await?;
    let finalized = rollup.lastFinalizedBatch().block(at).call().await?;
    let mut next = coordinator.with_store(Store::last_batch).await?.map_or(1, |b| b + 1);
    while next <= committed {
        let onchain = rollup.batches(next).block(at).call().await?;
        let (chunks, commit_block) = committed_chunks(provider, config, next, confirmed).await?;
        if zkr_protocol::hashes::batch_data_hash(&chunks) != onchain.dataHash {
            return Err(FollowError::Fatal(ChainError::Unprovable {
                index: next,
                reason: "the commit transaction's chunks do not hash to the Rollup's data hash".into(),
            }));
        }
        let witnesses = replica
            .apply_batch(&chunks)
            .map_err(|e| FollowError::Fatal(ChainError::Unprovable { index: next, reason: e.to_string() }))?;
        let new_state_root = replica
            .state_root()
            .map_err(|e| FollowError::Fatal(ChainError::Unprovable { index: next, reason: e.to_string() }))?;
        let meta = BatchMeta {
            chunk_data_hashes: chunks.iter().map(keccak256).collect(),
            chunk_withdrawal_roots: witnesses.iter().take(chunks.len()).map(|w| w.public.withdrawal_root).collect(),
            chunks,
            new_state_root,
            commit_block,
        };
        let meta_json = serde_json::to_vec(&meta).unwrap_or_default();
        if next <= finalized {
            // Finalized before this coordinator saw it: kept only so the replica can be rebuilt.
            coordinator.with_store(move |store| store.add_finalized_batch(next, &meta_json, now_ms())).await?;
        } else if config.mode == SettlementMode::Optimistic {
            // Proven only if its output is disputed (or sampled): see `crate::disputes`.
            let inputs: Vec<Vec<u8>> = witnesses.iter().map(|w| serde_json::to_vec(w).unwrap_or_default()).collect();
            let jobs = inputs.len();
            let group = coordinator.layer_group();
            coordinator
                .with_store(move |store| store.add_batch_in_groups(next, &meta_json, inputs, group, true, now_ms()))
                .await?;
            tracing::info!(target: "coordinator::chain", index = next, jobs, %new_state_root, "batch committed; chunk jobs held until disputed");
        } else {
            let inputs: Vec<Vec<u8>> = witnesses.iter().map(|w| serde_json::to_vec(w).unwrap_or_default()).collect();
            let jobs = inputs.len();
            let group = coordinator.layer_group();
            coordinator
                .with_store(move |store| store.add_batch_in_groups(next, &meta_json, inputs, group, false, now_ms()))
                .await?;
            coordinator.notify_ready();
            tracing::info!(target: "coordinator::chain", index = next, jobs, %new_state_root, "batch committed; chunk jobs queued");
        }
        next += 1;
    }
    Ok(())
}

/// The chunks of batch `index`, from the calldata of the transaction that committed it, and that transaction's block.
async fn committed_chunks(
    provider: &DynProvider,
    config: &ChainConfig,
    index: u64,
    confirmed: u64,
) -> Result<(Vec<Bytes>, u64), FollowError> {
    let mut start = config.from_block;
    while start <= confirmed {
        let end = confirmed.min(start + config.max_block_range.max(1) - 1);
        let filter = Filter::new()
            .address(config.rollup)
            .event_signature(Rollup::BatchCommitted::SIGNATURE_HASH)
            .topic1(B256::from(alloy::primitives::U256::from(index)))
            .from_block(start)
            .to_block(end);
        // The last commit of the index wins (a reverted batch can be committed again).
        if let Some(log) = provider.get_logs(&filter).await?.into_iter().last() {
            let tx_hash =
                log.transaction_hash.ok_or_else(|| FollowError::L1("a log without its transaction".into()))?;
            let tx = provider
                .get_transaction_by_hash(tx_hash)
                .await?
                .ok_or_else(|| FollowError::L1(format!("commit transaction {tx_hash} not found")))?;
            let call = Rollup::commitBatchCall::abi_decode(tx.input()).map_err(|e| {
                FollowError::Fatal(ChainError::Unprovable {
                    index,
                    reason: format!("the commit transaction is not a direct commitBatch call: {e}"),
                })
            })?;
            if call.batchIndex != index {
                return Err(FollowError::Fatal(ChainError::Unprovable {
                    index,
                    reason: format!("the commit transaction commits batch {}", call.batchIndex),
                }));
            }
            return Ok((call.chunks, log.block_number.unwrap_or_default()));
        }
        start = end + 1;
    }
    Err(FollowError::L1(format!("no BatchCommitted event for batch {index} yet")))
}

/// Finalizes proven batches in order until `shutdown` fires.
pub async fn finalize(
    coordinator: Arc<Coordinator>,
    provider: DynProvider,
    config: ChainConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ChainError> {
    let rollup = Rollup::new(config.rollup, &provider);
    loop {
        match finalize_once(&coordinator, &provider, &rollup).await {
            Ok(()) => {}
            Err(FollowError::Fatal(err)) => return Err(err),
            Err(FollowError::L1(err)) => {
                tracing::warn!(target: "coordinator::finalizer", %err, "L1 call failed; retrying");
            }
        }
        if wait_or_stop(config.poll_interval, &mut shutdown).await {
            return Ok(());
        }
    }
}

async fn finalize_once(
    coordinator: &Coordinator,
    provider: &DynProvider,
    rollup: &Rollup::RollupInstance<&DynProvider>,
) -> Result<(), FollowError> {
    let on_l1 = rollup.lastFinalizedBatch().call().await?;
    // Finalizations a reorg undid are sent again.
    let undone = coordinator
        .with_store(move |store| {
            let mut undone = Vec::new();
            for batch in store.recent_batches(64)? {
                if batch.state == "finalized" && batch.index > on_l1 {
                    store.unset_finalizing(batch.index)?;
                    undone.push(batch.index);
                }
            }
            Ok(undone)
        })
        .await?;
    for index in undone {
        tracing::warn!(target: "coordinator::finalizer", index, "finalization undone by an L1 reorg; sending again");
    }
    let Some((batch, proof)) = coordinator.with_store(Store::next_to_finalize).await? else { return Ok(()) };
    if batch.index <= on_l1 {
        let index = batch.index;
        coordinator.with_store(move |store| store.set_finalized(index, now_ms())).await?;
        let latency = now_ms().saturating_sub(batch.committed_ms) as f64 / 1000.0;
        ::metrics::counter!(metrics::BATCHES_FINALIZED).increment(1);
        ::metrics::histogram!(metrics::BATCH_FINALIZE_SECONDS).record(latency);
        tracing::info!(target: "coordinator::finalizer", index = batch.index, latency_s = latency, "batch finalized on L1");
        return Ok(());
    }
    if batch.index != on_l1 + 1 {
        return Ok(());
    }
    if let Some(tx) = batch.finalize_tx.as_deref().and_then(|t| t.parse::<B256>().ok()) {
        match provider.get_transaction_receipt(tx).await? {
            Some(receipt) if receipt.status() => {
                ::metrics::counter!(metrics::L1_GAS).increment(receipt.gas_used);
                // Mined; lastFinalizedBatch shows it on the next round.
                return Ok(());
            }
            Some(_) => {
                tracing::warn!(target: "coordinator::finalizer", index = batch.index, %tx, "finalization reverted; sending again");
                let index = batch.index;
                coordinator.with_store(move |store| store.unset_finalizing(index)).await?;
            }
            None if provider.get_transaction_by_hash(tx).await?.is_some() => return Ok(()),
            None => {
                tracing::warn!(target: "coordinator::finalizer", index = batch.index, %tx, "finalization dropped; sending again");
            }
        }
    }
    let meta: BatchMeta = serde_json::from_slice(&batch.meta).map_err(|e| {
        FollowError::Fatal(ChainError::Unprovable { index: batch.index, reason: format!("stored batch: {e}") })
    })?;
    let proof = pb::BatchProof::decode(proof.as_slice()).map_err(|e| {
        FollowError::Fatal(ChainError::Unprovable { index: batch.index, reason: format!("stored proof: {e}") })
    })?;
    let call = rollup.finalizeBatch(
        batch.index,
        meta.new_state_root,
        meta.chunk_data_hashes.clone(),
        meta.chunk_withdrawal_roots.clone(),
        rollup_proof_bytes(&proof).into(),
    );
    let pending = call.send().await?;
    let tx = *pending.tx_hash();
    let index = batch.index;
    coordinator.with_store(move |store| store.set_finalizing(index, &tx.to_string())).await?;
    tracing::info!(target: "coordinator::finalizer", index = batch.index, %tx, "finalization sent");
    Ok(())
}

/// The Rollup's `proof` argument: the accumulator limbs as 32-byte big-endian words, then the proof.
pub fn rollup_proof_bytes(proof: &pb::BatchProof) -> Vec<u8> {
    let limbs = zkr_protocol::statement::ACCUMULATOR_LIMBS;
    let mut out = Vec::with_capacity(limbs * 32 + proof.proof.len());
    for word in proof.instances.iter().take(limbs) {
        out.extend(word.iter().rev());
    }
    out.extend_from_slice(&proof.proof);
    out
}

pub(crate) async fn wait_or_stop(period: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(period) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}
