-- Schema version 12: enclosures, the files attached to an item (podcast
-- audio, images: RSS `enclosure`, `media:content`, Atom
-- `link rel="enclosure"`, JSON Feed `attachments`), in the feed's order.
CREATE TABLE enclosures (
    post_id  INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    url      TEXT NOT NULL,
    type     TEXT,
    length   INTEGER,
    PRIMARY KEY (post_id, position)
);
