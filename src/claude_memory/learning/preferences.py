"""The preferences read model shared by MCP (startup_context) and REST (/api/preferences).

Three tiers, in this order: explicit (memories the user saved or confirmed as preferences), signals (mined
from sessions without an LLM: corrections and patterns), inferred (`type:behavior`, from the LLM passes).
Each entry carries its evidence (sessions supporting it), when it was last seen, a confidence that grows
with evidence and halves every HALF_LIFE_DAYS without new evidence, and a status:

- `explicit` — the user said so: it always reaches startup_context;
- `supported` — a correction or behaviour seen in SUPPORTED sessions or more (similar ones grouped, one
  entry per group), or a pattern from two or more sessions: it reaches startup_context;
- `candidate` — a single signal: listed here for the user to confirm or reject, kept out of the context."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..db import signals as gq
from ..memory import MemoryService
from .support import SUPPORTED

TIERS = ("explicit", "signals", "inferred")
BASE = {"explicit": 1.0, "signals": 0.85, "inferred": 0.7}
HALF_LIFE_DAYS = 180.0
# Patterns written as sentences Claude can act on (learning/signals.py); older kinds (the tool-call
# "workflow fingerprint") stay candidates.
CONTEXT_PATTERNS = frozenset({"tests", "build", "lint", "packages", "commands", "hotspots"})


def tier_of(tags: list[str]) -> str:
    if "source:signals" in tags:
        return "signals"
    if "type:behavior" in tags:
        return "inferred"
    return "explicit"


def confidence(tier: str, evidence: int, last_seen: datetime, now: datetime) -> float:
    growth = 1.0 - 0.5 ** (max(evidence, 1) + 1)  # 1 session 0.75, 2 → 0.875, 3 → 0.94 …
    age_days = max((now - last_seen).total_seconds() / 86400.0, 0.0)
    return round(BASE[tier] * growth * 0.5 ** (age_days / HALF_LIFE_DAYS), 3)


def status_of(tier: str, kind: str, tags: list[str], evidence: int) -> str:
    if tier == "explicit":
        return "explicit"
    if kind == "pattern":
        pattern = next((t.split(":", 1)[1] for t in tags if t.startswith("pattern:")), "")
        return "supported" if pattern in CONTEXT_PATTERNS and evidence >= 2 else "candidate"
    return "supported" if evidence >= SUPPORTED else "candidate"


def preferences(memories: MemoryService, project: str | None = None, now: datetime | None = None
                ) -> dict[str, Any]:
    """{"project", "tiers": [{"tier", "entries": [...]}, …]} with entries strongest first in each tier;
    of a group of similar corrections or behaviours only the newest member is listed."""
    now = now or datetime.now(UTC)
    with memories.db.cursor() as cur:
        rows = gq.learned(cur, project)
    heads: dict[int, int] = {}  # group → newest active member
    for r in rows:
        if r["signal_group"] is not None:
            heads[r["signal_group"]] = max(heads.get(r["signal_group"], 0), r["id"])
    tiers: dict[str, list[dict[str, Any]]] = {t: [] for t in TIERS}
    for r in rows:
        if r["signal_group"] is not None and heads[r["signal_group"]] != r["id"]:
            continue
        tier = tier_of(r["tags"])
        evidence = int(r["evidence"] or 1)
        last = r["last_seen"] or r["updated_at"] or r["created_at"]
        kind = next((t.split(":", 1)[1] for t in r["tags"] if t.startswith("type:")), "preference")
        tiers[tier].append({
            "id": r["id"], "content": r["content"], "kind": kind, "project": r["project"], "tags": r["tags"],
            "evidence": evidence, "last_seen": last.isoformat(),
            "confidence": confidence(tier, evidence, last, now),
            "status": status_of(tier, kind, r["tags"], evidence),
        })
    for entries in tiers.values():
        entries.sort(key=lambda e: (e["status"] == "candidate", -e["confidence"], -e["evidence"], e["id"]))
    return {"project": project, "tiers": [{"tier": t, "entries": tiers[t]} for t in TIERS]}
