"""The audit trail (F14): one entry per event, with who, when, via what, and old → new.

Pure, like the grid: a batch names the subjects it needs (`needs`), a store loads their
`Subject` state, `apply` turns each (position, event) into an `AuditEntry` while keeping
the state current (the values an edit replaces, which contact a participant belongs to).

Personal data: the values in `changes` are the person's. When a contact or participant is
erased its state is blanked and the store blanks the values of its entries (`erased`);
rebuilt from the log after the keys are shredded, they come back blank anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from domain.accounts import Account
from domain.contacts import Contact
from domain.organiser_events import OrganiserEvent
from domain.participants import Participant

NAME = "audit"
VERSION = 2  # bump to rebuild this read model from the log (2: no unchanged values)
ERASED = "[erased]"
BASICS = ("originator_id", "originator_version", "timestamp", "meta")
VALUE_EVENTS = (
    Participant.Registered,
    Participant.FieldsChanged,
    Contact.Created,  # a contact derived from a participant starts with its values
    Contact.FieldsChanged,
)

SubjectKind = Literal["account", "event", "participant", "contact"]  # what an entry is about


@dataclass
class Subject:
    """What the audit remembers of one aggregate between its events."""

    subject_id: UUID
    kind: SubjectKind
    account_id: UUID | None = None
    contact_id: UUID | None = None
    organiser_event_id: UUID | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    erased: bool = False


@dataclass
class AuditEntry:
    position: int
    at: datetime
    account_id: UUID | None
    action: str  # e.g. "Contact.FieldsChanged"
    subject_kind: SubjectKind
    subject_id: UUID
    contact_id: UUID | None
    organiser_event_id: UUID | None
    changes: dict[str, list[Any]]  # field values: {field: [old, new]} (personal data)
    details: dict[str, Any]  # the event's other attributes (status, via, group id, ...)
    actor: str
    role: str
    origin: str
    correlation_id: str
    causation_id: str | None


KINDS: dict[type, SubjectKind] = {
    Account: "account",
    OrganiserEvent: "event",
    Participant: "participant",
    Contact: "contact",
}


def kind_of(event: Any) -> SubjectKind:
    for aggregate, kind in KINDS.items():
        if isinstance(event, aggregate.Event):  # type: ignore[attr-defined]
            return kind
    raise TypeError(f"not an event of the ledger: {event!r}")


def needs(events: Iterable[Any]) -> set[UUID]:
    return {event.originator_id for event in events}


def apply(position: int, event: Any, subjects: dict[UUID, Subject]) -> AuditEntry:
    """The entry for one event; `subjects` is updated (new subjects are added)."""
    kind = kind_of(event)
    subject = subjects.get(event.originator_id)
    if subject is None:
        subject = subjects[event.originator_id] = Subject(event.originator_id, kind)
    _follow(event, subject)
    changes = _changes(event, subject)
    hidden = {*BASICS, "fields", *event.personal_fields}  # personal values only in `changes`
    details = {k: _plain(v) for k, v in vars(event).items() if k not in hidden}
    _remember(event, subject)
    meta = event.meta
    return AuditEntry(
        position=position,
        at=event.timestamp,
        account_id=subject.account_id,
        action=type(event).__qualname__,
        subject_kind=kind,
        subject_id=subject.subject_id,
        contact_id=subject.subject_id if kind == "contact" else subject.contact_id,
        organiser_event_id=subject.organiser_event_id,
        changes=changes,
        details=details,
        actor=meta.actor,
        role=meta.role,
        origin=meta.origin,
        correlation_id=meta.correlation_id,
        causation_id=meta.causation_id,
    )


def _follow(event: Any, subject: Subject) -> None:
    """Who the subject belongs to, as of this event."""
    if isinstance(event, Account.Event):
        subject.account_id = event.originator_id
    elif getattr(event, "account_id", None) is not None:
        subject.account_id = event.account_id
    if isinstance(event, OrganiserEvent.Event):
        subject.organiser_event_id = event.originator_id
    if isinstance(event, Participant.Registered):
        subject.organiser_event_id = event.organiser_event_id
    if isinstance(event, Participant.Registered | Participant.Linked):
        subject.contact_id = event.contact_id


def _changes(event: Any, subject: Subject) -> dict[str, list[Any]]:
    """Old and new of each value that changed. A contact's edit also carries the values it
    confirms unchanged (their newer edit time decides later conflicts): not changes. A
    superseded edit changed nothing: each value it asked for, then the one that stands."""
    if isinstance(event, Contact.EditSuperseded):
        asked = sorted(event.fields.items())
        return {n: [_plain(v), _plain(subject.fields.get(n))] for n, v in asked}
    if not isinstance(event, VALUE_EVENTS):
        return {}
    pairs = (
        (name, _plain(subject.fields.get(name)), _plain(value))
        for name, value in sorted((event.fields or {}).items())
    )
    return {name: [old, new] for name, old, new in pairs if old != new}


def _remember(event: Any, subject: Subject) -> None:
    if isinstance(event, VALUE_EVENTS):
        subject.fields.update(event.fields or {})
    if isinstance(event, Participant.Unlinked):
        subject.contact_id = None
    if isinstance(event, Contact.Erased | Participant.Erased):
        subject.fields, subject.erased = {}, True


def _plain(value: Any) -> Any:
    """JSON-able: ids and times as strings, containers recursively."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def erased_subjects(events: Iterable[Any]) -> set[UUID]:
    """Subjects erased in a batch: the store blanks the values of all their entries."""
    return {e.originator_id for e in events if isinstance(e, Contact.Erased | Participant.Erased)}


def blank(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """An erased subject's changes: field names stay (what changed), values go."""
    return {name: [ERASED, ERASED] for name in changes}
