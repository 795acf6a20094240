//! Load generator: pre-signed transfers over JSON-RPC into an in-process node, then the same load into anvil.
//!
//! ```text
//! cargo bench -p zkr-node --bench load -- [--accounts N] [--txs N] [--concurrency N] [--block-time-ms N]
//!                                         [--poll-ms N] [--rate N] [--block-records N] [--no-anvil]
//! ```
//!
//! ```text
//!  sign all transfers (before any timing) --> N workers, each one eth_sendRawTransaction in flight at a time
//!                                              (keep-alive HTTP, submission instant recorded per transaction;
//!                                              with --rate, transfer i is not sent before start + i / rate)
//!  block watcher: eth_getBlockByNumber(next, false) every --poll-ms --> first sight of each hash
//!  latency = block first seen - submission; throughput = included / (first submission .. last inclusion)
//! ```
//!
//! Transfers go out round-robin over the accounts (every account's nonce 0, then every nonce 1, ...), so an account's
//! next nonce is sent long after its previous one; and no account sends more than the pool's `max_nonce_gap` (64)
//! transfers, so even a nonce that overtakes its predecessor on the wire is within the gap the pool accepts.
//!
//! The node runs on its own multi-threaded runtime; the load generator on one thread (so at most one core of the
//! machine), whose CPU time is reported apart from the node's. Anvil (the peer) is its own process, started by
//! `zkr_devtools::Anvil` with interval mining at the same block time as the node: both then batch transactions into
//! timed blocks, as a sequencer does, and share the same latency floor. (Anvil's default automine would mine one
//! block per transaction, which is not how a sequencer works and would make the watcher fetch a block per transfer.)
//!
//! Closed loop (default): each worker sends its next transfer when the previous one is answered, so the table shows
//! the most a target accepts; a target that accepts faster than its blocks include queues the difference in its
//! pool, which shows as latency. Open loop (`--rate`): transfers are offered at a fixed rate, the same for both.

#![allow(missing_docs, clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U64, U256, keccak256},
    rpc::client::RpcClient,
    signers::local::PrivateKeySigner,
    transports::RpcError,
};
use zkr_node::{ChainSpec, Node, RpcConfig, run_sequencer, start_rpc};

const GWEI: u128 = 1_000_000_000;
const ETH: u128 = 1_000_000_000_000_000_000;
/// Fee cap: 100× the dev chain's initial base fee, so that even a long run of full blocks (+12.5 % each) stays under it.
const MAX_FEE: u128 = 100 * GWEI;
/// Tip: above anvil's enforced minimum.
const TIP: u128 = 2 * GWEI;
/// Genesis balance of every sending account: covers 64 transfers at the fee cap many times over.
const BALANCE_ETH: u128 = 1_000;

#[derive(Debug, Clone)]
struct Args {
    accounts: usize,
    txs: usize,
    concurrency: usize,
    block_time_ms: u64,
    poll_ms: u64,
    /// Transfers per second to offer (open loop); `None` sends as fast as the in-flight limit allows (closed loop).
    rate: Option<u64>,
    /// Most records a block holds (`ChainSpec::max_block_records`): a node that commits batches caps its blocks at
    /// one batch of the deployment's proof shape. `None`: blocks are bounded by gas only.
    block_records: Option<usize>,
    anvil: bool,
}

impl Args {
    fn parse() -> Self {
        let mut args = Self {
            accounts: 4_000,
            txs: 60_000,
            concurrency: 64,
            block_time_ms: 250,
            poll_ms: 10,
            rate: None,
            block_records: None,
            anvil: true,
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            let mut value = |name: &str| -> u64 {
                let raw = it.next().unwrap_or_else(|| usage(&format!("{name} needs a value")));
                raw.replace('_', "").parse().unwrap_or_else(|_| usage(&format!("{name}: not a number: {raw}")))
            };
            match arg.as_str() {
                "--accounts" => args.accounts = value("--accounts") as usize,
                "--txs" => args.txs = value("--txs") as usize,
                "--concurrency" => args.concurrency = value("--concurrency") as usize,
                "--block-time-ms" => args.block_time_ms = value("--block-time-ms"),
                "--poll-ms" => args.poll_ms = value("--poll-ms"),
                "--rate" => args.rate = Some(value("--rate")).filter(|rate| *rate > 0),
                "--block-records" => args.block_records = Some(value("--block-records") as usize),
                "--no-anvil" => args.anvil = false,
                // cargo bench appends --bench to a harness-less bench's arguments.
                "--bench" => {}
                other => usage(&format!("unknown argument {other}")),
            }
        }
        let max_gap = ChainSpec::dev().max_nonce_gap as usize;
        if args.accounts < 2 || args.txs == 0 || args.concurrency == 0 || args.block_time_ms == 0 {
            usage("--accounts must be at least 2; --txs, --concurrency and --block-time-ms above 0");
        }
        if args.txs > args.accounts * max_gap {
            usage(&format!("--txs may be at most --accounts × {max_gap} (the pool's max nonce gap)"));
        }
        args
    }
}

fn usage(problem: &str) -> ! {
    eprintln!("error: {problem}");
    eprintln!(
        "usage: cargo bench -p zkr-node --bench load -- [--accounts N] [--txs N] [--concurrency N] \
         [--block-time-ms N] [--poll-ms N] [--rate N] [--block-records N] [--no-anvil]"
    );
    std::process::exit(2)
}

/// One pre-signed transfer.
#[derive(Debug, Clone)]
struct Signed {
    raw: Bytes,
    hash: B256,
}

/// A deterministic key per account index, so runs compare.
fn key(i: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::from(U256::from(i as u64 + 1))).unwrap()
}

/// Transfer `k` is account `k % n`'s nonce `k / n`, paying 1 wei to another account. Signed on every core.
fn sign_all(signers: &[PrivateKeySigner], chain_id: u64, count: usize) -> Vec<Signed> {
    let n = signers.len();
    let addresses: Vec<Address> = signers.iter().map(PrivateKeySigner::address).collect();
    let sign = |k: usize| {
        let (from, nonce) = (k % n, k / n);
        let mut tx = TxEip1559 {
            chain_id,
            nonce: nonce as u64,
            gas_limit: 21_000,
            max_fee_per_gas: MAX_FEE,
            max_priority_fee_per_gas: TIP,
            to: TxKind::Call(addresses[(from + 1 + nonce % (n - 1)) % n]),
            value: U256::from(1),
            ..Default::default()
        };
        let signature = signers[from].sign_transaction_sync(&mut tx).unwrap();
        let raw: Bytes = TxEnvelope::from(tx.into_signed(signature)).encoded_2718().into();
        Signed { hash: keccak256(&raw), raw }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = count.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let sign = &sign;
                scope.spawn(move || (t * chunk..((t + 1) * chunk).min(count)).map(sign).collect::<Vec<_>>())
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

/// What a worker saw for one transaction.
#[derive(Debug)]
struct Sent {
    index: usize,
    at: Instant,
    rtt: Duration,
    /// How long after its scheduled time (with `--rate`) it was sent.
    late: Duration,
    error: Option<String>,
}

/// Shared between the workers and the block watcher.
#[derive(Debug, Default)]
struct Progress {
    next: AtomicUsize,
    accepted: AtomicUsize,
    done: AtomicBool,
}

#[derive(Debug, serde::Deserialize)]
struct BlockHashes {
    transactions: Vec<B256>,
}

/// A block as the watcher saw it.
#[derive(Debug, Clone, Copy)]
struct BlockSeen {
    ours: usize,
    at: Instant,
}

#[derive(Debug, Default)]
struct Watched {
    included: Vec<Option<Instant>>,
    blocks: Vec<BlockSeen>,
    poll_errors: usize,
    complete: bool,
}

/// The measurement of one target.
#[derive(Debug)]
struct Outcome {
    sent: usize,
    accepted: usize,
    included: usize,
    rejected: BTreeMap<String, usize>,
    /// First submission to last response.
    submit_span: Duration,
    /// First submission to last inclusion seen.
    span: Duration,
    latencies: Vec<Duration>,
    rtts: Vec<Duration>,
    blocks: Vec<BlockSeen>,
    poll_errors: usize,
    complete: bool,
    /// CPU time used during the load by the process named.
    cpu: Option<(&'static str, Duration)>,
    /// CPU time the load generator (its one thread) used during the load.
    generator_cpu: Option<Duration>,
    /// Largest delay of a send past its scheduled time (with `--rate`).
    late: Duration,
}

impl Outcome {
    fn throughput(&self) -> f64 {
        self.included as f64 / self.span.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

async fn worker(
    client: RpcClient,
    txs: Arc<Vec<Signed>>,
    progress: Arc<Progress>,
    schedule: Option<(Instant, u64)>,
) -> Vec<Sent> {
    let mut out = Vec::new();
    loop {
        let index = progress.next.fetch_add(1, Ordering::Relaxed);
        let Some(tx) = txs.get(index) else { return out };
        let due = schedule.map(|(start, rate)| start + Duration::from_secs_f64(index as f64 / rate as f64));
        if let Some(due) = due {
            tokio::time::sleep_until(due.into()).await;
        }
        let at = Instant::now();
        let late = due.map_or(Duration::ZERO, |due| at.saturating_duration_since(due));
        let result: Result<B256, _> = client.request("eth_sendRawTransaction", (tx.raw.clone(),)).await;
        let rtt = at.elapsed();
        let error = match result {
            Ok(_) => {
                progress.accepted.fetch_add(1, Ordering::Relaxed);
                None
            }
            Err(RpcError::ErrorResp(payload)) => Some(payload.message.to_string()),
            Err(err) => Some(format!("transport error: {err}")),
        };
        out.push(Sent { index, at, rtt, late, error });
    }
}

/// Polls for the next block until every accepted transaction is in one, or nothing new arrives for `stall`.
async fn watch(
    client: RpcClient,
    first_block: u64,
    index: HashMap<B256, usize>,
    progress: Arc<Progress>,
    poll: Duration,
    stall: Duration,
) -> Watched {
    let mut watched = Watched { included: vec![None; index.len()], ..Default::default() };
    let (mut number, mut count) = (first_block, 0usize);
    let mut last_progress: Option<Instant> = None;
    loop {
        let block: Result<Option<BlockHashes>, _> =
            client.request("eth_getBlockByNumber", (U64::from(number), false)).await;
        match block {
            Ok(Some(block)) => {
                let at = Instant::now();
                let mut ours = 0;
                for hash in &block.transactions {
                    if let Some(&i) = index.get(hash)
                        && watched.included[i].is_none()
                    {
                        watched.included[i] = Some(at);
                        ours += 1;
                    }
                }
                if ours > 0 {
                    count += ours;
                    last_progress = Some(at);
                }
                watched.blocks.push(BlockSeen { ours, at });
                number += 1;
                // The next block may already be there.
                continue;
            }
            Ok(None) => {}
            Err(_) => watched.poll_errors += 1,
        }
        if progress.done.load(Ordering::Acquire) {
            let since = *last_progress.get_or_insert_with(Instant::now);
            if count >= progress.accepted.load(Ordering::Relaxed) {
                watched.complete = true;
                return watched;
            }
            if since.elapsed() > stall {
                return watched;
            }
        }
        tokio::time::sleep(poll).await;
    }
}

/// Sends every transaction to `url` with `--concurrency` requests in flight and watches blocks until they are in.
async fn run_load(url: &str, txs: Arc<Vec<Signed>>, args: &Args) -> Outcome {
    let poll = Duration::from_millis(args.poll_ms);
    let stall = Duration::from_secs(15).max(Duration::from_millis(40 * args.block_time_ms));
    // The runtime is single-threaded: this thread's CPU time is the load generator's.
    let generator_cpu = cpu_time("thread-self");
    let client = RpcClient::new_http(url.parse().unwrap());
    let head: U64 = client.request_noparams("eth_blockNumber").await.unwrap();
    let index: HashMap<B256, usize> = txs.iter().enumerate().map(|(i, tx)| (tx.hash, i)).collect();
    let progress = Arc::new(Progress::default());

    let watcher = tokio::spawn(watch(client.clone(), head.to::<u64>() + 1, index, progress.clone(), poll, stall));
    let mut workers = tokio::task::JoinSet::new();
    let schedule = args.rate.map(|rate| (Instant::now(), rate));
    for _ in 0..args.concurrency {
        workers.spawn(worker(client.clone(), txs.clone(), progress.clone(), schedule));
    }
    let mut sent = Vec::with_capacity(txs.len());
    while let Some(result) = workers.join_next().await {
        sent.extend(result.unwrap());
    }
    progress.done.store(true, Ordering::Release);
    let watched = watcher.await.unwrap();

    let first = sent.iter().map(|s| s.at).min().unwrap();
    let last_response = sent.iter().map(|s| s.at + s.rtt).max().unwrap();
    let mut submitted_at = vec![None; txs.len()];
    let mut rejected = BTreeMap::new();
    let mut rtts = Vec::with_capacity(sent.len());
    let late = sent.iter().map(|s| s.late).max().unwrap_or_default();
    for s in &sent {
        submitted_at[s.index] = Some(s.at);
        rtts.push(s.rtt);
        if let Some(message) = &s.error {
            // Messages carry numbers after a colon ("nonce too low: next nonce 3, tx nonce 2"): group by the kind.
            let kind = message.split(':').next().unwrap_or(message).trim().to_string();
            *rejected.entry(kind).or_insert(0) += 1;
        }
    }
    let mut latencies: Vec<Duration> = watched
        .included
        .iter()
        .zip(&submitted_at)
        .filter_map(|(seen, at)| Some(seen.as_ref()?.saturating_duration_since((*at)?)))
        .collect();
    latencies.sort_unstable();
    rtts.sort_unstable();
    let last_inclusion = watched.included.iter().flatten().max().copied().unwrap_or(first);
    Outcome {
        sent: sent.len(),
        accepted: progress.accepted.load(Ordering::Relaxed),
        included: latencies.len(),
        rejected,
        submit_span: last_response - first,
        span: last_inclusion.saturating_duration_since(first),
        latencies,
        rtts,
        blocks: watched.blocks,
        poll_errors: watched.poll_errors,
        complete: watched.complete,
        cpu: None,
        generator_cpu: generator_cpu.zip(cpu_time("thread-self")).map(|(before, after)| after - before),
        late,
    }
}

/// CPU time a process (or with "thread-self", this thread) has used so far (user + system), from `/proc/PID/stat`;
/// `None` where there is no procfs.
fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at the state, field 3; utime and stime are 14, 15.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let ticks: u64 = fields.next()?.parse::<u64>().ok()? + fields.next()?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux target we run on.
    Some(Duration::from_millis(ticks * 10))
}

/// The load generator's runtime: one thread, separate from the node's.
fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The dev chain with blocks bounded by gas only (1,428 transfers), as when the first figures in docs/perf.md were
/// taken, or by `--block-records`. A node that commits batches caps a block at one batch of the deployment's proof
/// shape (`chunk_slots * chunks_per_batch` records: 128 for `ProofShape::DEFAULT`, the node's default
/// `DEFAULT_MAX_BLOCK_RECORDS`), which bounds inclusion at that many transfers per block; `--block-records` measures
/// what the node includes under such a cap.
fn bench_spec(args: &Args) -> ChainSpec {
    ChainSpec { max_block_records: args.block_records.unwrap_or(usize::MAX), ..ChainSpec::dev() }
}

fn run_node(args: &Args) -> Outcome {
    let signers: Vec<PrivateKeySigner> = (0..args.accounts).map(key).collect();
    let mut spec = bench_spec(args);
    spec.genesis_alloc = signers.iter().map(|s| (s.address(), U256::from(BALANCE_ETH * ETH))).collect();
    let chain_id = spec.chain_id;

    let started = Instant::now();
    let txs = Arc::new(sign_all(&signers, chain_id, args.txs));
    println!("zkr-node: signed {} transfers in {:.1} s (not measured)", txs.len(), started.elapsed().as_secs_f64());

    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let node = Arc::new(Node::open(spec, dir.path()).unwrap());
    println!("zkr-node: genesis with {} accounts in {:.1} s", args.accounts, started.elapsed().as_secs_f64());

    let node_rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let config = RpcConfig { addr: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
    let (addr, rpc) = node_rt.block_on(start_rpc(node.clone(), config)).unwrap();
    let (shutdown, rx) = tokio::sync::watch::channel(false);
    let sequencer = node_rt.spawn(run_sequencer(node, Duration::from_millis(args.block_time_ms), rx));

    let cpu_before = cpu_time("self");
    let mut outcome = client_runtime().block_on(run_load(&format!("http://{addr}"), txs, args));
    // The node runs in this process: its share is the process's CPU time less the load generator's thread.
    outcome.cpu = cpu_before
        .zip(cpu_time("self"))
        .map(|(before, after)| ("node", (after - before).saturating_sub(outcome.generator_cpu.unwrap_or_default())));

    shutdown.send(true).unwrap();
    node_rt.block_on(sequencer).unwrap().unwrap();
    rpc.stop().unwrap();
    node_rt.shutdown_timeout(Duration::from_secs(5));
    outcome
}

fn run_anvil(args: &Args) -> Outcome {
    let started = Instant::now();
    let anvil = zkr_devtools::Anvil::new()
        .arg("--accounts")
        .arg(args.accounts.to_string())
        .arg("--balance")
        .arg(BALANCE_ETH.to_string())
        // Fractional seconds are accepted by anvil's --block-time; the builder's block_time() takes whole seconds.
        .arg("--block-time")
        .arg(format!("{}", args.block_time_ms as f64 / 1000.0))
        .startup_timeout(Duration::from_secs(120))
        .spawn()
        .expect("anvil starts (run scripts/setup.sh first)");
    let signers: Vec<PrivateKeySigner> = anvil.private_keys().iter().map(|k| k.parse().unwrap()).collect();
    assert_eq!(signers.len(), args.accounts, "anvil printed every dev key");
    println!("anvil: {} funded accounts, listening after {:.1} s", signers.len(), started.elapsed().as_secs_f64());

    let started = Instant::now();
    let txs = Arc::new(sign_all(&signers, anvil.chain_id(), args.txs));
    println!("anvil: signed {} transfers in {:.1} s (not measured)", txs.len(), started.elapsed().as_secs_f64());

    let pid = anvil.pid().to_string();
    let cpu_before = cpu_time(&pid);
    let mut outcome = client_runtime().block_on(run_load(anvil.endpoint(), txs, args));
    outcome.cpu = cpu_before.zip(cpu_time(&pid)).map(|(before, after)| ("anvil", after - before));
    outcome
}

/// Where the node's time goes, without HTTP: the same kind of transfers through `decode` (signature recovery),
/// `Node::submit` (admission, pool, durable store) and `Node::produce_block`, one thread, on a fresh node.
fn breakdown(args: &Args) {
    let count = args.txs.min(args.accounts * 4).min(2_000);
    let signers: Vec<PrivateKeySigner> = (0..args.accounts).map(key).collect();
    // One block takes every transfer: the breakdown times the work per transfer, not the block cap.
    let mut spec = ChainSpec { max_block_records: usize::MAX, ..ChainSpec::dev() };
    spec.genesis_alloc = signers.iter().map(|s| (s.address(), U256::from(BALANCE_ETH * ETH))).collect();
    let txs = sign_all(&signers, spec.chain_id, count);
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(spec.clone(), dir.path()).unwrap();
    let per_tx = |elapsed: Duration| elapsed.as_secs_f64() * 1e6 / count as f64;

    let base_fee = node.next_base_fee();
    let started = Instant::now();
    for tx in &txs {
        zkr_node::decode(&tx.raw, &spec, base_fee).unwrap();
    }
    let decode = per_tx(started.elapsed());

    let cpu = || cpu_time("self").unwrap_or_default();
    let (started, cpu_before) = (Instant::now(), cpu());
    for tx in &txs {
        node.submit(&tx.raw).unwrap();
    }
    let (submit, submit_cpu) = (per_tx(started.elapsed()), per_tx(cpu() - cpu_before));

    let started = Instant::now();
    let block = node.produce_block(1).unwrap();
    let produce = started.elapsed();
    let included = block.transactions.len();

    // The durable write a lone submitter pays: one redb write transaction with `Durability::Immediate` (fsync before
    // commit returns). Under concurrent load `Node::submit` shares each such write among every submission that arrived
    // during the previous one (group commit).
    let store_dir = tempfile::tempdir().unwrap();
    let store = zkr_node::Store::open(store_dir.path().join(zkr_node::DB_FILE)).unwrap();
    let (started, cpu_before) = (Instant::now(), cpu());
    for tx in &txs {
        let entry = zkr_node::PoolEntry { hash: tx.hash, raw: tx.raw.clone(), replaced: None };
        store.add_pooled_batch(std::slice::from_ref(&entry)).unwrap();
    }
    let (write, write_cpu) = (per_tx(started.elapsed()), per_tx(cpu() - cpu_before));

    println!("- zkr-node without HTTP, one thread, {count} transfers (CPU time from /proc, 10 ms ticks):");
    println!("  - decode (RLP and signature recovery): {decode:.0} µs/tx");
    println!(
        "  - Node::submit: {submit:.0} µs/tx, {submit_cpu:.0} µs/tx of it on the CPU; one submitter at a time, \
         so at most {:.0} submissions/s from a single thread",
        1e6 / submit
    );
    println!(
        "  - of which the durable pool write, Store::add_pooled alone: {write:.0} µs/tx, {write_cpu:.0} µs/tx of it \
         on the CPU"
    );
    println!(
        "  - Node::produce_block of {included} transfers (lock held throughout): {:.0} ms, {:.0} µs/tx",
        produce.as_secs_f64() * 1e3,
        produce.as_secs_f64() * 1e6 / included.max(1) as f64,
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("–".into(), |d| format!("{:.0} ms", d.as_secs_f64() * 1e3))
}

fn row(name: &str, o: &Outcome) -> String {
    let rejected = if o.rejected.is_empty() {
        "0".to_string()
    } else {
        o.rejected.iter().map(|(message, n)| format!("{n} × {message}")).collect::<Vec<_>>().join("; ")
    };
    format!(
        "| {name} | {} | {} | {}{} | {:.1} s | {:.1} s | {:.0} | {} | {} | {} | {} | {} |",
        o.sent,
        o.accepted,
        o.included,
        if o.complete { "" } else { " (gave up waiting)" },
        o.submit_span.as_secs_f64(),
        o.span.as_secs_f64(),
        o.throughput(),
        ms(percentile(&o.latencies, 50.0)),
        ms(percentile(&o.latencies, 90.0)),
        ms(percentile(&o.latencies, 99.0)),
        ms(o.latencies.last().copied()),
        rejected,
    )
}

fn ratio(node: f64, peer: f64) -> String {
    if peer > 0.0 { format!("{:.2}×", node / peer) } else { "–".into() }
}

fn secs(d: Option<Duration>) -> f64 {
    d.map_or(0.0, |d| d.as_secs_f64())
}

fn diagnostics(name: &str, o: &Outcome, rate: Option<u64>) {
    let busy: Vec<&BlockSeen> = o.blocks.iter().filter(|b| b.ours > 0).collect();
    let mut gaps: Vec<Duration> = o.blocks.windows(2).map(|w| w[1].at - w[0].at).collect();
    gaps.sort_unstable();
    let max_block = busy.iter().map(|b| b.ours).max().unwrap_or(0);
    let span = o.span.as_secs_f64().max(f64::MIN_POSITIVE);
    println!("- {name}:");
    println!(
        "  - {} blocks held load transfers (mean {:.0}, max {max_block}); a new block was seen every {} (p50), {} \
         at most",
        busy.len(),
        o.included as f64 / busy.len().max(1) as f64,
        ms(percentile(&gaps, 50.0)),
        ms(gaps.last().copied()),
    );
    println!(
        "  - eth_sendRawTransaction round trip {} p50, {} p99, {} max; submission rate {:.0}/s{}",
        ms(percentile(&o.rtts, 50.0)),
        ms(percentile(&o.rtts, 99.0)),
        ms(o.rtts.last().copied()),
        o.sent as f64 / o.submit_span.as_secs_f64().max(f64::MIN_POSITIVE),
        rate.map_or(String::new(), |rate| format!(
            " (offered {rate}/s; the latest send left {} after its scheduled time)",
            ms(Some(o.late))
        )),
    );
    let cores = |cpu: Duration| format!("{:.1} s ({:.2} cores)", cpu.as_secs_f64(), cpu.as_secs_f64() / span);
    if let Some(((who, cpu), generator)) = o.cpu.zip(o.generator_cpu) {
        println!(
            "  - CPU time from first submission to last inclusion ({span:.1} s): {who} {}, load generator {}",
            cores(cpu),
            cores(generator)
        );
    }
    if o.poll_errors > 0 {
        println!("  - {} block polls failed", o.poll_errors);
    }
}

fn main() {
    let args = Args::parse();
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    }
    println!(
        "load: {} transfers from {} accounts, {} requests in flight, {}, {} ms blocks of {}, watcher polls every {} ms",
        args.txs,
        args.accounts,
        args.concurrency,
        args.rate.map_or("as fast as they are answered (closed loop)".into(), |rate| format!("offered at {rate}/s")),
        args.block_time_ms,
        args.block_records.map_or("any number of records (gas bound)".into(), |n| format!("at most {n} records")),
        args.poll_ms
    );
    // Anything else running on a 2-core machine (a cargo build) shows up in every figure below: say so.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average before the run: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    }

    let node = run_node(&args);
    let peer = args.anvil.then(|| run_anvil(&args));

    println!();
    println!(
        "| target | sent | accepted | included | submit phase | first submit → last inclusion | transfers/s | p50 | p90 \
         | p99 | max | rejected |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    println!("{}", row("zkr-node", &node));
    if let Some(peer) = &peer {
        println!("{}", row(&format!("anvil (--block-time {} s)", args.block_time_ms as f64 / 1000.0), peer));
        let lat = |o: &Outcome, p: f64| secs(percentile(&o.latencies, p));
        println!(
            "| zkr-node ÷ anvil | | | | {} | {} | {} | {} | {} | {} | {} | |",
            ratio(node.submit_span.as_secs_f64(), peer.submit_span.as_secs_f64()),
            ratio(node.span.as_secs_f64(), peer.span.as_secs_f64()),
            ratio(node.throughput(), peer.throughput()),
            ratio(lat(&node, 50.0), lat(peer, 50.0)),
            ratio(lat(&node, 90.0), lat(peer, 90.0)),
            ratio(lat(&node, 99.0), lat(peer, 99.0)),
            ratio(secs(node.latencies.last().copied()), secs(peer.latencies.last().copied())),
        );
    }
    println!();
    if peer.is_some() {
        println!(
            "zkr-node ÷ anvil: above 1 is better for the node in transfers/s, below 1 in the time and latency columns."
        );
    }
    diagnostics("zkr-node", &node, args.rate);
    if let Some(peer) = &peer {
        diagnostics("anvil", peer, args.rate);
    }
    breakdown(&args);
}
