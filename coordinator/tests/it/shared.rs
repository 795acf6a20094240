//! Several coordinators on one Postgres database: each `Store` here is one coordinator's, with its own connection
//! pool, and they race on purpose.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Barrier},
};

use zkr_coordinator::store::{JobKind, JobState, Policy, Store, SubmitCheck, WorkerSpec, aggregation_job_id};

use crate::pg::TestDb;

fn policy() -> Policy {
    Policy { lease_ttl_ms: 60_000, ..Policy::default() }
}

fn worker(store: &Store, name: &str) -> String {
    store.register_worker(&WorkerSpec { name: name.into(), backend: "cpu".into(), ..Default::default() }, 0).unwrap().id
}

#[test]
fn coordinators_racing_to_lease_hand_out_every_job_exactly_once() {
    let Some(db) = TestDb::create("coordinators_racing_to_lease") else { return };
    let stores: Vec<Arc<Store>> = (0..2).map(|_| Arc::new(db.store(policy()))).collect();
    let batches = 8;
    let chunks = 6;
    for index in 1..=batches {
        let inputs = (0..chunks).map(|c| format!("witness {index}/{c}").into_bytes()).collect();
        assert!(stores[0].add_batch(index, b"meta", inputs, 0).unwrap());
    }
    // A coordinator that sees the same commit adds nothing.
    assert!(!stores[1].add_batch(1, b"meta", vec![b"other".to_vec()], 0).unwrap());

    // Three workers on each coordinator, all taking at once until the queue is empty.
    let threads = 6;
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = Arc::clone(&stores[t % 2]);
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                let id = worker(&store, &format!("w{t}"));
                start.wait();
                let mut taken = Vec::new();
                while let Some(lease) = store.take_job(&id, 1).unwrap() {
                    assert_eq!(lease.inputs.len(), 1);
                    taken.push((lease.job_id, lease.lease_id, id.clone()));
                }
                taken
            })
        })
        .collect();
    let leases: Vec<_> = handles.into_iter().flat_map(|handle| handle.join().unwrap()).collect();

    let jobs: HashSet<_> = leases.iter().map(|(job, ..)| job.clone()).collect();
    let tokens: HashSet<_> = leases.iter().map(|(_, token, _)| *token).collect();
    assert_eq!(leases.len(), (batches * chunks) as usize, "every job leased once: {leases:?}");
    assert_eq!(jobs.len(), leases.len(), "no job leased twice");
    assert_eq!(tokens.len(), leases.len(), "fencing tokens are unique across coordinators");
    // The database agrees: each job is leased to the worker that was told so.
    let holders: HashMap<_, _> = leases.iter().map(|(job, token, w)| (job.clone(), (*token, w.clone()))).collect();
    for job in stores[1].list_jobs(Some(JobState::Leased), None, 1_000).unwrap() {
        assert_eq!(holders[&job.id], (job.lease_id, job.worker_id.clone().unwrap()));
    }
}

#[test]
fn the_last_chunks_accepted_at_once_on_two_coordinators_create_one_aggregation_job() {
    let Some(db) = TestDb::create("the_last_chunks_accepted_at_once") else { return };
    let a = Arc::new(db.store(policy()));
    let b = Arc::new(db.store(policy()));
    let wa = worker(&a, "a");
    let wb = worker(&b, "b");
    for index in 1..=12 {
        a.add_batch(index, b"meta", vec![b"c0".to_vec(), b"c1".to_vec()], 0).unwrap();
        let first = a.take_job(&wa, 1).unwrap().unwrap();
        let second = b.take_job(&wb, 1).unwrap().unwrap();
        assert_eq!((first.batch_index, second.batch_index), (index, index));
        // Both proofs land at the same moment, one on each coordinator.
        let start = Arc::new(Barrier::new(2));
        let accepts: Vec<_> = [(Arc::clone(&a), first), (Arc::clone(&b), second)]
            .into_iter()
            .map(|(store, lease)| {
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    store.accept(&lease.job_id, lease.lease_id, lease.job_id.as_bytes(), 2).unwrap()
                })
            })
            .collect();
        for accepted in accepts {
            assert!(matches!(accepted.join().unwrap(), SubmitCheck::Current(_)));
        }
        let jobs = a.list_jobs(None, Some(index), 10).unwrap();
        let aggregations: Vec<_> = jobs.iter().filter(|j| j.kind == JobKind::Aggregation).collect();
        assert_eq!(aggregations.len(), 1, "batch {index}: {jobs:?}");
        assert_eq!((aggregations[0].id.clone(), aggregations[0].state), (aggregation_job_id(index), JobState::Queued));
        let agg = b.take_job(&wb, 3).unwrap().unwrap();
        assert_eq!(agg.inputs.len(), 2, "the aggregation job carries both chunk proofs");
        b.accept(&agg.job_id, agg.lease_id, b"batch proof", 4).unwrap();
    }
    assert_eq!(a.batch(12).unwrap().unwrap().state, "proven");
}

#[test]
fn a_lease_lapsing_on_one_coordinator_while_another_accepts_ends_one_way() {
    let Some(db) = TestDb::create("a_lease_lapsing_while_another_accepts") else { return };
    let ttl = 1_000;
    let a = Arc::new(db.store(Policy { lease_ttl_ms: ttl, ..policy() }));
    let b = Arc::new(db.store(Policy { lease_ttl_ms: ttl, ..policy() }));
    for index in 1..=10 {
        // A fresh session each round: the expiry ends the last one (silent for longer than a lease).
        let w = a.register_worker(&WorkerSpec { name: "w".into(), ..Default::default() }, 0).unwrap().id;
        a.add_batch(index, b"meta", vec![b"c0".to_vec()], 0).unwrap();
        let lease = a.take_job(&w, 0).unwrap().unwrap();
        let start = Arc::new(Barrier::new(2));
        let expire = {
            let (b, start) = (Arc::clone(&b), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                b.expire(ttl + 1).unwrap()
            })
        };
        start.wait();
        let accepted = a.accept(&lease.job_id, lease.lease_id, b"proof", ttl + 1).unwrap();
        let requeued = expire.join().unwrap();
        let job = a.job(&lease.job_id).unwrap().unwrap();
        // Either the proof was stored (and the expiry passed over a done job) or the lease lapsed first (and the
        // late proof was dropped as stale): never both, never neither.
        match accepted {
            SubmitCheck::Current(_) => {
                assert_eq!(job.state, JobState::Done);
                assert!(!requeued.contains(&lease.job_id));
            }
            SubmitCheck::Stale => {
                assert_eq!(job.state, JobState::Queued);
                assert_eq!(requeued, vec![lease.job_id.clone()]);
                // The worker's session lapsed with the lease: it registers again and finishes the job.
                assert!(a.take_job(&w, ttl + 2).is_err());
                let w2 = a.register_worker(&WorkerSpec { name: "w".into(), ..Default::default() }, ttl + 2).unwrap().id;
                let lease = a.take_job(&w2, ttl + 2).unwrap().unwrap();
                a.accept(&lease.job_id, lease.lease_id, b"proof", ttl + 3).unwrap();
            }
            SubmitCheck::Duplicate => panic!("nothing else submitted"),
        }
    }
}

#[test]
fn one_coordinator_leads_and_another_takes_over_when_it_goes() {
    let Some(db) = TestDb::create("one_coordinator_leads") else { return };
    let a = db.store(policy());
    let b = db.store(policy());
    let mut leader = a.try_lead().unwrap().expect("the first to ask leads");
    assert!(leader.still_leads().unwrap());
    assert!(b.try_lead().unwrap().is_none(), "one leader at a time");
    assert!(a.try_lead().unwrap().is_none(), "even for a second session of the same coordinator");
    // The leader goes (its process dies, or it loses the database): its session ends and the lock with it.
    drop(leader);
    let mut next = b.try_lead().unwrap().expect("the other coordinator takes over");
    assert!(next.still_leads().unwrap());
    assert_eq!(b.backend_name(), "postgres");
}

#[test]
fn an_unreachable_database_is_a_clear_error() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("postgres://zkr@127.0.0.1:{}/zkr?connect_timeout=2", listener.local_addr().unwrap().port());
    drop(listener);
    let err = Store::connect(&url, policy()).unwrap_err().to_string();
    assert!(err.contains("postgres"), "{err}");
    let err = Store::connect("postgres://zkr@127.0.0.1:1/zkr?sslmode=bogus", policy()).unwrap_err().to_string();
    assert!(err.contains("postgres"), "{err}");
}

/// Two coordinators serving gRPC over one database, as behind a load balancer: a worker's calls land on either, and
/// the queue, leases and fencing are one.
#[test]
fn workers_on_two_coordinators_share_one_queue_and_their_leases() {
    let Some(db) = TestDb::create("workers_on_two_coordinators") else { return };
    // The runtime (and the coordinators' housekeeping on it) ends before the database is dropped.
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(two_coordinators(&db));
}

async fn two_coordinators(db: &TestDb) {
    use zkr_protos::v1 as pb;

    use crate::grpc::{chunk_proof, fast_policy, operator_client, register, start_on, submit, take, worker_client};

    let a = start_on(Arc::new(db.store(fast_policy())), None).await;
    let b = start_on(Arc::new(db.store(fast_policy())), None).await;
    let (mut on_a, mut on_b) = (worker_client(a.addr).await, worker_client(b.addr).await);
    let first = register(&mut on_a, "first").await;
    let second = register(&mut on_b, "second").await;
    assert_ne!(first, second, "session ids come from one counter");

    // A batch recorded through coordinator A is handed out by coordinator B.
    let store = Arc::clone(a.coordinator.store());
    tokio::task::spawn_blocking(move || {
        store.add_batch(1, b"{}", vec![b"witness 0".to_vec(), b"witness 1".to_vec()], zkr_coordinator::now_ms())
    })
    .await
    .unwrap()
    .unwrap();
    let job0 = take(&mut on_b, &second, 2_000).await.expect("a job through B");
    let job1 = take(&mut on_a, &first, 2_000).await.expect("the other job through A");
    assert_ne!(job0.job_id, job1.job_id);
    assert!(take(&mut on_b, &second, 0).await.is_none(), "nothing is handed out twice");

    // The first worker's connection moves to B: its lease, granted by A, is honoured there, and its session too.
    let mut moved = worker_client(b.addr).await;
    let beat = moved
        .heartbeat(pb::HeartbeatRequest {
            worker_id: first.clone(),
            leases: vec![pb::LeaseRef { job_id: job1.job_id.clone(), lease_id: job1.lease_id }],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(beat.revoked.is_empty(), "{beat:?}");
    assert_eq!(submit(&mut moved, &first, &job1, chunk_proof(b"ok")).await, pb::SubmitOutcome::Accepted);
    // A duplicate through the other coordinator is a duplicate too.
    assert_eq!(submit(&mut on_a, &first, &job1, chunk_proof(b"ok")).await, pb::SubmitOutcome::Duplicate);
    assert_eq!(submit(&mut on_b, &second, &job0, chunk_proof(b"ok")).await, pb::SubmitOutcome::Accepted);

    // The aggregation job, created by whichever coordinator accepted the last chunk, is handed out by either.
    let agg = take(&mut on_a, &first, 2_000).await.expect("the aggregation job");
    assert_eq!(agg.kind, pb::JobKind::Aggregation as i32);
    let batch =
        zkr_protos::v1::submit_proof_request::Proof::Batch(pb::BatchProof { instances: vec![], proof: b"ok".to_vec() });
    assert_eq!(submit(&mut on_b, &first, &agg, batch).await, pb::SubmitOutcome::Accepted);

    // Both coordinators report the same cluster.
    for addr in [a.addr, b.addr] {
        let status = operator_client(addr).await.status(pb::StatusRequest {}).await.unwrap().into_inner();
        assert_eq!((status.done, status.queued, status.leased), (3, 0, 0));
        assert_eq!(status.workers.len(), 2);
        assert_eq!(status.batches[0].state, "proven");
    }
}

/// A coordinator's store and its leader lock end inside the tokio runtime (the process shutting down, a lost lock):
/// closing their Postgres connections there must not panic, and the lock goes to the next coordinator.
#[tokio::test(flavor = "multi_thread")]
async fn a_store_and_its_leader_lock_are_dropped_inside_the_runtime() {
    let Some(db) = TestDb::create("a_store_and_its_leader_lock_are_dropped") else { return };
    let store = Arc::new(db.store(policy()));
    let leader = {
        let store = Arc::clone(&store);
        tokio::task::spawn_blocking(move || store.try_lead().unwrap()).await.unwrap().expect("leads")
    };
    // Its pool holds connections too; both are dropped on a runtime worker thread.
    drop(leader);
    drop(store);
    let next = Arc::new(db.store(policy()));
    let mut waited = 0;
    loop {
        let next = Arc::clone(&next);
        if tokio::task::spawn_blocking(move || next.try_lead().unwrap()).await.unwrap().is_some() {
            break;
        }
        waited += 1;
        assert!(waited < 50, "the dropped leader's lock was never released");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
