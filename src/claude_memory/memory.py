"""The memory service: save / guard / get / list / update / delete / export … shared by MCP, REST and jobs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from .cache import SearchCache
from .db import memories as q
from .db.memories import Filters, NewMemory
from .db.pool import Database
from .embedding import Embedder
from .errors import Conflict, InvalidInput, NotFound
from .inputs import bounded, clean_tags, clean_text, memory_id, opt_name
from .timeutil import parse_when

MAX_CONTENT_CHARS = 1_000_000
MAX_LIMIT = 1000
PREVIEW_CHARS = 200
STATUSES = ("active", "deleted", "superseded")


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def preview(text: str, n: int = PREVIEW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def clean_content(content: Any) -> str:
    return clean_text(content, "content", MAX_CONTENT_CHARS)


def opt_text(value: Any, name: str) -> str | None:
    """An optional name parameter (see inputs.opt_name)."""
    return opt_name(value, name)


@dataclass(frozen=True)
class Guard:
    noop: float
    update: float


class MemoryService:
    """All reads and writes of memories; search lives in `search.Searcher` built on top of this."""

    def __init__(self, db: Database, embedder: Embedder, guard: Guard, cache: SearchCache) -> None:
        self.db = db
        self.embedder = embedder
        self.guard = guard
        self.cache = cache

    # --- embedding -------------------------------------------------------------------------------
    def embed_documents(self, texts: Sequence[str]) -> list[tuple[np.ndarray, list[np.ndarray]]]:
        """Per text: its memory vector and, when longer than the model's window, one vector per window."""
        windows = [self.embedder.windows(t) for t in texts]
        flat = [w for ws in windows for w in ws]
        vecs = self.embedder.encode(flat) if flat else np.zeros((0, 1), dtype=np.float32)
        out: list[tuple[np.ndarray, list[np.ndarray]]] = []
        i = 0
        for ws in windows:
            part = vecs[i:i + len(ws)]
            i += len(ws)
            if len(ws) == 1:
                out.append((part[0], []))
            else:
                mean = part.mean(axis=0)
                out.append((mean / (np.linalg.norm(mean) or 1.0), list(part)))
        return out

    # --- writes ----------------------------------------------------------------------------------
    def save(self, content: Any, tags: Any = None, source: Any = None, project: Any = None,
             force: bool = False, session_id: str | None = None,
             created_at: datetime | None = None) -> dict[str, Any]:
        """Save one memory behind the exact and near-duplicate guards (skipped with force)."""
        content = clean_content(content)
        tag_list = clean_tags(tags)
        source, project = opt_text(source, "source"), opt_text(project, "project")
        h = content_hash(content)
        with self.db.cursor() as cur:
            existing = q.find_by_hash(cur, project, h)
        if existing:
            return self._exact_duplicate(*existing)
        vec, chunks = self.embed_documents([content])[0]
        if not force:
            with self.db.cursor() as cur:
                near = q.nearest(cur, vec, project)
            if near and near[0][1] >= self.guard.noop:
                mid, sim, text = near[0]
                return {
                    "status": "noop", "saved": False, "duplicate_of": mid, "similarity": round(sim, 4),
                    "preview": preview(text),
                    "message": f"not saved: near-duplicate of memory {mid} (similarity {sim:.3f});"
                               " use force=true to save anyway or update_memory to change it",
                }
        item = NewMemory(content, h, vec, chunks, tag_list, source, project, session_id, created_at)
        with self.db.cursor() as cur:
            (new_id,) = q.insert_many(cur, [item])
            if new_id is None:  # lost a race with an identical insert
                found = q.find_by_hash(cur, project, h)
        if new_id is None:
            assert found is not None
            return self._exact_duplicate(*found)
        self.cache.clear()
        return {"status": "saved", "saved": True, "id": new_id, "message": f"saved memory {new_id}"}

    def _exact_duplicate(self, mid: int, active: bool) -> dict[str, Any]:
        hint = "" if active else " (it is soft-deleted or superseded; restore_memory brings it back)"
        return {"status": "duplicate", "saved": False, "duplicate_of": mid,
                "message": f"not saved: exact duplicate of memory {mid}{hint}"}

    def add_many(self, items: Sequence[dict[str, Any]], batch_size: int = 256) -> list[int | None]:
        """Bulk insert for imports and benchmarks: batched embedding, no near-duplicate guard,
        exact duplicates skipped (None in the result)."""
        ids: list[int | None] = []
        for start in range(0, len(items), batch_size):
            batch = items[start:start + batch_size]
            contents = [clean_content(it["content"]) for it in batch]
            embedded = self.embed_documents(contents)
            rows = [
                NewMemory(c, content_hash(c), vec, chunks, clean_tags(it.get("tags")),
                          opt_text(it.get("source"), "source"), opt_text(it.get("project"), "project"),
                          it.get("session_id"), it.get("created_at"))
                for c, (vec, chunks), it in zip(contents, embedded, batch, strict=True)
            ]
            with self.db.cursor() as cur:
                ids.extend(q.insert_many(cur, rows))
        self.cache.clear()
        return ids

    def check(self, content: Any, project: Any = None) -> dict[str, Any]:
        """Dry-run of the write guard: ADD, UPDATE or NOOP with the nearest match."""
        content = clean_content(content)
        project = opt_text(project, "project")
        with self.db.cursor() as cur:
            existing = q.find_by_hash(cur, project, content_hash(content))
        vec, _ = self.embed_documents([content])[0]
        with self.db.cursor() as cur:
            near = q.nearest(cur, vec, project)
        if existing and existing[1]:
            with self.db.cursor() as cur:
                row = q.get(cur, existing[0])
            assert row is not None
            return {"action": "NOOP", "exact_duplicate": True, "match_id": existing[0], "similarity": 1.0,
                    "preview": preview(row["content"])}
        if not near:
            return {"action": "ADD", "match_id": None, "similarity": None, "preview": None}
        mid, sim, text = near[0]
        action = "NOOP" if sim >= self.guard.noop else "UPDATE" if sim >= self.guard.update else "ADD"
        return {"action": action, "match_id": mid, "similarity": round(sim, 4), "preview": preview(text),
                "thresholds": {"noop": self.guard.noop, "update": self.guard.update}}

    def update(self, memory_id: Any, content: Any = None, tags: Any = None, force: bool = False
               ) -> dict[str, Any]:
        """Change content (re-embedded, guarded) and/or tags of an active memory."""
        mid = self._id(memory_id)
        current = self.get(mid)
        if current["deleted_at"]:
            raise Conflict(f"memory {mid} is soft-deleted; restore it first")
        if content is None and tags is None:
            raise InvalidInput("give content and/or tags to update")
        changed: list[str] = []
        with self.db.cursor() as cur:
            if content is not None:
                text = clean_content(content)
                if text != current["content"]:
                    h = content_hash(text)
                    clash = q.find_by_hash(cur, current["project"], h)
                    if clash and clash[0] != mid:
                        return {"status": "duplicate", "updated": False, "duplicate_of": clash[0],
                                "message": f"not updated: the new content is exactly memory {clash[0]}"}
                    vec, chunks = self.embed_documents([text])[0]
                    if not force:
                        near = q.nearest(cur, vec, current["project"], exclude_id=mid)
                        if near and near[0][1] >= self.guard.noop:
                            return {"status": "noop", "updated": False, "duplicate_of": near[0][0],
                                    "similarity": round(near[0][1], 4),
                                    "message": f"not updated: the new content duplicates memory {near[0][0]};"
                                               " use force=true to update anyway"}
                    q.replace_content(cur, mid, text, h, vec, chunks)
                    changed.append("content")
            if tags is not None:
                new_tags = clean_tags(tags)
                if new_tags != current["tags"]:
                    q.set_tags(cur, mid, new_tags)
                    changed.append("tags")
        if not changed:
            return {"status": "unchanged", "updated": False, "id": mid, "changed": [],
                    "message": f"memory {mid} already has this content and these tags"}
        self.cache.clear()
        return {"status": "updated", "updated": True, "id": mid, "changed": changed,
                "message": f"memory {mid} updated ({', '.join(changed)})"}

    def delete(self, memory_id: Any) -> dict[str, Any]:
        mid = self._id(memory_id)
        row = self.get(mid)
        if row["deleted_at"]:
            return {"id": mid, "deleted": True, "message": f"memory {mid} was already deleted"}
        with self.db.cursor() as cur:
            q.set_deleted(cur, mid, True)
        self.cache.clear()
        return {"id": mid, "deleted": True, "message": f"memory {mid} soft-deleted; restore_memory undoes it"}

    def restore(self, memory_id: Any) -> dict[str, Any]:
        """Undo a soft delete; a raw memory superseded by distillation becomes visible in search again."""
        mid = self._id(memory_id)
        row = self.get(mid)
        if not row["deleted_at"] and not row["superseded_by"]:
            return {"id": mid, "restored": False, "message": f"memory {mid} is not deleted"}
        with self.db.cursor() as cur:
            if row["deleted_at"]:
                q.set_deleted(cur, mid, False)
            if row["superseded_by"]:
                q.unsupersede(cur, mid)
        self.cache.clear()
        was = "deleted" if row["deleted_at"] else "superseded by distillation"
        return {"id": mid, "restored": True, "message": f"memory {mid} restored (it was {was})"}

    def purge(self, memory_id: Any) -> dict[str, Any]:
        """Permanent delete, allowed only for a memory that is already soft-deleted."""
        mid = self._id(memory_id)
        row = self.get(mid)
        if not row["deleted_at"]:
            raise Conflict(f"memory {mid} is active; delete_memory it first (purge is two-step)")
        with self.db.cursor() as cur:
            q.purge(cur, mid)
        self.cache.clear()
        return {"id": mid, "purged": True}

    def bulk_delete(self, tag: Any = None, project: Any = None, source: Any = None,
                    dry_run: bool = True, everything: bool = False) -> dict[str, Any]:
        """Soft-delete every active memory matching the filters (or all of them with `everything`);
        previews unless dry_run is false."""
        # every memory not yet deleted: active ones and raw ones superseded by distillation alike
        flt = Filters(project=opt_text(project, "project"), tag=opt_text(tag, "tag"),
                      source=opt_text(source, "source"), status="undeleted")
        if flt.project is None and flt.tag is None and flt.source is None and not everything:
            raise InvalidInput("bulk_delete needs at least one of tag, project, source")
        with self.db.cursor() as cur:
            if dry_run:
                total, sample = q.bulk_matches(cur, flt, 5)
                return {"dry_run": True, "would_delete": total,
                        "sample": [{"id": r["id"], "preview": preview(r["content"], 120)} for r in sample],
                        "message": "nothing deleted; call again with dry_run=false to delete"}
            count = q.bulk_soft_delete(cur, flt)
        self.cache.clear()
        return {"dry_run": False, "deleted": count,
                "message": f"{count} memories soft-deleted (restore_memory undoes each)"}

    def purge_trash(self, confirm: Any) -> dict[str, Any]:
        """Permanently delete every soft-deleted memory; `confirm` must be the word "purge"."""
        if confirm != "purge":
            raise InvalidInput('type the word "purge" to purge the trash')
        with self.db.cursor() as cur:
            count = q.purge_deleted(cur)
        self.cache.clear()
        return {"purged": count, "message": f"{count} deleted memories purged permanently"}

    # --- reads -----------------------------------------------------------------------------------
    def _id(self, value: Any) -> int:
        return memory_id(value)

    def get(self, memory_id: Any) -> dict[str, Any]:
        mid = self._id(memory_id)
        with self.db.cursor() as cur:
            row = q.get(cur, mid)
        if row is None:
            raise NotFound(f"no memory with id {mid}")
        return row

    def get_many(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        with self.db.cursor() as cur:
            return q.get_many(cur, ids)

    def filters(self, project: Any = None, since: Any = None, before: Any = None, tag: Any = None,
                source: Any = None, status: Any = None) -> Filters:
        """Validated filters from tool or HTTP parameters."""
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        flt = Filters(project=opt_text(project, "project"), since=parse_when(since, "since"),
                      before=parse_when(before, "before"), tag=opt_text(tag, "tag"),
                      source=opt_text(source, "source"), status=status or "active")
        if flt.since and flt.before and flt.since >= flt.before:
            raise InvalidInput("since must be earlier than before")
        return flt

    def list(self, limit: Any = 20, offset: Any = 0, tag: Any = None, project: Any = None,
             since: Any = None, before: Any = None, source: Any = None, status: Any = None,
             max_limit: int = MAX_LIMIT) -> dict[str, Any]:
        """A page of memories, newest first, with the total matching the filters."""
        lim = bounded(limit, "limit", 20, 1, max_limit)
        off = bounded(offset, "offset", 0, 0, 10_000_000)
        flt = self.filters(project, since, before, tag, source, status)
        with self.db.cursor() as cur:
            total, rows = q.list_page(cur, flt, lim, off)
        return {"total": total, "limit": lim, "offset": off, "memories": rows}

    def find_duplicates(self, threshold: Any = 0.92, limit: Any = 20, project: Any = None,
                        scan_limit: Any = 1000) -> dict[str, Any]:
        """Near-duplicate pairs found by probing the HNSW index from the newest `scan_limit` memories."""
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.5 <= threshold <= 1:
            raise InvalidInput("threshold must be a number between 0.5 and 1")
        lim = bounded(limit, "limit", 20, 1, MAX_LIMIT)
        scan = bounded(scan_limit, "scan_limit", 1000, 1, 100_000)
        with self.db.cursor() as cur:
            pairs = q.duplicate_pairs(cur, opt_text(project, "project"), float(threshold), scan)
        seen: dict[tuple[int, int], float] = {}
        for a, b, sim in pairs:
            key = (min(a, b), max(a, b))
            seen[key] = max(sim, seen.get(key, 0.0))
        best = sorted(seen.items(), key=lambda kv: -kv[1])[:lim]
        rows = self.get_many([i for pair, _ in best for i in pair])
        return {"scanned": scan, "threshold": threshold, "pairs": [
            {"a": {"id": a, "preview": preview(rows[a]["content"], 120)},
             "b": {"id": b, "preview": preview(rows[b]["content"], 120)}, "similarity": round(sim, 4)}
            for (a, b), sim in best if a in rows and b in rows]}

    def list_tags(self) -> dict[str, Any]:
        with self.db.cursor() as cur:
            counts = q.tag_counts(cur)
        return {"tags": [{"tag": t, "count": c} for t, c in counts]}
