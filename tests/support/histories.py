"""Random histories of commands, for property tests over the write and read sides."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from domain import commands
from domain.application import InvalidInputError
from domain.contact_extras import PROCESSING_STATUSES
from domain.contact_lifecycle import ContactDeletedError
from domain.contact_merge import ContactMergedError
from domain.fields import FieldValueError
from domain.ledger_participants import AlreadyBookedError
from domain.participants import IllegalTransitionError, ParticipantDeletedError, Status
from domain.retention import ErasedError
from tests.support.world import World

TOPICS = ("AI", "Énergie", "énergie verte")
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
    st.tuples(st.just("group"), st.integers(0, 20), st.integers(0, 1), st.booleans()),
    st.tuples(st.just("consent"), st.integers(0, 20), st.booleans()),
    st.tuples(st.just("site"), st.integers(0, 20), st.sampled_from((None, -3600, 3600))),
    st.tuples(st.just("processing"), st.integers(0, 20), st.sampled_from(PROCESSING_STATUSES)),
    st.tuples(st.just("merge"), st.integers(0, 20), st.integers(0, 20)),
)
operations = st.lists(operation, max_size=25)
EXPECTED = (
    IllegalTransitionError,
    ParticipantDeletedError,
    FieldValueError,
    InvalidInputError,
    AlreadyBookedError,  # a person registered again in an event with one booking each
)
REFUSED = (ContactDeletedError, ContactMergedError, ErasedError)  # after an erasure or merge
SEGMENT = {"field": "status", "op": "eq", "value": "attended"}


class History:
    """An account with three events (two synced for all, one for a segment) to act on;
    the community takes several bookings of one person, the others one (decision 0050)."""

    def __init__(self, world: World) -> None:
        self.world = world
        sync = {
            "company": "up_and_propagate",
            "job_title": "up",
            "first_name": "up",
            "last_name": "up",
        }
        self.account_id = world.account(sync=sync)
        topics = commands.DefineField(
            self.account_id, "topics", "multiple_choice", "Topics", TOPICS
        )
        world.ledger.define_field(topics, world.tick(), world.meta)
        settings = commands.ChangeSettings(self.account_id, ("email",), {**sync, "topics": "up"}, 2)
        world.ledger.change_settings(settings, world.tick(), world.meta)
        self.events = [
            world.event(self.account_id),
            world.event(self.account_id, kind="community", several_bookings=True),
            world.event(self.account_id, scope="segment", segment=SEGMENT),
        ]
        self.people: list[tuple[UUID, UUID]] = []
        self.groups = [world.group(self.account_id, name) for name in ("VIP", "Press")]

    def populate(self, size: int = 14, first: int = 0) -> None:
        """A varied base population: case and accent variants, missing values, statuses.
        Populating again from `first` = the size before books no one twice in an event."""
        companies = ("Acme", "ACME", "Globex", "élan", None, "Acme Corp", "globex")
        first_names = ("Zoé", "zoe", "Émile", None, "Ada", "bob")
        last_names = ("Roux", "roux", "Lefèvre", "Lefevre", None, "Martin", "Ãlvarez")
        for n in range(first, first + size):
            fields = {
                "email": None if n % 9 == 8 else f"Person{n % 11}@Example.org",
                "company": companies[n % len(companies)],
                "first_name": first_names[n % len(first_names)],
                "last_name": last_names[n % len(last_names)],
                "job_title": None if n % 3 else "Buyer",
                "topics": [TOPICS[i] for i in range(len(TOPICS)) if n >> i & 1] or None,
            }
            present = {k: v for k, v in fields.items() if v is not None}
            event_id = self.events[n % 2]
            participant = self.world.register(self.account_id, event_id, **present)
            self.people.append((event_id, participant))
            if n % 4 == 0:
                self.world.status(self.account_id, event_id, participant, "attended")
            extras = (
                ("group", n, n % 2, True),
                ("consent", n, n % 3 == 0),
                ("site", n, (None, -3600, 3600)[n % 3]),
                ("processing", n, PROCESSING_STATUSES[n % 3]),
            )
            for op in extras[: n % 5]:
                self.play(op)

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
        if op[0] in CONTACT_EXTRAS:
            contact = world.contact_of(account_id, participant_id)
            if contact is not None:
                self._contact_extra(op, contact.id)
        elif op[0] == "edit":
            at = world.now - timedelta(seconds=op[1])
            world.edit(account_id, event_id, participant_id, at=at, **{op[2]: op[3]})
        elif op[0] == "status":
            world.status(account_id, event_id, participant_id, op[2])
        elif op[0] == "merge":
            self._merge(participant_id, self.people[op[2] % len(self.people)][1])
        elif op[0] == "contact":
            contact = world.contact_of(account_id, participant_id)
            if contact is not None:
                world.edit_contact(account_id, contact.id, company=op[2])
        else:
            cmd = commands.DeleteParticipant(account_id, event_id, participant_id)
            world.ledger.delete_participant(cmd, world.tick(), world.meta)

    def erase(self, index: int) -> None:
        """Erase the contact of the index-th person now (right to erasure), if it can be."""
        world = self.world
        contact = world.contact_of(self.account_id, self.people[index % len(self.people)][1])
        if contact is not None:
            with contextlib.suppress(*REFUSED, *EXPECTED):
                cmd = commands.EraseContact(self.account_id, contact.id)
                world.ledger.erase_contact(cmd, world.tick(), world.meta)

    def _merge(self, survivor_participant: UUID, merged_participant: UUID) -> None:
        """Merge the second one's contact into the first one's (same contact: refused)."""
        world, account_id = self.world, self.account_id
        survivor = world.contact_of(account_id, survivor_participant)
        merged = world.contact_of(account_id, merged_participant)
        if survivor is not None and merged is not None:
            cmd = commands.MergeContacts(account_id, survivor.id, merged.id)
            world.ledger.merge_contacts(cmd, world.tick(), world.meta)

    def _contact_extra(self, op: tuple[Any, ...], contact_id: UUID) -> None:
        world, account_id, at = self.world, self.account_id, self.world.tick()
        ledger, meta = world.ledger, world.meta
        if op[0] == "group":
            group_id = self.groups[op[2]]
            cmd = commands.ChangeGroupMembers(account_id, group_id, (contact_id,), not op[3])
            ledger.change_group_members(cmd, at, meta)
        elif op[0] == "consent":
            consent = commands.ChangeConsent(account_id, contact_id, op[2], "form")
            ledger.change_consent(consent, at, meta)
        elif op[0] == "site":
            until = None if op[2] is None else at + timedelta(seconds=op[2])
            site = commands.ChangeSiteAccount(account_id, contact_id, op[1] % 2 == 0, until, op[1])
            ledger.change_site_account(site, at, meta)
        else:
            status = commands.SetProcessingStatus(account_id, contact_id, op[2])
            ledger.set_processing_status(status, at, meta)


CONTACT_EXTRAS = ("group", "consent", "site", "processing")
