-- Core schema. The embedding columns are added by the application once the model's dimension
-- is known (see claude_memory.db.migrate.ensure_embedding_schema); the dimension is recorded in memory_meta.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE IF NOT EXISTS memory_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE IF NOT EXISTS memories (
    id            bigserial PRIMARY KEY,
    content       text NOT NULL,
    content_hash  text NOT NULL,
    tags          text[] NOT NULL DEFAULT '{}',
    source        text,
    project       text,
    session_id    text,
    fts           tsvector,
    doc_len       integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    superseded_by bigint
);

CREATE UNIQUE INDEX IF NOT EXISTS memories_project_hash_key ON memories ((coalesce(project, '')), content_hash);
CREATE INDEX IF NOT EXISTS memories_tags_gin ON memories USING gin (tags);
CREATE INDEX IF NOT EXISTS memories_fts_gin ON memories USING gin (fts);
CREATE INDEX IF NOT EXISTS memories_created_at ON memories (created_at);
CREATE INDEX IF NOT EXISTS memories_project ON memories (project);
CREATE INDEX IF NOT EXISTS memories_deleted_at ON memories (deleted_at);
CREATE INDEX IF NOT EXISTS memories_session ON memories (session_id);

-- Vectors for the windows of memories longer than the model's input (all of a memory stays searchable).
CREATE TABLE IF NOT EXISTS memory_chunks (
    memory_id bigint NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    chunk_no  integer NOT NULL,
    PRIMARY KEY (memory_id, chunk_no)
);

-- Keyword index and BM25 document length, kept in step with content.
CREATE OR REPLACE FUNCTION memories_fts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.fts := to_tsvector('english', NEW.content);
    NEW.doc_len := (SELECT coalesce(sum(coalesce(array_length(positions, 1), 1)), 0)
                    FROM unnest(NEW.fts));
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS memories_fts_trg ON memories;
CREATE TRIGGER memories_fts_trg BEFORE INSERT OR UPDATE OF content ON memories
    FOR EACH ROW EXECUTE FUNCTION memories_fts_update();

-- Every committed write tells listening servers to drop their search caches.
CREATE OR REPLACE FUNCTION memories_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('claude_memory_changed', '');
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS memories_notify_trg ON memories;
CREATE TRIGGER memories_notify_trg AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON memories
    FOR EACH STATEMENT EXECUTE FUNCTION memories_notify_change();

CREATE TABLE IF NOT EXISTS imported_sessions (
    session_id         text PRIMARY KEY,
    project            text,
    cwd                text,
    git_branch         text,
    title              text,
    source_path        text,
    first_message_at   timestamptz,
    last_message_at    timestamptz,
    message_count      integer NOT NULL DEFAULT 0,
    bytes_read         bigint NOT NULL DEFAULT 0,
    lines_read         bigint NOT NULL DEFAULT 0,
    imported_at        timestamptz NOT NULL DEFAULT now(),
    distilled          boolean NOT NULL DEFAULT false,
    distill_failures   integer NOT NULL DEFAULT 0,
    signals_extracted  boolean NOT NULL DEFAULT false,
    behavior_extracted boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS imported_sessions_project ON imported_sessions (project);

CREATE TABLE IF NOT EXISTS messages (
    id           bigserial PRIMARY KEY,
    session_id   text NOT NULL,
    uuid         text NOT NULL,
    parent_uuid  text,
    role         text NOT NULL,
    kind         text NOT NULL,
    text         text NOT NULL,
    timestamp    timestamptz,
    is_sidechain boolean NOT NULL DEFAULT false,
    UNIQUE (session_id, uuid)
);
CREATE INDEX IF NOT EXISTS messages_session ON messages (session_id, timestamp);
