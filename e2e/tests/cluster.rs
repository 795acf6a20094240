//! The proving cluster with real processes: anvil, a node, `zkr-coordinator` and `zkr-prover` workers talking gRPC.
//! A worker is killed with SIGKILL in the middle of its proof and the coordinator is killed and restarted; the batch
//! is still proven by the surviving worker, checked, and finalized on L1, and the killed worker's lapsed lease spent
//! no attempt.
//!
//! Sizes are CI's (2 record slots, 1 chunk per batch); keys are shared with `batch_proof` in `target/zkr-e2e-keys`.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::{
    path::{Path, PathBuf},
    process::{Child, Command},
    time::Duration,
};

use alloy::{
    primitives::{B256, Bytes, U256},
    signers::local::PrivateKeySigner,
};
use tonic::{Request, transport::Channel};
use zkr_circuits::{
    ChunkShape,
    prover::{BatchProver, ProverConfig},
};
use zkr_contracts::{Portal, Rollup};
use zkr_devtools::workspace_root;
use zkr_e2e::{ETH, Rig, signed_transfer, wait_for};
use zkr_node::ChainSpec;
use zkr_protos::v1::{self as pb, operator_client::OperatorClient};

const CHUNK_SLOTS: usize = 2;
const CHUNKS_PER_BATCH: usize = 1;
const TOKEN: &str = "cluster-test-token";

fn keys_dir() -> PathBuf {
    std::env::var_os("ZKR_E2E_KEYS_DIR").map_or_else(|| workspace_root().join("target/zkr-e2e-keys"), PathBuf::from)
}

/// A child process killed (SIGKILL) when dropped, so a failing test leaves nothing running.
struct Process {
    name: &'static str,
    child: Child,
}

impl Process {
    fn spawn(name: &'static str, command: &mut Command) -> Self {
        let child = command.spawn().unwrap_or_else(|e| panic!("starting {name}: {e}"));
        eprintln!("started {name} (pid {})", child.id());
        Self { name, child }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        eprintln!("killed {} with SIGKILL ({status})", self.name);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Paths {
    coordinator: PathBuf,
    prover: PathBuf,
    dir: tempfile::TempDir,
}

fn coordinator(paths: &Paths, rig: &Rig, grpc: u16) -> Process {
    let dir = paths.dir.path();
    Process::spawn(
        "coordinator",
        Command::new(&paths.coordinator)
            .args(["run", "--token-file"])
            .arg(dir.join("token"))
            .arg("--deployment")
            .arg(dir.join("l1.json"))
            .arg("--genesis")
            .arg(dir.join("genesis.json"))
            .arg("--db")
            .arg(dir.join("coordinator.sqlite"))
            .arg("--keys-dir")
            .arg(keys_dir())
            .args(["--dev-srs", "--chunk-k", "16", "--chunk-slots", "2", "--aggregation-k", "20"])
            .args(["--lease-ttl-ms", "20000", "--poll-ms", "300"])
            .arg(format!("--grpc.addr=127.0.0.1:{grpc}"))
            .arg(format!("--metrics.addr=127.0.0.1:{}", free_port()))
            .arg(format!("--l1.rpc={}", rig.anvil.endpoint()))
            .env("ZKR_PROVER_KEY", format!("0x{}", alloy::hex::encode(rig.keys[3].to_bytes())))
            .env("RUST_LOG", "info,zkevm_hashes=warn"),
    )
}

fn worker(paths: &Paths, name: &'static str, grpc: u16, kinds: &str) -> Process {
    Process::spawn(
        name,
        Command::new(&paths.prover)
            .arg(format!("--coordinator=http://127.0.0.1:{grpc}"))
            .arg("--token-file")
            .arg(paths.dir.path().join("token"))
            .arg("--keys-dir")
            .arg(keys_dir())
            .args(["--dev-srs", "--backend", "cpu", "--name", name])
            .args(if kinds.is_empty() { vec![] } else { vec!["--kinds", kinds] })
            .env("RUST_LOG", "info,zkevm_hashes=warn"),
    )
}

async fn operator(
    grpc: u16,
) -> Option<
    OperatorClient<
        tonic::service::interceptor::InterceptedService<Channel, fn(Request<()>) -> Result<Request<()>, tonic::Status>>,
    >,
> {
    fn auth(mut request: Request<()>) -> Result<Request<()>, tonic::Status> {
        request.metadata_mut().insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
        Ok(request)
    }
    let channel = Channel::from_shared(format!("http://127.0.0.1:{grpc}")).unwrap().connect().await.ok()?;
    Some(OperatorClient::with_interceptor(channel, auth as fn(_) -> _))
}

async fn job(grpc: u16, id: &str) -> Option<pb::JobInfo> {
    let mut client = operator(grpc).await?;
    let jobs = client.list_jobs(pb::ListJobsRequest { state: 0, batch_index: Some(1), limit: 10 }).await.ok()?;
    jobs.into_inner().jobs.into_iter().find(|j| j.job_id == id)
}

fn write_files(dir: &Path, rig: &Rig) {
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    std::fs::write(dir.join("genesis.json"), serde_json::to_vec(&rig.spec.genesis()).unwrap()).unwrap();
    rig.deployment.save(dir.join("l1.json")).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_and_coordinator_killed_mid_proof_and_the_batch_still_finalizes() {
    let [coordinator_bin, prover_bin]: [PathBuf; 2] =
        zkr_e2e::workspace_binaries(&["zkr-coordinator", "zkr-prover"]).unwrap().try_into().unwrap();
    let spec = ChainSpec::dev();

    // The verifier comes from the aggregation keys (cached on disk); the keys are dropped before the cluster starts.
    let config = ProverConfig {
        dir: keys_dir(),
        chunk: ChunkShape { k: 16, slots: CHUNK_SLOTS },
        chunks_per_batch: CHUNKS_PER_BATCH,
        aggregation_k: 20,
        fee_recipient: spec.fee_recipient,
        dev_srs: true,
    };
    let source = tokio::task::spawn_blocking(move || BatchProver::load_all(&config).unwrap().evm_verifier_source())
        .await
        .unwrap()
        .unwrap();
    let parts = zkr_circuits::evm::split_verifier_default(&source).unwrap();
    let part_codes: Vec<Bytes> =
        parts.sources.iter().map(|(_, s)| zkr_e2e::compile_generated_verifier(s).unwrap()).collect();
    let rig = Rig::start(spec, &part_codes, CHUNK_SLOTS, CHUNKS_PER_BATCH).await.unwrap();
    let paths = Paths { coordinator: coordinator_bin, prover: prover_bin, dir: tempfile::tempdir().unwrap() };
    write_files(paths.dir.path(), &rig);

    let grpc = free_port();
    let first_coordinator = coordinator(&paths, &rig, grpc);
    let doomed = worker(&paths, "doomed", grpc, "chunk");

    // One batch: a deposit to alice, then alice withdraws.
    let alice = PrivateKeySigner::from_bytes(&B256::repeat_byte(0xa1)).unwrap();
    Portal::new(rig.deployment.portal, rig.l1(&rig.keys[1]))
        .depositETH(alice.address())
        .value(U256::from(5 * ETH))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let node = rig.node.clone();
    wait_for("deposit credited", Duration::from_secs(60), || async {
        (!node.account(&alice.address()).balance.is_zero()).then_some(())
    })
    .await;
    rig.node.submit(&signed_transfer(&alice, rig.spec.chain_id, 0, zkr_node::WITHDRAWAL_ADDRESS, 2 * ETH)).unwrap();

    // The doomed worker leases the chunk job and starts proving; it is killed mid-proof.
    let leased = wait_for("the chunk job leased to the doomed worker", Duration::from_secs(180), || async {
        job(grpc, "b1-c0").await.filter(|j| j.state == pb::JobState::Leased as i32 && j.worker_id.starts_with("doomed"))
    })
    .await;
    eprintln!("chunk job leased to {}", leased.worker_id);
    tokio::time::sleep(Duration::from_secs(3)).await;
    doomed.kill();

    // The survivor takes the job once the lease lapses, proves it, and the coordinator accepts it.
    let survivor = worker(&paths, "survivor", grpc, "");
    let done = wait_for("the chunk job proven by the survivor", Duration::from_secs(600), || async {
        job(grpc, "b1-c0").await.filter(|j| j.state == pb::JobState::Done as i32)
    })
    .await;
    assert_eq!(done.attempts, 1, "the lapsed lease spent no attempt");

    // The coordinator dies too, and comes back on the same database.
    first_coordinator.kill();
    let _coordinator = coordinator(&paths, &rig, grpc);

    let rollup = Rollup::new(rig.deployment.rollup, rig.l1(&rig.keys[0]));
    wait_for("batch 1 finalized on L1", Duration::from_secs(1_200), || async {
        (rollup.lastFinalizedBatch().call().await.ok()? >= 1).then_some(())
    })
    .await;
    let batch = rig.node.batch(1).unwrap().unwrap();
    assert_eq!(rollup.stateRoots(U256::from(1)).call().await.unwrap(), batch.new_state_root);
    let agg = job(grpc, "b1-agg").await.unwrap();
    assert_eq!(agg.state, pb::JobState::Done as i32);
    drop(survivor);
}
