//! Changing the configuration from the command line: a new source as a
//! drop-in file of its own (`sources.d/50-<slug>.toml`), and `enabled` set
//! where a source is defined, with the file's comments and layout kept
//! (toml_edit). Every change is checked by loading the whole configuration
//! again before it stays: a change that would not load is undone.

use std::path::{Path, PathBuf};

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

use super::{Config, Source, load};
use crate::error::ConfigError;

/// A new `[[sources]]` table, as `sources add` writes it.
pub struct NewSource<'a> {
    pub name: &'a str,
    pub slug: &'a str,
    pub url: &'a str,
    pub schedule: Option<&'a str>,
    pub follow: Option<&'a str>,
    /// Where the feed was found, for the file's header.
    pub found_at: Option<&'a str>,
}

fn io_err(path: &Path, source: std::io::Error) -> ConfigError {
    ConfigError::Read {
        path: path.to_path_buf(),
        source,
    }
}

/// Replaces `path` with `text` by a rename, so that no reader sees half a
/// file; keeps the old file's permissions.
fn replace(path: &Path, text: &str) -> Result<(), ConfigError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io_err(path, e))?;
    std::fs::write(tmp.path(), text).map_err(|e| io_err(path, e))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path).map_err(|e| io_err(path, e.error))?;
    Ok(())
}

/// Writes `source` into a drop-in file of its own beside `config`'s main
/// file, and checks that the configuration still loads (else the file is
/// removed and the error returned). Returns the file.
pub fn add_source(config: &Config, source: &NewSource<'_>) -> Result<PathBuf, ConfigError> {
    let dir = config
        .path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("sources.d");
    std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
    let path = dir.join(format!("50-{}.toml", source.slug));
    let mut table = Table::new();
    table["name"] = value(source.name);
    table["slug"] = value(source.slug);
    table["url"] = value(source.url);
    if let Some(s) = source.schedule {
        table["schedule"] = value(s);
    }
    if let Some(f) = source.follow {
        table["follow"] = value(f);
    }
    let mut sources = ArrayOfTables::new();
    sources.push(table);
    let mut doc = DocumentMut::new();
    doc["sources"] = Item::ArrayOfTables(sources);
    let header = match source.found_at {
        Some(page) => format!(
            "# Added by `newscrawl sources add` on {}, found on {page}.\n",
            crate::date::now_utc()
        ),
        None => format!(
            "# Added by `newscrawl sources add` on {}.\n",
            crate::date::now_utc()
        ),
    };
    let text = format!("{header}{doc}");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .map_err(|e| io_err(&path, e))?;
    if let Err(e) = load(&config.path) {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

/// Sets `enabled` in the table that defines `source`, keeping the rest of
/// its file as it was, and checks that the configuration still loads (else
/// the file is put back). Returns the file.
pub fn set_enabled(
    config: &Config,
    source: &Source,
    enabled: bool,
) -> Result<PathBuf, ConfigError> {
    let (file, _line) = source
        .defined_at
        .rsplit_once(':')
        .ok_or_else(|| ConfigError::Invalid {
            location: source.defined_at.clone(),
            message: "cannot tell which file defines this source".into(),
        })?;
    let path = PathBuf::from(file);
    let before = std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
    let mut doc: DocumentMut = before.parse().map_err(|e| ConfigError::Invalid {
        location: path.display().to_string(),
        message: format!("cannot edit: {e}"),
    })?;
    let tables = doc
        .get_mut("sources")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| ConfigError::Invalid {
            location: source.defined_at.clone(),
            message: "no [[sources]] tables to edit".into(),
        })?;
    let table = tables
        .iter_mut()
        .find(|t| {
            let slug = t.get("slug").and_then(Item::as_str).map(str::to_string);
            let name = t
                .get("name")
                .and_then(Item::as_str)
                .map(crate::slug::slugify);
            slug.or(name).as_deref() == Some(source.slug.as_str())
        })
        .ok_or_else(|| ConfigError::Invalid {
            location: source.defined_at.clone(),
            message: format!("no [[sources]] table for {:?} here", source.slug),
        })?;
    table["enabled"] = value(enabled);
    replace(&path, &doc.to_string())?;
    if let Err(e) = load(&config.path) {
        let _ = replace(&path, &before);
        return Err(e);
    }
    Ok(path)
}
