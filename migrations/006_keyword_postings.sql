-- Keyword search without touching every matching memory: a postings table (lexeme → memory, term frequency)
-- kept in step with `memories` by triggers, carrying the filter columns so a query reads only index entries,
-- and per-project counters (documents, total length) for BM25's corpus statistics. PostgreSQL stays the one
-- source of truth: a write from any process is searchable as soon as it commits.
CREATE TABLE IF NOT EXISTS memory_terms (
    lexeme     text NOT NULL,
    memory_id  bigint NOT NULL,
    tf         integer NOT NULL,
    doc_len    integer NOT NULL,
    project    text,
    created_at timestamptz NOT NULL,
    active     boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS memory_terms_search ON memory_terms (lexeme, project, created_at)
    INCLUDE (memory_id, tf, doc_len) WHERE active;
CREATE INDEX IF NOT EXISTS memory_terms_memory ON memory_terms (memory_id);

CREATE TABLE IF NOT EXISTS memory_counts (
    project   text PRIMARY KEY,          -- '' for memories without a project
    docs      bigint NOT NULL DEFAULT 0,
    total_len bigint NOT NULL DEFAULT 0
);

CREATE OR REPLACE FUNCTION memory_terms_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_active boolean;
    is_active boolean;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        was_active := OLD.deleted_at IS NULL AND OLD.superseded_by IS NULL;
        IF was_active THEN
            UPDATE memory_counts SET docs = docs - 1, total_len = total_len - OLD.doc_len
            WHERE project = coalesce(OLD.project, '');
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        DELETE FROM memory_terms WHERE memory_id = OLD.id;
        RETURN NULL;
    END IF;
    is_active := NEW.deleted_at IS NULL AND NEW.superseded_by IS NULL;
    IF is_active THEN
        INSERT INTO memory_counts (project, docs, total_len) VALUES (coalesce(NEW.project, ''), 1, NEW.doc_len)
        ON CONFLICT (project) DO UPDATE SET docs = memory_counts.docs + 1,
                                            total_len = memory_counts.total_len + EXCLUDED.total_len;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.fts IS NOT DISTINCT FROM OLD.fts THEN
        IF NEW.project IS DISTINCT FROM OLD.project OR NEW.created_at IS DISTINCT FROM OLD.created_at
           OR is_active IS DISTINCT FROM was_active THEN
            UPDATE memory_terms SET project = NEW.project, created_at = NEW.created_at, active = is_active
            WHERE memory_id = NEW.id;
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM memory_terms WHERE memory_id = NEW.id;
    END IF;
    INSERT INTO memory_terms (lexeme, memory_id, tf, doc_len, project, created_at, active)
    SELECT u.lexeme, NEW.id, coalesce(array_length(u.positions, 1), 1), NEW.doc_len, NEW.project,
           NEW.created_at, is_active
    FROM unnest(NEW.fts) u;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS memory_terms_trg ON memories;
CREATE TRIGGER memory_terms_trg
    AFTER INSERT OR DELETE OR UPDATE OF content, project, created_at, deleted_at, superseded_by ON memories
    FOR EACH ROW EXECUTE FUNCTION memory_terms_sync();

-- the memories already stored
TRUNCATE memory_terms, memory_counts;
INSERT INTO memory_terms (lexeme, memory_id, tf, doc_len, project, created_at, active)
SELECT u.lexeme, m.id, coalesce(array_length(u.positions, 1), 1), m.doc_len, m.project, m.created_at,
       m.deleted_at IS NULL AND m.superseded_by IS NULL
FROM memories m, unnest(m.fts) u;
INSERT INTO memory_counts (project, docs, total_len)
SELECT coalesce(project, ''), count(*), coalesce(sum(doc_len), 0) FROM memories
WHERE deleted_at IS NULL AND superseded_by IS NULL GROUP BY 1;

-- BM25's corpus statistics under a date filter come from an index-only scan: doc_len joins the covering index.
DROP INDEX IF EXISTS memories_active_project_time;
CREATE INDEX IF NOT EXISTS memories_active_project_time_len ON memories (project, created_at)
    INCLUDE (source, doc_len) WHERE deleted_at IS NULL AND superseded_by IS NULL;
