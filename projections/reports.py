"""The analysts' projection (F21): anonymous facts that multi-event reports count.

One fact per organiser event (its series and edition, which follow its edits), per
participant (its event, its contact, when it first registered, when it attended) and per
contact (when it was created, merged away, erased). No field value is ever read: the
projector decodes these events without opening their sealed personal data, so the facts
hold nothing personal and stay after an erasure, and the reports still add up (F12).

Pure, like the grid: a batch names the facts it needs, the store loads them, `apply`
folds the events into them and the store writes back the touched ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from domain.contacts import Contact
from domain.organiser_events import OrganiserEvent, series_of
from domain.participants import Participant, Status

NAME = "reports"
VERSION = 2  # bump to rebuild this read model from the log (2: events remember what
# their series and edition come from, so an edit recomputes them: decision 0055)
REGISTERED = frozenset({Status.REGISTERED.value, Status.ATTENDED.value})


@dataclass
class EventFact:
    event_id: UUID
    account_id: UUID
    name: str
    kind: str
    series: str  # as given, or the name without its years
    edition: int  # the year it starts (or was created, without a start date)
    given_series: str | None = None
    created_in: int = 0  # the year it was created
    starts_on: date | None = None

    def follow(self) -> None:
        """Series and edition again, from the name, series and dates it now has."""
        self.series = self.given_series or series_of(self.name)
        self.edition = self.starts_on.year if self.starts_on else self.created_in


@dataclass
class ParticipationFact:
    participant_id: UUID
    account_id: UUID
    event_id: UUID
    created_on: date
    status: str
    contact_id: UUID | None = None
    registered_on: date | None = None  # the first time it was registered (or attended)
    attended_on: date | None = None  # its check-in, while it stands


@dataclass
class ContactFact:
    contact_id: UUID
    account_id: UUID
    created_on: date
    merged_on: date | None = None
    erased_on: date | None = None


@dataclass
class Needs:
    events: set[UUID] = field(default_factory=set)
    participants: set[UUID] = field(default_factory=set)
    contacts: set[UUID] = field(default_factory=set)


@dataclass
class Facts:
    """The facts one batch works on; `touched` ones are written back."""

    events: dict[UUID, EventFact] = field(default_factory=dict)
    participants: dict[UUID, ParticipationFact] = field(default_factory=dict)
    contacts: dict[UUID, ContactFact] = field(default_factory=dict)
    touched: set[tuple[str, UUID]] = field(default_factory=set)


class ReportProjectionError(Exception):
    """Raised when an event needs a fact that does not exist (fail-stop)."""


def _topic(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


TOPICS = frozenset(
    _topic(cls)
    for cls in (
        OrganiserEvent.Created,
        OrganiserEvent.DetailsChanged,
        Participant.Registered,
        Participant.StatusChanged,
        Participant.Linked,
        Participant.Unlinked,
        Contact.Created,
        Contact.Merged,
        Contact.Erased,
    )
)


def needs(events: Iterable[Any]) -> Needs:
    """The existing facts a batch of events changes (new ones it creates itself)."""
    wanted = Needs()
    for event in events:
        kind = type(event)
        if kind is OrganiserEvent.DetailsChanged:
            wanted.events.add(event.originator_id)
        elif kind in CHANGES_PARTICIPANT:
            wanted.participants.add(event.originator_id)
        elif kind in CHANGES_CONTACT:
            wanted.contacts.add(event.originator_id)
    return wanted


def apply(facts: Facts, event: Any) -> None:
    handler = HANDLERS.get(type(event))
    if handler is not None:
        handler(facts, event)


def _event_created(facts: Facts, event: OrganiserEvent.Created) -> None:
    fact = facts.events[event.originator_id] = EventFact(
        event.originator_id,
        event.account_id,
        event.name,
        event.kind,
        series="",
        edition=0,
        given_series=event.series,
        created_in=event.timestamp.year,
        starts_on=_day(event.starts_on),
    )
    fact.follow()
    facts.touched.add(("event", event.originator_id))


def _event_changed(facts: Facts, event: OrganiserEvent.DetailsChanged) -> None:
    fact = facts.events.get(event.originator_id)
    if fact is None:
        raise ReportProjectionError(f"event {event.originator_id} is not known")
    changes = event.changes
    fact.name = changes.get("name", fact.name)
    fact.given_series = changes.get("series", fact.given_series)
    if "starts_on" in changes:
        fact.starts_on = _day(changes["starts_on"])
    fact.follow()
    facts.touched.add(("event", event.originator_id))


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _registered(facts: Facts, event: Participant.Registered) -> None:
    on = event.timestamp.date()
    facts.participants[event.originator_id] = ParticipationFact(
        event.originator_id,
        event.account_id,
        event.organiser_event_id,
        created_on=on,
        status=event.status,
        registered_on=on if event.status in REGISTERED else None,
        attended_on=on if event.status == Status.ATTENDED.value else None,
        contact_id=event.contact_id,
    )
    facts.touched.add(("participant", event.originator_id))


def _status_changed(facts: Facts, event: Participant.StatusChanged) -> None:
    fact = _participant(facts, event)
    on = event.timestamp.date()
    fact.status = event.status
    if event.status in REGISTERED and fact.registered_on is None:
        fact.registered_on = on
    fact.attended_on = on if event.status == Status.ATTENDED.value else None


def _linked(facts: Facts, event: Participant.Linked) -> None:
    _participant(facts, event).contact_id = event.contact_id


def _unlinked(facts: Facts, event: Participant.Unlinked) -> None:
    _participant(facts, event).contact_id = None


def _contact_created(facts: Facts, event: Contact.Created) -> None:
    facts.contacts[event.originator_id] = ContactFact(
        event.originator_id, event.account_id, event.timestamp.date()
    )
    facts.touched.add(("contact", event.originator_id))


def _merged(facts: Facts, event: Contact.Merged) -> None:
    _contact(facts, event).merged_on = event.timestamp.date()


def _erased(facts: Facts, event: Contact.Erased) -> None:
    _contact(facts, event).erased_on = event.timestamp.date()


def _participant(facts: Facts, event: Any) -> ParticipationFact:
    fact = facts.participants.get(event.originator_id)
    if fact is None:
        raise ReportProjectionError(f"participant {event.originator_id} is not known")
    facts.touched.add(("participant", event.originator_id))
    return fact


def _contact(facts: Facts, event: Any) -> ContactFact:
    fact = facts.contacts.get(event.originator_id)
    if fact is None:
        raise ReportProjectionError(f"contact {event.originator_id} is not known")
    facts.touched.add(("contact", event.originator_id))
    return fact


HANDLERS: dict[type, Any] = {
    OrganiserEvent.Created: _event_created,
    OrganiserEvent.DetailsChanged: _event_changed,
    Participant.Registered: _registered,
    Participant.StatusChanged: _status_changed,
    Participant.Linked: _linked,
    Participant.Unlinked: _unlinked,
    Contact.Created: _contact_created,
    Contact.Merged: _merged,
    Contact.Erased: _erased,
}
assert {_topic(cls) for cls in HANDLERS} == TOPICS
CHANGES_PARTICIPANT = frozenset(
    {Participant.StatusChanged, Participant.Linked, Participant.Unlinked}
)
CHANGES_CONTACT = frozenset({Contact.Merged, Contact.Erased})
