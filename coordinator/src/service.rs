//! The gRPC services: `ProverCoordinator` for workers, `Operator` for operators. Both drive [`Store`].

use std::{
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use prost::Message;
use tokio::sync::Notify;
use tonic::{Request, Response, Status, Streaming};
use zkr_protos::{
    limits::MAX_TAKE_WAIT_MS,
    v1::{
        self as pb, AggregationInput, ChunkInput, job::Input, operator_server::Operator,
        prover_coordinator_server::ProverCoordinator, submit_proof_request::Proof,
    },
};

use crate::{
    Error,
    checker::{CheckError, ProofChecker},
    metrics,
    stages::{Device, StageStats},
    status::Snapshot,
    store::{JobKind, JobRecord, JobState, Lease, Store, SubmitCheck, WorkerRecord, WorkerSpec},
};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// What both services share.
#[derive(Debug)]
pub struct Coordinator {
    store: Arc<Store>,
    checker: Arc<dyn ProofChecker>,
    setup: pb::ProverSetup,
    /// Woken whenever a job may have become ready (new batch, requeue, release, lapsed lease, chunks done).
    ready: Arc<Notify>,
    /// Stage durations from the progress streams this replica received, by worker device.
    stages: Arc<StageStats>,
}

impl std::fmt::Debug for dyn ProofChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProofChecker")
    }
}

impl Coordinator {
    /// A coordinator over `store` that checks proofs with `checker` and tells workers to prove with `setup`.
    pub fn new(store: Arc<Store>, checker: Arc<dyn ProofChecker>, setup: pb::ProverSetup) -> Self {
        Self { store, checker, setup, ready: Arc::new(Notify::new()), stages: Arc::default() }
    }

    /// Chunks per layer proof in this cluster's setup; 0 without a layer.
    pub fn layer_group(&self) -> u32 {
        self.setup.layer.as_ref().map_or(0, |layer| layer.group)
    }

    /// The store.
    pub const fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// What the coordinator is doing now (the status page and the operator's `Status`).
    pub async fn snapshot(&self) -> crate::Result<Snapshot> {
        let mut snapshot = self.with_store(|store| Snapshot::read(store, now_ms())).await?;
        snapshot.stages = self.stages.rows();
        Ok(snapshot)
    }

    /// The device `worker` registered with: remembered at registration, or read from the store (a worker that
    /// registered with another replica, or before a restart).
    async fn device_of(&self, worker: &str) -> Device {
        if let Some(device) = self.stages.device_of(worker) {
            return device;
        }
        let id = worker.to_owned();
        let found = self.with_store(move |store| Ok(store.workers()?.into_iter().find(|w| w.id == id))).await;
        let device = match found {
            Ok(Some(record)) => Device { backend: record.spec.backend, gpu: record.spec.gpu_model },
            _ => Device { backend: "unknown".into(), gpu: String::new() },
        };
        self.stages.worker(worker, device.clone());
        device
    }

    /// Wakes workers waiting in `TakeJob`.
    pub fn notify_ready(&self) {
        self.ready.notify_waiters();
    }

    /// One round of housekeeping: lapsed leases back to the queue, silent workers marked gone, gauges refreshed.
    pub fn tick(&self) -> crate::Result<()> {
        let requeued = self.store.expire(now_ms())?;
        if !requeued.is_empty() {
            tracing::warn!(target: "coordinator::lease", jobs = ?requeued, "leases lapsed; jobs queued again");
            ::metrics::counter!(metrics::LEASES_LAPSED).increment(requeued.len() as u64);
            self.notify_ready();
        }
        metrics::record_gauges(&self.store)?;
        Ok(())
    }

    /// Runs [`Coordinator::tick`] every quarter lease until the process ends.
    pub async fn run_housekeeping(self: Arc<Self>) {
        let period = Duration::from_millis((self.store.policy().lease_ttl_ms / 4).max(100));
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let this = Arc::clone(&self);
            match tokio::task::spawn_blocking(move || this.tick()).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::error!(target: "coordinator::lease", %err, "housekeeping failed"),
                Err(err) => tracing::error!(target: "coordinator::lease", %err, "housekeeping panicked"),
            }
        }
    }

    /// Runs store calls on tokio's blocking pool: they wait on SQLite's lock or on Postgres round trips, and the sync
    /// Postgres client must not run on an async worker thread.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> crate::Result<T> + Send + 'static,
    ) -> crate::Result<T> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&store)).await.map_err(|e| crate::Error::Task(e.to_string()))?
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> crate::Result<T> + Send + 'static,
    ) -> Result<T, Status> {
        self.with_store(f).await.map_err(to_status)
    }

    fn lease_to_job(lease: Lease) -> Result<pb::Job, Status> {
        fn decode_all<M: Message + Default>(inputs: &[Vec<u8>]) -> Result<Vec<M>, Status> {
            decode_each(inputs).map_err(|e| Status::internal(format!("stored proof: {e}")))
        }
        let input = match lease.kind {
            JobKind::Chunk => Input::Chunk(ChunkInput { witness: lease.inputs.into_iter().next().unwrap_or_default() }),
            JobKind::Layer => Input::Layer(pb::LayerInput { chunks: decode_all(&lease.inputs)? }),
            JobKind::Aggregation if lease.layered => {
                Input::Aggregation(AggregationInput { chunks: Vec::new(), layers: decode_all(&lease.inputs)? })
            }
            JobKind::Aggregation => {
                Input::Aggregation(AggregationInput { chunks: decode_all(&lease.inputs)?, layers: Vec::new() })
            }
        };
        Ok(pb::Job {
            job_id: lease.job_id,
            kind: kind_to_pb(lease.kind) as i32,
            batch_index: lease.batch_index,
            chunk_index: lease.chunk_index,
            lease_id: lease.lease_id,
            lease_deadline_unix_ms: lease.deadline_ms,
            attempt: lease.attempt,
            input: Some(input),
        })
    }

    /// Checks a submitted proof against the job's statement, on a blocking thread.
    async fn check(&self, job: &JobRecord, proof: Proof) -> Result<Result<Vec<u8>, CheckError>, Status> {
        let checker = Arc::clone(&self.checker);
        let job_id = job.id.clone();
        let kind = job.kind;
        let (batch, index) = (job.batch_index, job.chunk_index);
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || -> crate::Result<Result<Vec<u8>, CheckError>> {
            let decode = |proofs: Vec<Vec<u8>>| {
                decode_each::<pb::ChunkProof>(&proofs).map_err(|e| CheckError::BadJobInput(e.to_string()))
            };
            Ok(match (kind, proof) {
                (JobKind::Chunk, Proof::Chunk(proof)) => {
                    let witness = store.job_input(&job_id)?.unwrap_or_default();
                    checker.check_chunk(&witness, &proof).map(|()| proof.encode_to_vec())
                }
                (JobKind::Layer, Proof::Layer(proof)) => decode(store.group_chunk_proofs(batch, index)?)
                    .and_then(|chunks| checker.check_layer(&chunks, &proof))
                    .map(|()| proof.encode_to_vec()),
                (JobKind::Aggregation, Proof::Batch(proof)) => decode(store.chunk_proofs(batch)?)
                    .and_then(|chunks| checker.check_batch(&chunks, &proof))
                    .map(|()| proof.encode_to_vec()),
                (kind, proof) => {
                    let sent = match proof {
                        Proof::Chunk(_) => "a chunk proof",
                        Proof::Layer(_) => "a layer proof",
                        Proof::Batch(_) => "a batch proof",
                    };
                    Err(CheckError::Malformed(format!("{sent} for a {} job", kind.as_str())))
                }
            })
        })
        .await
        .map_err(|e| Status::internal(format!("proof check failed: {e}")))?
        .map_err(to_status)
    }
}

fn to_status(err: Error) -> Status {
    match &err {
        Error::UnknownWorker(_) | Error::UnknownJob(_) => Status::not_found(err.to_string()),
        Error::WorkerGone(_) | Error::InvalidTransition { .. } => Status::failed_precondition(err.to_string()),
        _ => {
            tracing::error!(target: "coordinator::grpc", %err, "internal error");
            Status::internal(err.to_string())
        }
    }
}

/// Decodes stored messages (accepted proofs), in order.
fn decode_each<M: Message + Default>(stored: &[Vec<u8>]) -> Result<Vec<M>, prost::DecodeError> {
    stored.iter().map(|bytes| M::decode(bytes.as_slice())).collect()
}

/// A job's kind from its id (`crate::store`'s ids), for progress reports of workers that predate `ProgressReport.kind`.
fn kind_of_job_id(id: &str) -> JobKind {
    match id.rsplit_once('-').map(|(_, tail)| tail) {
        Some("agg") => JobKind::Aggregation,
        Some(tail) if tail.starts_with('g') => JobKind::Layer,
        _ => JobKind::Chunk,
    }
}

/// The protobuf kind of a job kind.
pub const fn kind_to_pb(kind: JobKind) -> pb::JobKind {
    match kind {
        JobKind::Chunk => pb::JobKind::Chunk,
        JobKind::Layer => pb::JobKind::Layer,
        JobKind::Aggregation => pb::JobKind::Aggregation,
    }
}

fn kind_from_pb(kind: i32) -> Option<JobKind> {
    match pb::JobKind::try_from(kind).ok()? {
        pb::JobKind::Chunk => Some(JobKind::Chunk),
        pb::JobKind::Aggregation => Some(JobKind::Aggregation),
        pb::JobKind::Layer => Some(JobKind::Layer),
        pb::JobKind::Unspecified => None,
    }
}

const fn state_to_pb(state: JobState) -> pb::JobState {
    match state {
        JobState::Queued => pb::JobState::Queued,
        JobState::Leased => pb::JobState::Leased,
        JobState::Done => pb::JobState::Done,
        JobState::Failed => pb::JobState::Failed,
        JobState::Cancelled => pb::JobState::Cancelled,
        JobState::Held => pb::JobState::Held,
    }
}

fn backend_to_pb(backend: &str) -> pb::Backend {
    match backend {
        "cpu" => pb::Backend::Cpu,
        "cuda" => pb::Backend::Cuda,
        _ => pb::Backend::Unspecified,
    }
}

fn job_info(job: &JobRecord) -> pb::JobInfo {
    pb::JobInfo {
        job_id: job.id.clone(),
        kind: kind_to_pb(job.kind) as i32,
        state: state_to_pb(job.state) as i32,
        batch_index: job.batch_index,
        chunk_index: job.chunk_index,
        attempts: job.attempts,
        worker_id: job.worker_id.clone().unwrap_or_default(),
        last_error: job.last_error.clone().unwrap_or_default(),
        created_unix_ms: job.created_ms,
        updated_unix_ms: job.updated_ms,
    }
}

pub(crate) fn worker_info(worker: &WorkerRecord, jobs: Vec<String>) -> pb::WorkerInfo {
    pb::WorkerInfo {
        worker_id: worker.id.clone(),
        name: worker.spec.name.clone(),
        backend: backend_to_pb(&worker.spec.backend) as i32,
        gpu_model: worker.spec.gpu_model.clone(),
        memory_bytes: worker.spec.memory_bytes,
        version: worker.spec.version.clone(),
        last_heartbeat_unix_ms: worker.last_seen_ms,
        draining: worker.draining,
        jobs,
        connected: !worker.gone,
    }
}

#[tonic::async_trait]
impl ProverCoordinator for Coordinator {
    async fn register(&self, request: Request<pb::RegisterRequest>) -> Result<Response<pb::RegisterResponse>, Status> {
        let req = request.into_inner();
        if req.name.trim().is_empty() {
            return Err(Status::invalid_argument("a worker needs a name"));
        }
        let backend = match pb::Backend::try_from(req.backend) {
            Ok(pb::Backend::Cpu) => "cpu",
            Ok(pb::Backend::Cuda) => "cuda",
            _ => return Err(Status::invalid_argument("unknown backend")),
        };
        let mut kinds = Vec::new();
        for kind in &req.kinds {
            kinds.push(kind_from_pb(*kind).ok_or_else(|| Status::invalid_argument("unknown job kind"))?);
        }
        if self.setup.layer.is_none() && !kinds.is_empty() && kinds.iter().all(|kind| *kind == JobKind::Layer) {
            return Err(Status::invalid_argument(
                "this cluster's setup has no layer: a worker that takes only layer jobs would get none",
            ));
        }
        let spec = WorkerSpec {
            name: req.name,
            backend: backend.into(),
            gpu_model: req.gpu_model,
            memory_bytes: req.memory_bytes,
            version: req.version,
            kinds,
        };
        let worker = self.blocking(move |store| store.register_worker(&spec, now_ms())).await?;
        self.stages
            .worker(&worker.id, Device { backend: worker.spec.backend.clone(), gpu: worker.spec.gpu_model.clone() });
        tracing::info!(
            target: "coordinator::workers",
            worker = %worker.id,
            backend = %worker.spec.backend,
            gpu = %worker.spec.gpu_model,
            version = %worker.spec.version,
            "worker registered"
        );
        let policy = *self.store.policy();
        Ok(Response::new(pb::RegisterResponse {
            worker_id: worker.id,
            heartbeat_interval_ms: (policy.lease_ttl_ms / 3) as u32,
            lease_ttl_ms: policy.lease_ttl_ms as u32,
            setup: Some(self.setup.clone()),
            coordinator_version: env!("CARGO_PKG_VERSION").into(),
        }))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let req = request.into_inner();
        let leases: Vec<(String, u64)> = req.leases.into_iter().map(|l| (l.job_id, l.lease_id)).collect();
        let outcome = self.blocking(move |store| store.heartbeat(&req.worker_id, &leases, now_ms())).await?;
        Ok(Response::new(pb::HeartbeatResponse {
            revoked: outcome.revoked.into_iter().map(|(job_id, lease_id)| pb::LeaseRef { job_id, lease_id }).collect(),
            draining: outcome.draining,
        }))
    }

    async fn take_job(&self, request: Request<pb::TakeJobRequest>) -> Result<Response<pb::TakeJobResponse>, Status> {
        let req = request.into_inner();
        let wait = Duration::from_millis(u64::from(req.wait_ms.min(MAX_TAKE_WAIT_MS)));
        let deadline = Instant::now() + wait;
        loop {
            // Registered before the attempt, so a job that becomes ready in between is not missed.
            let ready = self.ready.notified();
            let worker = req.worker_id.clone();
            if let Some(lease) = self.blocking(move |store| store.take_job(&worker, now_ms())).await? {
                tracing::info!(
                    target: "coordinator::lease",
                    job = %lease.job_id,
                    lease = lease.lease_id,
                    worker = %req.worker_id,
                    attempt = lease.attempt,
                    "job leased"
                );
                ::metrics::counter!(metrics::LEASES, "kind" => lease.kind.as_str()).increment(1);
                return Ok(Response::new(pb::TakeJobResponse { job: Some(Self::lease_to_job(lease)?) }));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Response::new(pb::TakeJobResponse { job: None }));
            }
            // Backoffs end without a notification: look again at least every half second.
            let _ = tokio::time::timeout((deadline - now).min(Duration::from_millis(500)), ready).await;
        }
    }

    async fn report_progress(
        &self,
        request: Request<Streaming<pb::ProgressReport>>,
    ) -> Result<Response<pb::ProgressAck>, Status> {
        let mut stream = request.into_inner();
        while let Some(report) = stream.message().await? {
            let stage = pb::Stage::try_from(report.stage).unwrap_or(pb::Stage::Unspecified);
            if report.finished {
                let kind = kind_from_pb(report.kind).unwrap_or_else(|| kind_of_job_id(&report.job_id));
                let device = self.device_of(&report.worker_id).await;
                let seconds = report.elapsed_ms as f64 / 1000.0;
                ::metrics::histogram!(
                    metrics::STAGE_SECONDS,
                    "stage" => stage.label(),
                    "kind" => kind.as_str(),
                    "backend" => device.backend.clone(),
                    "gpu" => if device.gpu.is_empty() { "none".to_owned() } else { device.gpu.clone() }
                )
                .record(seconds);
                self.stages.record(device, kind, stage.label(), seconds);
            }
            tracing::debug!(
                target: "coordinator::progress",
                worker = %report.worker_id,
                job = %report.job_id,
                stage = stage.label(),
                finished = report.finished,
                elapsed_ms = report.elapsed_ms,
                "progress"
            );
        }
        Ok(Response::new(pb::ProgressAck {}))
    }

    async fn submit_proof(
        &self,
        request: Request<pb::SubmitProofRequest>,
    ) -> Result<Response<pb::SubmitProofResponse>, Status> {
        let req = request.into_inner();
        let proof = req.proof.ok_or_else(|| Status::invalid_argument("no proof"))?;
        let (worker, job_id, lease_id) = (req.worker_id.clone(), req.job_id.clone(), req.lease_id);
        let check = self.blocking(move |store| store.check_submission(&worker, &job_id, lease_id, now_ms())).await?;
        let job = match check {
            SubmitCheck::Duplicate => return Ok(outcome(pb::SubmitOutcome::Duplicate, "already proven")),
            SubmitCheck::Stale => {
                ::metrics::counter!(metrics::STALE_SUBMISSIONS).increment(1);
                return Ok(outcome(pb::SubmitOutcome::StaleLease, "the lease is no longer yours"));
            }
            SubmitCheck::Current(job) => job,
        };
        let started = Instant::now();
        let verdict = self.check(&job, proof).await?;
        ::metrics::histogram!(metrics::CHECK_SECONDS, "kind" => job.kind.as_str())
            .record(started.elapsed().as_secs_f64());
        let (worker, job_id) = (req.worker_id, req.job_id);
        match verdict {
            Ok(encoded) => {
                let stored = {
                    let job_id = job_id.clone();
                    self.blocking(move |store| store.accept(&job_id, lease_id, &encoded, now_ms())).await?
                };
                Ok(match stored {
                    SubmitCheck::Current(done) => {
                        tracing::info!(
                            target: "coordinator::jobs",
                            job = %job_id,
                            worker = %worker,
                            attempts = done.attempts,
                            "proof accepted"
                        );
                        ::metrics::counter!(metrics::PROOFS_ACCEPTED, "kind" => job.kind.as_str()).increment(1);
                        ::metrics::histogram!(metrics::JOB_SECONDS, "kind" => job.kind.as_str())
                            .record(done.updated_ms.saturating_sub(done.created_ms) as f64 / 1000.0);
                        // A batch's last chunk creates its aggregation job.
                        self.notify_ready();
                        outcome(pb::SubmitOutcome::Accepted, "")
                    }
                    SubmitCheck::Duplicate => outcome(pb::SubmitOutcome::Duplicate, "already proven"),
                    SubmitCheck::Stale => outcome(pb::SubmitOutcome::StaleLease, "the lease lapsed during the check"),
                })
            }
            Err(CheckError::BadJobInput(reason)) => {
                tracing::error!(target: "coordinator::jobs", job = %job_id, %reason, "the job's own input is broken");
                let reason = format!("job input: {reason}");
                self.blocking(move |store| store.fail(&job_id, lease_id, false, &reason, now_ms())).await?;
                Err(Status::internal("the job's input is broken; the job failed"))
            }
            Err(refused) => {
                let reason = refused.to_string();
                tracing::warn!(target: "coordinator::jobs", job = %job_id, worker = %worker, %reason, "proof refused");
                ::metrics::counter!(metrics::PROOFS_REJECTED, "kind" => job.kind.as_str()).increment(1);
                let message = reason.clone();
                self.blocking(move |store| store.reject(&worker, &job_id, lease_id, &reason, now_ms())).await?;
                self.notify_ready();
                Ok(outcome(pb::SubmitOutcome::Rejected, &message))
            }
        }
    }

    async fn report_failure(
        &self,
        request: Request<pb::ReportFailureRequest>,
    ) -> Result<Response<pb::ReportFailureResponse>, Status> {
        let req = request.into_inner();
        let worker = req.worker_id.clone();
        let job_id = req.job_id.clone();
        let state = self
            .blocking(move |store| {
                let now = now_ms();
                // The caller must hold a live session; the lease itself is checked by `fail`.
                store.heartbeat(&worker, &[], now)?;
                store.fail(&job_id, req.lease_id, req.retryable, &req.message, now)
            })
            .await?;
        tracing::warn!(
            target: "coordinator::jobs",
            job = %req.job_id,
            worker = %req.worker_id,
            retryable = req.retryable,
            ?state,
            "worker reported a failure"
        );
        self.notify_ready();
        let state = match state {
            Some(state) => state,
            None => self.blocking(move |store| store.job(&req.job_id)).await?.map_or(JobState::Queued, |j| j.state),
        };
        Ok(Response::new(pb::ReportFailureResponse { state: state_to_pb(state) as i32 }))
    }

    async fn release_lease(
        &self,
        request: Request<pb::ReleaseLeaseRequest>,
    ) -> Result<Response<pb::ReleaseLeaseResponse>, Status> {
        let req = request.into_inner();
        let released =
            self.blocking(move |store| store.release(&req.worker_id, &req.job_id, req.lease_id, now_ms())).await?;
        if released {
            self.notify_ready();
        }
        Ok(Response::new(pb::ReleaseLeaseResponse {}))
    }

    async fn deregister(
        &self,
        request: Request<pb::DeregisterRequest>,
    ) -> Result<Response<pb::DeregisterResponse>, Status> {
        let req = request.into_inner();
        let worker = req.worker_id.clone();
        let requeued = self.blocking(move |store| store.deregister(&worker, now_ms())).await?;
        tracing::info!(target: "coordinator::workers", worker = %req.worker_id, ?requeued, "worker left");
        if !requeued.is_empty() {
            self.notify_ready();
        }
        Ok(Response::new(pb::DeregisterResponse {}))
    }
}

fn outcome(outcome: pb::SubmitOutcome, message: &str) -> Response<pb::SubmitProofResponse> {
    Response::new(pb::SubmitProofResponse { outcome: outcome as i32, message: message.into() })
}

/// The most jobs `ListJobs` returns.
const MAX_LIST: u32 = 1_000;

#[tonic::async_trait]
impl Operator for Coordinator {
    async fn status(&self, _: Request<pb::StatusRequest>) -> Result<Response<pb::StatusResponse>, Status> {
        Ok(Response::new(self.blocking(|store| Snapshot::read(store, now_ms())).await?.to_proto()))
    }

    async fn list_jobs(&self, request: Request<pb::ListJobsRequest>) -> Result<Response<pb::ListJobsResponse>, Status> {
        let req = request.into_inner();
        let state = match pb::JobState::try_from(req.state).unwrap_or(pb::JobState::Unspecified) {
            pb::JobState::Unspecified => None,
            pb::JobState::Queued => Some(JobState::Queued),
            pb::JobState::Leased => Some(JobState::Leased),
            pb::JobState::Done => Some(JobState::Done),
            pb::JobState::Failed => Some(JobState::Failed),
            pb::JobState::Cancelled => Some(JobState::Cancelled),
            pb::JobState::Held => Some(JobState::Held),
        };
        let limit = if req.limit == 0 { 100 } else { req.limit.min(MAX_LIST) };
        let jobs = self.blocking(move |store| store.list_jobs(state, req.batch_index, limit)).await?;
        Ok(Response::new(pb::ListJobsResponse { jobs: jobs.iter().map(job_info).collect() }))
    }

    async fn requeue_job(&self, request: Request<pb::JobRequest>) -> Result<Response<pb::JobResponse>, Status> {
        let job_id = request.into_inner().job_id;
        let job = self.blocking(move |store| store.requeue(&job_id, now_ms())).await?;
        tracing::info!(target: "coordinator::operator", job = %job.id, "job requeued by an operator");
        self.notify_ready();
        Ok(Response::new(pb::JobResponse { job: Some(job_info(&job)) }))
    }

    async fn cancel_job(&self, request: Request<pb::JobRequest>) -> Result<Response<pb::JobResponse>, Status> {
        let job_id = request.into_inner().job_id;
        let job = self.blocking(move |store| store.cancel(&job_id, now_ms())).await?;
        tracing::info!(target: "coordinator::operator", job = %job.id, "job cancelled by an operator");
        Ok(Response::new(pb::JobResponse { job: Some(job_info(&job)) }))
    }

    async fn drain_worker(
        &self,
        request: Request<pb::DrainWorkerRequest>,
    ) -> Result<Response<pb::DrainWorkerResponse>, Status> {
        let worker = request.into_inner().worker;
        let drained = self.blocking(move |store| store.drain(&worker)).await?;
        let first = drained.first().ok_or_else(|| Status::not_found("no such worker"))?;
        tracing::info!(target: "coordinator::operator", worker = %first.id, "worker drained by an operator");
        Ok(Response::new(pb::DrainWorkerResponse { worker: Some(worker_info(first, Vec::new())) }))
    }
}

/// A boxed future, for the server's shutdown signal.
pub type Shutdown = Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
