"""Deterministic, realistic developer memories for benchmarks, and an on-disk cache of their vectors
(keyed by model and text, outside git) so real embeddings are computed once per machine."""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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


# --- the realistic corpus (issue 15) ------------------------------------------------------------------------
SHARED = Path(__file__).resolve().parents[2] / "shared"
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def _real_units() -> tuple[list[str], list[str]]:
    """Sentences of real text (the fixtures' transcripts and the LoCoMo development dialogues, summaries and
    observations), and real questions (LoCoMo's questions, the fixtures' user prompts)."""
    from claude_memory.importers.claude_code import parse_file
    from claude_memory.importers.model import TEXT, TOOL_RESULT

    texts: list[str] = []
    asks: list[str] = []
    for path in sorted((SHARED / "fixtures" / "claude_code").rglob("*.jsonl")):
        for session in parse_file(path).sessions.values():
            for m in session.messages:
                if m.kind in (TEXT, TOOL_RESULT) and m.text:
                    texts.append(m.text[:4000])
                    if m.role == "user" and m.kind == TEXT and len(m.text) < 300:
                        asks.append(m.text)
    for conv in json.loads((SHARED / "data" / "locomo" / "locomo-dev5.json").read_text()):
        c = conv["conversation"]
        for key, turns in c.items():
            if key.startswith("session_") and isinstance(turns, list):
                texts.extend(f"{t['speaker']}: {t['text']}" for t in turns if t.get("text"))
        for part in ("session_summary", "event_summary", "observation"):
            texts.append(json.dumps(conv.get(part, {}), ensure_ascii=False).replace('"', " "))
        asks.extend(qa["question"] for qa in conv["qa"])
    units = []
    for t in texts:
        for s in _SENTENCE.split(t):
            s = " ".join(s.split())
            if 3 <= len(s.split()) <= 80:
                units.append(s)
    return sorted(set(units)), sorted(set(asks))


def _bigrams(units: list[str]) -> dict[str, list[str]]:
    chain: dict[str, list[str]] = {}
    for u in units:
        words = u.split()
        for a, b in zip(words, words[1:], strict=False):
            chain.setdefault(a, []).append(b)
    return chain


@dataclass
class Memory:
    project: str
    content: str
    session: str
    created_at: datetime


def realistic(n: int, seed: int = 11) -> tuple[list[Memory], list[tuple[str, str | None]]]:
    """n memories made of real sentences and sentences walked on real text's word bigrams (so words follow
    real text's Zipf-like frequencies, with a long tail of identifiers), 5% of them longer than the model's window; grouped in sessions of one project
    each, in time order; projects of very different sizes. Also 200 queries: real questions and phrases
    from the memories, a quarter of them filtered by project."""
    rng = random.Random(seed)
    units, asks = _real_units()
    chain = _bigrams(units)
    starts = [u.split()[0] for u in units]

    def sentence() -> str:
        """A real sentence (30%) or a new one walked on the real text's word bigrams, so that sentences do
        not repeat across memories the way a small pool of real ones would."""
        if rng.random() < 0.3:
            return rng.choice(units)
        words = [rng.choice(starts)]
        while len(words) < 40 and words[-1][-1:] not in ".!?" and words[-1] in chain:
            words.append(rng.choice(chain[words[-1]]))
        return " ".join(words)

    weights = [1 / (i + 1) for i in range(len(PROJECTS))]
    idents = [w for w in {x.strip(".,:;()[]'\"`") for u in units for x in u.split()} if w.isalpha() and len(w) > 3]
    idents.sort()
    out: list[Memory] = []
    seen: set[str] = set()
    t = datetime(2024, 1, 1, tzinfo=UTC)
    session_no = 0
    while len(out) < n:
        project = rng.choices(PROJECTS, weights)[0]
        session_no += 1
        sid = f"bench-{seed}-{session_no:06d}"
        for _ in range(min(n - len(out), int(rng.expovariate(1 / 20)) + 1)):
            r = rng.random()
            k = rng.randint(1, 2) if r < 0.7 else rng.randint(3, 6) if r < 0.95 else rng.randint(14, 40)
            text = " ".join(sentence() for _ in range(k))
            if rng.random() < 0.35:  # the long tail: file names, functions, tickets a session mentions
                a, b = rng.sample(idents, 2)
                text += rng.choice([f" See {a.lower()}_{b.lower()}.py.", f" Ticket {a[:3].upper()}-{rng.randint(10, 99999)}.",
                                    f" In {a.lower()}/{b.lower()}.ts line {rng.randint(1, 900)}."])
            if text in seen:
                continue
            seen.add(text)
            t += timedelta(seconds=rng.randint(5, 600))
            out.append(Memory(project, text, sid, t))
        t += timedelta(hours=rng.randint(1, 30))
    qs: list[tuple[str, str | None]] = []
    for i in range(200):
        r = rng.random()
        if r < 0.4:
            text = rng.choice(asks)
        else:
            words = rng.choice(out).content.split()
            k = rng.randint(2, 6)
            start = rng.randint(0, max(0, len(words) - k))
            text = " ".join(words[start:start + k])
        project = rng.choices(PROJECTS, weights)[0] if i % 4 == 0 else None
        qs.append((text, project))
    return out, qs


def embedded(embedder, model_key: str, mems: list[Memory], log=print) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """Each memory's vector and window vectors exactly as `MemoryService.embed_documents` makes them (windows
    by the model's tokenizer, the memory vector their normalised mean), from cached real embeddings."""
    windows = [embedder.windows(m.content) for m in mems]
    flat = [w for ws in windows for w in ws]
    vecs = cached_vectors(lambda c: embedder.encode(c, batch_size=32), model_key + "/windows", flat, log=log)
    out: list[tuple[np.ndarray, list[np.ndarray]]] = []
    i = 0
    for ws in windows:
        part = vecs[i:i + len(ws)]
        i += len(ws)
        if len(ws) == 1:
            out.append((part[0], []))
        else:
            mean = part.mean(axis=0)
            out.append((mean / (np.linalg.norm(mean) or 1.0), list(part)))
    return out
