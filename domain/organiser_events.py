"""The events people attend (event or community): details, local fields, sync (F4)."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Any, Final
from uuid import UUID, uuid4

from domain.aggregate import LedgerAggregate
from domain.fields import FieldCatalogue, FieldDefinition
from domain.meta import Meta
from domain.segments import Segment, SegmentError, about_people, parse_segment


class EventKind(StrEnum):
    EVENT = "event"
    COMMUNITY = "community"


class SyncScope(StrEnum):
    ALL = "all"
    SEGMENT = "segment"


class Keep(Enum):
    """The value of an attribute a change does not name: it keeps its value."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP
DETAILS = ("name", "starts_on", "series", "several_bookings")  # what an edit may change


class OrganiserEventError(ValueError):
    """Raised when an organiser event's definition or sync activation is not valid."""


class LocalFieldClashError(Exception):
    """Raised when an event-local field would shadow an account or identity field."""

    def __init__(self, name: str) -> None:
        super().__init__(f"field {name!r} already exists at account level or in this event")
        self.name = name


class OrganiserEvent(LedgerAggregate):
    def __init__(self) -> None:
        self.account_id: UUID | None = None
        self.name = ""
        self.kind = EventKind.EVENT
        self.starts_on: date | None = None
        self.series_name: str | None = None  # as given; `series` is what reports group by
        self.local_fields: dict[str, FieldDefinition] = {}
        self.sync_enabled = False
        self.sync_scope = SyncScope.ALL
        self.sync_segment: Segment | None = None
        self.sync_activated_at: datetime | None = None
        self.several_bookings = False  # may a person be registered more than once?

    @classmethod
    def create(
        cls,
        account_id: UUID,
        name: str,
        kind: str,
        starts_on: date | None,
        at: datetime,
        meta: Meta,
        series: str | None = None,
        several_bookings: bool = False,
    ) -> OrganiserEvent:
        details = checked_details(name, starts_on, series, several_bookings)
        try:
            event_kind = EventKind(kind)
        except ValueError:
            raise OrganiserEventError("kind must be 'event' or 'community'") from None
        return cls._create(
            cls.Created,
            id=uuid4(),
            timestamp=at,
            meta=meta,
            account_id=account_id,
            kind=event_kind.value,
            **details,
        )

    def change_details(
        self,
        at: datetime,
        meta: Meta,
        *,
        name: str | Keep = KEEP,
        starts_on: date | Keep | None = KEEP,
        series: str | Keep | None = KEEP,
        several_bookings: bool | Keep = KEEP,
    ) -> None:
        """Change the attributes given (the kind stays); those that differ are recorded."""
        wanted = checked_details(
            self.name if name is KEEP else name,
            self.starts_on if starts_on is KEEP else starts_on,
            self.series_name if series is KEEP else series,
            self.several_bookings if several_bookings is KEEP else several_bookings,
        )
        standing = self.details()
        changes = {k: v for k, v in wanted.items() if v != standing[k]}
        if changes:
            self.record(self.DetailsChanged, at, meta, changes=changes)

    def details(self) -> dict[str, Any]:
        """The editable attributes as events store them (dates as ISO text)."""
        return {
            "name": self.name,
            "starts_on": self.starts_on.isoformat() if self.starts_on else None,
            "series": self.series_name,
            "several_bookings": self.several_bookings,
        }

    def _take(self, details: dict[str, Any]) -> None:
        if "name" in details:
            self.name = details["name"]
        if "starts_on" in details:
            given = details["starts_on"]
            self.starts_on = date.fromisoformat(given) if given else None
        if "series" in details:
            self.series_name = details["series"]
        if "several_bookings" in details:
            self.several_bookings = details["several_bookings"]

    @property
    def series(self) -> str:
        """The editions of one event share a series: as given, or the name without years."""
        return self.series_name or series_of(self.name)

    def catalogue(self, account_catalogue: FieldCatalogue) -> FieldCatalogue:
        """What a participant of this event can hold: account catalogue plus local fields."""
        return account_catalogue.extended(self.local_fields)

    def define_local_field(
        self,
        definition: FieldDefinition,
        account_catalogue: FieldCatalogue,
        at: datetime,
        meta: Meta,
    ) -> None:
        if self.local_fields.get(definition.name) == definition:
            return
        if definition.name in account_catalogue or definition.name in self.local_fields:
            raise LocalFieldClashError(definition.name)
        self.record(self.LocalFieldDefined, at, meta, definition=definition.as_dict())

    def change_sync(
        self, enabled: bool, scope: str, segment: Any, at: datetime, meta: Meta
    ) -> None:
        try:
            sync_scope = SyncScope(scope)
        except ValueError:
            raise OrganiserEventError("scope must be 'all' or 'segment'") from None
        parsed = self._checked_segment(sync_scope, segment)
        as_json = parsed.as_json() if parsed else None
        current = self.sync_segment.as_json() if self.sync_segment else None
        if (enabled, sync_scope, as_json) == (self.sync_enabled, self.sync_scope, current):
            return
        self.record(
            self.SyncChanged, at, meta, enabled=enabled, scope=sync_scope.value, segment=as_json
        )

    def admits(self, record: dict[str, Any]) -> bool:
        """Whether sync is on and a participant with this record falls in its scope."""
        if not self.sync_enabled:
            return False
        return self.sync_segment is None or self.sync_segment.matches(record)

    @staticmethod
    def _checked_segment(scope: SyncScope, segment: Any) -> Segment | None:
        if scope is SyncScope.ALL:
            if segment is not None:
                raise OrganiserEventError("a segment is only given with scope 'segment'")
            return None
        if segment is None:
            raise OrganiserEventError("scope 'segment' needs a segment")
        try:
            parsed = parse_segment(segment)
        except SegmentError as error:
            raise OrganiserEventError(f"segment: {error}") from None
        if about_people(parsed):
            raise OrganiserEventError(
                "segment: 'participated', 'group', 'consent' and 'locked' filter grids, "
                "not sync scopes (a sync scope sees the participant's own fields)"
            )
        return parsed

    class Created(LedgerAggregate.Created):
        account_id: UUID
        name: str
        kind: str
        starts_on: str | None
        series: str | None = None  # events stored before series existed have none
        several_bookings: bool = False  # events stored before it: one booking per person

        def apply(self, event: OrganiserEvent) -> None:
            event.account_id = self.account_id
            event.kind = EventKind(self.kind)
            event._take({name: getattr(self, name) for name in DETAILS})

    class DetailsChanged(LedgerAggregate.Event):
        changes: dict[str, Any]  # only the attributes that changed, as `Created` stores them

        def apply(self, event: OrganiserEvent) -> None:
            event._take(self.changes)

    class LocalFieldDefined(LedgerAggregate.Event):
        definition: dict[str, Any]

        def apply(self, event: OrganiserEvent) -> None:
            definition = FieldDefinition.from_dict(self.definition)
            event.local_fields[definition.name] = definition

    class SyncChanged(LedgerAggregate.Event):
        enabled: bool
        scope: str
        segment: dict[str, Any] | None

        def apply(self, event: OrganiserEvent) -> None:
            was_enabled = event.sync_enabled
            event.sync_enabled = self.enabled
            event.sync_scope = SyncScope(self.scope)
            event.sync_segment = parse_segment(self.segment) if self.segment else None
            if self.enabled and not was_enabled:
                event.sync_activated_at = self.timestamp


def checked_details(
    name: str, starts_on: date | None, series: str | None, several_bookings: bool
) -> dict[str, Any]:
    """An event's editable attributes as events store them, checked: the one validator of
    `create` and `change_details` (names 1 to 200 characters, spaces tidied)."""
    if not name.strip() or len(name) > 200:
        raise OrganiserEventError("an event name is 1 to 200 characters")
    if series is not None and (not series.strip() or len(series) > 200):
        raise OrganiserEventError("a series name is 1 to 200 characters")
    return {
        "name": name.strip(),
        "starts_on": starts_on.isoformat() if starts_on else None,
        "series": " ".join(series.split()) if series else None,
        "several_bookings": several_bookings,
    }


YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")


def series_of(name: str) -> str:
    """The series an event name implies: "Salon Expo 2025" and "Salon Expo 2024" are
    editions of "Salon Expo" (years 1900-2099 removed, spaces and dashes tidied)."""
    stripped = " ".join(YEAR.sub(" ", name).split()).strip(" -–—/|,.")
    return stripped or name.strip()
