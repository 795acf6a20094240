//! The proving cluster's real processes in tests: `zkr-coordinator` and `zkr-prover` as children, the files they
//! read, and gRPC clients that speak to them with the cluster's token.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use tonic::{Request, Status, service::interceptor::InterceptedService, transport::Channel};
use zkr_devtools::workspace_root;
pub use zkr_devtools::{Process, free_port};
use zkr_protos::v1::{self as pb, operator_client::OperatorClient, prover_coordinator_client::ProverCoordinatorClient};

use crate::Rig;

/// The bearer token the test clusters use.
pub const TOKEN: &str = "cluster-test-token";

/// Where keys and the development SRS are cached across runs: `target/zkr-e2e-keys`, or `ZKR_E2E_KEYS_DIR`. The
/// first run that needs them spends about 6 minutes making them.
pub fn keys_dir() -> PathBuf {
    std::env::var_os("ZKR_E2E_KEYS_DIR").map_or_else(|| workspace_root().join("target/zkr-e2e-keys"), PathBuf::from)
}

/// Writes what the cluster's processes read into `dir`: `token`, `genesis.json` and the deployment (`l1.json`).
pub fn write_files(dir: &Path, rig: &Rig) {
    let genesis = serde_json::to_vec(&rig.spec.genesis()).unwrap_or_else(|e| panic!("encoding the genesis: {e}"));
    std::fs::write(dir.join("token"), TOKEN).unwrap_or_else(|e| panic!("writing the token: {e}"));
    std::fs::write(dir.join("genesis.json"), genesis).unwrap_or_else(|e| panic!("writing the genesis: {e}"));
    rig.deployment.save(dir.join("l1.json")).unwrap_or_else(|e| panic!("writing the deployment: {e}"));
}

/// A coordinator (of the deployment's shape, `ProofShape::CI` for the rig) on `grpc` and `http`, over the
/// store `db` (an SQLite path or a Postgres URL), with the files [`write_files`] put in `dir`. It finalizes with
/// anvil's key 3.
pub fn coordinator(
    name: &'static str,
    bin: &Path,
    dir: &Path,
    rig: &Rig,
    (grpc, http): (u16, u16),
    db: &str,
) -> Process {
    Process::spawn(
        name,
        Command::new(bin)
            .args(["run", "--auth.token-file"])
            .arg(dir.join("token"))
            .arg("--deployment")
            .arg(dir.join("l1.json"))
            .arg("--genesis")
            .arg(dir.join("genesis.json"))
            .args(["--db", db])
            .arg("--keys.dir")
            .arg(keys_dir())
            .args(["--jobs.lease-ttl-ms", "20000", "--l1.poll-ms", "300"])
            .arg(format!("--grpc.addr=127.0.0.1:{grpc}"))
            .arg(format!("--http.addr=127.0.0.1:{http}"))
            .arg(format!("--l1.rpc-url={}", rig.anvil.endpoint()))
            .env("ZKR_COORDINATOR_L1__SIGNER_KEY", format!("0x{}", alloy::hex::encode(rig.keys[3].to_bytes())))
            .env("RUST_LOG", "info,zkevm_hashes=warn"),
    )
}

/// A gRPC client's channel with the cluster's token on every call.
pub type Authed = InterceptedService<Channel, fn(Request<()>) -> Result<Request<()>, Status>>;

/// Puts the cluster's token on a call.
pub fn with_token(mut request: Request<()>) -> Result<Request<()>, Status> {
    let value = format!("Bearer {TOKEN}").parse().map_err(|_| Status::internal("token"))?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

/// A channel to a coordinator's gRPC port, once it listens.
pub async fn channel(grpc: u16) -> Option<Channel> {
    Channel::from_shared(format!("http://127.0.0.1:{grpc}")).ok()?.connect().await.ok()
}

/// The operator service, once the coordinator listens.
pub async fn operator(grpc: u16) -> Option<OperatorClient<Authed>> {
    Some(OperatorClient::with_interceptor(channel(grpc).await?, with_token as fn(_) -> _))
}

/// A worker session that is not a `zkr-prover`: the test speaks the protocol itself (and may lie). It sends messages
/// of any size (its own encoding limit is lifted) and takes chunk jobs only.
pub async fn rogue(grpc: u16) -> (ProverCoordinatorClient<Authed>, String) {
    let channel = channel(grpc).await.unwrap_or_else(|| panic!("no coordinator on port {grpc}"));
    let mut client = ProverCoordinatorClient::with_interceptor(channel, with_token as fn(_) -> _)
        .max_encoding_message_size(usize::MAX);
    let registered = client
        .register(pb::RegisterRequest {
            name: "rogue".into(),
            backend: pb::Backend::Cpu as i32,
            memory_bytes: 1 << 30,
            version: "test".into(),
            kinds: vec![pb::JobKind::Chunk as i32],
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("registering the rogue: {e}"))
        .into_inner();
    (client, registered.worker_id)
}

/// A job of batch `batch` as the operator service lists it.
pub async fn job(grpc: u16, batch: u64, id: &str) -> Option<pb::JobInfo> {
    let mut client = operator(grpc).await?;
    let jobs = client.list_jobs(pb::ListJobsRequest { state: 0, batch_index: Some(batch), limit: 10 }).await.ok()?;
    jobs.into_inner().jobs.into_iter().find(|j| j.job_id == id)
}
