//! Helpers of the end-to-end tests (in `tests/`): the chain rig, the proving cluster's processes and clients, the
//! generated verifier's compilation, and the workspace's binaries.

pub mod cluster;
mod rig;

pub use rig::{ETH, GWEI, Rig, Settlement, signed_transfer, wait_for};

use std::process::Command;

use alloy::primitives::Bytes;
use eyre::{Context, bail};
use zkr_devtools::Tools;

/// Compiles the generated halo2 verifier (which pins solc 0.8.19) and returns its creation bytecode. The bytecode is
/// cached beside the keys ([`cluster::keys_dir`]), named by the source's hash: solc-js takes tens of seconds per part,
/// and every end-to-end test deploys the same verifier.
pub fn compile_generated_verifier(source: &str) -> eyre::Result<Bytes> {
    let dir = cluster::keys_dir().join("compiled-verifiers");
    let path = dir.join(format!("{}.bin", alloy::hex::encode(&alloy::primitives::keccak256(source)[..12])));
    if let Ok(code) = std::fs::read(&path) {
        return Ok(code.into());
    }
    let code = Tools::from_env().compile_solc_0_8_19(source)?;
    std::fs::create_dir_all(&dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    // Written aside and renamed, so a test running beside this one never reads half a file.
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    std::fs::write(&partial, &code).wrap_err_with(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, &path).wrap_err_with(|| format!("writing {}", path.display()))?;
    Ok(code.into())
}

/// Builds the workspace binaries `bins` (debug profile) and returns their paths, in order. End-to-end tests run the
/// real processes; cargo only provides `CARGO_BIN_EXE_*` for a package's own binaries.
pub fn workspace_binaries(bins: &[&str]) -> eyre::Result<Vec<std::path::PathBuf>> {
    let root = zkr_devtools::workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(&root).args(["build", "--locked", "--quiet"]);
    for bin in bins {
        command.args(["--bin", bin]);
    }
    let status = command.status().wrap_err("running cargo build")?;
    if !status.success() {
        bail!("cargo build of {bins:?} failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), std::path::PathBuf::from);
    Ok(bins.iter().map(|bin| target.join("debug").join(bin)).collect())
}
