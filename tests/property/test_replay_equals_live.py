"""Replay = live: what a command left in memory equals what the stored events rebuild.

Random sequences of registrations, edits, status changes, contact edits and deletions;
after each commit every aggregate the command touched is compared with a fresh
reconstruction from the store (through the sealing mapper).
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ledger import build_ledger
from domain import commands
from domain.aggregate import LedgerAggregate
from domain.fields import FieldValueError
from domain.participants import IllegalTransitionError, ParticipantDeletedError, Status
from tests.support.backends import backend_settings
from tests.support.world import World

EMAILS = ("ada@example.org", "ADA@example.org ", "bob@example.org", None)
operation = st.one_of(
    st.tuples(
        st.just("register"),
        st.integers(0, 2),
        st.sampled_from(EMAILS),
        st.sampled_from(("Acme", "Globex", None)),
    ),
    st.tuples(
        st.just("edit"),
        st.integers(0, 20),
        st.sampled_from(("company", "email", "job_title")),
        st.sampled_from(("Acme", "bob@example.org", "cy@example.org", None)),
    ),
    st.tuples(st.just("status"), st.integers(0, 20), st.sampled_from([s.value for s in Status])),
    st.tuples(st.just("contact"), st.integers(0, 20), st.sampled_from(("Initech", "Umbrella"))),
    st.tuples(st.just("delete"), st.integers(0, 20)),
)
EXPECTED = (IllegalTransitionError, ParticipantDeletedError, FieldValueError)


def run_and_compare(kind: str, operations: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, backend_settings(kind, Path(tmp)) as settings_:
        ledger = build_ledger(settings_)
        live: list[LedgerAggregate] = []
        keep_cache_fresh = ledger.committed

        def spy(aggregates: list[LedgerAggregate]) -> None:
            live.extend(aggregates)
            keep_cache_fresh(aggregates)

        ledger.committed = spy  # type: ignore[method-assign]
        world = World(ledger)
        account_id = world.account(sync={"company": "up_and_propagate", "job_title": "up"})
        events = [
            world.event(account_id, scope=scope, segment=segment)
            for scope, segment in (
                ("all", None),
                ("all", None),
                ("segment", {"field": "status", "op": "eq", "value": "attended"}),
            )
        ]
        people: list[tuple[Any, Any]] = []
        live.clear()
        for op in operations:
            with contextlib.suppress(*EXPECTED):
                _apply(world, account_id, events, people, op)
            for aggregate in live:
                assert ledger.repository.get(aggregate.id) == aggregate
            live.clear()
        ledger.close()


def _apply(
    world: World, account_id: Any, events: list[Any], people: list[Any], op: tuple[Any, ...]
) -> None:
    name = op[0]
    if name == "register":
        fields = {k: v for k, v in (("email", op[2]), ("company", op[3])) if v is not None}
        event_id = events[op[1]]
        people.append((event_id, world.register(account_id, event_id, **fields)))
        return
    if not people:
        return
    event_id, participant_id = people[op[1] % len(people)]
    if name == "edit":
        world.edit(
            account_id,
            event_id,
            participant_id,
            at=world.now - timedelta(seconds=op[1]),
            **{op[2]: op[3]},
        )
    elif name == "status":
        world.status(account_id, event_id, participant_id, op[2])
    elif name == "contact":
        contact = world.contact_of(account_id, participant_id)
        if contact is not None:
            world.edit_contact(account_id, contact.id, company=op[2])
    else:
        world.ledger.delete_participant(
            commands.DeleteParticipant(account_id, event_id, participant_id),
            world.tick(),
            world.meta,
        )


@settings(max_examples=80, deadline=None)
@given(st.lists(operation, max_size=25))
def test_replay_equals_live_in_memory(operations: list[tuple[Any, ...]]) -> None:
    run_and_compare("memory", operations)


@pytest.mark.parametrize("kind", ["sqlite"])
@settings(max_examples=15, deadline=None)
@given(operations=st.lists(operation, max_size=20))
def test_replay_equals_live_on_sqlite(kind: str, operations: list[tuple[Any, ...]]) -> None:
    run_and_compare(kind, operations)
