"""A contact: one person at account level, linked to 0..n participants (F5, F6).

Here: its state, its creation and its events. The events stay nested in `Contact` because
their topic, `domain.contacts:Contact.<Name>`, is how stored events are read back. Its
commands come from one mixin per topic: `contact_values`, `contact_extras`, `contact_work`,
`contact_lifecycle`, `contact_merge`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from domain.aggregate import LedgerAggregate
from domain.contact_extras import Consent, ContactExtras, SiteAccount
from domain.contact_lifecycle import ContactLifecycle
from domain.contact_merge import ContactMerge
from domain.contact_values import ContactValues
from domain.contact_work import ContactWork, FormSubmission, Note
from domain.meta import Meta


class Contact(
    ContactValues, ContactExtras, ContactWork, ContactLifecycle, ContactMerge, LedgerAggregate
):
    holds_personal_data = True

    def __init__(self) -> None:
        self.account_id: UUID | None = None
        self.fields: dict[str, Any] = {}
        self.stamps: dict[str, datetime] = {}
        self.participants: dict[UUID, UUID] = {}  # participant id -> organiser event id
        self.processing_status = "new"
        self.groups: set[UUID] = set()
        self.consent: Consent | None = None
        self.site_account = SiteAccount()
        self.ever_linked: set[UUID] = set()
        self.notes: list[Note] = []
        self.submissions: list[FormSubmission] = []
        self.messages: set[UUID] = set()  # outbox messages asked for this person
        self.deleted = False
        self.restore_until: datetime | None = None
        self.erased = False
        # merge (F10): the survivor this tombstone was merged into; on a survivor, the
        # tombstones merged into it and those whose key-index entries it took over
        self.merged_into: UUID | None = None
        self.merged_from: set[UUID] = set()
        self.keys_from: set[UUID] = set()

    @classmethod
    def create(
        cls,
        account_id: UUID,
        at: datetime,
        meta: Meta,
        values: Mapping[str, Any] | None = None,
        via: dict[str, str] | None = None,
        participant: tuple[UUID, UUID] | None = None,
        edited_at: datetime | None = None,
    ) -> Contact:
        """A new contact, holding `values` (edited at `edited_at`, by default `at`) from the
        start (empty ones: nothing to hold) and, derived from a participant (F5), linked to
        it: `participant` is its id and its event's. One event says what `FieldsChanged`
        and `ParticipantLinked` would."""
        participant_id, organiser_event_id = participant or (None, None)
        values = {name: value for name, value in (values or {}).items() if value is not None}
        return cls._create(
            cls.Created,
            id=uuid4(),
            timestamp=at,
            meta=meta,
            account_id=account_id,
            participant_id=participant_id,
            organiser_event_id=organiser_event_id,
            fields=values or None,
            edited_at=(edited_at or at) if values else None,
            via=via,
        )

    class Created(LedgerAggregate.Created):
        """A new contact. One derived from a participant (F5) names it and carries the
        values it takes from it, stamped `edited_at`, `via` naming it (older events and
        contacts made otherwise leave these None)."""

        personal_fields: ClassVar[Mapping[str, type]] = {"fields": dict}
        account_id: UUID
        participant_id: UUID | None = None
        organiser_event_id: UUID | None = None
        fields: dict[str, Any] | None = None
        edited_at: datetime | None = None
        via: dict[str, str] | None = None

        def apply(self, contact: Contact) -> None:
            contact.account_id = self.account_id
            if self.participant_id is not None:
                assert self.organiser_event_id is not None
                contact.participants[self.participant_id] = self.organiser_event_id
                contact.ever_linked.add(self.participant_id)
            if self.fields:
                assert self.edited_at is not None
                contact.fields.update(self.fields)
                contact.stamps.update(dict.fromkeys(self.fields, self.edited_at))

    class FieldsChanged(LedgerAggregate.Event):
        """Values taken from a participant (`via` names it) or edited on the contact."""

        personal_fields: ClassVar[Mapping[str, type]] = {"fields": dict}
        fields: dict[str, Any]
        edited_at: datetime
        via: dict[str, str] | None

        def apply(self, contact: Contact) -> None:
            contact.fields.update(self.fields)
            contact.stamps.update(dict.fromkeys(self.fields, self.edited_at))

    class PropagationQueued(LedgerAggregate.Event):
        """The contact's current values of `names` are to be brought down to its
        participants by the propagation follow-up (adapters/propagation.py); `via` names
        the participant or the contact edit the change came from. Changes no state."""

        names: list[str]
        via: dict[str, str]

        def apply(self, contact: Contact) -> None:
            pass

    class ParticipantLinked(LedgerAggregate.Event):
        participant_id: UUID
        organiser_event_id: UUID

        def apply(self, contact: Contact) -> None:
            contact.participants[self.participant_id] = self.organiser_event_id
            contact.ever_linked.add(self.participant_id)

    class ParticipantUnlinked(LedgerAggregate.Event):
        participant_id: UUID

        def apply(self, contact: Contact) -> None:
            contact.participants.pop(self.participant_id, None)

    class ProcessingStatusSet(LedgerAggregate.Event):
        status: str

        def apply(self, contact: Contact) -> None:
            contact.processing_status = self.status

    class AddedToGroup(LedgerAggregate.Event):
        group_id: UUID

        def apply(self, contact: Contact) -> None:
            contact.groups.add(self.group_id)

    class RemovedFromGroup(LedgerAggregate.Event):
        group_id: UUID

        def apply(self, contact: Contact) -> None:
            contact.groups.discard(self.group_id)

    class ConsentGiven(LedgerAggregate.Event):
        given_at: datetime
        source: str

        def apply(self, contact: Contact) -> None:
            contact.consent = Consent(self.given_at, self.source)

    class ConsentWithdrawn(LedgerAggregate.Event):
        source: str

        def apply(self, contact: Contact) -> None:
            contact.consent = None

    class SiteAccountChanged(LedgerAggregate.Event):
        confirmed: bool
        locked_until: datetime | None
        failed_attempts: int

        def apply(self, contact: Contact) -> None:
            contact.site_account = SiteAccount(
                self.confirmed, self.locked_until, self.failed_attempts
            )

    class NoteAdded(LedgerAggregate.Event):
        personal_fields: ClassVar[Mapping[str, type]] = {"text": str}
        note_id: UUID
        text: str
        author: str
        written_at: datetime  # when written (earlier than the event if moved by a merge)

        def apply(self, contact: Contact) -> None:
            note = Note(self.note_id, self.text, self.author, self.written_at)
            contact.notes.append(note)

    class FormSubmitted(LedgerAggregate.Event):
        """A site form; its values went into the contact by the events before it."""

        personal_fields: ClassVar[Mapping[str, type]] = {
            "page": str,
            "message": str,
            "fields": dict,
        }
        submission_id: UUID
        form: str
        page: str
        message: str
        fields: dict[str, Any]
        submitted_at: datetime  # when sent (earlier than the event if moved by a merge)

        def apply(self, contact: Contact) -> None:
            contact.submissions.append(
                FormSubmission(
                    self.submission_id,
                    self.form,
                    self.page,
                    self.message,
                    self.fields,
                    self.submitted_at,
                )
            )

    class MessageRequested(LedgerAggregate.Event):
        """An outbox message for the mailer: the address is read when it is sent."""

        message_id: UUID
        kind: str
        campaign: str
        account_id: UUID

        def apply(self, contact: Contact) -> None:
            contact.messages.add(self.message_id)

    class EditSuperseded(LedgerAggregate.Event):
        """An edit of values that a newer edit had already replaced: the values that stand
        are unchanged; the edit is recorded so that no answered edit is missing."""

        personal_fields: ClassVar[Mapping[str, type]] = {"fields": dict}
        fields: dict[str, Any]
        edited_at: datetime

        def apply(self, contact: Contact) -> None:
            """Nothing changes: a newer edit stands."""

    class Deleted(LedgerAggregate.Event):
        """Deleted (one at a time, confirmed); restorable before `restore_until`."""

        restore_until: datetime

        def apply(self, contact: Contact) -> None:
            contact.deleted = True
            contact.restore_until = self.restore_until

    class Restored(LedgerAggregate.Event):
        def apply(self, contact: Contact) -> None:
            contact.deleted = False
            contact.restore_until = None

    class Erased(LedgerAggregate.Event):
        """The person is forgotten: `reason` is `request` (right to erasure) or `purge`."""

        reason: str

        def apply(self, contact: Contact) -> None:
            contact.erased = contact.deleted = True
            contact.fields, contact.stamps = {}, {}
            contact.notes, contact.submissions = [], []

    # --- merge (F10) ------------------------------------------------------------------

    class Merged(LedgerAggregate.Event):
        """This contact was merged into `survivor_id` and is kept as a tombstone."""

        survivor_id: UUID

        def apply(self, contact: Contact) -> None:
            contact.merged_into = self.survivor_id
            contact.deleted, contact.restore_until = True, None

    class Absorbed(LedgerAggregate.Event):
        """`merged_id` was merged into this contact; `keys_from`: the contacts whose
        key-index entries now point here (the merged one and those it had taken over)."""

        merged_id: UUID
        keys_from: list[UUID]

        def apply(self, contact: Contact) -> None:
            contact.merged_from.add(self.merged_id)
            contact.keys_from.update(self.keys_from)
