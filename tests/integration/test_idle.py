"""An idle service asks the database nothing: a following projector and the job runner
wait for a sign of new work (a NOTIFY, SQLite's data version), and still wake for it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.clock import utc_now
from adapters.settings import Settings
from app import ContactLedgerSystem, build_system
from tests.support.world import World

QUIET_SECONDS = 1.5


@pytest.fixture
def system(db_settings: Settings) -> Iterator[ContactLedgerSystem]:
    system_ = build_system(db_settings)
    try:
        yield system_
    finally:
        system_.close()


def counted(obj: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = getattr(obj, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(obj, name, wrapper)
    return calls


def eventually(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.02)


def test_a_caught_up_projector_makes_no_query_until_an_event_comes(
    system: ContactLedgerSystem, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    world = World(system.ledger)
    world.account()
    projector = system.projector
    projector.start()
    head = system.ledger.recorder.max_notification_id()
    eventually(lambda: (live := projector.live()) is not None and live.position == head)
    time.sleep(0.3)  # the rounds that follow its own last commit
    reads = counted(system.ledger.recorder, "select_notifications", monkeypatch)
    time.sleep(QUIET_SECONDS)
    assert reads == []
    world.account()  # a new event: it wakes and applies it
    head = system.ledger.recorder.max_notification_id()
    eventually(lambda: projector.store.position() == head)


def test_an_idle_job_runner_makes_no_query_until_a_job_is_queued(
    system: ContactLedgerSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = system.runtime.jobs
    claims = counted(store, "claim", monkeypatch)
    system.jobs.poll_seconds = 0.05
    system.jobs.start()
    eventually(lambda: len(claims) >= 1)
    time.sleep(0.3)
    settled = len(claims)
    time.sleep(QUIET_SECONDS)
    assert len(claims) == settled
    world = World(system.ledger)
    account = world.account()
    event = world.event(account)
    job_id = store.create(account, "backfill", {"event_id": str(event)}, None,
                          world.meta, utc_now(), 0)  # fmt: skip
    eventually(lambda: store.get(account, job_id).status not in ("queued", "running"))


def test_a_rebuild_elsewhere_wakes_a_following_projector(
    system: ContactLedgerSystem, db_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's `rebuild` empties the read model: the server's projector hears
    of it at once (its in-memory position, which `?after=` reads, must not stay ahead)."""
    world = World(system.ledger)
    world.account()
    projector = system.projector
    projector.start()
    head = system.ledger.recorder.max_notification_id()
    eventually(lambda: (live := projector.live()) is not None and live.position == head)
    other = build_system(db_settings)  # the CLI's
    try:
        rebuilding = other.projector
        monkeypatch.setattr(rebuilding, "catch_up", lambda progress=None: 0)  # reset only
        rebuilding.rebuild()
        eventually(lambda: projector.store.position() == head, seconds=5)
    finally:
        other.close()
