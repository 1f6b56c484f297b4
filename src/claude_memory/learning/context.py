"""Read models for the start of a session: startup_context and recent_context."""

from __future__ import annotations

import re
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from ..db import memories as q
from ..db import sessions as sq
from ..db import signals as gq
from ..memory import MemoryService, bounded, opt_text
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


LEFT_OFF_SESSIONS = 3  # newest sessions of the project shown under "Where we left off"
_SENTENCE = re.compile(r"(?:(?<=[.!?。！？])|(?<=[.!?。！？][\"')\]]))\s+")


def sentences(text: str, limit: int) -> str:
    """Whole sentences of `text` up to `limit` characters; a first sentence longer than that is cut at a
    word boundary with an ellipsis. Never cuts inside a word."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    out = ""
    for part in _SENTENCE.split(flat):
        candidate = f"{out} {part}".strip()
        if len(candidate) > limit:
            break
        out = candidate
    if out:
        return out
    cut = flat[:limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 3 else cut).rstrip(" ,;:-") + "…"


def _relative(path: str, cwd: str | None) -> str:
    if cwd and path.startswith(cwd.rstrip("/\\") + ("\\" if "\\" in cwd else "/")):
        return path[len(cwd.rstrip("/\\")) + 1:]
    return path


_COMMAND = re.compile(r"<command-name>\s*(.*?)\s*</command-name>", re.S)
_ARGS = re.compile(r"<command-args>\s*(.*?)\s*</command-args>", re.S)


def _prompt(text: str) -> str:
    """A prompt as the user typed it: a slash command shown as `/name args`."""
    name = _COMMAND.search(text)
    if not name:
        return " ".join(text.split())
    args = _ARGS.search(text)
    return " ".join(f"{name.group(1)} {args.group(1) if args else ''}".split())


def _preference_line(e: dict[str, Any]) -> str:
    evidence = f" ({e['evidence']} sessions)" if e["status"] == "supported" and e["kind"] != "pattern" else ""
    return f"- {sentences(e['content'], 300)}{evidence}"


def left_off(memories: MemoryService, project: str | None, sessions: int = LEFT_OFF_SESSIONS) -> list[str]:
    """Where the work stopped, from the archive without an LLM. The newest session in full: when, its
    title or first request, the last thing the user asked, the files changed and the unfinished items of
    its last todo list; the sessions before it in one line each (when, title, last request). A session's
    distilled memories replace all that once they exist."""
    lines: list[str] = []
    with memories.db.cursor() as cur:
        recent = sq.newest_sessions(cur, project, sessions)
        distilled = sq.distilled_of(cur, [r["session_id"] for r in recent])
        for n, r in enumerate(recent):
            sid = r["session_id"]
            when = (r["last_message_at"] or r["first_message_at"])
            day = when.date().isoformat() if when else "undated"
            first = [_prompt(t) for t in sq.user_prompts(cur, sid, newest=False, limit=1)]
            title = " ".join((r["title"] or (first[0] if first else "")).split())
            head = f"- {day} — {sentences(title, 120)}" if title else f"- {day}"
            if sid in distilled:
                lines.append(head)
                lines += [f"  - {sentences(c, 240)}" for c in distilled[sid][:4 if n == 0 else 2]]
                continue
            last = [_prompt(t) for t in sq.user_prompts(cur, sid, newest=True, limit=1)]
            asked = last[0] if last else None
            if asked and title and asked.startswith(title.rstrip("…")):
                asked = None  # the title already says it
            if n > 0:  # an older session: one line
                sep = " Last asked:" if head.endswith((".", "!", "?", "…")) else "; last asked:"
                lines.append(head + (f"{sep} \"{sentences(asked, 160)}\"" if asked else ""))
                continue
            lines.append(head)
            if asked:
                lines.append(f"  Last asked: \"{sentences(asked, 240)}\"")
            files = [_relative(f, r["cwd"]) for f in sq.changed_files(cur, sid, gq.EDIT_TOOLS, 6)]
            if files:
                lines.append("  Changed: " + ", ".join(files))
            todo = [t for t in sq.last_todos(cur, sid) if t.get("status") != "completed"
                    and isinstance(t.get("content"), str) and t["content"].strip()]
            if todo:
                lines.append("  Unfinished: " + "; ".join(
                    sentences(str(t["content"]), 120) + (" (in progress)" if t.get("status") == "in_progress" else "")
                    for t in todo[:6]))
    return lines


def startup_context(memories: MemoryService, project: Any = None, budget: int = 2048) -> str:
    """How the user works (explicit, then signals seen in two or more sessions, then inferred behaviour
    seen in two or more sessions), then where the work stopped; within `budget` bytes (UTF-8), whole
    lines only. Says so when it has nothing. Single signals stay out (they are candidates)."""
    name = resolve_project(memories, opt_text(project, "project"))
    prefs = preferences(memories, name)
    pref_lines: list[str] = []
    titles = {"explicit": "Stated by the user:", "signals": "Seen in several sessions:",
              "inferred": "Inferred from several sessions:"}
    for tier in prefs["tiers"]:
        shown = [e for e in tier["entries"] if e["status"] != "candidate"]
        if shown:
            pref_lines.append(titles[tier["tier"]])
            pref_lines += [_preference_line(e) for e in shown]
    work_lines = left_off(memories, name)
    work_title = "## Where we left off"
    if not work_lines:
        kind, work = _work(memories, name, 10)
        work_lines = [f"- {r['created_at'][:10]}: {sentences(r['content'], 260)}" for r in work]
        work_title = f"## {'Recent distilled work' if kind == 'distilled' else 'Recent activity'}"
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
        add("## How the user works", budget)
        limit = int(budget * PREFERENCE_SHARE) if work_lines else budget
        for line in pref_lines:
            if not add(line, limit):
                break
    else:
        add("No preferences or patterns learned yet.", budget)
    if work_lines:
        add(work_title + (f" in {name}" if name else ""), budget)
        for line in work_lines:
            if not add(line, budget):
                break
    else:
        add(f"No recent work stored{' for ' + name if name else ''} yet.", budget)
    return "\n".join(out)
