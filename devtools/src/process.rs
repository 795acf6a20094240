//! Child processes in tests: killed when dropped, interrupted like Ctrl-C on demand, on ports found free.

use std::process::{Child, Command};

/// A child process killed (SIGKILL) when dropped, so a failing test leaves nothing running.
#[derive(Debug)]
pub struct Process {
    name: &'static str,
    child: Child,
}

impl Process {
    /// Starts `command`.
    pub fn spawn(name: &'static str, command: &mut Command) -> Self {
        let child = command.spawn().unwrap_or_else(|e| panic!("starting {name}: {e}"));
        tracing::info!(target: "devtools::process", name, pid = child.id(), "started");
        Self { name, child }
    }

    /// Its resident memory's high-water mark in bytes (`VmHWM` in `/proc/<pid>/status`), where Linux reports it.
    pub fn peak_resident_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kib = status.lines().find_map(|line| line.strip_prefix("VmHWM:"))?.trim().strip_suffix("kB")?;
        kib.trim().parse::<u64>().ok().map(|kib| kib * 1024)
    }

    /// Its standard output, if it was piped (taken: the second call returns `None`).
    pub fn stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// Kills it with SIGKILL, as a crash or an OOM kill would, and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let status = self.child.wait().unwrap_or_else(|e| panic!("waiting for {}: {e}", self.name));
        tracing::info!(target: "devtools::process", name = self.name, %status, "killed with SIGKILL");
    }
}

impl Process {
    /// Sends SIGINT, as Ctrl-C would, and waits up to `timeout` for the process to exit; returns how it exited.
    pub fn interrupt(mut self, timeout: std::time::Duration) -> std::process::ExitStatus {
        // The shell's own `kill`: no procps needed.
        let sent = Command::new("sh").args(["-c", "kill -INT \"$0\""]).arg(self.child.id().to_string()).status();
        assert!(sent.is_ok_and(|s| s.success()), "sending SIGINT to {}", self.name);
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Ok(None) => panic!("{} still running {timeout:?} after SIGINT", self.name),
                Err(e) => panic!("waiting for {}: {e}", self.name),
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap_or_else(|e| panic!("finding a free port: {e}"))
        .port()
}
