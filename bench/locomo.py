"""LoCoMo retrieval benchmark: store each conversation through the memory service (one project per
conversation), ask every question through the search the MCP tools use, and score evidence recall.

    python bench/locomo.py --data FILE --granularity session|dialog --mode hybrid|semantic|keyword --out FILE
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, temp_runtime, write_json  # noqa: E402

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
EVIDENCE = re.compile(r"D\s*(\d+)\s*:\s*(\d+)")


def parse_date(text: str | None) -> datetime | None:
    """LoCoMo writes '1:56 pm on 8 May, 2023'; anything unparseable gives None (stored as now)."""
    if not text:
        return None
    for fmt in ("%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def turn_text(turn: dict[str, Any]) -> str:
    text = f"{turn.get('speaker', '?')}: {turn.get('text', '')}"
    if turn.get("blip_caption"):
        text += f" [shared an image: {turn['blip_caption']}]"
    return text


def sessions(conv: dict[str, Any]) -> list[tuple[int, str | None, list[dict[str, Any]]]]:
    out = []
    for key, turns in conv.items():
        m = re.fullmatch(r"session_(\d+)", key)
        if m and isinstance(turns, list):
            out.append((int(m.group(1)), conv.get(f"{key}_date_time"), turns))
    return sorted(out)


def documents(sample: dict[str, Any], granularity: str) -> list[tuple[str, dict[str, Any]]]:
    """(unit key, memory fields) per session or per turn of one conversation."""
    project = str(sample.get("sample_id", "conversation"))
    docs = []
    for num, when, turns in sessions(sample["conversation"]):
        created = parse_date(when)
        header = f"[{when}]\n" if when else ""
        if granularity == "session":
            body = header + "\n".join(turn_text(t) for t in turns)
            docs.append((f"S{num}", {"content": body, "project": project, "created_at": created,
                                     "session_id": f"{project}/session_{num}", "source": "locomo"}))
        else:
            for t in turns:
                m = EVIDENCE.search(str(t.get("dia_id", "")))
                if not m:
                    continue
                docs.append((f"D{int(m.group(1))}:{int(m.group(2))}",
                             {"content": turn_text(t), "project": project, "created_at": created,
                              "session_id": f"{project}/session_{num}", "source": "locomo"}))
    return docs


def evidence_units(qa: dict[str, Any], granularity: str) -> set[str]:
    units = set()
    for ev in qa.get("evidence") or []:
        for m in EVIDENCE.finditer(str(ev)):
            s, d = int(m.group(1)), int(m.group(2))
            units.add(f"S{s}" if granularity == "session" else f"D{s}:{d}")
    return units


def search(rt: Any, mode: str, query: str, project: str, k: int) -> list[int]:
    s = rt.searcher
    if mode == "hybrid":
        res = s.hybrid(query, limit=k, project=project)
    elif mode == "semantic":
        res = s.semantic(query, limit=k, project=project)
    else:
        res = s.keyword(query, limit=k, project=project)
    return [r["id"] for r in res["results"]]


def run(data: list[dict[str, Any]], granularity: str, mode: str, database_url: str | None) -> dict[str, Any]:
    rt, _ = temp_runtime(database_url)
    totals: dict[str, list[float]] = defaultdict(list)
    per_cat: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    t0 = time.time()
    stored = 0
    latencies: list[float] = []  # per question, end to end in the service (query embedding included)
    for sample in data:
        project = str(sample.get("sample_id", "conversation"))
        docs = documents(sample, granularity)
        ids = rt.memories.add_many([d for _, d in docs])
        unit_of = {mid: unit for (unit, _), mid in zip(docs, ids, strict=True) if mid is not None}
        stored += len(unit_of)
        for qa in sample.get("qa", []):
            question = str(qa.get("question") or "").strip()
            if not question:
                continue
            gold = evidence_units(qa, granularity)
            t = time.perf_counter()
            found_ids = search(rt, mode, question, project, 10)
            latencies.append((time.perf_counter() - t) * 1000)
            ranked = [unit_of.get(i) for i in found_ids]
            scores = {}
            for k in (5, 10):
                found = {u for u in ranked[:k] if u in gold}
                scores[f"fraction_at_{k}"] = len(found) / len(gold) if gold else 1.0
            scores["recall_any_at_10"] = 1.0 if not gold or any(u in gold for u in ranked) else 0.0
            cat = CATEGORIES.get(qa.get("category"), str(qa.get("category")))
            for name, v in scores.items():
                totals[name].append(v)
                per_cat[cat][name].append(v)
        print(f"  {project}: {len(docs)} {granularity} memories, running fraction@10 "
              f"{sum(totals['fraction_at_10']) / max(1, len(totals['fraction_at_10'])):.3f}", flush=True)
    rt.close()

    def mean(xs: list[float]) -> float:
        return round(sum(xs) / len(xs), 4) if xs else 0.0

    return {
        "granularity": granularity, "mode": mode, "conversations": len(data), "questions": len(totals["fraction_at_10"]),
        "memories": stored, "fraction_at_5": mean(totals["fraction_at_5"]),
        "fraction_at_10": mean(totals["fraction_at_10"]), "recall_any_at_10": mean(totals["recall_any_at_10"]),
        "per_category": {c: {n: mean(v) for n, v in d.items()} | {"questions": len(d["fraction_at_10"])}
                         for c, d in sorted(per_cat.items())},
        "ms_per_question": round(statistics.mean(latencies), 2) if latencies else None,
        "ms_per_question_p50": round(statistics.median(latencies), 2) if latencies else None,
        "ms_per_question_p95": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))], 2) if latencies else None,
        "seconds": round(time.time() - t0, 1), "machine": machine(),
    }


def main() -> int:
    import json

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="a LoCoMo-format JSON file")
    p.add_argument("--granularity", choices=["session", "dialog"], default="session")
    p.add_argument("--mode", choices=["hybrid", "semantic", "keyword"], default="hybrid")
    p.add_argument("--out", help="write the figures as JSON here")
    p.add_argument("--database-url", help="use this PostgreSQL instead of a throw-away embedded one")
    args = p.parse_args()
    data = json.loads(Path(args.data).read_text())
    result = run(data, args.granularity, args.mode, args.database_url)
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
    print(f"{args.granularity}/{args.mode}: fraction@5={result['fraction_at_5']} "
          f"fraction@10={result['fraction_at_10']} recall_any@10={result['recall_any_at_10']} "
          f"ms/question={result['ms_per_question']} (p50 {result['ms_per_question_p50']}, "
          f"p95 {result['ms_per_question_p95']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
