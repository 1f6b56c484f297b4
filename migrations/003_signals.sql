-- Evidence behind learned memories (signals, behaviour): how many sessions support it and when it was
-- last seen. The preferences read model turns these into a confidence.
ALTER TABLE memories ADD COLUMN IF NOT EXISTS evidence integer;
ALTER TABLE memories ADD COLUMN IF NOT EXISTS last_seen timestamptz;
CREATE INDEX IF NOT EXISTS imported_sessions_signals_pending ON imported_sessions (project)
    WHERE NOT signals_extracted;
