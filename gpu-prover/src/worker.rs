//! The worker's life: register, load keys, take and prove jobs, heartbeat, hand the lease back on shutdown.

use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::sync::{mpsc, watch};
use tonic::Code;
use zkr_kernels::gpu::GpuError;
use zkr_protos::v1::{self as pb, Stage, job::Input, submit_proof_request::Proof};
use zkr_prover::MsmDevice;

use crate::{
    client::{Client, ClientConfig, connect},
    prove::{Backend, ProverBackend},
};

/// Worker metrics (prefix `zkr_prover_`): proving time per stage, and jobs by outcome.
pub mod metric_names {
    /// Proving time per `stage` (witness, aggregation, msm, quotient, opening, verify, total: `Stage`), `kind`,
    /// `backend` (`cpu` or `cuda`, the values of the coordinator's `zkr_coordinator_workers`) and `gpu` (the device
    /// model, `none` on the CPU).
    pub const STAGE_SECONDS: &str = "zkr_prover_stage_seconds";
    /// Jobs finished, by `kind` and `outcome` (accepted, rejected, duplicate, stale, failed, released).
    pub const JOBS: &str = "zkr_prover_jobs_total";
    /// 1 while a job is being proven.
    pub const BUSY: &str = "zkr_prover_busy";
    /// 1, labelled with the `reason` (`GpuError::kind`: `driver_too_old`, `no_device`, `module_load`, `fault`, ...),
    /// when the worker could not use a GPU it was free to use (`backend = "auto"` on a machine with a CUDA
    /// driver) or lost it to a fault: a fleet of GPU machines quietly proving on the CPU shows on the dashboard.
    pub const GPU_UNUSABLE: &str = "zkr_prover_gpu_unusable";
    /// Every metric the worker exports (the dashboard check reads this list).
    pub const ALL: &[&str] = &[STAGE_SECONDS, JOBS, BUSY, GPU_UNUSABLE];
}

/// What a worker is told at startup.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The coordinator.
    pub client: ClientConfig,
    /// The name the operator sees.
    pub name: String,
    /// The proving backend asked for (`backend`, `--backend`): `Gpu` refuses to start without a usable GPU, `Auto`
    /// takes the GPU when there is one and otherwise the CPU.
    pub backend: zkr_kernels::gpu::Backend,
    /// Job kinds to take; empty for all.
    pub kinds: Vec<pb::JobKind>,
    /// Where the SRS and keys are (or will be generated).
    pub keys_dir: PathBuf,
    /// Generate an insecure SRS when none is in `keys_dir` (development only).
    pub dev_srs: bool,
    /// How long one `TakeJob` call waits for a job.
    pub take_wait: Duration,
}

/// Why a worker stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The configuration cannot work.
    #[error("configuration: {0}")]
    Config(String),
    /// The coordinator refused the worker's credentials.
    #[error("the coordinator refused the credentials: {0}")]
    Unauthenticated(String),
    /// Loading the keys failed.
    #[error("loading the keys: {0}")]
    Keys(String),
    /// The GPU faulted while proving: its CUDA context is unusable until the process restarts, so the worker stops
    /// (its supervisor restarts it) instead of proving every later job on the CPU while registered as a GPU worker.
    #[error("the GPU faulted; stopping so that a restart gets a fresh CUDA context: {0}")]
    GpuFault(String),
}

/// The session as the heartbeat task and the job loop share it.
#[derive(Debug, Default)]
struct Session {
    worker_id: Mutex<String>,
    held: Mutex<Option<pb::LeaseRef>>,
    revoked: AtomicBool,
    draining: AtomicBool,
}

impl Session {
    fn id(&self) -> String {
        self.worker_id.lock().map(|id| id.clone()).unwrap_or_default()
    }
}

/// A prover worker.
#[derive(Debug)]
pub struct Worker {
    config: WorkerConfig,
    client: Client,
    session: Arc<Session>,
    /// Selected when the worker is made, before it registers, and handed to the key loading.
    device: MsmDevice,
    /// What the worker registers with: the device's backend, then the one the loaded prover really uses.
    backend: Backend,
}

fn memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

impl Worker {
    /// A worker for `config`; nothing is sent until [`Worker::run`]. The proving device is selected here, so that
    /// the worker registers with the backend it proves with.
    ///
    /// # Errors
    ///
    /// [`WorkerError::Config`] when `--backend gpu` finds no usable GPU (with the reason), or the coordinator's
    /// address or credentials cannot be used.
    pub fn new(config: WorkerConfig) -> Result<Self, WorkerError> {
        let device = MsmDevice::select(config.backend)
            .map_err(|e| WorkerError::Config(format!("backend {}: {e}", config.backend)))?;
        let backend = Backend::of(&device);
        tracing::info!(
            target: "prover::worker",
            requested = %config.backend,
            backend = backend.label(),
            gpu = device.gpu().map(|info| info.name.as_str()),
            "proving backend"
        );
        // A machine with a CUDA driver is meant to prove on its GPU: falling back there is an error an operator must
        // see (an old driver, a missing device), not a line among the warnings.
        if let Some(reason) = device.unusable().filter(|reason| !matches!(reason, GpuError::NoDriver)) {
            tracing::error!(
                target: "prover::worker",
                %reason,
                "this machine has a CUDA driver but its GPU cannot be used: proving on the CPU"
            );
            metrics::gauge!(metric_names::GPU_UNUSABLE, "reason" => reason.kind()).set(1.0);
        }
        let client = connect(&config.client).map_err(|e| WorkerError::Config(e.to_string()))?;
        Ok(Self { config, client, session: Arc::default(), device, backend })
    }

    /// The backend this worker registers with.
    pub const fn backend(&self) -> Backend {
        self.backend
    }

    async fn register(&self) -> Result<pb::RegisterResponse, tonic::Status> {
        let gpu = self.device.gpu().filter(|_| self.backend == Backend::Cuda);
        let request = pb::RegisterRequest {
            name: self.config.name.clone(),
            backend: self.backend.to_pb() as i32,
            gpu_model: gpu.map(|info| info.name.clone()).unwrap_or_default(),
            // Memory available to proving, as the protocol defines it: the device's on the GPU.
            memory_bytes: gpu.map_or_else(memory_bytes, |info| info.total_memory_bytes as u64),
            version: env!("CARGO_PKG_VERSION").into(),
            kinds: self.config.kinds.iter().map(|k| *k as i32).collect(),
        };
        let response = self.client.clone().register(request).await?.into_inner();
        if let Ok(mut id) = self.session.worker_id.lock() {
            id.clone_from(&response.worker_id);
        }
        Ok(response)
    }

    /// Registers (retrying until the coordinator answers), loads the keys, and proves jobs until `shutdown` fires
    /// or the worker is drained and idle. On shutdown the job in hand is handed back and the session ended.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Result<(), WorkerError> {
        let registration = loop {
            match self.register().await {
                Ok(response) => break response,
                Err(status) if status.code() == Code::Unauthenticated => {
                    return Err(WorkerError::Unauthenticated(status.message().to_owned()));
                }
                Err(status) => {
                    tracing::warn!(target: "prover::worker", %status, "registration failed; retrying in 2 s");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                        _ = shutdown.changed() => return Ok(()),
                    }
                }
            }
        };
        let setup =
            registration.setup.clone().ok_or_else(|| WorkerError::Config("no setup from the coordinator".into()))?;
        tracing::info!(
            target: "prover::worker",
            worker = %registration.worker_id,
            coordinator = %registration.coordinator_version,
            ?setup,
            "registered"
        );
        let interval = Duration::from_millis(u64::from(registration.heartbeat_interval_ms.max(100)));
        let heartbeat = tokio::spawn(Self::heartbeat_loop(self.client.clone(), Arc::clone(&self.session), interval));

        let (keys_dir, dev_srs, device) = (self.config.keys_dir.clone(), self.config.dev_srs, self.device.clone());
        tracing::info!(target: "prover::worker", dir = %keys_dir.display(), "loading keys (generated on first use)");
        let loaded = tokio::task::spawn_blocking(move || ProverBackend::load(&setup, keys_dir, dev_srs, device))
            .await
            .map_err(|e| WorkerError::Keys(e.to_string()))?;
        let backend = match loaded {
            Ok(backend) => Arc::new(backend),
            Err(err) => {
                heartbeat.abort();
                self.deregister().await;
                return Err(WorkerError::Keys(err.to_string()));
            }
        };
        if backend.backend() != self.backend {
            // `auto` chose the GPU but the SRS could not be uploaded: the proofs run on the CPU, so the
            // registration must say so.
            tracing::warn!(
                target: "prover::worker",
                registered = self.backend.label(),
                backend = backend.backend().label(),
                "the prover runs on another backend than registered; registering again"
            );
            self.backend = backend.backend();
            // Releases this handle on the device; the loaded prover holds what it uses.
            self.device = MsmDevice::cpu();
            self.deregister().await;
            if let Err(status) = self.register().await {
                tracing::warn!(target: "prover::worker", %status, "registration failed; the job loop retries");
            }
        }
        tracing::info!(target: "prover::worker", backend = self.backend.label(), "keys loaded; taking jobs");

        let (progress_tx, progress_rx) = mpsc::channel::<pb::ProgressReport>(64);
        let progress = tokio::spawn(Self::progress_loop(self.client.clone(), progress_rx));

        let result = self.job_loop(&backend, &progress_tx, &mut shutdown).await;
        heartbeat.abort();
        progress.abort();
        self.deregister().await;
        result
    }

    /// Ends the session (best effort: a session the coordinator does not hear from lapses anyway).
    async fn deregister(&self) {
        let worker_id = self.session.id();
        if let Err(status) = self.client.clone().deregister(pb::DeregisterRequest { worker_id }).await {
            tracing::warn!(target: "prover::worker", %status, "deregistration failed");
        }
    }

    async fn job_loop(
        &self,
        backend: &Arc<ProverBackend>,
        progress: &mpsc::Sender<pb::ProgressReport>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), WorkerError> {
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            if self.session.draining.load(Ordering::Relaxed) {
                tracing::info!(target: "prover::worker", "drained by the operator; stopping");
                return Ok(());
            }
            let request =
                pb::TakeJobRequest { worker_id: self.session.id(), wait_ms: self.config.take_wait.as_millis() as u32 };
            let mut client = self.client.clone();
            let job = tokio::select! {
                taken = client.take_job(request) => taken,
                _ = shutdown.changed() => return Ok(()),
            };
            let job = match job {
                Ok(response) => response.into_inner().job,
                Err(status) => {
                    self.on_call_error(&status).await?;
                    continue;
                }
            };
            let Some(job) = job else { continue };
            self.prove_one(backend, progress, shutdown, job).await;
            if let Some(fault) = self.device.fault() {
                tracing::error!(target: "prover::worker", %fault, "the GPU faulted; stopping the worker");
                metrics::gauge!(metric_names::GPU_UNUSABLE, "reason" => fault.kind()).set(1.0);
                return Err(WorkerError::GpuFault(fault.to_string()));
            }
        }
    }

    /// A failed call: re-registers when the session ended, waits a little otherwise.
    async fn on_call_error(&self, status: &tonic::Status) -> Result<(), WorkerError> {
        match status.code() {
            Code::Unauthenticated => Err(WorkerError::Unauthenticated(status.message().to_owned())),
            Code::NotFound | Code::FailedPrecondition => {
                tracing::warn!(target: "prover::worker", %status, "session ended; registering again");
                if let Err(status) = self.register().await {
                    tracing::warn!(target: "prover::worker", %status, "registration failed");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                Ok(())
            }
            _ => {
                tracing::warn!(target: "prover::worker", %status, "coordinator call failed; retrying in 2 s");
                tokio::time::sleep(Duration::from_secs(2)).await;
                Ok(())
            }
        }
    }

    async fn prove_one(
        &self,
        backend: &Arc<ProverBackend>,
        progress: &mpsc::Sender<pb::ProgressReport>,
        shutdown: &mut watch::Receiver<bool>,
        job: pb::Job,
    ) {
        let lease = pb::LeaseRef { job_id: job.job_id.clone(), lease_id: job.lease_id };
        if let Ok(mut held) = self.session.held.lock() {
            *held = Some(lease.clone());
        }
        self.session.revoked.store(false, Ordering::Relaxed);
        let job_kind = pb::JobKind::try_from(job.kind).unwrap_or(pb::JobKind::Unspecified);
        let kind = match job_kind {
            pb::JobKind::Aggregation => "aggregation",
            pb::JobKind::Layer => "layer",
            _ => "chunk",
        };
        let backend_label = self.backend.label();
        let gpu_label = self
            .device
            .gpu()
            .filter(|_| self.backend == Backend::Cuda)
            .map_or_else(|| "none".to_owned(), |info| info.name.clone());
        tracing::info!(
            target: "prover::worker",
            job = %job.job_id,
            lease = job.lease_id,
            attempt = job.attempt,
            kind,
            "proving"
        );
        metrics::gauge!(metric_names::BUSY).set(1.0);

        let report = {
            let progress = progress.clone();
            let worker_id = self.session.id();
            let lease = lease.clone();
            move |stage: Stage, elapsed: Duration| {
                metrics::histogram!(
                    metric_names::STAGE_SECONDS,
                    "stage" => stage.label(),
                    "kind" => kind,
                    "backend" => backend_label,
                    "gpu" => gpu_label.clone()
                )
                .record(elapsed.as_secs_f64());
                let _ = progress.try_send(pb::ProgressReport {
                    worker_id: worker_id.clone(),
                    job_id: lease.job_id.clone(),
                    lease_id: lease.lease_id,
                    stage: stage as i32,
                    finished: true,
                    elapsed_ms: elapsed.as_millis() as u64,
                    kind: job_kind as i32,
                });
            }
        };
        let proving = {
            let backend = Arc::clone(backend);
            tokio::task::spawn_blocking(move || match job.input {
                Some(Input::Chunk(input)) => backend.prove_chunk(&input.witness, report).map(Proof::Chunk),
                Some(Input::Aggregation(input)) => backend.prove_aggregation(&input, report).map(Proof::Batch),
                Some(Input::Layer(input)) => backend.prove_layer(&input.chunks, report).map(Proof::Layer),
                None => Err(zkr_circuits::Error::Encoding("a job without input".into()).into()),
            })
        };
        let outcome = tokio::select! {
            result = proving => Some(result),
            _ = shutdown.changed() => None,
        };
        let worker_id = self.session.id();
        let mut client = self.client.clone();
        let finished = match outcome {
            None => {
                // Shutting down: the job goes back to the queue now rather than when the lease lapses. The proving
                // thread is abandoned with the process.
                let request =
                    pb::ReleaseLeaseRequest { worker_id, job_id: lease.job_id.clone(), lease_id: lease.lease_id };
                match client.release_lease(request).await {
                    Ok(_) => tracing::info!(target: "prover::worker", job = %lease.job_id, "lease handed back"),
                    Err(status) => tracing::warn!(target: "prover::worker", %status, "handing the lease back failed"),
                }
                "released"
            }
            Some(Err(join)) => {
                tracing::error!(target: "prover::worker", job = %lease.job_id, %join, "the proving task died");
                let _ = client
                    .report_failure(pb::ReportFailureRequest {
                        worker_id,
                        job_id: lease.job_id.clone(),
                        lease_id: lease.lease_id,
                        retryable: true,
                        message: format!("proving task died: {join}"),
                    })
                    .await;
                "failed"
            }
            Some(Ok(Err(err))) => {
                tracing::warn!(target: "prover::worker", job = %lease.job_id, %err, "proving failed");
                let _ = client
                    .report_failure(pb::ReportFailureRequest {
                        worker_id,
                        job_id: lease.job_id.clone(),
                        lease_id: lease.lease_id,
                        retryable: err.is_retryable(),
                        message: err.to_string(),
                    })
                    .await;
                "failed"
            }
            Some(Ok(Ok(proof))) if self.session.revoked.load(Ordering::Relaxed) => {
                drop(proof);
                tracing::warn!(target: "prover::worker", job = %lease.job_id, "the lease was revoked; proof dropped");
                "stale"
            }
            Some(Ok(Ok(proof))) => {
                let request = pb::SubmitProofRequest {
                    worker_id,
                    job_id: lease.job_id.clone(),
                    lease_id: lease.lease_id,
                    proof: Some(proof),
                };
                match submit_with_retries(&mut client, request).await {
                    Ok(response) => {
                        let response = response.into_inner();
                        let outcome =
                            pb::SubmitOutcome::try_from(response.outcome).unwrap_or(pb::SubmitOutcome::Unspecified);
                        tracing::info!(
                            target: "prover::worker",
                            job = %lease.job_id,
                            ?outcome,
                            message = %response.message,
                            "proof submitted"
                        );
                        match outcome {
                            pb::SubmitOutcome::Accepted => "accepted",
                            pb::SubmitOutcome::Duplicate => "duplicate",
                            pb::SubmitOutcome::StaleLease => "stale",
                            pb::SubmitOutcome::Rejected | pb::SubmitOutcome::Unspecified => "rejected",
                        }
                    }
                    Err(status) => {
                        tracing::warn!(target: "prover::worker", job = %lease.job_id, %status, "submission failed");
                        "failed"
                    }
                }
            }
        };
        metrics::counter!(metric_names::JOBS, "kind" => kind, "outcome" => finished).increment(1);
        metrics::gauge!(metric_names::BUSY).set(0.0);
        if let Ok(mut held) = self.session.held.lock() {
            *held = None;
        }
    }

    async fn heartbeat_loop(mut client: Client, session: Arc<Session>, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let held = session.held.lock().ok().and_then(|h| h.clone());
            let request = pb::HeartbeatRequest { worker_id: session.id(), leases: held.iter().cloned().collect() };
            match client.heartbeat(request).await {
                Ok(response) => {
                    let response = response.into_inner();
                    if held.is_some_and(|h| response.revoked.contains(&h)) {
                        tracing::warn!(target: "prover::worker", "the coordinator revoked the lease in hand");
                        session.revoked.store(true, Ordering::Relaxed);
                    }
                    session.draining.store(response.draining, Ordering::Relaxed);
                }
                // The session ended (the coordinator gave up on this worker): the lease in hand is lost, so its
                // proof will not be submitted; the job loop's next call registers again.
                Err(status) if matches!(status.code(), Code::NotFound | Code::FailedPrecondition) => {
                    tracing::warn!(target: "prover::worker", %status, "session ended; the lease in hand is lost");
                    session.revoked.store(true, Ordering::Relaxed);
                }
                Err(status) => tracing::warn!(target: "prover::worker", %status, "heartbeat failed"),
            }
        }
    }

    async fn progress_loop(mut client: Client, mut reports: mpsc::Receiver<pb::ProgressReport>) {
        // One stream for the life of the worker, reopened if the coordinator restarts.
        loop {
            let Some(first) = reports.recv().await else { return };
            let (tx, rx) = mpsc::channel(64);
            let _ = tx.send(first).await;
            let forward = async {
                while let Some(report) = reports.recv().await {
                    if tx.send(report).await.is_err() {
                        break;
                    }
                }
            };
            let call = client.report_progress(tokio_stream::wrappers::ReceiverStream::new(rx));
            tokio::select! {
                result = call => {
                    if let Err(status) = result {
                        tracing::debug!(target: "prover::worker", %status, "progress stream closed; reopening");
                    }
                }
                () = forward => return,
            }
        }
    }
}

/// Submits, retrying while the coordinator is unreachable (a restart): a proof is expensive, and submissions are
/// idempotent.
async fn submit_with_retries(
    client: &mut Client,
    request: pb::SubmitProofRequest,
) -> Result<tonic::Response<pb::SubmitProofResponse>, tonic::Status> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match client.submit_proof(request.clone()).await {
            Err(status) if status.code() == Code::Unavailable && attempt < 30 => {
                tracing::warn!(target: "prover::worker", %status, attempt, "coordinator unreachable; submitting again in 2 s");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use zkr_kernels::gpu::Backend as Requested;

    use super::*;

    fn config(backend: Requested) -> WorkerConfig {
        WorkerConfig {
            // Never dialled: the client connects lazily, and these tests send nothing.
            client: ClientConfig {
                endpoint: "http://127.0.0.1:9".into(),
                token: "token".into(),
                tls: zkr_protos::ClientTls::default(),
            },
            name: "test".into(),
            backend,
            kinds: Vec::new(),
            keys_dir: PathBuf::from("/nonexistent"),
            dev_srs: false,
            take_wait: Duration::from_secs(1),
        }
    }

    /// `--backend gpu` without a usable GPU stops the worker before it registers, with the reason; `auto`
    /// registers as `cpu` there and `cpu` always does. With a GPU, `gpu` and `auto` register as `cuda`.
    #[tokio::test]
    async fn the_registered_backend_is_the_selected_one() {
        assert_eq!(Worker::new(config(Requested::Cpu)).expect("cpu always works").backend(), Backend::Cpu);
        let auto = Worker::new(config(Requested::Auto)).expect("auto always starts").backend();
        match Worker::new(config(Requested::Gpu)) {
            Ok(worker) => {
                eprintln!("SKIPPED: a GPU is present, the no-device error is not reachable here");
                assert_eq!(worker.backend(), Backend::Cuda);
                assert_eq!(auto, Backend::Cuda);
            }
            Err(WorkerError::Config(message)) => {
                assert!(message.starts_with("backend gpu: the GPU cannot be used: "), "{message}");
                assert_eq!(auto, Backend::Cpu);
            }
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
}
