"""Support for learned memories: similar corrections (or behaviours) seen in different sessions are one
preference, and its evidence is the number of sessions behind the whole group.

Grouping is by the sentence embedding of what the user said (for a correction, the quoted words without
"after Claude …"), single-link at SIMILAR cosine, within one project. Each member gets the group's
evidence and last-seen time, and `signal_group` = the id of the group's newest member (the one shown)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ..db import signals as gq
from ..memory import MemoryService

SIMILAR = 0.7  # cosine between two users' sentences that say the same thing (MiniLM, paraphrases ≈ 0.7–0.9)
SUPPORTED = 2  # sessions needed before a mined preference reaches startup_context
CORRECTION_TAG = "signal:correction"
BEHAVIOR_TAG = "type:behavior"
_QUOTED = re.compile(r'^Correction: "(.*)" \(after Claude .*\)$', re.S)


def said(content: str) -> str:
    """What the user said in a correction memory (the whole content for anything else)."""
    m = _QUOTED.match(content)
    return m.group(1) if m else content


def groups(vectors: np.ndarray, threshold: float = SIMILAR) -> list[int]:
    """Single-link clusters: the cluster index of each row."""
    n = len(vectors)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if n:
        sims = vectors @ vectors.T
        for i in range(n):
            for j in np.flatnonzero(sims[i, i + 1:] >= threshold) + i + 1:
                a, b = find(i), find(int(j))
                if a != b:
                    parent[b] = a
    return [find(i) for i in range(n)]


def regroup(memories: MemoryService, project: str | None, tag: str,
            embed: Callable[[list[str]], np.ndarray] | None = None) -> int:
    """Recompute the groups and evidence of a project's memories carrying `tag`; returns the number of
    groups supported by SUPPORTED sessions or more."""
    with memories.db.cursor() as cur:
        rows = gq.supportable(cur, project, tag)
    if not rows:
        return 0
    encode = embed or memories.embedder.encode
    vectors = np.asarray(encode([said(r["content"]) for r in rows]), dtype=np.float64)
    labels = groups(vectors)
    members: dict[int, list[dict[str, Any]]] = {}
    for r, g in zip(rows, labels, strict=True):
        members.setdefault(g, []).append(r)
    supported = 0
    with memories.db.cursor() as cur:
        for group in members.values():
            sessions = set().union(*(r["sessions"] for r in group))
            evidence = max(len(sessions), 1)
            last = max((r["last_seen"] or r["created_at"] for r in group), default=None)
            head = max(r["id"] for r in group)
            supported += evidence >= SUPPORTED
            for r in group:
                gq.set_support(cur, r["id"], evidence, last, head if len(group) > 1 else None)
    memories.cache.clear()
    return supported
