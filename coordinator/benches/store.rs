//! The coordinator's store under a load of workers: SQLite (one coordinator) against Postgres (one and two
//! coordinators on one database).
//!
//! ```text
//! eval "$(scripts/postgres.sh start)"
//! cargo bench -p zkr-coordinator --bench store -- [--batches 400] [--workers 8]
//! ```
//!
//! Each run queues `--batches` batches of one chunk job each and lets `--workers` threads play workers: each takes a
//! job (`take_job`), hands in a proof of the real size (55 KB for a chunk, 9 KB for an aggregation; see
//! docs/perf.md) through `check_submission` and `accept`, and heartbeats every tenth job, until the queue is empty;
//! accepting a batch's chunk creates its aggregation job, which the workers take too. So every batch costs two
//! leases and two accepted proofs. With two coordinators the workers are split between two stores (two pools) on
//! one database. The table gives the wall time, jobs per second, and the median and 99th percentile of `take_job`
//! and `accept`; the last column is the throughput relative to SQLite's (above 1 is faster). Postgres rows need
//! `ZKR_TEST_POSTGRES_URL`; each run gets a fresh database.
//!
//! Proving takes seconds to minutes per job, so the store is far from the cluster's bottleneck at any of these
//! rates: the bench shows the headroom and what a second coordinator costs or gains.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, reason = "a bench binary prints its table")]

use std::{
    sync::{Arc, Barrier},
    time::{Duration, Instant},
};

use zkr_coordinator::store::{JobKind, Policy, Store, SubmitCheck, WorkerSpec};
use zkr_devtools::TestDatabase;

const CHUNK_PROOF_BYTES: usize = 55_000;
const BATCH_PROOF_BYTES: usize = 9_152;
const WITNESS_BYTES: usize = 64 * 1024;

struct Args {
    batches: u64,
    workers: usize,
}

fn parse_args() -> Args {
    let mut args = Args { batches: 400, workers: 8 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--batches" => args.batches = it.next().and_then(|s| s.parse().ok()).expect("--batches needs a count"),
            "--workers" => args.workers = it.next().and_then(|s| s.parse().ok()).expect("--workers needs a count"),
            // `cargo bench` passes `--bench`.
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

struct Run {
    store: &'static str,
    coordinators: usize,
    jobs: usize,
    wall: Duration,
    take: Vec<Duration>,
    accept: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn run(name: &'static str, stores: &[Arc<Store>], args: &Args) -> Run {
    let witness = vec![0x5a; WITNESS_BYTES];
    for index in 1..=args.batches {
        stores[0].add_batch(index, b"{}", vec![witness.clone()], 0).unwrap();
    }
    let start = Arc::new(Barrier::new(args.workers + 1));
    let handles: Vec<_> = (0..args.workers)
        .map(|w| {
            let store = Arc::clone(&stores[w % stores.len()]);
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                let spec = WorkerSpec { name: format!("w{w}"), backend: "cpu".into(), ..Default::default() };
                let id = store.register_worker(&spec, 1).unwrap().id;
                let (chunk_proof, batch_proof) = (vec![1; CHUNK_PROOF_BYTES], vec![2; BATCH_PROOF_BYTES]);
                let (mut take, mut accept) = (Vec::new(), Vec::new());
                start.wait();
                loop {
                    let t = Instant::now();
                    let Some(lease) = store.take_job(&id, 2).unwrap() else {
                        // Another worker may be about to accept the last chunk of a batch, which queues its
                        // aggregation: stop only once nothing is leased either.
                        if store.list_jobs(Some(zkr_coordinator::store::JobState::Leased), None, 1).unwrap().is_empty()
                            && store.take_job(&id, 2).unwrap().is_none()
                        {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    };
                    take.push(t.elapsed());
                    if take.len() % 10 == 0 {
                        store.heartbeat(&id, &[(lease.job_id.clone(), lease.lease_id)], 2).unwrap();
                    }
                    let proof = if lease.kind == JobKind::Chunk { &chunk_proof } else { &batch_proof };
                    let t = Instant::now();
                    assert!(matches!(
                        store.check_submission(&id, &lease.job_id, lease.lease_id, 3).unwrap(),
                        SubmitCheck::Current(_)
                    ));
                    assert!(matches!(
                        store.accept(&lease.job_id, lease.lease_id, proof, 3).unwrap(),
                        SubmitCheck::Current(_)
                    ));
                    accept.push(t.elapsed());
                }
                (take, accept)
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    let (mut take, mut accept) = (Vec::new(), Vec::new());
    for handle in handles {
        let (t, a) = handle.join().unwrap();
        take.extend(t);
        accept.extend(a);
    }
    let wall = began.elapsed();
    take.sort();
    accept.sort();
    let proven = stores[0].recent_batches(u32::MAX).unwrap().iter().filter(|b| b.state == "proven").count();
    assert_eq!(proven as u64, args.batches, "{name}: every batch proven");
    assert_eq!(take.len() as u64, 2 * args.batches, "{name}: each job leased once");
    Run { store: name, coordinators: stores.len(), jobs: take.len(), wall, take, accept }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let args = parse_args();
    let policy = Policy { lease_ttl_ms: 3_600_000, ..Policy::default() };
    let mut runs = Vec::new();

    let dir = tempfile::tempdir().unwrap();
    let sqlite = Arc::new(Store::open(&dir.path().join("bench.sqlite"), policy).unwrap());
    runs.push(run("sqlite", &[sqlite], &args));

    match TestDatabase::create() {
        Ok(Some(db)) => {
            let one = Arc::new(Store::connect(db.url(), policy).unwrap());
            runs.push(run("postgres", &[one], &args));
            drop(db);
            let db = TestDatabase::create().unwrap().unwrap();
            let two: Vec<_> = (0..2).map(|_| Arc::new(Store::connect(db.url(), policy).unwrap())).collect();
            runs.push(run("postgres", &two, &args));
        }
        Ok(None) => {
            eprintln!("no ZKR_TEST_POSTGRES_URL: Postgres rows left out (eval \"$(scripts/postgres.sh start)\")")
        }
        Err(err) => panic!("{err}"),
    }

    println!(
        "{} batches, {} worker threads, chunk proofs of {CHUNK_PROOF_BYTES} B, witnesses of {WITNESS_BYTES} B\n",
        args.batches, args.workers
    );
    println!(
        "| store | coordinators | jobs | wall | jobs/s | take p50 | take p99 | accept p50 | accept p99 | vs sqlite |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let base = runs[0].jobs as f64 / runs[0].wall.as_secs_f64();
    for r in &runs {
        let rate = r.jobs as f64 / r.wall.as_secs_f64();
        println!(
            "| {} | {} | {} | {:.2} s | {:.0} | {} | {} | {} | {} | {:.2}x |",
            r.store,
            r.coordinators,
            r.jobs,
            r.wall.as_secs_f64(),
            rate,
            ms(percentile(&r.take, 0.5)),
            ms(percentile(&r.take, 0.99)),
            ms(percentile(&r.accept, 0.5)),
            ms(percentile(&r.accept, 0.99)),
            rate / base
        );
    }
}
