//! A whole chain for end-to-end tests: anvil with the L1 contracts (the real, split batch verifier), a node with its
//! sequencer, RPC, deposit watcher and batcher.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use alloy::{
    network::EthereumWallet,
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
};
use eyre::Context;
use zkr_contracts::{
    DeployConfig, Deployment, DisputeParams, MAX_CODE_SIZE, Portal, ProofShape, SettlementMode, VerifierDeployment,
    deploy_batch_verifier, deploy_l1,
};
use zkr_devtools::{Anvil, AnvilInstance};
use zkr_node::{ChainSpec, L1Config, Node, RpcConfig, run_sequencer, start_rpc, watch_deposits};

/// One ether in wei.
pub const ETH: u128 = 1_000_000_000_000_000_000;
pub use zkr_node::dev::{GWEI, signed_transfer};

/// anvil, the L1 contracts and a node, all running.
#[derive(Debug)]
pub struct Rig {
    /// The L1.
    pub anvil: AnvilInstance,
    /// anvil's funded keys: 0 operator (sequencer), 1 depositor, 2 withdrawal payer, 3 prover (in the optimistic
    /// mode: the coordinator's challenger and defender), 4 a second prover (for tests that send `finalizeBatch`
    /// themselves beside a prover that holds key 3), 5 free (a griefer), 6 the optimistic mode's proposer.
    pub keys: Vec<PrivateKeySigner>,
    /// The chain spec the node runs.
    pub spec: ChainSpec,
    /// The node.
    pub node: Arc<Node>,
    /// The node's JSON-RPC address.
    pub rpc_addr: SocketAddr,
    /// The L1 contracts.
    pub deployment: Deployment,
    /// The batch verifier's parts; `None` when the Rollup was deployed without one (finalization disabled).
    pub verifier: Option<VerifierDeployment>,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::watch::Sender<bool>,
    /// The RPC server stops when its handle is dropped.
    _rpc: Box<dyn std::any::Any + Send + Sync>,
}

/// How the rig's batches become final.
#[derive(Debug, Clone, Default)]
pub enum Settlement {
    /// The ZK mode: the Rollup, finalized with a proof per batch.
    #[default]
    Zk,
    /// The optimistic mode: the OptimisticRollup, and the node's proposer (key 6) posting outputs.
    Optimistic {
        /// The dispute parameters.
        dispute: DisputeParams,
        /// Batches whose first output the proposer posts with a wrong state root.
        wrong_root_batches: Vec<u64>,
    },
}

impl Rig {
    /// Starts anvil (mainnet code size limit), deploys the split verifier from `verifier_parts` (creation code) and the
    /// L1 contracts, and starts a node whose batcher commits chunks of `chunk_slots` records, `chunks_per_batch` per
    /// batch. The prover role goes to keys 3 and 4. With no `verifier_parts` the Rollup is deployed without a
    /// verifier, as an operator may before the keys exist: batches are committed, and finalization is refused until
    /// the owner sets one (for tests that never finalize, and need no aggregation keys).
    pub async fn start(spec: ChainSpec, verifier_parts: &[Bytes], shape: ProofShape) -> eyre::Result<Self> {
        Self::start_with(spec, verifier_parts, shape, Settlement::Zk).await
    }

    /// [`Rig::start`] in the given settlement mode. In the optimistic mode the proposer role goes to key 6, and the
    /// node runs its proposer.
    pub async fn start_with(
        mut spec: ChainSpec,
        verifier_parts: &[Bytes],
        shape: ProofShape,
        settlement: Settlement,
    ) -> eyre::Result<Self> {
        spec.fit_blocks_to(shape.into());
        let anvil = Anvil::new().spawn()?;
        let keys: Vec<PrivateKeySigner> =
            anvil.private_keys().iter().map(|k| k.parse()).collect::<Result<_, _>>().wrap_err("anvil keys")?;
        let operator = keys[0].clone();
        let l1 = l1_provider(anvil.endpoint(), &operator)?;
        let public_inputs = zkr_protocol::statement::batch_statement_len(shape.chunks_per_batch);
        let verifier = if verifier_parts.is_empty() {
            None
        } else {
            let verifier = deploy_batch_verifier(&l1, operator.address(), verifier_parts, public_inputs).await?;
            for part in &verifier.parts {
                eyre::ensure!(l1.get_code_at(*part).await?.len() <= MAX_CODE_SIZE, "a verifier part is over the limit");
            }
            Some(verifier)
        };

        let dir = tempfile::tempdir()?;
        let node = Arc::new(Node::open(spec.clone(), dir.path())?);
        let mut deploy = DeployConfig::new(node.head().header.state_root);
        deploy.sequencers = vec![operator.address()];
        match &settlement {
            Settlement::Zk => deploy.provers = vec![keys[3].address(), keys[4].address()],
            Settlement::Optimistic { dispute, .. } => {
                deploy.mode = SettlementMode::Optimistic;
                deploy.proposers = vec![keys[6].address()];
                deploy.dispute = *dispute;
            }
        }
        deploy.verifier = verifier.as_ref().map(|v| v.verifier);
        deploy.shape = shape;
        // A fresh provider: deploy_l1 sets nonces itself, which a provider's nonce cache would not know.
        let deployment = deploy_l1(&l1_provider(anvil.endpoint(), &operator)?, operator.address(), &deploy).await?;

        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        tokio::spawn(run_sequencer(node.clone(), Duration::from_millis(100), stop.clone()));
        let (rpc_addr, rpc) =
            start_rpc(node.clone(), RpcConfig { addr: "127.0.0.1:0".parse()?, ..Default::default() }).await?;
        let watcher = L1Config {
            rpc_url: anvil.endpoint().to_string(),
            portal: deployment.portal,
            from_block: deployment.deployment_block,
            confirmations: 0,
            poll_interval: Duration::from_millis(100),
            max_block_range: 1_000,
        };
        tokio::spawn(watch_deposits(node.clone(), watcher, stop.clone()));
        let batcher = zkr_node::batcher::BatcherConfig {
            rpc_url: anvil.endpoint().to_string(),
            rollup: deployment.rollup,
            signer: operator,
            limits: shape.into(),
            max_batch_age: Duration::from_secs(30),
            poll_interval: Duration::from_millis(200),
            resubmit_after: Duration::from_secs(10),
            fee_bump_percent: 15,
        };
        tokio::spawn(zkr_node::batcher::run_batcher(node.clone(), batcher, stop.clone()));
        if let Settlement::Optimistic { wrong_root_batches, .. } = settlement {
            let proposer = zkr_node::batcher::ProposerConfig {
                rpc_url: anvil.endpoint().to_string(),
                rollup: deployment.rollup,
                signer: keys[6].clone(),
                poll_interval: Duration::from_millis(200),
                wrong_root_batches: wrong_root_batches.into_iter().collect(),
            };
            tokio::spawn(zkr_node::batcher::run_proposer(node.clone(), proposer, stop));
        }
        Ok(Self {
            anvil,
            keys,
            spec,
            node,
            rpc_addr,
            deployment,
            verifier,
            _dir: dir,
            _stop: stop_tx,
            _rpc: Box::new(rpc),
        })
    }

    /// Deposits `wei` for `to` through the Portal (paid by key 1) and waits until the node credits it.
    pub async fn deposit(&self, to: Address, wei: u128) {
        Portal::new(self.deployment.portal, self.l1(&self.keys[1]))
            .depositETH(to)
            .value(U256::from(wei))
            .send()
            .await
            .unwrap_or_else(|e| panic!("sending the deposit: {e}"))
            .get_receipt()
            .await
            .unwrap_or_else(|e| panic!("the deposit's receipt: {e}"));
        wait_for("deposit credited", Duration::from_secs(60), || async {
            (!self.node.account(&to).balance.is_zero()).then_some(())
        })
        .await;
    }

    /// Waits until the node reports the withdrawal made by L2 transaction `tx` as final, then has the Portal pay it
    /// from batch `batch` (sent by key 2, the withdrawal payer), and returns the receipt.
    pub async fn pay_withdrawal(&self, tx: alloy::primitives::B256, batch: u64) -> TransactionReceipt {
        let l2 = alloy::rpc::client::RpcClient::new_http(
            format!("http://{}", self.rpc_addr).parse().unwrap_or_else(|e| panic!("the node's URL: {e}")),
        );
        let proof: zkr_node::WithdrawalProof = wait_for("the withdrawal final", Duration::from_secs(60), || async {
            let found: zkr_node::WithdrawalProof = l2.request("rollup_getWithdrawalProof", (tx,)).await.ok()?;
            (found.status == zkr_node::Status::Finalized).then_some(found)
        })
        .await;
        let withdrawal = Portal::Withdrawal {
            nonce: proof.withdrawal.nonce,
            from: proof.withdrawal.from,
            to: proof.withdrawal.to,
            value: proof.withdrawal.value,
        };
        Portal::new(self.deployment.portal, self.l1(&self.keys[2]))
            .finalizeWithdrawal(batch, withdrawal, U256::from(proof.leaf_index), proof.proof)
            .send()
            .await
            .unwrap_or_else(|e| panic!("sending the withdrawal: {e}"))
            .get_receipt()
            .await
            .unwrap_or_else(|e| panic!("the withdrawal's receipt: {e}"))
    }

    /// A provider that signs with `signer`.
    pub fn l1(&self, signer: &PrivateKeySigner) -> DynProvider {
        l1_provider(self.anvil.endpoint(), signer).unwrap_or_else(|e| panic!("provider: {e}"))
    }
}

fn l1_provider(endpoint: &str, signer: &PrivateKeySigner) -> eyre::Result<DynProvider> {
    Ok(ProviderBuilder::new().wallet(EthereumWallet::from(signer.clone())).connect_http(endpoint.parse()?).erased())
}

/// Polls `check` every 100 ms until it returns a value, or panics after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
