"""Playwright for Python driving Debian's Chromium (never a downloaded browser), with guards every browser
test shares: any request to another host, any dialog, any console error or page error, and any flag a
hostile payload would set on `window` fail the test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync"]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def chromium_or_skip() -> str:
    """The Chromium binary; a missing one skips the browser tests, except under CI=true, where it fails."""
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return CHROMIUM
    message = f"no Chromium at {CHROMIUM} (apt-get install chromium; scripts/test does it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Guarded:
    """A page and what it did that a test must never see."""

    page: Any
    origin: str
    foreign: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def check(self) -> None:
        pwned = self.page.evaluate("() => window.__pwned === undefined ? null : String(window.__pwned)")
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"
        assert self.dialogs == [], f"dialogs opened: {self.dialogs}"
        assert self.page_errors == [], f"page errors: {self.page_errors}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        assert pwned is None, f"a payload ran: window.__pwned = {pwned}"


@contextmanager
def guarded_page(browser: Any, base_url: str, allow_http_errors: tuple[int, ...] = ()) -> Iterator[Guarded]:
    """A fresh context and page whose requests may only go to `base_url`'s host."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    origin = urlsplit(base_url).netloc
    g = Guarded(page, origin)

    def route(r: Any) -> None:
        url = r.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != origin:
            g.foreign.append(url)
            r.abort()
        else:
            r.continue_()

    context.route("**/*", route)
    page.on("dialog", lambda d: (g.dialogs.append(f"{d.type}: {d.message}"), d.dismiss()))
    page.on("pageerror", lambda e: g.page_errors.append(str(e)))

    def console(msg: Any) -> None:
        if msg.type == "error":
            text = msg.text
            # the API's own 4xx answers are expected in some tests (e.g. 401 before the token prompt)
            if any(f"status of {code}" in text for code in allow_http_errors):
                return
            g.console_errors.append(text)

    page.on("console", console)
    try:
        yield g
    finally:
        context.close()
