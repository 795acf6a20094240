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
