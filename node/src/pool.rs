//! The transaction pool: admitted transactions waiting for a block.
//!
//! Transactions are kept per sender by nonce. A block takes them first come, first served: senders in the order their
//! next executable transaction arrived, each sender's transactions in nonce order. A transaction whose nonce leaves a
//! gap waits until the gap is filled (up to `ChainSpec::max_nonce_gap`).

use std::collections::{BTreeMap, HashMap};

use alloy::primitives::{Address, B256};

use crate::PooledTx;

#[derive(Debug, Clone)]
struct Entry {
    tx: PooledTx,
    arrival: u64,
}

/// Pending transactions by sender and nonce.
#[derive(Debug, Default)]
pub struct Pool {
    by_hash: HashMap<B256, (Address, u64)>,
    by_sender: HashMap<Address, BTreeMap<u64, Entry>>,
    arrivals: u64,
}

impl Pool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of transactions in the pool.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Whether a transaction with this hash is pooled.
    pub fn contains(&self, hash: &B256) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// A pooled transaction by hash.
    pub fn get(&self, hash: &B256) -> Option<&PooledTx> {
        let (sender, nonce) = self.by_hash.get(hash)?;
        self.by_sender.get(sender)?.get(nonce).map(|entry| &entry.tx)
    }

    /// The nonce the sender's next transaction should use: past its pooled transactions that follow `state_nonce`
    /// without a gap.
    pub fn next_nonce(&self, sender: &Address, state_nonce: u64) -> u64 {
        let mut next = state_nonce;
        if let Some(queue) = self.by_sender.get(sender) {
            for nonce in queue.range(state_nonce..).map(|(nonce, _)| *nonce) {
                if nonce != next {
                    break;
                }
                next += 1;
            }
        }
        next
    }

    /// Adds a transaction; a pooled transaction with the same sender and nonce is replaced (the caller has checked
    /// the replacement pays more). Returns the replaced transaction.
    pub fn insert(&mut self, tx: PooledTx) -> Option<PooledTx> {
        let (sender, nonce, hash) = (tx.sender, tx.nonce(), tx.hash);
        self.arrivals += 1;
        let replaced = self.by_sender.entry(sender).or_default().insert(nonce, Entry { tx, arrival: self.arrivals });
        if let Some(old) = &replaced {
            self.by_hash.remove(&old.tx.hash);
        }
        self.by_hash.insert(hash, (sender, nonce));
        replaced.map(|entry| entry.tx)
    }

    /// The sender's pooled transaction with this nonce, if any.
    pub fn by_sender_nonce(&self, sender: &Address, nonce: u64) -> Option<&PooledTx> {
        self.by_sender.get(sender)?.get(&nonce).map(|entry| &entry.tx)
    }

    /// Removes a transaction (included in a block, or found invalid).
    pub fn remove(&mut self, hash: &B256) -> Option<PooledTx> {
        let (sender, nonce) = self.by_hash.remove(hash)?;
        let queue = self.by_sender.get_mut(&sender)?;
        let entry = queue.remove(&nonce);
        if queue.is_empty() {
            self.by_sender.remove(&sender);
        }
        entry.map(|entry| entry.tx)
    }

    /// Drops the sender's transactions with nonces below `state_nonce` (made stale by a block).
    pub fn prune_below(&mut self, sender: &Address, state_nonce: u64) {
        let Some(queue) = self.by_sender.get_mut(sender) else { return };
        let keep = queue.split_off(&state_nonce);
        for entry in std::mem::replace(queue, keep).into_values() {
            self.by_hash.remove(&entry.tx.hash);
        }
        if queue.is_empty() {
            self.by_sender.remove(sender);
        }
    }

    /// Transactions ready for a block given each sender's current nonce, in inclusion order, at most `limit`.
    pub fn best(&self, state_nonce: impl Fn(&Address) -> u64, limit: usize) -> Vec<PooledTx> {
        // Each sender's executable run: consecutive nonces from its state nonce.
        let mut runs: Vec<(u64, Vec<&Entry>)> = Vec::new();
        for (sender, queue) in &self.by_sender {
            let mut next = state_nonce(sender);
            let run: Vec<&Entry> = queue
                .range(next..)
                .map_while(|(nonce, entry)| {
                    (*nonce == next).then(|| {
                        next += 1;
                        entry
                    })
                })
                .collect();
            if let Some(first) = run.first() {
                runs.push((first.arrival, run));
            }
        }
        // Senders in the order their first executable transaction arrived, then round-robin by arrival so one busy
        // sender cannot hold back the others.
        runs.sort_by_key(|(arrival, _)| *arrival);
        let mut out = Vec::new();
        let mut cursors = vec![0usize; runs.len()];
        while out.len() < limit {
            let mut progressed = false;
            for (run, cursor) in runs.iter().zip(cursors.iter_mut()) {
                if let Some(entry) = run.1.get(*cursor) {
                    out.push(entry.tx.clone());
                    *cursor += 1;
                    progressed = true;
                    if out.len() == limit {
                        break;
                    }
                }
            }
            if !progressed {
                break;
            }
        }
        out
    }
}
