//! kill -9 of the real `zkr-node` process while it takes transactions: every transaction whose hash was returned is
//! in a block or back in the pool after a restart, and ends up in a block.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256},
    providers::{Provider, ProviderBuilder},
    rpc::client::RpcClient,
};

use crate::*;

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn_node(config: &std::path::Path, port: u16, metrics_port: u16) -> Process {
    let child = Command::new(env!("CARGO_BIN_EXE_zkr-node"))
        .arg("--config")
        .arg(config)
        .args(["--rpc.addr", &format!("127.0.0.1:{port}")])
        .args(["--metrics.addr", &format!("127.0.0.1:{metrics_port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Process(child)
}

async fn wait_ready(url: &str) {
    let provider = ProviderBuilder::new().connect_http(url.parse().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while provider.get_block_number().await.is_err() {
        assert!(Instant::now() < deadline, "node did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_loses_no_accepted_transaction() {
    let senders: Vec<_> = (1..=4).map(key).collect();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("node.toml");
    let mut toml =
        format!("data_dir = {:?}\n[sequencer]\nblock_time_ms = 100\n[chain.genesis_alloc]\n", dir.path().join("db"));
    for sender in &senders {
        toml.push_str(&format!("\"{}\" = \"{}\"\n", sender.address(), 10 * ETH));
    }
    std::fs::write(&config, toml).unwrap();
    let chain_id = zkr_node::ChainSpec::dev().chain_id;

    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let metrics_port = free_port();
    let node = spawn_node(&config, port, metrics_port);
    wait_ready(&url).await;

    // Submit for a while, then kill -9 with blocks being produced and transactions still arriving.
    let client = RpcClient::new_http(url.parse().unwrap());
    let mut accepted: Vec<B256> = Vec::new();
    for nonce in 0..15u64 {
        for sender in &senders {
            let raw = sign_1559(sender, transfer(chain_id, nonce, Address::repeat_byte(0x99), 1));
            let hash: B256 = client.request("eth_sendRawTransaction", (raw,)).await.unwrap();
            accepted.push(hash);
        }
        if nonce == 10 {
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
    drop(node); // SIGKILL, no chance to flush anything

    let node = spawn_node(&config, port, metrics_port);
    wait_ready(&url).await;
    let provider = ProviderBuilder::new().connect_http(url.parse().unwrap());
    for hash in &accepted {
        assert!(provider.get_transaction_by_hash(*hash).await.unwrap().is_some(), "{hash} was lost");
    }
    // And the restarted sequencer includes all of them.
    let deadline = Instant::now() + Duration::from_secs(30);
    for hash in &accepted {
        while provider.get_transaction_receipt(*hash).await.unwrap().is_none() {
            assert!(Instant::now() < deadline, "{hash} never included after restart");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    for sender in &senders {
        assert_eq!(provider.get_transaction_count(sender.address()).await.unwrap(), 15);
    }

    // The restarted process serves Prometheus metrics, histograms with explicit buckets included.
    let metrics = http_get(metrics_port, "/metrics");
    assert!(metrics.contains("zkr_node_blocks_total"), "{metrics}");
    assert!(metrics.contains("zkr_node_block_production_seconds_bucket{le=\"0.005\"}"), "{metrics}");
    assert!(metrics.contains("zkr_node_head_block"), "{metrics}");
    drop(node);
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}
