"""Read models for the start of a session: startup_context and recent_context."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from .db import memories as q
from .memory import MemoryService, bounded, opt_text, preview

PREFERENCE_TIERS = (
    ("explicit", "type:preference"),
    ("signals", "source:signals"),
    ("inferred", "type:behavior"),
)


def resolve_project(memories: MemoryService, project: str | None) -> str | None:
    """Accept a readable project name or a working directory inside a known project."""
    if project is None or "/" not in project and "\\" not in project:
        return project
    with memories.db.cursor() as cur:
        found = q.project_for_path(cur, project.rstrip("/") or "/")
    return found or PurePosixPath(project.rstrip("/")).name or project


def recent_context(memories: MemoryService, project: Any = None, limit: Any = 10) -> dict[str, Any]:
    """Newest distilled memories of a project; falls back to the newest active ones."""
    lim = bounded(limit, "limit", 10, 1, 100)
    name = resolve_project(memories, opt_text(project, "project"))
    with memories.db.cursor() as cur:
        rows = q.newest_with_tag(cur, "distilled", name, lim)
        kind = "distilled"
        if not rows:
            rows = q.newest_with_tag(cur, None, name, lim)
            kind = "recent"
    return {"project": name, "kind": kind, "memories": [
        {"id": r["id"], "content": r["content"][:1500], "tags": r["tags"], "created_at": r["created_at"]}
        for r in rows]}


def startup_context(memories: MemoryService, project: Any = None, budget: int = 2048) -> str:
    """How the user works (explicit, then signals, then inferred), then recent work; within `budget` bytes."""
    name = resolve_project(memories, opt_text(project, "project"))
    lines: list[str] = []
    used = 0

    def add(line: str) -> bool:
        nonlocal used
        size = len(line.encode("utf-8")) + 1
        if used + size > budget:
            return False
        lines.append(line)
        used += size
        return True

    add(f"# Memory for {name}" if name else "# Memory")
    seen: set[int] = set()
    with memories.db.cursor() as cur:
        prefs = [(tier, r) for tier, tag in PREFERENCE_TIERS for r in q.newest_with_tag(cur, tag, None, 20)]
        work = q.newest_with_tag(cur, "distilled", name, 10) if name else []
    prefs = [(t, r) for t, r in prefs if r["project"] in (None, name) or name is None]
    if prefs:
        add("## How the user works")
        for tier, r in prefs:
            if r["id"] in seen:
                continue
            seen.add(r["id"])
            if not add(f"- [{tier}] {preview(r['content'], 240)}"):
                break
    if work:
        add("## Recent work")
        for r in work:
            if not add(f"- {r['created_at'][:10]}: {preview(r['content'], 300)}"):
                break
    if not prefs and not work:
        add("No stored preferences or recent distilled work for this project yet.")
    return "\n".join(lines)
