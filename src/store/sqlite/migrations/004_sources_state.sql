-- Schema version 4: what the scheduler keeps about a source.
--   url                    the URL in effect (changes only on a permanent redirect)
--   config_url             the URL the configuration names; when it changes, url follows
--   hold_until             no poll before this time (a 429/503 Retry-After)
--   last_unconditional_at  the last fetch sent without validators (one every 12 hours)

ALTER TABLE sources ADD COLUMN config_url TEXT;
ALTER TABLE sources ADD COLUMN hold_until TEXT;
ALTER TABLE sources ADD COLUMN last_unconditional_at TEXT;
UPDATE sources SET config_url = url;
