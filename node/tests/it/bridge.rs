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

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while node.head().deposit_count < 4 {
        assert!(std::time::Instant::now() < deadline, "deposits were not credited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    while !matches!(node.transaction(&hash).unwrap(), Some(zkr_node::TxLookup::Included { .. })) {
        assert!(std::time::Instant::now() < deadline, "the transfer was not included");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(node.account(&bob).balance, U256::from(2 * ETH + ETH / 2));
}
