//! End-to-end tests: the real binary against fixture servers on 127.0.0.1,
//! asserting on the rows it leaves behind: in SQLite, and on a second pass
//! (`NEWSCRAWL_TEST_BACKEND=postgres`, run by `.ci/test`) in PostgreSQL.

mod articles;
mod cli;
mod conformance;
mod crawl_once;
mod daemon;
mod durability;
mod export;
mod faults;
mod fetch_options;
mod fetching;
mod guard;
mod harness;
mod hooks;
mod hostile;
mod json_sources;
mod postgres;
mod rows;
mod rules;
mod search;
mod secrets;
mod server;
mod sources_edit;
mod stories;
mod tools;
