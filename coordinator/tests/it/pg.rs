//! A fresh Postgres database per test, on the server `ZKR_TEST_POSTGRES_URL` names (`scripts/postgres.sh start`
//! prints it; `scripts/test.sh` starts one). Without it the Postgres tests say so and pass, unless
//! `ZKR_REQUIRE_POSTGRES` is set, as in CI, where they fail.

use std::sync::atomic::{AtomicU32, Ordering};

use zkr_coordinator::store::{Policy, Store};

/// A database that is dropped with this value.
pub(crate) struct TestDb {
    /// Its URL.
    pub(crate) url: String,
    admin: String,
    name: String,
}

/// The sync Postgres client must not run on a tokio worker thread: run `f` on a thread of its own.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap())
}

impl TestDb {
    /// A new, empty database; `None` (after a loud note) when no test server is configured.
    pub(crate) fn create(test: &str) -> Option<Self> {
        let Ok(admin) = std::env::var("ZKR_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var_os("ZKR_REQUIRE_POSTGRES").is_none(),
                "ZKR_REQUIRE_POSTGRES is set but ZKR_TEST_POSTGRES_URL is not (scripts/postgres.sh start)"
            );
            eprintln!("SKIPPED {test}: no Postgres server (eval \"$(scripts/postgres.sh start)\" to run it)");
            return None;
        };
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "zkr_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
        );
        off_runtime(|| {
            let mut client = postgres::Client::connect(&admin, postgres::NoTls)
                .unwrap_or_else(|e| panic!("connecting to the test server {admin}: {e}"));
            client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        });
        let (base, _) = admin.rsplit_once('/').expect("a URL ending in /dbname");
        Some(Self { url: format!("{base}/{name}"), admin, name })
    }

    /// A store (one coordinator's) on this database.
    pub(crate) fn store(&self, policy: Policy) -> Store {
        off_runtime(|| Store::connect(&self.url, policy).unwrap())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        off_runtime(|| {
            if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
                let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
            }
        });
    }
}
