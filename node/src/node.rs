//! The node's core: chain state, pool and storage behind one lock, with the operations the sequencer and the
//! JSON-RPC server call.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use tokio::sync::broadcast;

use alloy::{
    consensus::Transaction,
    primitives::{Address, B256},
};
use zkr_protocol::hashes::deposit_queue_hash;

use crate::batcher::BatchRecord;
use zkr_state::{Account, AccountTree, field::fr_to_b256};

use crate::{
    Block, BlockContext, ChainSpec, Deposit, ExecutionError, Pool, PoolEntry, PoolLog, PooledTx, SimulationError,
    SimulationOutcome, SkipReason, Store, StoreError, TxError, check_sender, decode, execute_block, simulate,
};

/// Name of the database file in the data directory.
pub const DB_FILE: &str = "node.redb";

/// Most transactions considered for one block (the chain's `max_block_records` usually binds first).
const MAX_BLOCK_TXS: usize = 10_000;
/// Most deposits credited in one block (the chain's `max_block_records` usually binds first).
const MAX_BLOCK_DEPOSITS: usize = 1_000;

/// A replacement must raise both fee fields by at least this many percent (geth's default).
const REPLACEMENT_BUMP_PERCENT: u128 = 10;

/// Errors of the node (not of a submitted transaction; those are [`TxError`]).
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The state tree failed.
    #[error(transparent)]
    State(#[from] zkr_state::Error),
    /// Block execution failed.
    #[error(transparent)]
    Execution(#[from] ExecutionError),
    /// The data directory does not hold this chain, or disagrees with itself.
    #[error("inconsistent database: {0}")]
    Inconsistent(String),
    /// The chain parameters are unusable.
    #[error("invalid chain parameters: {0}")]
    InvalidSpec(String),
}

/// The outcome of submitting a transaction.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The transaction was refused.
    #[error(transparent)]
    Rejected(#[from] TxError),
    /// The node could not record it; it was not accepted.
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl From<StoreError> for SubmitError {
    fn from(err: StoreError) -> Self {
        Self::Node(err.into())
    }
}

/// Where a transaction is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxLookup {
    /// Waiting in the pool.
    Pending(Box<PooledTx>),
    /// Included in a block at this position.
    Included {
        /// The block.
        block: Box<Block>,
        /// Its index in the block.
        index: usize,
    },
}

#[derive(Debug)]
struct State {
    tree: AccountTree,
    pool: Pool,
    head: Block,
    /// Confirmed L1 deposits not yet credited, by nonce.
    deposits: BTreeMap<u64, Deposit>,
}

/// The node.
#[derive(Debug)]
pub struct Node {
    spec: ChainSpec,
    store: Store,
    state: Mutex<State>,
    /// Base fee of the next block, readable without the lock (admission needs it before taking the lock).
    next_base_fee: AtomicU64,
    /// Durable, group-committed record of accepted transactions.
    pool_log: PoolLog,
    /// Newest batch index the Rollup holds as committed, as last seen by the batcher.
    l1_committed: AtomicU64,
    /// Newest batch index the Rollup holds as finalized, as last seen by the batcher.
    l1_finalized: AtomicU64,
    /// Each new block, once stored (websocket subscriptions and filters follow it).
    new_blocks: broadcast::Sender<Arc<Block>>,
    /// The hash of each transaction accepted into the pool, once stored.
    new_pending: broadcast::Sender<B256>,
}

/// How many notifications a slow subscriber may fall behind before it misses some.
const NOTIFICATION_BUFFER: usize = 4096;

impl Node {
    /// Opens the chain stored in `data_dir`, creating it from `spec`'s genesis if the directory is new, and puts the
    /// stored pool back (see `restore_pool`).
    pub fn open(spec: ChainSpec, data_dir: &Path) -> Result<Self, NodeError> {
        spec.validate().map_err(NodeError::InvalidSpec)?;
        std::fs::create_dir_all(data_dir)
            .map_err(|err| NodeError::Inconsistent(format!("cannot create {}: {err}", data_dir.display())))?;
        let store = Store::open(data_dir.join(DB_FILE))?;

        let mut genesis_tree = spec.genesis_state()?;
        let genesis = Block::genesis(&spec, fr_to_b256(&genesis_tree.root()?));
        let (tree, head) = match store.head()? {
            None => {
                store.commit_block(&genesis, &genesis_tree.take_changed())?;
                (genesis_tree, genesis)
            }
            Some(number) => {
                let stored_genesis = store.block(0)?.ok_or_else(|| missing("block 0"))?;
                if stored_genesis.hash != genesis.hash {
                    return Err(NodeError::Inconsistent(format!(
                        "{} holds a chain with genesis {}, the configured chain's genesis is {}",
                        data_dir.display(),
                        stored_genesis.hash,
                        genesis.hash
                    )));
                }
                let head = store.block(number)?.ok_or_else(|| missing("head block"))?;
                let mut tree = AccountTree::from_leaves(store.leaves()?)?;
                let root = fr_to_b256(&tree.root()?);
                if root != head.header.state_root {
                    return Err(NodeError::Inconsistent(format!(
                        "stored accounts hash to {root}, block {number} says {}",
                        head.header.state_root
                    )));
                }
                tree.take_changed();
                (tree, head)
            }
        };

        let next_base_fee = AtomicU64::new(head.next_base_fee(&spec));
        let node = Self {
            spec,
            next_base_fee,
            store,
            pool_log: PoolLog::default(),
            state: Mutex::new(State { tree, pool: Pool::new(), head, deposits: BTreeMap::new() }),
            l1_committed: AtomicU64::new(0),
            l1_finalized: AtomicU64::new(0),
            new_blocks: broadcast::channel(NOTIFICATION_BUFFER).0,
            new_pending: broadcast::channel(NOTIFICATION_BUFFER).0,
        };
        node.restore_pool()?;
        Ok(node)
    }

    /// Puts the stored pool back. A transaction the node accepted stays accepted: it is dropped here only where the
    /// running node would have dropped it too, because its nonce is used by now (a block included it, or another
    /// transaction with its nonce, while the pool record was being written) or because it fails the stateless checks
    /// of the chain as configured now (a changed chain id or execution mode). The nonce gap and the balance are not
    /// measured again: they were checked at admission against the pool as it was then, and the running pool keeps a
    /// transaction whose gap or balance changed later until a block finds it invalid; so does the restored one.
    /// Each sender's transactions go back in nonce order, so the pool's next nonces come out as they were.
    fn restore_pool(&self) -> Result<(), NodeError> {
        let mut dropped = Vec::new();
        let mut restored: Vec<PooledTx> = Vec::new();
        for raw in self.store.pooled()? {
            // Fee cap against base fee 0: a base fee that rose since admission makes the transaction wait (or a block
            // drop it), as in the running node; it is not a reason to refuse it now.
            match decode(&raw, &self.spec, 0) {
                Ok(tx) => restored.push(tx),
                Err(err) => {
                    tracing::warn!(target: "node::pool", %err, "dropping a stored transaction the chain no longer accepts");
                    dropped.push(alloy::primitives::keccak256(&raw));
                }
            }
        }
        // For one sender and nonce (a replacement racing the removal of the transaction it replaced), the higher fee cap
        // goes in last and stays.
        restored.sort_by_key(|tx| (tx.sender, tx.nonce(), tx.envelope.max_fee_per_gas()));
        let mut state = self.lock();
        for tx in restored {
            let state_nonce = state.tree.get(&tx.sender).map_or(0, |account| account.nonce);
            if tx.nonce() < state_nonce {
                tracing::debug!(target: "node::pool", hash = %tx.hash, "dropping a stored transaction whose nonce is used");
                dropped.push(tx.hash);
                continue;
            }
            if let Some(replaced) = state.pool.insert(tx) {
                dropped.push(replaced.hash);
            }
        }
        tracing::info!(target: "node::pool", restored = state.pool.len(), dropped = dropped.len(), "pool restored");
        metrics::gauge!(crate::metrics::POOL).set(state.pool.len() as f64);
        drop(state);
        self.store.remove_pooled(&dropped)?;
        Ok(())
    }

    /// The chain's parameters.
    pub const fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// Admits a raw transaction into the pool and returns its hash once it is durably stored.
    pub fn submit(&self, raw: &[u8]) -> Result<B256, SubmitError> {
        let result = self.admit(raw);
        match &result {
            Ok(_) => metrics::counter!(crate::metrics::TX_ACCEPTED).increment(1),
            Err(SubmitError::Rejected(err)) => {
                metrics::counter!(crate::metrics::TX_REJECTED, "reason" => err.reason()).increment(1);
            }
            Err(SubmitError::Node(_)) => {}
        }
        result
    }

    fn admit(&self, raw: &[u8]) -> Result<B256, SubmitError> {
        // Decoding and signature recovery need no state: they run before the lock, in parallel across submitters.
        let tx = decode(raw, &self.spec, self.next_base_fee.load(Ordering::Relaxed))?;
        if self.store.tx_location(&tx.hash)?.is_some() {
            return Err(TxError::AlreadyKnown.into());
        }
        let hash = tx.hash;
        let replaced = {
            let mut state = self.lock();
            if state.pool.contains(&hash) {
                return Err(TxError::AlreadyKnown.into());
            }
            let account = state.tree.get(&tx.sender).copied().unwrap_or_default();
            let replaced = match state.pool.by_sender_nonce(&tx.sender, tx.nonce()) {
                Some(existing) => {
                    if !outbids(&tx, existing) {
                        return Err(TxError::ReplacementUnderpriced.into());
                    }
                    check_sender(&tx, &account, tx.nonce(), &self.spec)?;
                    Some(existing.hash)
                }
                None => {
                    if state.pool.len() >= self.spec.max_pool_txs {
                        return Err(TxError::PoolFull.into());
                    }
                    let next = state.pool.next_nonce(&tx.sender, account.nonce);
                    if tx.nonce() < account.nonce {
                        return Err(TxError::NonceTooLow { next: account.nonce, nonce: tx.nonce() }.into());
                    }
                    check_sender(&tx, &account, next.min(tx.nonce()), &self.spec)?;
                    if tx.nonce() > next + self.spec.max_nonce_gap {
                        return Err(TxError::NonceTooHigh {
                            next,
                            nonce: tx.nonce(),
                            max_gap: self.spec.max_nonce_gap,
                        }
                        .into());
                    }
                    None
                }
            };
            state.pool.insert(tx);
            metrics::gauge!(crate::metrics::POOL).set(state.pool.len() as f64);
            replaced
        };
        // The hash goes back only once the transaction is on disk. It may be included in a block meanwhile; a stale
        // pool record left by that race is dropped at the next start (its nonce is used by then).
        let entry = PoolEntry { hash, raw: alloy::primitives::Bytes::copy_from_slice(raw), replaced };
        if let Err(err) = self.pool_log.append(&self.store, entry) {
            self.lock().pool.remove(&hash);
            return Err(err.into());
        }
        tracing::debug!(target: "node::pool", %hash, "transaction accepted");
        // No receiver is not an error: nobody subscribed.
        let _ = self.new_pending.send(hash);
        Ok(hash)
    }

    /// Builds, stores and returns the next block from the pool and the deposit queue. A block holds at most the
    /// chain's `max_block_records` records: deposits first (at most `max_block_deposits`), then transactions in the
    /// room left (at most `max_block_withdrawals` of them withdrawals). With nothing to
    /// include the block is empty: the chain advances on a fixed interval whether or not transactions wait, as
    /// clients that wait for a receipt, or for confirmations, expect. An empty block adds no record to any batch.
    ///
    /// The block is durable when this returns: its receipts are the soft confirmation. If storing fails, the
    /// in-memory state is ahead of the disk and the node must stop (a restart resumes from the disk).
    pub fn produce_block(&self, timestamp: u64) -> Result<Block, NodeError> {
        let started = std::time::Instant::now();
        let mut state = self.lock();
        let State { tree, pool, head, deposits: queued } = &mut *state;
        let max_records = self.spec.max_block_records;
        let deposits =
            next_deposits(queued, head, max_records.min(MAX_BLOCK_DEPOSITS).min(self.spec.max_block_deposits))?;
        let room = (max_records - deposits.len()).min(MAX_BLOCK_TXS);
        let candidates =
            if room == 0 { Vec::new() } else { pool.best(|sender| tree.get(sender).map_or(0, |a| a.nonce), room) };
        let context = BlockContext {
            number: head.number() + 1,
            // Sub-second blocks share a second; time never runs backwards.
            timestamp: timestamp.max(head.header.timestamp),
            base_fee: head.next_base_fee(&self.spec),
        };
        // Deposits first: they were paid for on L1 before anything in this block.
        for deposit in &deposits {
            let mut account = tree.get(&deposit.to).copied().unwrap_or_default();
            account.balance += deposit.value;
            tree.set(deposit.to, account)?;
            queued.remove(&deposit.nonce);
        }
        let execution = execute_block(tree, &self.spec, &context, candidates)?;
        let mut dropped = Vec::new();
        for skipped in &execution.skipped {
            if let SkipReason::Invalid(reason) = &skipped.reason {
                tracing::info!(target: "node::pool", hash = %skipped.tx.hash, %reason, "dropping invalid transaction");
                pool.remove(&skipped.tx.hash);
                dropped.push(skipped.tx.hash);
            }
        }
        let root = fr_to_b256(&tree.root()?);
        let block = Block::build(&self.spec, head, &context, deposits, &execution, root);
        self.store.commit_block(&block, &tree.take_changed())?;

        for executed in &execution.executed {
            pool.remove(&executed.tx.hash);
        }
        for tx in &block.transactions {
            pool.prune_below(&tx.sender, tree.get(&tx.sender).map_or(0, |a| a.nonce));
        }
        self.store.remove_pooled(&dropped)?;
        tracing::debug!(
            target: "node::sequencer",
            number = block.number(),
            txs = block.transactions.len(),
            gas = block.header.gas_used,
            "block produced"
        );
        *head = block.clone();
        self.next_base_fee.store(block.next_base_fee(&self.spec), Ordering::Relaxed);
        metrics::histogram!(crate::metrics::BLOCK_SECONDS).record(started.elapsed().as_secs_f64());
        metrics::histogram!(crate::metrics::BLOCK_TXS).record(block.transactions.len() as f64);
        metrics::counter!(crate::metrics::BLOCKS).increment(1);
        metrics::counter!(crate::metrics::GAS_USED).increment(block.header.gas_used);
        metrics::counter!(crate::metrics::DEPOSITS).increment(block.deposits.len() as u64);
        metrics::gauge!(crate::metrics::HEAD).set(block.number() as f64);
        metrics::gauge!(crate::metrics::POOL).set(pool.len() as f64);
        drop(state);
        // The copy for subscribers is made only when someone listens (an idle chain makes a block every interval).
        if self.new_blocks.receiver_count() > 0 {
            let _ = self.new_blocks.send(Arc::new(block.clone()));
        }
        Ok(block)
    }

    /// New blocks as they are stored. A receiver that falls more than a few thousand blocks behind misses the oldest
    /// (it sees `RecvError::Lagged`).
    pub fn subscribe_blocks(&self) -> broadcast::Receiver<Arc<Block>> {
        self.new_blocks.subscribe()
    }

    /// Hashes of transactions as they are accepted into the pool (and stored).
    pub fn subscribe_pending(&self) -> broadcast::Receiver<B256> {
        self.new_pending.subscribe()
    }

    /// Hands confirmed L1 deposits to the sequencer; already credited or already queued ones are ignored.
    pub fn queue_deposits(&self, deposits: impl IntoIterator<Item = Deposit>) {
        let mut state = self.lock();
        let credited = state.head.deposit_count;
        for deposit in deposits {
            if deposit.nonce >= credited {
                state.deposits.entry(deposit.nonce).or_insert(deposit);
            }
        }
    }

    /// The newest block.
    pub fn head(&self) -> Block {
        self.lock().head.clone()
    }

    /// A block by number.
    pub fn block_by_number(&self, number: u64) -> Result<Option<Block>, NodeError> {
        Ok(self.store.block(number)?)
    }

    /// A block by hash.
    pub fn block_by_hash(&self, hash: &B256) -> Result<Option<Block>, NodeError> {
        match self.store.block_number(hash)? {
            Some(number) => self.block_by_number(number),
            None => Ok(None),
        }
    }

    /// A transaction by hash, pooled or included.
    pub fn transaction(&self, hash: &B256) -> Result<Option<TxLookup>, NodeError> {
        if let Some(tx) = self.lock().pool.get(hash) {
            return Ok(Some(TxLookup::Pending(Box::new(tx.clone()))));
        }
        let Some((number, index)) = self.store.tx_location(hash)? else { return Ok(None) };
        let block = self.block_by_number(number)?.ok_or_else(|| missing("block of an indexed transaction"))?;
        Ok(Some(TxLookup::Included { block: Box::new(block), index: index as usize }))
    }

    /// A pooled transaction by hash.
    pub fn pooled(&self, hash: &B256) -> Option<PooledTx> {
        self.lock().pool.get(hash).cloned()
    }

    /// The account of `address` after the newest block (empty if it has none).
    pub fn account(&self, address: &Address) -> Account {
        self.lock().tree.get(address).copied().unwrap_or_default()
    }

    /// The nonce the address's next transaction should use, counting its pooled transactions.
    pub fn pending_nonce(&self, address: &Address) -> u64 {
        let state = self.lock();
        let nonce = state.tree.get(address).map_or(0, |a| a.nonce);
        state.pool.next_nonce(address, nonce)
    }

    /// Runs `tx` on the newest state without changing it. The caller's nonce is taken from the state.
    pub fn simulate(&self, mut tx: revm::context::TxEnv) -> Result<SimulationOutcome, SimulationError> {
        let state = self.lock();
        tx.nonce = state.tree.get(&tx.caller).map_or(0, |a| a.nonce);
        let context = BlockContext {
            number: state.head.number() + 1,
            timestamp: state.head.header.timestamp,
            // Calls that name no gas price pay none, as in geth.
            base_fee: if tx.gas_price == 0 { 0 } else { state.head.next_base_fee(&self.spec) },
        };
        simulate(&state.tree, &self.spec, &context, tx)
    }

    /// Base fee of the next block.
    pub fn next_base_fee(&self) -> u64 {
        self.next_base_fee.load(Ordering::Relaxed)
    }

    /// The node's database (the batcher keeps its progress there).
    pub const fn store(&self) -> &Store {
        &self.store
    }

    /// Records how far L1 has committed and finalized batches.
    pub fn set_l1_progress(&self, committed: u64, finalized: u64) {
        self.l1_committed.store(committed, Ordering::Relaxed);
        self.l1_finalized.store(finalized, Ordering::Relaxed);
    }

    /// The newest batch indices L1 holds as committed and as finalized.
    pub fn l1_progress(&self) -> (u64, u64) {
        (self.l1_committed.load(Ordering::Relaxed), self.l1_finalized.load(Ordering::Relaxed))
    }

    /// A sealed batch by index.
    pub fn batch(&self, index: u64) -> Result<Option<BatchRecord>, NodeError> {
        Ok(self.store.batch(index)?)
    }

    /// The sealed batch holding block `number`, if any.
    pub fn batch_of_block(&self, number: u64) -> Result<Option<BatchRecord>, NodeError> {
        let Some(last) = self.store.last_batch_index()? else { return Ok(None) };
        // Batches cover consecutive block ranges in index order: binary search.
        let (mut low, mut high) = (1, last);
        while low <= high {
            let middle = low + (high - low) / 2;
            let record: BatchRecord = self.store.batch(middle)?.ok_or_else(|| missing(&format!("batch {middle}")))?;
            if number < record.first_block {
                high = middle - 1;
            } else if number > record.last_block {
                low = middle + 1;
            } else {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    /// Number of pooled transactions.
    pub fn pool_size(&self) -> usize {
        self.lock().pool.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves nothing half-written on disk (blocks commit atomically), so the
        // state is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The queued deposits that continue the chain after `head`, in order, at most `limit`, each checked against the hash
/// chain.
fn next_deposits(queued: &BTreeMap<u64, Deposit>, head: &Block, limit: usize) -> Result<Vec<Deposit>, NodeError> {
    let mut hash = head.deposit_hash;
    let mut out = Vec::new();
    for (expected, deposit) in (head.deposit_count..).zip(queued.range(head.deposit_count..).map(|(_, d)| d)) {
        if deposit.nonce != expected || out.len() == limit {
            break;
        }
        hash = deposit_queue_hash(hash, deposit.nonce, deposit.from, deposit.to, deposit.value);
        if hash != deposit.queue_hash {
            return Err(NodeError::Inconsistent(format!(
                "deposit {}: L1 reports queue hash {}, the node computes {hash}",
                deposit.nonce, deposit.queue_hash
            )));
        }
        out.push(*deposit);
    }
    Ok(out)
}

/// Whether `new` may replace `old`: both the fee cap and the tip must rise by the bump.
fn outbids(new: &PooledTx, old: &PooledTx) -> bool {
    let bumped = |old: u128| old + old * REPLACEMENT_BUMP_PERCENT / 100;
    let tip = |tx: &PooledTx| tx.envelope.max_priority_fee_per_gas().unwrap_or(tx.envelope.max_fee_per_gas());
    new.envelope.max_fee_per_gas() >= bumped(old.envelope.max_fee_per_gas()) && tip(new) >= bumped(tip(old))
}

fn missing(what: &str) -> NodeError {
    NodeError::Inconsistent(format!("{what} is missing"))
}
