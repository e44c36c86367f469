"""Properties of decision 0050: one live booking per person and event unless the event
takes several; every contact edit is applied, superseded or already standing."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ledger import build_ledger
from domain import commands
from domain.keys import normalise
from domain.ledger_participants import AlreadyBookedError
from tests.support.backends import backend_settings
from tests.support.world import World

SPELLINGS = ("ada@example.org", "ADA@example.org ", "bob@example.org", "Bob@Example.org")
EVENTS = 3  # the last one takes several bookings

registrations = st.lists(
    st.one_of(
        st.tuples(st.just("register"), st.integers(0, EVENTS - 1), st.sampled_from(SPELLINGS)),
        st.tuples(st.just("delete"), st.integers(0, 20), st.just("")),
    ),
    max_size=14,
)
edits = st.lists(
    st.tuples(st.integers(-5, 5), st.sampled_from(("Acme", "Globex", "Umbrella"))),
    min_size=1,
    max_size=10,
)


@contextmanager
def a_world(kind: str) -> Iterator[World]:
    with tempfile.TemporaryDirectory() as tmp, backend_settings(kind, Path(tmp)) as settings_:
        ledger = build_ledger(settings_)
        try:
            yield World(ledger)
        finally:
            ledger.close()


def live_keys(world: World, account: UUID, participants: list[tuple[int, UUID]]) -> list[Any]:
    """(event, key) of each live participant."""
    found = []
    for event, participant_id in participants:
        participant = world.participant(account, participant_id)
        if not participant.deleted:
            found.append((event, normalise("email", participant.fields["email"])))
    return found


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@settings(max_examples=50, deadline=None)
@given(ops=registrations)
def test_at_most_one_live_booking_per_person_and_event(kind: str, ops: list[Any]) -> None:
    with a_world(kind) as world:
        account = world.account()
        events = [world.event(account, several_bookings=i == EVENTS - 1) for i in range(EVENTS)]
        participants: list[tuple[int, UUID]] = []
        for op, n, email in ops:
            live = live_keys(world, account, participants)
            if op == "register":
                booked = (n, normalise("email", email)) in live
                try:
                    participants.append((n, world.register(account, events[n], email=email)))
                except AlreadyBookedError:
                    assert booked and n != EVENTS - 1  # refused exactly when booked already
                else:
                    assert not booked or n == EVENTS - 1
            elif participants:
                event, participant_id = participants[n % len(participants)]
                cmd = commands.DeleteParticipant(account, events[event], participant_id)
                world.ledger.delete_participant(cmd, world.tick(), world.meta)
        once = [k for k in live_keys(world, account, participants) if k[0] != EVENTS - 1]
        assert len(once) == len(set(once))


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@settings(max_examples=50, deadline=None)
@given(asked=edits)
def test_every_contact_edit_is_applied_superseded_or_already_standing(
    kind: str, asked: list[tuple[int, str]]
) -> None:
    """Edits arrive in any order of their times: each one that asked for another value
    than the standing one left a fact, applied (the latest edit wins) or superseded (its
    answer names the value that stands); one asking for the standing value changed
    nothing and recorded nothing."""
    with a_world(kind) as world:
        account = world.account()
        event = world.event(account)
        participant = world.register(account, event, email="ada@example.org")
        contact = world.contact_of(account, participant)
        assert contact is not None
        start, before = world.tick(), world.position()
        value, stamp, recorded = None, start - timedelta(days=1), 0  # the model
        for offset, company in asked:
            at = start + timedelta(seconds=offset)
            lost = world.edit_contact(account, contact.id, at, company=company).detail
            if company == value:  # changes nothing, records nothing (nor a newer stamp)
                assert lost == []
            elif at >= stamp:
                recorded += 1
                value, stamp = company, at
                assert lost == []
            else:
                recorded += 1  # superseded, and its answer says what stands
                assert [(s.asked, s.standing) for s in lost] == [(company, value)]
        facts = world.facts_since(before)
        edits_recorded = facts.count("Contact.FieldsChanged") + facts.count(
            "Contact.EditSuperseded"
        )
        assert edits_recorded == recorded
        assert world.ledger.contact(account, contact.id).fields["company"] == value
