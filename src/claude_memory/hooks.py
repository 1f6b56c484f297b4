"""Claude Code hooks: what SessionStart prints, which files SessionEnd imports, and installing both into
settings.json without disturbing anything else in it."""

from __future__ import annotations

import json
import os
import shlex
import tempfile
from pathlib import Path
from typing import Any, TextIO

from .errors import InvalidInput

MAX_INPUT_BYTES = 1_000_000
ENV_FILE = "claude-memory.env"  # beside settings.json: the store the hooks read, user-only permissions
# Settings that decide which store a hook reads and how; recorded at install time when they are set.
STORE_KEYS = ("DATABASE_URL", "EMBEDDING_MODEL", "CLAUDE_PROJECTS_DIR", "STARTUP_CONTEXT_BYTES", "TORCH_THREADS")
START_TIMEOUT = 30  # seconds Claude Code gives each hook (ours also stop themselves earlier)
END_TIMEOUT = 60


def read_input(stream: TextIO) -> dict[str, Any]:
    """The hook's JSON from stdin: session_id, cwd, source, transcript_path, hook_event_name."""
    raw = stream.read(MAX_INPUT_BYTES + 1)
    if len(raw) > MAX_INPUT_BYTES:
        raise InvalidInput("hook input is too large")
    data = json.loads(raw or "{}")
    if not isinstance(data, dict):
        raise InvalidInput("hook input is not a JSON object")
    return data


def session_start_output(context: str) -> str:
    """The JSON form Claude Code adds to the new session as additional context."""
    return json.dumps({"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": context}})


def transcript_files(transcript: Path) -> list[Path]:
    """A session's transcript and its sub-agent transcripts (<session>/subagents/**)."""
    files = [transcript] if transcript.is_file() else []
    sub = transcript.with_suffix("") / "subagents"
    if sub.is_dir():
        files += sorted(p for p in sub.rglob("*.jsonl") if p.is_file())
    return files


def write_env_file(path: Path, values: dict[str, str]) -> None:
    """KEY=VALUE lines, created with mode 0600 (a DATABASE_URL may hold a password)."""
    for key, value in values.items():
        if "\n" in value or "\r" in value or "\x00" in value:
            raise InvalidInput(f"{key} holds a line break; cannot record it for the hooks")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".claude-memory.", suffix=".env")
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("# written by `claude-memory hooks install`: the store the Claude Code hooks use\n")
            fh.writelines(f"{k}={v}\n" for k, v in values.items())
        os.replace(tmp, path)
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}") from exc


def read_env_file(path: Path) -> dict[str, str]:
    """The values an env file written by `write_env_file` holds (comments and blank lines skipped)."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value
    return out


def store_values(env: dict[str, str] | os._Environ[str], data_dir: Path) -> dict[str, str]:
    """What the hooks must know to read the same store as the server: the data folder (absolute), and
    every store setting that is set."""
    values = {"MEMORY_DATA_DIR": str(data_dir.expanduser().resolve())}
    values.update({k: env[k] for k in STORE_KEYS if env.get(k, "").strip()})
    return values


def _ours(entry: Any, sub: str) -> bool:
    """Whether a hooks entry already runs our `hook <sub>` (however it was spelled)."""
    hooks = entry.get("hooks") if isinstance(entry, dict) else None
    commands = [str(h.get("command", "")) for h in hooks if isinstance(h, dict)] if isinstance(hooks, list) else []
    return any(f"hook {sub}" in c and ("claude_memory" in c or "claude-memory" in c) for c in commands)


def _command(entry: Any) -> str | None:
    hooks = entry.get("hooks") if isinstance(entry, dict) else None
    if isinstance(hooks, list) and len(hooks) == 1 and isinstance(hooks[0], dict):
        return str(hooks[0].get("command", ""))
    return None


def install(settings_path: Path, command: str, env_file: Path | None = None) -> list[str]:
    """Add SessionStart and SessionEnd hooks running `command hook … [--env-file F]` to a Claude Code
    settings file, keeping every other setting and hook; returns the events added or updated (empty when
    already installed as asked). An installed hook of ours with another command is replaced."""
    data: dict[str, Any] = {}
    if settings_path.is_dir():
        raise InvalidInput(f"{settings_path} is a directory; give the settings.json file")
    if settings_path.exists():
        try:
            text = settings_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read {settings_path}: {exc}") from exc
        if text.strip():
            try:
                loaded = json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise InvalidInput(f"{settings_path} is not valid JSON ({exc}); not touching it") from exc
            if not isinstance(loaded, dict):
                raise InvalidInput(f"{settings_path} does not hold a JSON object; not touching it")
            data = loaded
    hooks = data.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise InvalidInput(f"`hooks` in {settings_path} is not an object; not touching it")
    added = []
    for event, sub, timeout in (("SessionStart", "session-start", START_TIMEOUT),
                                ("SessionEnd", "session-end", END_TIMEOUT)):
        entries = hooks.setdefault(event, [])
        if not isinstance(entries, list):
            raise InvalidInput(f"`hooks.{event}` in {settings_path} is not a list; not touching it")
        line = f"{command} hook {sub}" + (f" --env-file {shlex.quote(str(env_file))}" if env_file else "")
        if any(_command(e) == line for e in entries):
            continue
        entries[:] = [e for e in entries if not _ours(e, sub)]
        entries.append({"hooks": [{"type": "command", "command": line, "timeout": timeout}]})
        added.append(event)
    if added:
        try:
            settings_path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=settings_path.parent, prefix=".settings.", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2)
                fh.write("\n")
            os.replace(tmp, settings_path)
        except OSError as exc:
            raise InvalidInput(f"cannot write {settings_path}: {exc.strerror or exc}") from exc
    return added
