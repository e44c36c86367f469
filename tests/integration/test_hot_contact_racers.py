"""The hot-record probe of issue 23: 1,000 registrations of one person across 10 events
from 50 clients at once, `company` up_and_propagate and different for each client, into
events that take several bookings per person (with one booking per person, the default,
the same probe answers 10 × 201 and 990 × 409: tests/http/test_bookings_and_edits.py).

Every registration answers 201 (none 5xx) and is in the store, the person is one
contact holding all 1,000 participants, and once the propagation follow-up has run,
every participant holds the contact's company (decision 0049); the read models apply
the log it made."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any
from uuid import UUID

from starlette.testclient import TestClient

from adapters.clock import utc_now
from app import build_system
from tests.support.backends import backend_settings
from tests.support.crowd import crowd
from tests.support.world import World

REGISTRATIONS = 1_000
CLIENTS = 50
EVENTS = 10
EMAIL = "Claire.Dubois@Example.org"


def _register_all(
    client: TestClient, token: str, events: list[UUID]
) -> tuple[Counter[int], list[dict[str, Any]]]:
    def opened(index: int) -> AbstractContextManager[Callable[[int], Any]]:
        return nullcontext(
            lambda n: client.post(
                f"/v1/events/{events[n % EVENTS]}/participants",
                json={"fields": {"email": EMAIL, "company": f"Company {index}"}},
                headers={"Authorization": f"Bearer {token}"},
            )
        )

    return crowd(REGISTRATIONS, CLIENTS, opened)


def test_a_thousand_registrations_of_one_person_make_one_contact_in_line(
    tmp_path: Path, db_kind: str
) -> None:
    with backend_settings(db_kind, tmp_path) as settings:
        system = build_system(settings)
        try:
            world = World(system.ledger)
            account = world.account(sync={"company": "up_and_propagate"})
            # events that take several bookings of one person (Oniva's setting, decision
            # 0050): otherwise all but the first registration per event are 409s
            events = [world.event(account, several_bookings=True) for _ in range(EVENTS)]
            token = system.tokens.create(account, "service", "crowd", utc_now())
            system.propagation_projector.start()  # as `serve` does
            with TestClient(system.http) as client:
                answers, created = _register_all(client, token, events)
            assert answers == {201: REGISTRATIONS}, answers
            system.propagation_projector.stop()
            system.propagation_projector.catch_up()
            assert system.propagation_projector.error is None
            participants = {UUID(p["id"]) for p in created}
            assert len(participants) == REGISTRATIONS
            loaded = system.ledger.load_many(participants)
            contacts = {p.contact_id for p in loaded.values()}  # type: ignore[attr-defined]
            assert len(contacts) == 1
            contact = system.ledger.contact(account, contacts.pop())
            assert set(contact.participants) == participants
            companies = {p.fields["company"] for p in loaded.values()}  # type: ignore[attr-defined]
            assert companies == {contact.fields["company"]}
            for projector in system.projectors.values():  # every read model takes the new event
                projector.catch_up()
        finally:
            system.close()
