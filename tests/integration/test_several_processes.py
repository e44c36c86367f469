"""The documented topology for more than one machine (operations.md, Scaling): two API
processes (`serve --no-projector`) and one projector process (`project`) on one database,
under 1,000 registrations of one person from 16 clients at once.

Every registration answers 201 (none 5xx), each one is in the store, the person is one
contact holding all 1,000 participants, and the read models the projector process built
equal a clean rebuild of them from the log."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx2 as httpx
from sqlalchemy import MetaData, select

from adapters.clock import utc_now
from app import build_system
from tests.support.backends import backend_settings
from tests.support.crowd import crowd
from tests.support.processes import fleet
from tests.support.world import World

REGISTRATIONS = 1_000
CLIENTS = 16
EVENTS = 10
EMAIL = "Claire.Dubois@Example.org"


def _register_all(
    bases: list[str], token: str, events: list[UUID]
) -> tuple[Counter[int], list[dict[str, Any]]]:
    """1,000 POSTs of one person spread over the events, the API processes and 16 clients."""

    @contextmanager
    def opened(index: int) -> Iterator[Callable[[int], Any]]:
        with httpx.Client(base_url=bases[index % len(bases)], timeout=120) as http:
            yield lambda n: http.post(
                f"/v1/events/{events[n % len(events)]}/participants",
                json={"fields": {"email": EMAIL, "first_name": "Claire"}},
                headers={"Authorization": f"Bearer {token}"},
            )

    return crowd(REGISTRATIONS, CLIENTS, opened)


def _read_models(system: Any) -> dict[str, list[tuple[Any, ...]]]:
    tables = MetaData()
    with system.grid.engine.connect() as connection:
        tables.reflect(connection, schema=system.settings.database.schema or None)
        return {
            table.name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
            for table in tables.sorted_tables
            if table.name.startswith("rm_") and table.name != "rm_tracking"
        }


def _caught_up(system: Any, seconds: float = 120) -> None:
    head = system.ledger.recorder.max_notification_id()
    deadline = time.monotonic() + seconds
    while any(p.store.position() < head for p in system.projectors.values()):
        assert time.monotonic() < deadline, "the projector process did not catch up"
        time.sleep(0.2)


def test_two_api_processes_and_a_projector_register_one_person_1000_times(
    tmp_path: Path, require_postgres: None
) -> None:
    with backend_settings("postgres", tmp_path) as settings:
        system = build_system(settings)
        try:
            world = World(system.ledger)
            account = world.account(sync={"company": "up_and_propagate"})
            # a hot contact: the person books each event many times (decision 0050)
            events = [world.event(account, several_bookings=True) for _ in range(EVENTS)]
            token = system.tokens.create(account, "service", "crowd", utc_now())
            with fleet(settings, tmp_path) as processes:
                bases = [processes.api("api-1"), processes.api("api-2")]
                processes.start("projector", "project")
                answers, created = _register_all(bases, token, events)
                assert answers == {201: REGISTRATIONS}, (answers, processes.log("api-1")[-2000:])
                _caught_up(system)
                projected = _read_models(system)
            participants = {UUID(p["id"]): UUID(p["event_id"]) for p in created}
            assert len(participants) == REGISTRATIONS
            contacts = {
                system.ledger.participant(account, event, participant).contact_id
                for participant, event in participants.items()
            }
            assert len(contacts) == 1
            contact = system.ledger.contact(account, contacts.pop())
            assert set(contact.participants) == set(participants)
            for projector in system.projectors.values():
                projector.rebuild()
            assert _read_models(system) == projected
        finally:
            system.close()
