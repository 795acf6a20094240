use alloy_primitives::{B256, U256};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the state commitment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A 32-byte word is not below the BN254 scalar field order.
    #[error("{0} is not an element of the BN254 scalar field")]
    NotAFieldElement(B256),
    /// A balance does not fit the leaf's 128 bits.
    #[error("balance {0} exceeds the 128-bit maximum")]
    BalanceTooLarge(U256),
    /// The address already has a leaf.
    #[error("address {0} already has a leaf")]
    AlreadyPresent(alloy_primitives::Address),
    /// All 2^32 leaves are used.
    #[error("the account tree is full")]
    TreeFull,
    /// Stored leaves do not form a valid tree.
    #[error("corrupt account tree: {0}")]
    CorruptTree(&'static str),
}
