//! Polled filters: `eth_newFilter`, `eth_newBlockFilter`, `eth_newPendingTransactionFilter`, then
//! `eth_getFilterChanges` / `eth_getFilterLogs` / `eth_uninstallFilter`, as in go-ethereum.
//!
//! A filter remembers where its last poll stopped: the next block for block and log filters, a subscription to the
//! pool's new hashes for pending-transaction filters (which keeps the newest few thousand; a filter polled less often
//! than that misses the oldest). A filter not polled for `filter_timeout` is removed, as geth does after five
//! minutes, and at most `max_filters` exist at once, so forgotten filters cannot pile up.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{B256, U128},
    rpc::types::{Filter, Log as RpcLog},
};
use serde::Serialize;
use tokio::sync::broadcast::{self, error::TryRecvError};

/// The answer of `eth_getFilterChanges`: block or transaction hashes, or logs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(super) enum FilterChanges {
    /// New block hashes, or new pending transaction hashes.
    Hashes(Vec<B256>),
    /// New matching logs.
    Logs(Vec<RpcLog>),
}

/// What a filter follows.
#[derive(Debug)]
pub(super) enum FilterKind {
    /// New blocks: the next block to report.
    Blocks { next: u64 },
    /// Transactions accepted into the pool.
    Pending(broadcast::Receiver<B256>),
    /// Logs matching the filter: the next block to search.
    Logs { filter: Box<Filter>, next: u64 },
}

#[derive(Debug)]
struct Installed {
    kind: FilterKind,
    last_poll: Instant,
}

/// Why a filter call failed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum FilterError {
    /// No filter with this id (never installed, uninstalled, or expired).
    #[error("filter not found")]
    NotFound,
    /// `max_filters` are installed.
    #[error("too many filters installed (at most {0}); uninstall some with eth_uninstallFilter")]
    TooMany(usize),
}

/// The installed filters.
#[derive(Debug)]
pub(super) struct Filters {
    installed: Mutex<HashMap<U128, Installed>>,
    timeout: Duration,
    max: usize,
}

impl Filters {
    pub(super) fn new(timeout: Duration, max: usize) -> Self {
        Self { installed: Mutex::new(HashMap::new()), timeout, max }
    }

    /// Installs a filter and returns its id.
    pub(super) fn install(&self, kind: FilterKind) -> Result<U128, FilterError> {
        let mut installed = self.lock();
        self.expire(&mut installed);
        if installed.len() >= self.max {
            return Err(FilterError::TooMany(self.max));
        }
        let id = loop {
            let id = random_id();
            if !installed.contains_key(&id) {
                break id;
            }
        };
        installed.insert(id, Installed { kind, last_poll: Instant::now() });
        Ok(id)
    }

    /// Removes a filter; whether it existed.
    pub(super) fn uninstall(&self, id: U128) -> bool {
        let mut installed = self.lock();
        self.expire(&mut installed);
        installed.remove(&id).is_some()
    }

    /// Runs `poll` on the filter with this id and marks it polled. `poll` gets the filter and returns the changes
    /// since its last poll, moving its cursor.
    pub(super) fn poll<T>(&self, id: U128, poll: impl FnOnce(&mut FilterKind) -> T) -> Result<T, FilterError> {
        let mut installed = self.lock();
        self.expire(&mut installed);
        let filter = installed.get_mut(&id).ok_or(FilterError::NotFound)?;
        filter.last_poll = Instant::now();
        Ok(poll(&mut filter.kind))
    }

    /// Number of installed filters (expired ones included until the next call).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn expire(&self, installed: &mut HashMap<U128, Installed>) {
        let now = Instant::now();
        installed.retain(|_, filter| now.duration_since(filter.last_poll) < self.timeout);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<U128, Installed>> {
        // Nothing is left half-changed by a panic while holding the lock.
        self.installed.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Hashes a pending-transaction filter has not reported yet.
pub(super) fn drain_pending(receiver: &mut broadcast::Receiver<B256>) -> Vec<B256> {
    let mut out = Vec::new();
    loop {
        match receiver.try_recv() {
            Ok(hash) => out.push(hash),
            // The oldest were overwritten: report what is left.
            Err(TryRecvError::Lagged(_)) => continue,
            Err(TryRecvError::Empty | TryRecvError::Closed) => return out,
        }
    }
}

/// A 128-bit id that is hard to guess, so that one client cannot poll or remove another's filter by counting.
pub(super) fn random_id() -> U128 {
    use std::hash::{BuildHasher, Hasher};
    // Each RandomState holds SipHash keys seeded from the OS (once per thread, then advanced): the hash of anything
    // under fresh keys is 64 unpredictable bits, without another dependency.
    let half = || {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u8(0);
        hasher.finish()
    };
    U128::from((u128::from(half()) << 64) | u128::from(half()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_expire_when_not_polled() {
        let filters = Filters::new(Duration::from_millis(50), 10);
        let kept = filters.install(FilterKind::Blocks { next: 1 }).unwrap();
        let dropped = filters.install(FilterKind::Blocks { next: 1 }).unwrap();
        assert_ne!(kept, dropped);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(filters.poll(kept, |_| ()), Ok(()));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(filters.poll(dropped, |_| ()), Err(FilterError::NotFound));
        assert_eq!(filters.poll(kept, |_| ()), Ok(()));
        assert!(filters.uninstall(kept));
        assert!(!filters.uninstall(kept));
        assert_eq!(filters.len(), 0);
    }

    #[test]
    fn at_most_max_filters() {
        let filters = Filters::new(Duration::from_secs(60), 2);
        let first = filters.install(FilterKind::Blocks { next: 1 }).unwrap();
        filters.install(FilterKind::Blocks { next: 1 }).unwrap();
        assert_eq!(filters.install(FilterKind::Blocks { next: 1 }), Err(FilterError::TooMany(2)));
        assert!(filters.uninstall(first));
        assert!(filters.install(FilterKind::Blocks { next: 1 }).is_ok());
    }

    #[test]
    fn pending_filters_drain_what_arrived() {
        let (sender, receiver) = broadcast::channel(2);
        let mut receiver = receiver;
        for byte in 1..=3u8 {
            sender.send(B256::repeat_byte(byte)).unwrap();
        }
        // The channel keeps two: the first was overwritten.
        assert_eq!(drain_pending(&mut receiver), vec![B256::repeat_byte(2), B256::repeat_byte(3)]);
        assert!(drain_pending(&mut receiver).is_empty());
    }
}
