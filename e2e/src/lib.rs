//! Helpers of the end-to-end tests (in `tests/`): the chain rig, the generated verifier's compilation, and the
//! workspace's binaries.

mod rig;

pub use rig::{ETH, GWEI, Rig, signed_transfer, wait_for};

use std::{
    io::Write,
    process::{Command, Stdio},
};

use alloy::primitives::Bytes;
use eyre::{Context, bail, eyre};
use zkr_devtools::Tools;

/// Compiles the generated halo2 verifier (which pins solc 0.8.19) and returns its creation bytecode.
///
/// solc-js's optimizer runs out of memory on these contracts, so the code is compiled without it.
pub fn compile_generated_verifier(source: &str) -> eyre::Result<Bytes> {
    let solc = Tools::from_env().solc_0_8_19_dir().wrap_err("solc 0.8.19 (run scripts/setup.sh)")?.join("solc");
    let mut child = Command::new(&solc)
        .args(["--bin", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .wrap_err_with(|| format!("running {}", solc.display()))?;
    child.stdin.take().ok_or_else(|| eyre!("solc stdin"))?.write_all(source.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("solc failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let stdout = String::from_utf8(output.stdout)?;
    let hex = stdout
        .lines()
        .skip_while(|line| !line.starts_with("Binary:"))
        .nth(1)
        .ok_or_else(|| eyre!("no bytecode in solc's output"))?;
    hex.trim().parse::<Bytes>().wrap_err("solc's bytecode")
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
