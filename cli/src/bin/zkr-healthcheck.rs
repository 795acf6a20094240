//! `zkr-healthcheck URL...`: exits 0 when `GET URL` answers 2xx within five seconds for any of the URLs, 1 otherwise.
//!
//! The image carries no shell or curl; this is its `HEALTHCHECK`. One image runs every role, so its health check
//! names each role's endpoint and a container is healthy when its own answers. Plain `http://host:port/path` only
//! (the probes reach the binaries' own listeners on the loopback interface).
//!
//! ```text
//! zkr-healthcheck http://127.0.0.1:9102/healthz   # coordinator
//! zkr-healthcheck http://127.0.0.1:8547/healthz   # node
//! zkr-healthcheck http://127.0.0.1:9103/metrics   # prover worker
//! ```

// A command-line probe: it reports on standard error.
#![allow(clippy::print_stderr)]

use std::{
    io::{Read, Write},
    net::{TcpStream, ToSocketAddrs},
    process::ExitCode,
    time::Duration,
};

const TIMEOUT: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let urls: Vec<String> = std::env::args().skip(1).collect();
    if urls.is_empty() {
        eprintln!("usage: zkr-healthcheck http://HOST:PORT/PATH...");
        return ExitCode::from(2);
    }
    let mut failures = Vec::new();
    for url in &urls {
        match check(url) {
            Ok(()) => return ExitCode::SUCCESS,
            Err(err) => failures.push(format!("{url}: {err}")),
        }
    }
    eprintln!("zkr-healthcheck: unhealthy\n  {}", failures.join("\n  "));
    ExitCode::FAILURE
}

fn check(url: &str) -> Result<(), String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs are supported")?;
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| format!("resolving {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority} resolves to no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("connecting: {e}"))?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("sending: {e}"))?;
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]).map_err(|e| format!("reading: {e}"))? {
            0 => break,
            n => read += n,
        }
    }
    let status_line = String::from_utf8_lossy(&head[..read]);
    // "HTTP/1.1 200 OK": the status code is the second field.
    let status = status_line.split_whitespace().nth(1).unwrap_or("");
    if status.starts_with('2') && status.len() == 3 {
        Ok(())
    } else {
        Err(format!("answered {:?}", status_line.lines().next().unwrap_or("nothing")))
    }
}
