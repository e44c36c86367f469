"""Two processes registering one person in two events end with ONE contact (F5)."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from adapters.ledger import build_ledger
from adapters.settings import Settings
from domain import commands
from domain.meta import Meta
from tests.support.backends import backend_settings
from tests.support.races import at_once
from tests.support.world import World

WRITERS = 6
PEOPLE = [f"Person{n}@Example.org" for n in range(20)]
META = Meta("race", "service", "http", "corr")


def _register_when_released(
    settings: Settings, account: str, event: str, gate: Any, results: Any
) -> None:
    ledger = build_ledger(settings)
    try:
        registered = []
        for email in PEOPLE:  # every writer starts on each person at the same moment
            gate.wait(timeout=60)
            cmd = commands.RegisterParticipant(UUID(account), UUID(event), {"email": email})
            registered.append(str(ledger.register_participant(cmd, datetime.now(UTC), META).id))
        results.put(registered)
    finally:
        ledger.close()


def _prepare(settings: Settings) -> tuple[World, UUID, list[UUID]]:
    ledger = build_ledger(settings)
    world = World(ledger)
    account_id = world.account(sync={"company": "up_and_propagate"})
    events = [world.event(account_id) for _ in range(WRITERS)]
    return world, account_id, events


def _assert_one_contact(world: World, account_id: UUID, participant_ids: list[str]) -> None:
    contacts = {world.contact_of(account_id, UUID(p)).id for p in participant_ids}  # type: ignore[union-attr]
    assert len(contacts) == 1
    contact = world.ledger.contact(account_id, contacts.pop())
    assert {str(p) for p in contact.participants} == set(participant_ids)


def test_processes_racing_make_one_contact(tmp_path: Path, db_kind: str) -> None:
    with backend_settings(db_kind, tmp_path) as settings:
        world, account_id, events = _prepare(settings)
        context = multiprocessing.get_context("spawn")
        gate, queue = context.Barrier(WRITERS), context.Queue()
        writers = [
            context.Process(
                target=_register_when_released,
                args=(settings, str(account_id), str(e), gate, queue),
            )
            for e in events
        ]
        for writer in writers:
            writer.start()
        per_writer = [queue.get(timeout=120) for _ in writers]
        for writer in writers:
            writer.join(timeout=60)
            assert writer.exitcode == 0
        for person in range(len(PEOPLE)):
            _assert_one_contact(world, account_id, [ids[person] for ids in per_writer])
        world.ledger.close()


def test_threads_racing_in_one_process_make_one_contact(tmp_path: Path, store_kind: str) -> None:
    with backend_settings(store_kind, tmp_path) as settings:
        world, account_id, events = _prepare(settings)

        def register(event_id: UUID) -> str:
            cmd = commands.RegisterParticipant(account_id, event_id, {"email": "same@example.org"})
            return str(world.ledger.register_participant(cmd, datetime.now(UTC), META).id)

        results = at_once(*[lambda e=e: register(e) for e in events])  # type: ignore[misc]
        _assert_one_contact(world, account_id, results)
        world.ledger.close()
