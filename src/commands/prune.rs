//! `newscrawl prune`.

use super::*;

pub(super) async fn prune(config: &Config, args: &PruneArgs) -> Result<u8, Error> {
    let age = config::parse_age(&args.older_than).ok_or_else(|| {
        Error::Usage(format!(
            "--older-than {:?}: not an age: a number and a unit (s, min, h, d, w, mo, y), like 90d or 12h",
            args.older_than
        ))
    })?;
    let age = chrono::Duration::from_std(age)
        .map_err(|_| Error::Usage("--older-than: too large".into()))?;
    let cutoff = chrono::Utc::now() - age;
    let s = if args.dry_run {
        open_for_export(config)?.prune_preview(&store::Cutoffs::all(cutoff))?
    } else {
        store::Store::open_with(&config.database, false)?
            .prune(store::Cutoffs::all(cutoff))
            .await?
    };
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    print_out(&format!(
        "{verb} {} posts and {} fetch records older than {} (before {})\n",
        s.posts,
        s.fetches,
        args.older_than,
        cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ))?;
    Ok(EXIT_OK)
}
