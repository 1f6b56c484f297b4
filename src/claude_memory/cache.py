"""Search cache: in-process LRU with TTL, cleared by local writes and by writes of other processes
(PostgreSQL NOTIFY from the memories trigger)."""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable, Hashable
from typing import Any

import psycopg2
import psycopg2.extensions
from cachetools import TTLCache

log = logging.getLogger(__name__)

CHANNEL = "claude_memory_changed"


class SearchCache:
    """Thread-safe TTL cache; `get_or_compute` is the only read path."""

    def __init__(self, max_size: int, ttl_seconds: int) -> None:
        self.enabled = max_size > 0 and ttl_seconds > 0
        self._cache: TTLCache[Hashable, Any] = TTLCache(maxsize=max(1, max_size), ttl=max(1, ttl_seconds))
        self._lock = threading.Lock()
        self._generation = 0
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        if not self.enabled:
            return compute()
        with self._lock:
            if key in self._cache:
                self.hits += 1
                return self._cache[key]
            generation = self._generation
            self.misses += 1
        value = compute()
        with self._lock:
            if generation == self._generation:  # no invalidation happened while computing
                self._cache[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._generation += 1

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)


class ChangeListener:
    """LISTENs for committed writes from any process and clears the cache; reconnects on failure."""

    def __init__(self, dsn: str, cache: SearchCache) -> None:
        self.dsn = dsn
        self.cache = cache
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cache-listener", daemon=True)
        self.listening = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn = psycopg2.connect(self.dsn)
                conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
                with conn.cursor() as cur:
                    cur.execute(f"LISTEN {CHANNEL}")
                self.cache.clear()  # anything may have changed while we were not listening
                self.listening.set()
                while not self._stop.is_set():
                    if select.select([conn], [], [], 1.0)[0]:
                        conn.poll()
                        if conn.notifies:
                            conn.notifies.clear()
                            self.cache.clear()
                conn.close()
            except (psycopg2.Error, OSError) as exc:
                self.listening.clear()
                self.cache.clear()
                log.warning("cache listener lost its connection (%s); retrying", exc)
                self._stop.wait(2.0)
