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
