//! A fresh Postgres database per test (`zkr_devtools::TestDatabase`). Without a test server the Postgres tests say
//! so and pass, unless `ZKR_REQUIRE_POSTGRES` is set, as in CI, where they fail.

use zkr_coordinator::store::{Policy, Store};
use zkr_devtools::{TestDatabase, off_runtime};

/// A database that is dropped with this value.
pub(crate) struct TestDb(TestDatabase);

impl TestDb {
    /// A new, empty database; `None` (after a loud note) when no test server is configured.
    pub(crate) fn create(test: &str) -> Option<Self> {
        let db = TestDatabase::create().unwrap();
        if db.is_none() {
            eprintln!("SKIPPED {test}: no Postgres test server (eval \"$(scripts/postgres.sh start)\" to run it)");
        }
        db.map(Self)
    }

    /// Its URL.
    pub(crate) fn url(&self) -> &str {
        self.0.url()
    }

    /// A store (one coordinator's) on this database; callable from async tests too.
    pub(crate) fn store(&self, policy: Policy) -> Store {
        off_runtime(|| Store::connect(self.url(), policy).unwrap())
    }
}
