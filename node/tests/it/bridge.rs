//! Deposits from a real L1 (anvil with the contracts deployed) credited on L2.

use std::{sync::Arc, time::Duration};

use alloy::{
    network::EthereumWallet,
    primitives::{Address, U256},
    providers::ProviderBuilder,
    signers::local::PrivateKeySigner,
};
use zkr_contracts::{DeployConfig, Portal, deploy_l1};
use zkr_devtools::Anvil;
use zkr_node::{L1Config, Node, run_sequencer, watch_deposits};

use crate::*;

#[tokio::test(flavor = "multi_thread")]
async fn deposits_on_l1_are_credited_on_l2_in_queue_order() {
    let anvil = Anvil::new().spawn().unwrap();
    let keys: Vec<PrivateKeySigner> = anvil.private_keys().iter().map(|k| k.parse().unwrap()).collect();
    let l1 = |i: usize| {
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(keys[i].clone()))
            .connect_http(anvil.endpoint().parse().unwrap())
    };
    let deployment = deploy_l1(&l1(0), keys[0].address(), &DeployConfig::new(Default::default())).await.unwrap();

    // The L2 starts with no balances at all: everything it holds comes over the bridge.
    let dir = tempfile::tempdir().unwrap();
    let node = Arc::new(Node::open(spec_with(&[]), dir.path()).unwrap());
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(run_sequencer(node.clone(), Duration::from_millis(50), stop_rx.clone()));
    let config = L1Config {
        rpc_url: anvil.endpoint().to_string(),
        portal: deployment.portal,
        from_block: deployment.deployment_block,
        confirmations: 0,
        poll_interval: Duration::from_millis(50),
        max_block_range: 3, // several ranges per poll, to exercise the paging
    };
    tokio::spawn(watch_deposits(node.clone(), config, stop_rx));

    let alice_key = key(0xa1);
    let alice = alice_key.address();
    let bob = Address::repeat_byte(0xb0);
    let deposits = [(1usize, alice, 3 * ETH), (2, bob, ETH), (1, alice, 2 * ETH), (3, bob, ETH / 2)];
    for (sender, to, value) in deposits {
        let portal = Portal::new(deployment.portal, l1(sender));
        let receipt = portal.depositETH(to).value(U256::from(value)).send().await.unwrap().get_receipt().await.unwrap();
        assert!(receipt.status());
    }

    wait_for("deposits were not credited", || async { (node.head().deposit_count >= 4).then_some(()) }).await;
    assert_eq!(node.account(&alice).balance, U256::from(5 * ETH));
    assert_eq!(node.account(&bob).balance, U256::from(ETH + ETH / 2));

    // The L2 hash chain equals the Portal's, and the blocks hold the deposits in queue order.
    let portal = Portal::new(deployment.portal, l1(0));
    let head = node.head();
    assert_eq!(head.deposit_hash, portal.depositHashAt(4).call().await.unwrap());
    assert_eq!(head.header.mix_hash, head.deposit_hash);
    let mut nonces = Vec::new();
    for number in 1..=head.number() {
        let block = node.block_by_number(number).unwrap().unwrap();
        nonces.extend(block.deposits.iter().map(|d| d.nonce));
    }
    assert_eq!(nonces, vec![0, 1, 2, 3]);

    // Deposited funds are spendable: alice pays bob on L2 with them.
    let hash = node.submit(&sign_1559(&alice_key, transfer(node.spec().chain_id, 0, bob, ETH))).unwrap();
    wait_for("the transfer was not included", || async {
        matches!(node.transaction(&hash).unwrap(), Some(zkr_node::TxLookup::Included { .. })).then_some(())
    })
    .await;
    assert_eq!(node.account(&bob).balance, U256::from(2 * ETH + ETH / 2));
}

/// A verifier that accepts every proof, deployed from raw bytecode: test code only (the production verifier is
/// generated from the aggregation circuit). Runtime: `mstore(0, 1) return(0, 32)`.
const ACCEPT_ALL_VERIFIER: &str = "0x600a600c600039600a6000f3600160005260206000f3";

#[tokio::test(flavor = "multi_thread")]
async fn a_withdrawal_made_on_l2_is_paid_on_l1_against_the_finalized_root() {
    use alloy::{
        network::TransactionBuilder,
        primitives::Bytes,
        providers::Provider,
        rpc::{client::RpcClient, types::TransactionRequest},
    };
    use zkr_contracts::Rollup;
    use zkr_node::{RpcConfig, WithdrawalProof, start_rpc};

    let anvil = Anvil::new().spawn().unwrap();
    let keys: Vec<PrivateKeySigner> = anvil.private_keys().iter().map(|k| k.parse().unwrap()).collect();
    let l1 = |signer: &PrivateKeySigner| {
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer.clone()))
            .connect_http(anvil.endpoint().parse().unwrap())
    };
    let operator = &keys[0];
    let verifier = l1(operator)
        .send_transaction(TransactionRequest::default().with_deploy_code(ACCEPT_ALL_VERIFIER.parse::<Bytes>().unwrap()))
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap()
        .contract_address
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let spec = spec_with(&[]);
    let node = Arc::new(Node::open(spec.clone(), dir.path()).unwrap());
    let mut deploy = DeployConfig::new(node.head().header.state_root);
    deploy.sequencers = vec![operator.address()];
    deploy.provers = vec![operator.address()];
    deploy.verifier = Some(verifier);
    deploy.shape.chunks_per_batch = zkr_node::batcher::DEFAULT_CHUNKS_PER_BATCH;
    let deployment = deploy_l1(&l1(operator), operator.address(), &deploy).await.unwrap();

    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(run_sequencer(node.clone(), Duration::from_millis(50), stop_rx.clone()));
    let (rpc_addr, _rpc) =
        start_rpc(node.clone(), RpcConfig { addr: "127.0.0.1:0".parse().unwrap(), ..Default::default() })
            .await
            .unwrap();
    let watcher = L1Config {
        rpc_url: anvil.endpoint().to_string(),
        portal: deployment.portal,
        from_block: deployment.deployment_block,
        confirmations: 0,
        poll_interval: Duration::from_millis(50),
        max_block_range: 1_000,
    };
    tokio::spawn(watch_deposits(node.clone(), watcher, stop_rx));

    // In: 5 ETH deposited on L1 for alice, who has no L1 funds of her own.
    let alice = key(0xa1);
    Portal::new(deployment.portal, l1(&keys[1]))
        .depositETH(alice.address())
        .value(U256::from(5 * ETH))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    wait_for("deposit not credited", || async { (!node.account(&alice.address()).balance.is_zero()).then_some(()) })
        .await;

    // Out: alice withdraws 2 ETH on L2.
    let withdraw = sign_1559(&alice, transfer(spec.chain_id, 0, zkr_node::WITHDRAWAL_ADDRESS, 2 * ETH));
    let hash = node.submit(&withdraw).unwrap();
    let client = RpcClient::new_http(format!("http://{rpc_addr}").parse().unwrap());
    let proof: WithdrawalProof = wait_for("withdrawal not included", || async {
        client.request::<_, Option<WithdrawalProof>>("rollup_getWithdrawalProof", (hash,)).await.unwrap()
    })
    .await;
    assert_eq!(proof.withdrawal.to, alice.address());
    assert_eq!(proof.withdrawal.value, U256::from(2 * ETH));
    let block = node.block_by_number(proof.block_number).unwrap().unwrap();
    assert_eq!(proof.withdrawal_root, block.withdrawal_root);

    // The batcher seals the blocks into batches and commits them; the prover's part (finalizing each batch with its
    // roots) is done here by hand with the test verifier.
    let batcher = zkr_node::batcher::BatcherConfig {
        rpc_url: anvil.endpoint().to_string(),
        rollup: deployment.rollup,
        signer: operator.clone(),
        limits: TEST_LIMITS,
        max_batch_age: Duration::ZERO,
        poll_interval: Duration::from_millis(100),
        resubmit_after: Duration::from_secs(5),
        fee_bump_percent: 15,
    };
    let (_stop_batcher, batcher_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(zkr_node::batcher::run_batcher(node.clone(), batcher, batcher_rx));
    let target = wait_for("block not batched", || async { node.batch_of_block(block.number()).unwrap() }).await;
    let rollup = Rollup::new(deployment.rollup, l1(operator));
    wait_for("batch not committed", || async {
        (rollup.lastCommittedBatch().call().await.unwrap() >= target.index).then_some(())
    })
    .await;
    // The prover reads each batch from the node (rollup_getBatch) and finalizes it with the chunks' data hashes and
    // withdrawal roots; the Rollup computes the same batch withdrawal root as the node.
    for index in 1..=target.index {
        let batch: zkr_node::BatchInfo = client.request("rollup_getBatch", (index,)).await.unwrap();
        assert_eq!(batch.batch.chunks, node.batch(index).unwrap().unwrap().chunks);
        let receipt = rollup
            .finalizeBatch(
                index,
                batch.batch.new_state_root,
                batch.chunk_data_hashes.clone(),
                batch.chunk_withdrawal_roots.clone(),
                Bytes::new(),
            )
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status());
        assert_eq!(rollup.withdrawalRoots(U256::from(index)).call().await.unwrap(), batch.batch.withdrawal_root);
    }
    // The node learns the finality from L1 and serves the proof against the batch's tree.
    let proof: WithdrawalProof = wait_for("finality not seen", || async {
        let found: WithdrawalProof = client.request("rollup_getWithdrawalProof", (hash,)).await.unwrap();
        (found.status == zkr_node::Status::Finalized).then_some(found)
    })
    .await;
    assert_eq!(proof.batch_index, Some(target.index));
    assert_eq!(proof.withdrawal_root, target.withdrawal_root);
    // The leaf is the withdrawal's place among its chunk's withdrawals.
    let (chunk, slot) = ((proof.leaf_index >> 10) as usize, (proof.leaf_index & 1023) as usize);
    assert_eq!(target.chunk_withdrawals[chunk][slot], proof.withdrawal.leaf());
    assert_eq!(proof.withdrawal.nonce, 0, "the first withdrawal: the counter was 0");
    let batch: zkr_node::BatchInfo = client.request("rollup_getBatch", (target.index,)).await.unwrap();
    assert_eq!(batch.l1_status, zkr_node::BatchStatus::Finalized);
    let none: Option<zkr_node::BatchInfo> = client.request("rollup_getBatch", (target.index + 100,)).await.unwrap();
    assert!(none.is_none());
    let status: zkr_node::Status = client.request("rollup_getTransactionStatus", (hash,)).await.unwrap();
    assert_eq!(status, zkr_node::Status::Finalized);

    // Anyone relays the payout; alice receives exactly what she withdrew.
    let relayer = Portal::new(deployment.portal, l1(&keys[2]));
    let withdrawal = zkr_contracts::Portal::Withdrawal {
        nonce: proof.withdrawal.nonce,
        from: proof.withdrawal.from,
        to: proof.withdrawal.to,
        value: proof.withdrawal.value,
    };
    let paid = relayer
        .finalizeWithdrawal(target.index, withdrawal.clone(), U256::from(proof.leaf_index), proof.proof.clone())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(paid.status());
    assert_eq!(l1(&keys[2]).get_balance(alice.address()).await.unwrap(), U256::from(2 * ETH));
    assert_eq!(l1(&keys[2]).get_balance(deployment.portal).await.unwrap(), U256::from(3 * ETH));

    // And only once.
    let again =
        relayer.finalizeWithdrawal(target.index, withdrawal, U256::from(proof.leaf_index), proof.proof).call().await;
    assert!(again.is_err());
}
