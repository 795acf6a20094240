//! Rust side of the rollup's L1 contracts: typed bindings and the deployment of the whole L1 side.
//!
//! ```text
//!  contracts/src/*.sol --forge--> contracts/out --scripts/contracts.sh--> artifacts/*.json (committed)
//!                                                                             |
//!                                                               sol! (ABI + bytecode) --> Rollup, Portal, BatchVerifier
//!
//!  deploy_l1(provider, config):  Portal(rollup = predicted address)
//!                                -->  Rollup(portal, verifier, gas limit, chunks per batch, genesis root)
//!                                -->  roles  -->  Deployment { addresses, proof shape, deployment block }  -->  JSON
//! ```
//!
//! The JSON file written by `zkr-deploy` (see [`Deployment`], defined in `zkr_protocol`) is how the node, the
//! coordinator and the devnet find the contracts and the proof shape. `zkr_protocol::hashes` computes, off chain, the same hashes the contracts compute on chain; the
//! integration tests check them against the deployed contracts.

mod bindings;
mod deploy;
mod error;
mod tx;

pub use bindings::{BatchVerifier, OptimisticRollup, OutputStatus, Portal, Rollup};
pub use deploy::{
    DEFAULT_VERIFIER_GAS_LIMIT, DeployConfig, Deployment, DisputeParams, MAX_CHUNKS_PER_BATCH, MAX_CODE_SIZE,
    ProofShape, SettlementMode, VerifierDeployment, deploy_batch_verifier, deploy_l1,
};
pub use error::{Error, Result};
pub use tx::{Sent, sent_status};
pub use zkr_protocol::DeploymentError;
