"""Distillation and the behavioural pass: an LLM reads archived transcripts and writes durable memories.

Each session is claimed with SELECT … FOR UPDATE SKIP LOCKED and handled in that one transaction: the
memories, the raw rows it supersedes and the `distilled` mark commit together, or a failure is counted,
or (LLM down) everything rolls back and the run stops. The messages archive is never touched."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from .db import distill as dq
from .db import memories as mq
from .db import signals as gq
from .db.memories import NewMemory
from .errors import Unavailable
from .llm import LLM, BadOutput, parse_items, prompt
from .memory import MemoryService, clean_tags, content_hash
from .progress import Progress

ROLE_LABEL = {"user": "USER", "assistant": "ASSISTANT", "system": "SYSTEM"}


@dataclass
class JobOptions:
    project: str | None = None
    dry_run: bool = False
    workers: int = 1
    context_chars: int = 24_000
    min_messages: int = 4
    force: bool = False


@dataclass
class JobSummary:
    job: str
    sessions: int = 0
    memories: int = 0
    empty: int = 0
    failed: int = 0
    capped: int = 0
    dropped_duplicates: int = 0
    llm_calls: int = 0
    would_process: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    def lines(self) -> list[str]:
        if self.dry_run:
            return [f"{self.job} (dry run: nothing sent, nothing written): {len(self.would_process)} sessions"
                    " would be processed"] + [f"  {s}" for s in self.would_process[:50]]
        out = [f"{self.job} finished in {self.seconds:.1f} s",
               f"  sessions: {self.sessions} done ({self.empty} with nothing worth keeping),"
               f" {self.failed} failed, {self.capped} now capped after 3 failures",
               f"  memories: {self.memories} written, {self.dropped_duplicates} near-duplicates dropped",
               f"  LLM calls: {self.llm_calls}"]
        return out + [f"  failure: {e}" for e in self.errors[:20]]


def render(transcript: list[tuple[str, str, str]]) -> list[str]:
    """One block per message with its role label; tool calls as TOOL lines."""
    blocks = []
    for role, kind, text in transcript:
        label = "TOOL" if kind == "tool_use" else "SUMMARY" if kind == "compact_summary" else ROLE_LABEL.get(role, role)
        blocks.append(f"{label}: {text.strip()}")
    return blocks


def split(blocks: list[str], budget: int) -> list[str]:
    """Parts of at most `budget` characters, cut at message bounds (a longer message is cut on its own)."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for b in blocks:
        pieces = [b[i:i + budget] for i in range(0, len(b), budget)] if len(b) > budget else [b]
        for piece in pieces:
            if current and size + len(piece) + 2 > budget:
                parts.append("\n\n".join(current))
                current, size = [], 0
            current.append(piece)
            size += len(piece) + 2
    if current:
        parts.append("\n\n".join(current))
    return parts


class _Job:
    def __init__(self, job: str, memories: MemoryService, llm: LLM | None, options: JobOptions) -> None:
        self.job, self.memories, self.llm, self.options = job, memories, llm, options
        self.column = "distilled" if job == "distill" else "behavior"
        self.system = prompt("distill" if job == "distill" else "behavior")
        self.summary = JobSummary(job, dry_run=options.dry_run)
        self.lock = threading.Lock()
        self.attempted: set[str] = set()
        self.stop: BaseException | None = None
        self.progress: Progress | None = None
        self.projects: set[str | None] = set()  # projects whose sessions this run wrote to

    def run(self) -> JobSummary:
        started = time.monotonic()
        with self.memories.db.cursor() as cur:
            pending = dq.pending(cur, self.column, self.options.project, self.options.min_messages,
                                 self.options.force)
        if self.options.dry_run:
            self.summary.would_process = pending
            return self.summary
        self.progress = Progress(len(pending), self.job)
        threads = [threading.Thread(target=self._worker, daemon=True) for _ in range(max(1, self.options.workers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.progress.close()
        if self.column == "behavior" and self.projects:
            # one observation made in two sessions is a supported behaviour (learning/support.py)
            from .learning import support

            for project in sorted(self.projects, key=lambda p: p or ""):
                support.regroup(self.memories, project, support.BEHAVIOR_TAG)
        self.summary.seconds = time.monotonic() - started
        if self.stop is not None:
            raise self.stop
        return self.summary

    def _worker(self) -> None:
        while self.stop is None:
            try:
                if not self._one():
                    return
            except Unavailable as exc:
                self.stop = exc
                return
            except BaseException as exc:  # a bug must stop the run loudly, not spin
                self.stop = exc
                return

    def _one(self) -> bool:
        with self.memories.db.connection() as conn, conn.cursor() as cur:
            with self.lock:
                skip = list(self.attempted)
            claimed = dq.claim(cur, self.column, self.options.project, self.options.min_messages, skip,
                               self.options.force)
            if claimed is None:
                return False
            sid, project, when = claimed
            with self.lock:
                self.attempted.add(sid)
            parts = split(render(dq.transcript(cur, sid)), self.options.context_chars)
            try:
                items = self._ask(sid, project, parts)
            except BadOutput as exc:
                with self.lock:
                    self.summary.failed += 1
                    self.summary.errors.append(f"{sid[:8]}: {exc}")
                if self.column == "distilled" and dq.add_failure(cur, sid) >= dq.MAX_FAILURES:
                    with self.lock:
                        self.summary.capped += 1
                self._advance(sid)
                return True
            written = self._write(cur, sid, project, when, items)
            dq.mark(cur, self.column, sid)
        with self.lock:
            self.summary.sessions += 1
            self.summary.memories += written
            self.summary.empty += written == 0
        if written:
            self.memories.cache.clear()
        self._advance(sid)
        return True

    def _advance(self, sid: str) -> None:
        if self.progress:
            with self.lock:
                self.progress.advance(1, sid[:8])

    def _ask(self, sid: str, project: str | None, parts: list[str]) -> list[dict[str, Any]]:
        assert self.llm is not None
        items: list[dict[str, Any]] = []
        for i, part in enumerate(parts, 1):
            head = f"Project: {project or 'unknown'}. Session {sid}. Transcript part {i} of {len(parts)}.\n\n"
            reply = self.llm.complete(self.system, head + part)
            with self.lock:
                self.summary.llm_calls += 1
            items.extend(parse_items(reply))
        return items

    def _write(self, cur: Any, sid: str, project: str | None, when: datetime | None,
               items: list[dict[str, Any]]) -> int:
        """Near-duplicates dropped (among the items and against distilled memories), then one insert."""
        if not items:
            return 0
        vectors = self.memories.embed_documents([it["content"] for it in items])
        guard = self.memories.guard.noop
        kept: list[tuple[dict[str, Any], np.ndarray, list[np.ndarray]]] = []
        for it, (vec, chunks) in zip(items, vectors, strict=True):
            near = dq.nearest_distilled(cur, mq.literal(vec), project)
            if any(float(np.dot(vec, k[1])) >= guard for k in kept) or (near is not None and near >= guard):
                with self.lock:
                    self.summary.dropped_duplicates += 1
                continue
            kept.append((it, vec, chunks))
        base = ["distilled"] if self.column == "distilled" else ["type:behavior", "source:behavioral"]
        rows = []
        for it, vec, chunks in kept:
            extra = [t for t in clean_tags(it["tags"]) if t not in base]
            tags = (base + ([f"project:{project}"] if project else []) + extra)[:20]
            if self.column == "distilled" and "type:behavior" in tags and "source:behavioral" not in tags:
                tags.append("source:distill")
            rows.append(NewMemory(it["content"], content_hash(it["content"]), vec, chunks, tags,
                                  f"{'distill' if self.column == 'distilled' else 'behavioral'}/{sid[:8]}",
                                  project, sid, when))
        inserted = mq.insert_many(cur, rows)
        if self.column == "behavior":
            # an observation worded exactly as one stored from another session is evidence for that one
            seen = [(i, sid, when) for i in inserted if i is not None]
            for row, i in zip(rows, inserted, strict=True):
                if i is None:
                    found = mq.find_by_hash(cur, project, row.content_hash)
                    if found:
                        seen.append((found[0], sid, when))
            gq.record_evidence(cur, seen)
            with self.lock:
                self.projects.add(project)
        ids = [i for i in inserted if i is not None]
        if ids and self.column == "distilled":
            dq.hide_raw(cur, sid, ids[0])
        return len(ids)


def run(job: str, memories: MemoryService, llm: LLM | None, options: JobOptions) -> JobSummary:
    """`job` is "distill" or "behavior". Raises Unavailable (nothing marked) when the LLM is down."""
    return _Job(job, memories, llm, options).run()


def reset_failures(memories: MemoryService, session_id: str | None) -> int:
    with memories.db.cursor() as cur:
        return dq.reset_failures(cur, session_id)
