"""What every parser produces: archived messages grouped in sessions, plus the counts of what was skipped."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Message kinds. Only TEXT (prose the user or Claude wrote) becomes memories; everything is archived.
TEXT = "text"
TOOL_USE = "tool_use"
TOOL_RESULT = "tool_result"
THINKING = "thinking"
COMMAND = "command"            # slash-command wrappers, local command output, caveats, reminders
COMPACT_SUMMARY = "compact_summary"
META = "meta"                  # isMeta records: skill bodies, image metadata, caveats
INTERRUPT = "interrupt"
API_ERROR = "api_error"
SYSTEM = "system"
BRANCH = "branch"              # claude.ai text on a branch the conversation no longer follows
ATTACHMENT = "attachment"
MEMORY_KINDS = frozenset({TEXT})


@dataclass
class Message:
    uuid: str
    session_id: str
    role: str
    kind: str
    text: str
    parent_uuid: str | None = None
    timestamp: datetime | None = None
    is_sidechain: bool = False
    message_id: str | None = None
    blocks: list[dict[str, Any]] = field(default_factory=list)
    line_no: int = 0


@dataclass
class Session:
    session_id: str
    cwd: str | None = None
    git_branch: str | None = None
    title: str | None = None
    messages: list[Message] = field(default_factory=list)

    @property
    def first_at(self) -> datetime | None:
        times = [m.timestamp for m in self.messages if m.timestamp]
        return min(times) if times else None

    @property
    def last_at(self) -> datetime | None:
        times = [m.timestamp for m in self.messages if m.timestamp]
        return max(times) if times else None


@dataclass
class FileResult:
    """One file's parse: sessions found in it, where reading stopped, and what was skipped by reason."""

    sessions: dict[str, Session] = field(default_factory=dict)
    end_offset: int = 0
    lines: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    error: str | None = None

    def session(self, session_id: str) -> Session:
        if session_id not in self.sessions:
            self.sessions[session_id] = Session(session_id)
        return self.sessions[session_id]


MAX_NESTING = 64  # deeper JSON is no transcript a tool wrote; walking it recursively would overflow the stack


def too_deep(value: object, limit: int = MAX_NESTING) -> bool:
    """Whether lists/objects nest deeper than `limit` (iterative: safe on any depth)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (list, dict)):
            if depth >= limit:
                return True
            stack.extend((c, depth + 1) for c in (v.values() if isinstance(v, dict) else v))
    return False
