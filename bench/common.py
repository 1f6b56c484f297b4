"""Shared benchmark plumbing: a throw-away embedded database and the service runtime over it."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

from claude_memory.runtime import Runtime, build
from claude_memory.settings import Settings


def temp_runtime(database_url: str | None = None, **env: str) -> tuple[Runtime, Path]:
    """A runtime over a fresh embedded PostgreSQL (or the given DSN), search cache off."""
    data = Path(tempfile.mkdtemp(prefix="cm-bench-"))
    passed = {k: os.environ[k] for k in ("EMBEDDING_BACKEND", "MODEL_CACHE_DIR", "TORCH_THREADS", "EMBEDDING_MODEL")
              if os.environ.get(k)}  # the embedding path under test is the caller's choice
    settings = Settings.from_env({"MEMORY_DATA_DIR": str(data), "CACHE_MAX_SIZE": "0", **passed,
                                  **({"DATABASE_URL": database_url} if database_url else {}), **env})
    return build(settings), data


def machine() -> dict[str, Any]:
    import os

    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "system": platform.platform()}


def write_json(path: str | None, payload: dict[str, Any]) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(payload, indent=2))
