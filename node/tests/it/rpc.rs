//! The node over JSON-RPC, used the way wallets and tools use it.

use std::{sync::Arc, time::Duration};

use alloy::{
    consensus::TxEip1559,
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, B256, Bytes, TxKind, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::{client::RpcClient, types::TransactionRequest},
    transports::RpcError,
};
use zkr_node::{Node, RpcConfig, run_sequencer, start_rpc};

use crate::*;

/// A node with its JSON-RPC server on a free port and a fast sequencer; everything stops on drop.
pub(crate) struct TestNode {
    pub url: String,
    pub node: Arc<Node>,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::watch::Sender<bool>,
    rpc: jsonrpsee::server::ServerHandle,
}

impl Drop for TestNode {
    fn drop(&mut self) {
        let _ = self.rpc.stop();
    }
}

pub(crate) async fn start(funded: &[Address]) -> TestNode {
    start_with(funded, |_| ()).await
}

/// [`start`] with the RPC settings changed by `configure`.
pub(crate) async fn start_with(funded: &[Address], configure: impl FnOnce(&mut RpcConfig)) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let node = Arc::new(Node::open(spec_with(funded), dir.path()).unwrap());
    let mut config = RpcConfig { addr: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
    configure(&mut config);
    let (addr, rpc) = start_rpc(node.clone(), config).await.unwrap();
    let (shutdown, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(run_sequencer(node.clone(), Duration::from_millis(50), rx));
    TestNode { url: format!("http://{addr}"), node, _dir: dir, _shutdown: shutdown, rpc }
}

fn wallet_provider(url: &str, signer: &alloy::signers::local::PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new().wallet(EthereumWallet::from(signer.clone())).connect_http(url.parse().unwrap()).erased()
}

/// Sends `raw` and returns the JSON-RPC error (code, message) it must produce.
async fn send_raw_error(url: &str, raw: &[u8]) -> (i64, String) {
    let client = RpcClient::new_http(url.parse().unwrap());
    let result: Result<B256, _> = client.request("eth_sendRawTransaction", (Bytes::copy_from_slice(raw),)).await;
    match result {
        Err(RpcError::ErrorResp(payload)) => (payload.code, payload.message.to_string()),
        other => panic!("expected an error response, got {other:?}"),
    }
}

/// `GET /healthz` on the JSON-RPC port answers the head (the probes of a deployment); JSON-RPC is unchanged.
#[tokio::test(flavor = "multi_thread")]
async fn healthz_answers_on_the_rpc_port() {
    let node = start(&[]).await;
    let addr: std::net::SocketAddr = node.url.trim_start_matches("http://").parse().unwrap();
    let (status, body) =
        tokio::task::spawn_blocking(move || zkr_devtools::http_get(addr, "/healthz").unwrap()).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(health["head"].is_u64(), "{body}");
    let provider = ProviderBuilder::new().connect_http(node.url.parse().unwrap());
    assert!(provider.get_block_number().await.unwrap() >= health["head"].as_u64().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alloy_wallet_sends_a_transfer_and_reads_its_receipt() {
    let alice = key(1);
    let node = start(&[alice.address()]).await;
    let provider = wallet_provider(&node.url, &alice);
    assert_eq!(provider.get_chain_id().await.unwrap(), node.node.spec().chain_id);

    let bob = Address::repeat_byte(0xb0);
    // The provider fills nonce, gas and fees from the node itself (eth_getTransactionCount, eth_estimateGas,
    // eth_feeHistory or eth_maxPriorityFeePerGas).
    let request = TransactionRequest::default().with_to(bob).with_value(U256::from(ETH));
    let pending = provider.send_transaction(request).await.unwrap();
    let receipt = tokio::time::timeout(Duration::from_secs(10), pending.get_receipt()).await.unwrap().unwrap();
    assert!(receipt.status());
    assert_eq!(receipt.gas_used, 21_000);
    assert_eq!(receipt.from, alice.address());
    assert_eq!(receipt.to, Some(bob));

    assert_eq!(provider.get_balance(bob).await.unwrap(), U256::from(ETH));
    assert_eq!(provider.get_transaction_count(alice.address()).await.unwrap(), 1);
    let tx = provider.get_transaction_by_hash(receipt.transaction_hash).await.unwrap().unwrap();
    assert_eq!(tx.block_number, receipt.block_number);

    let block = provider.get_block_by_number(receipt.block_number.unwrap().into()).full().await.unwrap().unwrap();
    assert_eq!(block.header.hash, receipt.block_hash.unwrap());
    assert_eq!(block.transactions.len(), 1);
    let by_hash = provider.get_block_by_hash(block.header.hash).await.unwrap().unwrap();
    assert_eq!(by_hash.header.state_root, block.header.state_root);

    let history = provider.get_fee_history(4, alloy::eips::BlockNumberOrTag::Latest, &[50.0]).await.unwrap();
    assert!(!history.base_fee_per_gas.is_empty());
    assert!(provider.get_code_at(bob).await.unwrap().is_empty());
    let logs = provider.get_logs(&alloy::rpc::types::Filter::new().from_block(0)).await.unwrap();
    assert!(logs.is_empty(), "value transfers emit no logs");
}

#[tokio::test(flavor = "multi_thread")]
async fn cast_sends_and_reads() {
    let alice = key(3);
    let node = start(&[alice.address()]).await;
    let cast = zkr_devtools::Tools::from_env().cast().expect("cast from scripts/setup.sh");
    let key_hex = B256::from_slice(&alice.to_bytes()[..]).to_string();
    let bob = "0x00000000000000000000000000000000000000b0";

    let run = move |args: &[&str]| {
        let out = std::process::Command::new(&cast).args(args).output().unwrap();
        assert!(out.status.success(), "cast {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let url = node.url.clone();
    let sent = tokio::task::spawn_blocking(move || {
        let receipt =
            run(&["send", "--rpc-url", &url, "--private-key", &key_hex, bob, "--value", "0.5ether", "--json"]);
        let balance = run(&["balance", "--rpc-url", &url, bob]);
        let chain = run(&["chain-id", "--rpc-url", &url]);
        (receipt, balance, chain)
    })
    .await
    .unwrap();
    let receipt: serde_json::Value = serde_json::from_str(&sent.0).unwrap();
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert_eq!(sent.1, "500000000000000000");
    assert_eq!(sent.2, node.node.spec().chain_id.to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_transactions_get_standard_errors_and_leave_the_node_healthy() {
    let alice = key(1);
    let poor = key(9);
    let node = start(&[alice.address()]).await;
    let chain_id = node.node.spec().chain_id;
    let to = Address::repeat_byte(0x42);

    // Get alice to nonce 1 so that "too low" has something to be below.
    let hash = node.node.submit(&sign_1559(&alice, transfer(chain_id, 0, to, 1))).unwrap();
    let provider = ProviderBuilder::new().connect_http(node.url.parse().unwrap());
    for _ in 0..100 {
        if provider.get_transaction_receipt(hash).await.unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("malformed RLP", vec![0x02, 0xf8, 0x01], "rlp:"),
        ("wrong chain id", sign_1559(&alice, transfer(1, 1, to, 1)).to_vec(), "invalid sender: invalid chain id"),
        (
            "bad signature",
            {
                let tx = transfer(chain_id, 1, to, 1);
                use alloy::{
                    consensus::{SignableTransaction, TxEnvelope},
                    eips::Encodable2718,
                    primitives::Signature,
                };
                TxEnvelope::from(tx.into_signed(Signature::new(U256::ZERO, U256::from(1), false))).encoded_2718()
            },
            "invalid sender",
        ),
        ("nonce too low", sign_1559(&alice, transfer(chain_id, 0, to, 2)).to_vec(), "nonce too low"),
        ("nonce too high", sign_1559(&alice, transfer(chain_id, 1_000, to, 1)).to_vec(), "nonce too high"),
        ("insufficient funds", sign_1559(&poor, transfer(chain_id, 0, to, 1)).to_vec(), "insufficient funds"),
        (
            "contract creation",
            sign_1559(
                &alice,
                TxEip1559 {
                    to: TxKind::Create,
                    gas_limit: 100_000,
                    input: Bytes::from_static(&[0x60, 0x00]),
                    ..transfer(chain_id, 1, to, 0)
                },
            )
            .to_vec(),
            "contract creation is not supported in zk mode",
        ),
    ];
    for (what, raw, expected) in cases {
        let (code, message) = send_raw_error(&node.url, &raw).await;
        assert_eq!(code, -32000, "{what}: {message}");
        assert!(message.starts_with(expected), "{what}: {message}");
        assert!(provider.get_block_number().await.is_ok(), "node unhealthy after {what}");
    }

    // A parameter that is not hex is an invalid-params error, not a transaction rejection.
    let client = RpcClient::new_http(node.url.parse().unwrap());
    let err = client.request::<_, B256>("eth_sendRawTransaction", ("not hex",)).await.unwrap_err();
    assert!(matches!(&err, RpcError::ErrorResp(p) if p.code == -32602), "{err:?}");

    // A request over the body limit is refused before it is parsed: with -32007 (HTTP 413) when the server reads
    // far enough to answer, or by closing the connection while the client is still writing the body.
    let huge = Bytes::from(vec![0xab; 2 * 1024 * 1024]);
    let err = client.request::<_, B256>("eth_sendRawTransaction", (huge,)).await.unwrap_err();
    match &err {
        RpcError::ErrorResp(payload) => assert_eq!(payload.code, -32007, "{err:?}"),
        RpcError::Transport(_) => {}
        other => panic!("oversized request not refused as such: {other:?}"),
    }

    // Nothing bad entered the pool, and the node still serves.
    assert_eq!(node.node.pool_size(), 0);
    assert!(provider.get_block_number().await.unwrap() >= 1);
}
