//! The shared backend: one Postgres database that several coordinators use at once.
//!
//! Every store operation is one `READ COMMITTED` transaction that locks what it reads before changing it
//! ([`Tx::for_update`]); jobs are taken with `FOR UPDATE SKIP LOCKED`, so coordinators leasing at the same moment
//! pass over each other's rows instead of queueing behind them. A transaction that Postgres aborts for a deadlock or
//! a serialization failure is run again from the start. Which coordinator follows L1 and finalizes is decided by a
//! session-level advisory lock ([`Postgres::try_lead`]).
//!
//! The sync `postgres` client runs its own small runtime per connection: the store is called from tokio's blocking
//! pool (`spawn_blocking`), never from an async task.

use std::{
    collections::HashMap,
    fmt,
    ops::{Deref, DerefMut},
    time::Duration,
};

use postgres::{
    Client, GenericClient, NoTls, Statement,
    error::SqlState,
    types::{ToSql, Type},
};

use super::sql::{ADDED_COLUMNS, Param, Row, Tx, Value, schema};
use crate::{Error, Result};

/// The advisory lock taken while the schema is created: two coordinators starting together would otherwise race
/// on `CREATE TABLE IF NOT EXISTS`. ("zkr-sche" as ASCII.)
const SCHEMA_LOCK: i64 = 0x7a6b_722d_7363_6865;

/// The advisory lock its holder leads with: it follows L1 and finalizes. ("zkr-lead" as ASCII.)
const LEADER_LOCK: i64 = 0x7a6b_722d_6c65_6164;

/// Runs of one transaction before a deadlock or serialization failure is returned to the caller.
const MAX_TRIES: u32 = 5;

/// Connections per coordinator: the blocking pool runs store calls in parallel, Postgres serializes what must be.
const POOL_SIZE: u32 = 16;

/// A connection that may be dropped anywhere. Closing a sync `postgres::Client` sends the server a goodbye through
/// the client's own runtime, which panics on a tokio worker thread; a `Session` dropped where a runtime runs closes
/// its client on a thread of its own.
pub(crate) struct Session(Option<Client>);

impl Session {
    fn new(client: Client) -> Self {
        Self(Some(client))
    }
}

impl Deref for Session {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.0.as_ref().unwrap_or_else(|| unreachable!("a session's client is only taken by its drop"))
    }
}

impl DerefMut for Session {
    fn deref_mut(&mut self) -> &mut Client {
        self.0.as_mut().unwrap_or_else(|| unreachable!("a session's client is only taken by its drop"))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let Some(client) = self.0.take() else { return };
        if tokio::runtime::Handle::try_current().is_ok() {
            let closing = std::thread::Builder::new().name("postgres-close".into()).spawn(move || drop(client));
            if let Err(err) = closing {
                // No thread to close it on: leak the client; the server drops the session with the socket.
                tracing::warn!(target: "coordinator::store", %err, "could not close a Postgres connection");
            }
        } else {
            drop(client);
        }
    }
}

/// A pooled connection and the statements prepared on it.
pub(crate) struct PgConn {
    client: Session,
    statements: HashMap<String, Statement>,
}

struct Manager {
    config: postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        Ok(PgConn { client: Session::new(self.config.connect(NoTls)?), statements: HashMap::new() })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

/// A pool of connections to one database.
pub(crate) struct Postgres {
    pool: r2d2::Pool<Manager>,
    config: postgres::Config,
    /// The session a standby coordinator asks for the leader lock on, kept between its tries.
    candidate: std::sync::Mutex<Option<Session>>,
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The config holds the password: show only where it points.
        f.debug_struct("Postgres")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .field("pool", &self.pool.state())
            .finish()
    }
}

fn pool_error(err: r2d2::Error) -> Error {
    Error::Pool(err.to_string())
}

impl Postgres {
    /// Connects to the database at `url` (`postgres://user:password@host:port/dbname`, or the key-value form) and
    /// creates the schema where it is missing.
    pub(crate) fn connect(url: &str) -> Result<Self> {
        let mut config: postgres::Config = url.parse()?;
        if config.get_application_name().is_none() {
            config.application_name("zkr-coordinator");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        // One connection first, on this thread: a wrong address or password fails at once with Postgres's own
        // words, rather than after the pool's timeout. It creates the schema, under a lock.
        let mut client = Session::new(config.connect(NoTls)?);
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
        tx.batch_execute(&schema("BIGINT", "BYTEA"))?;
        for (table, column, ty) in ADDED_COLUMNS {
            let ty = ty.replace("{int}", "BIGINT");
            tx.batch_execute(&format!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {ty}"))?;
        }
        tx.commit()?;
        drop(client);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(15))
            .build(Manager { config: config.clone() })
            .map_err(pool_error)?;
        Ok(Self { pool, config, candidate: std::sync::Mutex::new(None) })
    }

    /// Runs `f` in one transaction, again from the start when Postgres aborts it for a deadlock or a serialization
    /// failure.
    pub(crate) fn write<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get().map_err(pool_error)?;
        let PgConn { client, statements } = &mut *conn;
        let mut tries = 0;
        loop {
            tries += 1;
            let outcome = (|| {
                let mut tx = client.transaction()?;
                let value = f(&mut PgTx { client: &mut tx, statements })?;
                tx.commit()?;
                Ok(value)
            })();
            match outcome {
                Err(Error::Postgres(err)) if tries < MAX_TRIES && is_transient(&err) => {
                    tracing::debug!(target: "coordinator::store", %err, tries, "transaction aborted by Postgres; running it again");
                }
                other => return other,
            }
        }
    }

    /// Runs `f` on a pooled connection, each statement on its own.
    pub(crate) fn read<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get().map_err(pool_error)?;
        let PgConn { client, statements } = &mut *conn;
        f(&mut PgTx { client: &mut **client, statements })
    }

    /// Takes the leader lock on a connection of its own, if no other session holds it. The lock is held as long as
    /// that connection lives: a coordinator that dies, or loses its database, hands it on. The session asks the
    /// server to probe it often, so a leader cut off by the network loses the lock in about half a minute rather
    /// than after the server's default two hours.
    pub(crate) fn try_lead(&self) -> Result<Option<Session>> {
        let kept = self.candidate.lock().map_err(|_| Error::Poisoned)?.take();
        let mut session = match kept {
            Some(session) if !session.is_closed() => session,
            _ => self.lock_session()?,
        };
        let held: bool = session.query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_LOCK])?.get(0);
        if held {
            return Ok(Some(session));
        }
        *self.candidate.lock().map_err(|_| Error::Poisoned)? = Some(session);
        Ok(None)
    }

    fn lock_session(&self) -> Result<Session> {
        let mut config = self.config.clone();
        config.keepalives(true).keepalives_idle(Duration::from_secs(10)).keepalives_interval(Duration::from_secs(5));
        config.keepalives_retries(3);
        let mut session = Session::new(config.connect(NoTls)?);
        session.batch_execute(
            "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3;",
        )?;
        Ok(session)
    }

    /// Whether the leader's connection still holds the lock.
    pub(crate) fn still_leads(client: &mut Session) -> Result<bool> {
        let row = client.query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                            AND ((classid::bigint << 32) | objid::bigint) = $1)",
            &[&LEADER_LOCK],
        )?;
        Ok(row.get(0))
    }
}

/// Deadlocks and serialization failures: the transaction did nothing and may simply be run again.
fn is_transient(err: &postgres::Error) -> bool {
    err.code()
        .is_some_and(|code| *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE)
}

struct PgTx<'a, C> {
    client: &'a mut C,
    statements: &'a mut HashMap<String, Statement>,
}

impl<C: GenericClient> PgTx<'_, C> {
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

fn bind<'p>(params: &'p [Param<'_>]) -> Vec<&'p (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| -> &(dyn ToSql + Sync) {
            match p {
                Param::Int(v) => v,
                Param::Text(v) => v,
                Param::OptText(v) => v,
                Param::Blob(v) => v,
            }
        })
        .collect()
}

fn row(r: &postgres::Row) -> Result<Row> {
    let mut values = Vec::with_capacity(r.len());
    for (i, column) in r.columns().iter().enumerate() {
        let ty = column.type_();
        // The schema's column types, and what COUNT and MAX of them give.
        let value = if *ty == Type::INT8 {
            r.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *ty == Type::TEXT {
            r.try_get::<_, Option<String>>(i)?.map(Value::Text)
        } else if *ty == Type::BYTEA {
            r.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob)
        } else {
            return Err(Error::Corrupt(format!("column {} of type {ty}", column.name())));
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

impl<C: GenericClient> Tx for PgTx<'_, C> {
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        let statement = self.statement(sql)?;
        Ok(self.client.execute(&statement, &bind(params))?)
    }

    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        self.client.query(&statement, &bind(params))?.iter().map(row).collect()
    }

    fn for_update(&self) -> &'static str {
        " FOR UPDATE"
    }

    fn skip_locked(&self) -> &'static str {
        " FOR UPDATE SKIP LOCKED"
    }
}
