"""Typed request and response models of the REST API. The OpenAPI document is generated from these and
the route table (web/rest.py); every reply is validated through its model before it is sent."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..inputs import MAX_ID, MAX_NAME_CHARS, MAX_TAG_CHARS, MAX_TAGS
from ..memory import MAX_CONTENT_CHARS
from ..search import MAX_QUERY_CHARS
from ..timeutil import MAX_WHEN_CHARS

Name = Field(default=None, max_length=MAX_NAME_CHARS)
# The pattern guides clients and generators; the calendar (e.g. February 30) is checked by the server.
WHEN_PATTERN = (r"^$|^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$")
When = Field(default=None, max_length=MAX_WHEN_CHARS, pattern=WHEN_PATTERN,
             description="ISO date or datetime (2026-01-01, 2026-01-01T12:00:00); UTC unless an offset is given")
MemoryStatus = Literal["active", "deleted", "superseded"]


class Request(BaseModel):
    """Requests refuse unknown fields, so a misspelt parameter is an error instead of being ignored."""

    model_config = ConfigDict(extra="forbid")


# --- path parameters -----------------------------------------------------------------------------
class MemoryPath(Request):
    id: int = Field(ge=1, le=MAX_ID, description="memory id")


class SessionPath(Request):
    session_id: str = Field(min_length=1, max_length=200)


# --- query parameters ----------------------------------------------------------------------------
class Page(Request):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)


class ListQuery(Page):
    project: str | None = Name
    tag: str | None = Field(default=None, max_length=MAX_TAG_CHARS)
    source: str | None = Name
    since: str | None = When
    before: str | None = When
    status: MemoryStatus = "active"


class BulkDeleteQuery(Request):
    project: str | None = Name
    tag: str | None = Field(default=None, max_length=MAX_TAG_CHARS)
    source: str | None = Name
    dry_run: bool = Field(True, description="preview only unless dry_run=false")
    all: bool = Field(False, description="every active memory (the UI's wipe); needs no other filter")


class RelatedQuery(Request):
    limit: int = Field(3, ge=1, le=50)


class DuplicatesQuery(Request):
    threshold: float = Field(0.92, ge=0.5, le=1.0)
    limit: int = Field(20, ge=1, le=200)
    project: str | None = Name
    scan_limit: int = Field(1000, ge=1, le=100_000)


class ExportQuery(Request):
    format: Literal["json", "markdown"] = "json"
    project: str | None = Name
    tag: str | None = Field(default=None, max_length=MAX_TAG_CHARS)
    since: str | None = When
    before: str | None = When


class TimelineQuery(Request):
    project: str | None = Name
    since: str | None = When
    before: str | None = When
    buckets: int = Field(100, ge=1, le=1000)


class SessionsQuery(Page):
    project: str | None = Name


class MessagesQuery(Request):
    limit: int = Field(100, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)
    max_chars: int = Field(20_000, ge=100, le=1_000_000, description="display cut per message")


class ProjectQuery(Request):
    project: str | None = Field(default=None, max_length=MAX_NAME_CHARS,
                                description="project name or a folder inside the project")


# --- bodies --------------------------------------------------------------------------------------
TagList = Field(default=None, max_length=MAX_TAGS)


class CreateMemory(Request):
    content: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS)
    tags: list[str] | None = TagList
    source: str | None = Name
    project: str | None = Name
    force: bool = False


class UpdateMemory(Request):
    content: str | None = Field(default=None, min_length=1, max_length=MAX_CONTENT_CHARS)
    tags: list[str] | None = TagList
    force: bool = False


class Recall(Request):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    threshold: float = Field(0.3, ge=0.0, le=1.0, description="lowest cosine similarity returned")
    limit: int = Field(10, ge=1, le=200)
    project: str | None = Name


class Search(Request):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    mode: Literal["semantic", "keyword", "hybrid"] = "hybrid"
    limit: int = Field(10, ge=1, le=200)
    keyword_weight: float = Field(0.5, ge=0.0, le=1.0, description="hybrid only")
    semantic_weight: float = Field(0.5, ge=0.0, le=1.0, description="hybrid only")
    min_similarity: float = Field(0.0, ge=0.0, le=1.0, description="semantic only")
    project: str | None = Name
    since: str | None = When
    before: str | None = When


class PurgeTrash(Request):
    confirm: Literal["purge"] = Field(description='the word "purge", typed by the user')


class TrashPurged(BaseModel):
    purged: int
    message: str


class ExportedMemory(BaseModel):
    content: str
    tags: list[str] | None = None
    source: str | None = None
    project: str | None = None
    session_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ExportDocument(BaseModel):
    """What GET /api/export?format=json writes and POST /api/import reads (rows the importer cannot use
    are skipped and counted, not refused)."""

    format: str | None = None
    version: int | None = None
    count: int | None = None
    memories: list[ExportedMemory]


# --- replies -------------------------------------------------------------------------------------
class Error(BaseModel):
    error: str


class Memory(BaseModel):
    id: int
    content: str
    tags: list[str]
    source: str | None
    project: str | None
    session_id: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    superseded_by: int | None
    status: MemoryStatus


class MemoryPage(BaseModel):
    total: int
    limit: int
    offset: int
    memories: list[Memory]


class SessionMemories(MemoryPage):
    session_id: str


class SaveResult(BaseModel):
    status: Literal["saved", "noop", "duplicate"]
    saved: bool
    message: str
    id: int | None = None
    duplicate_of: int | None = None
    similarity: float | None = None
    preview: str | None = None


class UpdateResult(BaseModel):
    status: Literal["updated", "unchanged", "noop", "duplicate"]
    updated: bool
    message: str
    id: int | None = None
    changed: list[str] | None = None
    duplicate_of: int | None = None
    similarity: float | None = None


class DeleteResult(BaseModel):
    id: int
    deleted: bool
    message: str


class RestoreResult(BaseModel):
    id: int
    restored: bool
    message: str


class PurgeResult(BaseModel):
    id: int
    purged: bool


class Preview(BaseModel):
    id: int
    preview: str


class BulkDeleteResult(BaseModel):
    dry_run: bool
    message: str
    would_delete: int | None = None
    sample: list[Preview] | None = None
    deleted: int | None = None


class RelatedMemory(BaseModel):
    id: int
    similarity: float
    preview: str
    project: str | None
    tags: list[str]
    created_at: datetime


class Related(BaseModel):
    id: int
    related: list[RelatedMemory]


class SearchHit(BaseModel):
    id: int
    content: str
    truncated: bool
    tags: list[str]
    project: str | None
    source: str | None
    created_at: datetime
    score: float | None = Field(None, description="keyword: BM25; hybrid: the fused score")
    similarity: float | None = Field(None, description="cosine similarity (semantic and hybrid)")
    keyword_score: float | None = Field(None, description="hybrid: the BM25 leg")


class SearchResults(BaseModel):
    query: str
    mode: Literal["semantic", "keyword", "hybrid"]
    results: list[SearchHit]


class DuplicatePair(BaseModel):
    a: Preview
    b: Preview
    similarity: float


class Duplicates(BaseModel):
    scanned: int
    threshold: float
    pairs: list[DuplicatePair]


class TagCount(BaseModel):
    tag: str
    count: int


class TagCounts(BaseModel):
    tags: list[TagCount]


class SessionCounts(BaseModel):
    imported: int
    distilled: int
    capped: int
    pending: int
    too_short: int = Field(description="fewer archived messages than DISTILL_MIN_MESSAGES; never distilled")


class Storage(BaseModel):
    database_bytes: int
    memories_bytes: int
    chunks_bytes: int
    messages_bytes: int
    sessions_bytes: int


class Stats(BaseModel):
    total_memories: int
    deleted: int
    superseded: int
    all_rows: int
    projects: int
    by_project: dict[str, int]
    by_source: dict[str, int] = Field(description="by kind of source: claude-code/1a2b3c4d counts as claude-code")
    sessions: SessionCounts
    storage: Storage


class ModelState(BaseModel):
    name: str
    state: Literal["ready", "loading", "failed", "idle"]


class LLMConfig(BaseModel):
    url: str
    model: str


class DatabaseState(BaseModel):
    reachable: bool
    error: str | None = None


class ServerStatus(BaseModel):
    version: str
    model: ModelState
    llm: LLMConfig
    database: DatabaseState
    memories: int | None
    last_import: datetime | None
    last_distill: datetime | None
    last_behavior: datetime | None
    sessions: SessionCounts | None


class Project(BaseModel):
    name: str
    path: str | None
    memories: int
    deleted: int
    sessions: int
    last_activity: datetime | None


class Unassigned(BaseModel):
    memories: int
    deleted: int


class Projects(BaseModel):
    projects: list[Project]
    unassigned: Unassigned = Field(description="memories without a project")


class Lane(BaseModel):
    project: str | None
    total: int
    counts: list[int]


class Timeline(BaseModel):
    start: datetime | None
    end: datetime | None
    buckets: int
    bucket_seconds: float
    total: int
    projects: list[Lane]


class Session(BaseModel):
    session_id: str
    project: str | None
    title: str | None
    cwd: str | None
    git_branch: str | None
    first_message_at: datetime | None
    last_message_at: datetime | None
    message_count: int
    imported_at: datetime
    distill_state: Literal["distilled", "capped", "pending", "too_short"]
    distill_failures: int
    distilled_at: datetime | None
    signals_extracted: bool
    behavior_extracted: bool
    memories: int


class SessionPage(BaseModel):
    total: int
    limit: int
    offset: int
    sessions: list[Session]


class ArchivedMessage(BaseModel):
    uuid: str
    parent_uuid: str | None
    role: str
    kind: str = Field(description="text, tool_use, tool_result, thinking, command, compact_summary, …")
    text: str
    length: int = Field(description="full length of the archived text")
    truncated: bool
    timestamp: datetime | None
    is_sidechain: bool
    seq: int | None


class MessagePage(BaseModel):
    session_id: str
    total: int
    limit: int
    offset: int
    messages: list[ArchivedMessage]


class Context(BaseModel):
    project: str | None = Field(description="as given")
    resolved_project: str | None = Field(description="the project name a folder resolved to")
    context: str
    bytes: int
    budget: int


class PreferenceEntry(BaseModel):
    id: int
    content: str
    kind: str
    project: str | None
    tags: list[str]
    evidence: int
    last_seen: datetime
    confidence: float
    status: Literal["explicit", "supported", "candidate"] = Field(
        description="explicit (the user said so) and supported (seen in two or more sessions) reach "
                    "startup_context; a candidate waits for the user to confirm or reject it")


class PreferenceTier(BaseModel):
    tier: Literal["explicit", "signals", "inferred"]
    entries: list[PreferenceEntry]


class Preferences(BaseModel):
    project: str | None
    tiers: list[PreferenceTier]


class ImportResult(BaseModel):
    files: int
    memories: int
    embedded: int
    skipped: dict[str, int]
    redacted: dict[str, int]
    errors: list[str]
    seconds: float


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    model: str | None = None
    database: str | None = None
    error: str | None = None


class Cleared(BaseModel):
    status: Literal["ok"]
    cleared: int


class OpenAPIDocument(BaseModel):
    model_config = ConfigDict(extra="allow")

    openapi: str
