//! Prometheus metrics of the coordinator.
//!
//! Names carry their `zkr_coordinator_` prefix in the code; units are base units; latencies are histograms with
//! explicit buckets (proving takes seconds to many minutes, so the buckets reach an hour). Labels are bounded: `kind`
//! (chunk, aggregation), `stage` (the `Stage` enum), `state` (the job states), `backend` (cpu, cuda).

use crate::store::{JobState, Store};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusHandle};

/// Proving time per stage as workers report it, by `stage`, `kind`, `backend` and `gpu` (the model the worker
/// registered with, `none` on the CPU).
pub const STAGE_SECONDS: &str = "zkr_coordinator_stage_seconds";
/// Time from a job's creation to its accepted proof, by `kind`.
pub const JOB_SECONDS: &str = "zkr_coordinator_job_seconds";
/// Time to check a submitted proof, by `kind`.
pub const CHECK_SECONDS: &str = "zkr_coordinator_proof_check_seconds";
/// Time from a batch's commit on L1 to its finalization on L1.
pub const BATCH_FINALIZE_SECONDS: &str = "zkr_coordinator_batch_commit_to_finalize_seconds";
/// Jobs in each `state`.
pub const JOBS: &str = "zkr_coordinator_jobs";
/// Jobs waiting for a worker.
pub const QUEUE_DEPTH: &str = "zkr_coordinator_queue_depth";
/// Connected workers, by `backend`.
pub const WORKERS: &str = "zkr_coordinator_workers";
/// Leases granted, by `kind`.
pub const LEASES: &str = "zkr_coordinator_leases_total";
/// Leases that lapsed (their worker stopped heartbeating).
pub const LEASES_LAPSED: &str = "zkr_coordinator_leases_lapsed_total";
/// Proofs accepted, by `kind`.
pub const PROOFS_ACCEPTED: &str = "zkr_coordinator_proofs_accepted_total";
/// Proofs refused (not verifying, or not the job's statement), by `kind`.
pub const PROOFS_REJECTED: &str = "zkr_coordinator_proofs_rejected_total";
/// Submissions quoting a lease that was no longer current.
pub const STALE_SUBMISSIONS: &str = "zkr_coordinator_stale_submissions_total";
/// Batches finalized on L1.
pub const BATCHES_FINALIZED: &str = "zkr_coordinator_batches_finalized_total";
/// L1 gas used by finalization transactions.
pub const L1_GAS: &str = "zkr_coordinator_l1_gas_used_total";
/// 1 while this coordinator leads (follows L1 and finalizes), 0 while it stands by.
pub const LEADER: &str = "zkr_coordinator_leader";
/// Optimistic mode: challenges this coordinator sent against outputs that differ from its replica's.
pub const OUTPUTS_CHALLENGED: &str = "zkr_coordinator_outputs_challenged_total";
/// Optimistic mode: proofs this coordinator sent to defend (or, sampled, to finalize early) right outputs.
pub const OUTPUTS_DEFENDED: &str = "zkr_coordinator_outputs_defended_total";

/// Every metric name this crate exports (the dashboard check reads this list).
pub const ALL: &[&str] = &[
    STAGE_SECONDS,
    JOB_SECONDS,
    CHECK_SECONDS,
    BATCH_FINALIZE_SECONDS,
    JOBS,
    QUEUE_DEPTH,
    WORKERS,
    LEASES,
    LEASES_LAPSED,
    PROOFS_ACCEPTED,
    PROOFS_REJECTED,
    STALE_SUBMISSIONS,
    BATCHES_FINALIZED,
    L1_GAS,
    LEADER,
    OUTPUTS_CHALLENGED,
    OUTPUTS_DEFENDED,
];

pub use zkr_protos::PROVING_BUCKETS;

/// Installs the Prometheus recorder (histogram buckets set) and returns the handle `/metrics` renders. Must be called
/// inside a tokio runtime (the recorder's upkeep runs on it).
pub fn install_prometheus() -> Result<PrometheusHandle, BuildError> {
    let handle = zkr_cli::install_metrics(None, &[(Matcher::Suffix("_seconds".into()), PROVING_BUCKETS)])?;
    describe();
    Ok(handle)
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(STAGE_SECONDS, metrics::Unit::Seconds, "Proving time per stage, as workers report it");
    describe_histogram!(JOB_SECONDS, metrics::Unit::Seconds, "Time from a job's creation to its accepted proof");
    describe_histogram!(CHECK_SECONDS, metrics::Unit::Seconds, "Time to check a submitted proof");
    describe_histogram!(
        BATCH_FINALIZE_SECONDS,
        metrics::Unit::Seconds,
        "Time from a batch's commit to its finalization"
    );
    describe_gauge!(JOBS, "Jobs in each state");
    describe_gauge!(QUEUE_DEPTH, "Jobs waiting for a worker");
    describe_gauge!(WORKERS, "Connected workers by backend");
    describe_counter!(LEASES, "Leases granted");
    describe_counter!(LEASES_LAPSED, "Leases that lapsed because their worker stopped heartbeating");
    describe_counter!(PROOFS_ACCEPTED, "Proofs accepted");
    describe_counter!(PROOFS_REJECTED, "Proofs refused");
    describe_counter!(STALE_SUBMISSIONS, "Submissions quoting a lease that was no longer current");
    describe_counter!(BATCHES_FINALIZED, "Batches finalized on L1");
    describe_counter!(L1_GAS, "L1 gas used by finalization transactions");
    describe_counter!(OUTPUTS_CHALLENGED, "Challenges sent against outputs that differ from the replica's");
    describe_counter!(OUTPUTS_DEFENDED, "Proofs sent to defend right outputs (or to finalize sampled ones early)");
    describe_gauge!(LEADER, "1 while this coordinator follows L1 and finalizes, 0 while another one does");
}

/// Refreshes the gauges from the store.
pub fn record_gauges(store: &Store) -> crate::Result<()> {
    for (state, count) in store.job_counts()? {
        metrics::gauge!(JOBS, "state" => state.as_str()).set(count as f64);
        if state == JobState::Queued {
            metrics::gauge!(QUEUE_DEPTH).set(count as f64);
        }
    }
    let workers = store.workers()?;
    for backend in ["cpu", "cuda"] {
        let live = workers.iter().filter(|w| !w.gone && w.spec.backend == backend).count();
        metrics::gauge!(WORKERS, "backend" => backend).set(live as f64);
    }
    Ok(())
}
