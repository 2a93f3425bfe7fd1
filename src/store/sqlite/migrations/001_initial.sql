-- Schema version 1: the contract's tables. Times are RFC 3339 text.

CREATE TABLE sources (
    slug            TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    url             TEXT NOT NULL,
    etag            TEXT,
    last_modified   TEXT,
    last_polled_at  TEXT,
    last_success_at TEXT,
    failures        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_poll_at    TEXT
);

CREATE TABLE posts (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,
    info_code     TEXT UNIQUE,
    url           TEXT,
    canonical_url TEXT NOT NULL UNIQUE,
    guid          TEXT,
    title         TEXT,
    author        TEXT,
    summary       TEXT,
    content_html  TEXT,
    content_text  TEXT,
    origin        TEXT,
    published_at  TEXT,
    updated_at    TEXT,
    fetched_at    TEXT NOT NULL
);
CREATE INDEX posts_published_at ON posts(published_at);
CREATE INDEX posts_source ON posts(source);

CREATE TABLE post_sources (
    post_id       INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    source        TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    PRIMARY KEY (post_id, source)
) WITHOUT ROWID;
CREATE INDEX post_sources_source ON post_sources(source);

CREATE TABLE fetches (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    url         TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    http_status INTEGER,
    outcome     TEXT NOT NULL CHECK (outcome IN ('ok', 'not_modified', 'error')),
    bytes       INTEGER NOT NULL DEFAULT 0,
    items       INTEGER NOT NULL DEFAULT 0,
    new_posts   INTEGER NOT NULL DEFAULT 0,
    error       TEXT
);
CREATE INDEX fetches_source_started ON fetches(source, started_at);

-- Full-text search over title and text. The trigram tokenizer finds a Chinese
-- word inside a sentence (unicode61 does not); queries need 3+ characters.
CREATE VIRTUAL TABLE posts_fts USING fts5(
    title, content_text,
    content = 'posts', content_rowid = 'id',
    tokenize = 'trigram'
);
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts(rowid, title, content_text) VALUES (new.id, new.title, new.content_text);
END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts(posts_fts, rowid, title, content_text) VALUES ('delete', old.id, old.title, old.content_text);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, content_text ON posts BEGIN
    INSERT INTO posts_fts(posts_fts, rowid, title, content_text) VALUES ('delete', old.id, old.title, old.content_text);
    INSERT INTO posts_fts(rowid, title, content_text) VALUES (new.id, new.title, new.content_text);
END;
