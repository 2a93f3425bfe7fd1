-- Schema version 7: search that finds Chinese words, at a quarter of the cost.
-- The trigram index could not find a two-character word (央行, 降息) and cost
-- an index entry per character of every language. `posts_fts` now indexes
-- each text as `search::index_text` writes it: every CJK character as a word
-- of its own (央行降息 → 央 行 降 息), the rest as words of the stock
-- `unicode61` tokenizer; a query is turned into phrases of the same
-- characters (`search::match_query`; in plain SQL, the README's query).
-- `content="posts"` in this spelling is what Datasette and sqlite-utils look
-- for to offer search on `posts`. Reading a column of posts_fts reads it
-- from `posts`; the index itself holds the split form, so FTS5's 'rebuild'
-- (which would index the raw text) must not be run by hand: newscrawl
-- re-queues every post instead, as below.
DROP TRIGGER posts_fts_insert;
DROP TRIGGER posts_fts_update;
DROP TRIGGER posts_fts_delete;
DROP TABLE posts_fts;
CREATE VIRTUAL TABLE posts_fts USING fts5(
    title, content_text,
    content="posts", content_rowid="id",
    tokenize="unicode61 remove_diacritics 2"
);
INSERT INTO posts_fts (posts_fts, rank) VALUES ('automerge', 16);

-- What the index holds for a post that changed or went since it was
-- indexed: an FTS 'delete' must be given exactly the indexed values, which
-- only newscrawl can compute, so the triggers (which any tool may fire) keep
-- the old values here and the writer removes them with the next batch.
CREATE TABLE fts_stale (
    post_id      INTEGER PRIMARY KEY,
    title        TEXT,
    content_text TEXT
);

-- Every stored post is indexed anew (a post waiting for its article keeps
-- its wait).
INSERT OR IGNORE INTO fts_pending (post_id, ready_at) SELECT id, '' FROM posts;

CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT OR REPLACE INTO fts_pending (post_id, ready_at) VALUES (new.id,
        CASE WHEN new.article_state = 'pending'
             THEN strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+15 minutes') ELSE '' END);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, content_text ON posts BEGIN
    INSERT OR IGNORE INTO fts_stale (post_id, title, content_text)
        SELECT old.id, old.title, old.content_text
        WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE post_id = old.id);
    INSERT OR REPLACE INTO fts_pending (post_id, ready_at) VALUES (new.id, '');
END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT OR IGNORE INTO fts_stale (post_id, title, content_text)
        SELECT old.id, old.title, old.content_text
        WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE post_id = old.id);
    DELETE FROM fts_pending WHERE post_id = old.id;
END;
