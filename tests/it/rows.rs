//! Reading the rows newscrawl wrote, from either backend: the end-to-end
//! tests run once against SQLite and once against PostgreSQL
//! (`NEWSCRAWL_TEST_BACKEND=postgres`, which `.ci/test` sets for its second
//! pass), and assert on the same values through these helpers.
//!
//! Values are read as SQLite gives them: integers, reals, text, blobs;
//! PostgreSQL's booleans as 0/1 and its `timestamptz` as RFC 3339 text
//! (`published_at` and `updated_at` with the publisher's offset, as the
//! SQLite columns keep them: see [`pg_sql`]).

use std::path::{Path, PathBuf};

/// One column's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    /// A PostgreSQL type these helpers do not read (`tsvector`…): its name.
    Other(String),
}

/// A Rust value read from one column.
pub trait FromVal: Sized {
    fn from_val(v: Val) -> Self;
}

impl FromVal for Val {
    fn from_val(v: Val) -> Self {
        v
    }
}

impl FromVal for String {
    fn from_val(v: Val) -> Self {
        match v {
            Val::Text(s) => s,
            other => panic!("expected text, got {other:?}"),
        }
    }
}

impl FromVal for i64 {
    fn from_val(v: Val) -> Self {
        match v {
            Val::Int(i) => i,
            other => panic!("expected an integer, got {other:?}"),
        }
    }
}

impl FromVal for f64 {
    fn from_val(v: Val) -> Self {
        match v {
            Val::Real(f) => f,
            Val::Int(i) => i as f64,
            other => panic!("expected a number, got {other:?}"),
        }
    }
}

impl FromVal for Vec<u8> {
    fn from_val(v: Val) -> Self {
        match v {
            Val::Blob(b) => b,
            other => panic!("expected a blob, got {other:?}"),
        }
    }
}

impl<T: FromVal> FromVal for Option<T> {
    fn from_val(v: Val) -> Self {
        match v {
            Val::Null => None,
            v => Some(T::from_val(v)),
        }
    }
}

/// A Rust value read from one row: a column's value or a tuple of them.
pub trait FromRow: Sized {
    fn from_row(row: Vec<Val>) -> Self;
}

impl FromRow for Vec<Val> {
    fn from_row(row: Vec<Val>) -> Self {
        row
    }
}

impl<T: FromVal> FromRow for T {
    fn from_row(row: Vec<Val>) -> Self {
        T::from_val(row.into_iter().next().expect("no column"))
    }
}

macro_rules! tuple_from_row {
    ($($t:ident),+) => {
        impl<$($t: FromVal),+> FromRow for ($($t,)+) {
            fn from_row(row: Vec<Val>) -> Self {
                let mut it = row.into_iter();
                ($($t::from_val(it.next().expect("fewer columns than the tuple")),)+)
            }
        }
    };
}
tuple_from_row!(A);
tuple_from_row!(A, B);
tuple_from_row!(A, B, C);
tuple_from_row!(A, B, C, D);
tuple_from_row!(A, B, C, D, E);
tuple_from_row!(A, B, C, D, E, F);
tuple_from_row!(A, B, C, D, E, F, G);

/// The database a test's newscrawl writes.
pub enum TestDb {
    Sqlite(PathBuf),
    Postgres(Scratch),
}

/// Which backend the end-to-end tests run against this time.
pub fn on_postgres() -> bool {
    std::env::var("NEWSCRAWL_TEST_BACKEND").as_deref() == Ok("postgres")
}

impl TestDb {
    /// SQLite at `path`, or a scratch PostgreSQL database on the pass that
    /// runs against PostgreSQL.
    pub fn for_backend(path: PathBuf) -> TestDb {
        if on_postgres() {
            TestDb::Postgres(Scratch::new().expect(
                "NEWSCRAWL_TEST_BACKEND=postgres needs NEWSCRAWL_TEST_POSTGRES (run .ci/test)",
            ))
        } else {
            TestDb::Sqlite(path)
        }
    }

    /// What the configuration's `database` key says.
    pub fn database(&self, dir: &Path) -> String {
        match self {
            TestDb::Sqlite(path) => path
                .strip_prefix(dir)
                .unwrap_or(path)
                .to_string_lossy()
                .into_owned(),
            TestDb::Postgres(s) => s.url.clone(),
        }
    }

    /// Every row of `sql` with `params` (`?1`, `?2`… in the text; `$1`… on
    /// PostgreSQL). `Err` when the query fails (no such table yet).
    pub fn try_rows(&self, sql: &str, params: &[&str]) -> Result<Vec<Vec<Val>>, String> {
        match self {
            TestDb::Sqlite(path) => {
                if !path.exists() {
                    return Err(format!("{} does not exist", path.display()));
                }
                let db = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
                let mut stmt = db.prepare(sql).map_err(|e| e.to_string())?;
                let n = stmt.column_count();
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(params), |r| {
                        (0..n)
                            .map(|i| {
                                Ok(match r.get_ref(i)? {
                                    rusqlite::types::ValueRef::Null => Val::Null,
                                    rusqlite::types::ValueRef::Integer(i) => Val::Int(i),
                                    rusqlite::types::ValueRef::Real(f) => Val::Real(f),
                                    rusqlite::types::ValueRef::Text(t) => {
                                        Val::Text(String::from_utf8_lossy(t).into_owned())
                                    }
                                    rusqlite::types::ValueRef::Blob(b) => Val::Blob(b.to_vec()),
                                })
                            })
                            .collect::<rusqlite::Result<Vec<Val>>>()
                    })
                    .map_err(|e| e.to_string())?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(|e| e.to_string())
            }
            TestDb::Postgres(s) => {
                let mut client = s.try_client()?;
                let params: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                let rows = client
                    .query(&pg_sql(sql), &params)
                    .map_err(|e| format!("{sql}: {e:?}"))?;
                Ok(rows.iter().map(pg_row).collect())
            }
        }
    }

    /// Runs statements that return no rows.
    pub fn execute(&self, sql: &str) {
        match self {
            TestDb::Sqlite(path) => {
                rusqlite::Connection::open(path)
                    .unwrap()
                    .execute_batch(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            TestDb::Postgres(s) => s
                .try_client()
                .unwrap()
                .batch_execute(&pg_sql(sql))
                .unwrap_or_else(|e| panic!("{sql}: {e:?}")),
        }
    }

    /// One number: `COUNT(*)`, `SUM(…)`, a column of one row. `None` when
    /// the query fails or gives no row or NULL.
    pub fn try_number(&self, sql: &str) -> Option<i64> {
        // PostgreSQL's SUM of integers is numeric, which has no i64 reading.
        let sql = match self {
            TestDb::Sqlite(_) => sql.to_string(),
            TestDb::Postgres(_) => format!("SELECT ({sql})::bigint"),
        };
        let rows = self.try_rows(&sql, &[]).ok()?;
        match rows.into_iter().next()?.into_iter().next()? {
            Val::Int(i) => Some(i),
            _ => None,
        }
    }
}

/// A test's SQL (written for SQLite's schema) for PostgreSQL's: `?N`
/// placeholders as `$N`, SQLite's `strftime(…, 'now', …)` as `now()`; in the columns a SELECT reads, `published_at` and
/// `updated_at` as the text SQLite keeps (RFC 3339 with the publisher's
/// offset, from the `*_offset` column beside them), and SQLite's generated
/// `published_utc` as `published_at` in UTC.
fn pg_sql(sql: &str) -> String {
    let sql = pg_now(&dollar_params(sql));
    let Some(from) = sql.find(" FROM ").filter(|_| sql.starts_with("SELECT")) else {
        return sql.replace("published_utc", "published_at");
    };
    let (columns, rest) = sql.split_at(from);
    let mut out = String::with_capacity(sql.len() + 64);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let (prefix, name) = match word.rsplit_once('.') {
            Some((p, n)) => (format!("{p}."), n.to_string()),
            None => (String::new(), word.clone()),
        };
        match name.as_str() {
            "published_at" | "updated_at" => {
                let kind = name.trim_end_matches("_at");
                out.push_str(&format!(
                    "test_local({prefix}{name}, {prefix}{kind}_offset)"
                ));
            }
            "published_utc" => out.push_str(&format!("test_local({prefix}published_at, 0)")),
            _ => out.push_str(word),
        }
        word.clear();
    };
    for c in columns.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out.push_str(&rest.replace("published_utc", "published_at"));
    out
}

/// SQLite's `strftime('%Y-%m-%dT%H:%M:%SZ', 'now'[, '±N unit'])` (now,
/// as the text SQLite's times are) as PostgreSQL's `now() [+ interval]`.
fn pg_now(sql: &str) -> String {
    const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'";
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find(NOW) {
        out.push_str(&rest[..at]);
        let after = &rest[at + NOW.len()..];
        let end = after.find(')').expect("strftime(…) closed");
        let modifier = after[..end].trim_start_matches(',').trim();
        if modifier.is_empty() {
            out.push_str("now()");
        } else {
            out.push_str(&format!("(now() + interval {modifier})"));
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// `?N` placeholders as PostgreSQL's `$N`.
fn dollar_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn pg_row(row: &postgres::Row) -> Vec<Val> {
    use postgres::types::Type;
    (0..row.len())
        .map(|i| {
            let ty = row.columns()[i].type_().clone();
            let v = if ty == Type::INT8 {
                row.get::<_, Option<i64>>(i).map(Val::Int)
            } else if ty == Type::INT4 {
                row.get::<_, Option<i32>>(i).map(|v| Val::Int(v.into()))
            } else if ty == Type::INT2 {
                row.get::<_, Option<i16>>(i).map(|v| Val::Int(v.into()))
            } else if ty == Type::BOOL {
                row.get::<_, Option<bool>>(i).map(|v| Val::Int(v.into()))
            } else if ty == Type::FLOAT8 {
                row.get::<_, Option<f64>>(i).map(Val::Real)
            } else if ty == Type::FLOAT4 {
                row.get::<_, Option<f32>>(i).map(|v| Val::Real(v.into()))
            } else if ty == Type::BYTEA {
                row.get::<_, Option<Vec<u8>>>(i).map(Val::Blob)
            } else if ty == Type::TIMESTAMPTZ {
                row.get::<_, Option<chrono::DateTime<chrono::Utc>>>(i)
                    .map(|t| Val::Text(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
            } else if ty == Type::TEXT || ty == Type::VARCHAR || ty == Type::NAME {
                row.get::<_, Option<String>>(i).map(Val::Text)
            } else {
                // Cast it in the test's SQL to read it.
                return Val::Other(ty.name().to_string());
            };
            v.unwrap_or(Val::Null)
        })
        .collect()
}

/// What `.ci/test` says of its cluster in `var`; `None` (a note printed,
/// the test skipped) when it is unset, except under CI (`CI` set), which
/// needs it: `what` says for what.
pub fn cluster_env(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs {what} ({var} is unset)"
            );
            eprintln!("skipped: {var} is unset (see .ci/test)");
            None
        }
    }
}

/// A database made for one test on the throwaway cluster `.ci/test`
/// starts (`$NEWSCRAWL_TEST_POSTGRES`, an admin URL), dropped with it.
pub struct Scratch {
    admin: String,
    name: String,
    /// The database's URL.
    pub url: String,
}

impl Scratch {
    /// A fresh database, or `None` (with a note) when there is no cluster;
    /// under CI (`CI` set) no cluster is a failure.
    pub fn new() -> Option<Scratch> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let admin = cluster_env(
            "NEWSCRAWL_TEST_POSTGRES",
            "PostgreSQL: run the tests through .ci/test",
        )?;
        let name = format!(
            "newscrawl_it_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        // A time with its offset in seconds as SQLite's columns keep it:
        // RFC 3339 to the second, `Z` for UTC.
        postgres::Client::connect(url.as_str(), postgres::NoTls)
            .unwrap()
            .batch_execute(
                r#"CREATE FUNCTION test_local(t timestamptz, off integer) RETURNS text
                   LANGUAGE sql IMMUTABLE AS $$
                   SELECT to_char(t AT TIME ZONE 'UTC' + make_interval(secs => COALESCE(off, 0)),
                                  'YYYY-MM-DD"T"HH24:MI:SS')
                       || CASE WHEN COALESCE(off, 0) = 0 THEN 'Z'
                               ELSE CASE WHEN off < 0 THEN '-' ELSE '+' END
                                    || to_char(make_interval(secs => abs(off)), 'HH24:MI') END
                   $$"#,
            )
            .unwrap();
        Some(Scratch {
            admin,
            name,
            url: url.to_string(),
        })
    }

    pub fn client(&self) -> postgres::Client {
        self.try_client().unwrap()
    }

    fn try_client(&self) -> Result<postgres::Client, String> {
        postgres::Client::connect(&self.url, postgres::NoTls).map_err(|e| e.to_string())
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.client().query_one(sql, &[]).unwrap().get(0)
    }

    /// [`Scratch::count`] for tables a daemon may not have made yet: 0 until then.
    pub fn try_count(&self, sql: &str) -> i64 {
        self.client().query_one(sql, &[]).map_or(0, |r| r.get(0))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
