//! Throwaway Postgres databases for tests, on the server `ZKR_TEST_POSTGRES_URL` names.
//!
//! `scripts/postgres.sh start` starts such a server on loopback and prints the variable; `scripts/test.sh` does it
//! for CI and sets `ZKR_REQUIRE_POSTGRES`, under which a missing server fails the tests that need one instead of
//! letting them skip.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::{Error, Result};

/// The variable that names the test server (any database on it; tests create their own).
pub const TEST_POSTGRES_URL: &str = "ZKR_TEST_POSTGRES_URL";
/// Set (to anything) where a missing test server is an error: CI.
pub const REQUIRE_POSTGRES: &str = "ZKR_REQUIRE_POSTGRES";

/// A fresh, empty database, dropped (with any sessions still on it) when this value is.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    admin: String,
    name: String,
}

/// Runs `f` on a thread of its own and returns what it returns (a panic in `f` goes on in the caller). The sync
/// Postgres client runs a runtime of its own, which must not start on a tokio worker thread: its calls go through
/// this in code that may run on one, such as `#[tokio::test]`s.
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
}

impl TestDatabase {
    /// Creates a database on the test server. `Ok(None)` when no server is configured and none is required (the
    /// caller skips, loudly); [`Error::PostgresMissing`] when one is required.
    pub fn create() -> Result<Option<Self>> {
        let Ok(admin) = std::env::var(TEST_POSTGRES_URL) else {
            if std::env::var_os(REQUIRE_POSTGRES).is_some() {
                return Err(Error::PostgresMissing);
            }
            return Ok(None);
        };
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!("zkr_test_{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let Some((base, _)) = admin.rsplit_once('/') else {
            return Err(Error::Postgres(format!("{TEST_POSTGRES_URL}={admin} does not end in /dbname")));
        };
        let url = format!("{base}/{name}");
        off_runtime(|| -> Result<()> {
            let mut client = postgres::Client::connect(&admin, postgres::NoTls)
                .map_err(|e| Error::Postgres(format!("connecting to {admin}: {e}")))?;
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .map_err(|e| Error::Postgres(format!("creating database {name}: {e}")))
        })?;
        Ok(Some(Self { url, admin, name }))
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        off_runtime(|| {
            if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
                let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
            }
        });
    }
}
