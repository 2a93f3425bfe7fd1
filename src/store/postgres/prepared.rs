//! Statements prepared once per connection. The `postgres` client prepares
//! a statement given as text every time it runs it (a round trip to the
//! server before the one that runs it); the store's statements are few and
//! fixed, so each connection keeps its own, prepared at first use. Every
//! connection lives on a thread of its own ([`super::Worker`]), so the
//! cache is the thread's.

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{GenericClient, Row, Statement};

thread_local! {
    static STATEMENTS: RefCell<HashMap<&'static str, Statement>> = RefCell::new(HashMap::new());
}

/// Forgets this thread's statements: its connection was made again.
pub(crate) fn forget() {
    STATEMENTS.with(|m| m.borrow_mut().clear());
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The store's fixed statements, run prepared (see the module's text).
pub(crate) trait Prepared: GenericClient {
    /// `sql` prepared on this thread's connection.
    fn prepared(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = STATEMENTS.with(|m| m.borrow().get(sql).cloned()) {
            return Ok(s);
        }
        let s = self.prepare(sql)?;
        STATEMENTS.with(|m| m.borrow_mut().insert(sql, s.clone()));
        Ok(s)
    }

    fn run(&mut self, sql: &'static str, params: Params<'_>) -> Result<u64, postgres::Error> {
        let s = self.prepared(sql)?;
        self.execute(&s, params)
    }

    fn rows(&mut self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let s = self.prepared(sql)?;
        self.query(&s, params)
    }

    fn row(&mut self, sql: &'static str, params: Params<'_>) -> Result<Row, postgres::Error> {
        let s = self.prepared(sql)?;
        self.query_one(&s, params)
    }

    fn row_opt(
        &mut self,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<Option<Row>, postgres::Error> {
        let s = self.prepared(sql)?;
        self.query_opt(&s, params)
    }
}

impl<T: GenericClient> Prepared for T {}
