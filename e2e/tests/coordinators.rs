//! Two `zkr-coordinator` processes on one Postgres database, with anvil and a node: the deployment for operators who
//! run more than one coordinator.
//!
//! - Exactly one leads (its `zkr_coordinator_leader` gauge is 1): it follows L1 and queues each committed batch's
//!   jobs. The other serves workers from the same queue and stands by.
//! - A worker session registered on one coordinator leases, heartbeats and is fenced through the other.
//! - The leader is killed with SIGKILL. The other takes the leader lock within seconds, rebuilds its replica of the L2
//!   state from the shared store, and queues the next batch, whose witness starts from the state root the node
//!   reached after the first batch. The killed coordinator comes back and stands by.
//! - The new leader is stopped with Ctrl-C (SIGINT): it exits cleanly and the first one leads again.
//!
//! Proving and finalization are the cluster test's (`cluster.rs`); here the Rollup has no verifier and a worker is
//! played over gRPC, so the test needs the coordinator's keys (cached in `target/zkr-e2e-keys`) but proves nothing.
//! Needs the Postgres test server (`scripts/postgres.sh`; `scripts/test.sh` starts it).

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::{
    primitives::{Address, B256, U256},
    signers::local::PrivateKeySigner,
};
use zkr_contracts::Rollup;
use zkr_devtools::TestDatabase;
use zkr_e2e::{
    ETH, Rig,
    cluster::{self, free_port, job, operator, rogue, write_files},
    signed_transfer, wait_for,
};
use zkr_node::ChainSpec;
use zkr_protocol::ProofShape;
use zkr_protos::v1::{self as pb, prover_coordinator_client::ProverCoordinatorClient};

/// A worker session played by the test: its client and session id.
type Worker = (ProverCoordinatorClient<cluster::Authed>, String);

/// A coordinator's `zkr_coordinator_leader` gauge, read from its `/metrics`.
async fn leader_gauge(http: u16) -> Option<f64> {
    let addr: SocketAddr = format!("127.0.0.1:{http}").parse().unwrap();
    let (code, body) =
        tokio::task::spawn_blocking(move || zkr_devtools::http_get(addr, "/metrics")).await.ok()?.ok()?;
    if code != 200 {
        return None;
    }
    body.lines().find_map(|line| line.strip_prefix("zkr_coordinator_leader ")).and_then(|v| v.trim().parse().ok())
}

/// The chunk witness a worker leases for `job_id`, taken through coordinator `grpc`.
async fn lease_witness(grpc: u16, worker: &mut Worker, job_id: &str) -> (pb::Job, zkr_protocol::ChunkWitness) {
    let job = wait_for(&format!("{job_id} leased through port {grpc}"), Duration::from_secs(300), || {
        let (mut client, worker_id) = (worker.0.clone(), worker.1.clone());
        async move { client.take_job(pb::TakeJobRequest { worker_id, wait_ms: 2_000 }).await.ok()?.into_inner().job }
    })
    .await;
    assert_eq!(job.job_id, job_id);
    let Some(pb::job::Input::Chunk(input)) = &job.input else { panic!("a chunk job without a witness: {job:?}") };
    let witness = serde_json::from_slice(&input.witness).unwrap();
    (job, witness)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_leader_dies_and_the_other_coordinator_takes_over_on_the_shared_store() {
    let Some(db) = TestDatabase::create().unwrap() else {
        eprintln!("SKIPPED: no Postgres test server (eval \"$(scripts/postgres.sh start)\" to run it)");
        return;
    };
    let launcher = cluster::Launcher::new(&["zkr-coordinator"]).unwrap();
    let rig = Rig::start(ChainSpec::dev(), &[], ProofShape::CI).await.unwrap();
    let dir = launcher.work_dir();
    write_files(dir.path(), &rig);
    let start =
        |name: &'static str, ports: (u16, u16)| cluster::coordinator(name, &launcher, &dir, &rig, ports, db.url());

    // The first coordinator leads; the second, started once the first is up (so that only one of them makes the
    // keys on a cold cache), stands by.
    let (a, b) = ((free_port(), free_port()), (free_port(), free_port()));
    let first = start("coordinator a", a);
    wait_for("coordinator a leads", Duration::from_secs(600), || async {
        (leader_gauge(a.1).await? == 1.0).then_some(())
    })
    .await;
    let second = start("coordinator b", b);
    wait_for("coordinator b stands by", Duration::from_secs(600), || async {
        (leader_gauge(b.1).await? == 0.0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(leader_gauge(a.1).await, Some(1.0), "a still leads");
    assert_eq!(leader_gauge(b.1).await, Some(0.0), "one leader at a time");

    // Batch 1: a deposit to alice and her transfer to bob. The leader queues its chunk job; a worker registered on
    // the standby coordinator leases it there.
    let alice = PrivateKeySigner::from_bytes(&B256::repeat_byte(0xa1)).unwrap();
    let bob = Address::repeat_byte(0xb0);
    rig.deposit(alice.address(), 5 * ETH).await;
    rig.node.submit(&signed_transfer(&alice, rig.spec.chain_id, 0, bob, ETH)).unwrap();
    let mut worker = rogue(b.0).await;
    let (held, witness) = lease_witness(b.0, &mut worker, "b1-c0").await;
    let rollup = Rollup::new(rig.deployment.rollup, rig.l1(&rig.keys[0]));
    assert_eq!(witness.public.prev_state_root, rollup.stateRoots(U256::ZERO).call().await.unwrap(), "from genesis");
    let info = job(a.0, 1, "b1-c0").await.unwrap();
    assert_eq!((info.state, info.worker_id.as_str()), (pb::JobState::Leased as i32, worker.1.as_str()));
    // Like a real worker, it heartbeats its leases (through b) while it "proves".
    let held_leases = Arc::new(Mutex::new(vec![pb::LeaseRef { job_id: held.job_id.clone(), lease_id: held.lease_id }]));
    let heartbeats = {
        let (mut client, worker_id, leases) = (worker.0.clone(), worker.1.clone(), Arc::clone(&held_leases));
        tokio::spawn(async move {
            loop {
                let leases = leases.lock().unwrap().clone();
                let beat = client.heartbeat(pb::HeartbeatRequest { worker_id: worker_id.clone(), leases }).await;
                assert!(beat.unwrap().into_inner().revoked.is_empty(), "a lease was revoked");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        })
    };

    // The leader dies.
    first.kill();
    wait_for("coordinator b takes over", Duration::from_secs(60), || async {
        (leader_gauge(b.1).await? == 1.0).then_some(())
    })
    .await;

    // Batch 2 is queued by the new leader, from its replica rebuilt out of the shared store: the chunk starts where
    // batch 1 left the state, as the node computed it.
    rig.node.submit(&signed_transfer(&alice, rig.spec.chain_id, 1, bob, ETH)).unwrap();
    rig.node.submit(&signed_transfer(&alice, rig.spec.chain_id, 2, bob, ETH)).unwrap();
    let (second_lease, next) = lease_witness(b.0, &mut worker, "b2-c0").await;
    held_leases.lock().unwrap().push(pb::LeaseRef { job_id: second_lease.job_id, lease_id: second_lease.lease_id });
    let batch1 = rig.node.batch(1).unwrap().unwrap();
    assert_eq!(next.public.prev_state_root, batch1.new_state_root);
    assert_eq!(witness.public.new_state_root, batch1.new_state_root, "batch 1's witness ends where the node did");

    // The killed coordinator comes back on the same database and stands by; the worker's session and its lease on
    // batch 1, granted before the failover, are honoured through it.
    let _first = start("coordinator a (restarted)", a);
    wait_for("coordinator a back, standing by", Duration::from_secs(600), || async {
        (leader_gauge(a.1).await? == 0.0).then_some(())
    })
    .await;
    assert_eq!(leader_gauge(b.1).await, Some(1.0));
    assert!(!heartbeats.is_finished(), "a heartbeat through b failed");
    heartbeats.abort();
    let mut through_a = rogue(a.0).await.0;
    let leases = held_leases.lock().unwrap().clone();
    let beat = through_a.heartbeat(pb::HeartbeatRequest { worker_id: worker.1.clone(), leases }).await.unwrap();
    assert!(beat.get_ref().revoked.is_empty(), "{beat:?}");
    let status = operator(a.0).await.unwrap().status(pb::StatusRequest {}).await.unwrap().into_inner();
    let indexes: Vec<u64> = status.batches.iter().map(|b| b.batch_index).collect();
    assert!(indexes.contains(&1) && indexes.contains(&2), "{indexes:?}");
    assert!(rollup.lastCommittedBatch().call().await.unwrap() >= 2);

    // Ctrl-C stops the leader cleanly: its database sessions close (on a runtime thread, which the sync client must
    // not block) and it exits 0; the lock goes back to the one left.
    let status = tokio::task::spawn_blocking(move || second.interrupt(Duration::from_secs(30))).await.unwrap();
    assert!(status.success(), "coordinator b exited with {status}");
    wait_for("coordinator a takes over again", Duration::from_secs(60), || async {
        (leader_gauge(a.1).await? == 1.0).then_some(())
    })
    .await;
}
