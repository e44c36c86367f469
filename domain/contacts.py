"""A contact: one person at account level, linked to 0..n participants (F5, F6)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Protocol
from uuid import UUID, uuid4

from domain.aggregate import LedgerAggregate
from domain.meta import Meta


class ContactKeyIndex(Protocol):
    """Port: which contact holds a key digest. Claims are written with the events."""

    def find_contact(self, account_id: UUID, digest: str) -> UUID | None: ...
    def find_contacts(self, account_id: UUID, digests: Iterable[str]) -> dict[str, UUID]: ...


class ContactNotFoundError(Exception):
    """Raised when no contact with this id exists in the account."""

    def __init__(self, contact_id: UUID) -> None:
        super().__init__(f"contact {contact_id} not found")
        self.contact_id = contact_id


class KeyTakenError(Exception):
    """Raised when a contact edit would give it the key another contact holds."""

    def __init__(self, holder_id: UUID) -> None:
        super().__init__(
            f"another contact ({holder_id}) already has this uniqueness key; merge them instead"
        )
        self.holder_id = holder_id


class Contact(LedgerAggregate):
    holds_personal_data = True

    def __init__(self) -> None:
        self.account_id: UUID | None = None
        self.fields: dict[str, Any] = {}
        self.stamps: dict[str, datetime] = {}
        self.participants: dict[UUID, UUID] = {}  # participant id -> organiser event id

    @classmethod
    def create(cls, account_id: UUID, at: datetime, meta: Meta) -> Contact:
        return cls._create(cls.Created, id=uuid4(), timestamp=at, meta=meta, account_id=account_id)

    def take_values(
        self,
        values: Mapping[str, Any],
        edited_at: datetime,
        at: datetime,
        meta: Meta,
        via: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Take the values whose edit is not older than the contact's (latest edit wins).

        A value equal to the current one still records its newer edit time, so that a
        later-arriving older edit cannot win. Returns the values that now differ.
        """
        taken = {
            name: value
            for name, value in values.items()
            if edited_at >= self.stamps.get(name, edited_at)
            and (self.fields.get(name) != value or self.stamps.get(name) != edited_at)
        }
        if taken:
            self.record(self.FieldsChanged, at, meta, fields=taken, edited_at=edited_at, via=via)
        return taken

    def link(
        self, participant_id: UUID, organiser_event_id: UUID, at: datetime, meta: Meta
    ) -> None:
        if participant_id not in self.participants:
            self.record(
                self.ParticipantLinked,
                at,
                meta,
                participant_id=participant_id,
                organiser_event_id=organiser_event_id,
            )

    def unlink(self, participant_id: UUID, at: datetime, meta: Meta) -> None:
        if participant_id in self.participants:
            self.record(self.ParticipantUnlinked, at, meta, participant_id=participant_id)

    class Created(LedgerAggregate.Created):
        account_id: UUID

        def apply(self, contact: Contact) -> None:
            contact.account_id = self.account_id

    class FieldsChanged(LedgerAggregate.Event):
        """Values taken from a participant (`via` names it) or edited on the contact."""

        personal_fields: ClassVar[Mapping[str, type]] = {"fields": dict}
        fields: dict[str, Any]
        edited_at: datetime
        via: dict[str, str] | None

        def apply(self, contact: Contact) -> None:
            contact.fields.update(self.fields)
            contact.stamps.update(dict.fromkeys(self.fields, self.edited_at))

    class ParticipantLinked(LedgerAggregate.Event):
        participant_id: UUID
        organiser_event_id: UUID

        def apply(self, contact: Contact) -> None:
            contact.participants[self.participant_id] = self.organiser_event_id

    class ParticipantUnlinked(LedgerAggregate.Event):
        participant_id: UUID

        def apply(self, contact: Contact) -> None:
            contact.participants.pop(self.participant_id, None)
