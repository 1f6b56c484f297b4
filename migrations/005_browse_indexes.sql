-- Covering indexes over active memories for the REST API and the UI at 100k+ memories: the newest-first list
-- (and its count), and per-project counts, time ranges and sources (timeline, projects, stats), all read as
-- index-only scans instead of scanning the wide rows (content and vectors).
CREATE INDEX IF NOT EXISTS memories_active_newest ON memories (created_at DESC, id DESC)
    WHERE deleted_at IS NULL AND superseded_by IS NULL;
CREATE INDEX IF NOT EXISTS memories_active_project_time ON memories (project, created_at) INCLUDE (source)
    WHERE deleted_at IS NULL AND superseded_by IS NULL;
CREATE INDEX IF NOT EXISTS memories_superseded ON memories (superseded_by)
    WHERE superseded_by IS NOT NULL AND deleted_at IS NULL;
