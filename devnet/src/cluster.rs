//! The devnet's proving cluster: the batch verifier for the chosen circuit shape (made once and cached beside the
//! keys), and the `zkr-coordinator` and `zkr-prover` processes, each logging to its own file and stopped with the
//! devnet.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy::primitives::{Address, Bytes};
use eyre::{WrapErr, bail, eyre};
use zkr_circuits::keys::KeysConfig;
use zkr_protocol::ProofShape;

fn keys_config(shape: ProofShape, keys: &Path, fee_recipient: Address) -> KeysConfig {
    KeysConfig { dir: keys.to_path_buf(), shape, fee_recipient, dev_srs: true }
}

/// Makes sure the keys of `shape` are in `keys` (generated on the first run: minutes, gigabytes), the verifying keys
/// the coordinator loads included, and returns the creation code of the batch verifier's parts: read from
/// `keys/verifier-<shape>/` when a previous run made them, else generated from the aggregation circuit's verifying
/// key and compiled with solc 0.8.19 in as few parts as fit mainnet's code size limit (one for a thin final layer).
pub(crate) fn verifier_parts(shape: ProofShape, keys: &Path, fee_recipient: Address) -> eyre::Result<Vec<Bytes>> {
    let config = keys_config(shape, keys, fee_recipient);
    let verifier = zkr_circuits::keys::setup(&config)?;
    let dir = keys.join(format!("verifier-{}", shape.tag()));
    let part = |i: usize| dir.join(format!("part{i}.bin"));
    if part(0).is_file() {
        let mut parts = Vec::new();
        while part(parts.len()).is_file() {
            parts.push(Bytes::from(std::fs::read(part(parts.len()))?));
        }
        tracing::info!(parts = parts.len(), dir = %dir.display(), "batch verifier from an earlier run");
        return Ok(parts);
    }
    tracing::info!(
        keys = %keys.display(),
        "making the batch verifier from the aggregation circuit's verifying key"
    );
    let started = Instant::now();
    let source = verifier.batch.evm_verifier_source()?;
    let tools = zkr_devtools::Tools::from_env();
    let parts: Vec<Bytes> =
        zkr_circuits::evm::compile_to_fit(&source, |part| tools.compile_solc_0_8_19(part).map_err(eyre::Report::from))
            .wrap_err("compiling the generated verifier")?
            .into_iter()
            .map(Bytes::from)
            .collect();
    // Written to a temporary folder and renamed, so an interrupted run leaves no partial verifier behind.
    let partial = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial)?;
    for (i, code) in parts.iter().enumerate() {
        std::fs::write(partial.join(format!("part{i}.bin")), code)?;
    }
    std::fs::rename(&partial, &dir)?;
    tracing::info!(parts = parts.len(), took = ?started.elapsed(), "batch verifier made");
    Ok(parts)
}

/// A process the devnet started: asked to stop with SIGTERM (workers hand their leases back), killed if it has not
/// stopped within a few seconds, and never left running when the devnet exits.
#[derive(Debug)]
pub(crate) struct Process {
    pub(crate) name: String,
    pub(crate) log: PathBuf,
    child: Child,
}

impl Process {
    pub(crate) fn spawn(name: &str, command: &mut Command, logs: &Path) -> eyre::Result<Self> {
        let log = logs.join(format!("{name}.log"));
        let file = File::create(&log).wrap_err_with(|| format!("creating {}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info,zkevm_hashes=warn".into()))
            .spawn()
            .wrap_err_with(|| format!("starting {name} ({:?})", command.get_program()))?;
        Ok(Self { name: name.to_owned(), log, child })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` once the process has exited.
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub(crate) fn stop(&mut self, grace: Duration) {
        if self.exited().is_some() {
            return;
        }
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The cluster's binaries, built beside the devnet's own (`scripts/devnet.sh` builds all three).
pub(crate) fn binary(name: &str) -> eyre::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().ok_or_else(|| eyre!("the devnet's executable has no folder"))?;
    let path = dir.join(name);
    if !path.is_file() {
        bail!(
            "{} is missing: build it with `cargo build -p zkr-coordinator -p zkr-gpu-prover` (scripts/devnet.sh does)",
            path.display()
        );
    }
    Ok(path)
}

/// A bearer token from the system's randomness.
pub(crate) fn random_token() -> eyre::Result<String> {
    use std::io::Read as _;
    let mut bytes = [0u8; 24];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
