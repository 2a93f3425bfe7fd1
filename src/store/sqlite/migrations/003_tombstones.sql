-- Schema version 3: the keys of pruned posts, so an article that is still in
-- a feed does not come back as new after `newscrawl prune`.

CREATE TABLE tombstones (
    id            INTEGER PRIMARY KEY,
    info_code     TEXT UNIQUE,
    canonical_url TEXT NOT NULL UNIQUE,
    pruned_at     TEXT NOT NULL
);
