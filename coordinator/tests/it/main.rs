//! Integration tests of the coordinator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr, missing_docs)]

mod grpc;
mod http;
mod pg;
mod shared;
mod store;
mod tls;
