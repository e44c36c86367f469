"""The base of every aggregate and event here: explicit time and provenance."""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import resolve_topic

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
        def mutate(self, aggregate: Any) -> Any:
            """The library's, less its matching of the event's attributes against the
            aggregate's `__init__` parameters on every event (a fifth of making an
            aggregate): here `__init__` takes none, as `__init_subclass__` checks."""
            assert aggregate is None
            cls = resolve_topic(self.originator_topic)
            made = cls.__new__(cls)
            made.__base_init__(self.originator_id, self.originator_version, self.timestamp)
            made.__init__()
            self.apply(made)
            return made

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if list(inspect.signature(cls.__init__).parameters) != ["self"]:
            raise TypeError(f"{cls.__name__}.__init__ must take no arguments: events set state")

    def record(self, event_class: type[Any], at: datetime, meta: Meta, **attrs: Any) -> None:
        """Trigger `event_class` at time `at` (the domain never reads a clock)."""
        self.trigger_event(event_class, timestamp=at, meta=meta, **attrs)


class AggregatePart:
    """A part of an aggregate's commands kept in a module of its own, inherited by the
    aggregate (domain/contact_*.py): what every such part uses of `LedgerAggregate`, for
    the type checker. Its events stay nested in the aggregate, whose topics are stored."""

    if TYPE_CHECKING:

        @property
        def id(self) -> UUID: ...

        def record(
            self, event_class: type[Any], at: datetime, meta: Meta, **attrs: Any
        ) -> None: ...
