"""Write a 1280×800 screenshot of every UI view to docs/ui/ (against a running server).

    python scripts/screenshots.py [--url http://127.0.0.1:3333] [--out docs/ui]

Uses Debian's Chromium (/usr/bin/chromium, or CHROMIUM); never downloads a browser.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync"]
VIEWS = [("timeline", "/ui/"), ("search", "/ui/search"), ("sessions", "/ui/sessions"),
         ("preferences", "/ui/preferences"), ("duplicates", "/ui/duplicates"), ("trash", "/ui/trash"),
         ("settings", "/ui/settings")]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:3333")
    p.add_argument("--out", default=str(ROOT / "docs" / "ui"))
    p.add_argument("--query", default="scrolling xterm", help="query typed on the search view")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        for name, path in VIEWS:
            page.goto(args.url + path)
            page.wait_for_load_state("networkidle")
            if name == "search":
                page.get_by_role("searchbox").fill(args.query)
                page.wait_for_selector("[data-testid=results] li")
            if name == "sessions":
                page.locator("[data-testid=sessions] tbody a").first.click()
                page.wait_for_selector("[data-testid=transcript] li")
            if name == "timeline":
                page.wait_for_selector("[data-testid=river] rect")
                page.locator("[data-testid=river] rect.density").first.click()
                page.wait_for_selector("[data-testid=stretch] li")
                page.locator("[data-testid=stretch] li button").first.click()
                page.wait_for_selector("[data-testid=related] li")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / f"{name}.png"))
            print(f"wrote {out / (name + '.png')}")
        page.goto(args.url + "/ui/")
        page.wait_for_selector("[data-testid=river] rect")
        page.locator("[data-testid=river] rect.density").first.click()
        page.locator("[data-testid=stretch] li button").first.click()
        page.get_by_role("button", name="Read in full").click()
        page.wait_for_selector("[data-testid=reader]")
        page.screenshot(path=str(out / "reader.png"))
        print(f"wrote {out / 'reader.png'}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
