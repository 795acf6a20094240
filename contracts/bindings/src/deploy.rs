//! Deployment of the whole L1 side, recorded in the deployment file (`zkr_protocol::Deployment`).

use alloy::network::TransactionBuilder;
use alloy::{
    primitives::{Address, B256, TxHash},
    providers::Provider,
    rpc::types::TransactionReceipt,
};

use crate::{BatchVerifier, Error, OptimisticRollup, Portal, Result, Rollup};

/// Gas the Rollup forwards to the verifier unless configured otherwise. The split generated verifier uses about 1.07M
/// for 1 chunk per batch (docs/perf.md) and more for more chunks (each adds 4 public inputs and the aggregation
/// circuit's size); 2.5M leaves room for that while bounding what a bad proof can burn.
pub const DEFAULT_VERIFIER_GAS_LIMIT: u64 = 2_500_000;

pub use zkr_protocol::{
    deployment::{Deployment, DisputeParams, SettlementMode},
    shape::{MAX_CHUNKS_PER_BATCH, ProofShape},
};

/// What to deploy.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    /// The Rollup's owner. When it differs from the deployer, ownership is offered to it (two-step: it must call
    /// `acceptOwnership`); until then the deployer remains the owner.
    pub owner: Option<Address>,
    /// Accounts allowed to commit batches.
    pub sequencers: Vec<Address>,
    /// Accounts allowed to finalize batches (ZK mode).
    pub provers: Vec<Address>,
    /// How batches become final: the contract deployed (`Rollup` or `OptimisticRollup`).
    pub mode: SettlementMode,
    /// Accounts allowed to propose outputs (optimistic mode).
    pub proposers: Vec<Address>,
    /// The dispute parameters (optimistic mode).
    pub dispute: DisputeParams,
    /// The batch proof verifier; `None` deploys with finalization disabled until the owner sets one.
    pub verifier: Option<Address>,
    /// Gas forwarded to the verifier.
    pub verifier_gas_limit: u64,
    /// The proof shape: the Rollup takes its `chunksPerBatch` (which cannot change after deployment), and the
    /// deployment file records all of it for the node, the coordinator and the workers. It must match the circuits
    /// behind the verifier.
    pub shape: ProofShape,
    /// The L2 genesis state root (batch 0's state root).
    pub genesis_state_root: B256,
}

impl DeployConfig {
    /// A ZK-mode configuration with the given genesis state root, no roles, no verifier, the default gas limit and
    /// the default proof shape (and the default dispute parameters, should the mode be switched).
    pub fn new(genesis_state_root: B256) -> Self {
        Self {
            owner: None,
            sequencers: Vec::new(),
            provers: Vec::new(),
            mode: SettlementMode::Zk,
            proposers: Vec::new(),
            dispute: DisputeParams::DEFAULT,
            verifier: None,
            verifier_gas_limit: DEFAULT_VERIFIER_GAS_LIMIT,
            shape: ProofShape::DEFAULT,
            genesis_state_root,
        }
    }
}

/// Deploys the Portal and the Rollup from `deployer`, grants roles, and returns where they are.
///
/// The two contracts refer to each other through immutables: the Portal is deployed first with the address the
/// Rollup will get (the deployer's next nonce), and the Rollup's constructor checks that the Portal points back
/// at it. The deployer key must not send other transactions meanwhile.
pub async fn deploy_l1<P: Provider>(provider: &P, deployer: Address, config: &DeployConfig) -> Result<Deployment> {
    // Checked before anything is sent: the Rollup's constructor would refuse it after the Portal was deployed.
    config.shape.validate().map_err(Error::InvalidShape)?;
    let params = dispute_params(&config.dispute)?;
    let chain_id = provider.get_chain_id().await?;
    if let Some(verifier) = config.verifier
        && provider.get_code_at(verifier).await?.is_empty()
    {
        return Err(Error::VerifierHasNoCode(verifier));
    }

    let nonce = provider.get_transaction_count(deployer).pending().await?;
    let planned_rollup = deployer.create(nonce + 1);

    let portal_tx = Portal::deploy_builder(provider, planned_rollup).from(deployer).nonce(nonce);
    let portal_receipt = confirm("deploy Portal", portal_tx.send().await?.get_receipt().await?)?;
    let portal = deployed_at("Portal", &portal_receipt, deployer.create(nonce))?;
    tracing::info!(target: "contracts::deploy", %portal, block = ?portal_receipt.block_number, "Portal deployed");

    let verifier = config.verifier.unwrap_or_default();
    let gas_limit = alloy::primitives::U256::from(config.verifier_gas_limit);
    let chunks = alloy::primitives::U256::from(config.shape.chunks_per_batch);
    let rollup_receipt = match config.mode {
        SettlementMode::Zk => {
            let tx = Rollup::deploy_builder(
                provider,
                deployer,
                portal,
                verifier,
                gas_limit,
                chunks,
                config.genesis_state_root,
            );
            confirm("deploy Rollup", tx.from(deployer).nonce(nonce + 1).send().await?.get_receipt().await?)?
        }
        SettlementMode::Optimistic => {
            let tx = OptimisticRollup::deploy_builder(
                provider,
                deployer,
                portal,
                verifier,
                gas_limit,
                chunks,
                config.genesis_state_root,
                params,
            );
            confirm("deploy OptimisticRollup", tx.from(deployer).nonce(nonce + 1).send().await?.get_receipt().await?)?
        }
    };
    let rollup_address = deployed_at("Rollup", &rollup_receipt, planned_rollup)?;
    tracing::info!(
        target: "contracts::deploy",
        rollup = %rollup_address,
        mode = %config.mode,
        shape = %config.shape.tag(),
        "Rollup deployed"
    );

    let rollup = Rollup::new(rollup_address, provider);
    for &sequencer in &config.sequencers {
        let pending = rollup.setSequencer(sequencer, true).from(deployer).send().await?;
        confirm("grant sequencer role", pending.get_receipt().await?)?;
    }
    match config.mode {
        SettlementMode::Zk => {
            for &prover in &config.provers {
                let pending = rollup.setProver(prover, true).from(deployer).send().await?;
                confirm("grant prover role", pending.get_receipt().await?)?;
            }
        }
        SettlementMode::Optimistic => {
            let optimistic = OptimisticRollup::new(rollup_address, provider);
            for &proposer in &config.proposers {
                let pending = optimistic.setProposer(proposer, true).from(deployer).send().await?;
                confirm("grant proposer role", pending.get_receipt().await?)?;
            }
        }
    }
    let pending_owner = match config.owner.filter(|owner| *owner != deployer) {
        Some(owner) => {
            let pending = rollup.transferOwnership(owner).from(deployer).send().await?;
            confirm("offer ownership", pending.get_receipt().await?)?;
            Some(owner)
        }
        None => None,
    };

    Ok(Deployment {
        chain_id,
        rollup: rollup_address,
        portal,
        verifier: config.verifier,
        owner: deployer,
        pending_owner,
        sequencers: config.sequencers.clone(),
        provers: if config.mode == SettlementMode::Zk { config.provers.clone() } else { Vec::new() },
        mode: config.mode,
        proposers: if config.mode == SettlementMode::Optimistic { config.proposers.clone() } else { Vec::new() },
        dispute: (config.mode == SettlementMode::Optimistic).then_some(config.dispute),
        shape: config.shape,
        genesis_state_root: config.genesis_state_root,
        deployment_block: portal_receipt.block_number.unwrap_or_default(),
    })
}

/// The contract's form of `params`, after the checks its constructor makes (so nothing is sent that would revert).
fn dispute_params(params: &DisputeParams) -> Result<OptimisticRollup::DisputeParams> {
    const MAX_WINDOW: u64 = 30 * 24 * 3600;
    for (name, window) in [("challenge window", params.challenge_window), ("proving window", params.proving_window)] {
        if window == 0 || window > MAX_WINDOW {
            return Err(Error::InvalidDisputeParams(format!("{name} {window} s is not within 1 s to 30 days")));
        }
    }
    let bond = |name: &str, wei: alloy::primitives::U256| {
        u128::try_from(wei).map_err(|_| Error::InvalidDisputeParams(format!("{name} {wei} wei does not fit 128 bits")))
    };
    Ok(OptimisticRollup::DisputeParams {
        challengeWindow: params.challenge_window,
        provingWindow: params.proving_window,
        proposerBond: bond("proposer bond", params.proposer_bond)?,
        challengerBond: bond("challenger bond", params.challenger_bond)?,
    })
}

/// Ethereum mainnet's limit on a contract's runtime code (EIP-170).
pub const MAX_CODE_SIZE: usize = 24_576;

/// A deployed batch proof verifier: the parts of the generated halo2 verifier and the `BatchVerifier` that chains
/// them (the address to give the Rollup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierDeployment {
    /// `BatchVerifier`, the Rollup's `IVerifier`.
    pub verifier: Address,
    /// The parts, in the order they run.
    pub parts: Vec<Address>,
}

/// Deploys the parts of a split generated verifier from their creation code (`zkr_circuits::evm` splits the
/// source; solc 0.8.19 compiles it), then the `BatchVerifier` that runs them, for `public_inputs` Rollup inputs
/// (`6 + 4 * chunksPerBatch`).
///
/// Every part's runtime code is checked against [`MAX_CODE_SIZE`] before the next is sent, so a chain that runs
/// without the limit (a devnet's anvil with `--code-size-limit`) still gets a verifier that would deploy on mainnet.
pub async fn deploy_batch_verifier<P: Provider>(
    provider: &P,
    deployer: Address,
    part_codes: &[alloy::primitives::Bytes],
    public_inputs: usize,
) -> Result<VerifierDeployment> {
    if part_codes.is_empty() {
        return Err(Error::NoVerifierParts);
    }
    let mut parts = Vec::with_capacity(part_codes.len());
    for (index, code) in part_codes.iter().enumerate() {
        let tx = alloy::rpc::types::TransactionRequest::default().from(deployer).with_deploy_code(code.clone());
        let receipt = confirm("deploy a verifier part", provider.send_transaction(tx).await?.get_receipt().await?)?;
        let address = receipt
            .contract_address
            .ok_or(Error::Reverted { what: "deploy a verifier part", tx: tx_hash(&receipt) })?;
        let size = provider.get_code_at(address).await?.len();
        if size > MAX_CODE_SIZE {
            return Err(Error::CodeTooLarge { index, size });
        }
        tracing::info!(target: "contracts::deploy", index, %address, size, "verifier part deployed");
        parts.push(address);
    }
    let tx = BatchVerifier::deploy_builder(provider, parts.clone(), alloy::primitives::U256::from(public_inputs))
        .from(deployer);
    let receipt = confirm("deploy BatchVerifier", tx.send().await?.get_receipt().await?)?;
    let verifier =
        receipt.contract_address.ok_or(Error::Reverted { what: "deploy BatchVerifier", tx: tx_hash(&receipt) })?;
    tracing::info!(target: "contracts::deploy", %verifier, parts = parts.len(), "BatchVerifier deployed");
    Ok(VerifierDeployment { verifier, parts })
}

fn confirm(what: &'static str, receipt: TransactionReceipt) -> Result<TransactionReceipt> {
    if receipt.status() { Ok(receipt) } else { Err(Error::Reverted { what, tx: tx_hash(&receipt) }) }
}

fn tx_hash(receipt: &TransactionReceipt) -> TxHash {
    receipt.transaction_hash
}

fn deployed_at(what: &'static str, receipt: &TransactionReceipt, expected: Address) -> Result<Address> {
    let actual = receipt.contract_address.unwrap_or_default();
    if actual == expected { Ok(actual) } else { Err(Error::UnexpectedAddress { what, expected, actual }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_has_the_default_shape() {
        let config = DeployConfig::new(B256::ZERO);
        assert_eq!(config.shape, ProofShape::DEFAULT);
        assert_eq!(config.shape.validate(), Ok(()));
        assert_eq!(config.mode, SettlementMode::Zk);
    }

    #[test]
    fn dispute_params_outside_the_contracts_range_are_refused_before_sending() {
        let ok = dispute_params(&DisputeParams::DEFAULT).unwrap();
        assert_eq!((ok.challengeWindow, ok.provingWindow), (86_400, 259_200));
        assert_eq!((ok.proposerBond, ok.challengerBond), (10u128.pow(18), 10u128.pow(17)));
        for bad in [
            DisputeParams { challenge_window: 0, ..DisputeParams::DEFAULT },
            DisputeParams { proving_window: 31 * 24 * 3600, ..DisputeParams::DEFAULT },
            DisputeParams { proposer_bond: alloy::primitives::U256::MAX, ..DisputeParams::DEFAULT },
        ] {
            assert!(matches!(dispute_params(&bad), Err(Error::InvalidDisputeParams(_))), "{bad:?}");
        }
    }
}
