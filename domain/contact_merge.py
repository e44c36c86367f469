"""Merging two contacts (F10, decision 0017): the survivor absorbs what the other adds and
the other becomes a tombstone naming it; the commands and the refusal to act on a tombstone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from domain.aggregate import AggregatePart
from domain.meta import Meta
from domain.retention import ErasedError, RestoreWindowClosedError

if TYPE_CHECKING:
    from domain.aggregate import LedgerAggregate
    from domain.contact_extras import Consent
    from domain.contact_work import FormSubmission, Note
    from domain.contacts import Contact


class ContactMergedError(Exception):
    """Raised when a command targets a contact merged into another (act on the survivor)."""

    def __init__(self, contact_id: UUID, survivor_id: UUID) -> None:
        super().__init__(
            f"contact {contact_id} was merged into contact {survivor_id}; use that contact"
        )
        self.contact_id = contact_id
        self.survivor_id = survivor_id


class ContactMerge(AggregatePart):
    """Merging a contact into another: a mixin of `Contact`, which holds its state and
    defines the events these record."""

    if TYPE_CHECKING:  # what this uses of Contact
        fields: dict[str, Any]
        stamps: dict[str, datetime]
        groups: set[UUID]
        consent: Consent | None
        notes: list[Note]
        submissions: list[FormSubmission]
        erased: bool
        deleted: bool
        restore_until: datetime | None
        merged_into: UUID | None
        FieldsChanged: ClassVar[type[LedgerAggregate.Event]]
        ConsentGiven: ClassVar[type[LedgerAggregate.Event]]
        Absorbed: ClassVar[type[LedgerAggregate.Event]]
        Merged: ClassVar[type[LedgerAggregate.Event]]

        def add_to_group(self, group_id: UUID, at: datetime, meta: Meta) -> bool: ...
        def _record_note(self, note: Note, at: datetime, meta: Meta) -> None: ...
        def _record_submission(self, sent: FormSubmission, at: datetime, meta: Meta) -> None: ...

    def check_not_merged(self) -> None:
        if self.merged_into is not None:
            raise ContactMergedError(self.id, self.merged_into)

    def check_mergeable(self, at: datetime) -> None:
        """May be merged into another: not erased nor merged; deleted, only while restorable."""
        if self.erased:
            raise ErasedError("contact", self.id)
        self.check_not_merged()
        if self.deleted and self.restore_until is not None and at >= self.restore_until:
            raise RestoreWindowClosedError(self.restore_until)

    def absorb(
        self,
        merged: Contact,
        keys_from: list[UUID],
        key_fields: Iterable[str],
        at: datetime,
        meta: Meta,
    ) -> None:
        """Take over what the merged contact adds: its groups, its consent if this one has
        none, the values of fields this one lacks (never key fields). Then `Absorbed`."""
        for group_id in sorted(merged.groups - self.groups, key=str):
            self.add_to_group(group_id, at, meta)
        if self.consent is None and merged.consent is not None:
            self.record(
                self.ConsentGiven,
                at,
                meta,
                given_at=merged.consent.given_at,
                source=merged.consent.source,
            )
        self._fill_gaps(merged, set(key_fields), at, meta)
        self._take_records(merged, at, meta)
        self.record(self.Absorbed, at, meta, merged_id=merged.id, keys_from=keys_from)

    def _take_records(self, merged: Contact, at: datetime, meta: Meta) -> None:
        """Its notes and form submissions, recorded again here (author and times kept),
        so they are sealed under this subject's key and go with it."""
        have = {n.id for n in self.notes}
        for note in merged.notes:
            if note.id not in have:
                self._record_note(note, at, meta)
        sent = {s.id for s in self.submissions}
        for form in merged.submissions:
            if form.id not in sent:
                self._record_submission(form, at, meta)

    def _fill_gaps(self, merged: Contact, key_fields: set[str], at: datetime, meta: Meta) -> None:
        """Values this contact lacks, stamped as an edit made now (never older than ours)."""
        gaps = {
            name: value
            for name, value in sorted(merged.fields.items())
            if name not in key_fields and is_empty(self.fields.get(name)) and not is_empty(value)
        }
        if gaps:
            edited_at = max([at, *(self.stamps[n] for n in gaps if n in self.stamps)])
            via = {"merged_contact_id": str(merged.id)}
            self.record(self.FieldsChanged, at, meta, fields=gaps, edited_at=edited_at, via=via)

    def merge_into(self, survivor_id: UUID, at: datetime, meta: Meta) -> None:
        """Become a tombstone: hidden, never due for the purge, every command names the survivor."""
        self.check_not_merged()
        self.record(self.Merged, at, meta, survivor_id=survivor_id)


def is_empty(value: Any) -> bool:
    """No value: missing, null, an empty text or an empty choice list."""
    return value is None or value in ("", [])
