-- Support behind learned memories: every session in which a correction (or a behaviour) was seen, also
-- when its words were exactly those of a memory already stored; and the group of similar learned memories
-- a memory belongs to (the id of the group's newest member when grouped), so the preferences read model
-- shows one entry per group with the sessions of all its members as evidence.
CREATE TABLE IF NOT EXISTS signal_evidence (
    memory_id   bigint NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    session_id  text NOT NULL,
    seen_at     timestamptz,
    PRIMARY KEY (memory_id, session_id)
);
ALTER TABLE memories ADD COLUMN IF NOT EXISTS signal_group bigint;
