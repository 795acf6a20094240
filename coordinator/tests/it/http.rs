//! The status page, its JSON and the metrics route over real HTTP, and the page rendered in headless Chromium.
//!
//! The Chromium check runs when `chromium` is installed (CI installs it and sets `ZKR_REQUIRE_CHROMIUM=1`, which turns
//! a missing browser into a failure); elsewhere it says loudly that it was skipped.

use std::{path::PathBuf, sync::Arc, time::Duration};

use prost::Message;
use zkr_coordinator::{
    CheckError, Coordinator, ProofChecker, http,
    store::{JobKind, Policy, Store, WorkerSpec},
};
use zkr_protos::v1 as pb;

#[derive(Debug)]
struct Accept;

impl ProofChecker for Accept {
    fn check_chunk(&self, _: &[u8], _: &pb::ChunkProof) -> Result<(), CheckError> {
        Ok(())
    }
    fn check_layer(&self, _: &[pb::ChunkProof], _: &pb::LayerProof) -> Result<(), CheckError> {
        Ok(())
    }
    fn check_batch(&self, _: &[pb::ChunkProof], _: &pb::BatchProof) -> Result<(), CheckError> {
        Ok(())
    }
}

const HOSTILE: &str = "<script>alert(1)</script>";

fn spec(name: &str, backend: &str, gpu: &str) -> WorkerSpec {
    WorkerSpec {
        name: name.into(),
        backend: backend.into(),
        gpu_model: gpu.into(),
        memory_bytes: 80 << 30,
        version: "test".into(),
        kinds: vec![JobKind::Chunk, JobKind::Aggregation],
    }
}

/// A store with two finished chunk proofs, a finalized batch 1, batch 2 proving on a GPU worker, and a worker whose
/// name is markup.
fn populated() -> Arc<Store> {
    let store = Arc::new(Store::in_memory(Policy::default()).unwrap());
    let t0 = 1_700_000_000_000;
    let gpu = store.register_worker(&spec("gpu-1", "cuda", "NVIDIA H100 80GB HBM3"), t0).unwrap();
    store.register_worker(&spec(HOSTILE, "cpu", ""), t0).unwrap();
    let proof = pb::ChunkProof { instances: vec![vec![1; 32]], proof: b"proof".to_vec() }.encode_to_vec();
    store.add_batch(1, b"{}", vec![b"w".to_vec()], t0).unwrap();
    let lease = store.take_job(&gpu.id, t0 + 1_000).unwrap().unwrap();
    store.accept(&lease.job_id, lease.lease_id, &proof, t0 + 43_000).unwrap();
    let agg = store.take_job(&gpu.id, t0 + 44_000).unwrap().unwrap();
    assert_eq!(agg.kind, JobKind::Aggregation);
    store.accept(&agg.job_id, agg.lease_id, b"batch proof", t0 + 316_000).unwrap();
    store.set_finalizing(1, "0xabc").unwrap();
    store.set_finalized(1, t0 + 330_000).unwrap();
    store.add_batch(2, b"{}", vec![b"w".to_vec()], t0 + 320_000).unwrap();
    store.take_job(&gpu.id, t0 + 321_000).unwrap().unwrap();
    store
}

async fn get(addr: std::net::SocketAddr, path: &'static str) -> (u16, String) {
    tokio::task::spawn_blocking(move || zkr_devtools::http_get(addr, path)).await.unwrap().unwrap()
}

fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|dir| PathBuf::from(dir).join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("ZKR_REQUIRE_CHROMIUM").is_none(),
            "ZKR_REQUIRE_CHROMIUM is set but no chromium found"
        );
        eprintln!("SKIPPED: the status page was not rendered in Chromium (none installed; CI installs it)");
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_shows_queue_workers_batches_and_latency() {
    let setup =
        pb::ProverSetup { chunk_k: 16, chunk_slots: 2, chunks_per_batch: 1, aggregation_k: 20, ..Default::default() };
    let coordinator = Arc::new(Coordinator::new(populated(), Arc::new(Accept), setup));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (addr, server) = http::start_http("127.0.0.1:0".parse().unwrap(), coordinator, None, async move {
        let _ = stopped.await;
    })
    .await
    .unwrap();

    let (status, json) = get(addr, "/api/status").await;
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["jobs"]["done"], 2);
    assert_eq!(json["jobs"]["leased"], 1);
    let latency = json["latency"].as_array().unwrap();
    assert_eq!(latency[0]["kind"], "chunk");
    assert_eq!(latency[0]["lastSeconds"], 42.0);
    assert_eq!(latency[1]["kind"], "aggregation");
    assert_eq!(latency[1]["p50Seconds"], 272.0);
    assert_eq!(json["batches"][0]["index"], 2);
    assert_eq!(json["batches"][1]["state"], "finalized");
    assert_eq!(json["batches"][1]["chunksProven"], 1);
    assert_eq!(json["workers"].as_array().unwrap().len(), 2);

    let (status, html) = get(addr, "/").await;
    assert_eq!(status, 200);
    assert!(html.contains("NVIDIA H100 80GB HBM3"));
    assert!(!html.contains(HOSTILE), "a worker's name reached the page unescaped");
    assert_eq!(get(addr, "/healthz").await, (200, "ok".to_owned()));
    assert_eq!(get(addr, "/metrics").await.0, 404, "no recorder handle was given");
    assert_eq!(get(addr, "/nothing").await.0, 404);

    if let Some(browser) = chromium() {
        let profile = tempfile::tempdir().unwrap();
        let url = format!("http://{addr}/");
        let output = tokio::time::timeout(
            Duration::from_secs(120),
            tokio::process::Command::new(&browser)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--dump-dom",
                ])
                .arg(format!("--user-data-dir={}", profile.path().display()))
                .arg(&url)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("chromium did not finish in 2 minutes")
        .unwrap();
        assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
        let dom = String::from_utf8(output.stdout).unwrap();
        // The DOM Chromium built: every section, each row where it belongs, the markup name as text.
        for needle in [
            r#"<section id="summary">"#,
            r#"<tr data-kind="chunk"><td>chunk</td><td>1</td><td>42.0 s</td>"#,
            r#"<tr data-kind="aggregation"><td>aggregation</td><td>1</td><td>4m 32s</td>"#,
            r#"<tr data-worker="gpu-1" class="proving">"#,
            r#"<td>NVIDIA H100 80GB HBM3</td>"#,
            r#"<tr data-batch="1" class="finalized">"#,
            r#"<td>1 / 1</td>"#,
            r#"<tr data-batch="2" class="proving">"#,
            "&lt;script&gt;alert(1)&lt;/script&gt;",
        ] {
            assert!(dom.contains(needle), "{needle} not in the rendered page:\n{dom}");
        }
        assert!(!dom.contains("<script>"), "a script element was rendered");
        eprintln!("the status page rendered in {}", browser.display());
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
