//! The chain's fixed parameters.

use alloy::primitives::{Address, U256};

/// Value sent to this address leaves L2: the sender is debited as for any transfer, no account is credited, and a
/// withdrawal of that value to the sender's own address on L1 is added to the batch's withdrawal tree. It is the
/// first address after the precompile range. Its leaf exists from genesis and keeps no balance: its nonce is the
/// withdrawal counter, the number of withdrawals made so far, which numbers each withdrawal (see
/// [`zkr_protocol::WITHDRAWAL_ADDRESS`], the definition the proof uses).
pub use zkr_protocol::WITHDRAWAL_ADDRESS;

/// Records (deposits plus transactions) a block may hold by default: a batch of the default shape, 2 chunks of 64
/// records (see [`crate::batcher::BatchLimits`]), which at the default 250 ms block time is 512 transfers a second.
pub const DEFAULT_MAX_BLOCK_RECORDS: usize =
    crate::batcher::DEFAULT_CHUNK_SLOTS * crate::batcher::DEFAULT_CHUNKS_PER_BATCH;

/// Deposits a block may credit by default: what one chunk of the default shape takes
/// ([`zkr_protocol::chunk::max_chunk_deposits`]).
pub const DEFAULT_MAX_BLOCK_DEPOSITS: usize =
    zkr_protocol::chunk::max_chunk_deposits(crate::batcher::DEFAULT_CHUNK_SLOTS);

/// Withdrawals a block may hold by default: what one chunk of the default shape takes
/// ([`zkr_protocol::chunk::max_chunk_withdrawals`]).
pub const DEFAULT_MAX_BLOCK_WITHDRAWALS: usize =
    zkr_protocol::chunk::max_chunk_withdrawals(crate::batcher::DEFAULT_CHUNK_SLOTS);

/// What the node executes and how the proof relates to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutionMode {
    /// Only what the validity proof covers: plain value transfers, deposits and withdrawals. Contract creation,
    /// calldata, access lists and calls to precompiles are refused at admission, so state never drifts from what can
    /// be proven.
    #[default]
    Zk,
    /// Everything revm executes, for the optimistic variant (no validity proof, and no batch format yet: the batcher
    /// refuses to run in this mode).
    Full,
}

/// The chain's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSpec {
    /// EIP-155 chain id; legacy transactions without one are refused.
    pub chain_id: u64,
    /// Gas limit of every block.
    pub block_gas_limit: u64,
    /// Base fee of the first block.
    pub initial_base_fee: u64,
    /// The base fee never falls below this (EIP-1559 would otherwise decay it to almost nothing on a quiet chain).
    pub min_base_fee: u64,
    /// Receives the priority fees (the base fee is burned, as on Ethereum).
    pub fee_recipient: Address,
    /// What the node executes.
    pub mode: ExecutionMode,
    /// Largest accepted encoded transaction, in bytes.
    pub max_tx_size: usize,
    /// How far ahead of the account's next nonce a transaction may be and still wait in the pool.
    pub max_nonce_gap: u64,
    /// Most transactions the pool holds; beyond it new ones are refused (replacements still pass).
    pub max_pool_txs: usize,
    /// Most records a block holds: its deposits plus its transactions. A batch never splits a block, so this must
    /// not exceed what one batch holds (`chunk_slots * chunks_per_batch`); the batcher refuses to start otherwise.
    /// Transactions beyond it stay in the pool and deposits beyond it wait for the next block.
    pub max_block_records: usize,
    /// Most deposits a block credits; the others wait for the next block. In zk mode, at most what one chunk takes
    /// (a block within all three limits always fits one batch, see [`zkr_protocol::chunk::ChunkPacker`]).
    pub max_block_deposits: usize,
    /// Most transactions to [`WITHDRAWAL_ADDRESS`] a block includes; the others, and every later transaction of
    /// their senders, wait in the pool for the next block. In zk mode, at most what one chunk takes.
    pub max_block_withdrawals: usize,
    /// Balances at genesis.
    pub genesis_alloc: Vec<(Address, U256)>,
    /// Timestamp of the genesis block.
    pub genesis_timestamp: u64,
}

impl ChainSpec {
    /// A development chain: chain id 42_424, 30M gas blocks, base fee starting at 1 gwei with a 0.01 gwei floor,
    /// blocks of at most [`DEFAULT_MAX_BLOCK_RECORDS`] records (of them at most [`DEFAULT_MAX_BLOCK_DEPOSITS`]
    /// deposits and [`DEFAULT_MAX_BLOCK_WITHDRAWALS`] withdrawals), and no genesis balances (add them to
    /// `genesis_alloc`).
    pub fn dev() -> Self {
        Self {
            chain_id: 42_424,
            block_gas_limit: 30_000_000,
            initial_base_fee: 1_000_000_000,
            min_base_fee: 10_000_000,
            fee_recipient: Address::repeat_byte(0xfe),
            mode: ExecutionMode::Zk,
            max_tx_size: 128 * 1024,
            max_nonce_gap: 64,
            max_pool_txs: 200_000,
            max_block_records: DEFAULT_MAX_BLOCK_RECORDS,
            max_block_deposits: DEFAULT_MAX_BLOCK_DEPOSITS,
            max_block_withdrawals: DEFAULT_MAX_BLOCK_WITHDRAWALS,
            genesis_alloc: Vec::new(),
            genesis_timestamp: 0,
        }
    }

    /// The genesis state, leaf by leaf: the zero address (leaf 0, present in every tree), the fee recipient, the
    /// withdrawal counter ([`WITHDRAWAL_ADDRESS`], nonce 0), then the genesis balances in the order given (one that
    /// names an address already present updates its leaf).
    ///
    /// The fee recipient's and the counter's leaves exist from the start because the proof updates them in every
    /// transfer and withdrawal and never inserts them.
    pub fn genesis_state(&self) -> Result<zkr_state::AccountTree, zkr_state::Error> {
        self.genesis().state()
    }

    /// The genesis as a prover's replica starts from it (the same tree as [`ChainSpec::genesis_state`]).
    pub fn genesis(&self) -> zkr_protocol::Genesis {
        zkr_protocol::Genesis { fee_recipient: self.fee_recipient, alloc: self.genesis_alloc.clone() }
    }

    /// Caps blocks so that each fits one batch of `limits`: at most a batch's records, and at most one chunk's deposits
    /// and withdrawals (within these a block never closes a chunk early; see [`zkr_protocol::chunk::ChunkPacker`]).
    pub const fn fit_blocks_to(&mut self, limits: crate::batcher::BatchLimits) {
        self.max_block_records = limits.max_records();
        self.max_block_deposits = zkr_protocol::chunk::max_chunk_deposits(limits.chunk_slots);
        self.max_block_withdrawals = zkr_protocol::chunk::max_chunk_withdrawals(limits.chunk_slots);
    }

    /// Checks the parameters the rest of the node relies on.
    pub fn validate(&self) -> Result<(), String> {
        if self.fee_recipient == WITHDRAWAL_ADDRESS {
            return Err(format!("the fee recipient cannot be the withdrawal address {WITHDRAWAL_ADDRESS}"));
        }
        if self.max_block_records == 0 {
            return Err("max_block_records must be at least 1".into());
        }
        if self.max_block_deposits == 0 || self.max_block_withdrawals == 0 {
            return Err("max_block_deposits and max_block_withdrawals must be at least 1".into());
        }
        Ok(())
    }
}
