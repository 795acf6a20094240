//! The job state machine: leases, fencing, retries, lapsed leases, duplicates, restarts. Every test runs on both
//! backends: `store::sqlite::*` and `store::postgres::*`.

use zkr_coordinator::store::{
    JobKind, JobState, Policy, Store, SubmitCheck, WorkerSpec, aggregation_job_id, chunk_job_id, layer_job_id,
};

const TTL: u64 = 10_000;

fn policy() -> Policy {
    Policy { lease_ttl_ms: TTL, max_attempts: 3, backoff_base_ms: 1_000, backoff_max_ms: 4_000, max_rejections: 2 }
}

fn worker(store: &Store, name: &str, now: u64) -> String {
    store
        .register_worker(&WorkerSpec { name: name.into(), backend: "cpu".into(), ..Default::default() }, now)
        .unwrap()
        .id
}

fn batch(store: &Store, index: u64, chunks: usize, now: u64) {
    let inputs = (0..chunks).map(|c| format!("witness {index}/{c}").into_bytes()).collect();
    assert!(store.add_batch(index, b"meta", inputs, now).unwrap());
}

fn chunk_proofs_then_aggregation_then_proven(store: &Store) {
    batch(store, 1, 2, 0);
    let w = worker(store, "w", 0);

    let a = store.take_job(&w, 1).unwrap().unwrap();
    let b = store.take_job(&w, 1).unwrap().unwrap();
    assert_eq!((a.job_id.as_str(), b.job_id.as_str()), ("b1-c0", "b1-c1"));
    assert_eq!(a.inputs, vec![b"witness 1/0".to_vec()]);
    assert!(b.lease_id > a.lease_id, "fencing tokens grow");
    assert_eq!(a.attempt, 1);
    assert!(store.take_job(&w, 1).unwrap().is_none(), "nothing else is ready");

    // Chunk 1 first: the aggregation waits for every chunk.
    assert!(matches!(store.accept(&b.job_id, b.lease_id, b"proof 1", 2).unwrap(), SubmitCheck::Current(_)));
    assert!(store.take_job(&w, 2).unwrap().is_none());
    assert!(matches!(store.accept(&a.job_id, a.lease_id, b"proof 0", 3).unwrap(), SubmitCheck::Current(_)));

    let agg = store.take_job(&w, 4).unwrap().unwrap();
    assert_eq!(agg.job_id, aggregation_job_id(1));
    assert_eq!(agg.kind, JobKind::Aggregation);
    assert_eq!(agg.inputs, vec![b"proof 0".to_vec(), b"proof 1".to_vec()], "chunk proofs in chunk order");
    assert!(store.next_to_finalize().unwrap().is_none());
    store.accept(&agg.job_id, agg.lease_id, b"batch proof", 5).unwrap();

    let (next, proof) = store.next_to_finalize().unwrap().unwrap();
    assert_eq!((next.index, next.state.as_str(), proof.as_slice()), (1, "proven", b"batch proof".as_slice()));
    store.set_finalizing(1, "0xabc").unwrap();
    assert_eq!(store.next_to_finalize().unwrap().unwrap().0.finalize_tx.as_deref(), Some("0xabc"));
    store.set_finalized(1, 9).unwrap();
    assert!(store.next_to_finalize().unwrap().is_none());
    assert_eq!(store.batch(1).unwrap().unwrap().finalized_ms, 9);
}

fn a_batch_is_added_once(store: &Store) {
    batch(store, 4, 1, 0);
    assert!(!store.add_batch(4, b"meta", vec![b"other".to_vec(), b"x".to_vec()], 1).unwrap());
    assert_eq!(store.list_jobs(None, Some(4), 10).unwrap().len(), 1);
    assert_eq!(store.last_batch().unwrap(), Some(4));
}

fn lower_batches_go_first(store: &Store) {
    batch(store, 7, 1, 0);
    batch(store, 3, 1, 0);
    let w = worker(store, "w", 0);
    assert_eq!(store.take_job(&w, 1).unwrap().unwrap().job_id, chunk_job_id(3, 0));
}

fn a_lapsed_lease_requeues_without_spending_an_attempt_and_its_late_result_is_dropped(store: &Store) {
    batch(store, 1, 1, 0);
    let dead = worker(store, "dead", 0);
    let live = worker(store, "live", 0);
    let first = store.take_job(&dead, 0).unwrap().unwrap();

    // The live worker keeps heartbeating; the dead one does not.
    store.heartbeat(&live, &[], TTL).unwrap();
    assert_eq!(store.expire(TTL + 1).unwrap(), vec![first.job_id.clone()]);
    let job = store.job(&first.job_id).unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0));

    let second = store.take_job(&live, TTL + 2).unwrap().unwrap();
    assert_eq!(second.attempt, 1, "a lapsed lease spends no attempt");
    // The dead worker's session ended; a late submission is refused, and even from a live session the old lease
    // is stale.
    assert!(store.check_submission(&dead, &first.job_id, first.lease_id, TTL + 3).is_err());
    assert_eq!(store.accept(&first.job_id, first.lease_id, b"late", TTL + 3).unwrap(), SubmitCheck::Stale);
    assert_eq!(store.check_submission(&live, &first.job_id, first.lease_id, TTL + 3).unwrap(), SubmitCheck::Stale);
    assert!(matches!(
        store.check_submission(&live, &second.job_id, second.lease_id, TTL + 3).unwrap(),
        SubmitCheck::Current(_)
    ));
    store.accept(&second.job_id, second.lease_id, b"proof", TTL + 4).unwrap();
    assert_eq!(store.job_output(&second.job_id).unwrap().unwrap(), b"proof");
}

fn heartbeats_extend_leases_and_report_revoked_ones(store: &Store) {
    batch(store, 1, 2, 0);
    let w = worker(store, "w", 0);
    let a = store.take_job(&w, 0).unwrap().unwrap();
    let b = store.take_job(&w, 0).unwrap().unwrap();
    let held = vec![(a.job_id.clone(), a.lease_id), (b.job_id.clone(), b.lease_id)];
    for now in [5_000, 12_000, 19_000] {
        assert!(store.heartbeat(&w, &held, now).unwrap().revoked.is_empty());
        assert!(store.expire(now + 1).unwrap().is_empty(), "heartbeats keep the leases");
    }
    store.cancel(&b.job_id, 19_500).unwrap();
    let outcome = store.heartbeat(&w, &held, 20_000).unwrap();
    assert_eq!(outcome.revoked, vec![(b.job_id.clone(), b.lease_id)]);
    assert!(!outcome.draining);
}

fn duplicate_submissions_change_nothing(store: &Store) {
    batch(store, 1, 1, 0);
    let w = worker(store, "w", 0);
    let lease = store.take_job(&w, 0).unwrap().unwrap();
    store.accept(&lease.job_id, lease.lease_id, b"first", 1).unwrap();
    assert_eq!(store.check_submission(&w, &lease.job_id, lease.lease_id, 2).unwrap(), SubmitCheck::Duplicate);
    assert_eq!(store.accept(&lease.job_id, lease.lease_id, b"second", 2).unwrap(), SubmitCheck::Duplicate);
    assert_eq!(store.job_output(&lease.job_id).unwrap().unwrap(), b"first");
    // One aggregation job, however often the last chunk is submitted.
    assert_eq!(store.list_jobs(None, Some(1), 10).unwrap().len(), 2);
}

fn rejected_proofs_spend_attempts_with_backoff_go_elsewhere_and_drain_the_worker(store: &Store) {
    batch(store, 1, 2, 0);
    let bad = worker(store, "bad", 0);
    let good = worker(store, "good", 0);

    let lease = store.take_job(&bad, 0).unwrap().unwrap();
    assert_eq!(
        store.reject(&bad, &lease.job_id, lease.lease_id, "does not verify", 10).unwrap(),
        Some(JobState::Queued)
    );
    // Backed off for 1 s.
    let other = store.take_job(&good, 500).unwrap().unwrap();
    assert_eq!(other.job_id, "b1-c1", "the rejected job waits out its backoff");
    store.release(&good, &other.job_id, other.lease_id, 600).unwrap();
    // After the backoff the bad worker is passed over for the job it failed while another job is ready.
    let next = store.take_job(&bad, 1_100).unwrap().unwrap();
    assert_eq!(next.job_id, "b1-c1");
    let retry = store.take_job(&good, 1_100).unwrap().unwrap();
    assert_eq!((retry.job_id.as_str(), retry.attempt), ("b1-c0", 2));
    assert_eq!(store.job(&retry.job_id).unwrap().unwrap().last_error.as_deref(), Some("does not verify"));

    // A second rejection drains the bad worker (max_rejections = 2).
    store.reject(&bad, &next.job_id, next.lease_id, "does not verify", 1_200).unwrap();
    let workers = store.workers().unwrap();
    assert!(workers.iter().find(|w| w.id == bad).unwrap().draining);
    assert!(store.take_job(&bad, 10_000).unwrap().is_none());
}

fn retryable_failures_fail_the_job_when_out_of_attempts_and_requeue_restores_it(store: &Store) {
    batch(store, 1, 1, 0);
    let w = worker(store, "w", 0);
    let mut now = 0;
    for attempt in 1..=3 {
        now += 10_000;
        store.heartbeat(&w, &[], now).unwrap();
        let lease = store.take_job(&w, now).unwrap().unwrap();
        assert_eq!(lease.attempt, attempt);
        let state = store.fail(&lease.job_id, lease.lease_id, true, "out of memory", now).unwrap();
        assert_eq!(state, Some(if attempt < 3 { JobState::Queued } else { JobState::Failed }));
    }
    store.expire(now + 100_000).unwrap();
    assert!(store.take_job(&w, now + 100_000).is_err(), "the session lapsed meanwhile");
    let w = worker(store, "w", now + 100_000);
    assert!(store.take_job(&w, now + 100_000).unwrap().is_none(), "failed jobs are not handed out");
    let job = store.requeue("b1-c0", now + 100_001).unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
    assert_eq!(store.take_job(&w, now + 100_002).unwrap().unwrap().attempt, 1);
}

fn non_retryable_failures_fail_at_once(store: &Store) {
    batch(store, 1, 1, 0);
    let w = worker(store, "w", 0);
    let lease = store.take_job(&w, 0).unwrap().unwrap();
    assert_eq!(store.fail(&lease.job_id, lease.lease_id, false, "bad witness", 1).unwrap(), Some(JobState::Failed));
    // A failure quoting an old lease changes nothing.
    assert_eq!(store.fail(&lease.job_id, lease.lease_id, true, "again", 2).unwrap(), None);
}

fn deregistering_and_releasing_requeue_without_spending_attempts(store: &Store) {
    batch(store, 1, 2, 0);
    let w = worker(store, "w", 0);
    let a = store.take_job(&w, 0).unwrap().unwrap();
    let b = store.take_job(&w, 0).unwrap().unwrap();
    assert!(store.release(&w, &a.job_id, a.lease_id, 1).unwrap());
    assert!(!store.release(&w, &a.job_id, a.lease_id, 1).unwrap(), "released once");
    assert_eq!(store.deregister(&w, 2).unwrap(), vec![b.job_id.clone()]);
    for id in [&a.job_id, &b.job_id] {
        let job = store.job(id).unwrap().unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
    }
    assert!(store.take_job(&w, 3).is_err(), "the session ended");
}

fn workers_take_only_the_kinds_they_announce(store: &Store) {
    batch(store, 1, 1, 0);
    let spec = WorkerSpec { name: "agg".into(), kinds: vec![JobKind::Aggregation], ..Default::default() };
    let aggregator = store.register_worker(&spec, 0).unwrap().id;
    let chunker = worker(store, "any", 0);
    assert!(store.take_job(&aggregator, 1).unwrap().is_none());
    let lease = store.take_job(&chunker, 1).unwrap().unwrap();
    store.accept(&lease.job_id, lease.lease_id, b"p", 2).unwrap();
    assert_eq!(store.take_job(&aggregator, 3).unwrap().unwrap().kind, JobKind::Aggregation);
}

fn drained_workers_finish_but_take_nothing_new(store: &Store) {
    batch(store, 1, 2, 0);
    let w = worker(store, "gpu-7", 0);
    let held = store.take_job(&w, 0).unwrap().unwrap();
    assert_eq!(store.drain("gpu-7").unwrap().len(), 1);
    assert!(store.heartbeat(&w, &[(held.job_id.clone(), held.lease_id)], 1).unwrap().draining);
    assert!(store.take_job(&w, 1).unwrap().is_none());
    assert!(matches!(store.accept(&held.job_id, held.lease_id, b"p", 2).unwrap(), SubmitCheck::Current(_)));
    assert!(store.drain("nobody").is_err());
}

fn operators_cannot_requeue_or_cancel_done_jobs(store: &Store) {
    batch(store, 1, 1, 0);
    let w = worker(store, "w", 0);
    let lease = store.take_job(&w, 0).unwrap().unwrap();
    store.accept(&lease.job_id, lease.lease_id, b"p", 1).unwrap();
    assert!(store.requeue(&lease.job_id, 2).unwrap_err().is_invalid_request());
    assert!(store.cancel(&lease.job_id, 2).unwrap_err().is_invalid_request());
    assert!(store.requeue("nope", 2).unwrap_err().is_invalid_request());
}

/// `open` opens the same database each time.
fn state_survives_a_restart(open: &dyn Fn() -> Store) {
    let (w, lease) = {
        let store = open();
        batch(&store, 1, 2, 0);
        let w = worker(&store, "w", 0);
        let lease = store.take_job(&w, 0).unwrap().unwrap();
        let done = store.take_job(&w, 0).unwrap().unwrap();
        store.accept(&done.job_id, done.lease_id, b"proof", 1).unwrap();
        (w, lease)
        // Dropped without any shutdown step, as a killed process would.
    };
    // Down for longer than a lease: the restart gives the workers a full lease period before anything lapses.
    let store = open();
    store.resume(60_000).unwrap();
    assert!(store.expire(60_000 + TTL - 1).unwrap().is_empty());
    let counts: std::collections::HashMap<_, _> = store.job_counts().unwrap().into_iter().collect();
    assert_eq!((counts[&JobState::Leased], counts[&JobState::Done]), (1, 1));
    // The lease survives as long as its worker heartbeats; the lease counter does not go back.
    store.heartbeat(&w, &[(lease.job_id.clone(), lease.lease_id)], 65_000).unwrap();
    let other = worker(&store, "other", 65_000);
    assert!(store.take_job(&other, 65_000).unwrap().is_none());
    store.accept(&lease.job_id, lease.lease_id, b"proof 0", 66_000).unwrap();
    let agg = store.take_job(&other, 66_001).unwrap().unwrap();
    assert!(agg.lease_id > lease.lease_id);
    assert_eq!(agg.inputs, vec![b"proof 0".to_vec(), b"proof".to_vec()]);
}

/// Optimistic mode: a held batch's jobs wait until it is released (its output disputed), then prove as usual; a held
/// batch finalized by its window loses its jobs.
fn held_batches_are_proven_only_once_released(store: &Store) {
    let inputs = |index: u64| (0..2).map(|c| format!("witness {index}/{c}").into_bytes()).collect::<Vec<_>>();
    assert!(store.add_held_batch(1, b"meta", inputs(1), 0).unwrap());
    assert!(store.add_held_batch(2, b"meta", inputs(2), 0).unwrap());
    assert!(!store.add_held_batch(2, b"meta", inputs(2), 0).unwrap(), "added once");
    let w = worker(store, "w", 0);
    assert!(store.take_job(&w, 1).unwrap().is_none(), "held jobs are not leased");
    assert_eq!(store.batch(2).unwrap().unwrap().state, "held");
    assert_eq!(store.list_jobs(Some(JobState::Held), None, 10).unwrap().len(), 4);

    // Batch 2's output is challenged: its jobs queue, and it proves like any batch.
    assert!(store.release_batch(2, 5).unwrap());
    assert!(!store.release_batch(2, 6).unwrap(), "released once");
    assert!(!store.release_batch(9, 6).unwrap(), "unknown batch");
    assert_eq!(store.batch(2).unwrap().unwrap().state, "proving");
    let a = store.take_job(&w, 7).unwrap().unwrap();
    let b = store.take_job(&w, 7).unwrap().unwrap();
    assert_eq!((a.job_id.as_str(), b.job_id.as_str()), ("b2-c0", "b2-c1"));
    assert!(store.take_job(&w, 7).unwrap().is_none(), "batch 1 is still held");
    store.accept(&a.job_id, a.lease_id, b"proof 0", 8).unwrap();
    store.accept(&b.job_id, b.lease_id, b"proof 1", 8).unwrap();
    let agg = store.take_job(&w, 9).unwrap().unwrap();
    store.accept(&agg.job_id, agg.lease_id, b"batch proof", 10).unwrap();
    assert_eq!(store.batch_proof(2).unwrap().as_deref(), Some(b"batch proof".as_slice()));

    // Batch 1's window ended unchallenged: final without a proof, its jobs gone.
    store.finalize_held_batch(1, 11).unwrap();
    let one = store.batch(1).unwrap().unwrap();
    assert_eq!((one.state.as_str(), one.finalized_ms), ("finalized", 11));
    assert!(store.list_jobs(None, Some(1), 10).unwrap().is_empty());
    assert!(!store.release_batch(1, 12).unwrap(), "a finalized batch is not proven");
    assert!(store.take_job(&w, 12).unwrap().is_none());
}

fn layered_batch(store: &Store, index: u64, chunks: usize, group: u32, now: u64) {
    let inputs = (0..chunks).map(|c| format!("witness {index}/{c}").into_bytes()).collect();
    assert!(store.add_batch_in_groups(index, b"meta", inputs, group, false, now).unwrap());
}

fn accepted(store: &Store, job: &zkr_coordinator::store::Lease, proof: &[u8], now: u64) {
    assert!(matches!(store.accept(&job.job_id, job.lease_id, proof, now).unwrap(), SubmitCheck::Current(_)));
}

/// A batch with a layer: each group's layer job is created when its chunk proofs are in (whatever their order), and
/// takes them in chunk order; the aggregation job is created when every layer proof is in, and takes those in group
/// order.
fn a_layered_batch_proves_its_groups_then_the_batch(store: &Store) {
    layered_batch(store, 1, 4, 2, 0);
    let w = worker(store, "w", 0);
    let chunks: Vec<_> = (0..4).map(|_| store.take_job(&w, 1).unwrap().unwrap()).collect();
    assert_eq!(chunks.iter().map(|c| c.job_id.as_str()).collect::<Vec<_>>(), ["b1-c0", "b1-c1", "b1-c2", "b1-c3"]);
    assert!(chunks.iter().all(|c| c.kind == JobKind::Chunk && c.layered));

    // One chunk of each group: no group is complete.
    accepted(store, &chunks[1], b"proof 1", 2);
    accepted(store, &chunks[3], b"proof 3", 2);
    assert!(store.take_job(&w, 3).unwrap().is_none(), "no group is complete");
    // Group 1 completes first.
    accepted(store, &chunks[2], b"proof 2", 4);
    let g1 = store.take_job(&w, 5).unwrap().unwrap();
    assert_eq!((g1.job_id.as_str(), g1.kind, g1.chunk_index), (layer_job_id(1, 1).as_str(), JobKind::Layer, 1));
    assert_eq!(g1.inputs, vec![b"proof 2".to_vec(), b"proof 3".to_vec()], "the group's chunk proofs in order");
    assert_eq!(store.group_chunk_proofs(1, 1).unwrap(), g1.inputs);
    assert!(store.take_job(&w, 5).unwrap().is_none());
    accepted(store, &chunks[0], b"proof 0", 6);
    let g0 = store.take_job(&w, 7).unwrap().unwrap();
    assert_eq!((g0.job_id.as_str(), g0.chunk_index), ("b1-g0", 0));
    assert_eq!(g0.inputs, vec![b"proof 0".to_vec(), b"proof 1".to_vec()]);

    // The batch proof waits for every layer proof.
    accepted(store, &g1, b"layer 1", 8);
    assert!(store.take_job(&w, 9).unwrap().is_none());
    let record = store.batch(1).unwrap().unwrap();
    assert_eq!((record.chunks_proven, record.groups_proven, record.groups()), (4, 1, 2));
    accepted(store, &g0, b"layer 0", 10);
    let agg = store.take_job(&w, 11).unwrap().unwrap();
    assert_eq!((agg.job_id.clone(), agg.kind, agg.layered), (aggregation_job_id(1), JobKind::Aggregation, true));
    assert_eq!(agg.inputs, vec![b"layer 0".to_vec(), b"layer 1".to_vec()], "the layer proofs in group order");
    // The batch proof is checked against every chunk's statement.
    assert_eq!(store.chunk_proofs(1).unwrap().len(), 4);
    accepted(store, &agg, b"batch proof", 12);
    assert_eq!(store.batch_proof(1).unwrap().as_deref(), Some(b"batch proof".as_slice()));
    assert_eq!(store.batch(1).unwrap().unwrap().state, "proven");

    // A flat batch's chunk proofs belong to no group, and its aggregation takes chunk proofs.
    batch(store, 2, 1, 20);
    assert!(store.group_chunk_proofs(2, 0).unwrap().is_empty());
    let c = store.take_job(&w, 21).unwrap().unwrap();
    assert!(!c.layered);
    accepted(store, &c, b"flat 0", 22);
    let flat = store.take_job(&w, 23).unwrap().unwrap();
    assert_eq!((flat.kind, flat.layered, flat.inputs), (JobKind::Aggregation, false, vec![b"flat 0".to_vec()]));

    // Groups must divide the batch.
    let err = store.add_batch_in_groups(3, b"meta", vec![vec![1]; 3], 2, false, 30).unwrap_err();
    assert!(err.to_string().contains("groups of 2"), "{err}");
    assert!(store.batch(3).unwrap().is_none());
}

/// Workers that announce only some kinds get only those, layer jobs included.
fn layer_jobs_go_to_workers_that_take_them(store: &Store) {
    layered_batch(store, 1, 2, 2, 0);
    let spec = |name: &str, kinds| WorkerSpec { name: name.into(), kinds, ..Default::default() };
    let layers = store.register_worker(&spec("layers", vec![JobKind::Layer]), 0).unwrap().id;
    let chunks = store.register_worker(&spec("chunks", vec![JobKind::Chunk, JobKind::Aggregation]), 0).unwrap().id;
    assert_eq!(store.workers().unwrap().iter().find(|w| w.id == layers).unwrap().spec.kinds, [JobKind::Layer]);
    assert!(store.take_job(&layers, 1).unwrap().is_none());
    for _ in 0..2 {
        let lease = store.take_job(&chunks, 1).unwrap().unwrap();
        accepted(store, &lease, b"p", 2);
    }
    assert!(store.take_job(&chunks, 3).unwrap().is_none(), "the layer job is not for this worker");
    let layer = store.take_job(&layers, 3).unwrap().unwrap();
    assert_eq!(layer.kind, JobKind::Layer);
    // A worker that announced nothing takes every kind, layer jobs included.
    let any = worker(store, "any", 3);
    assert_eq!(store.workers().unwrap().iter().find(|w| w.id == any).unwrap().spec.kinds, JobKind::ALL.to_vec());
}

/// `open` opens the same database each time: a restart between the layer proofs and the batch proof loses nothing.
fn a_layered_batch_survives_a_restart(open: &dyn Fn() -> Store) {
    {
        let store = open();
        layered_batch(&store, 1, 2, 1, 0);
        let w = worker(&store, "w", 0);
        for _ in 0..2 {
            let lease = store.take_job(&w, 1).unwrap().unwrap();
            accepted(&store, &lease, format!("chunk {}", lease.chunk_index).as_bytes(), 2);
        }
        let g0 = store.take_job(&w, 3).unwrap().unwrap();
        accepted(&store, &g0, b"layer 0", 4);
        // Group 1's layer job is leased when the coordinator is killed.
        assert_eq!(store.take_job(&w, 5).unwrap().unwrap().job_id, "b1-g1");
    }
    let store = open();
    store.resume(60_000).unwrap();
    // The lease lapses (its worker died with the coordinator), and the layer job is proven again.
    assert_eq!(store.expire(60_000 + TTL + 1).unwrap(), ["b1-g1"]);
    let w = worker(&store, "w2", 70_001);
    let g1 = store.take_job(&w, 70_001).unwrap().unwrap();
    assert_eq!((g1.job_id.as_str(), g1.inputs.clone()), ("b1-g1", vec![b"chunk 1".to_vec()]));
    accepted(&store, &g1, b"layer 1", 70_002);
    let agg = store.take_job(&w, 70_003).unwrap().unwrap();
    assert_eq!(agg.inputs, vec![b"layer 0".to_vec(), b"layer 1".to_vec()]);
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let p = policy();
    assert_eq!([1, 2, 3, 4, 40].map(|n| p.backoff_ms(n)), [1_000, 2_000, 4_000, 4_000, 4_000]);
}

/// Runs each test on an SQLite store in memory and on a fresh Postgres database.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::Store::in_memory(super::policy()).unwrap());
                }
            )*

            #[test]
            fn state_survives_a_restart() {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("coordinator.sqlite");
                super::state_survives_a_restart(&|| super::Store::open(&path, super::policy()).unwrap());
            }

            #[test]
            fn a_layered_batch_survives_a_restart() {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("coordinator.sqlite");
                super::a_layered_batch_survives_a_restart(&|| super::Store::open(&path, super::policy()).unwrap());
            }

            /// A database made before layers (no `batches.layer_group`) gets the column, its batches without a layer.
            #[test]
            fn a_database_from_before_layers_is_migrated() {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("coordinator.sqlite");
                {
                    let store = super::Store::open(&path, super::policy()).unwrap();
                    super::batch(&store, 1, 1, 0);
                }
                let conn = rusqlite::Connection::open(&path).unwrap();
                conn.execute_batch("ALTER TABLE batches DROP COLUMN layer_group").unwrap();
                drop(conn);
                let store = super::Store::open(&path, super::policy()).unwrap();
                let batch = store.batch(1).unwrap().unwrap();
                assert_eq!((batch.layer_group, batch.groups(), batch.chunks), (0, 0, 1));
                super::layered_batch(&store, 2, 2, 1, 1);
                assert_eq!(store.batch(2).unwrap().unwrap().groups(), 2);
            }
        }

        mod postgres {
            use crate::pg::TestDb;

            $(
                #[test]
                fn $name() {
                    let Some(db) = TestDb::create(stringify!($name)) else { return };
                    super::$name(&db.store(super::policy()));
                }
            )*

            #[test]
            fn state_survives_a_restart() {
                let Some(db) = TestDb::create("state_survives_a_restart") else { return };
                super::state_survives_a_restart(&|| db.store(super::policy()));
            }

            #[test]
            fn a_layered_batch_survives_a_restart() {
                let Some(db) = TestDb::create("a_layered_batch_survives_a_restart") else { return };
                super::a_layered_batch_survives_a_restart(&|| db.store(super::policy()));
            }
        }
    };
}

on_both_backends!(
    chunk_proofs_then_aggregation_then_proven,
    a_batch_is_added_once,
    lower_batches_go_first,
    a_lapsed_lease_requeues_without_spending_an_attempt_and_its_late_result_is_dropped,
    heartbeats_extend_leases_and_report_revoked_ones,
    duplicate_submissions_change_nothing,
    rejected_proofs_spend_attempts_with_backoff_go_elsewhere_and_drain_the_worker,
    retryable_failures_fail_the_job_when_out_of_attempts_and_requeue_restores_it,
    non_retryable_failures_fail_at_once,
    deregistering_and_releasing_requeue_without_spending_attempts,
    workers_take_only_the_kinds_they_announce,
    drained_workers_finish_but_take_nothing_new,
    operators_cannot_requeue_or_cancel_done_jobs,
    held_batches_are_proven_only_once_released,
    a_layered_batch_proves_its_groups_then_the_batch,
    layer_jobs_go_to_workers_that_take_them,
);
