"""Claude Code's own auto-memory: `projects/<project folder>/memory/*.md` (MEMORY.md and the topic files
Claude writes itself). Pure: which files there are and what memories a file holds; no database.

A file becomes one memory (or a few parts of at most PART_CHARS, cut at paragraph boundaries, for a very
long file); its source names the file and the part, so an edit updates the same memories in place."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TAG = "claude-code-memory"
PART_CHARS = 20_000
SOURCE_PREFIX = "claude-code-memory/"
MAX_SOURCE = 200


@dataclass(frozen=True)
class MemoryFile:
    path: Path
    folder: str  # the project folder's name under projects/ (Claude Code's escaped working directory)
    relative: str  # path inside the memory folder, e.g. "MEMORY.md", "testing.md"


def folder_key(path: str) -> str:
    """How Claude Code names a project folder: the working directory with every other character than
    letters and digits replaced by '-'."""
    return re.sub(r"[^A-Za-z0-9]", "-", path)


def discover(project_folders: list[Path]) -> list[MemoryFile]:
    found = []
    for folder in project_folders:
        memory = folder / "memory"
        if not memory.is_dir():
            continue
        for path in sorted(memory.rglob("*.md")):
            if path.is_file() and not any(p.startswith(".") for p in path.relative_to(memory).parts):
                found.append(MemoryFile(path, folder.name, path.relative_to(memory).as_posix()))
    return found


def source_of(folder: str, relative: str, part: int) -> str:
    """`claude-code-memory/<folder>/<file>[#part]`, the folder cut from the left when it is too long."""
    tail = f"/{relative}" + (f"#{part}" if part else "")
    room = MAX_SOURCE - len(SOURCE_PREFIX) - len(tail)
    name = folder if len(folder) <= room else "…" + folder[-(room - 1):] if room > 1 else ""
    return (SOURCE_PREFIX + name + tail)[:MAX_SOURCE]


def parts(text: str) -> list[str]:
    """The memories a file holds: its whole text, or paragraph-aligned parts of at most PART_CHARS."""
    text = text.replace("\r\n", "\n").replace("\x00", "").strip()
    if not text:
        return []
    if len(text) <= PART_CHARS:
        return [text]
    out: list[str] = []
    current = ""
    for para in re.split(r"\n{2,}", text):
        while len(para) > PART_CHARS:  # one enormous paragraph: hard cut
            if current:
                out.append(current)
                current = ""
            out.append(para[:PART_CHARS])
            para = para[PART_CHARS:]
        if current and len(current) + 2 + len(para) > PART_CHARS:
            out.append(current)
            current = para
        else:
            current = f"{current}\n\n{para}" if current else para
    if current.strip():
        out.append(current)
    return out
