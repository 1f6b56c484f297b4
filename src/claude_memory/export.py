"""Export: every memory matching the filters as re-importable JSON or readable markdown, produced in
pieces so that a download of 100k memories never holds them all in memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .db import memories as q
from .errors import InvalidInput
from .memory import MemoryService

FORMATS = ("json", "markdown")
KEEP = ("id", "content", "tags", "source", "project", "session_id", "created_at", "updated_at")
PAGE = 500


def _pages(memories: MemoryService, flt: q.Filters) -> Iterator[list[dict[str, Any]]]:
    """Pages of PAGE rows, oldest first, each read in its own short transaction."""
    after = None
    while True:
        with memories.db.cursor() as cur:
            page = q.page_after(cur, flt, after, PAGE)
        if page:
            after = page[-1][1]
            yield [row for row, _ in page]
        if len(page) < PAGE:
            return


def export_chunks(memories: MemoryService, project: Any = None, tag: Any = None, since: Any = None,
                  before: Any = None, output_format: Any = "json") -> Iterator[str]:
    """Validates the parameters at once (so an HTTP handler can answer 400 before streaming), then
    returns the export as an iterator of text pieces. The JSON's `count` comes last: it is the number
    of memories actually written."""
    if output_format not in FORMATS:
        raise InvalidInput("output_format must be json or markdown")
    flt = memories.filters(project, since, before, tag)
    if output_format == "json":
        return _json(memories, flt)
    with memories.db.cursor() as cur:
        total = q.count(cur, flt)
    return _markdown(memories, flt, total)


def _json(memories: MemoryService, flt: q.Filters) -> Iterator[str]:
    yield '{\n "format": "claude-memory-export",\n "version": 1,\n "memories": ['
    n = 0
    for page in _pages(memories, flt):
        items = [json.dumps({k: row[k] for k in KEEP}, ensure_ascii=False) for row in page]
        yield ("\n  " if n == 0 else ",\n  ") + ",\n  ".join(items)
        n += len(items)
    yield f'\n ],\n "count": {n}\n}}\n'


def _markdown(memories: MemoryService, flt: q.Filters, total: int) -> Iterator[str]:
    yield f"# claude-memory export ({total} memories)\n\n"
    for page in _pages(memories, flt):
        out = []
        for r in page:
            meta = ", ".join(x for x in (r["project"] and f"project {r['project']}",
                                         r["source"] and f"source {r['source']}",
                                         r["tags"] and "tags " + " ".join(r["tags"])) if x)
            out += [f"## {r['id']} — {r['created_at']}", f"_{meta}_" if meta else "", "", r["content"], "", ""]
        yield "\n".join(out)


def export_text(memories: MemoryService, project: Any = None, tag: Any = None, since: Any = None,
                before: Any = None, output_format: Any = "json") -> str:
    """The whole export as one string (the MCP tool's reply)."""
    return "".join(export_chunks(memories, project, tag, since, before, output_format))
