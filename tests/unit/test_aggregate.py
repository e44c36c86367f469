"""The ledger's aggregates are made from their first event as the library makes them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.domain import CanInitAggregate

from domain.accounts import Account
from domain.aggregate import LedgerAggregate
from domain.contacts import Contact
from domain.meta import Meta
from domain.organiser_events import OrganiserEvent
from domain.participants import Participant

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
META = Meta("tester", "admin", "api", "c-1")


def made() -> list[LedgerAggregate]:
    account = Account.open("Salon", AT, META)
    event = OrganiserEvent.create(account.id, "Salon 2026", "event", date(2026, 5, 4), AT, META)
    fields = {"email": "ada@example.org", "first_name": "Ada"}
    participant = Participant.register(
        account.id, event.id, fields, "registered", "import", AT, META, "registration",
        contact_id=uuid4(),
    )  # fmt: skip
    contact = Contact.create(
        account.id, AT, META, fields, {"participant_id": str(participant.id)},
        (participant.id, event.id),
    )  # fmt: skip
    return [account, event, participant, contact]


def state(aggregate: Any) -> dict[str, Any]:
    return {name: value for name, value in vars(aggregate).items() if name != "_pending_events"}


@pytest.mark.parametrize("aggregate", made(), ids=lambda a: type(a).__name__)
def test_an_aggregate_is_made_as_the_library_makes_it(aggregate: LedgerAggregate) -> None:
    [created] = aggregate.pending_events
    ours, theirs = created.mutate(None), CanInitAggregate.mutate(created, None)  # type: ignore[arg-type]
    assert type(ours) is type(theirs) is type(aggregate)
    assert state(ours) == state(theirs) == state(aggregate)
    assert ours.pending_events == []


def test_an_aggregate_whose_init_takes_arguments_is_refused() -> None:
    with pytest.raises(TypeError, match="must take no arguments"):

        class Named(LedgerAggregate):
            def __init__(self, name: str) -> None:
                self.name = name
