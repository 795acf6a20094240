//! The batcher: groups L2 blocks into batches, encodes and compresses them, and commits them to the Rollup contract.

mod codec;
mod submitter;

pub use codec::{BATCH_VERSION, BatchBlock, BatchPayload, Codec, DecodeError, MAX_PAYLOAD_BYTES, encode_payload};
pub use submitter::{BatchRecord, BatcherConfig, BatcherError, CommitAttempt, run_batcher};
