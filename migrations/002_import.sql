-- Import bookkeeping: per-file read offsets (incremental import), readable project names, and the
-- archive columns the parsers fill (merged API replies, order from the uuid chain, structured blocks).

CREATE TABLE IF NOT EXISTS import_files (
    path        text PRIMARY KEY,
    session_id  text,
    size        bigint NOT NULL DEFAULT 0,
    mtime_ns    bigint NOT NULL DEFAULT 0,
    bytes_read  bigint NOT NULL DEFAULT 0,
    lines_read  bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One readable, unique name per project root; two repositories both called `app` are two rows.
CREATE TABLE IF NOT EXISTS projects (
    path        text PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE messages ADD COLUMN IF NOT EXISTS message_id text;
ALTER TABLE messages ADD COLUMN IF NOT EXISTS seq integer;
ALTER TABLE messages ADD COLUMN IF NOT EXISTS blocks jsonb;
ALTER TABLE messages ADD COLUMN IF NOT EXISTS source text;

-- A resumed session replays earlier uuids under a new session id: a uuid is archived once.
ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_session_id_uuid_key;
CREATE UNIQUE INDEX IF NOT EXISTS messages_uuid_key ON messages (uuid);
CREATE INDEX IF NOT EXISTS messages_session_seq ON messages (session_id, seq);
CREATE INDEX IF NOT EXISTS messages_session_message_id ON messages (session_id, message_id)
    WHERE message_id IS NOT NULL;

-- Per-session reads go by (session_id, seq); the timestamp index only slowed the archive's bulk writes.
DROP INDEX IF EXISTS messages_session;
