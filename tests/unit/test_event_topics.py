"""Every event class of the aggregates keeps the topic the catalogue lists (docs/events.md).

Stored events are read back by topic forever: an event class whose module or class changes
(a split) would leave them unreadable. This fails first, and also when an event leaves its
aggregate's body for a mixin, where its topic would rest on the library redefining it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from eventsourcing.utils import get_topic, resolve_topic

from domain.accounts import Account
from domain.aggregate import LedgerAggregate
from domain.contacts import Contact
from domain.organiser_events import OrganiserEvent
from domain.participants import Participant

CATALOGUE = Path(__file__).parents[2] / "docs" / "events.md"
AGGREGATES = [Account, OrganiserEvent, Participant, Contact]
# Where the bases every aggregate's events derive from are defined.
LIBRARY_MODULES = {"eventsourcing.domain", LedgerAggregate.__module__}
# A catalogue row: | `Contact.Merged` | `domain.contacts:Contact.Merged` | …
ROW = re.compile(r"^\| `(\w+\.\w+)` \| `([\w.]+:[\w.]+)` \|", re.MULTILINE)


def catalogued() -> dict[str, str]:
    """Event name -> topic, from the catalogue's topic column."""
    return dict(ROW.findall(CATALOGUE.read_text(encoding="utf-8")))


def event_classes(aggregate: type[LedgerAggregate]) -> dict[str, type]:
    """The events reachable as `aggregate.<Name>`, inherited ones included. Each defines
    `apply` (even one that changes nothing); the bases the library gives every aggregate
    (`Event`, and `Created` beside an `Opened` or `Registered`) do not, and are never stored."""
    members = {name: getattr(aggregate, name) for name in dir(aggregate)}
    return {
        f"{aggregate.__name__}.{name}": value
        for name, value in members.items()
        if isinstance(value, type)
        and issubclass(value, LedgerAggregate.Event)
        and value.apply is not LedgerAggregate.Event.apply
    }


@pytest.mark.parametrize("aggregate", AGGREGATES, ids=lambda a: a.__name__)
def test_every_event_has_the_topic_the_catalogue_lists(aggregate: type[LedgerAggregate]) -> None:
    listed = {n: t for n, t in catalogued().items() if n.startswith(f"{aggregate.__name__}.")}
    topics = {name: get_topic(cls) for name, cls in event_classes(aggregate).items()}
    assert topics == listed


@pytest.mark.parametrize("aggregate", AGGREGATES, ids=lambda a: a.__name__)
def test_a_stored_topic_resolves_to_its_event_class(aggregate: type[LedgerAggregate]) -> None:
    for name, cls in event_classes(aggregate).items():
        assert resolve_topic(catalogued()[name]) is cls, name


@pytest.mark.parametrize("aggregate", AGGREGATES, ids=lambda a: a.__name__)
def test_every_event_is_defined_in_its_aggregates_body(aggregate: type[LedgerAggregate]) -> None:
    """Not only given the topic: the library redefines an event a mixin holds under the
    aggregate's name, but then the topic rests on that, and the code is not where it says."""
    for name, cls in event_classes(aggregate).items():
        own = {
            f"{c.__module__}:{c.__qualname__}"
            for c in cls.__mro__
            if c.__name__ == cls.__name__ and c.__module__ not in LIBRARY_MODULES
        }
        assert own == {get_topic(cls)}, name


def test_the_catalogue_lists_the_contacts_and_accounts_events() -> None:
    names = catalogued()
    assert len([n for n in names if n.startswith("Contact.")]) == 20
    assert len([n for n in names if n.startswith("Account.")]) == 8
