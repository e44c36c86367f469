"""The grid projection (F15, F16): contact, participant and event rows built from events.

Pure: a batch of events names the rows it needs (`Needs`), a store loads them into a
`Rows` set, `apply` folds each event into those rows in memory, and the store writes the
touched rows back. The SQL view and the in-memory oracle share this logic exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from domain.contacts import Contact
from domain.organiser_events import OrganiserEvent
from domain.participants import Participant

NAME = "grid"
R = TypeVar("R", "ParticipantRow", "ContactRow")
VERSION = 5  # bump to rebuild this read model from the log (see docs/decisions)


@dataclass
class EventRow:
    event_id: UUID
    account_id: UUID
    name: str
    kind: str
    starts_on: str | None


@dataclass
class ParticipantRow:
    participant_id: UUID
    account_id: UUID
    event_id: UUID
    status: str
    source: str
    fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    contact_id: UUID | None = None
    deleted: bool = False
    deleted_with: UUID | None = None  # deleted by its contact's deletion
    restore_until: datetime | None = None
    erased: bool = False


@dataclass
class ContactRow:
    contact_id: UUID
    account_id: UUID
    created_at: datetime
    updated_at: datetime
    fields: dict[str, Any] = field(default_factory=dict)
    # participant id (hex) -> [organiser event id (hex), kind]
    memberships: dict[str, list[str]] = field(default_factory=dict)
    processing_status: str = "new"
    groups: list[str] = field(default_factory=list)  # group ids (hex), sorted
    forms: list[str] = field(default_factory=list)  # kinds of site forms sent, sorted
    consent_at: datetime | None = None
    consent_source: str | None = None
    site_confirmed: bool = False
    locked_until: datetime | None = None
    failed_attempts: int = 0
    deleted: bool = False
    restore_until: datetime | None = None
    erased: bool = False

    @property
    def event_ids(self) -> set[str]:
        return {event_id for event_id, _ in self.memberships.values()}

    @property
    def n_events(self) -> int:
        return len(self.event_ids)

    @property
    def n_communities(self) -> int:
        return len({e for e, kind in self.memberships.values() if kind == "community"})


@dataclass
class Needs:
    events: set[UUID] = field(default_factory=set)
    participants: set[UUID] = field(default_factory=set)
    contacts: set[UUID] = field(default_factory=set)


@dataclass
class Rows:
    """The rows one batch works on; `touched` ones are written back."""

    events: dict[UUID, EventRow] = field(default_factory=dict)
    participants: dict[UUID, ParticipantRow] = field(default_factory=dict)
    contacts: dict[UUID, ContactRow] = field(default_factory=dict)
    touched: set[tuple[str, UUID]] = field(default_factory=set)

    def touch(self, kind: str, row_id: UUID) -> None:
        self.touched.add((kind, row_id))


class ProjectionError(Exception):
    """Raised when an event cannot be applied (a row it needs is missing): fail-stop."""


TOPICS = tuple(
    f"{cls.__module__}:{cls.__qualname__}"
    for cls in (
        OrganiserEvent.Created,
        OrganiserEvent.DetailsChanged,
        Participant.Registered,
        Participant.FieldsChanged,
        Participant.StatusChanged,
        Participant.Deleted,
        Participant.Linked,
        Participant.Unlinked,
        Contact.Created,
        Contact.FieldsChanged,
        Contact.ParticipantLinked,
        Contact.ParticipantUnlinked,
        Contact.ProcessingStatusSet,
        Contact.AddedToGroup,
        Contact.RemovedFromGroup,
        Contact.ConsentGiven,
        Contact.ConsentWithdrawn,
        Contact.SiteAccountChanged,
        Contact.FormSubmitted,
        Contact.Deleted,
        Contact.Restored,
        Contact.Erased,
        Participant.Restored,
        Participant.Erased,
        Contact.Merged,
        Contact.Absorbed,
    )
)


def needs(events: Iterable[Any]) -> Needs:
    """The rows a batch of events reads or writes."""
    wanted = Needs()
    for event in events:
        if isinstance(event, OrganiserEvent.Created | OrganiserEvent.DetailsChanged):
            wanted.events.add(event.originator_id)
        elif isinstance(event, Participant.Event):
            wanted.participants.add(event.originator_id)
        elif isinstance(event, Contact.Event):
            wanted.contacts.add(event.originator_id)
            linked_in = getattr(event, "organiser_event_id", None)  # linked, or born linked
            if linked_in is not None:
                wanted.events.add(linked_in)
    return wanted


def apply(event: Any, rows: Rows) -> None:
    """Fold one event into the rows (events of other types change nothing)."""
    handler = HANDLERS.get(type(event))
    if handler is not None:
        handler(event, rows)


def _event_created(event: OrganiserEvent.Created, rows: Rows) -> None:
    rows.events[event.originator_id] = EventRow(
        event.originator_id, event.account_id, event.name, event.kind, event.starts_on
    )
    rows.touch("event", event.originator_id)


def _event_changed(event: OrganiserEvent.DetailsChanged, rows: Rows) -> None:
    row = rows.events.get(event.originator_id)
    if row is None:
        raise ProjectionError(f"event {event.originator_id} has no row for {event!r}")
    row.name = event.changes.get("name", row.name)
    row.starts_on = event.changes.get("starts_on", row.starts_on)
    rows.touch("event", event.originator_id)


def _registered(event: Participant.Registered, rows: Rows) -> None:
    rows.participants[event.originator_id] = ParticipantRow(
        participant_id=event.originator_id,
        account_id=event.account_id,
        event_id=event.organiser_event_id,
        status=event.status,
        source=event.source,
        fields=dict(event.fields),
        created_at=event.timestamp,
        updated_at=event.timestamp,
        contact_id=event.contact_id,
    )
    rows.touch("participant", event.originator_id)


def _participant(event: Participant.Event, rows: Rows) -> ParticipantRow:
    return _existing(rows.participants, "participant", event, rows)


def _participant_fields(event: Participant.FieldsChanged, rows: Rows) -> None:
    _participant(event, rows).fields.update(event.fields)


def _participant_status(event: Participant.StatusChanged, rows: Rows) -> None:
    _participant(event, rows).status = event.status


def _participant_deleted(event: Participant.Deleted, rows: Rows) -> None:
    row = _participant(event, rows)
    row.deleted, row.deleted_with, row.restore_until = True, event.with_contact, event.restore_until


def _participant_restored(event: Participant.Restored, rows: Rows) -> None:
    row = _participant(event, rows)
    row.deleted, row.deleted_with, row.restore_until = False, None, None


def _participant_erased(event: Participant.Erased, rows: Rows) -> None:
    row = _participant(event, rows)
    row.deleted, row.erased, row.fields = True, True, {}


def _participant_linked(event: Participant.Linked, rows: Rows) -> None:
    _participant(event, rows).contact_id = event.contact_id


def _participant_unlinked(event: Participant.Unlinked, rows: Rows) -> None:
    _participant(event, rows).contact_id = None


def _contact_created(event: Contact.Created, rows: Rows) -> None:
    row = rows.contacts[event.originator_id] = ContactRow(
        event.originator_id, event.account_id, event.timestamp, event.timestamp
    )
    row.fields.update(event.fields or {})
    if event.participant_id is not None:
        row.memberships[event.participant_id.hex] = _membership(event, rows)
    rows.touch("contact", event.originator_id)


def _contact(event: Contact.Event, rows: Rows) -> ContactRow:
    return _existing(rows.contacts, "contact", event, rows)


def _existing(table: dict[UUID, R], kind: str, event: Any, rows: Rows) -> R:
    """The row an event updates, marked touched and updated; missing is fail-stop."""
    row = table.get(event.originator_id)
    if row is None:
        raise ProjectionError(f"{kind} {event.originator_id} has no row for {event!r}")
    row.updated_at = event.timestamp
    rows.touch(kind, event.originator_id)
    return row


def _contact_fields(event: Contact.FieldsChanged, rows: Rows) -> None:
    _contact(event, rows).fields.update(event.fields)


def _contact_linked(event: Contact.ParticipantLinked, rows: Rows) -> None:
    membership = _membership(event, rows)
    _contact(event, rows).memberships[event.participant_id.hex] = membership


def _membership(event: Contact.ParticipantLinked | Contact.Created, rows: Rows) -> list[str]:
    """A contact's membership of the linked participant's event: its id and its kind."""
    organiser_event = rows.events.get(event.organiser_event_id)  # type: ignore[arg-type]
    if organiser_event is None:
        raise ProjectionError(f"event {event.organiser_event_id} has no row for {event!r}")
    return [organiser_event.event_id.hex, organiser_event.kind]


def _contact_unlinked(event: Contact.ParticipantUnlinked, rows: Rows) -> None:
    _contact(event, rows).memberships.pop(event.participant_id.hex, None)


def _processing_status(event: Contact.ProcessingStatusSet, rows: Rows) -> None:
    _contact(event, rows).processing_status = event.status


def _added_to_group(event: Contact.AddedToGroup, rows: Rows) -> None:
    row = _contact(event, rows)
    row.groups = sorted({*row.groups, event.group_id.hex})


def _removed_from_group(event: Contact.RemovedFromGroup, rows: Rows) -> None:
    row = _contact(event, rows)
    row.groups = [g for g in row.groups if g != event.group_id.hex]


def _consent_given(event: Contact.ConsentGiven, rows: Rows) -> None:
    row = _contact(event, rows)
    row.consent_at, row.consent_source = event.given_at, event.source


def _consent_withdrawn(event: Contact.ConsentWithdrawn, rows: Rows) -> None:
    row = _contact(event, rows)
    row.consent_at, row.consent_source = None, None


def _site_account(event: Contact.SiteAccountChanged, rows: Rows) -> None:
    row = _contact(event, rows)
    row.site_confirmed = event.confirmed
    row.locked_until = event.locked_until
    row.failed_attempts = event.failed_attempts


def _form_submitted(event: Contact.FormSubmitted, rows: Rows) -> None:
    row = _contact(event, rows)
    row.forms = sorted({*row.forms, event.form})


def _contact_deleted(event: Contact.Deleted, rows: Rows) -> None:
    row = _contact(event, rows)
    row.deleted, row.restore_until = True, event.restore_until


def _contact_restored(event: Contact.Restored, rows: Rows) -> None:
    row = _contact(event, rows)
    row.deleted, row.restore_until = False, None


def _contact_erased(event: Contact.Erased, rows: Rows) -> None:
    row = _contact(event, rows)
    row.deleted, row.erased, row.fields = True, True, {}


def _contact_merged(event: Contact.Merged, rows: Rows) -> None:
    """A merged tombstone is hidden like a deleted contact, and never due for the purge."""
    row = _contact(event, rows)
    row.deleted, row.restore_until = True, None


def _contact_absorbed(event: Contact.Absorbed, rows: Rows) -> None:
    _contact(event, rows)  # the merge's other facts (links, groups, values) have their own


HANDLERS: dict[type, Any] = {
    OrganiserEvent.Created: _event_created,
    OrganiserEvent.DetailsChanged: _event_changed,
    Participant.Registered: _registered,
    Participant.FieldsChanged: _participant_fields,
    Participant.StatusChanged: _participant_status,
    Participant.Deleted: _participant_deleted,
    Participant.Linked: _participant_linked,
    Participant.Unlinked: _participant_unlinked,
    Contact.Created: _contact_created,
    Contact.FieldsChanged: _contact_fields,
    Contact.ParticipantLinked: _contact_linked,
    Contact.ParticipantUnlinked: _contact_unlinked,
    Contact.ProcessingStatusSet: _processing_status,
    Contact.AddedToGroup: _added_to_group,
    Contact.RemovedFromGroup: _removed_from_group,
    Contact.ConsentGiven: _consent_given,
    Contact.ConsentWithdrawn: _consent_withdrawn,
    Contact.SiteAccountChanged: _site_account,
    Contact.FormSubmitted: _form_submitted,
    Contact.Deleted: _contact_deleted,
    Contact.Restored: _contact_restored,
    Contact.Erased: _contact_erased,
    Participant.Restored: _participant_restored,
    Participant.Erased: _participant_erased,
    Contact.Merged: _contact_merged,
    Contact.Absorbed: _contact_absorbed,
}
