//! Deployment of the whole L1 side, recorded in the deployment file (`zkr_protocol::Deployment`).

use alloy::network::TransactionBuilder;
use alloy::{
    primitives::{Address, B256, TxHash},
    providers::Provider,
    rpc::types::TransactionReceipt,
};

use crate::{BatchVerifier, Error, Portal, Result, Rollup};

/// Gas the Rollup forwards to the verifier unless configured otherwise. The split generated verifier uses about 1.07M
/// for 1 chunk per batch (docs/perf.md) and more for more chunks (each adds 4 public inputs and the aggregation
/// circuit's size); 2.5M leaves room for that while bounding what a bad proof can burn.
pub const DEFAULT_VERIFIER_GAS_LIMIT: u64 = 2_500_000;

pub use zkr_protocol::{
    deployment::Deployment,
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
    /// Accounts allowed to finalize batches.
    pub provers: Vec<Address>,
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
    /// A configuration with the given genesis state root, no roles, no verifier, the default gas limit and the
    /// default proof shape.
    pub fn new(genesis_state_root: B256) -> Self {
        Self {
            owner: None,
            sequencers: Vec::new(),
            provers: Vec::new(),
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

    let rollup_tx = Rollup::deploy_builder(
        provider,
        deployer,
        portal,
        config.verifier.unwrap_or_default(),
        alloy::primitives::U256::from(config.verifier_gas_limit),
        alloy::primitives::U256::from(config.shape.chunks_per_batch),
        config.genesis_state_root,
    )
    .from(deployer)
    .nonce(nonce + 1);
    let rollup_receipt = confirm("deploy Rollup", rollup_tx.send().await?.get_receipt().await?)?;
    let rollup_address = deployed_at("Rollup", &rollup_receipt, planned_rollup)?;
    tracing::info!(
        target: "contracts::deploy",
        rollup = %rollup_address,
        shape = %config.shape.tag(),
        "Rollup deployed"
    );

    let rollup = Rollup::new(rollup_address, provider);
    for &sequencer in &config.sequencers {
        let pending = rollup.setSequencer(sequencer, true).from(deployer).send().await?;
        confirm("grant sequencer role", pending.get_receipt().await?)?;
    }
    for &prover in &config.provers {
        let pending = rollup.setProver(prover, true).from(deployer).send().await?;
        confirm("grant prover role", pending.get_receipt().await?)?;
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
        provers: config.provers.clone(),
        shape: config.shape,
        genesis_state_root: config.genesis_state_root,
        deployment_block: portal_receipt.block_number.unwrap_or_default(),
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
    }
}
