-- Schema version 5: posts_fts is filled in batches, not row by row.
-- Indexing a row from a trigger costs about twice what the same rows cost
-- as one INSERT … SELECT, and a post whose article is about to arrive would
-- be indexed twice (feed text, then article text) and deleted once between.
-- The triggers now only queue the post in `fts_pending`; the writer indexes
-- the queue in batches (`store::index_pending`): when it is idle, at least
-- once a second while busy, and all of it before `crawl --once` exits.
-- A post still in the queue was never indexed, so changing or deleting it
-- needs no FTS 'delete' (which must be given exactly the indexed values).
-- `ready_at` ('' = now, else UTC RFC 3339): a new post whose article is to
-- be fetched waits up to 15 minutes for it, so that it is indexed once, with
-- the article's text; storing the article (or failing to) makes it ready.

-- Merge 16 segments of a level at a time instead of 4: on a 1,000-feed crawl
-- a fifth less CPU, and SQLite's own peak memory 5 MB instead of 30 MB
-- (the frequent merges of large trigram segments were what cost it).
INSERT INTO posts_fts (posts_fts, rank) VALUES ('automerge', 16);

DROP TRIGGER posts_fts_insert;
DROP TRIGGER posts_fts_delete;
DROP TRIGGER posts_fts_update;

CREATE TABLE fts_pending (
    post_id  INTEGER PRIMARY KEY,
    ready_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX fts_pending_ready ON fts_pending(ready_at);

CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT OR REPLACE INTO fts_pending (post_id, ready_at) VALUES (new.id,
        CASE WHEN new.article_state = 'pending'
             THEN strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+15 minutes') ELSE '' END);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, content_text ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, content_text)
        SELECT 'delete', old.id, old.title, old.content_text
        WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE post_id = old.id);
    INSERT OR REPLACE INTO fts_pending (post_id, ready_at) VALUES (new.id, '');
END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, content_text)
        SELECT 'delete', old.id, old.title, old.content_text
        WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE post_id = old.id);
    DELETE FROM fts_pending WHERE post_id = old.id;
END;
