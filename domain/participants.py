"""A participant: one person in one organiser event (F7), with per-field edit times."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

from domain.aggregate import LedgerAggregate
from domain.meta import Meta

E = TypeVar("E", bound=StrEnum)


class Status(StrEnum):
    OPEN = "open"
    ACCESSED = "accessed"
    REGISTERED = "registered"
    WAITING_LIST = "waiting_list"
    UNREGISTERED = "unregistered"
    ATTENDED = "attended"


class Source(StrEnum):
    FORM = "form"
    IMPORT = "import"
    API = "api"
    MANUAL = "manual"


# Oniva's statuses: "attended" needs a valid registration (a check-in of a registered
# person); undoing a check-in goes back to "registered".
TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.OPEN: frozenset(
        {Status.ACCESSED, Status.REGISTERED, Status.WAITING_LIST, Status.UNREGISTERED}
    ),
    Status.ACCESSED: frozenset({Status.REGISTERED, Status.WAITING_LIST, Status.UNREGISTERED}),
    Status.REGISTERED: frozenset({Status.WAITING_LIST, Status.UNREGISTERED, Status.ATTENDED}),
    Status.WAITING_LIST: frozenset({Status.REGISTERED, Status.UNREGISTERED}),
    Status.UNREGISTERED: frozenset({Status.REGISTERED, Status.WAITING_LIST}),
    Status.ATTENDED: frozenset({Status.REGISTERED}),
}
INITIAL_STATUSES = frozenset(Status) - {Status.ATTENDED}


class IllegalTransitionError(Exception):
    """Raised when a status change is not allowed from the current status."""

    def __init__(self, current: Status, wanted: Status) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        super().__init__(
            f"cannot go from {current.value!r} to {wanted.value!r}; allowed from "
            f"{current.value!r}: {allowed}"
        )
        self.current = current
        self.wanted = wanted


class ParticipantInputError(ValueError):
    """Raised when a registration's status or source is not valid."""


class ParticipantDeletedError(Exception):
    """Raised when a command targets a deleted participant."""

    def __init__(self, participant_id: UUID) -> None:
        super().__init__(f"participant {participant_id} is deleted")
        self.participant_id = participant_id


class Participant(LedgerAggregate):
    holds_personal_data = True

    def __init__(self) -> None:
        self.account_id: UUID | None = None
        self.organiser_event_id: UUID | None = None
        self.fields: dict[str, Any] = {}
        self.stamps: dict[str, datetime] = {}
        self.status = Status.OPEN
        self.source = Source.API
        self.deleted = False
        self.deleted_with: UUID | None = None  # the contact whose deletion cascaded here
        self.restore_until: datetime | None = None
        self.erased = False
        self.syncing = False
        self.contact_id: UUID | None = None

    @classmethod
    def register(
        cls,
        account_id: UUID,
        organiser_event_id: UUID,
        fields: Mapping[str, Any],
        status: str,
        source: str,
        at: datetime,
        meta: Meta,
        sync_reason: str | None = None,
        participant_id: UUID | None = None,
        contact_id: UUID | None = None,
    ) -> Participant:
        """Register; `sync_reason` is set when contact sync admits the newcomer, and
        `contact_id` when its contact is already known (linked from the first event)."""
        initial = _parse(Status, status, "status")
        if initial not in INITIAL_STATUSES:
            raise ParticipantInputError(
                "a participant cannot start as 'attended': attended needs a valid registration"
            )
        return cls._create(
            cls.Registered,
            id=participant_id or uuid4(),
            timestamp=at,
            meta=meta,
            account_id=account_id,
            organiser_event_id=organiser_event_id,
            fields={name: value for name, value in fields.items() if value is not None},
            status=initial.value,
            source=_parse(Source, source, "source").value,
            sync_reason=sync_reason,
            contact_id=contact_id,
        )

    @property
    def record_for_filters(self) -> dict[str, Any]:
        return {**self.fields, "status": self.status.value}

    def change_fields(
        self,
        fields: Mapping[str, Any],
        at: datetime,
        meta: Meta,
        edited_at: datetime | None = None,
        propagated_from: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Apply the values that differ; return them (nothing recorded if none)."""
        self._check_live()
        changed = {n: v for n, v in fields.items() if self.fields.get(n) != v}
        if changed:
            self.record(
                self.FieldsChanged,
                at,
                meta,
                fields=changed,
                edited_at=edited_at or at,
                propagated_from=propagated_from,
            )
        return changed

    def change_status(self, status: str, at: datetime, meta: Meta) -> None:
        self._check_live()
        wanted = _parse(Status, status, "status")
        if wanted is self.status:
            return
        if wanted not in TRANSITIONS[self.status]:
            raise IllegalTransitionError(self.status, wanted)
        self.record(self.StatusChanged, at, meta, status=wanted.value, previous=self.status.value)

    def delete(
        self,
        restore_until: datetime,
        at: datetime,
        meta: Meta,
        with_contact: UUID | None = None,
    ) -> bool:
        """Delete (alone, or `with_contact` when its contact was deleted); again: nothing."""
        if self.deleted:
            return False
        self.record(self.Deleted, at, meta, restore_until=restore_until, with_contact=with_contact)
        return True

    def restore_with(self, contact_id: UUID, at: datetime, meta: Meta) -> bool:
        """Come back with the contact whose deletion took this participant away."""
        if not self.deleted or self.erased or self.deleted_with != contact_id:
            return False
        self.record(self.Restored, at, meta, with_contact=contact_id)
        return True

    def erase(self, reason: str, at: datetime, meta: Meta) -> bool:
        if self.erased:
            return False
        self.record(self.Erased, at, meta, reason=reason)
        return True

    def start_sync(self, reason: str, at: datetime, meta: Meta) -> None:
        if not self.syncing:
            self.record(self.SyncStarted, at, meta, reason=reason)

    def link(self, contact_id: UUID, at: datetime, meta: Meta) -> None:
        if self.contact_id != contact_id:
            self.record(self.Linked, at, meta, contact_id=contact_id)

    def unlink(self, at: datetime, meta: Meta) -> None:
        if self.contact_id is not None:
            self.record(self.Unlinked, at, meta, contact_id=self.contact_id)

    def _check_live(self) -> None:
        if self.deleted:
            raise ParticipantDeletedError(self.id)

    class Registered(LedgerAggregate.Created):
        personal_fields: ClassVar[Mapping[str, type]] = {"fields": dict}
        account_id: UUID
        organiser_event_id: UUID
        fields: dict[str, Any]
        status: str
        source: str
        sync_reason: str | None
        contact_id: UUID | None = None  # linked at registration (older events: by `Linked`)

        def apply(self, participant: Participant) -> None:
            participant.syncing = self.sync_reason is not None
            participant.contact_id = self.contact_id
            participant.account_id = self.account_id
            participant.organiser_event_id = self.organiser_event_id
            participant.fields = dict(self.fields)
            participant.stamps = dict.fromkeys(self.fields, self.timestamp)
            participant.status = Status(self.status)
            participant.source = Source(self.source)

    class FieldsChanged(LedgerAggregate.Event):
        """Field values set by a user edit, or by propagation from another participant."""

        personal_fields: ClassVar[Mapping[str, type]] = {"fields": dict}
        fields: dict[str, Any]
        edited_at: datetime
        propagated_from: dict[str, str] | None

        def apply(self, participant: Participant) -> None:
            participant.fields.update(self.fields)
            participant.stamps.update(dict.fromkeys(self.fields, self.edited_at))

    class StatusChanged(LedgerAggregate.Event):
        status: str
        previous: str

        def apply(self, participant: Participant) -> None:
            participant.status = Status(self.status)

    class Deleted(LedgerAggregate.Event):
        """Deleted alone (this event only) or `with_contact` (the contact's deletion)."""

        restore_until: datetime | None = None
        with_contact: UUID | None = None

        def apply(self, participant: Participant) -> None:
            participant.deleted = True
            participant.deleted_with = self.with_contact
            participant.restore_until = self.restore_until

    class Restored(LedgerAggregate.Event):
        with_contact: UUID

        def apply(self, participant: Participant) -> None:
            participant.deleted = False
            participant.deleted_with = participant.restore_until = None

    class Erased(LedgerAggregate.Event):
        """Personal data forgotten; the registration, its event and statuses remain."""

        reason: str

        def apply(self, participant: Participant) -> None:
            participant.erased = participant.deleted = True
            participant.fields, participant.stamps = {}, {}

    class SyncStarted(LedgerAggregate.Event):
        """The participant joined contact sync: registered while on, entered the segment,
        or backfilled."""

        reason: str

        def apply(self, participant: Participant) -> None:
            participant.syncing = True

    class Linked(LedgerAggregate.Event):
        contact_id: UUID

        def apply(self, participant: Participant) -> None:
            participant.contact_id = self.contact_id

    class Unlinked(LedgerAggregate.Event):
        contact_id: UUID

        def apply(self, participant: Participant) -> None:
            participant.contact_id = None


def _parse(enum: type[E], value: str, what: str) -> E:
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise ParticipantInputError(f"{what} must be one of {choices}") from None
