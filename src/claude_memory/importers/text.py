"""Plain text and markdown notes: chunks of about 1500 characters with 200 of overlap, cut at a paragraph,
then a sentence, then a word boundary where one falls in the second half of the window."""

from __future__ import annotations

import re

CHUNK_CHARS = 1500
OVERLAP_CHARS = 200
_SENTENCE_END = re.compile(r"[.!?。！？][\"')\]]*\s+")


def _cut(text: str, start: int, end: int) -> int:
    """The best end for a chunk starting at `start` and at most `end`."""
    floor = start + (end - start) // 2
    para = text.rfind("\n\n", floor, end)
    if para != -1:
        return para + 2
    last = None
    for m in _SENTENCE_END.finditer(text, floor, end):
        last = m
    if last is not None:
        return last.end()
    line = text.rfind("\n", floor, end)
    if line != -1:
        return line + 1
    space = text.rfind(" ", floor, end)
    return space + 1 if space != -1 else end


def chunk_text(text: str, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[str]:
    """Overlapping chunks covering all of `text` (empty list for blank text)."""
    text = text.replace("\r\n", "\n").replace("\x00", "")
    if not text.strip():
        return []
    if len(text) <= size:
        return [text.strip()]
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            end = _cut(text, start, end)
        piece = text[start:end].strip()
        if piece:
            chunks.append(piece)
        if end >= len(text):
            break
        nxt = max(end - overlap, start + 1)
        space = text.find(" ", nxt, end)  # begin the overlap on a word, not inside one
        start = space + 1 if space != -1 and space + 1 < end else nxt
    return chunks
