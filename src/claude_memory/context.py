"""Read models for the start of a session: startup_context and recent_context."""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from .db import memories as q
from .db import sessions as sq
from .memory import MemoryService, bounded, opt_text, preview
from .preferences import preferences

PREFERENCE_SHARE = 0.6  # of the budget, when there is recent work to show as well


def resolve_project(memories: MemoryService, project: str | None) -> str | None:
    """Accept a readable project name or a working directory (a hook's cwd) inside a known project."""
    if project is None or ("/" not in project and "\\" not in project):
        return project
    path = project.rstrip("/\\") or project
    with memories.db.cursor() as cur:
        found = sq.known_project(cur, path) or q.project_for_path(cur, path)
    if found:
        return found
    return (PureWindowsPath(path) if "\\" in path else PurePosixPath(path)).name or project


def _work(memories: MemoryService, name: str | None, limit: int) -> tuple[str, list[dict[str, Any]]]:
    """Newest distilled memories of the project, else its newest raw ones (learned memories excluded)."""
    with memories.db.cursor() as cur:
        rows = q.newest_with_tag(cur, "distilled", name, limit)
        if rows:
            return "distilled", rows
        rows = q.newest_with_tag(cur, None, name, limit * 3)
    rows = [r for r in rows if not any(t.startswith("type:") for t in r["tags"])]
    return "recent", rows[:limit]


def recent_context(memories: MemoryService, project: Any = None, limit: Any = 10) -> dict[str, Any]:
    """Newest distilled memories of a project; falls back to the newest active ones."""
    lim = bounded(limit, "limit", 10, 1, 100)
    name = resolve_project(memories, opt_text(project, "project"))
    kind, rows = _work(memories, name, lim)
    return {"project": name, "kind": kind, "memories": [
        {"id": r["id"], "content": r["content"][:1500], "tags": r["tags"], "created_at": r["created_at"]}
        for r in rows]}


def startup_context(memories: MemoryService, project: Any = None, budget: int = 2048) -> str:
    """How the user works (explicit, then signals, then inferred), then recent work; within `budget` bytes
    (UTF-8). Says so when it has nothing."""
    name = resolve_project(memories, opt_text(project, "project"))
    prefs = preferences(memories, name)
    kind, work = _work(memories, name, 10)
    pref_lines: list[str] = []
    for tier in prefs["tiers"]:
        if tier["entries"]:
            pref_lines.append(f"{tier['tier'].capitalize()}:")
            pref_lines += [f"- {preview(e['content'], 220)}" for e in tier["entries"]]
    work_lines = [f"- {r['created_at'][:10]}: {preview(r['content'], 260)}" for r in work]
    out: list[str] = []
    used = 0

    def add(line: str, limit: int) -> bool:
        nonlocal used
        size = len(line.encode("utf-8")) + (1 if out else 0)
        if used + size > limit:
            return False
        out.append(line)
        used += size
        return True

    add(f"# Memory for project {name}" if name else "# Memory", budget)
    if pref_lines:
        add("## How the user works (explicit first, then signals, then inferred)", budget)
        limit = int(budget * PREFERENCE_SHARE) if work_lines else budget
        for line in pref_lines:
            if not add(line, limit):
                break
    else:
        add("No preferences or patterns learned yet.", budget)
    if work_lines:
        add(f"## {'Recent distilled work' if kind == 'distilled' else 'Recent activity'}"
            f"{' in ' + name if name else ''}", budget)
        for line in work_lines:
            if not add(line, budget):
                break
    else:
        add(f"No recent work stored{' for ' + name if name else ''} yet.", budget)
    return "\n".join(out)
