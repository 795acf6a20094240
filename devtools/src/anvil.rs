use std::{
    ffi::OsString,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use crate::{Error, Result, Tools};

/// How long anvil may take to start listening.
const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Configures and starts an anvil process.
///
/// Anvil runs with mainnet rules: in particular its default 24,576-byte contract size limit is kept, so whatever
/// deploys here deploys on Ethereum.
#[derive(Debug, Clone)]
pub struct Anvil {
    program: Option<PathBuf>,
    host: String,
    port: u16,
    chain_id: Option<u64>,
    block_time: Option<u64>,
    args: Vec<OsString>,
    startup_timeout: Duration,
}

impl Default for Anvil {
    fn default() -> Self {
        Self::new()
    }
}

impl Anvil {
    /// Anvil from the project's toolchain, on a free loopback port, mining a block per transaction.
    pub fn new() -> Self {
        Self {
            program: None,
            host: "127.0.0.1".into(),
            port: 0,
            chain_id: None,
            block_time: None,
            args: Vec::new(),
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
        }
    }

    /// Runs this anvil binary instead of the one in the project's toolchain.
    pub fn program(mut self, path: impl Into<PathBuf>) -> Self {
        self.program = Some(path.into());
        self
    }

    /// Listens on this address (default 127.0.0.1).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// Listens on this port; 0 (the default) lets the kernel pick a free one.
    pub const fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Uses this chain id (anvil's default is 31337).
    pub const fn chain_id(mut self, chain_id: u64) -> Self {
        self.chain_id = Some(chain_id);
        self
    }

    /// Mines a block every `seconds` instead of one per transaction.
    pub const fn block_time(mut self, seconds: u64) -> Self {
        self.block_time = Some(seconds);
        self
    }

    /// Passes an extra argument to anvil.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// How long to wait for anvil to listen (default 30 s).
    pub const fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Starts anvil and waits until it listens. The process is killed when the returned instance is dropped.
    pub fn spawn(self) -> Result<AnvilInstance> {
        let program = match self.program {
            Some(path) => path,
            None => Tools::from_env().anvil()?,
        };
        let mut cmd = Command::new(&program);
        cmd.arg("--host").arg(&self.host).arg("--port").arg(self.port.to_string());
        if let Some(chain_id) = self.chain_id {
            cmd.arg("--chain-id").arg(chain_id.to_string());
        }
        if let Some(block_time) = self.block_time {
            cmd.arg("--block-time").arg(block_time.to_string());
        }
        cmd.args(&self.args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());

        let io = |source| Error::Io { name: "anvil", source };
        let mut child = cmd.spawn().map_err(io)?;
        // From here on `guard` kills anvil on every early return.
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut guard = ChildGuard(Some(child));

        let (tx, rx) = mpsc::channel();
        forward_lines(stdout, Some(tx.clone()));
        forward_lines(stderr, Some(tx));

        let deadline = Instant::now() + self.startup_timeout;
        let mut banner = Banner::default();
        let mut output = String::new();
        let addr = loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(remaining) {
                Ok(line) => {
                    output.push_str(&line);
                    output.push('\n');
                    if let Some(addr) = banner.feed(&line) {
                        break addr;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(Error::AnvilTimeout { timeout: self.startup_timeout });
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error::AnvilExited { output });
                }
            }
        };

        let child = guard.0.take().expect("child is still owned");
        let port = addr.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(self.port);
        let instance = AnvilInstance {
            child,
            endpoint: format!("http://{addr}"),
            port,
            chain_id: banner.chain_id.unwrap_or(31337),
            private_keys: banner.private_keys,
            accounts: banner.accounts,
        };
        tracing::debug!(target: "devtools::anvil", endpoint = %instance.endpoint, "anvil listening");
        Ok(instance)
    }
}

/// A running anvil process, killed when dropped (also when a test fails and unwinds).
#[derive(Debug)]
pub struct AnvilInstance {
    child: Child,
    endpoint: String,
    port: u16,
    chain_id: u64,
    private_keys: Vec<String>,
    accounts: Vec<String>,
}

impl AnvilInstance {
    /// The HTTP JSON-RPC endpoint, e.g. `http://127.0.0.1:38761`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The port anvil listens on.
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// The chain id.
    pub const fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The funded development accounts' private keys (0x-prefixed hex), in anvil's order.
    pub fn private_keys(&self) -> &[String] {
        &self.private_keys
    }

    /// The funded development accounts' addresses (0x-prefixed hex), in anvil's order.
    pub fn accounts(&self) -> &[String] {
        &self.accounts
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for AnvilInstance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills a child that never became an [`AnvilInstance`].
struct ChildGuard(Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Reads a child's output line by line: sends lines to `tx` while someone listens, then logs them. Draining the
/// pipe for the child's whole life keeps anvil from blocking once the pipe buffer fills.
fn forward_lines(stream: impl std::io::Read + Send + 'static, mut tx: Option<mpsc::Sender<String>>) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(sender) = &tx
                && sender.send(line.clone()).is_err()
            {
                tx = None;
            }
            tracing::trace!(target: "devtools::anvil", "{line}");
        }
    });
}

/// What anvil prints before it listens, parsed line by line.
#[derive(Debug, Default)]
struct Banner {
    section: Section,
    private_keys: Vec<String>,
    accounts: Vec<String>,
    chain_id: Option<u64>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Section {
    #[default]
    Other,
    Accounts,
    PrivateKeys,
    ChainId,
}

impl Banner {
    /// Takes one line; returns the listening address once it appears.
    fn feed(&mut self, line: &str) -> Option<String> {
        let line = line.trim();
        if let Some(addr) = line.strip_prefix("Listening on ") {
            return Some(addr.trim().to_string());
        }
        match line {
            "Available Accounts" => self.section = Section::Accounts,
            "Private Keys" => self.section = Section::PrivateKeys,
            "Chain ID" => self.section = Section::ChainId,
            "" => {}
            _ if line.chars().all(|c| c == '=') => {}
            _ => match self.section {
                Section::Accounts | Section::PrivateKeys => {
                    // "(0) 0xabc... (10000.000000000000000000 ETH)"
                    if let Some(value) = line.split_whitespace().nth(1).filter(|v| v.starts_with("0x")) {
                        if self.section == Section::Accounts {
                            self.accounts.push(value.to_string());
                        } else {
                            self.private_keys.push(value.to_string());
                        }
                    } else {
                        self.section = Section::Other;
                    }
                }
                Section::ChainId => {
                    self.chain_id = line.parse().ok();
                    self.section = Section::Other;
                }
                Section::Other => {}
            },
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_banner() {
        let text = "\
Available Accounts
==================

(0) 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 (10000.000000000000000000 ETH)
(1) 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 (10000.000000000000000000 ETH)

Private Keys
==================

(0) 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
(1) 0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d

Wallet
==================
Mnemonic:          test test test test test test test test test test test junk

Chain ID
==================

31337

Listening on 127.0.0.1:38761";
        let mut banner = Banner::default();
        let addr = text.lines().find_map(|l| banner.feed(l));
        assert_eq!(addr.as_deref(), Some("127.0.0.1:38761"));
        assert_eq!(banner.accounts.len(), 2);
        assert_eq!(banner.accounts[1], "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
        assert_eq!(banner.private_keys.len(), 2);
        assert!(banner.private_keys[0].starts_with("0xac0974"));
        assert_eq!(banner.chain_id, Some(31337));
    }

    #[test]
    fn spawn_reports_a_missing_binary() {
        let err = Anvil::new().program("/nonexistent/anvil").spawn().unwrap_err();
        assert!(matches!(err, Error::Io { name: "anvil", .. }), "{err}");
    }

    #[test]
    fn spawn_reports_an_early_exit() {
        // `false` exits at once without printing: the error must say so rather than hang.
        let err = Anvil::new().program("/bin/false").spawn().unwrap_err();
        assert!(matches!(err, Error::AnvilExited { .. }), "{err}");
    }
}
