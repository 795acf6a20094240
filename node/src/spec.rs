//! The chain's fixed parameters.

use alloy::primitives::{Address, U256, address};

/// Value sent to this address leaves L2: the sender is debited as for any transfer, no account is credited, and a
/// withdrawal of that value to the sender's own address on L1 is added to the block's withdrawal tree. It is the
/// first address after the precompile range and never holds a balance.
pub const WITHDRAWAL_ADDRESS: Address = address!("0x0000000000000000000000000000000000000100");

/// What the node executes and how the proof relates to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutionMode {
    /// Only what the validity proof covers: value transfers (and, later, deposits and withdrawals). Contract
    /// creation, calldata and calls to precompiles are refused at admission, so state never drifts from what can be
    /// proven.
    #[default]
    Zk,
    /// Everything revm executes, for the optimistic variant (no validity proof).
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
    /// Balances at genesis.
    pub genesis_alloc: Vec<(Address, U256)>,
    /// Timestamp of the genesis block.
    pub genesis_timestamp: u64,
}

impl ChainSpec {
    /// A development chain: chain id 42_424, 30M gas blocks, base fee starting at 1 gwei with a 0.01 gwei floor, and
    /// no genesis balances (add them to `genesis_alloc`).
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
            genesis_alloc: Vec::new(),
            genesis_timestamp: 0,
        }
    }
}

impl ChainSpec {
    /// The genesis state: the zero address's leaf, then the genesis balances in the order given.
    pub fn genesis_state(&self) -> Result<zkr_state::AccountTree, zkr_state::Error> {
        let mut tree = zkr_state::AccountTree::new();
        for (address, balance) in &self.genesis_alloc {
            tree.set(*address, zkr_state::Account { nonce: 0, balance: *balance })?;
        }
        Ok(tree)
    }
}
