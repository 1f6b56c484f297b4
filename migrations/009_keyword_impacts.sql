-- Keyword search that stops early. Each posting carries its BM25 term weight without idf (`w`, computed
-- with a reference average length fixed in `keyword_params`), and the postings are indexed in descending
-- weight per lexeme (and per lexeme and project), so a query reads the best postings first and stops when
-- no unread posting can enter its top k (see `db/memories.bm25_top`). Exact scores use the real average
-- length: a posting's true weight is at most `w * greatest(1, avgdl / reference)`.
--
-- Document frequencies come from counters, as the corpus size does. A trigger never updates a shared
-- counter row (writers of hot lexemes would queue on its lock, or deadlock across projects): it appends
-- deltas to `memory_df_delta`, and `memory_df_fold()` moves them into `memory_df` in one statement, so a
-- reader sees either the deltas or their sum, never both and never neither.
CREATE TABLE IF NOT EXISTS keyword_params (
    id      integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    k1      double precision NOT NULL,
    b       double precision NOT NULL,
    avgdl   double precision NOT NULL CHECK (avgdl > 0)
);
INSERT INTO keyword_params (k1, b, avgdl)
SELECT 1.2, 0.75, greatest(coalesce(sum(total_len)::double precision / nullif(sum(docs), 0), 32), 1)
FROM memory_counts
ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS memory_df (
    lexeme  text NOT NULL,
    project text NOT NULL,              -- '' for memories without a project
    df      bigint NOT NULL,
    PRIMARY KEY (lexeme, project)
);
CREATE TABLE IF NOT EXISTS memory_df_delta (
    lexeme  text NOT NULL,
    project text NOT NULL,
    delta   integer NOT NULL
);
CREATE INDEX IF NOT EXISTS memory_df_delta_lexeme ON memory_df_delta (lexeme, project);

ALTER TABLE memory_terms ADD COLUMN IF NOT EXISTS w real;
UPDATE memory_terms t SET w = t.tf * (p.k1 + 1) / (t.tf + p.k1 * (1 - p.b + p.b * t.doc_len / p.avgdl))
FROM keyword_params p;
ALTER TABLE memory_terms ALTER COLUMN w SET NOT NULL;

DROP INDEX IF EXISTS memory_terms_search;
DROP INDEX IF EXISTS memory_terms_memory;
CREATE INDEX IF NOT EXISTS memory_terms_impact ON memory_terms (lexeme, w DESC, memory_id DESC)
    INCLUDE (tf, doc_len, created_at) WHERE active;
CREATE INDEX IF NOT EXISTS memory_terms_project_impact ON memory_terms (lexeme, project, w DESC, memory_id DESC)
    INCLUDE (tf, doc_len, created_at) WHERE active;
CREATE INDEX IF NOT EXISTS memory_terms_doc ON memory_terms (memory_id, lexeme) INCLUDE (tf, doc_len);

TRUNCATE memory_df, memory_df_delta;
INSERT INTO memory_df (lexeme, project, df)
SELECT lexeme, coalesce(project, ''), count(*) FROM memory_terms WHERE active GROUP BY 1, 2;

CREATE OR REPLACE FUNCTION memory_df_fold() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    moved bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('claude_memory.memory_df_fold')) THEN
        RETURN 0;                       -- another fold is running; it takes these deltas too
    END IF;
    WITH d AS (DELETE FROM memory_df_delta RETURNING lexeme, project, delta),
    s AS (SELECT lexeme, project, sum(delta) AS delta, count(*) AS n FROM d GROUP BY 1, 2),
    up AS (INSERT INTO memory_df AS f (lexeme, project, df) SELECT lexeme, project, delta FROM s
           ON CONFLICT (lexeme, project) DO UPDATE SET df = f.df + EXCLUDED.df)
    SELECT coalesce(sum(n), 0) INTO moved FROM s;
    RETURN moved;
END $$;

CREATE OR REPLACE FUNCTION memory_terms_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_active boolean := false;
    is_active boolean := false;
    moved boolean;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        was_active := OLD.deleted_at IS NULL AND OLD.superseded_by IS NULL;
        IF was_active THEN
            UPDATE memory_counts SET docs = docs - 1, total_len = total_len - OLD.doc_len
            WHERE project = coalesce(OLD.project, '');
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF was_active THEN
            INSERT INTO memory_df_delta (lexeme, project, delta)
            SELECT u.lexeme, coalesce(OLD.project, ''), -1 FROM unnest(OLD.fts) u;
        END IF;
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
        moved := NEW.project IS DISTINCT FROM OLD.project;
        IF moved OR NEW.created_at IS DISTINCT FROM OLD.created_at OR is_active IS DISTINCT FROM was_active THEN
            UPDATE memory_terms SET project = NEW.project, created_at = NEW.created_at, active = is_active
            WHERE memory_id = NEW.id;
        END IF;
        IF was_active AND (NOT is_active OR moved) THEN
            INSERT INTO memory_df_delta (lexeme, project, delta)
            SELECT u.lexeme, coalesce(OLD.project, ''), -1 FROM unnest(OLD.fts) u;
        END IF;
        IF is_active AND (NOT was_active OR moved) THEN
            INSERT INTO memory_df_delta (lexeme, project, delta)
            SELECT u.lexeme, coalesce(NEW.project, ''), 1 FROM unnest(NEW.fts) u;
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF was_active THEN
            INSERT INTO memory_df_delta (lexeme, project, delta)
            SELECT u.lexeme, coalesce(OLD.project, ''), -1 FROM unnest(OLD.fts) u;
        END IF;
        DELETE FROM memory_terms WHERE memory_id = NEW.id;
    END IF;
    INSERT INTO memory_terms (lexeme, memory_id, tf, doc_len, project, created_at, active, w)
    SELECT u.lexeme, NEW.id, x.tf, NEW.doc_len, NEW.project, NEW.created_at, is_active,
           x.tf * (p.k1 + 1) / (x.tf + p.k1 * (1 - p.b + p.b * NEW.doc_len / p.avgdl))
    FROM unnest(NEW.fts) u CROSS JOIN LATERAL (SELECT coalesce(array_length(u.positions, 1), 1) AS tf) x
    CROSS JOIN keyword_params p;
    IF is_active THEN
        INSERT INTO memory_df_delta (lexeme, project, delta)
        SELECT u.lexeme, coalesce(NEW.project, ''), 1 FROM unnest(NEW.fts) u;
    END IF;
    RETURN NULL;
END $$;

-- The session-neighbour lookup of hybrid search reads the memories just before and after a candidate in its
-- session through this index, instead of ordering whole sessions.
CREATE INDEX IF NOT EXISTS memories_active_session_order ON memories (session_id, created_at, id)
    WHERE deleted_at IS NULL AND superseded_by IS NULL AND session_id IS NOT NULL;
