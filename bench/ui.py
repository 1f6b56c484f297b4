"""The UI in Chromium against a large store: time from navigation to the Timeline River drawn, and from
the last keystroke in the search box to the results shown.

    python bench/ui.py --size 100000 --out FILE

The store is the one bench/api.py builds (real model vectors, cached in .bench-cache/). Debian's Chromium
(/usr/bin/chromium), headless; each figure is the p50 / p95 of several runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from api import load, pct, serve  # noqa: E402
from common import machine, temp_runtime, write_json  # noqa: E402
from corpus import queries  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync"]


def river(page, url: str, runs: int) -> dict[str, float]:
    xs = []
    for i in range(runs + 1):
        page.goto("about:blank")
        t0 = time.perf_counter()
        page.goto(url + "/ui/")
        page.wait_for_selector("[data-testid=river] rect.density")
        if i:
            xs.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": pct(xs, 50), "p95_ms": pct(xs, 95), "runs": runs}


def search(page, url: str, mode: str, texts: list[str]) -> dict[str, float]:
    page.goto(url + "/ui/search")
    page.get_by_label("Mode").select_option(mode)
    box = page.get_by_role("searchbox")
    xs = []
    for i, text in enumerate(texts):
        box.fill(text[:-1])
        page.wait_for_function("(q) => document.querySelector('[data-testid=results]').dataset.query === q",
                               arg=text[:-1].strip())
        t0 = time.perf_counter()
        box.press(text[-1])
        page.wait_for_function("(q) => document.querySelector('[data-testid=results]').dataset.query === q",
                               arg=text.strip())
        if i:
            xs.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": pct(xs, 50), "p95_ms": pct(xs, 95), "runs": len(xs), "debounce_ms": 100}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--out")
    args = p.parse_args()
    rt, data_dir = temp_runtime()
    load(rt, args.size)
    proc, url = serve(rt.db.dsn, data_dir)
    figures: dict[str, object] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                                         args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            figures["river_drawn"] = river(page, url, args.runs)
            texts = queries(args.runs + 1, seed=5)
            for mode in ("hybrid", "semantic", "keyword"):
                figures[f"search_{mode}"] = search(page, url, mode, texts)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(15)
        rt.close()
    result = {"memories": args.size, "machine": machine(), **figures}
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
