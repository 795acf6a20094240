//! The JSON-RPC methods libraries and explorers call beyond sending and reading: refusals in `eth_call` and
//! `eth_estimateGas` worded as admission words them, block and index lookups, filters, and websocket subscriptions.

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, Bytes, U64, U128, U256},
    rpc::{
        client::RpcClient,
        types::{Filter, Header, TransactionReceipt},
    },
    transports::RpcError,
};
use jsonrpsee::{
    core::client::{ClientT, Subscription, SubscriptionClientT},
    rpc_params,
    ws_client::WsClientBuilder,
};
use serde_json::{Value, json};

use crate::{rpc::start, *};

/// Calls `method` and returns the error (code, message) it must produce.
async fn rpc_error(client: &RpcClient, method: &'static str, params: Value) -> (i64, String) {
    match client.request::<_, Value>(method, params).await {
        Err(RpcError::ErrorResp(payload)) => (payload.code, payload.message.to_string()),
        other => panic!("{method}: expected an error response, got {other:?}"),
    }
}

async fn wait_receipt(client: &RpcClient, hash: B256) -> TransactionReceipt {
    wait_for("the receipt", || async {
        client.request::<_, Option<TransactionReceipt>>("eth_getTransactionReceipt", (hash,)).await.unwrap()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn call_and_estimate_refuse_in_the_words_of_admission() {
    let alice = key(1);
    let node = start(&[alice.address()]).await;
    let client = RpcClient::new_http(node.url.parse().unwrap());
    let from = alice.address();
    let to = Address::repeat_byte(0x42);
    // Idle blocks lower the base fee towards the floor while the test runs: a cap below the floor is below every base
    // fee the node can have.
    let below_every_base_fee = node.node.spec().min_base_fee - 1;

    let estimate: U64 =
        client.request("eth_estimateGas", (json!({"from": from, "to": to, "value": "0x1"}),)).await.unwrap();
    assert_eq!(estimate.to::<u64>(), 21_000);
    // A wallet that names its fee cap (as viem does) gets an estimate: the gas allowance is what the balance pays.
    let request = json!({"from": from, "to": to, "value": "0x1", "maxFeePerGas": "0x2540be400"});
    let estimate: U64 = client.request("eth_estimateGas", (request,)).await.unwrap();
    assert_eq!(estimate.to::<u64>(), 21_000);

    let too_much = format!("{:#x}", 11 * ETH);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "value above the balance",
            json!({"from": from, "to": to, "value": too_much}),
            "insufficient funds for gas * price + value",
        ),
        (
            "value above the balance, with a fee cap",
            json!({"from": from, "to": to, "value": too_much, "maxFeePerGas": "0x2540be400"}),
            "insufficient funds for gas * price + value",
        ),
        (
            "gas below intrinsic",
            json!({"from": from, "to": to, "gas": "0x5208", "input": "0x01"}),
            "intrinsic gas too low",
        ),
        (
            "fee cap below the base fee",
            json!({"from": from, "to": to, "gas": "0x5208", "maxFeePerGas": format!("{below_every_base_fee:#x}")}),
            "max fee per gas less than block base fee",
        ),
        (
            "tip above the fee cap",
            json!({"from": from, "to": to, "gas": "0x5208", "maxFeePerGas": "0x2540be400", "maxPriorityFeePerGas": "0x2540be401"}),
            "max priority fee per gas higher than max fee per gas",
        ),
    ];
    for (what, request, expected) in &cases {
        for method in ["eth_call", "eth_estimateGas"] {
            if *what == "gas below intrinsic" && method == "eth_estimateGas" {
                // In zk mode the calldata is refused first (below).
                continue;
            }
            let (code, message) = rpc_error(&client, method, json!([request, "latest"])).await;
            assert_eq!(code, -32000, "{method}, {what}: {message}");
            assert!(message.starts_with(expected), "{method}, {what}: {message}");
        }
    }

    // What the sequencer refuses in zk mode is refused by eth_estimateGas in the same words, not estimated.
    let zk_cases: Vec<(Value, &str)> = vec![
        (json!({"from": from, "to": to, "input": "0x12345678"}), "contract calls are not supported in zk mode"),
        (json!({"from": from, "input": "0x6000"}), "contract creation is not supported in zk mode"),
        (
            json!({"from": from, "to": "0x0000000000000000000000000000000000000001", "value": "0x1"}),
            "contract calls are not supported in zk mode",
        ),
        (
            json!({"from": from, "to": to, "accessList": [{"address": to, "storageKeys": []}]}),
            "access lists are not supported in zk mode",
        ),
    ];
    for (request, expected) in zk_cases {
        let (code, message) = rpc_error(&client, "eth_estimateGas", json!([request])).await;
        assert_eq!(code, -32000, "{message}");
        assert!(message.starts_with(expected), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn block_and_index_lookups_keyless_methods_and_filters() {
    let alice = key(1);
    let node = start(&[alice.address()]).await;
    let client = RpcClient::new_http(node.url.parse().unwrap());
    let chain_id = node.node.spec().chain_id;
    let to = Address::repeat_byte(0x43);

    let block_filter: U128 = client.request("eth_newBlockFilter", ()).await.unwrap();
    let pending_filter: U128 = client.request("eth_newPendingTransactionFilter", ()).await.unwrap();
    let log_filter: U128 = client.request("eth_newFilter", (Filter::new().address(to),)).await.unwrap();

    let hash: B256 =
        client.request("eth_sendRawTransaction", (sign_1559(&alice, transfer(chain_id, 0, to, 5)),)).await.unwrap();
    let receipt = wait_receipt(&client, hash).await;
    let number = receipt.block_number.unwrap();
    let block_hash = receipt.block_hash.unwrap();

    let receipts: Vec<TransactionReceipt> = client.request("eth_getBlockReceipts", (U64::from(number),)).await.unwrap();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].transaction_hash, hash);
    let by_hash: Vec<TransactionReceipt> = client.request("eth_getBlockReceipts", (block_hash,)).await.unwrap();
    assert_eq!(by_hash, receipts);
    let none: Option<Vec<TransactionReceipt>> =
        client.request("eth_getBlockReceipts", (U64::from(number + 1_000),)).await.unwrap();
    assert_eq!(none, None);

    let tx: Value =
        client.request("eth_getTransactionByBlockNumberAndIndex", (U64::from(number), U64::ZERO)).await.unwrap();
    assert_eq!(tx["hash"], json!(hash));
    let tx: Value = client.request("eth_getTransactionByBlockHashAndIndex", (block_hash, U64::ZERO)).await.unwrap();
    assert_eq!(tx["hash"], json!(hash));
    let past_end: Value =
        client.request("eth_getTransactionByBlockHashAndIndex", (block_hash, U64::from(1))).await.unwrap();
    assert_eq!(past_end, Value::Null);
    let count: U64 = client.request("eth_getBlockTransactionCountByNumber", (U64::from(number),)).await.unwrap();
    assert_eq!(count, U64::from(1));
    let count: U64 = client.request("eth_getBlockTransactionCountByHash", (block_hash,)).await.unwrap();
    assert_eq!(count, U64::from(1));
    let uncles: U64 = client.request("eth_getUncleCountByBlockHash", (block_hash,)).await.unwrap();
    assert_eq!(uncles, U64::ZERO);

    let slot: B256 = client.request("eth_getStorageAt", (to, U256::ZERO, "latest")).await.unwrap();
    assert_eq!(slot, B256::ZERO);
    let accounts: Vec<Address> = client.request("eth_accounts", ()).await.unwrap();
    assert!(accounts.is_empty());
    let send = json!([{"from": alice.address(), "to": to, "value": "0x1"}]);
    let (code, message) = rpc_error(&client, "eth_sendTransaction", send).await;
    assert_eq!(code, -32000);
    assert!(message.starts_with("unknown account"), "{message}");
    let sha: B256 = client.request("web3_sha3", (Bytes::from_static(b"abc"),)).await.unwrap();
    assert_eq!(sha, alloy::primitives::keccak256(b"abc"));

    // Filters report what happened since they were installed (or last polled), once.
    let blocks: Vec<B256> = client.request("eth_getFilterChanges", (block_filter,)).await.unwrap();
    assert!(blocks.contains(&block_hash), "{blocks:?}");
    let again: Vec<B256> = client.request("eth_getFilterChanges", (block_filter,)).await.unwrap();
    assert!(!again.contains(&block_hash));
    let pending: Vec<B256> = client.request("eth_getFilterChanges", (pending_filter,)).await.unwrap();
    assert_eq!(pending, vec![hash]);
    // Plain transfers emit no logs: the log filter answers, with nothing.
    let logs: Vec<Value> = client.request("eth_getFilterChanges", (log_filter,)).await.unwrap();
    assert!(logs.is_empty());
    let logs: Vec<Value> = client.request("eth_getFilterLogs", (log_filter,)).await.unwrap();
    assert!(logs.is_empty());
    let (_, message) = rpc_error(&client, "eth_getFilterLogs", json!([block_filter])).await;
    assert_eq!(message, "filter not found");

    for id in [block_filter, pending_filter, log_filter] {
        assert!(client.request::<_, bool>("eth_uninstallFilter", (id,)).await.unwrap());
        assert!(!client.request::<_, bool>("eth_uninstallFilter", (id,)).await.unwrap());
    }
    let (code, message) = rpc_error(&client, "eth_getFilterChanges", json!([block_filter])).await;
    assert_eq!((code, message.as_str()), (-32000, "filter not found"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_chain_keeps_making_blocks() {
    let node = start(&[]).await;
    let client = RpcClient::new_http(node.url.parse().unwrap());
    let first: U64 = client.request("eth_blockNumber", ()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later: U64 = client.request("eth_blockNumber", ()).await.unwrap();
    assert!(later > first, "{first} -> {later} with nothing to include");
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_subscriptions_on_the_rpc_port() {
    let alice = key(1);
    let node = start(&[alice.address()]).await;
    let chain_id = node.node.spec().chain_id;
    let ws = WsClientBuilder::default().build(node.url.replace("http://", "ws://")).await.unwrap();
    // The same methods as over HTTP.
    let chain: U64 = ws.request("eth_chainId", rpc_params![]).await.unwrap();
    assert_eq!(chain.to::<u64>(), chain_id);

    let mut heads: Subscription<Header> =
        ws.subscribe("eth_subscribe", rpc_params!["newHeads"], "eth_unsubscribe").await.unwrap();
    let mut pending: Subscription<B256> =
        ws.subscribe("eth_subscribe", rpc_params!["newPendingTransactions"], "eth_unsubscribe").await.unwrap();
    let mut full: Subscription<Value> =
        ws.subscribe("eth_subscribe", rpc_params!["newPendingTransactions", true], "eth_unsubscribe").await.unwrap();
    let logs: Subscription<Value> = ws
        .subscribe("eth_subscribe", rpc_params!["logs", json!({"address": alice.address()})], "eth_unsubscribe")
        .await
        .unwrap();

    let first = tokio::time::timeout(Duration::from_secs(5), heads.next()).await.unwrap().unwrap().unwrap();
    let second = tokio::time::timeout(Duration::from_secs(5), heads.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(second.number, first.number + 1);
    assert_eq!(second.parent_hash, first.hash);

    let hash = node.node.submit(&sign_1559(&alice, transfer(chain_id, 0, Address::repeat_byte(1), 1))).unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(5), pending.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(seen, hash);
    let seen = tokio::time::timeout(Duration::from_secs(5), full.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(seen["hash"], json!(hash));
    assert_eq!(seen["from"], json!(alice.address()));

    // Unsubscribing ends the stream on the server; an unknown kind is refused.
    logs.unsubscribe().await.unwrap();
    let refused = ws.subscribe::<Value, _>("eth_subscribe", rpc_params!["syncing"], "eth_unsubscribe").await;
    assert!(refused.is_err(), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn subscriptions_per_connection_are_limited() {
    let node = crate::rpc::start_with(&[], |config| config.max_subscriptions_per_connection = 2).await;
    let ws = WsClientBuilder::default().build(node.url.replace("http://", "ws://")).await.unwrap();
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(ws.subscribe::<Value, _>("eth_subscribe", rpc_params!["newHeads"], "eth_unsubscribe").await.unwrap());
    }
    let third = ws.subscribe::<Value, _>("eth_subscribe", rpc_params!["newHeads"], "eth_unsubscribe").await;
    let refused = third.expect_err("a third subscription was accepted").to_string();
    assert!(refused.to_lowercase().contains("subscriptions"), "{refused}");
    // A second connection has its own allowance.
    let other = WsClientBuilder::default().build(node.url.replace("http://", "ws://")).await.unwrap();
    assert!(other.subscribe::<Value, _>("eth_subscribe", rpc_params!["newHeads"], "eth_unsubscribe").await.is_ok());
}
