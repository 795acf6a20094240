//! Crash-safe storage of the chain on redb.
//!
//! Every write is one redb transaction committed with `Durability::Immediate` (fsynced before `commit` returns), so a
//! kill -9 leaves either all of a block (its transactions indexed, its account leaves written, its transactions gone
//! from the pool) or none of it. A transaction is written to the pool table before its hash is returned to the
//! sender, so after a restart it is either in a block or back in the pool.

use std::path::Path;

use alloy::primitives::{Address, B256, Bytes, U256};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use zkr_state::{Account, AccountLeaf};

use crate::Block;

const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
const BLOCK_NUMBERS: TableDefinition<'_, [u8; 32], u64> = TableDefinition::new("block_numbers");
const TX_INDEX: TableDefinition<'_, [u8; 32], (u64, u32)> = TableDefinition::new("tx_index");
const LEAVES: TableDefinition<'_, u64, [u8; LEAF_BYTES]> = TableDefinition::new("leaves");
const POOL: TableDefinition<'_, [u8; 32], &[u8]> = TableDefinition::new("pool");
const BATCHES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("batches");

const HEAD: &str = "head";
const SCHEMA: &str = "schema";
/// Version 2: batches as chunks of records, and genesis with the fee recipient's and withdrawal counter's leaves.
const SCHEMA_VERSION: u64 = 2;
const LEAF_BYTES: usize = 20 + 20 + 8 + 32;

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    /// A stored value could not be decoded.
    #[error("corrupt {what}: {detail}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Why it failed.
        detail: String,
    },
    /// A durable pool write failed; the transaction was not accepted.
    #[error("pool write failed: {0}")]
    PoolWrite(String),
    /// The database was written by an incompatible version.
    #[error("database schema {found}, this node reads {SCHEMA_VERSION}")]
    Schema {
        /// The stored schema version.
        found: u64,
    },
}

macro_rules! db_err {
    ($($ty:ty),*) => {$(
        impl From<$ty> for StoreError {
            fn from(err: $ty) -> Self {
                Self::Db(err.into())
            }
        }
    )*};
}
db_err!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// The node's database.
#[derive(Debug)]
pub struct Store {
    db: Database,
}

impl Store {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let mut builder = Database::builder();
        // A modest cache: the OS caches the rest.
        builder.set_cache_size(64 * 1024 * 1024);
        let db = builder.create(path)?;
        let store = Self { db };
        store.init_schema()?;
        Ok(store)
    }

    fn init_schema(&self) -> Result<(), StoreError> {
        let tx = self.db.begin_write()?;
        {
            let mut meta = tx.open_table(META)?;
            let found = meta.get(SCHEMA)?.map(|v| v.value());
            match found {
                Some(SCHEMA_VERSION) => {}
                Some(found) => return Err(StoreError::Schema { found }),
                None => {
                    meta.insert(SCHEMA, SCHEMA_VERSION)?;
                }
            }
            // Create every table so readers never meet a missing one.
            tx.open_table(BLOCKS)?;
            tx.open_table(BLOCK_NUMBERS)?;
            tx.open_table(TX_INDEX)?;
            tx.open_table(LEAVES)?;
            tx.open_table(POOL)?;
            tx.open_table(BATCHES)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The number of the newest stored block.
    pub fn head(&self) -> Result<Option<u64>, StoreError> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(META)?.get(HEAD)?.map(|v| v.value()))
    }

    /// A block by number.
    pub fn block(&self, number: u64) -> Result<Option<Block>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(BLOCKS)?;
        let Some(bytes) = table.get(number)? else { return Ok(None) };
        serde_json::from_slice(bytes.value())
            .map(Some)
            .map_err(|err| StoreError::Corrupt { what: "block", detail: err.to_string() })
    }

    /// A block's number by hash.
    pub fn block_number(&self, hash: &B256) -> Result<Option<u64>, StoreError> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(BLOCK_NUMBERS)?.get(hash.0)?.map(|v| v.value()))
    }

    /// Where a transaction was included: block number and index in the block.
    pub fn tx_location(&self, hash: &B256) -> Result<Option<(u64, u32)>, StoreError> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(TX_INDEX)?.get(hash.0)?.map(|v| v.value()))
    }

    /// The account tree's leaves in index order.
    pub fn leaves(&self) -> Result<Vec<AccountLeaf>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(LEAVES)?;
        let mut leaves = Vec::with_capacity(table.len()? as usize);
        for (position, entry) in table.iter()?.enumerate() {
            let (index, bytes) = entry?;
            if index.value() != position as u64 {
                return Err(StoreError::Corrupt { what: "leaves", detail: format!("gap at index {position}") });
            }
            leaves.push(decode_leaf(&bytes.value()));
        }
        Ok(leaves)
    }

    /// The raw transactions waiting in the pool.
    pub fn pooled(&self) -> Result<Vec<Bytes>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(POOL)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            out.push(Bytes::copy_from_slice(entry?.1.value()));
        }
        Ok(out)
    }

    /// Durably records several transactions entering the pool in one write, each replacing the hash given with it.
    pub fn add_pooled_batch(&self, entries: &[PoolEntry]) -> Result<(), StoreError> {
        let tx = self.begin_durable()?;
        {
            let mut pool = tx.open_table(POOL)?;
            for entry in entries {
                if let Some(old) = entry.replaced {
                    pool.remove(old.0)?;
                }
                pool.insert(entry.hash.0, entry.raw.as_ref())?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes transactions from the pool table (dropped as invalid).
    pub fn remove_pooled(&self, hashes: &[B256]) -> Result<(), StoreError> {
        if hashes.is_empty() {
            return Ok(());
        }
        let tx = self.begin_durable()?;
        {
            let mut pool = tx.open_table(POOL)?;
            for hash in hashes {
                pool.remove(hash.0)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores a block atomically with everything that follows from it: its hash and transaction indices, the account
    /// leaves it changed, its transactions' removal from the pool, and the new head.
    pub fn commit_block(&self, block: &Block, changed: &[(u64, AccountLeaf)]) -> Result<(), StoreError> {
        let bytes =
            serde_json::to_vec(block).map_err(|err| StoreError::Corrupt { what: "block", detail: err.to_string() })?;
        let tx = self.begin_durable()?;
        {
            let number = block.number();
            tx.open_table(BLOCKS)?.insert(number, bytes.as_slice())?;
            tx.open_table(BLOCK_NUMBERS)?.insert(block.hash.0, number)?;
            let mut index = tx.open_table(TX_INDEX)?;
            let mut pool = tx.open_table(POOL)?;
            for (position, included) in block.transactions.iter().enumerate() {
                let hash = included.envelope.tx_hash().0;
                index.insert(hash, (number, position as u32))?;
                pool.remove(hash)?;
            }
            let mut leaves = tx.open_table(LEAVES)?;
            for (leaf_index, leaf) in changed {
                leaves.insert(*leaf_index, encode_leaf(leaf))?;
            }
            tx.open_table(META)?.insert(HEAD, number)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores (or updates) a batch record, as JSON.
    pub fn put_batch<T: serde::Serialize>(&self, index: u64, record: &T) -> Result<(), StoreError> {
        let bytes =
            serde_json::to_vec(record).map_err(|err| StoreError::Corrupt { what: "batch", detail: err.to_string() })?;
        let tx = self.begin_durable()?;
        tx.open_table(BATCHES)?.insert(index, bytes.as_slice())?;
        tx.commit()?;
        Ok(())
    }

    /// A batch record by index.
    pub fn batch<T: serde::de::DeserializeOwned>(&self, index: u64) -> Result<Option<T>, StoreError> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(BATCHES)?;
        let Some(bytes) = table.get(index)? else { return Ok(None) };
        serde_json::from_slice(bytes.value())
            .map(Some)
            .map_err(|err| StoreError::Corrupt { what: "batch", detail: err.to_string() })
    }

    /// The index of the newest stored batch.
    pub fn last_batch_index(&self) -> Result<Option<u64>, StoreError> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(BATCHES)?.last()?.map(|(key, _)| key.value()))
    }

    fn begin_durable(&self) -> Result<redb::WriteTransaction, StoreError> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        // Saves the allocator state with each commit, so reopening after a crash needs no scan of the whole file.
        tx.set_quick_repair(true);
        Ok(tx)
    }
}

/// A transaction to record in the pool table.
#[derive(Debug, Clone)]
pub struct PoolEntry {
    /// Its hash.
    pub hash: B256,
    /// Its encoding.
    pub raw: Bytes,
    /// The pooled transaction it replaces, if any.
    pub replaced: Option<B256>,
}

/// Durable pool writes with group commit: a submitter returns once its transaction is on disk, but everything that
/// arrived while the previous write was syncing goes to disk in the next single write, so concurrent submitters share
/// one fsync instead of queueing for one each.
#[derive(Debug, Default)]
pub struct PoolLog {
    state: std::sync::Mutex<LogState>,
    written: std::sync::Condvar,
}

#[derive(Debug, Default)]
struct LogState {
    queue: Vec<(u64, PoolEntry)>,
    next_seq: u64,
    /// Every entry up to this sequence number has been written (or has failed).
    done_upto: u64,
    writing: bool,
    /// Recent failed writes: first and last sequence number and the error.
    failures: Vec<(u64, u64, String)>,
    /// Durable writes made so far.
    writes: u64,
}

impl PoolLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Number of durable writes made so far (each may hold many transactions).
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    /// Records `entry` durably, sharing the write with concurrent callers.
    pub fn append(&self, store: &Store, entry: PoolEntry) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.next_seq += 1;
        let seq = state.next_seq;
        state.queue.push((seq, entry));
        loop {
            if state.done_upto >= seq {
                return match state.failures.iter().find(|(first, last, _)| (*first..=*last).contains(&seq)) {
                    Some((_, _, err)) => Err(StoreError::PoolWrite(err.clone())),
                    None => Ok(()),
                };
            }
            if state.writing {
                state = self.written.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            // Nobody is writing: this caller writes everything queued so far.
            state.writing = true;
            let batch = std::mem::take(&mut state.queue);
            drop(state);
            let entries: Vec<PoolEntry> = batch.iter().map(|(_, entry)| entry.clone()).collect();
            let result = store.add_pooled_batch(&entries);
            state = self.lock();
            let (first, last) = (batch.first().map_or(seq, |b| b.0), batch.last().map_or(seq, |b| b.0));
            state.done_upto = state.done_upto.max(last);
            state.writes += 1;
            if let Err(err) = result {
                state.failures.push((first, last, err.to_string()));
                let excess = state.failures.len().saturating_sub(64);
                state.failures.drain(..excess);
            }
            state.writing = false;
            self.written.notify_all();
        }
    }
}

fn encode_leaf(leaf: &AccountLeaf) -> [u8; LEAF_BYTES] {
    let mut out = [0u8; LEAF_BYTES];
    out[..20].copy_from_slice(leaf.address.as_slice());
    out[20..40].copy_from_slice(leaf.next.as_slice());
    out[40..48].copy_from_slice(&leaf.account.nonce.to_be_bytes());
    out[48..].copy_from_slice(&leaf.account.balance.to_be_bytes::<32>());
    out
}

fn decode_leaf(bytes: &[u8; LEAF_BYTES]) -> AccountLeaf {
    let mut nonce = [0u8; 8];
    nonce.copy_from_slice(&bytes[40..48]);
    AccountLeaf {
        address: Address::from_slice(&bytes[..20]),
        next: Address::from_slice(&bytes[20..40]),
        account: Account { nonce: u64::from_be_bytes(nonce), balance: U256::from_be_slice(&bytes[48..]) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_submitters_share_durable_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("db")).unwrap();
        let log = PoolLog::default();
        std::thread::scope(|scope| {
            for thread in 0..32u8 {
                let (store, log) = (&store, &log);
                scope.spawn(move || {
                    for i in 0..8u8 {
                        let entry = PoolEntry {
                            hash: alloy::primitives::keccak256([thread, i]),
                            raw: Bytes::from(vec![thread, i]),
                            replaced: None,
                        };
                        log.append(store, entry).unwrap();
                    }
                });
            }
        });
        // Every transaction is on disk once its append returned ...
        assert_eq!(store.pooled().unwrap().len(), 32 * 8);
        // ... and submitters arriving during a write shared the next one.
        assert!(log.writes() < 32 * 8, "{} writes for 256 transactions", log.writes());
    }

    #[test]
    fn leaves_round_trip() {
        let leaf = AccountLeaf {
            address: Address::repeat_byte(1),
            next: Address::repeat_byte(2),
            account: Account { nonce: u64::MAX - 3, balance: U256::from(u128::MAX) },
        };
        assert_eq!(decode_leaf(&encode_leaf(&leaf)), leaf);
    }
}
