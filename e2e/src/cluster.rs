//! The proving cluster's real processes in tests: `zkr-coordinator` and `zkr-prover` as children, the files they
//! read, and gRPC clients that speak to them with the cluster's token.
//!
//! The processes run from the workspace's debug binaries, or from the container image's own root file system when
//! `ZKR_IMAGE_ROOT` names one (`scripts/images.sh rootfs`; `scripts/test.sh` sets it): then each runs under
//! `chroot` as the image's user, with the image's libraries, and the files it reads lie inside that root.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
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

/// The creation code of the batch verifier's parts for `ProofShape::CI` and `spec`'s fee recipient
/// ([`verifier_parts`]).
pub async fn ci_verifier_parts(spec: &zkr_node::ChainSpec) -> Vec<alloy::primitives::Bytes> {
    verifier_parts(spec, zkr_protocol::ProofShape::CI).await
}

/// The creation code of the batch verifier's parts for `shape` and `spec`'s fee recipient: the keys made (or read
/// from [`keys_dir`]), the EVM verifier generated from the batch proof's key, compiled (cached,
/// [`crate::compile_generated_verifier`]) in as few parts as fit mainnet's code size limit
/// ([`zkr_circuits::evm::compile_to_fit`]). The keys are dropped before this returns.
pub async fn verifier_parts(
    spec: &zkr_node::ChainSpec,
    shape: zkr_protocol::ProofShape,
) -> Vec<alloy::primitives::Bytes> {
    let config =
        zkr_circuits::keys::KeysConfig { dir: keys_dir(), shape, fee_recipient: spec.fee_recipient, dev_srs: true };
    let source = tokio::task::spawn_blocking(move || {
        let verifier =
            zkr_circuits::keys::setup(&config).unwrap_or_else(|e| panic!("the keys of {}: {e}", shape.tag()));
        verifier.batch.evm_verifier_source().unwrap_or_else(|e| panic!("the generated verifier: {e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("key setup: {e}"));
    zkr_circuits::evm::compile_to_fit(&source, |part| crate::compile_generated_verifier(part).map(|code| code.to_vec()))
        .unwrap_or_else(|e: eyre::Report| panic!("compiling the generated verifier: {e}"))
        .into_iter()
        .map(alloy::primitives::Bytes::from)
        .collect()
}

/// The image's user.
pub const IMAGE_UID: u32 = 10001;

/// Where the cluster's binaries come from: the workspace's debug build, or the image's root file system.
#[derive(Debug)]
pub struct Launcher {
    root: Option<PathBuf>,
    binaries: Vec<PathBuf>,
}

impl Launcher {
    /// The image's root from `ZKR_IMAGE_ROOT` when it is set, else the workspace's `binaries`, built first.
    pub fn new(binaries: &[&str]) -> eyre::Result<Self> {
        match std::env::var_os("ZKR_IMAGE_ROOT") {
            Some(root) => Ok(Self::image(PathBuf::from(root))),
            None => Ok(Self { root: None, binaries: crate::workspace_binaries(binaries)? }),
        }
    }

    /// The image's root file system at `root`.
    pub fn image(root: PathBuf) -> Self {
        Self { root: Some(root), binaries: Vec::new() }
    }

    /// The image's root, when the processes run from it.
    pub fn image_root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// A command that runs `binary` (`zkr-coordinator`, `zkr-prover`, ...).
    pub fn command(&self, binary: &str) -> Command {
        let mut command = match &self.root {
            Some(root) => {
                let mut command = Command::new("chroot");
                command
                    .arg(format!("--userspec={IMAGE_UID}:{IMAGE_UID}"))
                    .arg(root)
                    .arg(format!("/usr/local/bin/{binary}"));
                command
            }
            None => {
                let path = self.binaries.iter().find(|path| path.ends_with(binary));
                Command::new(path.unwrap_or_else(|| panic!("{binary} was not built for this test")))
            }
        };
        command.stdin(Stdio::null());
        command
    }

    /// A fresh folder for the processes' files: a temporary folder, inside the image's root (owned by its user) when
    /// the processes run from the image. The cached keys are reachable from it ([`WorkDir::keys`]).
    pub fn work_dir(&self) -> WorkDir {
        let Some(root) = &self.root else {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary folder: {e}"));
            let inside = dir.path().to_owned();
            return WorkDir { dir, inside, keys: keys_dir() };
        };
        let dir = tempfile::Builder::new()
            .prefix("zkr-e2e-")
            .tempdir_in(root.join("tmp"))
            .unwrap_or_else(|e| panic!("a folder in the image's /tmp: {e}"));
        let owned = |path: &Path| {
            std::os::unix::fs::chown(path, Some(IMAGE_UID), Some(IMAGE_UID))
                .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
        };
        owned(dir.path());
        let inside = Path::new("/").join(dir.path().strip_prefix(root).unwrap_or_else(|e| panic!("{e}")));
        // The keys are gigabytes: hard links (the image's root is built under target/, beside them), copies elsewhere.
        let keys = dir.path().join("keys");
        std::fs::create_dir(&keys).unwrap_or_else(|e| panic!("creating {}: {e}", keys.display()));
        owned(&keys);
        for entry in std::fs::read_dir(keys_dir()).unwrap_or_else(|e| panic!("reading the cached keys: {e}")) {
            let path = entry.unwrap_or_else(|e| panic!("reading the cached keys: {e}")).path();
            if path.is_file() {
                let target = keys.join(path.file_name().unwrap_or_default());
                std::fs::hard_link(&path, &target)
                    .or_else(|_| std::fs::copy(&path, &target).map(drop))
                    .unwrap_or_else(|e| panic!("linking {} into the image's root: {e}", path.display()));
            }
        }
        WorkDir { keys: inside.join("keys"), dir, inside }
    }
}

/// A folder the cluster's processes read and write, removed when dropped.
#[derive(Debug)]
pub struct WorkDir {
    dir: tempfile::TempDir,
    inside: PathBuf,
    keys: PathBuf,
}

impl WorkDir {
    /// The folder as the test sees it.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The folder, as the processes see it.
    pub fn inside_dir(&self) -> &Path {
        &self.inside
    }

    /// `name` in the folder, as the processes see it.
    pub fn inside(&self, name: &str) -> PathBuf {
        self.inside.join(name)
    }

    /// The keys folder, as the processes see it.
    pub fn keys(&self) -> &Path {
        &self.keys
    }
}

/// Writes what the cluster's processes read into `dir`: `token`, `genesis.json` and the deployment (`l1.json`).
pub fn write_files(dir: &Path, rig: &Rig) {
    let genesis = serde_json::to_vec(&rig.spec.genesis()).unwrap_or_else(|e| panic!("encoding the genesis: {e}"));
    std::fs::write(dir.join("token"), TOKEN).unwrap_or_else(|e| panic!("writing the token: {e}"));
    std::fs::write(dir.join("genesis.json"), genesis).unwrap_or_else(|e| panic!("writing the genesis: {e}"));
    rig.deployment.save(dir.join("l1.json")).unwrap_or_else(|e| panic!("writing the deployment: {e}"));
}

/// A coordinator (of the deployment's shape, `ProofShape::CI` for the rig) on `grpc` and `http`, over the
/// store `db` (an SQLite path as the process sees it, or a Postgres URL), with the files [`write_files`] put in
/// `work`. It finalizes with anvil's key 3.
pub fn coordinator(
    name: &'static str,
    launcher: &Launcher,
    work: &WorkDir,
    rig: &Rig,
    (grpc, http): (u16, u16),
    db: &str,
) -> Process {
    Process::spawn(
        name,
        launcher
            .command("zkr-coordinator")
            .args(["run", "--auth.token-file"])
            .arg(work.inside("token"))
            .arg("--deployment")
            .arg(work.inside("l1.json"))
            .arg("--genesis")
            .arg(work.inside("genesis.json"))
            .args(["--db", db])
            .arg("--keys.dir")
            .arg(work.keys())
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
