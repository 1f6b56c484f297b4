"""The import job: discover and parse sources, redact, embed in large batches, and write each file's
messages, memories and read offset in one transaction (an interrupted run resumes without duplicates)."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg2

from ..db import memories as mq
from ..db import sessions as sq
from ..db.memories import NewMemory
from ..db.pool import Database
from ..errors import Conflict, InvalidInput, Unavailable
from ..memory import MAX_CONTENT_CHARS, MemoryService, clean_content, clean_tags, content_hash
from ..progress import Progress
from . import auto_memory as automem
from . import claude_ai, claude_code, text
from . import model as k
from .claude_code import TranscriptFile
from .model import FileResult, Message, Session
from .redact import ALL_RULES, active_rules, redact, redact_value
from .summary import Summary

log = logging.getLogger(__name__)

IMPORT_LOCK = 727_372_002  # advisory lock: one import at a time per database
EMBED_BATCH = 256  # memory texts embedded together, across files, before their transactions are written
Embed = Callable[[Sequence[str]], list[tuple[np.ndarray, list[np.ndarray]]]]


@dataclass
class ImportOptions:
    min_length: int = 50
    project: str | None = None
    dry_run: bool = False
    batch_size: int = EMBED_BATCH


@dataclass
class _SessionPart:
    session: Session
    project: str | None
    source: str
    fresh: list[Message]
    appends: list[tuple[str, Message]]


@dataclass
class _Unit:
    """What one transaction writes: new messages of some sessions, new memories, a file's read state."""

    sessions: list[_SessionPart] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    file: tuple[str, str | None, int, int, int, int] | None = None  # path, session, size, mtime, bytes, lines


class Importer:
    def __init__(self, db: Database, memories: MemoryService, options: ImportOptions,
                 embed: Embed | None = None, progress_stream: Any = None) -> None:
        self.db, self.memories, self.options = db, memories, options
        self.embed: Embed = embed or memories.embed_documents
        self.summary = Summary(dry_run=options.dry_run)
        self.progress_stream = progress_stream
        self._pending: list[_Unit] = []
        self._pending_texts = 0
        self._dry_seen: set[str] = set()  # sessions a dry run already counted as new
        self._started = time.monotonic()

    # --- sources ---------------------------------------------------------------------------------
    def claude_code(self, root: Path) -> None:
        """Every transcript under a Claude Code projects folder; unchanged files cost one stat."""
        if not root.is_dir():
            raise InvalidInput(f"no Claude Code projects folder at {root}")
        self.transcripts(claude_code.discover(root), root)
        self.auto_memory(sorted(p for p in root.iterdir() if p.is_dir()), root)

    def auto_memory(self, folders: Sequence[Path], root: Path) -> None:
        """Claude Code's auto-memory files in these project folders: a new file adds its memories, a
        changed one updates them in place (same ids), a file gone soft-deletes them; unchanged files
        cost one stat. Memories carry the tag claude-code-memory and the file as source."""
        files = automem.discover(list(folders))
        with self.db.cursor() as cur:
            states = sq.file_states(cur, [str(f.path) for f in files])
            known = [p for folder in folders
                     for p in sq.file_paths_under(cur, str(folder / "memory") + os.sep) if p.endswith(".md")]
        on_disk = {str(f.path) for f in files}
        for f in files:
            try:
                st = f.path.stat()
                body = f.path.read_bytes().decode("utf-8", errors="replace")
            except OSError as exc:
                self._failed(f.path, f"unreadable: {exc.strerror or exc}")
                continue
            prev = states.get(str(f.path))
            if prev and prev[0] == st.st_size and prev[1] == st.st_mtime_ns:
                self.summary.unchanged += 1
                continue
            self.summary.files += 1
            self._memory_file(f, body, st)
        for path in known:
            if path not in on_disk and not Path(path).exists():
                self._memory_file_gone(Path(path), root)
        self.flush()

    def _memory_file(self, f: automem.MemoryFile, body: str, st: os.stat_result) -> None:
        texts = [redact(t, self.summary.redacted) for t in automem.parts(body)]
        sources = [automem.source_of(f.folder, f.relative, i) for i in range(len(texts))]
        prefix = automem.source_of(f.folder, f.relative, 0)
        with self.db.cursor() as cur:
            project = self.options.project or sq.project_for_folder(cur, f.folder, automem.folder_key) \
                or (f.folder.rstrip("-").rsplit("-", 1)[-1] or None)
            existing = {s: i for i, s in mq.active_with_source_prefix(cur, prefix)
                        if s == prefix or s.startswith(prefix + "#")}
        when = datetime.fromtimestamp(st.st_mtime, tz=UTC)
        tags = [automem.TAG, f"file:{Path(f.relative).name}"[:100]] + self._project_tag(project)
        unit = _Unit(file=(str(f.path), None, st.st_size, st.st_mtime_ns, st.st_size, 0))
        for text_, source in zip(texts, sources, strict=True):
            mid = existing.pop(source, None)
            if mid is None:
                unit.items.append({"content": text_, "tags": tags, "source": source, "project": project,
                                   "created_at": when})
            elif self.options.dry_run or self.memories.update(mid, text_, None, force=True).get("updated"):
                self.summary.memories_updated += 1
        for mid in existing.values():  # the file has fewer parts now
            if not self.options.dry_run:
                self.memories.delete(mid)
            self.summary.memories_deleted += 1
        self._queue(self._dedupe(unit))

    def _memory_file_gone(self, path: Path, root: Path) -> None:
        try:
            rel = path.relative_to(root)
            folder, relative = rel.parts[0], Path(*rel.parts[2:]).as_posix()
        except (ValueError, IndexError):
            folder, relative = path.parent.parent.name, path.name
        prefix = automem.source_of(folder, relative, 0)
        with self.db.cursor() as cur:
            gone = [i for i, s in mq.active_with_source_prefix(cur, prefix)
                    if s == prefix or s.startswith(prefix + "#")]
        for mid in gone:
            if not self.options.dry_run:
                self.memories.delete(mid)
            self.summary.memories_deleted += 1
        if not self.options.dry_run:
            with self.db.cursor() as cur:
                sq.forget_file(cur, str(path))

    def transcripts(self, files: Sequence[TranscriptFile], root: Path) -> None:
        """Import these transcript files (paths under `root`, which keys records without a uuid)."""
        with self.db.cursor() as cur:
            states = sq.file_states(cur, [str(f.path) for f in files])
        stats: list[tuple[TranscriptFile, os.stat_result | None]] = []
        for f in files:
            try:
                stats.append((f, f.path.stat()))
            except OSError:
                stats.append((f, None))
        # oldest first: when a resumed session replays earlier uuids, the original keeps them
        stats.sort(key=lambda fs: (fs[1].st_mtime_ns if fs[1] else 0, str(fs[0].path)))
        bar = Progress(len(stats), "claude-code", self.progress_stream)
        for f, st in stats:
            bar.advance(1, f.path.name)
            if st is None:
                self._failed(f.path, "unreadable file")
                continue
            prev = states.get(str(f.path))
            if prev and prev[0] == st.st_size and prev[1] == st.st_mtime_ns:
                self.summary.unchanged += 1
                continue
            offset, line = (prev[2], prev[3]) if prev and st.st_size >= prev[2] else (0, 0)
            result = claude_code.parse_file(f.path, offset=offset, start_line=line,
                                            default_session=f.default_session,
                                            file_key=_key(f.path, root), sidechain_file=f.sidechain)
            self.summary.files += 1
            self.summary.skipped.update(result.skipped)
            if result.error:
                self._failed(f.path, result.error, counted=True)
                continue
            unit = self._unit(result, str(f.path), "claude-code", ["claude-code-session"],
                              _rules_in(f.path, offset, result.end_offset))
            main = (f.default_session if f.default_session in result.sessions
                    else next(iter(result.sessions), f.default_session))
            unit.file = (str(f.path), main, st.st_size, st.st_mtime_ns, result.end_offset, result.lines)
            self._queue(unit)
        bar.close()
        self.flush()

    def claude_ai(self, path: Path) -> None:
        """A claude.ai conversations.json; one transaction per conversation."""
        st = self._stat(path)
        if st is None:
            self.summary.source_failures.append(f"--claude-ai {path}: cannot be read")
            return
        if self._unchanged(path, st):
            return
        result = claude_ai.parse_export(path)
        self.summary.files += 1
        self.summary.skipped.update(result.skipped)
        if result.error:
            self._failed(path, result.error, counted=True)
            self.summary.source_failures.append(f"--claude-ai {path}: {result.error}")
            return
        bar = Progress(len(result.sessions), "claude.ai", self.progress_stream)
        sessions = list(result.sessions.values())
        for i, s in enumerate(sessions):
            bar.advance(1, s.title or s.session_id)
            one = FileResult(sessions={s.session_id: s})
            unit = self._unit(one, str(path), "claude-ai", ["claude-ai"])
            if i == len(sessions) - 1:
                unit.file = (str(path), None, st.st_size, st.st_mtime_ns, st.st_size, 0)
            self._queue(unit)
        if not sessions:
            self._queue(_Unit(file=(str(path), None, st.st_size, st.st_mtime_ns, st.st_size, 0)))
        bar.close()
        self.flush()

    def text(self, paths: Sequence[Path]) -> None:
        """Text or markdown notes, chunked; a file is re-read only when it changed."""
        bar = Progress(len(paths), "text", self.progress_stream)
        for path in paths:
            bar.advance(1, path.name)
            st = self._stat(path)
            if st is None:
                self.summary.source_failures.append(f"--text {path}: cannot be read")
                continue
            if self._unchanged(path, st):
                continue
            try:
                body = path.read_bytes().decode("utf-8", errors="replace")
            except OSError as exc:
                self._failed(path, f"unreadable: {exc.strerror or exc}")
                self.summary.source_failures.append(f"--text {path}: unreadable ({exc.strerror or exc})")
                continue
            self.summary.files += 1
            when = datetime.fromtimestamp(st.st_mtime, tz=UTC)
            tags = ["text-import", f"file:{path.name}"[:100]] + self._project_tag(self.options.project)
            source = f"text/{path.name}"[:200]
            unit = _Unit(file=(str(path), None, st.st_size, st.st_mtime_ns, st.st_size, 0))
            for chunk in text.chunk_text(body):
                unit.items.append({"content": redact(chunk, self.summary.redacted), "tags": tags,
                                   "source": source, "project": self.options.project, "created_at": when})
            self._replace_version(path, source, when, unit)
            self._queue(self._dedupe(unit))
        bar.close()
        self.flush()

    def _replace_version(self, path: Path, source: str, when: datetime, unit: _Unit) -> None:
        """A text file read before and changed since: chunks it no longer has are soft-deleted, chunks it
        still has (or has again) are carried over to the new version's time; the rest are new."""
        with self.db.cursor() as cur:
            prev = sq.file_states(cur, [str(path)]).get(str(path))
        if not prev:
            return
        before = datetime.fromtimestamp(prev[1] / 1e9, tz=UTC)
        wanted = {content_hash(clean_content(it["content"])) for it in unit.items}
        project = self.options.project
        with self.db.cursor() as cur:
            old = mq.file_version(cur, source, project, before)
            again = [r for r in mq.hashes_with_source(cur, source, project, list(wanted)) if r not in old]
            gone = [i for i, h, deleted in old if h not in wanted and not deleted]
            kept = [i for i, h, _ in old + again if h in wanted]
            if self.options.dry_run:
                self.summary.memories_deleted += len(gone)
                return
            for mid in gone:
                mq.set_deleted(cur, mid, True)
            if kept:
                mq.retime(cur, kept, when)
        self.summary.memories_deleted += len(gone)
        if gone or kept:
            self.memories.cache.clear()

    def memories_json(self, path: Path) -> None:
        """The JSON that export_memories writes: every memory back with its tags, project, source, times."""
        try:
            data = json.loads(path.read_bytes().decode("utf-8", errors="replace"))
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from exc
        except (ValueError, RecursionError) as exc:
            raise InvalidInput(f"{path} is not JSON: {exc}") from exc
        rows = data.get("memories") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise InvalidInput(f"{path} is not a claude-memory export (no `memories` list)")
        self.summary.files += 1
        bar = Progress(len(rows), "memories", self.progress_stream)
        unit = _Unit()
        for row in rows:
            bar.advance(1)
            item = self._export_item(row)
            if item is None:
                continue
            unit.items.append(item)
            if len(unit.items) >= self.options.batch_size:
                self._queue(self._dedupe(unit))
                unit = _Unit()
        self._queue(self._dedupe(unit))
        bar.close()
        self.flush()

    # --- building units --------------------------------------------------------------------------
    def _unit(self, result: FileResult, source_path: str, origin: str, base_tags: list[str],
              rules: frozenset[str] | None = None) -> _Unit:
        unit = _Unit()
        counts = self.summary.redacted
        rules = ALL_RULES if rules is None else rules
        with self.db.cursor() as cur:
            for s in result.sessions.values():
                for m in s.messages:
                    m.text = redact(m.text, counts, rules)
                    if m.blocks:
                        m.blocks = redact_value(m.blocks, counts, rules)
                if s.title:
                    s.title = redact(s.title, counts, rules)
                known = sq.existing_uuids(cur, [m.uuid for m in s.messages])
                fresh = [m for m in s.messages if m.uuid not in known]
                reply_ids = [m.message_id for m in fresh if m.message_id]
                replies = sq.existing_replies(cur, s.session_id, reply_ids) if reply_ids else {}
                appends = [(replies[m.message_id], m) for m in fresh if m.message_id in replies]
                fresh = [m for m in fresh if m.message_id not in replies]
                project = self.options.project or self._project_of(cur, s.cwd)
                unit.sessions.append(_SessionPart(s, project, source_path, fresh, appends))
                tags = base_tags + self._project_tag(project)
                source = f"{origin}/{s.session_id[:8]}"
                for m in fresh + [m for _, m in appends]:
                    if (m.kind in k.MEMORY_KINDS and m.role in ("user", "assistant") and not m.is_sidechain
                            and len(m.text.strip()) >= self.options.min_length):
                        if len(m.text) > MAX_CONTENT_CHARS:
                            self.summary.skipped["message too long for a memory (archived)"] += 1
                            continue
                        unit.items.append({"content": m.text.strip(), "tags": tags + [f"role:{m.role}"],
                                           "source": source, "project": project, "session_id": s.session_id,
                                           "created_at": m.timestamp, "uuid": m.uuid})
        return self._dedupe(unit)

    def _project_of(self, cur: Any, cwd: str | None) -> str | None:
        """The project of a working directory; a path the database refuses to register (too long for its
        index, say) gets its last folder as a name and no projects row, counted — never a failed run."""
        if not cwd or self.options.dry_run:
            return _basename(cwd)
        cur.execute("SAVEPOINT project_name")
        try:
            name = sq.project_for_cwd(cur, cwd)
        except psycopg2.Error:
            cur.execute("ROLLBACK TO SAVEPOINT project_name")
            self.summary.skipped["project path refused by the database"] += 1
            return (_basename(cwd) or "")[:200] or None
        cur.execute("RELEASE SAVEPOINT project_name")
        return name

    def _dedupe(self, unit: _Unit) -> _Unit:
        """Drop items whose exact text is already stored in their project, so nothing is embedded twice."""
        by_project: dict[str | None, list[dict[str, Any]]] = {}
        for it in unit.items:
            it["hash"] = content_hash(it["content"])
            by_project.setdefault(it.get("project"), []).append(it)
        keep: list[dict[str, Any]] = []
        with self.db.cursor() as cur:
            for project, items in by_project.items():
                have = mq.existing_hashes(cur, project, [it["hash"] for it in items])
                for it in items:
                    if it["hash"] not in have:
                        have.add(it["hash"])
                        keep.append(it)
        unit.items = keep
        return unit

    def _export_item(self, row: Any) -> dict[str, Any] | None:
        if not isinstance(row, dict) or not isinstance(row.get("content"), str) or not row["content"].strip():
            self.summary.skipped["memory without content"] += 1
            return None
        try:
            tags = clean_tags(row.get("tags"))
        except InvalidInput:
            self.summary.skipped["memory with invalid tags"] += 1
            return None
        content = row["content"].replace("\x00", "").strip()
        if len(content) > MAX_CONTENT_CHARS:
            self.summary.skipped["memory too long"] += 1
            return None
        project = self.options.project or (row.get("project") if isinstance(row.get("project"), str) else None)
        return {"content": redact(content, self.summary.redacted), "tags": tags,
                "source": row.get("source") if isinstance(row.get("source"), str) else None,
                "project": project,
                "session_id": row.get("session_id") if isinstance(row.get("session_id"), str) else None,
                "created_at": claude_code.parse_time(row.get("created_at")),
                "updated_at": claude_code.parse_time(row.get("updated_at"))}

    # --- writing ---------------------------------------------------------------------------------
    def _queue(self, unit: _Unit) -> None:
        self._pending.append(unit)
        self._pending_texts += len(unit.items)
        if self._pending_texts >= self.options.batch_size:
            self.flush()

    def flush(self) -> None:
        """Embed every pending text in one batch, then write each unit in its own transaction."""
        units, self._pending, self._pending_texts = self._pending, [], 0
        if not units:
            return
        if self.options.dry_run:
            for u in units:
                ids = [p.session.session_id for p in u.sessions if p.fresh]
                with self.db.cursor() as cur:
                    known = sq.known_sessions(cur, ids)
                self.summary.new_sessions += len(set(ids) - known - self._dry_seen)
                self._dry_seen.update(ids)
                self._count(u, {m.uuid for p in u.sessions for m in p.fresh}, len(u.items))
            return
        texts = [it["content"] for u in units for it in u.items]
        vectors = self.embed(texts) if texts else []
        self.summary.embedded += len(texts)
        i = 0
        for u in units:
            for it in u.items:
                it["vector"], it["chunks"] = vectors[i]
                i += 1
            started = time.perf_counter()
            try:
                self._write_keeping_words(u)
            except Unavailable:
                raise  # the database went away (the pool says so): stop, the next run resumes
            except (psycopg2.Error, InvalidInput, UnicodeError, ValueError, RecursionError) as exc:  # refused: skip, go on
                where = u.file[0] if u.file else ", ".join(p.session.session_id for p in u.sessions)
                self.summary.failed += 1
                self.summary.skipped["rejected by the database"] += 1
                self.summary.errors.append(f"{where}: rejected by the database: {str(exc).strip()[:200]}")
            finally:
                self.summary.write_seconds += time.perf_counter() - started

    def _write_keeping_words(self, unit: _Unit) -> None:
        """Write a unit; if the database refuses it and it carries memories, the archive comes first: the
        messages and the file's offset are written without them, then each memory alone, and only the
        memories the database refuses are left out (counted)."""
        try:
            self._write(unit)
            return
        except Unavailable:
            raise
        except (psycopg2.Error, InvalidInput, UnicodeError, ValueError, RecursionError):
            # statement-level refusals, OperationalError ones included (a tsvector over its size limit is
            # ProgramLimitExceeded); a lost connection reaches here as Unavailable instead
            if not unit.items or not (unit.sessions or unit.file):
                raise
        items, unit.items = unit.items, []
        self._write(unit)  # the user's words, whatever their memories do
        for it in items:
            try:  # its message was archived just above: no uuid check left to make
                self._write(_Unit(items=[{k: v for k, v in it.items() if k != "uuid"}]))
            except Unavailable:
                raise
            except (psycopg2.Error, InvalidInput, UnicodeError, ValueError, RecursionError) as exc:
                self.summary.skipped["memory refused by the database (message archived)"] += 1
                self.summary.errors.append(f"memory of {it.get('session_id') or it.get('source')}: refused by "
                                           f"the database: {str(exc).strip()[:160]}")

    def _write(self, unit: _Unit) -> None:
        with self.db.cursor() as cur:
            # a crash can lose only the last commits, and with them their files' read offsets: re-imported
            cur.execute("SET LOCAL synchronous_commit = off")
            inserted: set[str] = set()
            new_sessions = 0
            for part in unit.sessions:
                s = part.session
                seq = sq.max_seq(cur, s.session_id)
                rows = []
                for m in part.fresh:
                    seq += 1
                    rows.append((s.session_id, m.uuid, m.parent_uuid, m.role, m.kind, m.text, m.timestamp,
                                 m.is_sidechain, m.message_id, seq, m.blocks, part.source))
                got = sq.insert_messages(cur, rows)
                inserted |= got
                for uuid, m in part.appends:
                    sq.append_to_message(cur, uuid, m.text, m.blocks, m.kind)
                    inserted.add(m.uuid)
                new_sessions += sq.upsert_session(
                    cur, session_id=s.session_id, project=part.project, cwd=s.cwd, git_branch=s.git_branch,
                    title=s.title, fallback_title=_fallback_title(s), source_path=part.source,
                    first_at=s.first_at, last_at=s.last_at, added=len(got))
            rows_m = [
                NewMemory(it["content"], it["hash"], it["vector"], it["chunks"], it["tags"], it.get("source"),
                          it.get("project"), it.get("session_id"), it.get("created_at"), it.get("updated_at"))
                for it in unit.items if "uuid" not in it or it["uuid"] in inserted
            ]
            ids = mq.insert_many(cur, rows_m)
            if unit.file:
                sq.save_file_state(cur, *unit.file)
            sids = {p.session.session_id for p in unit.sessions}
            if unit.file and unit.file[1]:
                sids.add(unit.file[1])
            if sids:
                sq.refresh_session_reads(cur, sids)
        self.memories.cache.clear()
        self.summary.new_sessions += new_sessions
        self._count(unit, inserted, sum(1 for i in ids if i is not None))

    def _count(self, unit: _Unit, inserted: set[str], memories: int) -> None:
        self.summary.messages += len(inserted)
        self.summary.memories += memories
        self.summary.session_ids.update(p.session.session_id for p in unit.sessions
                                        if p.appends or any(m.uuid in inserted for m in p.fresh))

    # --- helpers ---------------------------------------------------------------------------------
    def _project_tag(self, project: str | None) -> list[str]:
        return [f"project:{project}"[:100]] if project else []

    def _stat(self, path: Path) -> os.stat_result | None:
        try:
            return path.stat()
        except OSError as exc:
            self._failed(path, f"unreadable: {exc.strerror or exc}")
            return None

    def _unchanged(self, path: Path, st: os.stat_result) -> bool:
        with self.db.cursor() as cur:
            prev = sq.file_states(cur, [str(path)]).get(str(path))
        if prev and prev[0] == st.st_size and prev[1] == st.st_mtime_ns:
            self.summary.unchanged += 1
            return True
        return False

    def _failed(self, path: Path, reason: str, counted: bool = False) -> None:
        self.summary.failed += 1
        if not counted:
            self.summary.skipped[reason.split(":")[0]] += 1
        self.summary.errors.append(f"{path}: {reason}")

    def finish(self) -> Summary:
        self.flush()
        self.summary.seconds = time.monotonic() - self._started
        return self.summary


def _key(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return path.name


def _rules_in(path: Path, start: int, end: int) -> frozenset[str]:
    """Redaction rules that can match anything in the bytes just parsed (see redact.active_rules)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            return active_rules(fh.read(max(0, end - start)))
    except OSError:
        return ALL_RULES


def _project_folder(transcript: Path, root: Path) -> Path:
    """The project folder (projects/<folder>) a transcript belongs to, sub-agent layouts included."""
    try:
        rel = transcript.relative_to(root)
    except ValueError:
        return transcript.parent
    return root / rel.parts[0] if len(rel.parts) > 1 else transcript.parent


def _basename(cwd: str | None) -> str | None:
    if not cwd:
        return None
    parts = [p for p in cwd.replace("\\", "/").split("/") if p]
    return parts[-1] if parts else cwd


def _fallback_title(s: Session) -> str | None:
    for m in s.messages:
        if m.role == "user" and m.kind == k.TEXT and not m.is_sidechain and m.text.strip():
            line = m.text.strip().splitlines()[0]
            return line if len(line) <= 80 else line[:79] + "…"
    return None


def run(db: Database, memories: MemoryService, options: ImportOptions, *, claude_code_dir: Path | None = None,
        claude_ai_file: Path | None = None, text_files: Sequence[Path] = (), memories_json: Path | None = None,
        embed: Embed | None = None, progress_stream: Any = None,
        transcripts: Sequence[Path] = (), transcripts_root: Path | None = None,
        lock_wait: float | None = None) -> Summary:
    """Import the given sources; concurrent runs (a hook and a manual import) take turns. With
    `lock_wait`, give up with Conflict after that many seconds of waiting for another run."""
    if not (claude_code_dir or claude_ai_file or text_files or memories_json or transcripts):
        raise InvalidInput("nothing to import: give --claude-code, --claude-ai, --text or --memories-json")
    if options.min_length < 1:
        raise InvalidInput("--min-length must be at least 1")
    if not 1 <= options.batch_size <= 10_000:
        raise InvalidInput("--batch-size must be between 1 and 10000")
    importer = Importer(db, memories, options, embed=embed, progress_stream=progress_stream)
    with db.connection() as lock_conn:
        with lock_conn.cursor() as cur:
            # poll rather than block inside libpq, so a hook's deadline (a Python signal) can interrupt the wait
            deadline = None if lock_wait is None else time.monotonic() + lock_wait
            while True:
                cur.execute("SELECT pg_try_advisory_lock(%s)", (IMPORT_LOCK,))
                if cur.fetchone()[0]:
                    break
                lock_conn.commit()
                if deadline is not None and time.monotonic() > deadline:
                    raise Conflict("another import is running; try again when it has finished")
                time.sleep(0.2)
        lock_conn.commit()  # the lock belongs to the session; no transaction stays open meanwhile
        try:
            if claude_code_dir:
                importer.claude_code(claude_code_dir)
            if transcripts:
                root = transcripts_root or transcripts[0].parent
                importer.transcripts([claude_code.classify(p, root) for p in transcripts], root)
                for folder in sorted({_project_folder(p, root) for p in transcripts}):
                    importer.auto_memory([folder], folder.parent)
            if claude_ai_file:
                importer.claude_ai(claude_ai_file)
            if text_files:
                importer.text(list(text_files))
            if memories_json:
                importer.memories_json(memories_json)
        finally:
            with lock_conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", (IMPORT_LOCK,))
    fold_keyword_counts(db)
    return importer.finish()


def fold_keyword_counts(db: Database) -> None:
    """Sum the document-frequency deltas this run's writes left (keyword search reads them meanwhile)."""
    try:
        with db.cursor() as cur:
            mq.fold_df(cur)
    except (psycopg2.Error, Unavailable) as exc:  # the import is done either way; a later search folds them
        log.warning("could not fold keyword counters: %s", exc)
