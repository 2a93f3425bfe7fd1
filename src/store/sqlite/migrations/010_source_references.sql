-- Schema version 10: the source columns declared as what they are, and post
-- ids that are never given out twice.
--
-- posts.source, post_sources.source and fetches.source now say
-- `REFERENCES sources(slug)`, so that Datasette, sqlite-utils and the like
-- link a post or a fetch to its source. SQLite adds a constraint only by
-- making the table anew: this makes `posts_new`, `post_sources_new` and
-- `fetches_new`, and newscrawl then copies each old table into its new one
-- (rowids, and so post ids, unchanged), drops the old one, gives the new one
-- its name and creates the old one's indexes and triggers again, a
-- downstream tool's own included (`store::rebuild`). It runs with foreign key
-- enforcement off (dropping the old `posts` must not cascade into
-- `post_sources` and `post_changes`) and checks the references before it
-- commits.
--
-- posts.id becomes AUTOINCREMENT: a plain INTEGER PRIMARY KEY hands the
-- highest id out again once its post is deleted (say, pruned because it was
-- dated long ago though fetched last), and `export jsonl --after-id` would
-- then miss the post that took it.

-- Rows left behind by deletions made without enforcement (another tool's):
-- they refer to no post.
DELETE FROM post_sources WHERE post_id NOT IN (SELECT id FROM posts);
DELETE FROM post_changes WHERE post_id NOT IN (SELECT id FROM posts);

-- A slug used by a post or a fetch but unknown to `sources` (a database
-- written by hand, say) gets a row, as a source no longer configured.
INSERT OR IGNORE INTO sources (slug, name, url, removed_at)
    SELECT source, source, '', strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    FROM (SELECT source FROM posts UNION SELECT source FROM post_sources
          UNION SELECT source FROM fetches);

CREATE TABLE posts_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    source           TEXT NOT NULL REFERENCES sources(slug),
    info_code        TEXT UNIQUE,
    url              TEXT,
    canonical_url    TEXT NOT NULL UNIQUE,
    guid             TEXT,
    title            TEXT,
    author           TEXT,
    summary          TEXT,
    content_html     TEXT,
    content_text     TEXT,
    origin           TEXT,
    published_at     TEXT,
    updated_at       TEXT,
    fetched_at       TEXT NOT NULL,
    article_state    TEXT
        CHECK (article_state IS NULL OR article_state IN ('pending', 'done', 'failed')),
    article_attempts INTEGER NOT NULL DEFAULT 0,
    article_next_at  TEXT,
    article_via      TEXT,
    published_utc    TEXT
        GENERATED ALWAYS AS (strftime('%Y-%m-%dT%H:%M:%SZ', published_at)) VIRTUAL
);

CREATE TABLE post_sources_new (
    post_id       INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    source        TEXT NOT NULL REFERENCES sources(slug),
    first_seen_at TEXT NOT NULL,
    PRIMARY KEY (post_id, source)
) WITHOUT ROWID;

CREATE TABLE fetches_new (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL REFERENCES sources(slug),
    url         TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    http_status INTEGER,
    outcome     TEXT NOT NULL CHECK (outcome IN ('ok', 'not_modified', 'error')),
    bytes       INTEGER NOT NULL DEFAULT 0,
    items       INTEGER NOT NULL DEFAULT 0,
    new_posts   INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    kind        TEXT CHECK (kind IS NULL OR kind IN ('feed', 'article'))
);
