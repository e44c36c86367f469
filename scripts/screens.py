"""Screenshots of every back-office screen, on the demo data, for README.md and docs/ui.md.

Run from the repository root after `bash scripts/setup.sh` (it needs Playwright and
Debian's chromium):  .venv/bin/python scripts/screens.py
It serves a fresh SQLite store with the demo data on a free port, signs in as the demo
admin and saves one PNG per screen under docs/screens/.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.clock import utc_now  # noqa: E402
from adapters.demo import load_demo  # noqa: E402
from adapters.settings import Database, Settings  # noqa: E402
from app import build_system  # noqa: E402
from domain.commands import RegisterParticipant  # noqa: E402
from domain.meta import Meta  # noqa: E402

OUT = ROOT / "docs" / "screens"
PASSWORD = "demo password for screenshots"
META = Meta("screens", "admin", "cli", "screens")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database=Database("sqlite", path=f"{folder}/ledger.sqlite"),
            data_dir=Path(folder),
            key_index_secret=b"screens-secret-of-at-least-32-bytes!",
        )
        system = build_system(settings)
        demo = load_demo(system.ledger, utc_now())
        users = system.runtime.users
        assert users is not None
        users.create(demo.account_id, "admin", "admin@demo.example", PASSWORD, utc_now())
        event_id = next(iter(demo.event_ids.values()))
        bad = {"email": "<script>alert(1)</script>@example.org", "last_name": "<b>Bold</b>"}
        system.ledger.register_participant(
            RegisterParticipant(demo.account_id, event_id, bad, "registered", "api"),
            utc_now(),
            META,
        )
        for projector in system.projectors.values():
            projector.start()
        system.jobs.start()
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(system.http, port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            _shoot(f"http://127.0.0.1:{port}", str(event_id))
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            system.close()


def _shoot(url: str, event_id: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
        _save(page, f"{url}/sign-in", "sign-in")
        page.fill("input[name=email]", "admin@demo.example")
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/sign-in'] button")
        page.wait_for_url(f"{url}/contacts")
        time.sleep(2)  # the read models catch up with the demo data
        _save(page, f"{url}/contacts?min_events=2", "contacts")
        page.click("table.grid tbody tr >> nth=0 >> a")
        _save(page, page.url, "contact")
        _save(page, f"{url}/events", "events")
        _save(page, f"{url}/events/{event_id}", "event")
        _save(page, f"{url}/imports", "import")
        _save(page, f"{url}/settings", "settings")
        _save(page, f"{url}/audit", "audit")
        _save(page, f"{url}/reports?report=registrations", "reports")
        _save(page, f"{url}/contacts/deleted", "deleted")
        page.set_extra_http_headers({"Accept-Language": "fr-FR,fr"})
        _save(page, f"{url}/contacts", "contacts-fr")
        browser.close()


def _save(page: Page, address: str, name: str) -> None:
    page.goto(address)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
    print(f"docs/screens/{name}.png")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    main()
