//! Real Ethereum client libraries against the real `zkr-node --dev` binary: ethers v6, viem and web3.py (pinned in
//! `node/tests/clients/`, installed by `scripts/clients.sh`) send each transaction type, wait for receipts with their
//! own waiting logic, estimate, hit each refusal and check the error class they raise, subscribe over websocket and
//! use filters. Each script prints one line per check.
//!
//! Without the libraries installed the test says so and passes, unless `ZKR_REQUIRE_CLIENTS` is set (as
//! `scripts/test.sh` does), where it fails.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use zkr_devtools::{Process, free_port, workspace_root};

/// Set to make a missing client library a failure rather than a skip.
const REQUIRE_CLIENTS: &str = "ZKR_REQUIRE_CLIENTS";

fn clients_dir() -> PathBuf {
    workspace_root().join("node/tests/clients")
}

fn python() -> PathBuf {
    std::env::var_os("ZKR_CLIENTS_VENV")
        .map_or_else(|| workspace_root().join(".tools/clients-venv"), PathBuf::from)
        .join("bin/python")
}

/// Whether the libraries are installed; panics when they must be.
fn installed() -> bool {
    let missing: Vec<String> =
        [clients_dir().join("node_modules/ethers"), clients_dir().join("node_modules/viem"), python()]
            .into_iter()
            .filter(|path| !path.exists())
            .map(|path| path.display().to_string())
            .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os(REQUIRE_CLIENTS).is_none(),
        "client libraries missing ({}): run scripts/clients.sh",
        missing.join(", ")
    );
    eprintln!("skipping: client libraries missing ({}); run scripts/clients.sh", missing.join(", "));
    false
}

/// Starts `zkr-node --dev` on free ports and returns it with its URL, once it has printed its funded accounts.
fn start_dev_node(dir: &Path) -> (Process, String) {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_zkr-node"));
    command
        .arg("--dev")
        .arg("--datadir")
        .arg(dir)
        .args(["--rpc.addr", &format!("127.0.0.1:{port}")])
        .args(["--metrics.addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--sequencer.block-time-ms", "100"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut node = Process::spawn("zkr-node --dev", &mut command);
    let stdout = node.stdout().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("reading the node's output");
        let done = line.starts_with("JSON-RPC:");
        banner.push(line);
        if done {
            break;
        }
    }
    let banner = banner.join("\n");
    // anvil's first account and key: the standard test mnemonic, printed for the developer.
    assert!(banner.contains("(0) 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"), "{banner}");
    assert!(banner.contains("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"), "{banner}");
    assert!(banner.contains("(9) "), "{banner}");
    // Keep draining stdout so the node never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (node, format!("http://127.0.0.1:{port}"))
}

/// Runs one client script against `url` with a deadline; panics with its output if any check failed.
fn run(name: &str, program: &Path, script: &str, url: &str) {
    let output = Command::new(program)
        .arg(clients_dir().join(script))
        .arg(url)
        .current_dir(clients_dir())
        .output()
        .unwrap_or_else(|e| panic!("running {name}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("--- {name} ---\n{stdout}{stderr}");
    assert!(output.status.success(), "{name} failed ({}):\n{stdout}\n{stderr}", output.status);
    assert!(!stdout.contains("FAIL"), "{name}:\n{stdout}");
}

#[test]
fn ethers_viem_and_web3py_against_the_dev_node() {
    if !installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (node, url) = start_dev_node(&dir.path().join("db"));
    // One after the other: each script uses its own accounts, and the node serves them all.
    let node_js = PathBuf::from("node");
    run("ethers", &node_js, "ethers.mjs", &url);
    run("viem", &node_js, "viem.mjs", &url);
    run("web3.py", &python(), "web3_check.py", &url);
    assert!(node.interrupt(Duration::from_secs(20)).success(), "the node did not stop cleanly");
}
