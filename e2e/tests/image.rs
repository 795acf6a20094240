//! The container image, run from its own file system: each binary starts from the image's root file system, reads
//! the TOML configuration an operator (or the Helm chart) gives it, and answers the health check the image declares,
//! run with the image's own `zkr-healthcheck`.
//!
//! - `zkr-coordinator run --config`: anvil, the contracts and the chain's files from the rig, the compiled verifying
//!   keys of CI's shape; `/healthz` on its HTTP port and gRPC health on its gRPC port.
//! - `zkr-node --dev --config`: `/healthz` on its JSON-RPC port.
//! - `zkr-prover --config` with `backend = "auto"`: there is no CUDA library in the image (the NVIDIA runtime mounts
//!   the host's), so it registers with the coordinator on the CPU backend; its metrics endpoint answers.
//!
//! `podman run` is refused on the development and CI machines (the sandbox lacks CAP_SYS_RESOURCE), so the processes
//! run under `chroot --userspec=10001:10001`, the image's user, with the image's libraries and loader. The root file
//! system comes from `scripts/images.sh rootfs --profile debug DIR` (unpacked from the committed image); the test
//! reads it from `ZKR_IMAGE_ROOT`, which `scripts/test.sh` sets (and `ZKR_REQUIRE_IMAGE`, so a missing one fails).

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::{path::PathBuf, process::Stdio, time::Duration};

use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use zkr_circuits::keys::KeysConfig;
use zkr_e2e::{
    Rig,
    cluster::{self, Launcher, Process, free_port, keys_dir, write_files},
    wait_for,
};
use zkr_node::ChainSpec;
use zkr_protocol::ProofShape;
use zkr_protos::v1 as pb;

/// The image's root file system, or `None` (skipping) where none was made and none is required.
fn image_root() -> Option<PathBuf> {
    match std::env::var_os("ZKR_IMAGE_ROOT") {
        Some(root) => Some(PathBuf::from(root)),
        None => {
            assert!(
                std::env::var_os("ZKR_REQUIRE_IMAGE").is_none(),
                "ZKR_IMAGE_ROOT is not set: run scripts/images.sh rootfs --profile debug DIR and point it there"
            );
            eprintln!("SKIPPED: no image root file system (ZKR_IMAGE_ROOT)");
            None
        }
    }
}

/// Whether the image's own health check passes for `url`.
async fn healthy(image: &Launcher, url: String) -> Option<()> {
    let mut command = image.command("zkr-healthcheck");
    command.arg(url).stderr(Stdio::null());
    let status = tokio::task::spawn_blocking(move || command.status()).await.ok()?.ok()?;
    status.success().then_some(())
}

#[tokio::test(flavor = "multi_thread")]
async fn each_binary_answers_its_health_check_from_the_images_file_system() {
    let Some(root) = image_root() else { return };
    assert!(root.join("usr/local/bin/zkr-healthcheck").is_file(), "{} is not the image's root", root.display());
    let image = Launcher::image(root);
    let spec = ChainSpec::dev();
    let keys = KeysConfig { dir: keys_dir(), shape: ProofShape::CI, fee_recipient: spec.fee_recipient, dev_srs: true };
    // Cached in target/zkr-e2e-keys, shared with the cluster test; made here when this test runs first.
    tokio::task::spawn_blocking(move || zkr_circuits::keys::setup(&keys).map(drop)).await.unwrap().unwrap();
    let rig = Rig::start(spec, &[], ProofShape::CI).await.unwrap();

    // The files the binaries read, inside the image's root (the keys linked in).
    let dir = image.work_dir();
    write_files(dir.path(), &rig);
    let inside = dir.inside_dir().to_owned();

    let (grpc, http) = (free_port(), free_port());
    std::fs::write(
        dir.path().join("coordinator.toml"),
        format!(
            r#"deployment = "{inside}/l1.json"
genesis = "{inside}/genesis.json"
db = "{inside}/coordinator.sqlite"
[keys]
dir = "{keys}"
[auth]
token_file = "{inside}/token"
[grpc]
addr = "127.0.0.1:{grpc}"
[http]
addr = "127.0.0.1:{http}"
[l1]
rpc_url = "{l1}"
poll_ms = 300
"#,
            inside = inside.display(),
            keys = dir.keys().display(),
            l1 = rig.anvil.endpoint(),
        ),
    )
    .unwrap();
    let coordinator = Process::spawn(
        "zkr-coordinator (image)",
        image
            .command("zkr-coordinator")
            .args(["run", "--config"])
            .arg(inside.join("coordinator.toml"))
            .env("ZKR_COORDINATOR_L1__SIGNER_KEY", format!("0x{}", alloy::hex::encode(rig.keys[3].to_bytes())))
            .env("RUST_LOG", "info"),
    );
    wait_for("the coordinator's /healthz from the image", Duration::from_secs(120), || {
        healthy(&image, format!("http://127.0.0.1:{http}/healthz"))
    })
    .await;
    let serving = wait_for("the coordinator's gRPC health", Duration::from_secs(30), || async move {
        let mut health = HealthClient::new(cluster::channel(grpc).await?);
        let request = HealthCheckRequest { service: "zkr.prover.v1.ProverCoordinator".into() };
        Some(health.check(request).await.ok()?.into_inner().status)
    })
    .await;
    assert_eq!(serving, ServingStatus::Serving as i32);

    let (rpc, node_metrics) = (free_port(), free_port());
    std::fs::write(
        dir.path().join("node.toml"),
        format!(
            "data_dir = \"{inside}/node\"\n[rpc]\naddr = \"127.0.0.1:{rpc}\"\n[metrics]\naddr = \"127.0.0.1:{node_metrics}\"\n",
            inside = inside.display()
        ),
    )
    .unwrap();
    let node = Process::spawn(
        "zkr-node (image)",
        image.command("zkr-node").args(["--dev", "--config"]).arg(inside.join("node.toml")).stdout(Stdio::null()),
    );
    wait_for("the node's /healthz from the image", Duration::from_secs(60), || {
        healthy(&image, format!("http://127.0.0.1:{rpc}/healthz"))
    })
    .await;

    let prover_metrics = free_port();
    std::fs::write(
        dir.path().join("prover.toml"),
        format!(
            r#"name = "image-worker"
backend = "auto"
kinds = ["chunk"]
[coordinator]
url = "http://127.0.0.1:{grpc}"
[auth]
token_file = "{inside}/token"
[keys]
dir = "{keys}"
[metrics]
addr = "127.0.0.1:{prover_metrics}"
"#,
            inside = inside.display(),
            keys = dir.keys().display()
        ),
    )
    .unwrap();
    let prover = Process::spawn(
        "zkr-prover (image)",
        image.command("zkr-prover").arg("--config").arg(inside.join("prover.toml")),
    );
    wait_for("the worker's metrics from the image", Duration::from_secs(60), || {
        healthy(&image, format!("http://127.0.0.1:{prover_metrics}/metrics"))
    })
    .await;
    // Without a CUDA library in the image, `auto` falls back to the CPU backend and registers as such.
    let worker = wait_for("the image's worker registered", Duration::from_secs(120), || async move {
        let status = cluster::operator(grpc).await?.status(pb::StatusRequest {}).await.ok()?.into_inner();
        status.workers.into_iter().find(|w| w.name == "image-worker" && w.connected)
    })
    .await;
    assert_eq!(worker.backend, pb::Backend::Cpu as i32, "{worker:?}");

    drop((prover, node, coordinator));
}
