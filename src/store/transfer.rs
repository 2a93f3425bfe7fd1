//! `newscrawl migrate`: copies a SQLite database into PostgreSQL (posts,
//! sources and their state, stories and signatures, fetch history,
//! tombstones, blocked items, the change feed and export cursors), table
//! by table in batches of rows, each batch one transaction. It can be
//! stopped and run again: each table goes on from the last row the target
//! has (rows already there are left as they are), and the counts of every
//! table are compared at the end. Ids are kept, so the posts' and stories'
//! ids, the change numbers and the export cursors mean the same things
//! after the move; the target's id sequences go on past the source's.

use std::path::Path;

use chrono::{DateTime, FixedOffset};
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use rusqlite::types::Value;

use super::StoreError;
use crate::config::Postgres;

/// How a column's SQLite value becomes PostgreSQL's.
#[derive(Clone, Copy)]
enum Kind {
    /// As it is (text, integer, blob).
    Same,
    /// UTC RFC 3339 text → `timestamptz`.
    Time,
    /// A publisher's RFC 3339 text → `timestamptz`, and its offset into
    /// the next target column.
    LocalTime,
    /// A post's title or text → also `posts.search`'s half for it.
    Searched,
}

/// One table: its name, its columns (SQLite name, kind), the integer
/// column it is copied in the order of (`None`: a small table, copied
/// whole), and whether a run goes on from the last row the target has
/// (`resume`: tables whose rows only come in that order, so that an
/// interrupted copy misses only their last ones) or passes over every row
/// again (the rows that hang on posts, which a post deleted from the
/// target takes with it wherever they are).
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    order: Option<&'static str>,
    resume: bool,
}

use Kind::*;

/// The tables in the order they are copied: what a row refers to is there
/// before it (a story's representative post is set after the posts).
const TABLES: &[Table] = &[
    Table {
        name: "sources",
        columns: &[
            ("slug", Same),
            ("name", Same),
            ("url", Same),
            ("etag", Same),
            ("last_modified", Same),
            ("last_polled_at", Time),
            ("last_success_at", Time),
            ("failures", Same),
            ("last_error", Same),
            ("next_poll_at", Time),
            ("config_url", Same),
            ("hold_until", Time),
            ("last_unconditional_at", Time),
            ("position", Same),
            ("removed_at", Time),
        ],
        order: None,
        resume: false,
    },
    Table {
        name: "stories",
        columns: &[
            ("id", Same),
            ("title", Same),
            ("first_seen_at", Time),
            ("last_seen_at", Time),
            ("post_count", Same),
        ],
        order: Some("id"),
        resume: true,
    },
    Table {
        name: "posts",
        columns: &[
            ("id", Same),
            ("source", Same),
            ("info_code", Same),
            ("url", Same),
            ("canonical_url", Same),
            ("guid", Same),
            ("title", Searched),
            ("author", Same),
            ("summary", Same),
            ("content_html", Same),
            ("content_text", Searched),
            ("origin", Same),
            ("published_at", LocalTime),
            ("updated_at", LocalTime),
            ("fetched_at", Time),
            ("article_state", Same),
            ("article_attempts", Same),
            ("article_next_at", Time),
            ("article_via", Same),
            ("story_id", Same),
        ],
        order: Some("id"),
        resume: true,
    },
    Table {
        name: "post_sources",
        columns: &[("post_id", Same), ("source", Same), ("first_seen_at", Time)],
        order: Some("post_id"),
        resume: false,
    },
    Table {
        name: "enclosures",
        columns: &[
            ("post_id", Same),
            ("position", Same),
            ("url", Same),
            ("type", Same),
            ("length", Same),
        ],
        order: Some("post_id"),
        resume: false,
    },
    Table {
        name: "story_signatures",
        columns: &[
            ("post_id", Same),
            ("seen_at", Same),
            ("at", Same),
            ("signature", Same),
        ],
        order: Some("post_id"),
        resume: false,
    },
    Table {
        name: "fetches",
        columns: &[
            ("id", Same),
            ("source", Same),
            ("url", Same),
            ("started_at", Time),
            ("duration_ms", Same),
            ("http_status", Same),
            ("outcome", Same),
            ("bytes", Same),
            ("items", Same),
            ("new_posts", Same),
            ("error", Same),
            ("kind", Same),
            ("blocked", Same),
        ],
        order: Some("id"),
        resume: true,
    },
    Table {
        name: "tombstones",
        columns: &[
            ("id", Same),
            ("info_code", Same),
            ("canonical_url", Same),
            ("pruned_at", Time),
        ],
        order: Some("id"),
        resume: true,
    },
    Table {
        name: "blocked_items",
        columns: &[
            ("source", Same),
            ("canonical_url", Same),
            ("info_code", Same),
            ("title", Same),
            ("rule", Same),
            ("first_blocked_at", Time),
        ],
        order: None,
        resume: false,
    },
    Table {
        name: "post_changes",
        columns: &[("seq", Same), ("post_id", Same)],
        order: Some("seq"),
        resume: false,
    },
    Table {
        name: "export_cursors",
        columns: &[("name", Same), ("seq", Same), ("updated_at", Time)],
        order: None,
        resume: false,
    },
];

/// The id sequences the target goes on from: table, column, and the
/// `sqlite_sequence` name whose highest id given out counts too.
const SEQUENCES: &[(&str, &str)] = &[
    ("posts", "id"),
    ("stories", "id"),
    ("fetches", "id"),
    ("tombstones", "id"),
    ("post_changes", "seq"),
];

/// Rows per batch (one transaction each).
pub const BATCH: usize = 500;

/// What the copy did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    pub table: &'static str,
    /// Rows copied by this run.
    pub copied: u64,
    /// Rows in the source, and in the target at the end.
    pub source_rows: i64,
    pub target_rows: i64,
}

/// One value for PostgreSQL, of whatever type the target's column has
/// (SQLite's integers go into `integer` and `bigint` columns alike).
#[derive(Debug)]
enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Time(DateTime<chrono::Utc>),
}

impl ToSql for Cell {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Cell::Null => Ok(IsNull::Yes),
            Cell::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Cell::Int(i) if *ty == Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
            Cell::Int(i) => i.to_sql(ty, out),
            Cell::Real(f) => f.to_sql(ty, out),
            Cell::Text(s) => s.to_sql(ty, out),
            Cell::Blob(b) => b.to_sql(ty, out),
            Cell::Time(t) => t.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn text(v: &Value) -> Option<&str> {
    match v {
        Value::Text(t) => Some(t),
        _ => None,
    }
}

/// One SQLite value as the cells of the target's columns for it; a title
/// or text also gives its search form to `search`.
fn cells(v: Value, kind: Kind, out: &mut Vec<Cell>, search: &mut Vec<String>) {
    let time = |v: &Value| text(v).and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    match kind {
        Same => out.push(match v {
            Value::Null => Cell::Null,
            Value::Integer(i) => Cell::Int(i),
            Value::Real(f) => Cell::Real(f),
            Value::Text(t) => Cell::Text(t),
            Value::Blob(b) => Cell::Blob(b),
        }),
        Time => out.push(time(&v).map_or(Cell::Null, |t: DateTime<FixedOffset>| {
            Cell::Time(t.with_timezone(&chrono::Utc))
        })),
        LocalTime => {
            let t = time(&v);
            out.push(t.map_or(Cell::Null, |t| Cell::Time(t.with_timezone(&chrono::Utc))));
            out.push(t.map_or(Cell::Null, |t| {
                Cell::Int(i64::from(t.offset().local_minus_utc()))
            }));
        }
        Searched => {
            let whole = text(&v).unwrap_or("");
            let end = whole
                .char_indices()
                .nth(100_000)
                .map_or(whole.len(), |(i, _)| i);
            search.push(crate::search::index_text(&whole[..end]));
            out.push(match v {
                Value::Text(t) => Cell::Text(t),
                _ => Cell::Null,
            });
        }
    }
}

/// The target's column list for `table` (offsets after local times, the
/// search column last for posts).
fn target_columns(table: &Table) -> Vec<String> {
    let mut cols = Vec::new();
    for (name, kind) in table.columns {
        cols.push((*name).to_string());
        if let LocalTime = kind {
            cols.push(format!("{}_offset", name.trim_end_matches("_at")));
        }
    }
    if table.columns.iter().any(|(_, k)| matches!(k, Searched)) {
        cols.push("search".into());
    }
    cols
}

/// The INSERT of `rows` rows of `table`: rows the target has already (by
/// any of its keys) are left as they are.
fn insert_sql(table: &Table, rows: usize) -> String {
    let cols = target_columns(table);
    let searched = table.columns.iter().any(|(_, k)| matches!(k, Searched));
    let per_row = cols.len() + usize::from(searched);
    let mut values = Vec::with_capacity(rows);
    for r in 0..rows {
        let base = r * per_row;
        let mut placeholders: Vec<String> = (1..=cols.len() - usize::from(searched))
            .map(|i| format!("${}", base + i))
            .collect();
        if searched {
            let a = base + cols.len();
            placeholders.push(format!(
                "to_tsvector('simple', ${a}) || to_tsvector('simple', ${})",
                a + 1
            ));
        }
        values.push(format!("({})", placeholders.join(", ")));
    }
    format!(
        "INSERT INTO {} ({}) VALUES {} ON CONFLICT DO NOTHING",
        table.name,
        cols.join(", "),
        values.join(", ")
    )
}

/// Copies `from` (a SQLite database, migrated to this version's schema
/// first) into `to`; `progress` hears of every batch (table, rows copied
/// so far by this run). Stop the daemon first: what it writes meanwhile
/// to the SQLite file may be left behind (run the copy again for it).
pub fn copy_sqlite_to_postgres(
    from: &Path,
    to: &Postgres,
    mut progress: impl FnMut(&str, u64),
) -> Result<Vec<TableCopy>, StoreError> {
    if !from.exists() {
        return Err(StoreError::Unreadable {
            path: from.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let sqlite = super::sqlite::open_connection(from)?;
    let mut pg = super::postgres::connect_migrated(to)?;
    // Posts come with their change numbers: the trigger that gives new
    // ones stands aside in this session.
    pg.batch_execute("SET newscrawl.copying = 'on'")?;
    let mut report = Vec::new();
    for table in TABLES {
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        let select = format!("SELECT {} FROM {}", columns.join(", "), table.name);
        let mut copied = 0u64;
        let copy_batch = |rows: Vec<Vec<Value>>, pg: &mut postgres::Client| {
            if rows.is_empty() {
                return Ok::<u64, StoreError>(0);
            }
            let sql = insert_sql(table, rows.len());
            let mut all: Vec<Cell> = Vec::new();
            for row in rows {
                let mut search = Vec::new();
                for (v, (_, kind)) in row.into_iter().zip(table.columns) {
                    cells(v, *kind, &mut all, &mut search);
                }
                all.extend(search.into_iter().map(Cell::Text));
            }
            let refs: Vec<&(dyn ToSql + Sync)> =
                all.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
            let mut tx = pg.transaction()?;
            let n = tx.execute(sql.as_str(), &refs)?;
            tx.commit()?;
            Ok(n)
        };
        match table.order {
            None => {
                let mut stmt = sqlite.prepare(&select)?;
                let rows: Vec<Vec<Value>> = stmt
                    .query_map([], |r| (0..columns.len()).map(|i| r.get(i)).collect())?
                    .collect::<Result<_, _>>()?;
                for chunk in rows.chunks(BATCH) {
                    copied += copy_batch(chunk.to_vec(), &mut pg)?;
                }
            }
            Some(order) => {
                // Go on from the last row the target has (a run stopped
                // midway); rows already there are skipped.
                let mut after: i64 = if table.resume {
                    pg.query_one(
                        format!(
                            "SELECT COALESCE(MAX({order}), 0)::bigint FROM {}",
                            table.name
                        )
                        .as_str(),
                        &[],
                    )?
                    .get::<_, i64>(0)
                        - 1
                } else {
                    i64::MIN
                };
                let page = format!("{select} WHERE {order} > ?1 ORDER BY {order} LIMIT ?2");
                let mut stmt = sqlite.prepare(&page)?;
                let key = columns.iter().position(|c| *c == order).unwrap_or(0);
                loop {
                    let rows: Vec<Vec<Value>> = stmt
                        .query_map(rusqlite::params![after, BATCH as i64], |r| {
                            (0..columns.len()).map(|i| r.get(i)).collect()
                        })?
                        .collect::<Result<_, _>>()?;
                    let Some(last) = rows.last() else { break };
                    after = match last.get(key) {
                        Some(Value::Integer(i)) => *i,
                        _ => break,
                    };
                    let full = rows.len() == BATCH;
                    copied += copy_batch(rows, &mut pg)?;
                    progress(table.name, copied);
                    if !full {
                        break;
                    }
                }
            }
        }
        progress(table.name, copied);
        report.push(TableCopy {
            table: table.name,
            copied,
            source_rows: 0,
            target_rows: 0,
        });
    }
    // Each story's representative, now that the posts are there.
    {
        let mut stmt = sqlite
            .prepare("SELECT id, post_id FROM stories WHERE post_id IS NOT NULL ORDER BY id")?;
        let pairs: Vec<(i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for chunk in pairs.chunks(BATCH * 10) {
            let (ids, posts): (Vec<i64>, Vec<i64>) = chunk.iter().copied().unzip();
            pg.execute(
                "UPDATE stories s SET post_id = v.post_id
                 FROM unnest($1::bigint[], $2::bigint[]) AS v(id, post_id)
                 WHERE s.id = v.id AND s.post_id IS DISTINCT FROM v.post_id
                   AND EXISTS (SELECT 1 FROM posts p WHERE p.id = v.post_id)",
                &[&ids, &posts],
            )?;
        }
    }
    // The target's ids go on past every id the source gave out.
    for (table, column) in SEQUENCES {
        let given: i64 = sqlite.query_row(
            &format!(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0),
                            COALESCE((SELECT MAX({column}) FROM {table}), 0))"
            ),
            [],
            |r| r.get(0),
        )?;
        if given > 0 {
            pg.execute(
                format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                            GREATEST($1, (SELECT COALESCE(MAX({column}), 0) FROM {table})))"
                )
                .as_str(),
                &[&given],
            )?;
        }
    }
    // The counts, compared.
    for copy in &mut report {
        copy.source_rows =
            sqlite.query_row(&format!("SELECT COUNT(*) FROM {}", copy.table), [], |r| {
                r.get(0)
            })?;
        copy.target_rows = pg
            .query_one(format!("SELECT COUNT(*) FROM {}", copy.table).as_str(), &[])?
            .get(0);
    }
    Ok(report)
}
