//! The batcher: cuts L2 blocks into batches of chunks and commits them to the Rollup contract.
//!
//! ```text
//!  blocks --block_records--> records (deposits, then transactions, of each block in order)
//!         --Sealer--> chunks of at most `chunk_slots` records (and at most a quarter of them deposits, a quarter
//!                     withdrawals: `zkr_protocol::chunk::ChunkPacker`), at most `chunks_per_batch` chunks a batch
//!         --run_batcher--> Rollup.commitBatch(index, parentBatchHash, depositEnd, chunks)
//! ```
//!
//! A chunk is `zkr_protocol::encode_chunk` of its records: fixed-width records and nothing else, proven by one chunk
//! proof that replays them over the state tree (`zkr_protocol::witness`). A block is never split across batches
//! (though it may span chunks), so the sequencer caps a block at `chunk_slots * chunks_per_batch` records
//! (`ChainSpec::max_block_records`), and at one chunk's deposits and withdrawals (`max_block_deposits`,
//! `max_block_withdrawals`): a block within these caps never closes a chunk early, so it takes at most
//! `chunks_per_batch` chunks. The Rollup stores the batch's data hash, `keccak256` of the chunks' `keccak256`
//! hashes in order, and the batch proof binds each chunk proof to `keccak256` of exactly the committed bytes.
//!
//! The committed bytes are not compressed. A proof over compressed data would have to prove the decompression as
//! well, which is out of scope; so L1 calldata costs more per transaction than the previous compressed format (a
//! record is 211 bytes; see docs/perf.md).
//!
//! Each sealed [`BatchRecord`] is stored with what a prover needs beyond the L1 data (the state roots and deposit
//! hash chain values at both ends) and what a withdrawer needs (each chunk's withdrawal leaves, from which
//! `rollup_getWithdrawalProof` answers with the Portal's leaf index and proof). [`decode_batch`] goes the other way,
//! from a batch's chunks back to the records of each block.
//!
//! In the optimistic mode, [`run_proposer`] posts each committed batch's output (state root, withdrawal root) to the
//! `OptimisticRollup` with a bond and resolves outputs whose challenge windows ended.

mod batch;
mod proposer;
mod records;
mod submitter;

pub use batch::{
    BatchError, BatchLimits, BatchRecord, DEFAULT_CHUNK_SLOTS, DEFAULT_CHUNKS_PER_BATCH, Sealer, seal_batches,
};
pub use proposer::{ProposerConfig, ProposerError, run_proposer};
pub use records::{
    BatchDecodeError, BlockRecords, RecordConversionError, SlotRecord, block_records, decode_batch, deposit_record,
    transfer_envelope, transfer_record,
};
pub use submitter::{BatcherConfig, BatcherError, CommitAttempt, run_batcher};
