"""Settings validation, migrations that can run twice, and the embedding-dimension guard."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from claude_memory.db.migrate import ensure_embedding_schema, migrate, recorded_dimension
from claude_memory.errors import ConfigError, DimensionMismatch
from claude_memory.settings import Settings


@pytest.mark.parametrize("name,value", [("MEMORY_PORT", "http"), ("MEMORY_PORT", "70000"),
                                        ("GUARD_NOOP_THRESHOLD", "1.5"), ("CACHE_TTL_SECONDS", "-1"),
                                        ("DATABASE_URL", "mysql://x"), ("DISTILL_WORKERS", "zero")])
def test_bad_setting_names_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_update_threshold_above_noop_is_refused():
    with pytest.raises(ConfigError, match="GUARD_UPDATE_THRESHOLD"):
        Settings.from_env({"GUARD_NOOP_THRESHOLD": "0.8", "GUARD_UPDATE_THRESHOLD": "0.9"})


def test_cli_reports_a_bad_setting_and_exits_nonzero(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "claude_memory.cli", "migrate"], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "MEMORY_PORT": "abc", "HOME": str(tmp_path)})
    assert proc.returncode == 2 and "MEMORY_PORT" in proc.stderr


def test_migrations_are_recorded_and_idempotent(runtime):
    assert migrate(runtime.db) == []  # already applied by the fixture
    with runtime.db.cursor() as cur:
        cur.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        assert cur.fetchall()[0] == (1, "init")
    assert recorded_dimension(runtime.db) == (384, "all-MiniLM-L6-v2")


def test_a_model_of_another_dimension_is_refused_until_reembed(runtime):
    mid = runtime.memories.save("Terraform state lives in an S3 bucket with locking in DynamoDB.")["id"]
    with pytest.raises(DimensionMismatch, match="claude-memory reembed"):
        ensure_embedding_schema(runtime.db, 768, "sentence-transformers/all-mpnet-base-v2")
    assert runtime.memories.get(mid)["status"] == "active"  # nothing was touched by the refusal


class _Wider:
    """The real model's vectors, padded to 512 dimensions: a stand-in for a bigger model."""

    def __init__(self, inner):
        self.inner = inner
        self.dimension = 512

    def encode(self, texts, batch_size=64):
        v = self.inner.encode(texts, batch_size)
        return np.hstack([v, np.zeros((len(texts), 512 - v.shape[1]), dtype=np.float32)])

    def encode_one(self, text):
        return self.encode([text])[0]

    def windows(self, text):
        return self.inner.windows(text)


def test_reembed_switches_dimension_in_place_and_search_still_works(runtime):
    from claude_memory.reembed import reembed

    mid = runtime.memories.save("Terraform state lives in an S3 bucket with locking in DynamoDB.")["id"]
    runtime.memories.embedder = _Wider(runtime.embedder)  # type: ignore[assignment]
    assert reembed(runtime.db, runtime.memories, "wider-model") == 1
    assert recorded_dimension(runtime.db) == (512, "wider-model")
    ensure_embedding_schema(runtime.db, 512, "wider-model")  # now accepted
    hits = runtime.searcher.semantic("where is terraform state stored", limit=1)["results"]
    assert hits[0]["id"] == mid
