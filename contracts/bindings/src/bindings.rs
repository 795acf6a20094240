//! Bindings generated from the artifacts exported by `scripts/contracts.sh`.

#![allow(missing_docs, unreachable_pub)]

alloy::sol!(
    /// The Rollup contract: batch commits, finalization with a validity proof, state and withdrawal roots.
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    Rollup,
    "artifacts/Rollup.json"
);

alloy::sol!(
    /// The Portal contract: the ETH bridge (deposit queue and withdrawal payouts).
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    Portal,
    "artifacts/Portal.json"
);

alloy::sol!(
    /// The Rollup's verifier: adapts the EVM verifier generated from the aggregation circuit to `IVerifier`.
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    BatchVerifier,
    "artifacts/BatchVerifier.json"
);

/// The optimistic mode's contract, in a module of its own: its ABI names the shared `RollupBase.Batch` struct too,
/// which `Rollup`'s bindings above already define.
#[allow(clippy::too_many_arguments)] // the generated constructor takes the contract's seven arguments and the provider
pub mod optimistic {
    alloy::sol!(
        /// The optimistic mode's settlement contract: commits as `Rollup`, then outputs proposed with a bond,
        /// challenged within a window, and defended with the batch's validity proof.
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        OptimisticRollup,
        "artifacts/OptimisticRollup.json"
    );
}

pub use optimistic::OptimisticRollup;

/// Where an optimistic output stands (`OptimisticRollup.OutputStatus`, which the ABI carries as a `uint8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputStatus {
    /// No such output.
    None,
    /// Proposed, within or past its challenge window, not challenged.
    Proposed,
    /// Challenged, waiting for a proof or the end of its proving window.
    Challenged,
    /// Final.
    Final,
    /// Lost to a challenge, or with its parent.
    Lost,
}

impl OutputStatus {
    /// The status of an output as the contract returns it (`outputs(id).status`).
    pub fn of(raw: u8) -> Option<Self> {
        [Self::None, Self::Proposed, Self::Challenged, Self::Final, Self::Lost].get(usize::from(raw)).copied()
    }

    /// Whether the output is settled (final or lost).
    pub const fn is_settled(self) -> bool {
        matches!(self, Self::Final | Self::Lost)
    }
}
