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
    primitives::{Address, B256, Bytes, U256},
    providers::Provider,
    rpc::client::RpcClient,
    signers::local::PrivateKeySigner,
};
use zkr_circuits::{
    ChunkShape,
    prover::{BatchProver, ProverConfig},
};
use zkr_contracts::{Portal, Rollup};
use zkr_devtools::workspace_root;
use zkr_e2e::{ETH, Rig, signed_transfer};
use zkr_node::ChainSpec;
use zkr_protocol::Replayer;

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

async fn wait_for<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    zkr_e2e::wait_for(what, Duration::from_secs(60), check).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_batch_is_proven_finalized_on_l1_and_its_withdrawal_paid() {
    let spec = ChainSpec::dev();
    let config = prover_config(spec.fee_recipient);

    // Keys first (cached after the first run); the verifier contract comes from the aggregation circuit's key.
    let started = std::time::Instant::now();
    let prover = tokio::task::spawn_blocking(move || BatchProver::load_all(&config).unwrap()).await.unwrap();
    let prover = Arc::new(prover);
    eprintln!("keys ready in {:.0?}", started.elapsed());
    // The generated verifier is over mainnet's 24,576-byte code size limit; it is split into parts that each fit,
    // and anvil enforces the limit.
    let parts = zkr_circuits::evm::split_verifier_default(&prover.evm_verifier_source().unwrap()).unwrap();
    let part_codes: Vec<Bytes> =
        parts.sources.iter().map(|(_, source)| zkr_e2e::compile_generated_verifier(source).unwrap()).collect();
    eprintln!("generated verifier: {} parts", part_codes.len());
    let rig = Rig::start(spec, &part_codes, CHUNK_SLOTS, CHUNKS_PER_BATCH).await.unwrap();
    let (spec, node, keys, deployment, rpc_addr) = (&rig.spec, &rig.node, &rig.keys, &rig.deployment, rig.rpc_addr);
    let l1 = |signer: &PrivateKeySigner| rig.l1(signer);
    // The sequencer (batcher) and the prover send L1 transactions concurrently: separate keys, separate nonces.
    let prover_key = &keys[3];

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
    assert!(prover.verify_batch(&proof).unwrap());

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
