//! The rollup's L2 node.
//!
//! ```text
//!  raw tx --decode--> PooledTx --check_sender--> pool --execute_block (revm over AccountTree)--> block + receipts
//! ```
//!
//! This crate holds so far: transaction admission with go-ethereum's rejection messages ([`decode`],
//! [`check_sender`]), and block execution with revm over the Poseidon account tree shared with the circuits
//! ([`execute_block`]). The sequencer loop, JSON-RPC, storage, batcher and bridge build on these.

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
pub use spec::{ChainSpec, DEFAULT_MAX_BLOCK_RECORDS, ExecutionMode, WITHDRAWAL_ADDRESS};
pub use storage::{PoolEntry, PoolLog, Store, StoreError};
