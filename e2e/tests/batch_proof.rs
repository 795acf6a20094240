//! The whole validity path with real parts: the node sequences a deposit and a withdrawal and commits the batch to the
//! Rollup on anvil; a prover replays the committed chunks from genesis, proves them with real halo2 proofs (chunk
//! proofs and their aggregation, CPU), and finalizes the batch through the Rollup and the generated EVM verifier; the
//! Portal then pays the withdrawal. Bad proofs are refused on L1 without burning the gas given.
//!
//! Sizes are the smallest that work, so it runs in CI (about a quarter of an hour on 2 cores, most of it key
//! generation and the aggregation proof). Keys and the development SRS are cached in `target/zkr-e2e-keys` (or
//! `ZKR_E2E_KEYS_DIR`) across runs.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::{sync::Arc, time::Duration};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::Encodable2718,
    network::EthereumWallet,
    primitives::{Address, B256, Bytes, TxKind, U256},
    providers::{Provider, ProviderBuilder},
    rpc::client::RpcClient,
    signers::local::PrivateKeySigner,
};
use zkr_circuits::{
    ChunkShape,
    prover::{BatchProver, ProverConfig, batch_public_inputs},
};
use zkr_contracts::{DeployConfig, MAX_CODE_SIZE, Portal, Rollup, deploy_batch_verifier, deploy_l1};
use zkr_devtools::{Anvil, workspace_root};
use zkr_node::{ChainSpec, L1Config, Node, RpcConfig, run_sequencer, start_rpc, watch_deposits};
use zkr_protocol::Replayer;

const ETH: u128 = 1_000_000_000_000_000_000;
const GWEI: u128 = 1_000_000_000;
const CHUNK_SLOTS: usize = 2;
const CHUNKS_PER_BATCH: usize = 1;

fn prover_config(fee_recipient: Address) -> ProverConfig {
    let dir = std::env::var_os("ZKR_E2E_KEYS_DIR")
        .map_or_else(|| workspace_root().join("target/zkr-e2e-keys"), std::path::PathBuf::from);
    ProverConfig {
        dir,
        chunk: ChunkShape { k: 16, slots: CHUNK_SLOTS },
        chunks_per_batch: CHUNKS_PER_BATCH,
        aggregation_k: 20,
        fee_recipient,
        dev_srs: true,
    }
}

async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn signed_transfer(signer: &PrivateKeySigner, chain_id: u64, nonce: u64, to: Address, value: u128) -> Bytes {
    let mut tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10 * GWEI,
        max_priority_fee_per_gas: 2 * GWEI,
        to: TxKind::Call(to),
        value: U256::from(value),
        ..Default::default()
    };
    let signature = alloy::network::TxSignerSync::sign_transaction_sync(signer, &mut tx).unwrap();
    TxEnvelope::from(tx.into_signed(signature)).encoded_2718().into()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_batch_is_proven_finalized_on_l1_and_its_withdrawal_paid() {
    let mut spec = ChainSpec::dev();
    spec.max_block_records = CHUNK_SLOTS * CHUNKS_PER_BATCH;
    let config = prover_config(spec.fee_recipient);

    // Keys first (cached after the first run); the verifier contract comes from the aggregation circuit's key.
    let started = std::time::Instant::now();
    let prover = tokio::task::spawn_blocking(move || BatchProver::load(&config).unwrap()).await.unwrap();
    let prover = Arc::new(prover);
    eprintln!("keys ready in {:.0?}", started.elapsed());
    // The generated verifier is over mainnet's 24,576-byte code size limit; it is split into parts that each fit.
    let parts = zkr_circuits::evm::split_verifier_default(&prover.evm_verifier_source()).unwrap();
    let part_codes: Vec<Bytes> =
        parts.sources.iter().map(|(_, source)| zkr_e2e::compile_generated_verifier(source).unwrap()).collect();
    eprintln!("generated verifier: {} parts", part_codes.len());

    // anvil enforces the mainnet code size limit by default.
    let anvil = Anvil::new().spawn().unwrap();
    let keys: Vec<PrivateKeySigner> = anvil.private_keys().iter().map(|k| k.parse().unwrap()).collect();
    let l1 = |signer: &PrivateKeySigner| {
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer.clone()))
            .connect_http(anvil.endpoint().parse().unwrap())
    };
    // The sequencer (batcher) and the prover send L1 transactions concurrently: separate keys, separate nonces.
    let operator = &keys[0];
    let prover_key = &keys[3];
    let verifier =
        deploy_batch_verifier(&l1(operator), operator.address(), &part_codes, batch_public_inputs(CHUNKS_PER_BATCH))
            .await
            .unwrap();
    for (i, part) in verifier.parts.iter().enumerate() {
        let size = l1(operator).get_code_at(*part).await.unwrap().len();
        eprintln!("verifier part {i}: {size} bytes of runtime code");
        assert!(size <= MAX_CODE_SIZE);
    }

    let dir = tempfile::tempdir().unwrap();
    let node = Arc::new(Node::open(spec.clone(), dir.path()).unwrap());
    let mut deploy = DeployConfig::new(node.head().header.state_root);
    deploy.sequencers = vec![operator.address()];
    deploy.provers = vec![prover_key.address()];
    deploy.verifier = Some(verifier.verifier);
    deploy.chunks_per_batch = CHUNKS_PER_BATCH as u64;
    let deployment = deploy_l1(&l1(operator), operator.address(), &deploy).await.unwrap();

    let (_stop, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(run_sequencer(node.clone(), Duration::from_millis(100), stop.clone()));
    let (rpc_addr, _rpc) =
        start_rpc(node.clone(), RpcConfig { addr: "127.0.0.1:0".parse().unwrap(), ..Default::default() })
            .await
            .unwrap();
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
        signer: operator.clone(),
        limits: zkr_node::batcher::BatchLimits { chunk_slots: CHUNK_SLOTS, chunks_per_batch: CHUNKS_PER_BATCH },
        max_batch_age: Duration::from_secs(30),
        poll_interval: Duration::from_millis(200),
        resubmit_after: Duration::from_secs(10),
        fee_bump_percent: 15,
    };
    tokio::spawn(zkr_node::batcher::run_batcher(node.clone(), batcher, stop.clone()));

    // In: 5 ETH for alice over the bridge. Out: alice withdraws 2 ETH. Two records: one full batch.
    let alice = PrivateKeySigner::from_bytes(&B256::repeat_byte(0xa1)).unwrap();
    Portal::new(deployment.portal, l1(&keys[1]))
        .depositETH(alice.address())
        .value(U256::from(5 * ETH))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    wait_for("deposit credited", || async { (!node.account(&alice.address()).balance.is_zero()).then_some(()) }).await;
    let hash = node.submit(&signed_transfer(&alice, spec.chain_id, 0, zkr_node::WITHDRAWAL_ADDRESS, 2 * ETH)).unwrap();
    let client = RpcClient::new_http(format!("http://{rpc_addr}").parse().unwrap());
    let rollup = Rollup::new(deployment.rollup, l1(prover_key));
    wait_for("batch 1 committed", || async { (rollup.lastCommittedBatch().call().await.unwrap() >= 1).then_some(()) })
        .await;
    let batch: zkr_node::BatchInfo = client.request("rollup_getBatch", (1u64,)).await.unwrap();
    assert_eq!(batch.batch.chunks.len(), 1);

    // The prover's replica replays the committed bytes from genesis: nothing else comes from the node.
    let mut replica = Replayer::new(&spec.genesis(), CHUNK_SLOTS, CHUNKS_PER_BATCH).unwrap();
    assert_eq!(replica.state_root().unwrap(), node.block_by_number(0).unwrap().unwrap().header.state_root);
    let witnesses = replica.apply_batch(&batch.batch.chunks).unwrap();
    assert_eq!(replica.state_root().unwrap(), batch.batch.new_state_root, "the replica agrees with the node");

    let started = std::time::Instant::now();
    let proving = prover.clone();
    let proof = tokio::task::spawn_blocking(move || proving.prove_batch(witnesses, |_| {}).unwrap()).await.unwrap();
    eprintln!("batch proof in {:.0?}", started.elapsed());
    assert!(prover.verify_batch(&proof));

    // The Rollup builds the same public inputs the proof has.
    let expected = rollup
        .publicInputs(
            1,
            batch.batch.new_state_root,
            batch.chunk_data_hashes.clone(),
            batch.chunk_withdrawal_roots.clone(),
        )
        .call()
        .await
        .unwrap();
    assert_eq!(expected, proof.batch_inputs());

    let finalize = |root: B256, proof_bytes: Vec<u8>| {
        rollup
            .finalizeBatch(
                1,
                root,
                batch.chunk_data_hashes.clone(),
                batch.chunk_withdrawal_roots.clone(),
                proof_bytes.into(),
            )
            .gas(3_000_000)
    };
    let good = proof.rollup_proof_bytes();

    // Refused: a tampered proof, a wrong new state root, and the proof of this batch offered for another statement.
    // Each reverts without burning the 3M gas given (the verifier's gas is bounded).
    let mut tampered = good.clone();
    let at = tampered.len() - 100;
    tampered[at] ^= 1;
    let mut wrong_root = batch.batch.new_state_root;
    wrong_root.0[31] ^= 1;
    for (what, root, bytes) in
        [("tampered proof", batch.batch.new_state_root, tampered), ("wrong state root", wrong_root, good.clone())]
    {
        assert!(finalize(root, bytes.clone()).call().await.is_err(), "{what} accepted");
        let pending = finalize(root, bytes).send().await.unwrap();
        let receipt = pending.get_receipt().await.unwrap();
        assert!(!receipt.status(), "{what} finalized");
        assert!(receipt.gas_used < 2_500_000, "{what} burned {} gas", receipt.gas_used);
    }

    // Accepted: the real proof.
    let receipt = finalize(batch.batch.new_state_root, good.clone()).send().await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    eprintln!("finalizeBatch with the real proof: {} gas", receipt.gas_used);
    assert_eq!(rollup.lastFinalizedBatch().call().await.unwrap(), 1);
    assert_eq!(rollup.withdrawalRoots(U256::from(1)).call().await.unwrap(), batch.batch.withdrawal_root);

    // The same proof for the next batch (another statement) is refused.
    let bob = Address::repeat_byte(0xb0);
    node.submit(&signed_transfer(&alice, spec.chain_id, 1, bob, ETH)).unwrap();
    node.submit(&signed_transfer(&alice, spec.chain_id, 2, bob, ETH)).unwrap();
    wait_for("batch 2 committed", || async { (rollup.lastCommittedBatch().call().await.unwrap() >= 2).then_some(()) })
        .await;
    let next: zkr_node::BatchInfo = client.request("rollup_getBatch", (2u64,)).await.unwrap();
    let reused = rollup
        .finalizeBatch(2, next.batch.new_state_root, next.chunk_data_hashes, next.chunk_withdrawal_roots, good.into())
        .gas(3_000_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(!reused.status(), "a proof finalized another batch");
    assert!(reused.gas_used < 2_500_000);

    // The Portal pays the withdrawal against the finalized root.
    let proof: zkr_node::WithdrawalProof = wait_for("withdrawal finalized", || async {
        let found: zkr_node::WithdrawalProof = client.request("rollup_getWithdrawalProof", (hash,)).await.unwrap();
        (found.status == zkr_node::Status::Finalized).then_some(found)
    })
    .await;
    let withdrawal = Portal::Withdrawal {
        nonce: proof.withdrawal.nonce,
        from: proof.withdrawal.from,
        to: proof.withdrawal.to,
        value: proof.withdrawal.value,
    };
    let paid = Portal::new(deployment.portal, l1(&keys[2]))
        .finalizeWithdrawal(1, withdrawal, U256::from(proof.leaf_index), proof.proof)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(paid.status());
    assert_eq!(l1(&keys[2]).get_balance(alice.address()).await.unwrap(), U256::from(2 * ETH));
}
