"""recent_context and startup_context read models."""

from __future__ import annotations

from claude_memory.learning.context import recent_context, sentences, startup_context
from test_signals import behaviour_in_sessions


def test_recent_context_prefers_distilled_and_falls_back(runtime):
    mem = runtime.memories
    mem.save("Raw note: looked at the flaky login test", project="web")
    fallback = recent_context(mem, "web")
    assert fallback["kind"] == "recent" and len(fallback["memories"]) == 1
    mem.save("Distilled: the login test was flaky because of a shared fixture; isolated it", tags=["distilled"],
             project="web")
    distilled = recent_context(mem, "web")
    assert distilled["kind"] == "distilled"
    assert [m["content"][:10] for m in distilled["memories"]] == ["Distilled:"]


def test_startup_context_orders_tiers_and_stays_in_budget(runtime):
    mem = runtime.memories
    behaviour_in_sessions(runtime, ["Likes small commits, each with its own test",
                                    "Prefers small commits with a test in each"], ["s-a", "s-b"])
    mem.save("Always use pnpm, never npm", tags=["type:preference"], force=True)
    for i in range(40):
        mem.save(f"Distilled {i}: changed the retry policy of worker {i} to exponential backoff with jitter",
                 tags=["distilled"], project="api", force=True)
    text = startup_context(mem, "api", budget=1024)
    assert len(text.encode()) <= 1024
    assert text.index("Always use pnpm") < text.index("Prefers small commits") < text.index("Distilled")
    with runtime.db.cursor() as cur:
        cur.execute("INSERT INTO imported_sessions (session_id, project, cwd) VALUES ('s1', 'api', '/home/u/src/api')")
    assert startup_context(mem, "/home/u/src/api/pkg/sub", budget=1024) == text


def test_startup_context_of_an_unknown_project_says_it_has_nothing(runtime):
    text = startup_context(runtime.memories, "empty-project")
    assert "No preferences or patterns learned yet." in text and "No recent work stored for empty-project" in text


def test_sentences_are_whole_and_words_never_cut():
    text = "The cache is warmed at start. Then each request reads it! Does it expire? Yes, hourly."
    assert sentences(text, 60) == "The cache is warmed at start. Then each request reads it!"
    assert sentences(text, 10) == "The cache…"
    assert sentences("x" * 50, 10).endswith("…") and len(sentences("x" * 50, 10)) <= 10
    assert sentences("  spaced   out  ", 100) == "spaced out"
