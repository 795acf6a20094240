//! The batcher against a real L1: anvil with the contracts.

use std::{sync::Arc, time::Duration};

use alloy::{
    network::EthereumWallet,
    primitives::{Address, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use zkr_contracts::{DeployConfig, Deployment, Rollup, deploy_l1};
use zkr_devtools::{Anvil, AnvilInstance};
use zkr_node::{
    Node,
    batcher::{BatchLimits, BatchRecord, BatcherConfig, BatcherError, decode_batch, run_batcher},
    run_sequencer,
};

use crate::*;

struct Setup {
    anvil: AnvilInstance,
    l1: DynProvider,
    operator: PrivateKeySigner,
    deployment: Deployment,
    node: Arc<Node>,
    alice: PrivateKeySigner,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::watch::Sender<bool>,
}

async fn setup() -> Setup {
    setup_with(TEST_LIMITS.chunks_per_batch).await
}

/// anvil with the contracts (the Rollup taking `chunks_per_batch` chunks per batch) and a node producing blocks.
async fn setup_with(chunks_per_batch: usize) -> Setup {
    let anvil = Anvil::new().spawn().unwrap();
    let operator: PrivateKeySigner = anvil.private_keys()[0].parse().unwrap();
    let l1 = ProviderBuilder::new()
        .wallet(EthereumWallet::from(operator.clone()))
        .connect_http(anvil.endpoint().parse().unwrap())
        .erased();
    let alice = key(1);
    let dir = tempfile::tempdir().unwrap();
    let node = Arc::new(Node::open(spec_with(&[alice.address()]), dir.path()).unwrap());
    let mut deploy = DeployConfig::new(node.head().header.state_root);
    deploy.sequencers = vec![operator.address()];
    deploy.shape.chunks_per_batch = chunks_per_batch;
    let deployment = deploy_l1(&l1, operator.address(), &deploy).await.unwrap();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(run_sequencer(node.clone(), Duration::from_millis(50), stop_rx));
    Setup { anvil, l1, operator, deployment, node, alice, _dir: dir, _stop: stop }
}

impl Setup {
    fn config(&self) -> BatcherConfig {
        BatcherConfig {
            rpc_url: self.anvil.endpoint().to_string(),
            rollup: self.deployment.rollup,
            signer: self.operator.clone(),
            limits: TEST_LIMITS,
            max_batch_age: Duration::ZERO,
            poll_interval: Duration::from_millis(100),
            resubmit_after: Duration::from_secs(1),
            fee_bump_percent: 15,
        }
    }

    fn start_batcher(&self) -> tokio::sync::watch::Sender<bool> {
        let (stop, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(run_batcher(self.node.clone(), self.config(), rx));
        stop
    }

    async fn transfer(&self, nonce: u64) {
        let raw = sign_1559(&self.alice, transfer(self.node.spec().chain_id, nonce, Address::repeat_byte(7), 1));
        self.node.submit(&raw).unwrap();
        while self.node.pending_nonce(&self.alice.address()) > self.node.account(&self.alice.address()).nonce {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn committed(&self) -> u64 {
        Rollup::new(self.deployment.rollup, &self.l1).lastCommittedBatch().call().await.unwrap()
    }

    async fn wait_committed(&self, index: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.committed().await < index {
            assert!(std::time::Instant::now() < deadline, "batch {index} was not committed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn record(&self, index: u64) -> BatchRecord {
        self.node.store().batch(index).unwrap().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn seals_commits_and_survives_a_restart_without_duplicates() {
    let setup = setup().await;
    setup.transfer(0).await;
    let stop = setup.start_batcher();
    setup.wait_committed(1).await;

    // L1 holds exactly the batch the node sealed: its data hash is that of the chunks, which decode to the node's
    // blocks.
    let record = setup.record(1);
    let rollup = Rollup::new(setup.deployment.rollup, &setup.l1);
    let onchain = rollup.batches(1).call().await.unwrap();
    assert_eq!((onchain.batchHash, onchain.dataHash), (record.batch_hash, record.data_hash));
    assert_eq!(record.data_hash, zkr_protocol::hashes::batch_data_hash(&record.chunks));
    // The first batch starts at block 1. Empty blocks (the sequencer may seal one before the transfer arrives,
    // as it does under load) are in the batch's range but add no record, so the chunks decode to the blocks that
    // hold one.
    let decoded = decode_batch(&record.chunks).unwrap();
    assert_eq!(record.first_block, 1);
    let blocks: Vec<_> =
        (record.first_block..=record.last_block).map(|n| setup.node.block_by_number(n).unwrap().unwrap()).collect();
    let with_records: Vec<u64> = blocks
        .iter()
        .filter(|b| !b.transactions.is_empty() || !b.deposits.is_empty())
        .map(|b| b.header.number)
        .collect();
    assert_eq!(decoded.iter().map(|b| b.number).collect::<Vec<_>>(), with_records);
    assert_eq!(decoded.iter().map(|b| b.transfers.len()).sum::<usize>(), 1);
    assert_eq!(record.new_state_root, blocks.last().unwrap().header.state_root);

    // A second batch follows its parent.
    setup.transfer(1).await;
    setup.wait_committed(2).await;
    assert_eq!(setup.record(2).parent_batch_hash, record.batch_hash);

    // Restart: a new batcher over the same database sends nothing for batches L1 already holds.
    stop.send(true).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let nonce = setup.l1.get_transaction_count(setup.operator.address()).await.unwrap();
    let _stop = setup.start_batcher();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(setup.l1.get_transaction_count(setup.operator.address()).await.unwrap(), nonce);
    assert_eq!(setup.committed().await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn commits_again_when_a_reorg_drops_the_commit() {
    let setup = setup().await;
    let snapshot: U256 = setup.l1.raw_request("evm_snapshot".into(), ()).await.unwrap();
    setup.transfer(0).await;
    let stop = setup.start_batcher();
    setup.wait_committed(1).await;
    stop.send(true).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The L1 blocks holding the commit disappear.
    let reverted: bool = setup.l1.raw_request("evm_revert".into(), (snapshot,)).await.unwrap();
    assert!(reverted);
    assert_eq!(setup.committed().await, 0);

    let _stop = setup.start_batcher();
    setup.wait_committed(1).await;
    let onchain = Rollup::new(setup.deployment.rollup, &setup.l1).batches(1).call().await.unwrap();
    assert_eq!(onchain.batchHash, setup.record(1).batch_hash);
}

#[tokio::test(flavor = "multi_thread")]
async fn replaces_a_stuck_commit_with_higher_fees() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("node::batcher=debug").try_init();
    let setup = setup().await;
    setup.transfer(0).await;
    // L1 stops mining: the first commit waits in anvil's pool.
    let () = setup.l1.raw_request("evm_setAutomine".into(), (false,)).await.unwrap();
    let _stop = setup.start_batcher();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let first = loop {
        if let Some(attempt) = setup.node.store().batch::<BatchRecord>(1).unwrap().and_then(|r| r.commit) {
            break attempt;
        }
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // After `resubmit_after`, a replacement at the same nonce with higher fees.
    let replacement = loop {
        let attempt = setup.record(1).commit.unwrap();
        if attempt.tx_hash != first.tx_hash {
            break attempt;
        }
        assert!(std::time::Instant::now() < deadline, "no replacement sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(replacement.nonce, first.nonce);
    assert!(replacement.max_fee_per_gas > first.max_fee_per_gas * 110 / 100);
    assert!(replacement.max_priority_fee_per_gas > first.max_priority_fee_per_gas * 110 / 100);

    let () = setup.l1.raw_request("evm_setAutomine".into(), (true,)).await.unwrap();
    let _: serde_json::Value = setup.l1.raw_request("evm_mine".into(), ()).await.unwrap();
    setup.wait_committed(1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_to_start_with_more_chunks_than_the_rollup_takes() {
    let setup = setup_with(1).await;
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let mut config = setup.config();
    config.limits = BatchLimits { chunk_slots: 4, chunks_per_batch: 2 };
    let result = tokio::time::timeout(Duration::from_secs(20), run_batcher(setup.node.clone(), config, rx)).await;
    match result.expect("the batcher must stop on its own") {
        Err(BatcherError::Config(message)) => {
            assert!(message.contains("takes at most 1 chunks per batch"), "{message}");
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
    assert!(setup.node.store().last_batch_index().unwrap().is_none(), "nothing sealed");
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_a_batch_shape_that_blocks_may_not_fit() {
    let setup = setup().await;
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let mut config = setup.config();
    // The node's blocks hold up to 8 records; batches of 3 would split some of them.
    config.limits = BatchLimits { chunk_slots: 1, chunks_per_batch: 3 };
    let err = run_batcher(setup.node.clone(), config.clone(), rx.clone()).await.unwrap_err();
    assert!(err.to_string().contains("a block may hold 8 records but a batch only 3"), "{err}");
    config.limits = BatchLimits { chunk_slots: 3, chunks_per_batch: 4 };
    let err = run_batcher(setup.node.clone(), config, rx).await.unwrap_err();
    assert!(err.to_string().contains("chunk_slots must be a power of two"), "{err}");
}
