-- When each session was distilled / passed through the behavioural pass (the REST status shows the last
-- distill time), and an index for browsing sessions newest first.
ALTER TABLE imported_sessions ADD COLUMN IF NOT EXISTS distilled_at timestamptz;
ALTER TABLE imported_sessions ADD COLUMN IF NOT EXISTS behavior_at timestamptz;
CREATE INDEX IF NOT EXISTS imported_sessions_last_message ON imported_sessions (last_message_at DESC NULLS LAST);
CREATE INDEX IF NOT EXISTS import_files_updated ON import_files (updated_at);
