"""The base of every aggregate and event here: explicit time and provenance."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, TypeVar

from eventsourcing.domain import Aggregate

from domain.meta import Meta
from domain.personal_data import HasPersonalData

TEvent = TypeVar("TEvent", bound="LedgerAggregate.Event")


class LedgerAggregate(Aggregate):
    """An aggregate whose events carry `meta` and a timestamp given by the caller."""

    # Aggregates about a person are data subjects: each gets its own sealing key.
    holds_personal_data: ClassVar[bool] = False

    class Event(Aggregate.Event, HasPersonalData):
        meta: Meta

    class Created(Event, Aggregate.Created):
        pass

    def record(self, event_class: type[Any], at: datetime, meta: Meta, **attrs: Any) -> None:
        """Trigger `event_class` at time `at` (the domain never reads a clock)."""
        self.trigger_event(event_class, timestamp=at, meta=meta, **attrs)
