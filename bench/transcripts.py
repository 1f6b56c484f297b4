"""Realistic synthetic Claude Code transcripts (2.1.x shape) for the import benchmark and tests.

Each session: a few user prompts, each answered by a reply written as several lines sharing one message.id
(thinking, text, tool_use), several tool rounds with results and progress records, and a closing summary,
all on one uuid chain. As in real transcripts, most messages are tool traffic, not prose."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECTS = ["/home/dev/src/billing-api", "/home/dev/src/web-app", "/home/dev/work/app", "/home/dev/personal/app"]
TOPICS = ["the retry logic in the payment worker", "the flaky login test", "the CSV export endpoint",
          "database connection pooling", "the React settings page", "the rate limiter", "webhook signatures",
          "the migration that adds invoice numbers", "caching of user profiles", "the deploy script",
          "TypeScript strict mode errors", "the search index rebuild", "pagination of the orders list"]
VERBS = ["fix", "refactor", "add tests for", "document", "speed up", "review", "simplify", "debug"]
DETAILS = ["it times out after 30 seconds under load", "the error only shows up in CI", "we should keep the public API",
           "use pnpm rather than npm here", "the old behaviour must stay behind a flag", "prefer small commits",
           "it breaks when the list is empty", "the logs show a duplicate key violation",
           "make sure it still works on Python 3.11", "keep the change under a hundred lines"]
FILES = ["src/worker.py", "src/api/routes.py", "tests/test_login.py", "web/src/Settings.tsx", "scripts/deploy.sh",
         "src/db/pool.py", "migrations/014_invoice_numbers.sql", "src/cache.py", "README.md"]
COMMANDS = ["pytest -q tests/", "git status", "git diff --stat", "pnpm test", "ruff check src", "npm run build",
            "python -m mypy src", "git log --oneline -5"]


def _prompt(rng: random.Random) -> str:
    return (f"Please {rng.choice(VERBS)} {rng.choice(TOPICS)}; {rng.choice(DETAILS)}. "
            f"Look at {rng.choice(FILES)} first (ticket {rng.randint(100, 9999)}).")


def _reply(rng: random.Random) -> str:
    n = rng.randint(2, 6)
    parts = [f"I looked at {rng.choice(FILES)} and {rng.choice(TOPICS)}: {rng.choice(DETAILS)}."
             for _ in range(n)]
    return " ".join(parts) + f" I changed {rng.randint(1, 40)} lines and the tests pass."


class _Chain:
    def __init__(self, sid: str, cwd: str, start: datetime) -> None:
        self.sid, self.cwd, self.t, self.parent = sid, cwd, start, None
        self.lines: list[str] = []

    def record(self, rtype: str, body: dict[str, Any], chained: bool = True) -> str:
        self.t += timedelta(seconds=1)
        uid = str(uuid.UUID(int=random.getrandbits(128), version=4))
        rec = {"parentUuid": self.parent, "isSidechain": False, "userType": "external", "cwd": self.cwd,
               "sessionId": self.sid, "version": "2.1.38", "gitBranch": "main", "type": rtype, "uuid": uid,
               "timestamp": self.t.isoformat().replace("+00:00", "Z"), **body}
        self.lines.append(json.dumps(rec))
        if chained:
            self.parent = uid
        return uid


OUTPUT = ["collected 48 items\n\ntests/test_login.py ........F.\n", "M src/worker.py\n?? notes.txt\n",
          " src/worker.py | 12 +++++++-----\n 1 file changed\n", "Found 0 errors in 41 files\n",
          "def retry(fn, attempts=3):\n    for i in range(attempts):\n        try:\n            return fn()\n"]
TOOLS = ["Read", "Bash", "Grep", "Edit", "Glob"]


def _tool_call(rng: random.Random) -> tuple[str, dict[str, Any], str]:
    name = rng.choice(TOOLS)
    if name == "Bash":
        inp: dict[str, Any] = {"command": rng.choice(COMMANDS), "description": "run it"}
    elif name == "Grep":
        inp = {"pattern": rng.choice(["retry", "def login", "TODO", "pool_size"]), "path": "src"}
    elif name == "Glob":
        inp = {"pattern": "**/*.py"}
    elif name == "Edit":
        inp = {"file_path": rng.choice(FILES), "old_string": "attempts=3", "new_string": "attempts=5"}
    else:
        inp = {"file_path": rng.choice(FILES)}
    out = "".join(rng.choice(OUTPUT) for _ in range(rng.randint(1, 12)))
    return name, inp, out


def session_lines(rng: random.Random, sid: str, cwd: str, start: datetime, turns: int) -> list[str]:
    """A session shaped like real ones: per turn a prompt, a reply split over thinking/text/tool_use lines,
    several tool rounds (call, progress, result), then a summary; most messages are tool traffic."""
    c = _Chain(sid, cwd, start)
    c.lines.append(json.dumps({"type": "file-history-snapshot", "messageId": sid, "isSnapshotUpdate": False,
                               "snapshot": {"messageId": sid, "trackedFileBackups": {}, "timestamp": "x"}}))
    for _ in range(turns):
        c.record("user", {"message": {"role": "user", "content": _prompt(rng)}})
        for r in range(rng.randint(2, 8)):
            mid = f"msg_{rng.getrandbits(64):016x}"
            model = {"id": mid, "type": "message", "role": "assistant", "model": "claude-sonnet-4-5"}
            if r == 0:
                c.record("assistant", {"message": {**model, "content": [
                    {"type": "thinking", "thinking": "Let me check the code first.", "signature": "sig"}]}})
                c.record("assistant", {"message": {**model, "content": [
                    {"type": "text", "text": f"Let me look at {rng.choice(FILES)}."}]}})
            name, inp, out = _tool_call(rng)
            tool_id = f"toolu_{rng.getrandbits(64):016x}"
            c.record("assistant", {"message": {**model, "content": [
                {"type": "tool_use", "id": tool_id, "name": name, "input": inp}]}})
            c.record("progress", {"data": {"type": "bash_progress", "output": "..."}, "toolUseID": tool_id},
                     chained=False)
            c.record("user", {"message": {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": tool_id, "content": out}]},
                "toolUseResult": {"stdout": out[:200]}})
        c.record("assistant", {"message": {"id": f"msg_{rng.getrandbits(64):016x}", "type": "message",
                                           "role": "assistant", "model": "claude-sonnet-4-5",
                                           "content": [{"type": "text", "text": _reply(rng)}]}})
    return c.lines


def write_sessions(root: Path, n: int, seed: int = 7, turns: tuple[int, int] = (3, 8)) -> dict[str, int]:
    """Write `n` sessions under root/<encoded cwd>/<session>.jsonl; returns what was written."""
    rng = random.Random(seed)
    random.seed(seed)
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    written = {"sessions": 0, "turns": 0, "lines": 0}
    for i in range(n):
        cwd = PROJECTS[i % len(PROJECTS)]
        folder = root / cwd.replace("/", "-")
        folder.mkdir(parents=True, exist_ok=True)
        sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        t = rng.randint(*turns)
        lines = session_lines(rng, sid, cwd, start + timedelta(hours=i), t)
        (folder / f"{sid}.jsonl").write_text("\n".join(lines) + "\n")
        written["sessions"] += 1
        written["turns"] += t
        written["lines"] += len(lines)
    return written
