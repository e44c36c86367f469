"""One batch of an import (F19), decided and applied in one unit of work.

Each row is matched by its uniqueness key: into an organiser event, against the event's
key index (the participant of that key in the event); into the account, against the
contacts' key index. Then, by the mode, the match is updated or a new participant or
contact is made, or the row is skipped with a reason. A participant an import makes
*claims* its key in the event, so two imports racing on one person make one participant:
the loser's batch runs again and finds it. Re-importing a file finds every row's match
with the values it already has: all unchanged, nothing recorded.

A row is checked before it changes anything, so a skipped row leaves no trace. Should a
row still fail half-way (a rule only the sync engine knows), `HalfAppliedRowError` asks
the caller to run the batch again without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.accounts import Account
from domain.commands import ImportRows, RegisterParticipant
from domain.contact_keys import KeyTakenError
from domain.contact_lifecycle import ContactDeletedError
from domain.contact_merge import ContactMergedError
from domain.contact_work import NotReachableError
from domain.contacts import Contact
from domain.fields import FieldCatalogue, FieldValueError, UnknownFieldError
from domain.imports import ImportInputError, ImportMode, RowOutcome, field_reader
from domain.keys import key_values
from domain.meta import Meta
from domain.organiser_events import OrganiserEvent
from domain.participants import (
    INITIAL_STATUSES,
    IllegalTransitionError,
    Participant,
    ParticipantDeletedError,
)
from domain.retention import ErasedError
from domain.sync import ContactSync
from domain.unit_of_work import NotFoundError, UnitOfWork

Checked = tuple[int, dict[str, Any], str]  # line, values, key digest
Register = Callable[[UnitOfWork, RegisterParticipant], Participant]
# Port: the first line of this import that carried each of these keys, in earlier batches.
SeenKeys = Callable[[set[str]], dict[str, int]]
ROW_ERRORS = (
    ValueError,
    KeyTakenError,
    ContactDeletedError,
    ContactMergedError,
    ParticipantDeletedError,
    ErasedError,
    NotReachableError,
    NotFoundError,
    IllegalTransitionError,
)


@dataclass(frozen=True)
class ImportedRow:
    """What became of one row: its outcome, the record it matched or made, why skipped."""

    line: int
    outcome: RowOutcome
    record_id: UUID | None = None
    reason: str = ""
    key: str | None = None  # the key digest of a row that was matched (kept while importing)


class HalfAppliedRowError(Exception):
    """Raised when a row failed after changing aggregates: run the batch again without it."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"row {line}: {reason}")
        self.line = line
        self.reason = reason


def skipped(line: int, reason: str, record_id: UUID | None = None) -> ImportedRow:
    return ImportedRow(line, RowOutcome.SKIPPED, record_id, reason)


class RowImport:
    def __init__(
        self,
        work: UnitOfWork,
        cmd: ImportRows,
        at: datetime,
        meta: Meta,
        register: Register,
        excluded: Mapping[int, str],
        seen: SeenKeys | None = None,
    ) -> None:
        self.work, self.cmd, self.at, self.meta = work, cmd, at, meta
        self.register, self.excluded, self.seen = register, excluded, seen
        self.account: Account = work.account(cmd.account_id)
        self.event: OrganiserEvent | None = (
            work.organiser_event(cmd.account_id, cmd.organiser_event_id)
            if cmd.organiser_event_id is not None
            else None
        )
        self.mode = check_options(self.account, cmd)
        self.sync = ContactSync(work, at, meta)
        self.catalogue: FieldCatalogue = (
            self.account.catalogue
            if self.event is None
            else self.event.catalogue(self.account.catalogue)
        )
        self.readers: dict[str, Callable[[Any], Any]] = {}  # field name -> `field_reader`

    @property
    def scope(self) -> UUID:
        """Where a row's key is looked up: the event's participants or the account's contacts."""
        return self.account.id if self.event is None else self.event.id

    def run(self) -> list[ImportedRow]:
        """Each row's outcome. A person is imported once per file: a later row with the same
        key is skipped, so importing the file again finds everyone as the first pass left them."""
        checked = [self._check(line, cells) for line, cells in self.cmd.rows]
        digests = {row[2] for row in checked if isinstance(row, tuple)}
        first = self.seen(digests) if self.seen is not None and digests else {}
        self._prefetch(digests)
        outcomes = []
        for row in checked:
            if isinstance(row, ImportedRow):
                outcomes.append(row)
            elif row[2] in first:
                reason = f"same identifier as row {first[row[2]]}: a person is imported once"
                outcomes.append(skipped(row[0], reason))
            else:
                first[row[2]] = row[0]
                outcome = self._apply(*row)
                outcomes.append(
                    ImportedRow(row[0], outcome.outcome, outcome.record_id, outcome.reason, row[2])
                )
        return outcomes

    # --- checks: nothing changes yet ------------------------------------------------

    def _check(self, line: int, cells: dict[str, Any]) -> ImportedRow | Checked:
        if line in self.excluded:
            return skipped(line, self.excluded[line])
        readers = self.readers
        try:
            values = {}
            for name, cell in cells.items():
                read = readers.get(name) or self._reader(name)
                value = read(cell)
                if value is not None:
                    values[name] = value
        except FieldValueError as error:
            return skipped(line, str(error))
        values = {name: values[name] for name in sorted(values)}  # as the catalogue orders them
        key = key_values(self.account.uniqueness_key, values)
        if key is None:
            empty = [n for n in self.account.uniqueness_key if values.get(n) is None]
            return skipped(line, f"no identifier: {', '.join(empty)} is empty")
        return line, values, self.work.digest(self.account.id, key)

    def _reader(self, name: str) -> Callable[[Any], Any]:
        definition = self.catalogue.definitions.get(name)
        if definition is None:
            raise UnknownFieldError(name)
        read = self.readers[name] = field_reader(definition)
        return read

    def _prefetch(self, digests: set[str]) -> None:
        """The batch's matches, their contacts and those contacts' participants: few queries."""
        work = self.work
        found = work.preload(work.prefetch_keys(self.scope, digests))
        contact_ids = {a.contact_id for a in found if isinstance(a, Participant) and a.contact_id}
        if self.event is not None:
            contact_ids |= work.prefetch_keys(self.account.id, digests)
        contacts = [*found, *work.preload(contact_ids)]
        work.preload({p for c in contacts if isinstance(c, Contact) for p in c.participants})

    # --- applying -------------------------------------------------------------------

    def _apply(self, line: int, values: dict[str, Any], digest: str) -> ImportedRow:
        holder = self.work.contact_for_key(self.scope, digest)
        if holder is None and self.mode is ImportMode.UPDATE_ONLY:
            return skipped(line, "no match: update_only creates nothing")
        if holder is not None and self.mode is ImportMode.CREATE_ONLY:
            return skipped(line, "already exists: create_only changes nothing", holder)
        if self.event is None:
            return self._contact_row(line, values, holder)
        return self._participant_row(line, values, digest, holder)

    def _participant_row(
        self, line: int, values: dict[str, Any], digest: str, holder: UUID | None
    ) -> ImportedRow:
        event = self.event
        assert event is not None
        if holder is None:
            with self._applying(line):
                cmd = RegisterParticipant(
                    self.account.id, event.id, values, self.cmd.status, "import"
                )
                participant = self.register(self.work, cmd)
                if self.work.contact_for_key(event.id, digest) != participant.id:
                    self.work.claim(event.id, digest, participant.id)  # several bookings
                self._add_to_group(participant.contact_id)
            return ImportedRow(line, RowOutcome.CREATED, participant.id)
        participant = self.work.participant(self.account.id, holder)
        before = self._versions(participant.contact_id, participant)
        with self._applying(line):
            admitted_before = event.admits(participant.record_for_filters)
            changed = participant.change_fields(values, self.at, self.meta)
            if changed:
                self.sync.participant_changed(participant, event, changed, admitted_before)
            self._add_to_group(participant.contact_id)
        return self._outcome(line, participant, before, participant.contact_id)

    def _contact_row(self, line: int, values: dict[str, Any], holder: UUID | None) -> ImportedRow:
        with self._applying(line):
            contact, created = self.sync.contact_of(values, self.account.id)
            before = self._versions(contact.id)
            self.sync.contact_edited(contact, values)
            self._add_to_group(contact.id)
        if created:
            return ImportedRow(line, RowOutcome.CREATED, contact.id)
        return self._outcome(line, contact, before, contact.id)

    def _add_to_group(self, contact_id: UUID | None) -> None:
        if self.cmd.group_id is not None and contact_id is not None:
            contact = self.work.contact(self.account.id, contact_id)
            contact.add_to_group(self.cmd.group_id, self.at, self.meta)

    def _versions(self, contact_id: UUID | None, *others: Any) -> tuple[int, ...]:
        contact = None if contact_id is None else self.work.contact(self.account.id, contact_id)
        return tuple(a.version for a in (*others, contact) if a is not None)

    def _outcome(
        self, line: int, record: Any, before: tuple[int, ...], contact_id: UUID | None
    ) -> ImportedRow:
        others = () if isinstance(record, Contact) else (record,)
        after = self._versions(contact_id, *others)
        outcome = RowOutcome.UNCHANGED if after == before else RowOutcome.UPDATED
        return ImportedRow(line, outcome, record.id)

    @contextmanager
    def _applying(self, line: int) -> Iterator[None]:
        try:
            yield
        except ROW_ERRORS as error:
            raise HalfAppliedRowError(line, str(error)) from error


def check_options(account: Account, cmd: ImportRows) -> ImportMode:
    """The import's mode, once its status and group are known good (else ImportInputError)."""
    try:
        mode = ImportMode(cmd.mode)
    except ValueError:
        modes = ", ".join(m.value for m in ImportMode)
        raise ImportInputError(f"mode must be one of {modes}") from None
    if cmd.status not in {s.value for s in INITIAL_STATUSES}:
        statuses = ", ".join(sorted(s.value for s in INITIAL_STATUSES))
        raise ImportInputError(f"status must be one of {statuses}")
    if cmd.group_id is not None and cmd.group_id not in account.groups:
        raise NotFoundError("group", cmd.group_id)
    return mode
