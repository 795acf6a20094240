//! The proving cluster with real processes: anvil, a node, `zkr-coordinator` and `zkr-prover` workers talking gRPC.
//! A worker is killed with SIGKILL in the middle of its proof and the coordinator is killed and restarted; the batch
//! is still proven by the surviving worker, checked, and finalized on L1, and the killed worker's lapsed lease spent
//! no attempt. L1 then refuses a tampered copy of that proof, a wrong state root, and the proof offered for the next
//! batch, without burning the gas given; and the Portal pays the batch's withdrawal.
//!
//! The test also plays a rogue worker against the real coordinator (and its real proof checker), over the same gRPC:
//! - calls without the cluster's token, or with a wrong one, are refused (`Unauthenticated`) on both services, while
//!   the standard health check answers without one;
//! - a message over the size limit (`zkr_protos::limits`) is refused and leaves the job as it was;
//! - a proof that does not verify (the job's true public inputs, garbage proof bytes) is rejected and spends an
//!   attempt, and the job goes to another worker;
//! - the accepted proof submitted again by another session, quoting the done job's lease, is a duplicate and changes
//!   nothing.
//!
//! Sizes are CI's (2 record slots, 1 chunk per batch). Keys and the development SRS are cached in
//! `target/zkr-e2e-keys` (or `ZKR_E2E_KEYS_DIR`) across runs: the first run spends about 6 minutes making them.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::time::Duration;

use alloy::{
    consensus::Transaction as _,
    eips::BlockId,
    primitives::{Address, B256, Bytes, U256},
    providers::Provider,
    rpc::client::RpcClient,
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use prost::Message as _;
use tonic::{Code, Request, Status, service::interceptor::InterceptedService};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use zkr_contracts::Rollup;
use zkr_e2e::{
    ETH, Rig,
    cluster::{self, Authed, Process, TOKEN, channel, free_port, job, operator, rogue, write_files},
    signed_transfer, wait_for,
};
use zkr_node::ChainSpec;
use zkr_protocol::{LayerShape, ProofShape};
use zkr_protos::{
    limits::MAX_MESSAGE_BYTES,
    v1::{self as pb, operator_client::OperatorClient, prover_coordinator_client::ProverCoordinatorClient},
};

struct Paths {
    launcher: cluster::Launcher,
    dir: cluster::WorkDir,
}

fn coordinator(paths: &Paths, rig: &Rig, grpc: u16, http: u16) -> Process {
    let db = paths.dir.inside("coordinator.sqlite");
    cluster::coordinator("coordinator", &paths.launcher, &paths.dir, rig, (grpc, http), db.to_str().unwrap())
}

fn worker(paths: &Paths, name: &'static str, grpc: u16, kinds: &str) -> Process {
    Process::spawn(
        name,
        paths
            .launcher
            .command("zkr-prover")
            .arg(format!("--coordinator.url=http://127.0.0.1:{grpc}"))
            .arg("--auth.token-file")
            .arg(paths.dir.inside("token"))
            .arg("--keys.dir")
            .arg(paths.dir.keys())
            .args(["--keys.dev-srs", "--backend", "cpu", "--name", name])
            .args(if kinds.is_empty() { vec![] } else { vec!["--kinds", kinds] })
            .env("RUST_LOG", "info,zkevm_hashes=warn"),
    )
}

fn with_wrong_token(mut request: Request<()>) -> Result<Request<()>, Status> {
    request.metadata_mut().insert("authorization", format!("Bearer {TOKEN}-guess").parse().unwrap());
    Ok(request)
}

async fn submit(
    client: &mut ProverCoordinatorClient<Authed>,
    worker: &str,
    job_id: &str,
    lease_id: u64,
    proof: pb::ChunkProof,
) -> Result<pb::SubmitProofResponse, Status> {
    let request = pb::SubmitProofRequest {
        worker_id: worker.into(),
        job_id: job_id.into(),
        lease_id,
        proof: Some(pb::submit_proof_request::Proof::Chunk(proof)),
    };
    client.submit_proof(request).await.map(tonic::Response::into_inner)
}

/// A job's row in the coordinator's database, read beside the running coordinator (the operator service does not
/// show leases or proofs).
#[derive(Debug, PartialEq, Eq)]
struct StoredJob {
    state: String,
    attempts: u32,
    lease_id: u64,
    worker_id: Option<String>,
    output: Option<Vec<u8>>,
}

fn stored_job(paths: &Paths, id: &str) -> StoredJob {
    let db = rusqlite::Connection::open_with_flags(
        paths.dir.path().join("coordinator.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    db.busy_timeout(Duration::from_secs(30)).unwrap();
    db.query_row("SELECT state, attempts, lease_id, worker_id, output FROM jobs WHERE id = ?1", [id], |r| {
        Ok(StoredJob {
            state: r.get(0)?,
            attempts: r.get(1)?,
            lease_id: r.get::<_, i64>(2)?.try_into().unwrap(),
            worker_id: r.get(3)?,
            output: r.get(4)?,
        })
    })
    .unwrap()
}

/// Waits until L1 finalized batch 1, checks the state root it holds against the node's, and returns the batch.
async fn batch_1_finalized<P: alloy::providers::Provider>(
    rig: &Rig,
    rollup: &Rollup::RollupInstance<P>,
    within: Duration,
) -> zkr_node::batcher::BatchRecord {
    wait_for("batch 1 finalized on L1", within, || async {
        (rollup.lastFinalizedBatch().call().await.ok()? >= 1).then_some(())
    })
    .await;
    let batch = rig.node.batch(1).unwrap().unwrap();
    assert_eq!(rollup.stateRoots(U256::from(1)).call().await.unwrap(), batch.new_state_root);
    batch
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_and_coordinator_killed_mid_proof_and_the_batch_still_finalizes() {
    let launcher = cluster::Launcher::new(&["zkr-coordinator", "zkr-prover"]).unwrap();
    let spec = ChainSpec::dev();

    // The verifier comes from the aggregation keys (cached on disk); the keys are dropped before the cluster starts.
    let part_codes = cluster::ci_verifier_parts(&spec).await;
    let rig = Rig::start(spec, &part_codes, ProofShape::CI).await.unwrap();
    if let Some(root) = launcher.image_root() {
        eprintln!("the coordinator and the workers run from the image's root file system {}", root.display());
    }
    let paths = Paths { dir: launcher.work_dir(), launcher };
    write_files(paths.dir.path(), &rig);

    let grpc = free_port();
    let http = free_port();
    let first_coordinator = coordinator(&paths, &rig, grpc, http);

    // Load balancers probe the standard health check without credentials; everything else needs the cluster's token,
    // on the worker service and the operator service alike.
    let serving = |service: &'static str| async move {
        let mut health = HealthClient::new(channel(grpc).await?);
        let response = health.check(HealthCheckRequest { service: service.into() }).await.ok()?;
        Some(response.into_inner().status)
    };
    wait_for("the coordinator's health check answers", Duration::from_secs(300), || serving("")).await;
    for service in ["", "zkr.prover.v1.ProverCoordinator", "zkr.prover.v1.Operator"] {
        assert_eq!(serving(service).await, Some(ServingStatus::Serving as i32), "health of {service:?}");
    }
    let intruder =
        || pb::RegisterRequest { name: "intruder".into(), backend: pb::Backend::Cpu as i32, ..Default::default() };
    let no_token = channel(grpc).await.unwrap();
    let wrong_token = || InterceptedService::new(no_token.clone(), with_wrong_token as fn(_) -> _);
    let refusals = [
        ("register, no token", ProverCoordinatorClient::new(no_token.clone()).register(intruder()).await.err()),
        ("register, wrong token", ProverCoordinatorClient::new(wrong_token()).register(intruder()).await.err()),
        ("status, no token", OperatorClient::new(no_token.clone()).status(pb::StatusRequest {}).await.err()),
        ("status, wrong token", OperatorClient::new(wrong_token()).status(pb::StatusRequest {}).await.err()),
    ];
    for (what, refused) in refusals {
        assert_eq!(refused.map(|e| e.code()), Some(Code::Unauthenticated), "{what}");
    }
    let workers = operator(grpc).await.unwrap().status(pb::StatusRequest {}).await.unwrap().into_inner().workers;
    assert!(workers.is_empty(), "a refused call registered a worker: {workers:?}");

    // One batch: a deposit to alice, then alice withdraws.
    let alice = PrivateKeySigner::from_bytes(&B256::repeat_byte(0xa1)).unwrap();
    rig.deposit(alice.address(), 5 * ETH).await;
    let withdrawal =
        rig.node.submit(&signed_transfer(&alice, rig.spec.chain_id, 0, zkr_node::WITHDRAWAL_ADDRESS, 2 * ETH)).unwrap();

    // The rogue leases the chunk job first (no other worker is up yet). Before it lies, it holds the job's true
    // public inputs, computed from the witness it was given.
    let (mut rogue_client, rogue_id) = rogue(grpc).await;
    let leased = wait_for("the chunk job leased to the rogue", Duration::from_secs(600), || {
        let (mut client, worker_id) = (rogue_client.clone(), rogue_id.clone());
        async move { client.take_job(pb::TakeJobRequest { worker_id, wait_ms: 10_000 }).await.unwrap().into_inner().job }
    })
    .await;
    assert_eq!((leased.job_id.as_str(), leased.attempt), ("b1-c0", 1));
    let Some(pb::job::Input::Chunk(input)) = &leased.input else { panic!("a chunk job without a witness: {leased:?}") };
    let witness: zkr_protocol::ChunkWitness = serde_json::from_slice(&input.witness).unwrap();
    let instances = zkr_circuits::verifier::encode_field_elements(&zkr_circuits::chunk::public_inputs(&witness));
    let held = stored_job(&paths, "b1-c0");
    assert_eq!((held.state.as_str(), held.attempts, held.lease_id), ("leased", 0, leased.lease_id));
    assert_eq!(held.worker_id.as_deref(), Some(rogue_id.as_str()));

    // A message over the size limit is refused before it is decoded, and changes nothing: the job stays leased to
    // the rogue under the same lease, with no attempt spent, and the lease is still the rogue's to extend.
    let oversized = pb::ChunkProof { instances: instances.clone(), proof: vec![7; MAX_MESSAGE_BYTES + 1] };
    let refused = submit(&mut rogue_client, &rogue_id, "b1-c0", leased.lease_id, oversized).await.unwrap_err();
    eprintln!("oversized submission: {:?} {}", refused.code(), refused.message());
    assert!(matches!(refused.code(), Code::OutOfRange | Code::ResourceExhausted), "{refused:?}");
    assert_eq!(stored_job(&paths, "b1-c0"), held, "the oversized message changed the job");
    let lease = pb::LeaseRef { job_id: "b1-c0".into(), lease_id: leased.lease_id };
    let beat = rogue_client
        .heartbeat(pb::HeartbeatRequest { worker_id: rogue_id.clone(), leases: vec![lease] })
        .await
        .unwrap()
        .into_inner();
    assert!(beat.revoked.is_empty(), "the rogue lost its lease: {beat:?}");

    // A proof that does not verify is rejected by the real checker (the public inputs are right, so it is the
    // verifier that refuses) and spends an attempt; the job is queued again for another worker, after a backoff.
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let forged = pb::ChunkProof { instances, proof: garbage };
    let response = submit(&mut rogue_client, &rogue_id, "b1-c0", leased.lease_id, forged).await.unwrap();
    assert_eq!(response.outcome(), pb::SubmitOutcome::Rejected, "{response:?}");
    assert_eq!(response.message, "the proof does not verify");
    let requeued = job(grpc, 1, "b1-c0").await.unwrap();
    assert_eq!((requeued.state, requeued.attempts), (pb::JobState::Queued as i32, 1), "{requeued:?}");
    assert_eq!(requeued.last_error, "the proof does not verify");
    // The rogue takes nothing more: it leaves, so only real workers can lease the job from here on.
    rogue_client.deregister(pb::DeregisterRequest { worker_id: rogue_id.clone() }).await.unwrap();

    // The doomed worker leases the chunk job and starts proving; it is killed mid-proof.
    let doomed = worker(&paths, "doomed", grpc, "chunk");
    let leased = wait_for("the chunk job leased to the doomed worker", Duration::from_secs(600), || async {
        job(grpc, 1, "b1-c0")
            .await
            .filter(|j| j.state == pb::JobState::Leased as i32 && j.worker_id.starts_with("doomed"))
    })
    .await;
    eprintln!("chunk job leased to {}", leased.worker_id);
    tokio::time::sleep(Duration::from_secs(3)).await;
    doomed.kill();

    // The survivor takes the job once the lease lapses, proves it, and the coordinator accepts it.
    let survivor = worker(&paths, "survivor", grpc, "");
    let done = wait_for("the chunk job proven by the survivor", Duration::from_secs(600), || async {
        job(grpc, 1, "b1-c0").await.filter(|j| j.state == pb::JobState::Done as i32)
    })
    .await;
    assert_eq!(done.attempts, 2, "the rejected proof spent an attempt and the lapsed lease none");

    // The accepted proof handed in again, by another session quoting the done job's lease, is a duplicate and
    // changes nothing: the job stays done with the same attempts and the same stored proof.
    let accepted = stored_job(&paths, "b1-c0");
    assert_eq!((accepted.state.as_str(), accepted.attempts), ("done", 2));
    let proof = pb::ChunkProof::decode(accepted.output.as_deref().unwrap()).unwrap();
    let (mut rogue_client, rogue_id) = rogue(grpc).await;
    let response = submit(&mut rogue_client, &rogue_id, "b1-c0", accepted.lease_id, proof).await.unwrap();
    assert_eq!(response.outcome(), pb::SubmitOutcome::Duplicate, "{response:?}");
    let after = job(grpc, 1, "b1-c0").await.unwrap();
    assert_eq!((after.state, after.attempts), (pb::JobState::Done as i32, 2), "{after:?}");
    assert_eq!(stored_job(&paths, "b1-c0"), accepted, "the duplicate changed the job");
    rogue_client.deregister(pb::DeregisterRequest { worker_id: rogue_id }).await.unwrap();

    // The coordinator dies too, and comes back on the same database.
    first_coordinator.kill();
    let second_coordinator = coordinator(&paths, &rig, grpc, http);

    let rollup = Rollup::new(rig.deployment.rollup, rig.l1(&rig.keys[0]));
    let batch = batch_1_finalized(&rig, &rollup, Duration::from_secs(1_200)).await;
    let agg = job(grpc, 1, "b1-agg").await.unwrap();
    assert_eq!(agg.state, pb::JobState::Done as i32);

    // The restarted coordinator's status page shows the batch, the workers and both kinds' proving latency.
    let http_addr: std::net::SocketAddr = format!("127.0.0.1:{http}").parse().unwrap();
    let get = |path: &'static str| tokio::task::spawn_blocking(move || zkr_devtools::http_get(http_addr, path));
    // The coordinator records the finalization once it has the receipt, which can be a moment after L1 shows it.
    let status = wait_for("the status page shows batch 1 finalized", Duration::from_secs(60), || async {
        let (code, body) = get("/api/status").await.ok()?.ok()?;
        let status: serde_json::Value = serde_json::from_str(&body).ok().filter(|_| code == 200)?;
        let batch = status["batches"].as_array()?.iter().find(|b| b["index"] == 1)?;
        (batch["state"] == "finalized").then_some(status)
    })
    .await;
    eprintln!("status: {status:#}");
    // The coordinator verifies with the compiled verifying keys alone (a few megabytes): its whole footprint, for
    // docs/perf.md (a figure to read, not a timing or memory assertion).
    if let Some(bytes) = second_coordinator.peak_resident_bytes() {
        eprintln!("coordinator peak resident memory: {:.1} MiB", bytes as f64 / (1 << 20) as f64);
    }
    let kinds: Vec<&str> = status["latency"].as_array().unwrap().iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["chunk", "aggregation"]);
    let names: Vec<&str> = status["workers"].as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"survivor") && names.contains(&"doomed"), "{names:?}");
    let (code, page) = get("/").await.unwrap().unwrap();
    assert_eq!(code, 200);
    assert!(page.contains(r#"<tr data-batch="1" class="finalized">"#));
    let (code, metrics) = get("/metrics").await.unwrap().unwrap();
    assert_eq!(code, 200);
    for name in ["zkr_coordinator_job_seconds_bucket", "zkr_coordinator_batches_finalized_total"] {
        assert!(metrics.contains(name), "{name} not exported");
    }

    // The proof the coordinator sent, read back from its finalizeBatch transaction.
    let (_, log) = rollup
        .BatchFinalized_filter()
        .from_block(0)
        .query()
        .await
        .unwrap()
        .into_iter()
        .find(|(event, _)| event.batchIndex == 1)
        .unwrap();
    let l1 = rig.l1(&rig.keys[0]);
    let sent = l1.get_transaction_by_hash(log.transaction_hash.unwrap()).await.unwrap().unwrap();
    let finalized = Rollup::finalizeBatchCall::abi_decode(sent.input()).unwrap();
    assert_eq!(finalized.newStateRoot, batch.new_state_root);

    // At the block before it landed, L1 refuses a tampered copy and a wrong state root, and takes the real proof.
    // Key 4 is a second prover: key 3 belongs to the coordinator, whose nonces the test must not race.
    let second = Rollup::new(rig.deployment.rollup, rig.l1(&rig.keys[4]));
    let before = BlockId::number(log.block_number.unwrap() - 1);
    let attempt = |index: u64, call: &Rollup::finalizeBatchCall, root: B256, proof: Bytes| {
        second
            .finalizeBatch(index, root, call.chunkDataHashes.clone(), call.chunkWithdrawalRoots.clone(), proof)
            .from(rig.keys[4].address())
            .gas(3_000_000)
    };
    let good = finalized.proof.clone();
    attempt(1, &finalized, finalized.newStateRoot, good.clone()).block(before).call().await.unwrap();
    let mut tampered = good.to_vec();
    let at = tampered.len() - 100;
    tampered[at] ^= 1;
    let mut wrong_root = finalized.newStateRoot;
    wrong_root.0[31] ^= 1;
    for (what, root, proof) in [
        ("a tampered proof", finalized.newStateRoot, Bytes::from(tampered)),
        ("a wrong state root", wrong_root, good.clone()),
    ] {
        let error = attempt(1, &finalized, root, proof).block(before).call().await.expect_err(what);
        assert!(error.as_decoded_error::<Rollup::InvalidProof>().is_some(), "{what}: {error}");
    }

    // Batch 2 (alice pays bob twice) is committed; batch 1's proof offered for it is refused on L1, in a real
    // transaction that reverts without burning the 3M gas given (the verifier's gas is bounded).
    let bob = Address::repeat_byte(0xb0);
    rig.node.submit(&signed_transfer(&alice, rig.spec.chain_id, 1, bob, ETH)).unwrap();
    rig.node.submit(&signed_transfer(&alice, rig.spec.chain_id, 2, bob, ETH)).unwrap();
    wait_for("batch 2 committed", Duration::from_secs(120), || async {
        (rollup.lastCommittedBatch().call().await.ok()? >= 2).then_some(())
    })
    .await;
    let client = RpcClient::new_http(format!("http://{}", rig.rpc_addr).parse().unwrap());
    let next: zkr_node::BatchInfo = client.request("rollup_getBatch", (2u64,)).await.unwrap();
    let next_call = Rollup::finalizeBatchCall {
        batchIndex: 2,
        newStateRoot: next.batch.new_state_root,
        chunkDataHashes: next.chunk_data_hashes,
        chunkWithdrawalRoots: next.chunk_withdrawal_roots,
        proof: good.clone(),
    };
    let reused = attempt(2, &next_call, next_call.newStateRoot, good);
    let error = reused.call().await.expect_err("a proof of batch 1 accepted for batch 2");
    assert!(error.as_decoded_error::<Rollup::InvalidProof>().is_some(), "{error}");
    let receipt = reused.send().await.unwrap().get_receipt().await.unwrap();
    assert!(!receipt.status(), "a proof finalized another batch");
    assert!(receipt.gas_used < 2_500_000, "the refused proof burned {} gas", receipt.gas_used);

    // The Portal pays alice's withdrawal against batch 1's finalized root.
    let paid = rig.pay_withdrawal(withdrawal, 1).await;
    assert!(paid.status());
    assert_eq!(l1.get_balance(alice.address()).await.unwrap(), U256::from(2 * ETH));
    drop(survivor);
}

/// A batch proven through an aggregation layer, with real processes and real proofs: anvil with the Rollup and the
/// batch verifier of the layer's circuit above, a node, `zkr-coordinator` and one `zkr-prover` worker. The coordinator
/// plans the batch's chunk job, then the group's layer job once its chunk proof is in, then the aggregation job over
/// the layer proof; it checks each proof with the verifying keys alone (the layer proof against the group's chunk
/// statements), and `finalizeBatch` takes the batch proof on L1. Two workers split the kinds: one proves chunks and
/// layers, the other batch proofs.
///
/// The shape is CI's with a layer of one chunk at k = 20 (`ProofShape { layer: Some(1:20), ..CI }`): the layer's keys
/// are then CI's aggregation keys (the same circuit over one chunk proof), and only the batch proof's circuit over
/// the layer is new. It costs a layer proof more than the cluster test (about 7 minutes of both cores cold, keys for
/// the circuit above the layer about 3 more the first time), more than CI's budget holds: it runs when
/// `ZKR_E2E_LAYERED` is set (`ZKR_E2E_LAYERED=1 cargo nextest run -p zkr-e2e --test cluster -- layer`).
#[tokio::test(flavor = "multi_thread")]
async fn a_batch_is_proven_through_a_layer_and_finalized() {
    if std::env::var_os("ZKR_E2E_LAYERED").is_none() {
        eprintln!("skipped: the layered batch proof runs with ZKR_E2E_LAYERED set");
        return;
    }
    let shape = ProofShape { layer: Some(LayerShape { group: 1, k: 20 }), ..ProofShape::CI };
    let launcher = cluster::Launcher::new(&["zkr-coordinator", "zkr-prover"]).unwrap();
    let spec = ChainSpec::dev();
    let part_codes = cluster::verifier_parts(&spec, shape).await;
    eprintln!("the batch verifier over the layer: {} part(s)", part_codes.len());
    let rig = Rig::start(spec, &part_codes, shape).await.unwrap();
    let paths = Paths { dir: launcher.work_dir(), launcher };
    write_files(paths.dir.path(), &rig);
    let grpc = free_port();
    let _coordinator = coordinator(&paths, &rig, grpc, free_port());
    // The batch proofs on a worker of their own, as a deployment with bigger machines for them would run: it reads the
    // layer's compiled verifying key, not its proving key.
    let _chunks = worker(&paths, "chunks", grpc, "chunk,layer");
    let _batches = worker(&paths, "batches", grpc, "aggregation");

    let alice = PrivateKeySigner::from_bytes(&B256::repeat_byte(0xa1)).unwrap();
    rig.deposit(alice.address(), 5 * ETH).await;
    rig.node.submit(&signed_transfer(&alice, rig.spec.chain_id, 0, zkr_node::WITHDRAWAL_ADDRESS, ETH)).unwrap();

    let rollup = Rollup::new(rig.deployment.rollup, rig.l1(&rig.keys[0]));
    batch_1_finalized(&rig, &rollup, Duration::from_secs(2_400)).await;

    // Each kind of job ran once, on the worker that takes it, and was accepted at its first attempt: the chunk, the
    // group's layer, the batch.
    for (id, by) in [("b1-c0", "chunks"), ("b1-g0", "chunks"), ("b1-agg", "batches")] {
        let done = job(grpc, 1, id).await.unwrap_or_else(|| panic!("no job {id}"));
        assert_eq!((done.state, done.attempts), (pb::JobState::Done as i32, 1), "{id}: {done:?}");
        assert!(done.worker_id.starts_with(by), "{id} proven by {}", done.worker_id);
    }
    let layer = job(grpc, 1, "b1-g0").await.unwrap();
    assert_eq!(layer.kind, pb::JobKind::Layer as i32);
    let status = operator(grpc).await.unwrap().status(pb::StatusRequest {}).await.unwrap().into_inner();
    let proven = status.batches.iter().find(|b| b.batch_index == 1).unwrap();
    assert_eq!((proven.groups, proven.groups_proven), (1, 1), "{proven:?}");
    let kinds: Vec<i32> = status.latency.iter().map(|l| l.kind).collect();
    assert!(kinds.contains(&(pb::JobKind::Layer as i32)), "{kinds:?}");
    for l in &status.latency {
        eprintln!("{:?}: {:.1} s", pb::JobKind::try_from(l.kind), l.last_seconds);
    }
}
