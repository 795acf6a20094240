use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The workspace root, where `.tools/`, `contracts/` and `scripts/` live.
///
/// Taken from this crate's location at build time, which is right for tests and for binaries run from the checkout
/// (the only places the local toolchain is used).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// The pinned toolchain installed by `scripts/setup.sh`.
#[derive(Debug, Clone)]
pub struct Tools {
    dir: PathBuf,
}

impl Default for Tools {
    fn default() -> Self {
        Self::from_env()
    }
}

impl Tools {
    /// The toolchain in `$ZKR_TOOLS_DIR`, or else in `.tools/` at the workspace root.
    pub fn from_env() -> Self {
        let dir =
            std::env::var_os("ZKR_TOOLS_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join(".tools"));
        Self::at(dir)
    }

    /// The toolchain installed in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder the tools are installed in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The anvil binary.
    pub fn anvil(&self) -> Result<PathBuf> {
        self.bin("anvil")
    }

    /// The forge binary.
    pub fn forge(&self) -> Result<PathBuf> {
        self.bin("forge")
    }

    /// The cast binary.
    pub fn cast(&self) -> Result<PathBuf> {
        self.bin("cast")
    }

    /// The `solc` command for the project's contracts (solc-js 0.8.30).
    pub fn solc(&self) -> Result<PathBuf> {
        self.bin("solc")
    }

    /// A folder whose only entry is a `solc` command for solc-js 0.8.19, the version the generated halo2
    /// verifiers pin. Put it first on `PATH` for tools that call `solc` themselves.
    pub fn solc_0_8_19_dir(&self) -> Result<PathBuf> {
        let dir = self.dir.join("solc-0.8.19");
        Self::existing("solc-0.8.19", dir.join("solc")).map(|_| dir)
    }

    /// Compiles `source` with solc 0.8.19 (the version the generated halo2 verifiers pin), without the optimizer,
    /// and returns the creation bytecode of its one contract. solc-js's optimizer runs out of memory on the
    /// generated verifiers (DESIGN.md).
    pub fn compile_solc_0_8_19(&self, source: &str) -> Result<Vec<u8>> {
        use std::io::Write as _;
        let solc = self.solc_0_8_19_dir()?.join("solc");
        let io = |source| Error::Io { name: "solc", source };
        let mut child = std::process::Command::new(&solc)
            .args(["--bin", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(io)?;
        child.stdin.take().ok_or_else(|| Error::Solc("no stdin".into()))?.write_all(source.as_bytes()).map_err(io)?;
        let output = child.wait_with_output().map_err(io)?;
        if !output.status.success() {
            return Err(Error::Solc(String::from_utf8_lossy(&output.stderr).into_owned()));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let hex = stdout
            .lines()
            .skip_while(|line| !line.starts_with("Binary:"))
            .nth(1)
            .ok_or_else(|| Error::Solc("no bytecode in its output".into()))?
            .trim();
        decode_hex(hex).ok_or_else(|| Error::Solc("its bytecode is not hex".into()))
    }

    fn bin(&self, name: &'static str) -> Result<PathBuf> {
        Self::existing(name, self.dir.join("bin").join(name))
    }

    fn existing(name: &'static str, path: PathBuf) -> Result<PathBuf> {
        if path.is_file() { Ok(path) } else { Err(Error::ToolMissing { name, path }) }
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    let hex = hex.strip_prefix("0x").unwrap_or(hex);
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tool_says_how_to_install() {
        let tools = Tools::at("/nonexistent/tools");
        let err = tools.anvil().unwrap_err();
        assert!(err.is_setup_missing());
        assert!(err.to_string().contains("scripts/setup.sh"), "{err}");
        assert!(tools.solc_0_8_19_dir().unwrap_err().is_setup_missing());
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("scripts/setup.sh").is_file());
    }
}
