-- Schema version 11: rules (`[[rules]]`, `[[sources.rules]]`).
--
-- An item a rule blocks is not stored as a post; it is remembered here,
-- once per source, with the rule that blocked it, so that a poll counts
-- only the items it blocks for the first time (`fetches.blocked`) and an
-- administrator can see what was left out and why.
ALTER TABLE fetches ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0;

CREATE TABLE blocked_items (
    source           TEXT NOT NULL REFERENCES sources(slug),
    canonical_url    TEXT NOT NULL,
    info_code        TEXT,
    title            TEXT,
    rule             TEXT NOT NULL,
    first_blocked_at TEXT NOT NULL,
    PRIMARY KEY (source, canonical_url)
);
