-- Every vector of a memory in one HNSW index. A memory has its own vector (`memories.embedding`) and, when it
-- is longer than the model's window, window vectors (`memory_chunks`). Searching both took two HNSW scans;
-- `memory_vectors` holds a copy of each (chunk_no -1 for the memory's own vector) with the memory's project,
-- kept by triggers in the same transaction as the write, so one scan finds the nearest vectors of any kind and
-- filters by project before it joins `memories` for the rest (active or not: a soft delete, a restore or a
-- supersede writes nothing here). `memories` and `memory_chunks` stay the
-- source: the copies are derived, the way `memory_terms` is from `fts`.
--
-- The vector column is added here when the store already has one (its dimension comes from the model, see
-- `db/migrate.set_dimension`, which also (re)creates it on a new store or a change of model).
CREATE TABLE IF NOT EXISTS memory_vectors (
    memory_id bigint NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    chunk_no  integer NOT NULL,          -- -1: the memory's own vector; 0..: its windows (memory_chunks)
    project   text,
    PRIMARY KEY (memory_id, chunk_no)
);
-- A project's vectors, for an exact scan when the project is small (`db/memories.semantic`).
CREATE INDEX IF NOT EXISTS memory_vectors_project ON memory_vectors (project);

CREATE OR REPLACE FUNCTION memory_vectors_from_memory() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.embedding IS DISTINCT FROM OLD.embedding THEN
        IF NEW.embedding IS NULL THEN
            DELETE FROM memory_vectors WHERE memory_id = NEW.id AND chunk_no = -1;
        ELSE
            INSERT INTO memory_vectors (memory_id, chunk_no, project, embedding)
            VALUES (NEW.id, -1, NEW.project, NEW.embedding)
            ON CONFLICT (memory_id, chunk_no) DO UPDATE SET embedding = EXCLUDED.embedding;
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.project IS DISTINCT FROM OLD.project THEN
        UPDATE memory_vectors SET project = NEW.project WHERE memory_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION memory_vectors_from_chunk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM memory_vectors WHERE memory_id = OLD.memory_id AND chunk_no = OLD.chunk_no;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.embedding IS NOT NULL THEN
        INSERT INTO memory_vectors (memory_id, chunk_no, project, embedding)
        SELECT NEW.memory_id, NEW.chunk_no, m.project, NEW.embedding
        FROM memories m WHERE m.id = NEW.memory_id
        ON CONFLICT (memory_id, chunk_no) DO UPDATE SET embedding = EXCLUDED.embedding;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS memories_vectors ON memories;
CREATE TRIGGER memories_vectors AFTER INSERT OR UPDATE ON memories
    FOR EACH ROW EXECUTE FUNCTION memory_vectors_from_memory();
DROP TRIGGER IF EXISTS memory_chunks_vectors ON memory_chunks;
CREATE TRIGGER memory_chunks_vectors AFTER INSERT OR UPDATE OR DELETE ON memory_chunks
    FOR EACH ROW EXECUTE FUNCTION memory_vectors_from_chunk();

-- An existing store: copy its vectors and move the HNSW index to them (at 100k memories, about a minute).
DO $$
DECLARE
    vtype text;
BEGIN
    SELECT format_type(a.atttypid, a.atttypmod) INTO vtype FROM pg_attribute a
    WHERE a.attrelid = 'memories'::regclass AND a.attname = 'embedding' AND NOT a.attisdropped;
    IF vtype IS NULL THEN
        RETURN;                          -- a new store: set_dimension adds the column and the index
    END IF;
    EXECUTE format('ALTER TABLE memory_vectors ADD COLUMN IF NOT EXISTS embedding %s NOT NULL', vtype);
    INSERT INTO memory_vectors (memory_id, chunk_no, project, embedding)
    SELECT id, -1, project, embedding
    FROM memories WHERE embedding IS NOT NULL
    ON CONFLICT DO NOTHING;
    INSERT INTO memory_vectors (memory_id, chunk_no, project, embedding)
    SELECT c.memory_id, c.chunk_no, m.project, c.embedding
    FROM memory_chunks c JOIN memories m ON m.id = c.memory_id WHERE c.embedding IS NOT NULL
    ON CONFLICT DO NOTHING;
    PERFORM set_config('maintenance_work_mem', '512MB', true);
    DROP INDEX IF EXISTS memories_embedding_hnsw;
    DROP INDEX IF EXISTS memory_chunks_embedding_hnsw;
    CREATE INDEX IF NOT EXISTS memory_vectors_embedding_hnsw ON memory_vectors USING hnsw (embedding vector_cosine_ops);
END $$;
