"""Random histories of commands, for property tests over the write and read sides."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from domain import commands
from domain.fields import FieldValueError
from domain.participants import IllegalTransitionError, ParticipantDeletedError, Status
from tests.support.world import World

EMAILS = ("ada@example.org", "ADA@example.org ", "bob@example.org", "Zoé@example.org", None)
COMPANIES = ("Acme", "acme", "Globex", "Élan", None)
operation = st.one_of(
    st.tuples(
        st.just("register"), st.integers(0, 2), st.sampled_from(EMAILS), st.sampled_from(COMPANIES)
    ),
    st.tuples(
        st.just("edit"),
        st.integers(0, 20),
        st.sampled_from(("company", "email", "job_title", "first_name")),
        st.sampled_from(("Acme", "bob@example.org", "cy@example.org", "Émile", None)),
    ),
    st.tuples(st.just("status"), st.integers(0, 20), st.sampled_from([s.value for s in Status])),
    st.tuples(st.just("contact"), st.integers(0, 20), st.sampled_from(("Initech", "umbrella"))),
    st.tuples(st.just("delete"), st.integers(0, 20)),
)
operations = st.lists(operation, max_size=25)
EXPECTED = (IllegalTransitionError, ParticipantDeletedError, FieldValueError)
SEGMENT = {"field": "status", "op": "eq", "value": "attended"}


class History:
    """An account with three events (two synced for all, one for a segment) to act on."""

    def __init__(self, world: World) -> None:
        self.world = world
        sync = {
            "company": "up_and_propagate",
            "job_title": "up",
            "first_name": "up",
            "last_name": "up",
        }
        self.account_id = world.account(sync=sync)
        self.events = [
            world.event(self.account_id),
            world.event(self.account_id, kind="community"),
            world.event(self.account_id, scope="segment", segment=SEGMENT),
        ]
        self.people: list[tuple[UUID, UUID]] = []

    def populate(self, size: int = 14) -> None:
        """A varied base population: case and accent variants, missing values, statuses."""
        companies = ("Acme", "ACME", "Globex", "élan", None, "Acme Corp", "globex")
        first_names = ("Zoé", "zoe", "Émile", None, "Ada", "bob")
        last_names = ("Roux", "roux", "Lefèvre", "Lefevre", None, "Martin", "Ãlvarez")
        for n in range(size):
            fields = {
                "email": None if n % 9 == 8 else f"Person{n % 11}@Example.org",
                "company": companies[n % len(companies)],
                "first_name": first_names[n % len(first_names)],
                "last_name": last_names[n % len(last_names)],
                "job_title": None if n % 3 else "Buyer",
            }
            present = {k: v for k, v in fields.items() if v is not None}
            event_id = self.events[n % 2]
            participant = self.world.register(self.account_id, event_id, **present)
            self.people.append((event_id, participant))
            if n % 4 == 0:
                self.world.status(self.account_id, event_id, participant, "attended")

    def play(self, op: tuple[Any, ...]) -> None:
        with contextlib.suppress(*EXPECTED):
            self._apply(op)

    def _apply(self, op: tuple[Any, ...]) -> None:
        world, account_id = self.world, self.account_id
        if op[0] == "register":
            fields = {k: v for k, v in (("email", op[2]), ("company", op[3])) if v is not None}
            event_id = self.events[op[1]]
            self.people.append((event_id, world.register(account_id, event_id, **fields)))
            return
        if not self.people:
            return
        event_id, participant_id = self.people[op[1] % len(self.people)]
        if op[0] == "edit":
            at = world.now - timedelta(seconds=op[1])
            world.edit(account_id, event_id, participant_id, at=at, **{op[2]: op[3]})
        elif op[0] == "status":
            world.status(account_id, event_id, participant_id, op[2])
        elif op[0] == "contact":
            contact = world.contact_of(account_id, participant_id)
            if contact is not None:
                world.edit_contact(account_id, contact.id, company=op[2])
        else:
            cmd = commands.DeleteParticipant(account_id, event_id, participant_id)
            world.ledger.delete_participant(cmd, world.tick(), world.meta)
