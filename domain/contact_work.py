"""Work on a contact beyond its fields (F8, F9): internal notes, the site forms the person
sent, and the messages asked of the mailer; their values, their limits and their commands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from domain.aggregate import AggregatePart
from domain.contact_extras import MAX_SOURCE_LENGTH, Consent, ContactInputError
from domain.meta import Meta

if TYPE_CHECKING:
    from domain.aggregate import LedgerAggregate

FORM_KINDS = ("contact", "registration", "request")
MESSAGE_KINDS = ("password_reset", "marketing_email")
MAX_NOTE_LENGTH = 10_000
MAX_MESSAGE_LENGTH = 10_000
MAX_PAGE_LENGTH = 2_000


class NotReachableError(Exception):
    """Raised when a message cannot be asked for this contact (no consent, no email)."""


@dataclass(frozen=True)
class Note:
    """An internal note (F8): staff-only free text, with its author and time."""

    id: UUID
    text: str
    author: str
    written_at: datetime


@dataclass(frozen=True)
class FormSubmission:
    """A site form the person sent (F9): its kind, page, message and the values it carried."""

    id: UUID
    form: str
    page: str
    message: str
    fields: dict[str, Any]
    submitted_at: datetime


class ContactWork(AggregatePart):
    """The commands for notes, forms and messages: a mixin of `Contact`, which holds their
    state and defines the events they record."""

    if TYPE_CHECKING:  # what this uses of Contact
        account_id: UUID | None
        fields: dict[str, Any]
        consent: Consent | None
        messages: set[UUID]
        NoteAdded: ClassVar[type[LedgerAggregate.Event]]
        FormSubmitted: ClassVar[type[LedgerAggregate.Event]]
        MessageRequested: ClassVar[type[LedgerAggregate.Event]]

    def add_note(self, note_id: UUID, text: str, at: datetime, meta: Meta) -> None:
        """Write an internal note; its author is the actor of `meta` (staff, not the person)."""
        _check_text(text, "a note", 1, MAX_NOTE_LENGTH)
        self._record_note(Note(note_id, text, meta.actor, at), at, meta)

    def _record_note(self, note: Note, at: datetime, meta: Meta) -> None:
        self.record(
            self.NoteAdded,
            at,
            meta,
            note_id=note.id,
            text=note.text,
            author=note.author,
            written_at=note.written_at,
        )

    def submit_form(
        self,
        submission_id: UUID,
        form: str,
        page: str,
        message: str,
        values: Mapping[str, Any],
        at: datetime,
        meta: Meta,
    ) -> None:
        """Keep a site form the person sent on their record (its values are taken apart)."""
        if form not in FORM_KINDS:
            raise ContactInputError(f"form must be one of {', '.join(FORM_KINDS)}")
        _check_text(page, "page", 0, MAX_PAGE_LENGTH)
        _check_text(message, "message", 0, MAX_MESSAGE_LENGTH)
        sent = FormSubmission(submission_id, form, page, message, dict(values), at)
        self._record_submission(sent, at, meta)

    def _record_submission(self, sent: FormSubmission, at: datetime, meta: Meta) -> None:
        self.record(
            self.FormSubmitted,
            at,
            meta,
            submission_id=sent.id,
            form=sent.form,
            page=sent.page,
            message=sent.message,
            fields=sent.fields,
            submitted_at=sent.submitted_at,
        )

    def request_message(
        self, message_id: UUID, kind: str, campaign: str, at: datetime, meta: Meta
    ) -> bool:
        """Ask the mailer to write to the person; asked again with the same id: nothing.

        A marketing email needs consent; every message needs an email address.
        """
        if kind not in MESSAGE_KINDS:
            raise ContactInputError(f"message kind must be one of {', '.join(MESSAGE_KINDS)}")
        _check_text(campaign, "campaign", 0, MAX_SOURCE_LENGTH)
        if message_id in self.messages:
            return False
        if not self.fields.get("email"):
            raise NotReachableError("the contact has no email address")
        if kind == "marketing_email" and self.consent is None:
            raise NotReachableError("the contact has not consented to marketing emails")
        self.record(
            self.MessageRequested,
            at,
            meta,
            message_id=message_id,
            kind=kind,
            campaign=campaign,
            account_id=self.account_id,
        )
        return True


def _check_text(text: str, name: str, shortest: int, longest: int) -> None:
    fits = shortest <= len(text.strip()) and len(text) <= longest
    if not fits or "\x00" in text:
        raise ContactInputError(f"{name} is {shortest} to {longest} characters, without NUL")
