"""The signals job (no LLM): corrections per session, and per-project patterns refreshed in place.

Corrections become `type:preference` memories with what they corrected. Patterns (workflow fingerprint,
command habits, file hotspots) are `type:pattern` memories, one per kind and project, recomputed from the
messages archive and updated in place: same id, untouched when nothing changed, never brought back once
the user deleted it."""

from __future__ import annotations

import json
import shlex
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from .corrections import is_correction
from .db import memories as mq
from .db import sessions as sq
from .db import signals as gq
from .db.memories import NewMemory
from .memory import MemoryService, content_hash, preview

CATEGORIES = {
    "Read": "explore", "Grep": "explore", "Glob": "explore", "LS": "explore", "WebSearch": "web",
    "WebFetch": "web", "Edit": "edit", "MultiEdit": "edit", "Write": "edit", "NotebookEdit": "edit",
    "Bash": "shell", "BashOutput": "shell", "KillShell": "shell", "Task": "delegate", "Agent": "delegate",
    "TodoWrite": "plan", "ExitPlanMode": "plan", "Skill": "skill", "SlashCommand": "skill",
}
SUBCOMMANDS = {"git", "docker", "kubectl", "gh", "cargo", "go", "uv", "poetry", "pip", "pip3", "brew", "apt",
               "apt-get", "systemctl", "mix", "rails", "bundle", "dotnet", "terraform", "helm", "make", "just"}
RUNNERS = {"npm", "pnpm", "yarn", "bun", "deno", "npx"}
TOP = 8


@dataclass
class SignalsSummary:
    sessions: int = 0
    corrections: int = 0
    patterns_created: int = 0
    patterns_updated: int = 0
    patterns_unchanged: int = 0
    patterns_kept_deleted: int = 0
    projects: set[str] = field(default_factory=set)
    seconds: float = 0.0
    dry_run: bool = False

    def lines(self) -> list[str]:
        verb = "would extract" if self.dry_run else "extracted"
        return [
            f"signals {verb} in {self.seconds:.1f} s" + (" (dry run: nothing written)" if self.dry_run else ""),
            f"  sessions: {self.sessions} processed, projects refreshed: {len(self.projects)}",
            f"  corrections: {self.corrections} new preference memories",
            f"  patterns: {self.patterns_created} new, {self.patterns_updated} updated in place,"
            f" {self.patterns_unchanged} unchanged, {self.patterns_kept_deleted} left deleted by you",
        ]


def _action(message: dict[str, Any]) -> str | None:
    """What an assistant message did, in a few words: its last tool call, else what it said."""
    blocks = message.get("blocks") or []
    for b in reversed(blocks if isinstance(blocks, list) else []):
        if isinstance(b, dict) and b.get("type") == "tool_use":
            inp: dict[str, Any] = b["input"] if isinstance(b.get("input"), dict) else {}
            if inp.get("command"):
                return f"ran `{preview(str(inp['command']), 120)}`"
            target = inp.get("file_path") or inp.get("notebook_path") or inp.get("path") or inp.get("pattern")
            return f"used {b.get('name')}" + (f" on {preview(str(target), 120)}" if target else "")
    if message.get("kind") == "text" and message.get("text"):
        return f'said "{preview(message["text"], 140)}"'
    return None


def corrections_in(transcript: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """(user message, what it corrected) for each correction in a session's ordered messages."""
    found = []
    last_action: str | None = None
    for m in transcript:
        if m["is_sidechain"]:
            continue
        if m["role"] == "assistant":
            last_action = _action(m) or last_action
        elif m["role"] == "user" and m["kind"] == "text":
            if last_action and is_correction(m["text"], last_action):
                found.append((m, last_action))
            last_action = None  # a new prompt starts a new turn
    return found


def command_key(line: str) -> str | None:
    """`git status`, `npm run build`, `pytest`, `python -m pytest`… from a shell command line."""
    first = line.strip().split("&&")[-1] if line.strip().startswith("cd ") else line.strip()
    for sep in ("&&", "||", "|", ";", "\n"):
        first = first.split(sep)[0]
    try:
        words = shlex.split(first)
    except ValueError:
        words = first.split()
    words = [w for w in words if "=" not in w.split("/")[0] or w.startswith("-")]
    while words and words[0] in ("sudo", "time", "env", "nohup", "exec"):
        words = words[1:]
    if not words:
        return None
    prog = PurePosixPath(words[0]).name
    args = [w for w in words[1:] if not w.startswith("-")]
    if prog in ("python", "python3") and len(words) > 2 and words[1] == "-m":
        return f"{prog} -m {words[2]}"
    if prog in RUNNERS and args:
        return f"{prog} {args[0]} {args[1]}" if args[0] in ("run", "exec", "x") and len(args) > 1 else \
            f"{prog} {args[0]}"
    if prog in SUBCOMMANDS and args:
        return f"{prog} {args[0]}"
    return prog[:60] or None


def _relative(path: str, root: str | None) -> str | None:
    if not root:
        return None
    win = "\\" in root
    p, r = (PureWindowsPath(path), PureWindowsPath(root)) if win else (PurePosixPath(path), PurePosixPath(root))
    try:
        return str(p.relative_to(r)).replace("\\", "/")
    except ValueError:
        return None


def _patterns(cur: Any, project: str, root: str | None) -> dict[str, tuple[str, int, datetime | None]]:
    """kind → (content, evidence sessions, last seen), computed from the archive."""
    out: dict[str, tuple[str, int, datetime | None]] = {}
    tools = gq.tool_counts(cur, project)
    if tools:
        total = sum(n for _, n, _, _ in tools)
        cats: Counter[str] = Counter()
        for name, n, _, _ in tools:
            cats["mcp" if name.startswith("mcp__") else CATEGORIES.get(name, "other")] += n
        sessions = max(s for _, _, s, _ in tools)
        last = max((t for _, _, _, t in tools if t), default=None)
        mix = ", ".join(f"{c} {round(100 * n / total)}%" for c, n in cats.most_common())
        top = ", ".join(f"{name} {n}" for name, n, _, _ in tools[:TOP])
        out["workflow"] = (f"Workflow fingerprint for {project} ({total} tool calls): {mix}. Top tools: {top}.",
                           sessions, last)
    by_cmd: dict[str, set[str]] = defaultdict(set)
    calls: Counter[str] = Counter()
    last_cmd: datetime | None = None
    for line, sid, ts in gq.commands(cur, project):
        key = command_key(line)
        if key:
            calls[key] += 1
            by_cmd[key].add(sid)
            last_cmd = max(last_cmd, ts) if last_cmd and ts else (ts or last_cmd)
    if calls:
        top_cmds = sorted(calls, key=lambda c: (-len(by_cmd[c]), -calls[c], c))[:TOP]
        text = ", ".join(f"`{c}` ({calls[c]}× in {len(by_cmd[c])} sessions)" for c in top_cmds)
        out["commands"] = (f"Command habits in {project}: {text}.",
                           len(set().union(*by_cmd.values())), last_cmd)
    files: dict[str, set[str]] = defaultdict(set)
    last_file: dict[str, datetime] = {}
    for path, sid, ts in gq.touched_files(cur, project):
        rel = _relative(path, root)
        if rel and rel != ".":
            files[rel].add(sid)
            if ts and (rel not in last_file or ts > last_file[rel]):
                last_file[rel] = ts
    hot = sorted((f for f, s in files.items() if len(s) >= 2), key=lambda f: (-len(files[f]), f))[:TOP]
    if hot:
        text = ", ".join(f"{f} ({len(files[f])} sessions)" for f in hot)
        out["hotspots"] = (f"File hotspots in {project} (touched in 2+ sessions): {text}.",
                           len(set().union(*(files[f] for f in hot))),
                           max((last_file[f] for f in hot if f in last_file), default=None))
    return out


def extract(memories: MemoryService, project: str | None = None, dry_run: bool = False) -> SignalsSummary:
    """Process every session not yet processed, then refresh the patterns of the projects they touched."""
    started = time.monotonic()
    summary = SignalsSummary(dry_run=dry_run)
    db = memories.db
    with db.cursor() as cur:
        pending = gq.pending_sessions(cur, project)
    for sid, proj in pending:
        with db.cursor() as cur:
            transcript = sq.session_messages(cur, sid)
        items = []
        for m, action in corrections_in(transcript):
            tags = ["type:preference", "source:signals", "signal:correction"] + ([f"project:{proj}"] if proj else [])
            items.append({"content": f'Correction: "{m["text"].strip()[:1500]}" (after Claude {action})',
                          "tags": tags, "source": "signals", "project": proj, "session_id": sid,
                          "created_at": m["timestamp"]})
        summary.sessions += 1
        if proj:
            summary.projects.add(proj)
        if dry_run:
            summary.corrections += len(items)
            continue
        ids = memories.add_many(items) if items else []
        summary.corrections += sum(1 for i in ids if i is not None)
        with db.cursor() as cur:
            gq.mark_extracted(cur, [sid])
    for proj in sorted(summary.projects):
        _refresh_patterns(memories, proj, summary)
    summary.seconds = time.monotonic() - started
    return summary


def _refresh_patterns(memories: MemoryService, project: str, summary: SignalsSummary) -> None:
    with memories.db.cursor() as cur:
        root = sq.project_paths(cur).get(project)
        computed = _patterns(cur, project, root)
    for kind, (content, evidence, last_seen) in computed.items():
        with memories.db.cursor() as cur:
            existing = gq.find_pattern(cur, project, kind)
        if existing and not existing[2]:
            summary.patterns_kept_deleted += 1  # the user deleted it: it stays deleted
            continue
        if summary.dry_run:
            summary.patterns_created += existing is None
            summary.patterns_updated += bool(existing and existing[1] != content)
            continue
        if existing and existing[1] == content:
            with memories.db.cursor() as cur:
                gq.set_evidence(cur, existing[0], evidence, last_seen)
            summary.patterns_unchanged += 1
            continue
        vec, chunks = memories.embed_documents([content])[0]
        with memories.db.cursor() as cur:
            if existing:
                mq.replace_content(cur, existing[0], content, content_hash(content), vec, chunks)
                mid = existing[0]
                summary.patterns_updated += 1
            else:
                tags = ["type:pattern", "source:signals", f"pattern:{kind}", f"project:{project}"]
                (new_id,) = mq.insert_many(cur, [NewMemory(content, content_hash(content), vec, chunks, tags,
                                                           "signals", project)])
                if new_id is None:
                    continue
                mid = new_id
                summary.patterns_created += 1
            gq.set_evidence(cur, mid, evidence, last_seen)
        memories.cache.clear()


def as_json(summary: SignalsSummary) -> str:
    return json.dumps({k: (sorted(v) if isinstance(v, set) else v) for k, v in summary.__dict__.items()})
