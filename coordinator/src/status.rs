//! What the coordinator is doing, read from the store in one place: the operator's `Status` RPC, the status page and
//! its JSON all show the same [`Snapshot`].

use std::fmt::Write as _;

use serde_json::{Value, json};
use zkr_protos::v1 as pb;

use crate::{
    service::{kind_to_pb, worker_info},
    stages::StageRow,
    store::{BatchRecord, JobKind, JobState, Store, WorkerRecord},
};

/// Batches shown.
pub const RECENT_BATCHES: u32 = 20;
/// Finished jobs of each kind the latency summary is computed over.
pub const LATENCY_WINDOW: u32 = 100;
/// Workers shown: every connected one, and the most recently seen of those gone, up to this many in all.
pub const MAX_WORKERS: usize = 100;

/// Proving latency of recently finished jobs of one kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// The kind.
    pub kind: JobKind,
    /// Jobs it is computed over.
    pub samples: u32,
    /// Median, seconds.
    pub p50: f64,
    /// 95th percentile (nearest rank), seconds.
    pub p95: f64,
    /// Slowest, seconds.
    pub max: f64,
    /// The newest job's, seconds.
    pub last: f64,
}

impl Latency {
    /// The summary of `newest_first` (seconds), or `None` when empty.
    pub fn of(kind: JobKind, newest_first: &[f64]) -> Option<Self> {
        let last = *newest_first.first()?;
        let mut sorted = newest_first.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank = |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        Some(Self { kind, samples: sorted.len() as u32, p50: rank(0.5), p95: rank(0.95), max: rank(1.0), last })
    }
}

/// One worker as the status shows it.
#[derive(Debug, Clone)]
pub struct WorkerStatus {
    /// The worker.
    pub record: WorkerRecord,
    /// The jobs it holds leases on.
    pub jobs: Vec<String>,
}

/// The coordinator's state at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When it was read (unix ms).
    pub generated_ms: u64,
    /// Jobs in each state.
    pub counts: Vec<(JobState, u64)>,
    /// Workers, connected first.
    pub workers: Vec<WorkerStatus>,
    /// The newest batches, newest first.
    pub batches: Vec<BatchRecord>,
    /// Proving latency by kind.
    pub latency: Vec<Latency>,
    /// Proving time per stage, by worker backend and GPU model (this replica's progress reports; empty from
    /// [`Snapshot::read`], filled by `Coordinator::snapshot`).
    pub stages: Vec<StageRow>,
}

impl Snapshot {
    /// Reads the snapshot (blocking: call it off the async runtime).
    pub fn read(store: &Store, now: u64) -> crate::Result<Self> {
        let leased = store.list_jobs(Some(JobState::Leased), None, 10_000)?;
        let mut workers: Vec<WorkerStatus> = store
            .workers()?
            .into_iter()
            .map(|record| {
                let jobs = leased
                    .iter()
                    .filter(|j| j.worker_id.as_deref() == Some(record.id.as_str()))
                    .map(|j| j.id.clone())
                    .collect();
                WorkerStatus { record, jobs }
            })
            .collect();
        workers
            .sort_by(|a, b| a.record.gone.cmp(&b.record.gone).then(b.record.last_seen_ms.cmp(&a.record.last_seen_ms)));
        workers.truncate(MAX_WORKERS);
        let batches = store.recent_batches(RECENT_BATCHES)?;
        let mut latency = Vec::new();
        for kind in JobKind::ALL {
            latency.extend(Latency::of(kind, &store.recent_proving_seconds(kind, LATENCY_WINDOW)?));
        }
        Ok(Self { generated_ms: now, counts: store.job_counts()?, workers, batches, latency, stages: Vec::new() })
    }

    /// Jobs in `state`.
    pub fn count(&self, state: JobState) -> u64 {
        self.counts.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n)
    }

    /// The operator RPC's answer.
    pub fn to_proto(&self) -> pb::StatusResponse {
        pb::StatusResponse {
            queued: self.count(JobState::Queued),
            leased: self.count(JobState::Leased),
            done: self.count(JobState::Done),
            failed: self.count(JobState::Failed),
            cancelled: self.count(JobState::Cancelled),
            held: self.count(JobState::Held),
            workers: self.workers.iter().map(|w| worker_info(&w.record, w.jobs.clone())).collect(),
            batches: self
                .batches
                .iter()
                .map(|b| pb::BatchInfo {
                    batch_index: b.index,
                    state: b.state.clone(),
                    committed_unix_ms: b.committed_ms,
                    finalized_unix_ms: b.finalized_ms,
                    chunks: b.chunks,
                    chunks_proven: b.chunks_proven,
                    finalize_tx: b.finalize_tx.clone().unwrap_or_default(),
                    proven_unix_ms: b.proven_ms,
                    groups: b.groups(),
                    groups_proven: b.groups_proven,
                })
                .collect(),
            latency: self
                .latency
                .iter()
                .map(|l| pb::LatencySummary {
                    kind: kind_to_pb(l.kind) as i32,
                    samples: l.samples,
                    p50_seconds: l.p50,
                    p95_seconds: l.p95,
                    max_seconds: l.max,
                    last_seconds: l.last,
                })
                .collect(),
            generated_unix_ms: self.generated_ms,
        }
    }

    /// The JSON the status page's `/api/status` serves.
    pub fn to_json(&self) -> Value {
        json!({
            "generatedUnixMs": self.generated_ms,
            "jobs": self.counts.iter().map(|(s, n)| (s.as_str().to_owned(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "workers": self.workers.iter().map(|w| json!({
                "id": w.record.id,
                "name": w.record.spec.name,
                "backend": w.record.spec.backend,
                "gpuModel": w.record.spec.gpu_model,
                "memoryBytes": w.record.spec.memory_bytes,
                "version": w.record.spec.version,
                "connected": !w.record.gone,
                "draining": w.record.draining,
                "lastHeartbeatUnixMs": w.record.last_seen_ms,
                "jobs": w.jobs,
            })).collect::<Vec<_>>(),
            "batches": self.batches.iter().map(|b| json!({
                "index": b.index,
                "state": b.state,
                "chunks": b.chunks,
                "chunksProven": b.chunks_proven,
                "groups": b.groups(),
                "groupsProven": b.groups_proven,
                "committedUnixMs": b.committed_ms,
                "provenUnixMs": b.proven_ms,
                "finalizedUnixMs": b.finalized_ms,
                "finalizeTx": b.finalize_tx,
            })).collect::<Vec<_>>(),
            "latency": self.latency.iter().map(|l| json!({
                "kind": l.kind.as_str(),
                "samples": l.samples,
                "p50Seconds": l.p50,
                "p95Seconds": l.p95,
                "maxSeconds": l.max,
                "lastSeconds": l.last,
            })).collect::<Vec<_>>(),
            "stages": self.stages.iter().map(|r| json!({
                "backend": r.device.backend,
                "gpuModel": r.device.gpu,
                "kind": r.kind.as_str(),
                "stage": r.stage,
                "samples": r.latency.samples,
                "p50Seconds": r.latency.p50,
                "p95Seconds": r.latency.p95,
                "lastSeconds": r.latency.last,
            })).collect::<Vec<_>>(),
        })
    }

    /// The status page: plain HTML that reloads itself, no scripts and nothing fetched from elsewhere.
    pub fn to_html(&self) -> String {
        let mut page = String::with_capacity(16 * 1024);
        page.push_str(HEAD);
        let connected = self.workers.iter().filter(|w| !w.record.gone).count();
        let finalized = self.batches.iter().filter(|b| b.finalized_ms > 0).map(|b| b.index).max();
        let _ = write!(
            page,
            r#"<section id="summary"><div class="card"><b>{}</b>queued</div><div class="card"><b>{}</b>proving</div><div class="card"><b>{}</b>done</div><div class="card{}"><b>{}</b>failed</div><div class="card"><b>{connected}</b>workers</div><div class="card"><b>{}</b>last finalized batch</div></section>"#,
            self.count(JobState::Queued),
            self.count(JobState::Leased),
            self.count(JobState::Done),
            if self.count(JobState::Failed) > 0 { " bad" } else { "" },
            self.count(JobState::Failed),
            finalized.map_or_else(|| "none".to_owned(), |i| i.to_string()),
        );

        page.push_str(r#"<h2>Proving latency</h2><table id="latency"><thead><tr><th>kind</th><th>jobs</th><th>p50</th><th>p95</th><th>max</th><th>last</th></tr></thead><tbody>"#);
        if self.latency.is_empty() {
            page.push_str(r#"<tr><td colspan="6" class="none">no finished jobs yet</td></tr>"#);
        }
        for l in &self.latency {
            let _ = write!(
                page,
                r#"<tr data-kind="{kind}"><td>{kind}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                l.samples,
                seconds(l.p50),
                seconds(l.p95),
                seconds(l.max),
                seconds(l.last),
                kind = l.kind.as_str(),
            );
        }
        page.push_str("</tbody></table>");

        page.push_str(r#"<h2>Proving stages</h2><table id="stages"><thead><tr><th>backend</th><th>device</th><th>kind</th><th>stage</th><th>reports</th><th>p50</th><th>p95</th><th>last</th></tr></thead><tbody>"#);
        if self.stages.is_empty() {
            page.push_str(r#"<tr><td colspan="8" class="none">no stage reports yet (this coordinator's)</td></tr>"#);
        }
        for r in &self.stages {
            let _ = write!(
                page,
                r#"<tr data-stage="{stage}"><td>{}</td><td>{}</td><td>{}</td><td>{stage}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                escape(&r.device.backend),
                escape(if r.device.gpu.is_empty() { "-" } else { &r.device.gpu }),
                r.kind.as_str(),
                r.latency.samples,
                seconds(r.latency.p50),
                seconds(r.latency.p95),
                seconds(r.latency.last),
                stage = r.stage,
            );
        }
        page.push_str("</tbody></table>");

        page.push_str(r#"<h2>Workers</h2><table id="workers"><thead><tr><th>worker</th><th>backend</th><th>device</th><th>memory</th><th>jobs</th><th>last heartbeat</th><th>state</th></tr></thead><tbody>"#);
        if self.workers.is_empty() {
            page.push_str(r#"<tr><td colspan="7" class="none">no workers have registered</td></tr>"#);
        }
        for w in &self.workers {
            let spec = &w.record.spec;
            let state = match (w.record.gone, w.record.draining) {
                (true, _) => "gone",
                (false, true) => "draining",
                (false, false) if w.jobs.is_empty() => "idle",
                (false, false) => "proving",
            };
            let _ = write!(
                page,
                r#"<tr data-worker="{}" class="{state}"><td title="{}">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{state}</td></tr>"#,
                escape(&spec.name),
                escape(&w.record.id),
                escape(&spec.name),
                escape(&spec.backend),
                escape(if spec.gpu_model.is_empty() { "-" } else { &spec.gpu_model }),
                bytes(spec.memory_bytes),
                escape(&w.jobs.join(", ")),
                ago(self.generated_ms, w.record.last_seen_ms),
            );
        }
        page.push_str("</tbody></table>");

        page.push_str(r#"<h2>Recent batches</h2><table id="batches"><thead><tr><th>batch</th><th>state</th><th>chunks proven (layer proofs)</th><th>committed</th><th>commit to proven</th><th>commit to finalized</th><th>finalize transaction</th></tr></thead><tbody>"#);
        if self.batches.is_empty() {
            page.push_str(r#"<tr><td colspan="7" class="none">no committed batches yet</td></tr>"#);
        }
        for r in &self.batches {
            let groups =
                if r.groups() > 0 { format!(" ({} / {})", r.groups_proven, r.groups()) } else { String::new() };
            let since = |t: u64| {
                if t > 0 && r.committed_ms > 0 {
                    seconds(t.saturating_sub(r.committed_ms) as f64 / 1e3)
                } else {
                    "-".into()
                }
            };
            let _ = write!(
                page,
                r#"<tr data-batch="{}" class="{}"><td>{}</td><td>{}</td><td>{} / {}{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>"#,
                r.index,
                escape(&r.state),
                r.index,
                escape(&r.state),
                r.chunks_proven,
                r.chunks,
                groups,
                if r.committed_ms > 0 { ago(self.generated_ms, r.committed_ms) } else { "-".into() },
                since(r.proven_ms),
                since(r.finalized_ms),
                escape(r.finalize_tx.as_deref().unwrap_or("-")),
            );
        }
        page.push_str("</tbody></table>");
        let _ = write!(
            page,
            r#"<footer>Read at {} (unix ms). Reloads every 5 s. JSON: <a href="/api/status">/api/status</a>, Prometheus: <a href="/metrics">/metrics</a>.</footer></body></html>"#,
            self.generated_ms
        );
        page
    }
}

const HEAD: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>zkr coordinator</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d2329; background: #fafbfc; }
h1 { font-size: 1.4em; margin: 0 0 .6em; } h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
#summary { display: flex; flex-wrap: wrap; gap: .6em; }
.card { background: #fff; border: 1px solid #d8dee4; border-radius: 6px; padding: .5em .9em; min-width: 7em; }
.card b { display: block; font-size: 1.6em; } .card.bad b { color: #b42318; }
table { border-collapse: collapse; background: #fff; min-width: 40em; }
th, td { border: 1px solid #d8dee4; padding: .25em .6em; text-align: left; } th { background: #f0f3f6; }
td.none { color: #6b7280; font-style: italic; } tr.gone { color: #9ca3af; } tr.failed td { color: #b42318; }
code { font-size: .85em; } footer { margin-top: 2em; color: #6b7280; font-size: .85em; }
</style></head><body><h1>zkr proving coordinator</h1>
"#;

/// HTML-escapes text for element content and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn seconds(s: f64) -> String {
    if s < 60.0 { format!("{s:.1} s") } else { format!("{}m {:02}s", (s / 60.0) as u64, (s % 60.0) as u64) }
}

fn ago(now: u64, then: u64) -> String {
    format!("{} ago", seconds(now.saturating_sub(then) as f64 / 1e3))
}

fn bytes(n: u64) -> String {
    if n == 0 { "-".into() } else { format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_percentiles_by_nearest_rank() {
        assert_eq!(Latency::of(JobKind::Chunk, &[]), None);
        let one = Latency::of(JobKind::Chunk, &[4.0]).unwrap();
        assert_eq!((one.p50, one.p95, one.max, one.last), (4.0, 4.0, 4.0, 4.0));
        // Newest first: 20 samples 20, 19, ..., 1.
        let samples: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        let l = Latency::of(JobKind::Aggregation, &samples).unwrap();
        assert_eq!((l.samples, l.p50, l.p95, l.max, l.last), (20, 10.0, 19.0, 20.0, 20.0));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(seconds(4.26), "4.3 s");
        assert_eq!(seconds(272.7), "4m 32s");
        assert_eq!(ago(10_000, 4_000), "6.0 s ago");
    }
}
