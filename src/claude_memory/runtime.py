"""Composition root: settings → database, model, services. Used by every entry point."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .cache import ChangeListener, SearchCache
from .db.migrate import ensure_embedding_schema, migrate
from .db.pool import Database, embedded_restarter, resolve_dsn
from .embedding import Embedder
from .memory import Guard, MemoryService
from .overview import Overview
from .search import Searcher
from .settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    embedder: Embedder
    memories: MemoryService
    searcher: Searcher
    cache: SearchCache
    overview: Overview
    listener: ChangeListener | None = None

    def close(self) -> None:
        if self.listener:
            self.listener.stop()
        self.db.close()


def connect(settings: Settings) -> Database:
    """Open the pool (starting the embedded server if needed) and bring the schema up to date."""
    db = Database(resolve_dsn(settings.database_url, settings.data_dir),
                  restart=None if settings.database_url else embedded_restarter(settings.data_dir))
    migrate(db)
    db.enable_vectors()
    return db


def build(settings: Settings, *, background_model: bool = False, listen: bool = False,
          check_dimension: bool = True) -> Runtime:
    """Everything a command or the server needs; the model loads lazily (in the background if asked)."""
    db = connect(settings)
    embedder = Embedder(settings.embedding_model, threads=settings.torch_threads,
                        backend=settings.embedding_backend, cache_dir=settings.model_cache_dir)
    if check_dimension:
        ensure_embedding_schema(db, embedder.dimension, settings.embedding_model)
    if background_model:
        embedder.start_loading()
    cache = SearchCache(settings.cache_max_size, settings.cache_ttl_seconds)
    memories = MemoryService(
        db, embedder, Guard(settings.guard_noop_threshold, settings.guard_update_threshold), cache
    )
    listener = None
    if listen:
        listener = ChangeListener(db.dsn, cache)
        listener.start()
    return Runtime(settings, db, embedder, memories, Searcher(memories), cache, overview_for(settings, memories),
                   listener)


def overview_for(settings: Settings, memories: MemoryService) -> Overview:
    return Overview(memories, settings.distill_min_messages, settings.embedding_model,
                    {"url": settings.ollama_url, "model": settings.distill_model})
