"""How much of startup_context is worth its bytes: planted facts found (recall) and lines that are planted
facts rather than noise (precision), on scripted multi-session histories.

    python bench/context.py [--projects 4] [--sessions 6] [--seed 1] [--out FILE]

For each project it writes real Claude Code JSONL (user prompts, assistant tool calls, TodoWrite lists) with
planted facts — a correction made in two sessions (in different words), a tool preference (the same test
command and package manager in several sessions), a file edited in most sessions, a decision with its reason,
an unfinished todo list and a last request in the newest session — and noise: one-off requests phrased like
corrections, a real correction made only once, commands and files used once, everyday commands (`git
status`, `ls`). It imports the tree through the product (`claude-memory import`'s code), runs the signals job,
and reads startup_context for each project at the default budget (2048 bytes).

Scored per project: recall = planted facts whose line is present / planted facts; precision = context lines
that hold a planted fact / all context lines (headings and tier labels excluded). A one-off correction-like
request or a single correction showing among the preferences is counted as a violation. Phrasings, tasks,
files and commands are drawn at random (seeded) from pools much larger than one history uses.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claude_memory.importers.job import ImportOptions, run  # noqa: E402
from claude_memory.learning.context import startup_context  # noqa: E402
from claude_memory.learning.signals import extract  # noqa: E402
from common import machine, temp_runtime, write_json  # noqa: E402

STACKS = [
    {"pm": "pnpm", "wrong": "npm install", "right": "pnpm add", "test": "pnpm test", "lang": "ts",
     "fix": ["No, use pnpm, not npm.", "Use pnpm here, never npm.", "We use pnpm in this repo, not npm."]},
    {"pm": "uv", "wrong": "pip install", "right": "uv add", "test": "python -m pytest -q", "lang": "py",
     "fix": ["No, use uv, not pip.", "Don't use pip directly, we manage packages with uv.",
             "Please use uv add instead of pip install."]},
    {"pm": "yarn", "wrong": "npm install", "right": "yarn add", "test": "yarn test --watch=false", "lang": "ts",
     "fix": ["No, yarn, not npm.", "This project uses yarn; don't run npm.", "Use yarn for that, not npm."]},
    {"pm": "poetry", "wrong": "pip install", "right": "poetry add", "test": "poetry run pytest -x", "lang": "py",
     "fix": ["No, add it with poetry, not pip.", "Use poetry add, never pip install here.",
             "We manage dependencies with poetry, not pip."]},
]
NAMES = ["ledger", "atlas", "relay", "quill", "harbor", "orchid", "beacon", "tundra"]
FILES = {"py": ["src/{p}/api.py", "src/{p}/models.py", "src/{p}/service.py", "src/{p}/cli.py", "tests/test_api.py",
                "src/{p}/export.py", "src/{p}/settings.py"],
         "ts": ["src/api/client.ts", "src/components/Table.tsx", "src/pages/Orders.tsx", "src/store.ts",
                "src/utils/format.ts", "src/hooks/useOrders.ts", "src/App.tsx"]}
TASKS = ["Add pagination to the orders list.", "Make the export run incrementally.", "Add a CSV download button.",
         "Fix the flaky date test.", "Add retries to the HTTP client.", "Split the settings page into tabs.",
         "Cache the exchange rates for an hour.", "Add an audit log for deletions.", "Support dark mode in the table.",
         "Validate the import file before parsing it.", "Show a spinner while the report loads.",
         "Add a health check endpoint.", "Rename the customer field to account everywhere.",
         "Write a migration for the new status column.", "Add keyboard shortcuts to the editor."]
NEXT = ["Next, wire the export button to the new endpoint.", "Now add a test for the empty state.",
        "Then update the changelog for this release.", "Now write the docs page for the new flag.",
        "Next, add the status filter to the list view."]
DECISIONS = ["Let's keep SQLite: the app runs offline on one machine, so a server database buys nothing.",
             "We'll go with server-sent events rather than websockets because the proxy drops idle sockets.",
             "Let's store money as integer cents, since float rounding already broke two invoices.",
             "We'll keep the REST API and skip GraphQL: the two clients only need five endpoints."]
ONE_OFF_REQUESTS = ["Use the staging database instead for the load test you're about to run.",
                    "Please never log the raw token in the new endpoint.",
                    "Rather than a modal, make the new settings screen a full page.",
                    "Don't change the API for now — first add the tests for the parser."]
ONE_OFF_CORRECTIONS = ["That's the opposite of what I need.", "Too verbose, cut it down to two sentences.",
                       "The old error message read better."]
TODOS = ["Add the endpoint", "Write the migration", "Update the client", "Add the integration test",
         "Document the flag", "Handle the empty state", "Wire up the button"]
NOISE_COMMANDS = ["git status", "ls -la", "git diff", "cat README.md", "make lint-docs", "docker compose ps"]


class Writer:
    """One session's JSONL: records chained by parentUuid, one minute apart."""

    def __init__(self, sid: str, cwd: str, start: datetime) -> None:
        self.sid, self.cwd, self.t, self.parent, self.lines = sid, cwd, start, None, []

    def _rec(self, kind: str, message: dict[str, Any]) -> None:
        uid = str(uuid.uuid4())
        self.t += timedelta(minutes=1)
        self.lines.append(json.dumps({"type": kind, "sessionId": self.sid, "uuid": uid, "parentUuid": self.parent,
                                      "cwd": self.cwd, "timestamp": self.t.isoformat().replace("+00:00", "Z"),
                                      "message": message}))
        self.parent = uid

    def user(self, text: str) -> None:
        self._rec("user", {"role": "user", "content": text})

    def say(self, text: str) -> None:
        self._rec("assistant", {"id": "msg_" + uuid.uuid4().hex[:12], "role": "assistant",
                                "content": [{"type": "text", "text": text}]})

    def tool(self, name: str, inp: dict[str, Any]) -> None:
        tid = "toolu_" + uuid.uuid4().hex[:12]
        self._rec("assistant", {"id": "msg_" + uuid.uuid4().hex[:12], "role": "assistant",
                                "content": [{"type": "tool_use", "id": tid, "name": name, "input": inp}]})
        self._rec("user", {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tid,
                                                        "content": "ok"}]})

    def bash(self, command: str) -> None:
        self.tool("Bash", {"command": command, "description": "run"})

    def edit(self, path: str) -> None:
        self.tool("Edit", {"file_path": f"{self.cwd}/{path}", "old_string": "a", "new_string": "b"})


def history(root: Path, name: str, stack: dict[str, Any], sessions: int, rng: random.Random, start: datetime
            ) -> dict[str, Any]:
    """Write one project's sessions; return its planted facts and the texts that must not be preferences."""
    cwd = f"/home/dev/work/{name}"
    folder = root / re.sub(r"[^A-Za-z0-9]", "-", cwd)
    folder.mkdir(parents=True)
    files = [f.format(p=name) for f in FILES[stack["lang"]]]
    hot = files[0]
    tasks = rng.sample(TASKS, sessions)
    fixes = rng.sample(stack["fix"], 2)
    corrected = sorted(rng.sample(range(sessions - 2), 2))  # two older sessions carry the correction
    decision_at = sessions - 3
    one_off_at = rng.choice([i for i in range(sessions - 1) if i not in corrected])
    single_fix_at = rng.choice([i for i in range(sessions - 1) if i not in corrected and i != one_off_at])
    one_off, single_fix = rng.choice(ONE_OFF_REQUESTS), rng.choice(ONE_OFF_CORRECTIONS)
    todo = rng.sample(TODOS, 4)
    last_request = rng.choice(NEXT)
    newest_files: list[str] = []
    for i in range(sessions):
        sid = str(uuid.UUID(int=rng.getrandbits(128)))
        w = Writer(sid, cwd, start + timedelta(days=3 * i, hours=rng.randint(0, 8)))
        w.user(tasks[i])
        w.tool("Read", {"file_path": f"{cwd}/{rng.choice(files)}"})
        if i in corrected:
            w.bash(f"{stack['wrong']} {rng.choice(['dayjs', 'zod', 'httpx', 'rich', 'lodash'])}")
            w.user(fixes[corrected.index(i)])
            w.bash(f"{stack['right']} {rng.choice(['dayjs', 'zod', 'httpx', 'rich', 'lodash'])}")
        edited = [hot] + rng.sample(files[1:], 2) if rng.random() < 0.85 or i == sessions - 1 else rng.sample(files[1:], 1)
        for path in edited:
            w.edit(path)
        if i == sessions - 1:
            newest_files = edited
            w.tool("TodoWrite", {"todos": [
                {"content": todo[0], "status": "completed", "activeForm": todo[0]},
                {"content": todo[1], "status": "completed", "activeForm": todo[1]},
                {"content": todo[2], "status": "in_progress", "activeForm": todo[2]},
                {"content": todo[3], "status": "pending", "activeForm": todo[3]}]})
        if rng.random() < 0.8 or i >= sessions - 2:
            w.bash(stack["test"])
        if rng.random() < 0.6:
            w.bash(rng.choice(NOISE_COMMANDS))
        w.say("Done. The change is in and the tests pass.")
        if i == one_off_at:
            w.user(one_off)
            w.bash(stack["test"])
            w.say("Done.")
        if i == single_fix_at:
            w.user(single_fix)
            w.edit(rng.choice(files[1:]))
            w.say("Changed.")
        if i == decision_at:
            w.user(DECISIONS[rng.randrange(len(DECISIONS))])
            decision = w.lines[-1]
        if i == sessions - 1:
            w.user(last_request)
        (folder / f"{sid}.jsonl").write_text("\n".join(w.lines) + "\n")
    decision_text = json.loads(decision)["message"]["content"]
    facts = {
        "correction in two sessions": ("prefs", re.escape(fixes[1][:40]) + r".*\(2 sessions\)"),
        "tool preference: tests": ("prefs", r"Runs the tests with `" + re.escape(stack["test"]) + "`"),
        "tool preference: packages": ("prefs", r"Installs packages with `" + re.escape(stack["pm"]) + "`"),
        "file edited most": ("prefs", r"Edits most often in " + re.escape(name) + ": " + re.escape(hot)),
        "decision with its reason": ("work", re.escape(decision_text[:60])),
        "newest session: first request": ("work", re.escape(tasks[-1][:40])),
        "newest session: last request": ("work", r"Last asked: \"" + re.escape(last_request[:40])),
        "newest session: files changed": ("work", r"Changed: .*" + re.escape(newest_files[0])),
        "unfinished todo items": ("work", r"Unfinished: " + re.escape(todo[2]) + r" \(in progress\); "
                                  + re.escape(todo[3])),
    }
    return {"project": name, "facts": facts, "not_preferences": [one_off, single_fix]}


def score(context: str, planted: dict[str, Any]) -> dict[str, Any]:
    prefs, _, work = context.partition("## Where we left off")
    section = {"prefs": prefs, "work": work}
    found = {k: bool(re.search(rx, section[sec])) for k, (sec, rx) in planted["facts"].items()}
    lines = [ln for ln in context.splitlines()
             if ln.strip() and not ln.startswith("#") and not (ln.endswith(":") and not ln.startswith((" ", "-")))]
    patterns = [rx for _, rx in planted["facts"].values()]
    fact_lines = [ln for ln in lines if any(re.search(rx, ln) for rx in patterns)]
    violations = [t for t in planted["not_preferences"] if t[:30] in prefs]
    return {"project": planted["project"], "recall": sum(found.values()) / len(found),
            "precision": len(fact_lines) / len(lines) if lines else 0.0, "found": found,
            "lines": len(lines), "fact_lines": len(fact_lines), "violations": violations,
            "bytes": len(context.encode()), "noise": [ln for ln in lines if ln not in fact_lines]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--projects", type=int, default=4)
    ap.add_argument("--sessions", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--budget", type=int, default=2048)
    ap.add_argument("--database-url", help="an empty database to use instead of a fresh embedded one")
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="cm-context-")) / "projects"
    start = datetime(2026, 9, 1, 9, tzinfo=UTC)
    planted = [history(root, NAMES[i % len(NAMES)] + ("" if i < len(NAMES) else str(i)), STACKS[i % len(STACKS)],
                       args.sessions, rng, start) for i in range(args.projects)]
    rt, _ = temp_runtime(args.database_url)
    try:
        run(rt.db, rt.memories, ImportOptions(), claude_code_dir=root)
        extract(rt.memories)
        results = []
        for p in planted:
            began = time.perf_counter()
            context = startup_context(rt.memories, p["project"], args.budget)
            results.append({**score(context, p), "ms": round(1000 * (time.perf_counter() - began), 1),
                            "context": context})
    finally:
        rt.close()
    for r in results:
        print(f"{r['project']:10} recall {r['recall']:.2f}  precision {r['precision']:.2f}  "
              f"({r['fact_lines']}/{r['lines']} lines, {r['bytes']} bytes, {r['ms']} ms)"
              + (f"  VIOLATIONS: {r['violations']}" if r["violations"] else ""))
        for k, ok in r["found"].items():
            if not ok:
                print(f"    missing: {k}")
        for ln in r["noise"]:
            print(f"    noise: {ln[:110]}")
    recall = sum(r["recall"] for r in results) / len(results)
    precision = sum(r["precision"] for r in results) / len(results)
    violations = sum(len(r["violations"]) for r in results)
    write_json(args.out, {"benchmark": "context", "machine": machine(), "projects": args.projects,
                          "sessions": args.sessions, "seed": args.seed, "budget": args.budget,
                          "recall": round(recall, 4), "precision": round(precision, 4),
                          "violations": violations, "results": results})
    print(f"violations={violations}")
    print(f"recall={recall:.3f} precision={precision:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
