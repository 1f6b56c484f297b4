"""The browser UI in a real Chromium against a live server on a real database seeded with the fixtures,
saved memories and hostile text. Every test fails on a request to another host, a dialog, a console or page
error, or a payload flag on `window` (tests/browser.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import httpx
import pytest

from api_helpers import HOSTILE, Api, seeded_server, sql
from browser import FLAGS, chromium_or_skip, guarded_page
from conftest import ROOT, wait_until

TOKEN = "ui-token"


@pytest.fixture(scope="module")
def browser():
    exe = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def live(server_dsn, embedder, tmp_path_factory):
    with seeded_server(server_dsn, tmp_path_factory.mktemp("ui"), embedder, hostile=True) as (server, dsn):
        yield server, dsn


@pytest.fixture(scope="module")
def api(live):
    return Api(live[0].url)


@pytest.fixture
def page(browser, live):
    with guarded_page(browser, live[0].url) as g:
        yield g
        g.check()


def open_ui(g, live, path: str = "/ui/") -> None:
    g.page.goto(live[0].url + path)
    g.page.wait_for_load_state("networkidle")


def human_bytes(n: int) -> str:
    units = ["B", "KB", "MB", "GB", "TB"]
    v, i = float(n), 0
    while v >= 1024 and i < len(units) - 1:
        v /= 1024
        i += 1
    return f"{v:.{0 if i == 0 else 1}f} {units[i]}"


def test_page_is_served_with_strict_headers_and_deep_links(live):
    url = live[0].url
    for path in ("/ui", "/ui/", "/ui/sessions/some-session", "/ui/search"):
        r = httpx.get(url + path)
        assert r.status_code == 200 and '<div id="root">' in r.text, path
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "no-referrer"
    asset = re.search(r'src="(/ui/assets/[^"]+\.js)"', httpx.get(url + "/ui/").text).group(1)
    r = httpx.get(url + asset)
    assert r.status_code == 200 and "immutable" in r.headers["cache-control"]
    assert "<script>" not in httpx.get(url + "/ui/").text.split("</head>")[0].replace('<script type="module"', "")
    assert httpx.get(url + "/ui/assets/nope.js").status_code == 404
    assert httpx.get(url + "/ui/assets/../../security.py").status_code == 404


def test_header_shows_the_api_counts(page, live, api):
    open_ui(page, live)
    p = page.page
    stats, status = api.ok("GET", "/api/stats"), api.ok("GET", "/api/status")
    p.wait_for_function("() => !document.querySelector('[data-testid=status-memories]').textContent.startsWith('–')")
    assert p.get_by_test_id("status-memories").inner_text() == f"{stats['total_memories']:,} memories"
    assert p.get_by_test_id("status-sessions").inner_text() == f"{status['sessions']['imported']} sessions"
    assert p.get_by_test_id("status-storage").inner_text() == f"{human_bytes(stats['storage']['database_bytes'])} stored"
    s = status["sessions"]
    assert p.get_by_test_id("status-distill").inner_text() == \
        f"distill: {s['pending']} pending · {s['distilled']} distilled · {s['capped']} capped"
    assert "ready" in p.get_by_test_id("status-model").inner_text()


def test_timeline_has_a_lane_per_project_and_a_click_lists_that_stretch(page, live, api):
    open_ui(page, live)
    p = page.page
    p.wait_for_selector("[data-testid=river] rect.density")
    line = api.ok("GET", "/api/timeline", params={"buckets": 120})
    lanes = p.locator("[data-testid=river] g.lane")
    assert lanes.count() == min(12, len(line["projects"]))
    for lane in line["projects"][:lanes.count()]:
        sel = f"[data-testid=river] g.lane[data-project='{lane['project'] or ''}'] rect.density"
        drawn = p.eval_on_selector_all(sel, "els => els.map(e => Number(e.dataset.count))")
        assert sum(drawn) == lane["total"], lane["project"]
    demo = p.locator("[data-testid=river] g.lane[data-project='Demo'] rect.density").first
    count = int(demo.get_attribute("data-count"))
    demo.click()
    p.wait_for_selector("[data-testid=stretch] li")
    assert p.locator("[data-testid=stretch] li").count() == min(count, 50)
    assert all("Demo" in t for t in p.locator("[data-testid=stretch] li .meta").all_inner_texts())
    before = p.get_by_test_id("timeline-summary").inner_text()
    p.get_by_role("button", name="Zoom in", exact=True).click()
    p.wait_for_function("(t) => document.querySelector('[data-testid=timeline-summary]').textContent !== t", arg=before)
    assert p.locator("[data-testid=river]").count() == 1


def test_search_bars_follow_the_scores_and_keyword_terms_are_marked(page, live):
    open_ui(page, live, "/ui/search")
    p = page.page
    box = p.get_by_role("searchbox")
    assert p.evaluate("() => document.activeElement.type") == "search"
    p.locator("body").click()
    p.keyboard.press("/")
    assert p.evaluate("() => document.activeElement.type") == "search"
    box.fill("Stripe webhooks backoff")
    p.wait_for_selector("[data-testid=results] li")
    rows = p.locator("[data-testid=results] li")
    pairs = rows.evaluate_all("els => els.map(e => [Number(e.dataset.score), "
                          "parseFloat(e.querySelector('.bar > span').style.width)])")  # one read: the list may re-render between two
    scores = [sc for sc, _ in pairs]
    assert scores == sorted(scores, reverse=True) and len(scores) >= 2
    for sc, w in pairs:
        assert abs(w - 100 * sc / scores[0]) < 0.2
    assert "The billing service retries" in rows.first.inner_text()
    p.get_by_label("Mode").select_option("keyword")
    p.wait_for_function("() => document.querySelectorAll('[data-testid=results] mark').length > 0")
    marks = {m.lower() for m in p.locator("[data-testid=results] mark").all_inner_texts()}
    assert marks <= {"stripe", "webhooks", "backoff"} and "stripe" in marks
    p.get_by_label("Mode").select_option("semantic")
    p.wait_for_function("() => !document.querySelector('[data-testid=results] mark')"
                        " && document.querySelectorAll('[data-testid=results] li').length > 0")
    rows = p.locator("[data-testid=results] li")
    pairs = rows.evaluate_all("els => els.map(e => [Number(e.dataset.score), "
                          "parseFloat(e.querySelector('.bar > span').style.width)])")
    assert pairs and all(abs(w - 100 * sc) < 0.2 for sc, w in pairs)


def test_detail_shows_related_and_an_edit_survives_a_reload(page, live, api):
    mid = api.ok("POST", "/api/memories", 201, json={
        "content": "The nightly report job runs at 02:00 UTC and mails the finance team.", "project": "ui-edit",
        "tags": ["ops"]})["id"]
    open_ui(page, live, f"/ui/?m={mid}")
    p = page.page
    p.wait_for_selector("[data-testid=related] li button")
    related = api.ok("GET", f"/api/memories/{mid}/related", params={"limit": 5})["related"]
    shown = p.locator("[data-testid=related] li .meta").all_inner_texts()
    assert [int(t.split(" ")[0][1:]) for t in shown] == [r["id"] for r in related]
    p.get_by_role("button", name="Edit", exact=True).click()
    p.get_by_label("Tags (comma-separated)").fill("ops, reports")
    p.get_by_role("button", name="Save", exact=True).click()
    p.wait_for_selector("[data-testid=guard]")
    assert "updated" in p.get_by_test_id("guard").inner_text()
    p.reload()
    p.wait_for_selector("[data-testid=detail-tags] .tag")
    assert p.locator("[data-testid=detail-tags] .tag").all_inner_texts() == ["ops", "reports"]
    other = api.ok("POST", "/api/memories", 201, json={"content": "Backups are copied to the cold bucket weekly.",
                                                        "project": "ui-edit"})["id"]
    p.get_by_role("button", name="Edit", exact=True).click()
    p.get_by_label("Content").fill("Backups are copied to the cold bucket weekly.")
    p.get_by_role("button", name="Save", exact=True).click()
    p.wait_for_selector("[data-testid=guard]")
    assert f"memory {other}" in p.get_by_test_id("guard").inner_text()
    assert sql(live[1], "SELECT content FROM memories WHERE id = %s", mid)[0][0].startswith("The nightly report")


def test_delete_with_undo_then_trash_restore_and_purge(page, live, api):
    dsn = live[1]
    mid = api.ok("POST", "/api/memories", 201, json={"content": "Feature flags are read from LaunchDarkly at boot.",
                                                      "project": "ui-trash"})["id"]
    open_ui(page, live, f"/ui/?m={mid}")
    p = page.page
    p.get_by_role("button", name="Delete", exact=True).click()
    p.get_by_role("button", name="Undo", exact=True).click()
    wait_until(lambda: sql(dsn, "SELECT deleted_at IS NULL FROM memories WHERE id = %s", mid)[0][0], timeout=10)
    p.get_by_role("button", name="Delete", exact=True).click()
    wait_until(lambda: sql(dsn, "SELECT deleted_at IS NOT NULL FROM memories WHERE id = %s", mid)[0][0], timeout=10)
    p.get_by_role("link", name="Trash", exact=True).click()
    row = p.locator(f"[data-testid=trash] li[data-memory-id='{mid}']")
    row.wait_for()
    assert p.get_by_test_id("trash-count").inner_text().startswith(
        f"{api.ok('GET', '/api/memories', params={'status': 'deleted'})['total']:,} ")
    row.get_by_role("button", name="Restore", exact=True).click()
    wait_until(lambda: sql(dsn, "SELECT deleted_at IS NULL FROM memories WHERE id = %s", mid)[0][0], timeout=10)
    api.ok("DELETE", f"/api/memories/{mid}")
    p.reload()
    row = p.locator(f"[data-testid=trash] li[data-memory-id='{mid}']")
    row.get_by_role("button", name="Purge…", exact=True).click()
    row.get_by_role("button", name="Yes, purge", exact=True).click()
    wait_until(lambda: sql(dsn, "SELECT count(*) FROM memories WHERE id = %s", mid)[0][0] == 0, timeout=10)


def test_a_duplicate_pair_is_resolved(page, live, api):
    dsn = live[1]
    a = api.ok("POST", "/api/memories", 201, json={"content": "Staging deploys need the VPN and a 2FA prompt.",
                                                    "project": "ui-dups"})["id"]
    b = api.ok("POST", "/api/memories", 201, json={"content": "Staging deploys need the VPN and a 2FA prompt!",
                                                    "project": "ui-dups", "force": True})["id"]
    open_ui(page, live, "/ui/duplicates")
    p = page.page
    pair = p.locator(f"[data-pair='{min(a, b)}-{max(a, b)}'], [data-pair='{max(a, b)}-{min(a, b)}']")
    pair.wait_for()
    pair.get_by_role("button", name=f"Keep #{a}", exact=True).click()
    wait_until(lambda: sql(dsn, "SELECT deleted_at IS NOT NULL FROM memories WHERE id = %s", b)[0][0], timeout=10)
    assert sql(dsn, "SELECT deleted_at IS NULL FROM memories WHERE id = %s", a)[0][0]


def test_sessions_view_reads_the_archive_beside_its_memories(page, live, api):
    open_ui(page, live, "/ui/sessions")
    p = page.page
    p.wait_for_selector("[data-testid=sessions] tbody tr")
    total = api.ok("GET", "/api/sessions")["total"]
    assert p.get_by_test_id("sessions-range").inner_text() == f"1–{min(total, 50)} of {total}"
    sid = "d6e0bada-1959-4eec-a9d2-0bfade768d8f"
    p.locator(f"[data-session-id='{sid}'] a").click()
    p.wait_for_selector("[data-testid=transcript] li")
    messages = api.ok("GET", f"/api/sessions/{sid}/messages")["messages"]
    visible = [m for m in messages if m["kind"] != "thinking"]
    assert p.locator("[data-testid=transcript] > li").count() == len(visible)
    assert p.locator("[data-testid=transcript] li[data-kind=tool_use] details:not([open])").count() > 0
    assert p.locator("[data-testid=session-memories] li").count() == api.ok(
        "GET", f"/api/sessions/{sid}/memories")["total"]


def test_preferences_confirm_a_candidate_and_preview_the_startup_context(page, live, api):
    dsn = live[1]
    mid = api.ok("POST", "/api/memories", 201, json={
        "content": 'Correction: "use pnpm, not npm" (after Claude ran `npm install`)', "project": "ui-prefs",
        "tags": ["type:preference", "source:signals", "signal:correction"]})["id"]
    open_ui(page, live, "/ui/preferences")
    p = page.page
    p.get_by_label("Project").select_option("ui-prefs")
    row = p.locator(f"[data-tier=signals] li[data-memory-id='{mid}']")
    row.wait_for()
    ctx = api.ok("GET", "/api/context", params={"project": "ui-prefs"})
    p.wait_for_function("(t) => document.querySelector('[data-testid=context]')?.textContent === t", arg=ctx["context"])
    assert p.get_by_test_id("context-size").inner_text().startswith(f"{ctx['bytes']} of {ctx['budget']} bytes")
    row.get_by_role("button", name="Confirm", exact=True).click()
    p.locator(f"[data-tier=explicit] li[data-memory-id='{mid}']").wait_for()
    tags = sql(dsn, "SELECT tags FROM memories WHERE id = %s", mid)[0][0]
    assert "type:preference" in tags and "source:signals" not in tags


def test_export_downloads_a_file_that_reimports_to_the_same_memories(page, live, other_dsn, tmp_path):
    open_ui(page, live, "/ui/settings")
    p = page.page
    with p.expect_download() as info:
        p.get_by_role("button", name="Download JSON", exact=True).click()
    path = tmp_path / "export.json"
    info.value.save_as(path)
    data = json.loads(path.read_text())
    env = {**os.environ, "DATABASE_URL": other_dsn, "MEMORY_DATA_DIR": str(tmp_path / "d"), "TORCH_THREADS": "1"}
    subprocess.run([sys.executable, str(ROOT / "import_memories.py"), "--memories-json", str(path)], env=env,
                   check=True, capture_output=True)
    keep = "SELECT content, tags, project, created_at FROM memories WHERE deleted_at IS NULL AND superseded_by IS NULL" \
           " ORDER BY content, project"
    exported = {(m["content"], tuple(m["tags"]), m["project"]) for m in data["memories"]}
    assert {(c, tuple(t), pr) for c, t, pr, _ in sql(other_dsn, keep)} == exported
    assert len(exported) == data["count"] > 20
    assert p.get_by_test_id("report").inner_text().startswith("Exported")


def test_hostile_text_renders_as_inert_text_everywhere(page, live, api):
    p = page.page
    hostile = api.ok("GET", "/api/memories", params={"tag": "hostile", "limit": 50})["memories"]
    assert len(hostile) == len(HOSTILE)
    # the list (a timeline stretch of the hostile lane)
    open_ui(page, live)
    p.locator("[data-testid=river] g.lane[data-project='hostile'] rect.density").first.click()
    p.wait_for_selector("[data-testid=stretch] li")
    assert "<script>window.__pwned" in p.get_by_test_id("stretch").inner_text()
    # the detail pane and the reader, for every payload
    for m in hostile:
        open_ui(page, live, f"/ui/?m={m['id']}")
        p.wait_for_selector("[data-testid=detail-content]")
        assert p.get_by_test_id("detail-content").inner_text().strip() == m["content"].strip()
        p.get_by_role("button", name="Read in full", exact=True).click()
        reader = p.get_by_test_id("reader")
        reader.wait_for()
        assert reader.locator("img, script, iframe, svg, style, object, embed").count() == 0
        hrefs = reader.locator("a").evaluate_all("els => els.map(a => [a.getAttribute('href'), a.rel])")
        assert all(h and h.startswith("https://") and "noopener" in rel and "noreferrer" in rel for h, rel in hrefs)
        p.keyboard.press("Escape")
    # search results (keyword, with highlighting) and the session transcript
    open_ui(page, live, "/ui/search")
    p.get_by_label("Mode").select_option("keyword")
    p.get_by_role("searchbox").fill("script onerror onload iframe")
    p.wait_for_selector("[data-testid=results] li")
    assert p.locator("[data-testid=results] img, [data-testid=results] script, [data-testid=results] iframe").count() == 0
    sid = "0bad0bad-0000-4000-8000-000000000001"
    open_ui(page, live, f"/ui/sessions/{sid}")
    p.wait_for_selector("[data-testid=transcript] li")
    text = p.get_by_test_id("transcript").inner_text()
    assert "<script>window.__pwned = 'script'</script>" in text and "onerror" in text
    assert p.locator("[data-testid=transcript] img, [data-testid=transcript] svg, [data-testid=transcript] iframe"
                     ).count() == 0
    assert p.evaluate("() => getComputedStyle(document.body).display") != "none"


# --- tests with a server of their own ------------------------------------------------------------
def test_delete_project_wipe_and_purge_change_the_database(browser, server_dsn, embedder, tmp_path):
    with seeded_server(server_dsn, tmp_path / "danger", embedder) as (server, dsn), \
            guarded_page(browser, server.url) as g:
        p = g.page
        p.goto(server.url + "/ui/settings")
        active = "SELECT count(*) FROM memories WHERE deleted_at IS NULL AND superseded_by IS NULL"
        demo = sql(dsn, active + " AND project = 'Demo'")[0][0]
        p.get_by_label("Project").select_option("Demo")
        p.get_by_role("button", name="Preview", exact=True).click()
        p.get_by_role("button", name=f"Delete {demo} memories", exact=True).click()
        p.wait_for_function("() => document.querySelector('[data-testid=report]').textContent.startsWith('Deleted')")
        assert p.get_by_test_id("report").inner_text() == f"Deleted {demo} memories of Demo; they are in the trash"
        assert sql(dsn, active + " AND project = 'Demo'")[0][0] == 0
        assert sql(dsn, "SELECT count(*) FROM memories WHERE project = 'Demo' AND deleted_at IS NOT NULL")[0][0] == demo
        left = sql(dsn, active)[0][0]
        p.get_by_role("button", name="Preview wipe", exact=True).click()
        p.get_by_role("button", name=f"Move all {left} memories to the trash", exact=True).click()
        p.wait_for_function("() => document.querySelector('[data-testid=report]').textContent.startsWith('Wiped')")
        assert sql(dsn, active)[0][0] == 0
        one = sql(dsn, "SELECT id FROM memories WHERE deleted_at IS NOT NULL ORDER BY id LIMIT 1")[0][0]
        assert Api(server.url).ok("POST", f"/api/memories/{one}/restore")["restored"]  # soft: restorable
        deleted = sql(dsn, "SELECT count(*) FROM memories WHERE deleted_at IS NOT NULL")[0][0]
        assert p.get_by_role("button", name="Purge trash", exact=True).is_disabled()
        p.get_by_label("Confirmation").fill("purge")
        p.get_by_role("button", name="Purge trash", exact=True).click()
        p.wait_for_function("() => document.querySelector('[data-testid=report]').textContent.startsWith('Purged')")
        assert p.get_by_test_id("report").inner_text() == f"Purged {deleted} memories permanently"
        assert sql(dsn, "SELECT count(*) FROM memories") == [(1,)]
        assert sql(dsn, "SELECT count(*) FROM messages")[0][0] > 400  # the archive is untouched
        g.check()


def test_the_token_prompt_asks_once_and_the_tab_keeps_it(browser, server_dsn, embedder, tmp_path):
    with seeded_server(server_dsn, tmp_path / "token", embedder, MEMORY_API_TOKEN=TOKEN) as (server, dsn), \
            guarded_page(browser, server.url, allow_http_errors=(401,)) as g:
        p = g.page
        p.goto(server.url + "/ui/")
        p.get_by_role("textbox", name="Token").fill(TOKEN)
        p.get_by_role("button", name="Use token", exact=True).click()
        p.wait_for_load_state("networkidle")
        total = sql(dsn, "SELECT count(*) FROM memories WHERE deleted_at IS NULL AND superseded_by IS NULL")[0][0]
        p.wait_for_function("(t) => document.querySelector('[data-testid=status-memories]').textContent === t",
                            arg=f"{total:,} memories")
        assert p.get_by_role("textbox", name="Token").count() == 0
        p.get_by_role("link", name="Sessions", exact=True).click()
        p.wait_for_selector("[data-testid=sessions] tbody tr")
        assert p.evaluate("() => sessionStorage.getItem('claude-memory-token')") == TOKEN
        g.check()
