//! Integration tests of the coordinator.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod grpc;
mod store;
