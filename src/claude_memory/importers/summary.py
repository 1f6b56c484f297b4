"""The import job's closing summary: what was read, archived, embedded, skipped and redacted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Summary:
    files: int = 0
    unchanged: int = 0
    failed: int = 0
    session_ids: set[str] = field(default_factory=set)
    new_sessions: int = 0
    messages: int = 0
    memories: int = 0
    embedded: int = 0
    memories_updated: int = 0  # auto-memory files edited since the last run: their memories, in place
    memories_deleted: int = 0  # memories of files gone or changed (auto-memory, text notes), soft-deleted
    write_seconds: float = 0.0  # time inside the write transactions (no parsing, no embedding)
    skipped: Counter[str] = field(default_factory=Counter)
    redacted: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    source_failures: list[str] = field(default_factory=list)  # requested sources that could not be read at all
    seconds: float = 0.0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files, "unchanged_files": self.unchanged, "failed_files": self.failed,
            "sessions": len(self.session_ids), "new_sessions": self.new_sessions, "messages": self.messages,
            "memories": self.memories, "embedded": self.embedded,
            "memories_updated": self.memories_updated, "memories_deleted": self.memories_deleted,
            "write_seconds": round(self.write_seconds, 3), "skipped": dict(self.skipped),
            "redacted": dict(self.redacted), "errors": self.errors, "source_failures": self.source_failures,
            "seconds": round(self.seconds, 2),
            "dry_run": self.dry_run,
        }

    def lines(self) -> list[str]:
        verb = "would import" if self.dry_run else "imported"
        problems = {r: n for r, n in self.skipped.items() if not r.startswith("metadata: ")}
        metadata = {r[10:]: n for r, n in self.skipped.items() if r.startswith("metadata: ")}
        out = [
            f"{verb} in {self.seconds:.1f} s" + (" (dry run: nothing written)" if self.dry_run else ""),
            f"  files:    {self.files} read, {self.unchanged} unchanged, {self.failed} failed",
            f"  sessions: {len(self.session_ids)} with new messages ({self.new_sessions} new)",
            f"  messages: {self.messages} archived",
            f"  memories: {self.memories} new ({self.embedded} texts embedded)"
            + (f", {self.memories_updated} updated" if self.memories_updated else "")
            + (f", {self.memories_deleted} soft-deleted (their file changed or is gone)" if self.memories_deleted else ""),
            "  skipped:  " + (_counts(problems) or "nothing"),
            "  secrets redacted: " + (f"{sum(self.redacted.values())} ({_counts(self.redacted)})"
                                      if self.redacted else "0"),
        ]
        if metadata:
            out.append("  metadata records (kept out of the archive): " + _counts(metadata))
        out.extend(f"  error: {e}" for e in self.errors[:20])
        out.extend(f"  failed source: {e}" for e in self.source_failures)
        return out


def _counts(c: dict[str, int]) -> str:
    return ", ".join(f"{r} {n}" for r, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
