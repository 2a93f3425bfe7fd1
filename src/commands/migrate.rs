//! `newscrawl migrate --from data/newscrawl.db --to postgres://…`: the
//! copy itself is [`crate::store::transfer`]'s; here the arguments, the
//! progress and the table of counts.

use super::*;
use crate::cli::MigrateArgs;

pub(super) async fn migrate(args: &MigrateArgs, progress: bool) -> Result<u8, Error> {
    let to = match config::Database::parse(&args.to, std::path::Path::new(""), None) {
        Ok(config::Database::Postgres(pg)) => pg,
        Ok(config::Database::Sqlite(_)) => {
            return Err(Error::Usage(format!(
                "--to {:?}: not a PostgreSQL URL (postgres://user@host:5432/dbname)",
                args.to
            )));
        }
        Err(m) => return Err(Error::Usage(format!("--to: {m}"))),
    };
    let from = args.from.clone();
    let shown = to.shown().to_string();
    info!(from = %from.display(), to = %shown, "copying");
    // The copy blocks (both clients do): off the async threads.
    let report = tokio::task::spawn_blocking(move || {
        let mut last = std::time::Instant::now();
        store::transfer::copy_sqlite_to_postgres(&from, &to, |table, rows| {
            if progress && last.elapsed() >= std::time::Duration::from_secs(2) {
                last = std::time::Instant::now();
                eprintln!("{table}: {rows} rows copied");
            }
        })
    })
    .await
    .map_err(|e| Error::Internal(format!("the copy stopped: {e}")))??;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<18} {:>10} {:>12} {:>12}",
        "TABLE", "COPIED", "IN SQLITE", "IN POSTGRES"
    )?;
    let mut differ = Vec::new();
    for t in &report {
        writeln!(
            out,
            "{:<18} {:>10} {:>12} {:>12}",
            t.table, t.copied, t.source_rows, t.target_rows
        )?;
        if t.source_rows != t.target_rows {
            differ.push(t.table);
        }
    }
    if differ.is_empty() {
        writeln!(out, "every table has as many rows in {shown} as in SQLite")?;
        Ok(EXIT_OK)
    } else {
        Err(Error::Internal(format!(
            "the counts differ for {} (rows written to the SQLite file during the copy? run it again)",
            differ.join(", ")
        )))
    }
}
