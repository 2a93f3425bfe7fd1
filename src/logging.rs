//! Log output on stderr through `tracing`: text or JSON lines, level from
//! `-v`/`-q` unless `RUST_LOG` says otherwise. Under systemd, when stderr
//! is the journal's stream (`JOURNAL_STREAM` names its device and inode),
//! text lines carry the syslog priority as a `<N>` prefix, which journald
//! reads (`journalctl -p warning` finds the WARN lines), and no timestamp
//! (the journal keeps its own).

use std::io::{IsTerminal, Write};

use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::cli::LogFormat;

pub fn init(verbose: u8, quiet: bool, format: LogFormat) {
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    // Our own crate at `level`; dependencies one notch quieter unless asked.
    let default = match level {
        "trace" => "trace".to_string(),
        "debug" => "info,newscrawl=debug".to_string(),
        other => other.to_string(),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match format {
        LogFormat::Text if stderr_is_journal() => builder
            .with_writer(Journal)
            .with_ansi(false)
            .without_time()
            .try_init(),
        LogFormat::Text => builder
            .with_writer(Stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .with_writer(Stderr)
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}

/// Whether stderr is the stream systemd connected to the journal: the
/// device and inode in `JOURNAL_STREAM` (`DEV:INODE`) are stderr's own (a
/// child whose stderr was redirected inherits the variable, not the stream).
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}

/// Writes each log line to stderr with its syslog priority in front.
struct Journal;

impl<'a> MakeWriter<'a> for Journal {
    type Writer = Prefixed;

    fn make_writer(&'a self) -> Prefixed {
        Prefixed("<6>")
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Prefixed {
        Prefixed(match *meta.level() {
            Level::ERROR => "<3>",
            Level::WARN => "<4>",
            Level::INFO => "<6>",
            _ => "<7>",
        })
    }
}

/// One event's text, every line of it prefixed (journald takes each line
/// as an entry of its own). The formatter hands over an event in one write.
struct Prefixed(&'static str);

impl Write for Prefixed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len() + 8);
        for line in buf.split_inclusive(|b| *b == b'\n') {
            out.extend_from_slice(self.0.as_bytes());
            out.extend_from_slice(line);
        }
        std::io::stderr().lock().write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// stderr, with a crawl's progress line ([`crate::progress`]) kept below
/// the log lines.
struct Stderr;

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = AboveProgress;

    fn make_writer(&'a self) -> AboveProgress {
        AboveProgress
    }
}

/// One event's text, written above the progress line (the formatter hands
/// over an event in one write).
struct AboveProgress;

impl Write for AboveProgress {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        crate::progress::above(|| std::io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
