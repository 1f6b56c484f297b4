"""The signals job (no LLM): corrections per session, and per-project patterns refreshed in place.

Corrections (found by the classifier in corrections.py) become `type:preference` memories with what they
corrected; the sessions each was seen in are recorded, and similar corrections are grouped (support.py) so
that one said in two sessions is one supported preference. Patterns are `type:pattern` memories, one per
kind and project, written as sentences Claude can act on ("Runs the tests with `pytest -q` (12 sessions)",
"Edits most often: …") from what happened in two or more sessions; recomputed from the messages archive
and updated in place: same id, untouched when nothing changed, never brought back once the user deleted
it."""

from __future__ import annotations

import json
import re
import shlex
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from ..db import memories as mq
from ..db import sessions as sq
from ..db import signals as gq
from ..db.memories import NewMemory
from ..memory import MemoryService, clean_content, content_hash, preview
from . import support
from .corrections import Detector, shipped_model

CATEGORIES = {
    "Read": "explore", "Grep": "explore", "Glob": "explore", "LS": "explore", "WebSearch": "web",
    "WebFetch": "web", "Edit": "edit", "MultiEdit": "edit", "Write": "edit", "NotebookEdit": "edit",
    "Bash": "shell", "BashOutput": "shell", "KillShell": "shell", "Task": "delegate", "Agent": "delegate",
    "TodoWrite": "plan", "ExitPlanMode": "plan", "Skill": "skill", "SlashCommand": "skill",
}
SUBCOMMANDS = {"git", "docker", "kubectl", "gh", "cargo", "go", "uv", "poetry", "pip", "pip3", "brew", "apt",
               "apt-get", "systemctl", "mix", "rails", "bundle", "dotnet", "terraform", "helm", "make", "just"}
RUNNERS = {"npm", "pnpm", "yarn", "bun", "deno", "npx"}
TOP = 5
MIN_SESSIONS = 2  # a pattern from one session is an anecdote
_CORRECTED = re.compile(r"\(after Claude ran `(.*)`\)$", re.S)
# Commands everybody runs: they say nothing about how this user works, so "often runs" leaves them out.
UBIQUITOUS = frozenset({
    "ls", "cd", "cat", "pwd", "echo", "grep", "rg", "find", "head", "tail", "sed", "awk", "wc", "which", "mkdir",
    "rm", "cp", "mv", "touch", "sleep", "chmod", "tree", "less", "sort", "true", "kill", "ps", "curl", "du", "df",
    "git status", "git diff", "git log", "git add", "git show", "git branch", "git checkout", "git commit",
    "git push", "git pull", "git fetch", "git stash", "git rev-parse", "git switch", "git restore", "git remote",
})
_TEST = re.compile(r"\b(?:pytest|py\.test|jest|vitest|mocha|rspec|phpunit|unittest|tox|nox)\b|"
                   r"\b(?:go|cargo|mix|dotnet|npm|pnpm|yarn|bun|deno|make|just|gradle|mvn)\s+(?:run\s+)?test\b")
_BUILD = re.compile(r"\b(?:npm|pnpm|yarn|bun)\s+(?:run\s+)?build\b|\b(?:cargo|go|docker|gradle)\s+build\b|"
                    r"^make(?:\s+(?:build|all))?$|\btsc\b")
_LINT = re.compile(r"\b(?:ruff|eslint|prettier|black|mypy|flake8|pylint|golangci-lint|clippy|biome|"
                   r"rubocop|shellcheck)\b|\b(?:npm|pnpm|yarn)\s+(?:run\s+)?(?:lint|format|typecheck)\b")
_INSTALL = re.compile(r"^(?:(npm|pnpm|yarn|bun)\s+(?:install|add|i)\b|(uv)\s+(?:add|pip install|sync)\b|"
                      r"(pip3?|poetry)\s+(?:install|add)\b)")


@dataclass
class SignalsSummary:
    sessions: int = 0
    corrections: int = 0
    supported: int = 0  # groups of corrections seen in two or more sessions
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
            f"  corrections: {self.corrections} new preference memories"
            f" ({self.supported} preferences now seen in two or more sessions)",
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


def candidates(transcript: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """(user message, what Claude had just done) for every prompt that follows an action of Claude's."""
    found = []
    last_action: str | None = None
    for m in transcript:
        if m["is_sidechain"]:
            continue
        if m["role"] == "assistant":
            last_action = _action(m) or last_action
        elif m["role"] == "user" and m["kind"] == "text":
            if last_action:
                found.append((m, last_action))
            last_action = None  # a new prompt starts a new turn
    return found


def corrections_in(transcript: list[dict[str, Any]], detector: Detector) -> list[tuple[dict[str, Any], str]]:
    """(user message, what it corrected) for each correction in a session's ordered messages."""
    pairs = candidates(transcript)
    if not pairs:
        return []
    hits = detector.detect([(m["text"], action) for m, action in pairs])
    return [p for p, hit in zip(pairs, hits, strict=True) if hit]


def detector_for(memories: MemoryService) -> Detector:
    """The classifier with the exact vectors of the model it was trained on (fp32: the int8 search path's
    vectors differ by ~0.007 cosine, enough to move a threshold set for precision): the service's own
    embedder when it gives those, else that model loaded beside it (the offline default, always installed)."""
    model = shipped_model()
    mine = memories.embedder
    if mine.model_name == model.embedding_model and (mine.exact or mine.requested_backend == "torch"):
        return Detector(mine.encode, model)
    from ..embedding import Embedder

    return Detector(Embedder(model.embedding_model, threads=memories.embedder.threads,
                             backend=memories.embedder.requested_backend,
                             cache_dir=memories.embedder.cache_dir, exact=True).encode, model)


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


def _first_segment(line: str) -> str:
    """The command itself: after a leading `cd …&&`, before the first pipe, `&&` or `;`."""
    first = line.strip().split("&&", 1)[-1] if line.strip().startswith("cd ") else line.strip()
    for sep in ("&&", "||", "|", ";", "\n", " 2>", " >"):
        first = first.split(sep)[0]
    return " ".join(first.split())[:80]


def _sessions_phrase(n: int) -> str:
    return f"{n} session{'s' if n != 1 else ''}"


def _patterns(cur: Any, project: str, root: str | None) -> dict[str, tuple[str, int, datetime | None]]:
    """kind → (sentence, evidence sessions, last seen), from what happened in MIN_SESSIONS sessions or
    more: how the tests, the build and the linters are run, which package manager installs, other
    frequent commands, and the files edited most often."""
    out: dict[str, tuple[str, int, datetime | None]] = {}
    lines: dict[str, Counter[str]] = defaultdict(Counter)  # key → exact command lines
    by_key: dict[str, set[str]] = defaultdict(set)
    last_key: dict[str, datetime] = {}
    # a command the user corrected right after Claude ran it is not a habit of theirs
    corrected = {m.group(1) for c in gq.correction_texts(cur, project) for m in [_CORRECTED.search(c)] if m}
    commands = [(line, sid, ts) for line, sid, ts in gq.commands(cur, project)
                if preview(line, 120) not in corrected]
    for line, sid, ts in commands:
        key = command_key(line)
        if not key:
            continue
        seg = _first_segment(line)
        lines[key][seg] += 1
        by_key[key].add(sid)
        if ts and (key not in last_key or ts > last_key[key]):
            last_key[key] = ts

    def usual(key: str) -> str:
        """The exact line most used for this command when it is most of them, else the command."""
        line, n = lines[key].most_common(1)[0]
        return line if n * 2 >= sum(lines[key].values()) else key

    frequent = sorted((k for k in by_key if len(by_key[k]) >= MIN_SESSIONS),
                      key=lambda k: (-len(by_key[k]), -sum(lines[k].values()), k))
    used: set[str] = set()
    for kind, rx, verb in (("tests", _TEST, "Runs the tests with"), ("build", _BUILD, "Builds with"),
                           ("lint", _LINT, "Checks the code with")):
        keys = [k for k in frequent if rx.search(usual(k)) or rx.search(k)][:2]
        if keys:
            used.update(keys)
            parts = [f"`{usual(k)}` ({_sessions_phrase(len(by_key[k]))})" for k in keys]
            sessions = set().union(*(by_key[k] for k in keys))
            out[kind] = (f"{verb} {' or '.join(parts)} in {project}.", len(sessions),
                         max((last_key[k] for k in keys if k in last_key), default=None))
    installers: dict[str, set[str]] = defaultdict(set)
    for line, sid, _ in commands:
        m = _INSTALL.match(_first_segment(line))
        if m:
            installers[next(g for g in m.groups() if g)].add(sid)
    tools = sorted((t for t, s in installers.items() if len(s) >= MIN_SESSIONS), key=lambda t: -len(installers[t]))
    if tools:
        top = tools[0]
        out["packages"] = (f"Installs packages with `{top}` in {project} ({_sessions_phrase(len(installers[top]))}).",
                           len(installers[top]), None)
    rest = [k for k in frequent if k not in used and k not in UBIQUITOUS and not _INSTALL.match(usual(k))][:TOP]
    if rest:
        text = ", ".join(f"`{usual(k)}` ({_sessions_phrase(len(by_key[k]))})" for k in rest)
        out["commands"] = (f"Often runs in {project}: {text}.", len(set().union(*(by_key[k] for k in rest))),
                           max((last_key[k] for k in rest if k in last_key), default=None))
    files: dict[str, set[str]] = defaultdict(set)
    last_file: dict[str, datetime] = {}
    for path, sid, ts in gq.touched_files(cur, project):
        rel = _relative(path, root)
        if rel and rel != ".":
            files[rel].add(sid)
            if ts and (rel not in last_file or ts > last_file[rel]):
                last_file[rel] = ts
    hot = sorted((f for f, s in files.items() if len(s) >= MIN_SESSIONS), key=lambda f: (-len(files[f]), f))[:TOP]
    if hot:
        text = ", ".join(f"{f} ({_sessions_phrase(len(files[f]))})" for f in hot)
        out["hotspots"] = (f"Edits most often in {project}: {text}.",
                           len(set().union(*(files[f] for f in hot))),
                           max((last_file[f] for f in hot if f in last_file), default=None))
    return out


def extract(memories: MemoryService, project: str | None = None, dry_run: bool = False) -> SignalsSummary:
    """Process every session not yet processed, then regroup the corrections and refresh the patterns of
    the projects they touched."""
    started = time.monotonic()
    summary = SignalsSummary(dry_run=dry_run)
    db = memories.db
    with db.cursor() as cur:
        pending = gq.pending_sessions(cur, project)
    detector = detector_for(memories) if pending else None
    touched: set[str | None] = set()
    for sid, proj in pending:
        assert detector is not None
        with db.cursor() as cur:
            transcript = sq.session_messages(cur, sid)
        items = []
        for m, action in corrections_in(transcript, detector):
            tags = ["type:preference", "source:signals", "signal:correction"] + ([f"project:{proj}"] if proj else [])
            items.append({"content": f'Correction: "{m["text"].strip()[:1500]}" (after Claude {action})',
                          "tags": tags, "source": "signals", "project": proj, "session_id": sid,
                          "created_at": m["timestamp"]})
        summary.sessions += 1
        touched.add(proj)
        if proj:
            summary.projects.add(proj)
        if dry_run:
            summary.corrections += len(items)
            continue
        ids = memories.add_many(items) if items else []
        summary.corrections += sum(1 for i in ids if i is not None)
        with db.cursor() as cur:
            seen = []
            for it, mid in zip(items, ids, strict=True):
                if mid is None:  # the same words as a correction already stored: one more session for it
                    found = mq.find_by_hash(cur, proj, content_hash(clean_content(it["content"])))
                    mid = found[0] if found else None
                if mid is not None:
                    seen.append((mid, sid, it["created_at"]))
            gq.record_evidence(cur, seen)
            gq.mark_extracted(cur, [sid])
    if not dry_run and detector is not None:
        for proj in sorted(touched, key=lambda p: p or ""):
            summary.supported += support.regroup(memories, proj, support.CORRECTION_TAG, detector.embed)
            support.regroup(memories, proj, support.BEHAVIOR_TAG, detector.embed)
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
