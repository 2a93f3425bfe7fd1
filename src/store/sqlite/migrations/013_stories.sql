-- Schema version 13: stories, the same news republished by many outlets.
--
-- Every post newscrawl stores belongs to a story: a post whose text (or,
-- for a teaser, whose title and time) is a near-duplicate of a post of the
-- last `[stories] window` joins that post's story, else it starts one.
-- Posts are never merged or dropped: this only groups them.
--
-- stories: `title` and `post_id` are the representative (the post that
-- started the story; NULL once that post is pruned), `first_seen_at` and
-- `last_seen_at` when its first and latest posts were stored, `post_count`
-- how many posts it has (newscrawl counts the posts it stores; the
-- triggers below the posts moved, assigned late or deleted, whoever does
-- it). Ids are never given out twice: a story joined into another (a post
-- showed both to be the same news) is deleted, and its id not reused.
-- `post_id` is checked at the commit (DEFERRABLE): a story is made just
-- before its first post, in the same transaction.
CREATE TABLE stories (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    title         TEXT,
    post_id       INTEGER REFERENCES posts(id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    post_count    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX stories_last_seen ON stories(last_seen_at);
-- For the representative's ON DELETE: a pruned post finds its story by it.
CREATE INDEX stories_post ON stories(post_id);

-- NULL only for a post stored before version 13 (or by another tool) that
-- the writer has not assigned yet: it does so in its idle time, oldest
-- first.
ALTER TABLE posts ADD COLUMN story_id INTEGER REFERENCES stories(id);
CREATE INDEX posts_story ON posts(story_id);

-- story_signatures: what a post is compared on (newscrawl's own encoding
-- of its MinHash signatures and numbers), `at` its time (published, else
-- stored; seconds since the epoch), `seen_at` when it was stored. The
-- writer keeps the LSH index of the posts stored within the window in
-- memory, read from here when it starts: a restart, the daemon and
-- `crawl --once` see the same posts.
CREATE TABLE story_signatures (
    post_id   INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    seen_at   INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    signature BLOB NOT NULL
);
CREATE INDEX story_signatures_seen ON story_signatures(seen_at);

CREATE TRIGGER posts_story_update AFTER UPDATE OF story_id ON posts
WHEN old.story_id IS NOT new.story_id BEGIN
    UPDATE stories SET post_count = post_count - 1 WHERE id = old.story_id;
    UPDATE stories SET post_count = post_count + 1, post_id = COALESCE(post_id, new.id),
        last_seen_at = max(last_seen_at, new.fetched_at)
    WHERE id = new.story_id;
END;
CREATE TRIGGER posts_story_delete AFTER DELETE ON posts WHEN old.story_id IS NOT NULL BEGIN
    UPDATE stories SET post_count = post_count - 1 WHERE id = old.story_id;
END;
