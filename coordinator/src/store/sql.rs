//! The little SQL the store needs, written once for both databases.
//!
//! Statements use Postgres placeholders (`$1`, `$2`, ...); the SQLite backend rewrites them to `?1`, `?2`, which
//! SQLite binds by position too. Everything else in the store's SQL is common to SQLite 3.35+ and Postgres 13+:
//! `ON CONFLICT DO NOTHING`, `UPDATE ... RETURNING`, `CASE`, `COALESCE`, integer columns and bitwise `&`. The one
//! difference that matters is row locking, which only Postgres has (SQLite serializes writers): it is spelled by
//! [`Tx::for_update`] and [`Tx::skip_locked`].

use crate::{Error, Result};

/// A statement parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Param<'a> {
    /// A 64-bit integer (Postgres `BIGINT`).
    Int(i64),
    /// Text.
    Text(&'a str),
    /// Text or `NULL`.
    OptText(Option<&'a str>),
    /// Bytes (SQLite `BLOB`, Postgres `BYTEA`).
    Blob(&'a [u8]),
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

/// Unix milliseconds, indexes and counters: all far below `i64::MAX`, so the cast never wraps in practice; a value
/// that did would be stored negative and read back as the same `u64`.
impl From<u64> for Param<'_> {
    fn from(v: u64) -> Self {
        Self::Int(v as i64)
    }
}

impl From<u32> for Param<'_> {
    fn from(v: u32) -> Self {
        Self::Int(i64::from(v))
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Self::Text(v)
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Self::Text(v)
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Self::OptText(v)
    }
}

impl<'a> From<&'a [u8]> for Param<'a> {
    fn from(v: &'a [u8]) -> Self {
        Self::Blob(v)
    }
}

impl<'a> From<&'a Vec<u8>> for Param<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Self::Blob(v)
    }
}

/// `args![a, b, c]`: a statement's parameters, each converted with `Param::from`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::sql::Param::from($value)),*]
    };
}
pub(crate) use args;

/// A column value, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// `NULL`.
    Null,
    /// An integer (booleans of expressions read as 0 or 1).
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

/// One result row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row(pub(crate) Vec<Value>);

impl Row {
    fn value(&self, i: usize) -> Result<&Value> {
        self.0.get(i).ok_or_else(|| Error::Corrupt(format!("row without column {i}")))
    }

    fn mismatch(&self, i: usize, want: &str) -> Error {
        Error::Corrupt(format!("column {i} holding {:?} where {want} was expected", self.0.get(i)))
    }

    /// An integer column.
    pub(crate) fn int(&self, i: usize) -> Result<i64> {
        match self.value(i)? {
            Value::Int(v) => Ok(*v),
            _ => Err(self.mismatch(i, "an integer")),
        }
    }

    /// An integer column that holds a count, an index or unix milliseconds.
    pub(crate) fn u64(&self, i: usize) -> Result<u64> {
        self.int(i).map(|v| v as u64)
    }

    /// A small integer column.
    pub(crate) fn u32(&self, i: usize) -> Result<u32> {
        let v = self.int(i)?;
        u32::try_from(v).map_err(|_| self.mismatch(i, "a 32-bit unsigned integer"))
    }

    /// A flag stored as an integer.
    pub(crate) fn flag(&self, i: usize) -> Result<bool> {
        self.int(i).map(|v| v != 0)
    }

    /// An integer column that may be `NULL`.
    pub(crate) fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        match self.value(i)? {
            Value::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    /// A text column.
    pub(crate) fn text(&self, i: usize) -> Result<String> {
        match self.value(i)? {
            Value::Text(v) => Ok(v.clone()),
            _ => Err(self.mismatch(i, "text")),
        }
    }

    /// A text column that may be `NULL`.
    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match self.value(i)? {
            Value::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    /// A bytes column.
    pub(crate) fn blob(&self, i: usize) -> Result<Vec<u8>> {
        match self.value(i)? {
            Value::Blob(v) => Ok(v.clone()),
            _ => Err(self.mismatch(i, "bytes")),
        }
    }

    /// A bytes column that may be `NULL`.
    pub(crate) fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>> {
        match self.value(i)? {
            Value::Null => Ok(None),
            _ => self.blob(i).map(Some),
        }
    }
}

/// A connection, inside a transaction for writes.
pub(crate) trait Tx {
    /// Runs a statement; returns the rows it changed.
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64>;

    /// Runs a query (or a statement with `RETURNING`).
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>>;

    /// ` FOR UPDATE` where the database locks rows (Postgres), empty where it serializes writers (SQLite).
    fn for_update(&self) -> &'static str;

    /// ` FOR UPDATE SKIP LOCKED` on Postgres (a row another coordinator is taking is passed over, not waited for),
    /// empty on SQLite.
    fn skip_locked(&self) -> &'static str;

    /// At most one row.
    fn query_opt(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Exactly one row.
    fn query_one(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Row> {
        self.query_opt(sql, params)?.ok_or_else(|| Error::Corrupt(format!("no row from `{}`", first_line(sql))))
    }
}

fn first_line(sql: &str) -> &str {
    sql.trim().lines().next().unwrap_or_default()
}

/// The store's tables, with the integer and bytes column types of a database: `INTEGER` and `BLOB` on SQLite,
/// `BIGINT` and `BYTEA` on Postgres (whose `INTEGER` is 32 bits). Columns are only ever added, with defaults.
pub(crate) fn schema(int: &str, blob: &str) -> String {
    SCHEMA.replace("{int}", int).replace("{blob}", blob)
}

/// Columns added to the schema since its first version, `(table, column, type)` with the integer type as `{int}`:
/// each backend adds those an older database lacks when it opens it. Columns are only ever added, with defaults, so
/// an older database opens without losing anything.
pub(crate) const ADDED_COLUMNS: [(&str, &str, &str); 2] =
    [("jobs", "leased_ms", "{int} NOT NULL DEFAULT 0"), ("batches", "layer_group", "{int} NOT NULL DEFAULT 0")];

const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value {int} NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind {int} NOT NULL,
    batch_index {int} NOT NULL,
    chunk_index {int} NOT NULL,
    state TEXT NOT NULL,
    attempts {int} NOT NULL DEFAULT 0,
    lease_id {int} NOT NULL DEFAULT 0,
    worker_id TEXT,
    lease_deadline_ms {int} NOT NULL DEFAULT 0,
    not_before_ms {int} NOT NULL DEFAULT 0,
    avoid_worker TEXT,
    input {blob} NOT NULL,
    output {blob},
    last_error TEXT,
    created_ms {int} NOT NULL,
    updated_ms {int} NOT NULL,
    leased_ms {int} NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, batch_index, chunk_index);
CREATE INDEX IF NOT EXISTS jobs_by_batch ON jobs (batch_index, kind, chunk_index);
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    backend TEXT NOT NULL,
    gpu_model TEXT NOT NULL,
    memory_bytes {int} NOT NULL,
    version TEXT NOT NULL,
    kinds {int} NOT NULL,
    registered_ms {int} NOT NULL,
    last_seen_ms {int} NOT NULL,
    draining {int} NOT NULL DEFAULT 0,
    gone {int} NOT NULL DEFAULT 0,
    rejections {int} NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS batches (
    batch_index {int} PRIMARY KEY,
    state TEXT NOT NULL,
    chunks {int} NOT NULL,
    meta {blob} NOT NULL,
    committed_ms {int} NOT NULL,
    proven_ms {int} NOT NULL DEFAULT 0,
    finalized_ms {int} NOT NULL DEFAULT 0,
    finalize_tx TEXT,
    proof {blob},
    layer_group {int} NOT NULL DEFAULT 0
);
";

/// Rewrites Postgres placeholders (`$12`) to SQLite's positional ones (`?12`). The store's SQL holds no `$` in
/// literals or identifiers, so every `$` followed by a digit is a placeholder.
pub(crate) fn to_sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_positional() {
        assert_eq!(
            to_sqlite_placeholders("UPDATE t SET a = $2, b = $10 WHERE id = $1 AND c = '$'"),
            "UPDATE t SET a = ?2, b = ?10 WHERE id = ?1 AND c = '$'"
        );
    }

    #[test]
    fn rows_read_typed_and_refuse_mismatches() {
        let row = Row(vec![Value::Int(7), Value::Null, Value::Text("x".into()), Value::Blob(vec![1])]);
        assert_eq!(row.u64(0).unwrap(), 7);
        assert!(row.flag(0).unwrap());
        assert_eq!(row.opt_text(1).unwrap(), None);
        assert_eq!(row.opt_int(1).unwrap(), None);
        assert_eq!(row.text(2).unwrap(), "x");
        assert_eq!(row.blob(3).unwrap(), vec![1]);
        assert!(matches!(row.text(0), Err(Error::Corrupt(_))));
        assert!(matches!(row.int(2), Err(Error::Corrupt(_))));
        assert!(matches!(row.int(9), Err(Error::Corrupt(_))));
        assert!(Row(vec![Value::Int(-1)]).u32(0).is_err());
    }
}
