//! The rollup's L2 node.
//!
//! ```text
//!  raw tx --decode--> PooledTx --check_sender--> pool (stored before the hash is returned; restored on restart)
//!     pool + L1 deposits --produce_block every interval (revm over AccountTree)--> block + receipts (empty when idle)
//!     blocks --batcher::Sealer--> batches of chunk records --run_batcher--> Rollup.commitBatch on L1
//!     blocks, accepted hashes --broadcast--> JSON-RPC over HTTP and websocket: filters, eth_subscribe
//! ```
//!
//! Admission answers with go-ethereum's rejection messages ([`decode`], [`check_sender`]), and `eth_call` /
//! `eth_estimateGas` refuse in the same words; execution runs revm over the Poseidon account tree shared with the
//! circuits ([`execute_block`]); [`Node`] ties pool, state and storage together; [`start_rpc`] serves JSON-RPC and
//! [`run_sequencer`] makes a block every interval.

mod admission;
pub mod batcher;
mod block;
mod bridge;
mod config;
pub mod dev;
mod error;
mod executor;
pub mod metrics;
mod node;
mod pool;
mod rpc;
mod sequencer;
mod spec;
mod storage;

pub use admission::{PooledTx, TX_BASE_GAS, check_sender, decode, intrinsic_gas};
pub use block::{Block, BlockTx};
pub use bridge::{BridgeError, Deposit, L1Config, watch_deposits};
pub use config::{BatcherSection, ChainSection, L1Section, ModeName, NodeConfig, SequencerSection};
pub use error::TxError;
pub use executor::{
    BlockContext, BlockExecution, ExecutedTx, ExecutionError, SPEC_ID, SimulationError, SimulationOutcome, SkipReason,
    SkippedTx, TreeDb, WithdrawalRecord, execute_block, simulate,
};
pub use node::{DB_FILE, Node, NodeError, SubmitError, TxLookup};
pub use pool::Pool;
pub use rpc::{BatchInfo, BatchStatus, RpcConfig, SUGGESTED_PRIORITY_FEE, Status, WithdrawalProof, start_rpc};
pub use sequencer::run_sequencer;
pub use spec::{
    ChainSpec, DEFAULT_MAX_BLOCK_DEPOSITS, DEFAULT_MAX_BLOCK_RECORDS, DEFAULT_MAX_BLOCK_WITHDRAWALS, ExecutionMode,
    WITHDRAWAL_ADDRESS,
};
pub use storage::{PoolEntry, PoolLog, Store, StoreError};
