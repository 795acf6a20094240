use alloy::{
    contract,
    primitives::{Address, TxHash},
    providers::PendingTransactionError,
    transports::TransportError,
};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors from deploying or talking to the L1 contracts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The RPC endpoint failed or refused a request.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A contract call or transaction failed (including reverts, with their data).
    #[error(transparent)]
    Contract(#[from] contract::Error),
    /// A sent transaction could not be tracked to its receipt.
    #[error(transparent)]
    PendingTransaction(#[from] PendingTransactionError),
    /// A transaction was mined but reverted.
    #[error("{what}: transaction {tx} reverted")]
    Reverted {
        /// What the transaction was for.
        what: &'static str,
        /// Its hash.
        tx: TxHash,
    },
    /// A contract landed at an unexpected address, because another transaction from the deployer took the nonce
    /// the deployment had planned for.
    #[error("{what} deployed at {actual}, expected {expected}: was the deployer key used concurrently?")]
    UnexpectedAddress {
        /// Which contract.
        what: &'static str,
        /// The planned address.
        expected: Address,
        /// Where it landed.
        actual: Address,
    },
    /// The configured verifier address holds no code.
    #[error("verifier {0} has no code on this chain")]
    VerifierHasNoCode(Address),
    /// A verifier was to be deployed from no parts.
    #[error("a batch verifier needs at least one part")]
    NoVerifierParts,
    /// A verifier part's runtime code is over Ethereum's 24,576-byte limit (EIP-170): split the verifier further.
    #[error("verifier part {index} has {size} bytes of runtime code, over the 24,576-byte limit")]
    CodeTooLarge {
        /// The part's position.
        index: usize,
        /// Its runtime code size.
        size: usize,
    },
    /// The configured proof shape is invalid (chunks per batch outside the range the Rollup accepts, among others).
    #[error("invalid proof shape: {0}")]
    InvalidShape(String),
    /// The optimistic mode's dispute parameters are outside what the contract accepts.
    #[error("invalid dispute parameters: {0}")]
    InvalidDisputeParams(String),
    /// The deployment file could not be read or written.
    #[error(transparent)]
    Deployment(#[from] zkr_protocol::DeploymentError),
}

impl Error {
    /// Whether retrying the same request later may succeed (the endpoint, not the request, failed).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(err) => err.is_transport_error(),
            Self::PendingTransaction(_) => true,
            _ => false,
        }
    }
}
