//! The gRPC services over real TCP: authentication, size limits, the worker protocol and the operator calls.
//!
//! Proof checking is a test double here (`Fake`: a proof is valid when its bytes say so); the circuit checker is
//! tested with real proofs in the end-to-end tests.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tonic::{Code, Request, service::interceptor::InterceptedService, transport::Channel};
use zkr_coordinator::{
    BearerAuth, CheckError, Coordinator, ProofChecker, now_ms,
    store::{Policy, Store},
};
use zkr_protos::v1::{
    self as pb, operator_client::OperatorClient, prover_coordinator_client::ProverCoordinatorClient,
    submit_proof_request::Proof,
};

pub(crate) const TOKEN: &str = "test-token";

/// Valid proofs are the bytes `ok`.
#[derive(Debug)]
struct Fake;

impl ProofChecker for Fake {
    fn check_chunk(&self, _witness: &[u8], proof: &pb::ChunkProof) -> Result<(), CheckError> {
        if proof.proof == b"ok" { Ok(()) } else { Err(CheckError::Invalid) }
    }
    fn check_layer(&self, chunks: &[pb::ChunkProof], proof: &pb::LayerProof) -> Result<(), CheckError> {
        if proof.proof == b"ok" && !chunks.is_empty() { Ok(()) } else { Err(CheckError::Invalid) }
    }
    fn check_batch(&self, chunks: &[pb::ChunkProof], proof: &pb::BatchProof) -> Result<(), CheckError> {
        if proof.proof == b"ok" && !chunks.is_empty() { Ok(()) } else { Err(CheckError::Invalid) }
    }
}

pub(crate) struct Cluster {
    pub(crate) addr: SocketAddr,
    pub(crate) coordinator: Arc<Coordinator>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(policy: Policy) -> Cluster {
    start_with_tls(policy, None).await
}

pub(crate) async fn start_with_tls(policy: Policy, tls: Option<tonic::transport::ServerTlsConfig>) -> Cluster {
    start_on(Arc::new(Store::in_memory(policy).unwrap()), tls).await
}

/// A coordinator serving on a free port over `store`, which other coordinators may share.
pub(crate) async fn start_on(store: Arc<Store>, tls: Option<tonic::transport::ServerTlsConfig>) -> Cluster {
    start_shaped(store, tls, &zkr_protocol::ProofShape::CI).await
}

/// A coordinator of a cluster proving `shape`, serving on a free port over `store`.
async fn start_shaped(
    store: Arc<Store>,
    tls: Option<tonic::transport::ServerTlsConfig>,
    shape: &zkr_protocol::ProofShape,
) -> Cluster {
    let setup = pb::ProverSetup::new(shape, vec![0xfe; 20]);
    let coordinator = Arc::new(Coordinator::new(store, Arc::new(Fake), setup));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = Box::pin(async move {
        let _ = stopped.await;
    });
    tokio::spawn(zkr_coordinator::serve_with_listener(
        listener,
        Arc::clone(&coordinator),
        BearerAuth::new([TOKEN.to_owned()]),
        tls,
        shutdown,
    ));
    tokio::spawn(Arc::clone(&coordinator).run_housekeeping());
    Cluster { addr, coordinator, _stop: stop }
}

pub(crate) type Authed = InterceptedService<Channel, fn(Request<()>) -> Result<Request<()>, tonic::Status>>;

fn with_token(mut request: Request<()>) -> Result<Request<()>, tonic::Status> {
    request.metadata_mut().insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    Ok(request)
}

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
}

pub(crate) async fn worker_client(addr: SocketAddr) -> ProverCoordinatorClient<Authed> {
    ProverCoordinatorClient::with_interceptor(channel(addr).await, with_token as fn(_) -> _)
        .max_encoding_message_size(usize::MAX)
}

pub(crate) async fn operator_client(addr: SocketAddr) -> OperatorClient<Authed> {
    OperatorClient::with_interceptor(channel(addr).await, with_token as fn(_) -> _)
}

pub(crate) async fn register(client: &mut ProverCoordinatorClient<Authed>, name: &str) -> String {
    let request = pb::RegisterRequest {
        name: name.into(),
        backend: pb::Backend::Cpu as i32,
        memory_bytes: 1 << 30,
        version: "test".into(),
        ..Default::default()
    };
    let response = client.register(request).await.unwrap().into_inner();
    assert_eq!(response.setup.unwrap().chunk_slots, 2);
    response.worker_id
}

pub(crate) async fn take(client: &mut ProverCoordinatorClient<Authed>, worker: &str, wait_ms: u32) -> Option<pb::Job> {
    client.take_job(pb::TakeJobRequest { worker_id: worker.into(), wait_ms }).await.unwrap().into_inner().job
}

pub(crate) async fn submit(
    client: &mut ProverCoordinatorClient<Authed>,
    worker: &str,
    job: &pb::Job,
    proof: Proof,
) -> pb::SubmitOutcome {
    let request = pb::SubmitProofRequest {
        worker_id: worker.into(),
        job_id: job.job_id.clone(),
        lease_id: job.lease_id,
        proof: Some(proof),
    };
    let outcome = client.submit_proof(request).await.unwrap().into_inner().outcome;
    pb::SubmitOutcome::try_from(outcome).unwrap()
}

pub(crate) fn chunk_proof(bytes: &[u8]) -> Proof {
    Proof::Chunk(pb::ChunkProof { instances: vec![vec![1; 32]], proof: bytes.to_vec() })
}

fn add_batch(cluster: &Cluster, index: u64, chunks: usize) {
    let inputs = (0..chunks).map(|c| format!("witness {c}").into_bytes()).collect();
    assert!(cluster.coordinator.store().add_batch(index, b"{}", inputs, now_ms()).unwrap());
    cluster.coordinator.notify_ready();
}

pub(crate) fn fast_policy() -> Policy {
    Policy { lease_ttl_ms: 600, max_attempts: 3, backoff_base_ms: 50, backoff_max_ms: 200, max_rejections: 3 }
}

#[tokio::test]
async fn calls_without_the_token_are_refused_but_health_answers() {
    let cluster = start(Policy::default()).await;
    let mut anonymous = ProverCoordinatorClient::new(channel(cluster.addr).await);
    let refused = anonymous
        .register(pb::RegisterRequest { name: "x".into(), backend: 1, ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    let wrong = |mut r: Request<()>| {
        r.metadata_mut().insert("authorization", "Bearer guess".parse().unwrap());
        Ok(r)
    };
    let mut guessing = ProverCoordinatorClient::with_interceptor(channel(cluster.addr).await, wrong);
    let refused = guessing
        .register(pb::RegisterRequest { name: "x".into(), backend: 1, ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    let mut operator = OperatorClient::new(channel(cluster.addr).await);
    assert_eq!(operator.status(pb::StatusRequest {}).await.unwrap_err().code(), Code::Unauthenticated);

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(cluster.addr).await);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest { service: "zkr.prover.v1.ProverCoordinator".into() })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
}

#[tokio::test]
async fn a_batch_is_proven_through_the_worker_protocol() {
    let cluster = start(fast_policy()).await;
    let mut bad = worker_client(cluster.addr).await;
    let mut good = worker_client(cluster.addr).await;
    let bad_id = register(&mut bad, "bad").await;
    let good_id = register(&mut good, "good").await;

    // A worker waiting in TakeJob gets the job as soon as the batch arrives.
    let waiting = {
        let mut client = bad.clone();
        let id = bad_id.clone();
        tokio::spawn(async move { take(&mut client, &id, 5_000).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    add_batch(&cluster, 1, 1);
    let job = waiting.await.unwrap().expect("a job");
    assert_eq!((job.job_id.as_str(), job.attempt), ("b1-c0", 1));
    match &job.input {
        Some(pb::job::Input::Chunk(input)) => assert_eq!(input.witness, b"witness 0"),
        other => panic!("unexpected input {other:?}"),
    }

    // An invalid proof is refused, and the job goes to the other worker after its backoff.
    assert_eq!(submit(&mut bad, &bad_id, &job, chunk_proof(b"forged")).await, pb::SubmitOutcome::Rejected);
    let retry = take(&mut good, &good_id, 2_000).await.expect("the job again");
    assert_eq!((retry.job_id.as_str(), retry.attempt), ("b1-c0", 2));
    // The refused worker's stale lease cannot submit any more, even a valid proof.
    assert_eq!(submit(&mut bad, &bad_id, &job, chunk_proof(b"ok")).await, pb::SubmitOutcome::StaleLease);
    // A batch proof for a chunk job is refused as malformed.
    let wrong_kind = Proof::Batch(pb::BatchProof { instances: vec![], proof: b"ok".to_vec() });
    assert_eq!(submit(&mut good, &good_id, &retry, wrong_kind).await, pb::SubmitOutcome::Rejected);
    let retry = take(&mut good, &good_id, 2_000).await.expect("the job a third time");
    assert_eq!(retry.attempt, 3);
    assert_eq!(submit(&mut good, &good_id, &retry, chunk_proof(b"ok")).await, pb::SubmitOutcome::Accepted);
    assert_eq!(submit(&mut good, &good_id, &retry, chunk_proof(b"ok")).await, pb::SubmitOutcome::Duplicate);

    // The aggregation job carries the accepted chunk proofs.
    let agg = take(&mut good, &good_id, 2_000).await.expect("the aggregation job");
    assert_eq!(agg.kind, pb::JobKind::Aggregation as i32);
    match &agg.input {
        Some(pb::job::Input::Aggregation(input)) => {
            assert_eq!(input.chunks.len(), 1);
            assert_eq!(input.chunks[0].proof, b"ok");
        }
        other => panic!("unexpected input {other:?}"),
    }
    let batch = Proof::Batch(pb::BatchProof { instances: vec![], proof: b"ok".to_vec() });
    assert_eq!(submit(&mut good, &good_id, &agg, batch).await, pb::SubmitOutcome::Accepted);
    let stored = cluster.coordinator.store().batch(1).unwrap().unwrap();
    assert_eq!(stored.state, "proven");

    let mut operator = operator_client(cluster.addr).await;
    let status = operator.status(pb::StatusRequest {}).await.unwrap().into_inner();
    assert_eq!((status.done, status.queued, status.leased), (2, 0, 0));
    assert_eq!(status.workers.len(), 2);
    assert_eq!(status.batches[0].state, "proven");
    assert_eq!((status.batches[0].chunks, status.batches[0].chunks_proven), (1, 1));
}

/// A setup with a layer: the coordinator hands out each group's layer job with the group's chunk proofs once they
/// are in, then the batch's aggregation job with the layer proofs; the status counts the layer proofs.
#[tokio::test]
async fn a_layered_batch_is_proven_through_the_worker_protocol() {
    let shape = zkr_protocol::ProofShape {
        chunks_per_batch: 4,
        layer: Some(zkr_protocol::LayerShape { group: 2, k: 20 }),
        ..zkr_protocol::ProofShape::CI
    };
    let cluster = start_shaped(Arc::new(Store::in_memory(fast_policy()).unwrap()), None, &shape).await;
    let mut client = worker_client(cluster.addr).await;
    let worker = register(&mut client, "w").await;
    let response = client
        .register(pb::RegisterRequest { name: "setup".into(), backend: pb::Backend::Cpu as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.setup.unwrap().shape(), shape, "workers learn the layer");

    let inputs = (0..4).map(|c| format!("witness {c}").into_bytes()).collect();
    let store = cluster.coordinator.store();
    assert!(store.add_batch_in_groups(1, b"{}", inputs, cluster.coordinator.layer_group(), false, now_ms()).unwrap());
    cluster.coordinator.notify_ready();
    let mut chunks = Vec::new();
    for _ in 0..4 {
        chunks.push(take(&mut client, &worker, 1_000).await.expect("a chunk job"));
    }
    // Each chunk proof's public inputs name its chunk, to see them arrive in order.
    let proof_of = |c: u8| Proof::Chunk(pb::ChunkProof { instances: vec![vec![c; 32]], proof: b"ok".to_vec() });
    for c in [3, 2, 1] {
        assert_eq!(submit(&mut client, &worker, &chunks[c], proof_of(c as u8)).await, pb::SubmitOutcome::Accepted);
    }
    // Group 1 (chunks 2 and 3) is complete; group 0 waits for chunk 0.
    let layer = take(&mut client, &worker, 1_000).await.expect("group 1's layer job");
    assert!(take(&mut client, &worker, 100).await.is_none(), "group 0 is not complete");
    assert_eq!((layer.job_id.as_str(), layer.kind, layer.chunk_index), ("b1-g1", pb::JobKind::Layer as i32, 1));
    match &layer.input {
        Some(pb::job::Input::Layer(input)) => {
            let firsts: Vec<u8> = input.chunks.iter().map(|c| c.instances[0][0]).collect();
            assert_eq!(firsts, [2, 3], "the group's chunk proofs in chunk order");
        }
        other => panic!("unexpected input {other:?}"),
    }
    // A batch proof for a layer job is refused as malformed; a layer proof is accepted.
    let batch_proof = || Proof::Batch(pb::BatchProof { instances: vec![], proof: b"ok".to_vec() });
    assert_eq!(submit(&mut client, &worker, &layer, batch_proof()).await, pb::SubmitOutcome::Rejected);
    let layer = take(&mut client, &worker, 2_000).await.expect("the layer job again");
    let layer_proof = |tag: u8| Proof::Layer(pb::LayerProof { instances: vec![vec![tag; 32]], proof: b"ok".to_vec() });
    assert_eq!(submit(&mut client, &worker, &layer, layer_proof(11)).await, pb::SubmitOutcome::Accepted);

    assert_eq!(submit(&mut client, &worker, &chunks[0], proof_of(0)).await, pb::SubmitOutcome::Accepted);
    let layer = take(&mut client, &worker, 1_000).await.expect("group 0's layer job");
    assert_eq!(layer.job_id, "b1-g0");
    assert_eq!(submit(&mut client, &worker, &layer, layer_proof(10)).await, pb::SubmitOutcome::Accepted);

    // The batch proof aggregates the layer proofs, in group order.
    let agg = take(&mut client, &worker, 1_000).await.expect("the aggregation job");
    match &agg.input {
        Some(pb::job::Input::Aggregation(input)) => {
            assert!(input.chunks.is_empty());
            let tags: Vec<u8> = input.layers.iter().map(|l| l.instances[0][0]).collect();
            assert_eq!(tags, [10, 11]);
        }
        other => panic!("unexpected input {other:?}"),
    }
    assert_eq!(submit(&mut client, &worker, &agg, batch_proof()).await, pb::SubmitOutcome::Accepted);

    let mut operator = operator_client(cluster.addr).await;
    let status = operator.status(pb::StatusRequest {}).await.unwrap().into_inner();
    let batch = &status.batches[0];
    assert_eq!(batch.state, "proven");
    assert_eq!((batch.chunks, batch.chunks_proven, batch.groups, batch.groups_proven), (4, 4, 2, 2));
    let kinds: Vec<i32> = status.latency.iter().map(|l| l.kind).collect();
    assert!(kinds.contains(&(pb::JobKind::Layer as i32)), "layer jobs have their latency: {kinds:?}");
}

/// A worker that would take only layer jobs from a cluster without a layer is refused at registration.
#[tokio::test]
async fn a_layer_only_worker_is_refused_without_a_layer() {
    let cluster = start(Policy::default()).await;
    let mut client = worker_client(cluster.addr).await;
    let request = |kinds: Vec<pb::JobKind>| pb::RegisterRequest {
        name: "w".into(),
        backend: pb::Backend::Cpu as i32,
        kinds: kinds.into_iter().map(|k| k as i32).collect(),
        ..Default::default()
    };
    let refused = client.register(request(vec![pb::JobKind::Layer])).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("no layer"), "{}", refused.message());
    client.register(request(vec![pb::JobKind::Layer, pb::JobKind::Chunk])).await.unwrap();
}

/// Workers' stage reports show on the status, per backend and GPU model, and in the stage histogram's labels.
#[tokio::test]
async fn progress_reports_show_per_stage_and_device_on_the_status() {
    let cluster = start(fast_policy()).await;
    let mut client = worker_client(cluster.addr).await;
    let request = pb::RegisterRequest {
        name: "gpu-0".into(),
        backend: pb::Backend::Cuda as i32,
        gpu_model: "NVIDIA H100 80GB HBM3".into(),
        memory_bytes: 80 << 30,
        version: "test".into(),
        ..Default::default()
    };
    let worker = client.register(request).await.unwrap().into_inner().worker_id;
    let cpu = register(&mut client, "cpu-0").await;
    let report = |worker: &str, job: &str, stage: pb::Stage, elapsed_ms: u64| pb::ProgressReport {
        worker_id: worker.into(),
        job_id: job.into(),
        lease_id: 1,
        stage: stage as i32,
        finished: true,
        elapsed_ms,
        // Unspecified, as from a worker that predates the field: the kind is read from the job id.
        kind: 0,
    };
    let reports = vec![
        report(&worker, "b1-c0", pb::Stage::Msm, 1_000),
        report(&worker, "b1-c1", pb::Stage::Msm, 3_000),
        report(&worker, "b1-c0", pb::Stage::Witness, 500),
        report(&cpu, "b1-agg", pb::Stage::Quotient, 60_000),
        // Not finished: progress only, not a duration.
        pb::ProgressReport { finished: false, ..report(&cpu, "b1-agg", pb::Stage::Msm, 1) },
    ];
    client.report_progress(tokio_stream::iter(reports)).await.unwrap();

    let snapshot = cluster.coordinator.snapshot().await.unwrap();
    let rows: Vec<(&str, &str, &str, &str, u32, f64)> = snapshot
        .stages
        .iter()
        .map(|r| {
            (
                r.device.backend.as_str(),
                r.device.gpu.as_str(),
                r.kind.as_str(),
                r.stage,
                r.latency.samples,
                r.latency.last,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("cpu", "", "aggregation", "quotient", 1, 60.0),
            ("cuda", "NVIDIA H100 80GB HBM3", "chunk", "witness", 1, 0.5),
            ("cuda", "NVIDIA H100 80GB HBM3", "chunk", "msm", 2, 3.0),
        ]
    );
    let json = snapshot.to_json();
    assert_eq!(json["stages"][2]["gpuModel"], "NVIDIA H100 80GB HBM3");
    assert_eq!(json["stages"][2]["p95Seconds"], 3.0);
    let html = snapshot.to_html();
    assert!(
        html.contains(r#"<tr data-stage="msm"><td>cuda</td><td>NVIDIA H100 80GB HBM3</td><td>chunk</td>"#),
        "{html}"
    );
}

#[tokio::test]
async fn a_silent_worker_loses_its_lease_without_spending_an_attempt() {
    let cluster = start(fast_policy()).await;
    let mut silent = worker_client(cluster.addr).await;
    let mut live = worker_client(cluster.addr).await;
    let silent_id = register(&mut silent, "silent").await;
    let live_id = register(&mut live, "live").await;
    add_batch(&cluster, 1, 1);
    let job = take(&mut silent, &silent_id, 1_000).await.unwrap();

    // The live worker heartbeats and waits; the silent one's lease lapses after 600 ms.
    let heartbeat = {
        let mut client = live.clone();
        let id = live_id.clone();
        tokio::spawn(async move {
            loop {
                client.heartbeat(pb::HeartbeatRequest { worker_id: id.clone(), leases: vec![] }).await.unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let again = take(&mut live, &live_id, 5_000).await.expect("the lapsed job");
    heartbeat.abort();
    assert_eq!((again.job_id, again.attempt), (job.job_id.clone(), 1));
    assert!(again.lease_id > job.lease_id);
    // The silent worker's session ended: it must register again, and its late proof is not taken.
    let late = pb::SubmitProofRequest {
        worker_id: silent_id.clone(),
        job_id: job.job_id.clone(),
        lease_id: job.lease_id,
        proof: Some(chunk_proof(b"ok")),
    };
    assert_eq!(silent.submit_proof(late).await.unwrap_err().code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn released_leases_and_drained_workers() {
    let cluster = start(Policy::default()).await;
    let mut w = worker_client(cluster.addr).await;
    let id = register(&mut w, "gpu-1").await;
    add_batch(&cluster, 1, 2);
    let job = take(&mut w, &id, 1_000).await.unwrap();
    w.release_lease(pb::ReleaseLeaseRequest {
        worker_id: id.clone(),
        job_id: job.job_id.clone(),
        lease_id: job.lease_id,
    })
    .await
    .unwrap();
    let again = take(&mut w, &id, 1_000).await.unwrap();
    assert_eq!((again.job_id.as_str(), again.attempt), (job.job_id.as_str(), 1), "released: no attempt spent");

    let mut operator = operator_client(cluster.addr).await;
    let drained = operator.drain_worker(pb::DrainWorkerRequest { worker: "gpu-1".into() }).await.unwrap().into_inner();
    assert!(drained.worker.unwrap().draining);
    let beat = w
        .heartbeat(pb::HeartbeatRequest {
            worker_id: id.clone(),
            leases: vec![pb::LeaseRef { job_id: again.job_id.clone(), lease_id: again.lease_id }],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(beat.draining && beat.revoked.is_empty());
    assert!(take(&mut w, &id, 200).await.is_none(), "a drained worker gets nothing new");
    // Its job in hand still counts.
    assert_eq!(submit(&mut w, &id, &again, chunk_proof(b"ok")).await, pb::SubmitOutcome::Accepted);

    // Cancel and requeue through the operator service.
    let other =
        cluster.coordinator.store().list_jobs(Some(zkr_coordinator::store::JobState::Queued), None, 10).unwrap();
    let other = &other[0].id;
    let cancelled = operator.cancel_job(pb::JobRequest { job_id: other.clone() }).await.unwrap().into_inner();
    assert_eq!(cancelled.job.unwrap().state, pb::JobState::Cancelled as i32);
    let requeued = operator.requeue_job(pb::JobRequest { job_id: other.clone() }).await.unwrap().into_inner();
    assert_eq!(requeued.job.unwrap().state, pb::JobState::Queued as i32);
    let listed = operator
        .list_jobs(pb::ListJobsRequest { state: pb::JobState::Done as i32, batch_index: Some(1), limit: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.jobs.len(), 1);
    assert_eq!(
        operator.requeue_job(pb::JobRequest { job_id: "nope".into() }).await.unwrap_err().code(),
        Code::NotFound
    );
    w.deregister(pb::DeregisterRequest { worker_id: id.clone() }).await.unwrap();
    assert_eq!(take_err(&mut w, &id).await, Code::FailedPrecondition);
}

async fn take_err(client: &mut ProverCoordinatorClient<Authed>, worker: &str) -> Code {
    client.take_job(pb::TakeJobRequest { worker_id: worker.into(), wait_ms: 0 }).await.unwrap_err().code()
}

#[tokio::test]
async fn oversized_messages_are_refused_and_change_nothing() {
    let cluster = start(Policy::default()).await;
    let mut w = worker_client(cluster.addr).await;
    let id = register(&mut w, "w").await;
    add_batch(&cluster, 1, 1);
    let job = take(&mut w, &id, 1_000).await.unwrap();
    let huge = vec![7u8; zkr_protos::limits::MAX_MESSAGE_BYTES + 1];
    let request = pb::SubmitProofRequest {
        worker_id: id.clone(),
        job_id: job.job_id.clone(),
        lease_id: job.lease_id,
        proof: Some(chunk_proof(&huge)),
    };
    let refused = w.submit_proof(request).await.unwrap_err();
    assert!(matches!(refused.code(), Code::OutOfRange | Code::ResourceExhausted), "{refused:?}");
    let stored = cluster.coordinator.store().job(&job.job_id).unwrap().unwrap();
    assert_eq!((stored.state, stored.lease_id), (zkr_coordinator::store::JobState::Leased, job.lease_id));
    // The connection still works, and the proper proof is accepted.
    assert_eq!(submit(&mut w, &id, &job, chunk_proof(b"ok")).await, pb::SubmitOutcome::Accepted);
}
