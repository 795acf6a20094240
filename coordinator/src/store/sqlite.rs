//! The embedded backend: one SQLite file (or memory, in tests), for a single coordinator.

use std::{path::Path, sync::Mutex, time::Duration};

use rusqlite::{
    Connection, TransactionBehavior,
    types::{ToSqlOutput, ValueRef},
};

use super::sql::{ADDED_COLUMNS, Param, Row, Tx, Value, schema, to_sqlite_placeholders};
use crate::{Error, Result};

/// One SQLite connection behind a mutex: writers are serialized, which is what makes every store operation atomic
/// here without row locks.
#[derive(Debug)]
pub(crate) struct Sqlite {
    conn: Mutex<Connection>,
}

impl Sqlite {
    /// Opens (creating if needed) the database at `path`.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::Io(parent.display().to_string(), e))?;
        }
        let conn = Connection::open(path)?;
        // WAL: readers (the status page) do not block the writer; NORMAL sync is durable across process crashes.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Self::init(conn)
    }

    /// A database in memory (tests).
    pub(crate) fn in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self> {
        conn.execute_batch(&schema("INTEGER", "BLOB"))?;
        Self::migrate(&conn)?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    /// Brings a database made by an older coordinator up to this schema. Columns are only ever added, with defaults,
    /// so an older database opens without losing anything.
    fn migrate(conn: &Connection) -> Result<()> {
        for (table, column, ty) in ADDED_COLUMNS {
            let present: bool = conn.query_row(
                &format!("SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = '{column}'"),
                [],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )?;
            if !present {
                let ty = ty.replace("{int}", "INTEGER");
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"))?;
            }
        }
        Ok(())
    }

    /// Runs `f` in one transaction, taken for writing at its start (`BEGIN IMMEDIATE`), so a second process on the
    /// same file waits for the lock instead of failing halfway.
    pub(crate) fn write<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let mut conn = self.conn.lock().map_err(|_| Error::Poisoned)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&mut SqliteTx(&tx))?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` on the connection, outside a transaction.
    pub(crate) fn read<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let conn = self.conn.lock().map_err(|_| Error::Poisoned)?;
        f(&mut SqliteTx(&conn))
    }
}

struct SqliteTx<'c>(&'c Connection);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Self::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(v)),
            Self::Text(v) | Self::OptText(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Self::OptText(None) => ToSqlOutput::Borrowed(ValueRef::Null),
            Self::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

fn value(v: ValueRef<'_>) -> Result<Value> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(t) => {
            Value::Text(String::from_utf8(t.to_vec()).map_err(|_| Error::Corrupt("text that is not UTF-8".into()))?)
        }
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        ValueRef::Real(r) => return Err(Error::Corrupt(format!("real {r} in an integer column"))),
    })
}

impl Tx for SqliteTx<'_> {
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        let mut stmt = self.0.prepare_cached(&to_sqlite_placeholders(sql))?;
        Ok(stmt.execute(rusqlite::params_from_iter(params))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>> {
        let mut stmt = self.0.prepare_cached(&to_sqlite_placeholders(sql))?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(Row((0..columns).map(|i| value(row.get_ref(i)?)).collect::<Result<_>>()?));
        }
        Ok(out)
    }

    fn for_update(&self) -> &'static str {
        ""
    }

    fn skip_locked(&self) -> &'static str {
        ""
    }
}
