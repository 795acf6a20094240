use alloy::primitives::{Address, U256};

/// Why a transaction was refused at submission.
///
/// Messages follow go-ethereum's wording, which wallets and libraries match on; every variant maps to JSON-RPC error
/// code -32000, as in geth.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The bytes are not a transaction.
    #[error("rlp: {0}")]
    Malformed(String),
    /// Larger than the node accepts.
    #[error("oversized data: transaction size {size}, limit {limit}")]
    Oversized {
        /// Encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A transaction type other than legacy, EIP-2930 and EIP-1559.
    #[error("transaction type not supported: type {0}")]
    UnsupportedType(u8),
    /// A legacy transaction without EIP-155 replay protection.
    #[error("only replay-protected (EIP-155) transactions allowed over RPC")]
    NotReplayProtected,
    /// Signed for another chain.
    #[error("invalid sender: invalid chain id for signer: have {have} want {want}")]
    WrongChainId {
        /// The transaction's chain id.
        have: u64,
        /// This chain's id.
        want: u64,
    },
    /// The signature does not recover to a sender.
    #[error("invalid sender: {0}")]
    InvalidSignature(String),
    /// Priority fee above the fee cap.
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
    /// The fee cap is below the current base fee.
    #[error("max fee per gas less than block base fee: address {sender}, maxFeePerGas: {max_fee}, baseFee: {base_fee}")]
    FeeCapTooLow {
        /// The sender.
        sender: Address,
        /// The transaction's fee cap.
        max_fee: u128,
        /// The current base fee.
        base_fee: u64,
    },
    /// Gas limit above the block gas limit.
    #[error("exceeds block gas limit")]
    ExceedsBlockGasLimit,
    /// Gas limit below the intrinsic cost.
    #[error("intrinsic gas too low: gas {gas}, minimum needed {minimum}")]
    IntrinsicGasTooLow {
        /// The transaction's gas limit.
        gas: u64,
        /// Its intrinsic gas.
        minimum: u64,
    },
    /// Nonce already used.
    #[error("nonce too low: next nonce {next}, tx nonce {nonce}")]
    NonceTooLow {
        /// The account's next nonce.
        next: u64,
        /// The transaction's nonce.
        nonce: u64,
    },
    /// Nonce too far ahead of the account's next one.
    #[error("nonce too high: tx nonce {nonce}, next nonce {next}, max gap {max_gap}")]
    NonceTooHigh {
        /// The account's next nonce.
        next: u64,
        /// The transaction's nonce.
        nonce: u64,
        /// How far ahead a nonce may be.
        max_gap: u64,
    },
    /// Balance below gas limit × fee cap + value.
    #[error("insufficient funds for gas * price + value: balance {balance}, tx cost {cost}, overshot {}", cost - balance)]
    InsufficientFunds {
        /// The sender's balance.
        balance: U256,
        /// The transaction's maximum cost.
        cost: U256,
    },
    /// Contract creation, refused in zk mode.
    #[error("contract creation is not supported in zk mode: the validity proof covers value transfers only")]
    CreateNotSupported,
    /// Calldata or a call to a precompile, refused in zk mode.
    #[error("contract calls are not supported in zk mode: the validity proof covers value transfers only ({0})")]
    CallNotSupported(&'static str),
    /// A non-empty access list, refused in zk mode: the proof charges a transfer exactly 21,000 gas, and the
    /// committed records carry no access list.
    #[error(
        "access lists are not supported in zk mode: the validity proof covers plain value transfers (21000 gas) only"
    )]
    AccessListNotSupported,
    /// A withdrawal must move value.
    #[error("withdrawal of zero value")]
    ZeroWithdrawal,
    /// The pool is at its limit.
    #[error("txpool is full")]
    PoolFull,
    /// The same transaction is already in the pool or the chain.
    #[error("already known")]
    AlreadyKnown,
    /// A pooled transaction with the same sender and nonce pays as much or nearly as much.
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
}

impl TxError {
    /// The JSON-RPC error code for this rejection (geth's: -32000 for every transaction rejection).
    pub const fn rpc_code(&self) -> i32 {
        -32000
    }

    /// A short fixed name of the rejection, for metric labels.
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::Oversized { .. } => "oversized",
            Self::UnsupportedType(_) => "unsupported_type",
            Self::NotReplayProtected => "not_replay_protected",
            Self::WrongChainId { .. } => "wrong_chain_id",
            Self::InvalidSignature(_) => "invalid_signature",
            Self::TipAboveFeeCap => "tip_above_fee_cap",
            Self::FeeCapTooLow { .. } => "fee_cap_too_low",
            Self::ExceedsBlockGasLimit => "exceeds_block_gas_limit",
            Self::IntrinsicGasTooLow { .. } => "intrinsic_gas_too_low",
            Self::NonceTooLow { .. } => "nonce_too_low",
            Self::NonceTooHigh { .. } => "nonce_too_high",
            Self::InsufficientFunds { .. } => "insufficient_funds",
            Self::CreateNotSupported => "create_not_supported",
            Self::CallNotSupported(_) => "call_not_supported",
            Self::AccessListNotSupported => "access_list_not_supported",
            Self::ZeroWithdrawal => "zero_withdrawal",
            Self::PoolFull => "pool_full",
            Self::AlreadyKnown => "already_known",
            Self::ReplacementUnderpriced => "replacement_underpriced",
        }
    }
}
