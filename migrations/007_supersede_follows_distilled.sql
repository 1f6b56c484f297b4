-- A session's raw memories stay hidden (superseded_by) only while an active distilled memory of that session
-- exists: deleting or purging the last one brings them back to search, restoring one hides them again.
CREATE OR REPLACE FUNCTION memories_supersede_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sid text;
    keeper bigint;
BEGIN
    sid := coalesce(NEW.session_id, OLD.session_id);
    IF sid IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT id INTO keeper FROM memories
    WHERE session_id = sid AND deleted_at IS NULL AND superseded_by IS NULL AND tags @> ARRAY['distilled']
    ORDER BY id LIMIT 1;
    IF keeper IS NULL THEN
        UPDATE memories SET superseded_by = NULL
        WHERE session_id = sid AND superseded_by IS NOT NULL AND NOT (tags @> ARRAY['distilled']);
    ELSIF TG_OP = 'UPDATE' AND NEW.deleted_at IS NULL THEN  -- a distilled memory was restored: hide again
        UPDATE memories SET superseded_by = keeper
        WHERE session_id = sid AND deleted_at IS NULL AND superseded_by IS DISTINCT FROM keeper
          AND NOT (tags && ARRAY['distilled', 'type:behavior', 'type:preference', 'type:pattern']);
    ELSE  -- another distilled memory of the session remains: hidden rows now point at it
        UPDATE memories SET superseded_by = keeper
        WHERE session_id = sid AND superseded_by IS NOT NULL AND superseded_by IS DISTINCT FROM keeper;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS memories_supersede_update_trg ON memories;
CREATE TRIGGER memories_supersede_update_trg AFTER UPDATE OF deleted_at ON memories
    FOR EACH ROW WHEN (OLD.tags @> ARRAY['distilled'] AND (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION memories_supersede_sync();
DROP TRIGGER IF EXISTS memories_supersede_delete_trg ON memories;
CREATE TRIGGER memories_supersede_delete_trg AFTER DELETE ON memories
    FOR EACH ROW WHEN (OLD.tags @> ARRAY['distilled'])
    EXECUTE FUNCTION memories_supersede_sync();
