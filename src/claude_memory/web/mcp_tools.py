"""The 18 MCP tools: thin adapters from tool calls to the memory service, JSON text out."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError

from ..errors import ClaudeMemoryError
from ..export import export_text
from ..learning.context import recent_context as _recent_context
from ..learning.context import startup_context as _startup_context
from ..runtime import Runtime

TOOL_NAMES = (
    "startup_context", "save_memory", "check_memory", "semantic_search", "search_memories", "hybrid_search",
    "list_memories", "get_memory", "recent_context", "update_memory", "delete_memory", "restore_memory",
    "purge_memory", "find_duplicates", "bulk_delete", "list_tags", "get_stats", "export_memories",
)


def _json(fn: Callable[..., Any]) -> Callable[..., str]:
    """Run a tool body, return JSON text, and turn domain errors into MCP tool errors."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        try:
            result = fn(*args, **kwargs)
        except ClaudeMemoryError as exc:
            raise ToolError(str(exc)) from exc
        return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)

    return wrapper


# Sent in the initialize reply; Claude Code shows it to the model. Kept under 1 KB (a test checks).
INSTRUCTIONS = """\
claude-memory is the user's long-term memory of past Claude Code sessions, claude.ai chats and notes.
Search it before answering questions about past work, earlier decisions and their reasons, \
"how did we…", "what did we decide…", or a bug seen before: hybrid_search is the best default, \
search_memories for exact names/errors, semantic_search for loose paraphrases; get_memory reads one in full.
Save (save_memory) what a future session needs and cannot re-derive: a decision with its reason, a root \
cause and its fix, a preference the user stated, a convention of the project. One fact per memory, in a \
full sentence, with the project; never secrets. The write guard answers when it is already known.
When the SessionStart hook is installed, startup_context already ran at the start of this session and \
its text is in the context; call it again only for another project. Deleting is soft (restore_memory)."""


def build_mcp(rt: Runtime) -> FastMCP:
    """A FastMCP server exposing every tool over the runtime's services."""
    mcp = FastMCP("claude-memory", instructions=INSTRUCTIONS, mask_error_details=True)
    mem, search = rt.memories, rt.searcher

    @mcp.tool
    @_json
    def startup_context(project: str | None = None) -> Any:
        """Compact snapshot for the start of a session: how the user works (explicit preferences first,
        then supported signals, then inferred behaviour), then where the work stopped in the project.
        `project` may be the project name or a working directory. The SessionStart hook already runs it;
        call it for another project or after a long session."""
        text = _startup_context(mem, project, rt.settings.startup_context_bytes)
        return {"project": project, "bytes": len(text.encode()), "context": text}

    @mcp.tool
    @_json
    def save_memory(content: str, tags: list[str] | None = None, source: str | None = None,
                    project: str | None = None, force: bool = False) -> Any:
        """Save one durable fact: a decision and its reason, a root cause, a stated preference (tag it
        type:preference), a project convention. Near-duplicates (cosine >= the NOOP threshold) and exact
        duplicates are not saved unless force=true; the reply names the existing memory. To change a
        memory use update_memory instead."""
        return mem.save(content, tags, source, project, force)

    @mcp.tool
    @_json
    def check_memory(content: str) -> Any:
        """Dry-run the write guard: ADD, UPDATE or NOOP, with the nearest memory's id and similarity.
        Use before save_memory only when unsure whether something is already known."""
        return mem.check(content)

    @mcp.tool
    @_json
    def semantic_search(query: str, limit: int = 10, min_similarity: float = 0.0, project: str | None = None,
                        since: str | None = None, before: str | None = None) -> Any:
        """Search by meaning (cosine similarity): for paraphrases and vague questions where the stored
        words may differ from the query's. since/before take ISO dates or datetimes."""
        return search.semantic(query, limit, min_similarity, project, since, before)

    @mcp.tool
    @_json
    def search_memories(query: str, limit: int = 10, project: str | None = None, since: str | None = None,
                        before: str | None = None) -> Any:
        """Keyword search ranked by relevance (BM25): for exact identifiers, file names, error messages,
        commands. Any text is safe to pass."""
        return search.keyword(query, limit, project, since, before)

    @mcp.tool
    @_json
    def hybrid_search(query: str, limit: int = 10, keyword_weight: float = 0.5, semantic_weight: float = 0.5,
                      project: str | None = None, since: str | None = None, before: str | None = None) -> Any:
        """Keyword and semantic search fused on one scale; weights between 0 and 1. The best default for
        questions about past work and decisions."""
        return search.hybrid(query, limit, keyword_weight, semantic_weight, project, since, before)

    @mcp.tool
    @_json
    def list_memories(limit: int = 20, offset: int = 0, tag: str | None = None, project: str | None = None,
                      since: str | None = None, before: str | None = None) -> Any:
        """List memories newest first, by filters rather than a query: {total, limit, offset, memories[]}."""
        return mem.list(limit, offset, tag, project, since, before)

    @mcp.tool
    @_json
    def get_memory(memory_id: int) -> Any:
        """One memory with its full content (its status says if it is soft-deleted)."""
        return mem.get(memory_id)

    @mcp.tool
    @_json
    def recent_context(project: str | None = None, limit: int = 10) -> Any:
        """Newest distilled memories for a project (newest active ones when none are distilled): what
        happened lately, without a query."""
        return _recent_context(mem, project, limit)

    @mcp.tool
    @_json
    def update_memory(memory_id: int, content: str | None = None, tags: list[str] | None = None,
                      force: bool = False) -> Any:
        """Change a memory's content (re-embedded, duplicate-guarded unless force) and/or tags."""
        return mem.update(memory_id, content, tags, force)

    @mcp.tool
    @_json
    def delete_memory(memory_id: int) -> Any:
        """Soft-delete a memory (hidden from search, recoverable with restore_memory)."""
        return mem.delete(memory_id)

    @mcp.tool
    @_json
    def restore_memory(memory_id: int) -> Any:
        """Undo a soft delete."""
        return mem.restore(memory_id)

    @mcp.tool
    @_json
    def purge_memory(memory_id: int) -> Any:
        """Permanently delete a memory that is already soft-deleted (two-step by design)."""
        return mem.purge(memory_id)

    @mcp.tool
    @_json
    def find_duplicates(threshold: float = 0.92, limit: int = 20, project: str | None = None,
                        scan_limit: int = 1000) -> Any:
        """Near-duplicate pairs via the vector index; scan_limit bounds how many memories are probed."""
        return mem.find_duplicates(threshold, limit, project, scan_limit)

    @mcp.tool
    @_json
    def bulk_delete(tag: str | None = None, project: str | None = None, source: str | None = None,
                    dry_run: bool = True) -> Any:
        """Soft-delete everything matching tag/project/source (at least one). Previews unless dry_run=false."""
        return mem.bulk_delete(tag, project, source, dry_run)

    @mcp.tool
    @_json
    def list_tags() -> Any:
        """Tags of active memories with their counts."""
        return mem.list_tags()

    @mcp.tool
    @_json
    def get_stats() -> Any:
        """Counts by project and source, deleted count, and imported/distilled/capped/pending sessions."""
        return rt.overview.stats()

    @mcp.tool
    @_json
    def export_memories(project: str | None = None, tag: str | None = None, since: str | None = None,
                        before: str | None = None, output_format: str = "json") -> Any:
        """Export memories as JSON (re-importable with `claude-memory import --memories-json`) or markdown."""
        return export_text(mem, project, tag, since, before, output_format)

    return mcp
