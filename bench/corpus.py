"""Deterministic, realistic developer memories for benchmarks, and an on-disk cache of their vectors
(keyed by model and text, outside git) so real embeddings are computed once per machine."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import numpy as np

CACHE_DIR = Path(__file__).resolve().parents[1] / ".bench-cache"

PROJECTS = ["billing-api", "web-dashboard", "ml-pipeline", "mobile-app", "infra", "docs-site", "auth-service",
            "search-indexer", "data-warehouse", "cli-tools", "payments", "notifications"]
COMPONENTS = ["the login flow", "the checkout page", "the ingestion worker", "the cache layer", "the CI pipeline",
              "the migration runner", "the rate limiter", "the websocket gateway", "the PDF exporter",
              "the retry queue", "the feature-flag service", "the search endpoint", "the image resizer",
              "the settings page", "the audit log", "the cron scheduler", "the GraphQL resolver",
              "the session store", "the billing webhook", "the onboarding wizard", "the metrics exporter",
              "the email templates", "the CSV importer", "the permissions model", "the deploy script"]
TECH = ["PostgreSQL", "Redis", "Kafka", "SQLite", "FastAPI", "Django", "React", "Vue", "Svelte", "Go", "Rust",
        "TypeScript", "pnpm", "npm", "Poetry", "uv", "Docker", "Kubernetes", "Terraform", "GitHub Actions",
        "Celery", "RabbitMQ", "Elasticsearch", "pgvector", "S3", "nginx", "Playwright", "pytest", "Vitest",
        "Sentry", "OpenTelemetry", "Prometheus", "gRPC", "Tailwind", "Prisma", "SQLAlchemy", "Alembic"]
PROBLEMS = ["a race condition between two writers", "an N+1 query", "a memory leak in long-running workers",
            "timezone handling around midnight UTC", "stale cache entries after deploys",
            "a missing index on the foreign key", "flaky tests that depended on ordering",
            "connection pool exhaustion under load", "an off-by-one in pagination",
            "unicode normalisation of user names", "a deadlock when two jobs updated the same rows",
            "retries that were not idempotent", "a slow cold start", "too-large Docker images",
            "silent truncation of long texts", "a mismatch between staging and production config"]
REASONS = ["it halved the p95 latency", "the team already knows it", "it removes a whole service",
           "it is easier to test locally", "the old approach lost data on restart", "it runs offline",
           "it keeps the API backwards compatible", "the bundle got 40% smaller", "it avoids vendor lock-in",
           "errors are now visible in one place", "it survives network partitions", "reviews got faster"]
PEOPLE = ["Ana", "Bilal", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ivo", "Jun", "Kofi", "Lena"]
TEMPLATES = [
    "Decided to move {c} in {p} from {t1} to {t2} because {r}.",
    "Root cause of the outage in {p}: {pr} in {c}. Fixed by switching to {t1} and adding a regression test.",
    "{n} prefers {t1} over {t2} for {c}; keep using it in {p}.",
    "In {p}, {c} uses {t1} with {t2} behind it; {r}.",
    "Bug in {c} ({p}) was {pr}; the fix was a guard plus a {t1} integration test.",
    "Always run the {t1} checks before touching {c} in {p}; last time {pr} slipped through.",
    "Pattern for {p}: wrap {c} in a retry with backoff and log to {t1}, since {r}.",
    "Tried {t1} for {c} in {p} but rolled back after {pr}; {t2} stays.",
    "{n} asked to document how {c} talks to {t1} in {p}, because {r}.",
    "Performance note for {p}: {c} spent most of its time on {pr}; moving to {t2} fixed it.",
]


def memories(n: int, seed: int = 7) -> list[tuple[str, str]]:
    """n distinct (project, content) pairs, the same for the same (n, seed)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    while len(out) < n:
        p = rng.choice(PROJECTS)
        t1, t2 = rng.sample(TECH, 2)
        text = rng.choice(TEMPLATES).format(c=rng.choice(COMPONENTS), p=p, t1=t1, t2=t2, r=rng.choice(REASONS),
                                            pr=rng.choice(PROBLEMS), n=rng.choice(PEOPLE))
        if len(out) % 3 == 0:
            text += f" Ticket {rng.choice(PROJECTS)[:3].upper()}-{rng.randint(100, 9999)}."
        if text not in seen:
            seen.add(text)
            out.append((p, text))
    return out


def queries(n: int, seed: int = 99) -> list[str]:
    """Search queries of the kind a user or Claude would ask over such memories."""
    rng = random.Random(seed)
    forms = ["why did we switch {c} to {t}", "{pr} in {c}", "how does {c} use {t}", "{t} problems in {p}",
             "what does {n} prefer for {c}", "fix for {pr}", "{c} {t} decision"]
    return [rng.choice(forms).format(c=rng.choice(COMPONENTS), t=rng.choice(TECH), pr=rng.choice(PROBLEMS),
                                     p=rng.choice(PROJECTS), n=rng.choice(PEOPLE)) for _ in range(n)]


def cached_vectors(embed, model_key: str, texts: list[str], shard: int = 2000, log=print) -> np.ndarray:
    """Vectors for `texts`, computed with `embed(list[str]) -> ndarray` once and cached in shards."""
    CACHE_DIR.mkdir(exist_ok=True)
    parts = []
    for start in range(0, len(texts), shard):
        chunk = texts[start:start + shard]
        key = hashlib.sha256((model_key + "\x00" + "\x00".join(chunk)).encode()).hexdigest()[:32]
        path = CACHE_DIR / f"vec-{key}.npy"
        if path.exists():
            parts.append(np.load(path))
            continue
        vecs = np.asarray(embed(chunk), dtype=np.float32)
        np.save(path, vecs)
        parts.append(vecs)
        log(f"  embedded {start + len(chunk)}/{len(texts)}")
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
