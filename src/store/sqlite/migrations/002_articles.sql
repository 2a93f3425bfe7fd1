-- Schema version 2: article fetching state. A post of a source that follows
-- links is 'pending' until its article is stored ('done') or every attempt
-- failed ('failed', the feed's text kept); NULL when nothing is followed.

ALTER TABLE posts ADD COLUMN article_state TEXT
    CHECK (article_state IS NULL OR article_state IN ('pending', 'done', 'failed'));
ALTER TABLE posts ADD COLUMN article_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN article_next_at TEXT;
-- The source whose `follow` fetches the article: the first that delivered the
-- post, or a later one that follows links when the first did not.
ALTER TABLE posts ADD COLUMN article_via TEXT;
CREATE INDEX posts_article_due ON posts(article_via, article_next_at) WHERE article_state = 'pending';
