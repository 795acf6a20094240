//! A minimal HTTP/1.1 GET for tests and the devnet's progress display, so neither needs an HTTP client crate.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

/// `GET path` from `addr` with `Connection: close`; returns the status code and the body (read to the end, so the
/// server must not use chunked encoding for bodies the caller parses: axum and the Prometheus exporter send lengths).
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let invalid = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP/1.1 response");
    let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).ok_or_else(invalid)?;
    let (_, body) = response.split_once("\r\n\r\n").ok_or_else(invalid)?;
    Ok((status, body.to_owned()))
}
