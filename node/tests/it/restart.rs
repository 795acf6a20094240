//! Restarts lose no accepted transaction: the real `zkr-node` killed with SIGKILL (and stopped with SIGINT) while
//! senders queue far more than the 64-nonce gap ahead of their on-chain nonce, and a property test of the pool's
//! restore over random per-sender depths, interleavings and blocks.

use std::{
    collections::HashMap,
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256},
    providers::{Provider, ProviderBuilder},
    rpc::client::RpcClient,
};
use proptest::prelude::*;
use zkr_devtools::{Process, free_port};
use zkr_node::Node;

use crate::*;

fn spawn_node(config: &std::path::Path, port: u16, metrics_port: u16, block_time_ms: u64) -> Process {
    Process::spawn(
        "zkr-node",
        Command::new(env!("CARGO_BIN_EXE_zkr-node"))
            .arg("--config")
            .arg(config)
            .args(["--sequencer.block-time-ms", &block_time_ms.to_string()])
            .args(["--rpc.addr", &format!("127.0.0.1:{port}")])
            .args(["--metrics.addr", &format!("127.0.0.1:{metrics_port}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit()),
    )
}

async fn wait_ready(url: &str) {
    let provider = ProviderBuilder::new().connect_http(url.parse().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while provider.get_block_number().await.is_err() {
        assert!(Instant::now() < deadline, "node did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(Debug, Clone, Copy)]
enum Stop {
    Kill,
    Interrupt,
}

/// Four senders each send 130 transfers in nonce order, concurrently, against 2 s blocks of at most 128 records (the
/// default cap): admission outruns inclusion, so the queues run past 64 nonces ahead of the chain. Once 400 hashes
/// have come back the node is stopped (`stop`), restarted on the same data directory (with fast blocks, to include
/// the backlog quickly), and every returned hash must be there and end up in a block.
async fn restart_keeps_every_accepted_transaction(stop: Stop) {
    const SENDERS: u8 = 4;
    const PER_SENDER: u64 = 130;
    const STOP_AFTER: usize = 400;
    let senders: Vec<_> = (1..=SENDERS).map(key).collect();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("node.toml");
    let mut toml = format!("data_dir = {:?}\n[chain.genesis_alloc]\n", dir.path().join("db"));
    for sender in &senders {
        toml.push_str(&format!("\"{}\" = \"{}\"\n", sender.address(), 10 * ETH));
    }
    std::fs::write(&config, toml).unwrap();
    let chain_id = zkr_node::ChainSpec::dev().chain_id;

    let (port, metrics_port) = (free_port(), free_port());
    let url = format!("http://127.0.0.1:{port}");
    let node = spawn_node(&config, port, metrics_port, 2_000);
    wait_ready(&url).await;

    let returned = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = senders
        .iter()
        .cloned()
        .map(|sender| {
            let (url, returned) = (url.clone(), returned.clone());
            tokio::spawn(async move {
                let client = RpcClient::new_http(url.parse().unwrap());
                let mut accepted = Vec::new();
                for nonce in 0..PER_SENDER {
                    let raw = sign_1559(&sender, transfer(chain_id, nonce, Address::repeat_byte(0x99), 1));
                    match client.request::<_, B256>("eth_sendRawTransaction", (raw,)).await {
                        Ok(hash) => accepted.push(hash),
                        // The node went away: what came back before is what counts.
                        Err(_) => break,
                    }
                    returned.fetch_add(1, Ordering::Relaxed);
                }
                (sender.address(), accepted)
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while returned.load(Ordering::Relaxed) < STOP_AFTER {
        assert!(Instant::now() < deadline, "the node took too long to accept {STOP_AFTER} transactions");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    match stop {
        Stop::Kill => node.kill(),
        Stop::Interrupt => assert!(node.interrupt(Duration::from_secs(20)).success(), "SIGINT exit status"),
    }
    let mut accepted: HashMap<Address, Vec<B256>> = HashMap::new();
    for task in tasks {
        let (sender, hashes) = task.await.unwrap();
        accepted.insert(sender, hashes);
    }
    let total: usize = accepted.values().map(Vec::len).sum();
    assert!(total >= STOP_AFTER, "{total} accepted");

    // Queues deeper than the nonce gap, measured from the chain the node stopped at: the case a restore used to drop.
    let deepest = {
        let spec = zkr_node::NodeConfig::load(Some(&config), zkr_cli::Overrides::new()).unwrap().chain_spec().unwrap();
        let stopped = Node::open(spec, &dir.path().join("db")).unwrap();
        accepted.iter().map(|(sender, hashes)| hashes.len() as u64 - stopped.account(sender).nonce).max().unwrap()
    };
    assert!(deepest > 64, "no queue was deeper than the gap: {deepest}");

    let node = spawn_node(&config, port, metrics_port, 20);
    wait_ready(&url).await;
    let provider = ProviderBuilder::new().connect_http(url.parse().unwrap());
    for hash in accepted.values().flatten() {
        assert!(provider.get_transaction_by_hash(*hash).await.unwrap().is_some(), "{hash} was lost ({stop:?})");
    }
    // The restarted sequencer includes all of them.
    let deadline = Instant::now() + Duration::from_secs(60);
    for hash in accepted.values().flatten() {
        while provider.get_transaction_receipt(*hash).await.unwrap().is_none() {
            assert!(Instant::now() < deadline, "{hash} never included after the restart ({stop:?})");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    for (sender, hashes) in &accepted {
        assert!(provider.get_transaction_count(*sender).await.unwrap() >= hashes.len() as u64);
    }

    // The restarted process serves Prometheus metrics, histograms with explicit buckets included.
    let metrics = http_get(metrics_port, "/metrics");
    assert!(metrics.contains("zkr_node_blocks_total"), "{metrics}");
    assert!(metrics.contains("zkr_node_block_production_seconds_bucket{le=\"0.005\"}"), "{metrics}");
    assert!(metrics.contains("zkr_node_head_block"), "{metrics}");
    // And its health on the JSON-RPC port, which the container probes and the image's health check read.
    let health = http_get(port, "/healthz");
    assert!(health.contains("\"head\""), "{health}");
    drop(node);
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_loses_no_accepted_transaction() {
    restart_keeps_every_accepted_transaction(Stop::Kill).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_loses_no_accepted_transaction() {
    restart_keeps_every_accepted_transaction(Stop::Interrupt).await;
}

fn http_get(port: u16, path: &str) -> String {
    let (_, body) = zkr_devtools::http_get(([127, 0, 0, 1], port).into(), path).unwrap();
    body
}

/// One step of a random workload.
#[derive(Debug, Clone)]
enum Step {
    /// The sender's next nonce.
    Next(usize),
    /// A nonce this far past the sender's next one (admission takes up to the gap).
    Ahead(usize, u64),
    /// The sequencer makes a block.
    Block,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        20 => (0..3usize).prop_map(Step::Next),
        2 => (0..3usize, 1..=70u64).prop_map(|(sender, ahead)| Step::Ahead(sender, ahead)),
        1 => Just(Step::Block),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    /// Whatever the per-sender depths, gaps and blocks, reopening the data directory gives back every transaction
    /// that was accepted and not yet included, and the same next nonce per sender.
    #[test]
    fn restore_keeps_what_admission_accepted(steps in prop::collection::vec(step(), 1..400)) {
        let senders: Vec<_> = (1..=3u8).map(key).collect();
        let addresses: Vec<_> = senders.iter().map(|s| s.address()).collect();
        let mut spec = spec_with(&addresses);
        spec.max_block_records = 4;
        let dir = tempfile::tempdir().unwrap();
        let to = Address::repeat_byte(0x42);
        let (accepted, pooled, next_nonces) = {
            let node = Node::open(spec.clone(), dir.path()).unwrap();
            let mut next = vec![0u64; senders.len()];
            let mut accepted = Vec::new();
            for step in &steps {
                let (sender, nonce) = match *step {
                    Step::Block => {
                        node.produce_block(1).unwrap();
                        continue;
                    }
                    Step::Next(sender) => (sender, next[sender]),
                    Step::Ahead(sender, ahead) => (sender, next[sender] + ahead),
                };
                let raw = sign_1559(&senders[sender], transfer(spec.chain_id, nonce, to, 1));
                if let Ok(hash) = node.submit(&raw) {
                    accepted.push(hash);
                    next[sender] = node.pending_nonce(&addresses[sender]);
                }
            }
            let pooled: Vec<B256> = accepted.iter().copied().filter(|hash| node.pooled(hash).is_some()).collect();
            let nonces: Vec<u64> = addresses.iter().map(|a| node.pending_nonce(a)).collect();
            (accepted, pooled, nonces)
        };
        let node = Node::open(spec, dir.path()).unwrap();
        prop_assert_eq!(node.pool_size(), pooled.len());
        for hash in &pooled {
            prop_assert!(node.pooled(hash).is_some(), "{} was lost", hash);
        }
        for hash in &accepted {
            prop_assert!(node.transaction(hash).unwrap().is_some(), "{} is neither pooled nor included", hash);
        }
        let nonces: Vec<u64> = addresses.iter().map(|a| node.pending_nonce(a)).collect();
        prop_assert_eq!(nonces, next_nonces);
    }
}
