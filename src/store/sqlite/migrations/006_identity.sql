-- Schema version 6: the revised identity rule and repeats that never
-- overwrite (see README, "Dedup").
--   sources.position  the source's place in the configuration (0 = first):
--                     when two sources deliver one article in one run, the
--                     one configured first owns the post, whatever the
--                     order their polls finished in.
-- Keys already stored stay valid: a new item is looked up by its new key
-- and then by the keys the previous rule gave it (same guid or content), so
-- an upgrade adds the items the old rule merged and duplicates none.
ALTER TABLE sources ADD COLUMN position INTEGER;
