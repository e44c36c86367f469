"""Settings cached per process go stale for at most the cache period, under any traffic."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from adapters.ledger import build_ledger
from tests.support.backends import backend_settings
from tests.support.world import World


def test_another_process_sees_a_settings_change_within_the_cache_period(tmp_path: Path) -> None:
    with backend_settings("sqlite", tmp_path) as base:
        settings = replace(base, settled_cache_seconds=0.3)
        writer, reader = build_ledger(settings), build_ledger(settings)
        admin, desk = World(writer), World(reader)
        account_id = admin.account()
        event_id = admin.event(account_id)
        desk.register(account_id, event_id, email="first@example.org")  # desk caches settings
        admin.sync(account_id, event_id, enabled=False)
        deadline = time.monotonic() + 1.5
        synced = True
        n = 0
        while synced and time.monotonic() < deadline:  # steady traffic on the desk
            n += 1
            visitor = desk.register(account_id, event_id, email=f"p{n}@example.org")
            synced = desk.participant(account_id, visitor).syncing
            time.sleep(0.05)
        assert not synced, "the desk kept using settings older than the cache period"
        writer.close()
        reader.close()
