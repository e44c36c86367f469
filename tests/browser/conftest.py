"""A real browser (Debian's chromium, driven by Playwright) against the real server.

The server is the whole system (projectors and job runner running) served by uvicorn on
a free port, on SQLite and on PostgreSQL. The browser is never downloaded: Playwright
drives /usr/bin/chromium (`scripts/setup.sh` installs it). A missing browser fails the
run; it is not a reason to skip.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from adapters.clock import utc_now
from tests.http.conftest import Api, running_api
from tests.support.back_office import PASSWORD, user

CHROMIUM = os.environ.get("LEDGER_CHROMIUM", "/usr/bin/chromium")


@dataclass
class Site:
    api: Api
    url: str

    def sign_in(self, page: Page, role: str = "admin", email: str | None = None) -> str:
        address = user(self.api, role, email)
        page.goto(f"{self.url}/")
        page.fill("input[name=email]", address)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.url}/contacts")
        return address


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One browser per module, closed at its end: Playwright's sync API runs an event loop
    in this thread while it is open, and a later test's `asyncio.run` would find it."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no browser at {CHROMIUM}: install Debian's chromium (scripts/setup.sh)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def site(tmp_path: Path, db_kind: str) -> Iterator[Site]:
    with running_api(db_kind, tmp_path, clock=utc_now) as api:
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(api.system.http, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        try:
            yield Site(api, f"http://127.0.0.1:{port}")
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(20_000)
    opened = context.new_page()
    yield opened
    context.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
