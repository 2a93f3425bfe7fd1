-- Schema version 9: a change feed of posts, for exports that keep up.
--
-- post_changes: one row per post, holding the sequence number of its latest
-- change (its insert, or an update of a column an export shows). `seq` only
-- grows and is never given out twice (AUTOINCREMENT), so a consumer that
-- remembers the highest `seq` it handled asks for `seq > N` next time and
-- gets every post stored or changed since, however late it was fetched or
-- however early it is dated. A post's row goes with the post.
CREATE TABLE post_changes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id INTEGER NOT NULL UNIQUE REFERENCES posts(id) ON DELETE CASCADE
);

-- Posts stored before version 9 count as changed, in the order they were
-- stored: the first continuous export writes them all (files already
-- holding the same bytes are left untouched).
INSERT INTO post_changes (post_id) SELECT id FROM posts ORDER BY id;

CREATE TRIGGER posts_changed_insert AFTER INSERT ON posts BEGIN
    INSERT OR REPLACE INTO post_changes (post_id) VALUES (new.id);
END;

CREATE TRIGGER posts_changed_update AFTER UPDATE OF
    source, info_code, url, canonical_url, guid, title, author, summary,
    content_html, content_text, origin, published_at, updated_at
ON posts BEGIN
    INSERT OR REPLACE INTO post_changes (post_id) VALUES (new.id);
END;

-- export_cursors: how far each continuous export got (`name` is
-- `jekyll:<directory>`): the highest post_changes.seq it has written.
CREATE TABLE export_cursors (
    name       TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
