"""The preferences read model shared by MCP (startup_context) and REST (/api/preferences).

Three tiers, in this order: explicit (memories the user saved as preferences), signals (mined from
sessions without an LLM: corrections and patterns), inferred (`type:behavior`, from the LLM passes).
Each entry carries its evidence (sessions supporting it), when it was last seen, and a confidence that
grows with evidence and halves every HALF_LIFE_DAYS without new evidence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .db import signals as gq
from .memory import MemoryService

TIERS = ("explicit", "signals", "inferred")
BASE = {"explicit": 1.0, "signals": 0.85, "inferred": 0.7}
HALF_LIFE_DAYS = 180.0


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


def preferences(memories: MemoryService, project: str | None = None, now: datetime | None = None
                ) -> dict[str, Any]:
    """{"project", "tiers": [{"tier", "entries": [...]}, …]} with entries strongest first in each tier."""
    now = now or datetime.now(UTC)
    with memories.db.cursor() as cur:
        rows = gq.learned(cur, project)
    tiers: dict[str, list[dict[str, Any]]] = {t: [] for t in TIERS}
    for r in rows:
        tier = tier_of(r["tags"])
        evidence = int(r["evidence"] or 1)
        last = r["last_seen"] or r["updated_at"] or r["created_at"]
        kind = next((t.split(":", 1)[1] for t in r["tags"] if t.startswith("type:")), "preference")
        tiers[tier].append({
            "id": r["id"], "content": r["content"], "kind": kind, "project": r["project"], "tags": r["tags"],
            "evidence": evidence, "last_seen": last.isoformat(),
            "confidence": confidence(tier, evidence, last, now),
        })
    for entries in tiers.values():
        entries.sort(key=lambda e: (-e["confidence"], -e["evidence"], e["id"]))
    return {"project": project, "tiers": [{"tier": t, "entries": tiers[t]} for t in TIERS]}
