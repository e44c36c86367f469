"""The ledger application: one method per command, each run in a unit of work.

A command loads what it needs, decides through the aggregates and the sync engine, and
saves everything it touched in one transaction. If another writer got there first (a
version or key-index conflict), the whole command runs again on fresh state.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording, Transcoding

from domain.accounts import Account
from domain.aggregate import LedgerAggregate
from domain.bulk import parse_action
from domain.commands import (
    AddNote,
    AmendSettings,
    ApplyToContacts,
    BackfillSync,
    ChangeConsent,
    ChangeContactFields,
    ChangeGroupMembers,
    ChangeParticipantFields,
    ChangeParticipantStatus,
    ChangeSettings,
    ChangeSiteAccount,
    ChangeSync,
    CreateGroup,
    CreateOrganiserEvent,
    DefineField,
    DeleteContact,
    DeleteParticipant,
    EraseContact,
    EraseParticipant,
    ImportRows,
    MergeContacts,
    RegisterParticipant,
    RequestPasswordReset,
    RestoreContact,
    SetProcessingStatus,
    SubmitForm,
    UnlockSiteAccount,
)
from domain.contacts import (
    Contact,
    ContactDeletedError,
    ContactKeyIndex,
    ContactMergedError,
    KeyTakenError,
    NotReachableError,
    SiteAccount,
)
from domain.fields import FieldDefinition, FieldType
from domain.import_rows import HalfAppliedRowError, RowImport, SeenKeys
from domain.keys import KeyHasher, key_values
from domain.meta import Meta
from domain.organiser_events import OrganiserEvent
from domain.participants import Participant
from domain.retention import ErasedError, restore_deadline
from domain.saved_views import SavedView
from domain.segments import Segment, SegmentError, parse_segment
from domain.sync import ContactSync, StaleSettingsError
from domain.unit_of_work import NotFoundError, Save, UnitOfWork

T = TypeVar("T", bound=LedgerAggregate)
MAX_ATTEMPTS = 25  # decisions of an import batch against a changing account
RETRY_SECONDS = 30.0  # how long a command that keeps losing races retries (then 503)
FIRST_PAUSE, MAX_PAUSE = 0.001, 0.25  # its back-off: doubling, jittered, capped
BUSY = "too many concurrent changes to the same records; try again"
BACKFILL_BATCH = 200
MAX_SELECTION = 1000  # contacts per group-membership command; more is a bulk job


class VersionMismatchError(Exception):
    """Raised when the caller's expected version (If-Match) is not the current one."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected} but the current version is {actual}")
        self.expected = expected
        self.actual = actual


class SyncDisabledError(Exception):
    """Raised when a backfill is asked for an event whose contact sync is off."""

    def __init__(self, organiser_event_id: UUID) -> None:
        super().__init__(
            f"contact sync is not enabled for event {organiser_event_id}; enable it first"
        )


class BusyError(Exception):
    """Raised when a command kept losing races with other writers and gave up."""


class InvalidInputError(ValueError):
    """Raised when a command's own shape is invalid (not a field value)."""


@dataclass(frozen=True)
class Outcome:
    """What a write answers: the resource, its version, and the log position."""

    id: UUID
    version: int
    position: int | None
    detail: Any = None
    state: Any = None  # the aggregate as the command left it (answers without a re-read)


@dataclass
class BulkStep:
    """What one batch of a bulk action did: changed, unchanged, skipped with reasons."""

    changed: int = 0
    unchanged: int = 0
    skipped: dict[UUID, str] = field(default_factory=dict)


@dataclass
class DecidedImport:
    """One batch of an import, decided in a unit of work not yet committed."""

    cmd: ImportRows
    at: datetime
    meta: Meta
    seen: SeenKeys | None
    excluded: dict[int, str] = field(default_factory=dict)  # line -> why, half-applied rows
    work: UnitOfWork | None = None
    rows: list[Any] = field(default_factory=list)  # each row's ImportedRow

    def changes_settings(self) -> bool:
        """Whether it changes what every batch reads (the account, say, on its first
        contact): the next batch is then decided once this one is saved."""
        assert self.work is not None
        return any(
            a.pending_events
            for a in self.work.aggregates.values()
            if isinstance(a, Account | OrganiserEvent)
        )


SKIP_REASONS: dict[type[Exception], str] = {
    NotFoundError: "not found",
    ErasedError: "erased",
    ContactDeletedError: "deleted",
}


class MetaAsDict(Transcoding):
    type = Meta
    name = "meta"

    def encode(self, obj: Meta) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> Meta:
        return Meta.from_dict(data)


class ContactLedger(Application[UUID]):
    """Commands over accounts, organiser events, participants and contacts."""

    name = "ContactLedger"

    def __init__(self, hasher: KeyHasher, env: dict[str, str] | None = None) -> None:
        super().__init__(env=env)
        self.hasher = hasher
        self._losers = threading.Lock()  # held by the one command retrying a lost race

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(MetaAsDict())

    @property
    def key_index(self) -> ContactKeyIndex:
        return cast(ContactKeyIndex, self.recorder)

    # --- loading (adapters may cache rarely-changing aggregates) ---------------------

    def load(self, aggregate_id: UUID, for_update: bool = True) -> LedgerAggregate:
        """The current state of an aggregate (raises AggregateNotFoundError).

        With `for_update=False` the caller promises not to modify it, so a cached
        instance shared with other commands may be returned.
        """
        aggregate: LedgerAggregate = self.repository.get(aggregate_id)
        return aggregate

    def load_many(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, LedgerAggregate]:
        """Several aggregates at once (adapters do it in one query); missing ones omitted."""
        found: dict[UUID, LedgerAggregate] = {}
        for aggregate_id in aggregate_ids:
            with contextlib.suppress(AggregateNotFoundError):
                found[aggregate_id] = self.load(aggregate_id)
        return found

    def save_aggregates(
        self, aggregates: Iterable[LedgerAggregate], **kwargs: Any
    ) -> list[Recording[UUID]]:
        """`Application.save` for aggregates only: the library's checks each object against
        two runtime Protocols, which costs more than collecting its events."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in aggregates:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def committed(self, aggregates: list[LedgerAggregate]) -> None:
        """Called after a unit of work is saved, with what it loaded for update."""

    def conflicted(self) -> None:
        """Called when a save lost a race: anything cached may be stale."""

    # --- running commands -----------------------------------------------------------

    def run(self, decide: Callable[[UnitOfWork], Any]) -> tuple[Any, int | None]:
        """Run `decide` in a fresh unit of work and commit; again if a writer raced us.

        A command that lost a race retries behind this process's other losers, one at a
        time, with exponential back-off and jitter, for up to RETRY_SECONDS: losers on one
        hot record then take turns instead of all racing again, here and against other
        processes (decision 0036)."""
        with contextlib.suppress(IntegrityError, StaleSettingsError):
            return self._attempt(decide)
        self.conflicted()
        deadline = time.monotonic() + RETRY_SECONDS
        if not self._losers.acquire(timeout=RETRY_SECONDS):
            raise BusyError(BUSY)
        try:
            for attempt in itertools.count(1):
                try:
                    return self._attempt(decide)
                except (IntegrityError, StaleSettingsError):
                    self.conflicted()
                pause = random.uniform(0, min(MAX_PAUSE, FIRST_PAUSE * 2**attempt))
                if time.monotonic() + pause > deadline:
                    raise BusyError(BUSY)
                time.sleep(pause)
        finally:
            self._losers.release()
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, decide: Callable[[UnitOfWork], Any]) -> tuple[Any, int | None]:
        work = UnitOfWork(self)
        result = decide(work)
        return result, work.commit()

    def _write(self, decide: Callable[[UnitOfWork], LedgerAggregate]) -> Outcome:
        target, position = self.run(decide)
        if position is None:
            position = self.recorder.max_notification_id()
        return Outcome(target.id, target.version, position, state=target)

    # --- accounts -------------------------------------------------------------------

    def open_account(self, name: str, at: datetime, meta: Meta) -> Outcome:
        """Open a new account with default settings."""
        return self._write(lambda work: _added(work, Account.open(name, at, meta)))

    def change_settings(self, cmd: ChangeSettings, at: datetime, meta: Meta) -> Outcome:
        """Change the uniqueness key, sync modes and restore window."""

        def decide(work: UnitOfWork) -> Account:
            account = work.account(cmd.account_id, for_update=True)
            _check_version(account, cmd.expected_version)
            account.change_settings(
                cmd.uniqueness_key, cmd.sync, cmd.restore_window_months, at, meta
            )
            return account

        return self._write(decide)

    def amend_settings(self, cmd: AmendSettings, at: datetime, meta: Meta) -> Outcome:
        """Change only the settings given; every field not named keeps its sync mode."""

        def decide(work: UnitOfWork) -> Account:
            account = work.account(cmd.account_id, for_update=True)
            _check_version(account, cmd.expected_version)
            account.amend_settings(
                cmd.uniqueness_key, cmd.sync, cmd.restore_window_months, at, meta
            )
            return account

        return self._write(decide)

    def define_field(self, cmd: DefineField, at: datetime, meta: Meta) -> Outcome:
        """Define an account field, or a local field of one organiser event."""
        definition = _definition(cmd)

        def decide(work: UnitOfWork) -> LedgerAggregate:
            account = work.account(cmd.account_id, for_update=cmd.organiser_event_id is None)
            if cmd.organiser_event_id is None:
                account.define_field(definition, at, meta)
                return account
            event = work.organiser_event(cmd.account_id, cmd.organiser_event_id, for_update=True)
            event.define_local_field(definition, account.catalogue, at, meta)
            return event

        return self._write(decide)

    def save_view(self, account_id: UUID, view: SavedView, at: datetime, meta: Meta) -> Outcome:
        """Save a grid view (filter, sort, columns) for everyone in the account."""

        def decide(work: UnitOfWork) -> Account:
            account = work.account(account_id, for_update=True)
            account.save_view(view, at, meta)
            return account

        return self._write(decide)

    def delete_view(self, account_id: UUID, view_id: UUID, at: datetime, meta: Meta) -> Outcome:
        """Delete a saved view."""

        def decide(work: UnitOfWork) -> Account:
            account = work.account(account_id, for_update=True)
            account.delete_view(view_id, at, meta)
            return account

        return self._write(decide)

    # --- organiser events -------------------------------------------------------------

    def create_organiser_event(
        self, cmd: CreateOrganiserEvent, at: datetime, meta: Meta
    ) -> Outcome:
        """Create an event or community in the account."""

        def decide(work: UnitOfWork) -> OrganiserEvent:
            account = work.account(cmd.account_id, for_update=True)
            event = OrganiserEvent.create(
                account.id, cmd.name, cmd.kind, cmd.starts_on, at, meta, cmd.series
            )
            account.add_organiser_event(event.id, at, meta)
            return _added(work, event)

        return self._write(decide)

    def change_sync(self, cmd: ChangeSync, at: datetime, meta: Meta) -> Outcome:
        """Turn contact sync on or off for an event, for everyone or a segment."""

        def decide(work: UnitOfWork) -> OrganiserEvent:
            event = work.organiser_event(cmd.account_id, cmd.organiser_event_id, for_update=True)
            _check_version(event, cmd.expected_version)
            event.change_sync(cmd.enabled, cmd.scope, cmd.segment, at, meta)
            return event

        return self._write(decide)

    def backfill_sync(
        self,
        cmd: BackfillSync,
        at: datetime,
        meta: Meta,
        batch_done: Callable[[int, int], None] | None = None,
    ) -> Outcome:
        """Sync the event's existing participants (optionally one segment) to contacts.

        One transaction per batch; `batch_done(size, joined)` is told after each.
        """
        segment = _segment(cmd.segment)
        event = self._read(OrganiserEvent, cmd.account_id, cmd.organiser_event_id)
        if not event.sync_enabled:
            raise SyncDisabledError(event.id)
        joined, position = 0, None
        for batch in _batches(self.participant_ids(event.id), BACKFILL_BATCH):
            count, batch_position = self.run(
                lambda work, ids=batch: self._backfill(work, cmd, ids, segment, at, meta)  # type: ignore[misc]
            )
            joined, position = joined + count, batch_position or position
            if batch_done is not None:
                batch_done(len(batch), count)
        return Outcome(
            event.id, event.version, position or self.recorder.max_notification_id(), joined
        )

    def _backfill(
        self,
        work: UnitOfWork,
        cmd: BackfillSync,
        ids: list[UUID],
        segment: Segment | None,
        at: datetime,
        meta: Meta,
    ) -> int:
        sync = ContactSync(work, at, meta)
        joined = 0
        for participant_id in ids:
            participant = work.participant(cmd.account_id, participant_id)
            wanted = segment is None or segment.matches(participant.record_for_filters)
            if wanted and not participant.deleted and participant.contact_id is None:
                sync.join(participant, "backfill")
                joined += 1
        return joined

    def participant_ids(self, organiser_event_id: UUID) -> Iterator[UUID]:
        """Every participant ever registered to the event, in log order."""
        topic = f"{Participant.Registered.__module__}:{Participant.Registered.__qualname__}"
        start = 1
        while True:
            page = self.recorder.select_notifications(start=start, limit=1000, topics=[topic])
            for notification in page:
                # The event id is a non-personal attribute: read it without unsealing.
                state = self.mapper.transcoder.decode(notification.state)
                if state["organiser_event_id"] == organiser_event_id:
                    yield UUID(str(notification.originator_id))
            if len(page) < 1000:
                return
            start = page[-1].id + 1

    # --- participants ---------------------------------------------------------------

    def register_participant(self, cmd: RegisterParticipant, at: datetime, meta: Meta) -> Outcome:
        """Register a person to an event; derive or link their contact if sync is on."""
        return self._write(lambda work: self._register(work, cmd, at, meta))

    def register_participants(
        self, cmds: list[RegisterParticipant], at: datetime, meta: Meta
    ) -> list[Outcome]:
        """Register many people in one transaction (imports, bulk intake)."""

        def decide(work: UnitOfWork) -> list[Participant]:
            self._prefetch_keys(work, cmds)
            return [self._register(work, cmd, at, meta) for cmd in cmds]

        participants, position = self.run(decide)
        return [Outcome(p.id, p.version, position) for p in participants]

    def import_rows(
        self, cmd: ImportRows, at: datetime, meta: Meta, seen: SeenKeys | None = None
    ) -> Outcome:
        """One batch of an import in one transaction; `detail` lists each row's ImportedRow.

        `seen` tells which keys earlier batches of the same import carried (and on which line).
        """
        return self.commit_import(self.decide_import(cmd, at, meta, seen))

    def decide_import(
        self, cmd: ImportRows, at: datetime, meta: Meta, seen: SeenKeys | None = None
    ) -> DecidedImport:
        """A batch decided but not saved: `commit_import` saves it (an importer decides the
        next batch while the database writes this one)."""
        decided = DecidedImport(cmd, at, meta, seen)
        stale = 0
        while True:
            work = UnitOfWork(self)
            try:
                decided.rows = self._import_decider(decided)(work)
            except HalfAppliedRowError as error:
                decided.excluded[error.line] = error.reason  # again, without that row
                continue
            except StaleSettingsError:  # the account changed while deciding: as `run` does
                self.conflicted()
                stale += 1
                if stale == MAX_ATTEMPTS:
                    raise BusyError("too many concurrent changes to the same records") from None
                continue
            decided.work = work
            return decided

    def commit_import(self, decided: DecidedImport, save: Save | None = None) -> Outcome:
        """Save a decided batch; if another writer changed what it read, decide it again
        (and save that here). `save`: see `UnitOfWork.commit`."""
        assert decided.work is not None, "decide_import first"
        return self.settle_import(decided, partial(decided.work.commit, save))

    def settle_import(self, decided: DecidedImport, saved: Callable[[], int | None]) -> Outcome:
        """A decided batch's outcome once `saved` answers its log position. A batch sent to
        be saved elsewhere (its unit of work committed with a save that only sends) is
        settled when the answer comes; if `saved` raises IntegrityError (or
        StaleSettingsError), it lost a race: it is decided again and saved here."""
        try:
            rows, position = decided.rows, saved()
        except (IntegrityError, StaleSettingsError):
            self.conflicted()
            rows, position = self._import_again(decided)
        if position is None:
            position = self.recorder.max_notification_id()
        cmd = decided.cmd
        return Outcome(cmd.organiser_event_id or cmd.account_id, 0, position, rows)

    def _import_again(self, decided: DecidedImport) -> tuple[list[Any], int | None]:
        while True:
            try:
                return self.run(self._import_decider(decided))
            except HalfAppliedRowError as error:
                decided.excluded[error.line] = error.reason

    def _import_decider(self, decided: DecidedImport) -> Callable[[UnitOfWork], list[Any]]:
        cmd, at, meta = decided.cmd, decided.at, decided.meta

        def register(work: UnitOfWork, registration: RegisterParticipant) -> Participant:
            return self._register(work, registration, at, meta, checked=True)

        def decide(work: UnitOfWork) -> list[Any]:
            return RowImport(work, cmd, at, meta, register, decided.excluded, decided.seen).run()

        return decide

    def _prefetch_keys(self, work: UnitOfWork, cmds: list[RegisterParticipant]) -> None:
        """One query for the key index entries of a whole batch."""
        for account_id in {cmd.account_id for cmd in cmds}:
            key = work.account(account_id).uniqueness_key
            found = [key_values(key, c.fields) for c in cmds if c.account_id == account_id]
            digests = {self.hasher.digest(account_id, values) for values in found if values}
            contact_ids = work.prefetch_keys(account_id, digests)
            contacts = work.preload(contact_ids)
            work.preload({p for c in contacts if isinstance(c, Contact) for p in c.participants})

    def _register(
        self,
        work: UnitOfWork,
        cmd: RegisterParticipant,
        at: datetime,
        meta: Meta,
        checked: bool = False,
    ) -> Participant:
        """`checked`: the values were validated against the event's fields (an import's)."""
        account = work.account(cmd.account_id)
        event = work.organiser_event(cmd.account_id, cmd.organiser_event_id)
        if checked:
            values = dict(cmd.fields)
        else:
            values = event.catalogue(account.catalogue).validate(cmd.fields)
        admitted = event.admits({**values, "status": cmd.status})
        sync = ContactSync(work, at, meta)
        participant_id = uuid4()
        contact, found = sync.newcomer(participant_id, event, values) if admitted else (None, False)
        participant = Participant.register(
            account.id,
            event.id,
            values,
            cmd.status,
            cmd.source,
            at,
            meta,
            sync_reason="registration" if admitted else None,
            participant_id=participant_id,
            contact_id=None if contact is None else contact.id,
        )
        work.add(participant)
        if contact is not None and found:
            sync.settle(participant, contact)
        return participant

    def change_participant_fields(
        self, cmd: ChangeParticipantFields, at: datetime, meta: Meta
    ) -> Outcome:
        """Edit a participant's fields; synced fields go up, propagated ones come down."""

        def decide(work: UnitOfWork) -> Participant:
            participant, event = self._participant(work, cmd)
            account = work.account(cmd.account_id)
            values = event.catalogue(account.catalogue).validate(cmd.fields)
            admitted_before = event.admits(participant.record_for_filters)
            changed = participant.change_fields(values, at, meta)
            if changed:
                sync = ContactSync(work, at, meta)
                sync.participant_changed(participant, event, changed, admitted_before)
            return participant

        return self._write(decide)

    def change_participant_status(
        self, cmd: ChangeParticipantStatus, at: datetime, meta: Meta
    ) -> Outcome:
        """Move a participant along the status machine (F7)."""

        def decide(work: UnitOfWork) -> Participant:
            participant, event = self._participant(work, cmd)
            admitted_before = event.admits(participant.record_for_filters)
            version_before = participant.version
            participant.change_status(cmd.status, at, meta)
            if participant.version != version_before:
                sync = ContactSync(work, at, meta)
                sync.participant_changed(participant, event, (), admitted_before)
            return participant

        return self._write(decide)

    def delete_participant(self, cmd: DeleteParticipant, at: datetime, meta: Meta) -> Outcome:
        """Delete one participant (this event only); it leaves its contact."""

        def decide(work: UnitOfWork) -> Participant:
            participant = work.participant(cmd.account_id, cmd.participant_id)
            _check_event(participant, cmd.organiser_event_id)
            _check_version(participant, cmd.expected_version)
            if participant.deleted:
                return participant
            if participant.contact_id is not None:
                contact = work.contact(cmd.account_id, participant.contact_id)
                contact.unlink(participant.id, at, meta)
                participant.unlink(at, meta)
            months = work.account(cmd.account_id).restore_window_months
            participant.delete(restore_deadline(at, months), at, meta)
            return participant

        return self._write(decide)

    @staticmethod
    def _participant(
        work: UnitOfWork, cmd: ChangeParticipantFields | ChangeParticipantStatus
    ) -> tuple[Participant, OrganiserEvent]:
        participant = work.participant(cmd.account_id, cmd.participant_id)
        _check_event(participant, cmd.organiser_event_id)
        _check_version(participant, cmd.expected_version)
        return participant, work.organiser_event(cmd.account_id, cmd.organiser_event_id)

    # --- contacts -------------------------------------------------------------------

    def change_contact_fields(self, cmd: ChangeContactFields, at: datetime, meta: Meta) -> Outcome:
        """Edit a contact; only up_and_propagate fields flow down to its participants."""

        def decide(work: UnitOfWork) -> Contact:
            contact = work.contact(cmd.account_id, cmd.contact_id)
            _check_version(contact, cmd.expected_version)
            contact.check_live()
            values = work.account(cmd.account_id).catalogue.validate(cmd.fields)
            ContactSync(work, at, meta).contact_edited(contact, values)
            return contact

        return self._write(decide)

    def _change_contact(
        self,
        account_id: UUID,
        contact_id: UUID,
        expected_version: int | None,
        change: Callable[[Contact], object],
    ) -> Outcome:
        def decide(work: UnitOfWork) -> Contact:
            contact = work.contact(account_id, contact_id)
            _check_version(contact, expected_version)
            contact.check_live()
            change(contact)
            return contact

        return self._write(decide)

    def set_processing_status(self, cmd: SetProcessingStatus, at: datetime, meta: Meta) -> Outcome:
        """Set a contact's processing status (new, in_progress, processed)."""
        return self._change_contact(
            cmd.account_id,
            cmd.contact_id,
            cmd.expected_version,
            lambda contact: contact.set_processing_status(cmd.status, at, meta),
        )

    def change_consent(self, cmd: ChangeConsent, at: datetime, meta: Meta) -> Outcome:
        """Give or withdraw a contact's marketing consent."""

        def change(contact: Contact) -> None:
            if cmd.given:
                contact.give_consent(cmd.given_at or at, cmd.source, at, meta)
            else:
                contact.withdraw_consent(cmd.source, at, meta)

        return self._change_contact(cmd.account_id, cmd.contact_id, cmd.expected_version, change)

    def change_site_account(self, cmd: ChangeSiteAccount, at: datetime, meta: Meta) -> Outcome:
        """Record the state of the person's site account as the site reports it."""
        state = SiteAccount(cmd.confirmed, cmd.locked_until, cmd.failed_attempts)
        return self._change_contact(
            cmd.account_id,
            cmd.contact_id,
            cmd.expected_version,
            lambda contact: contact.change_site_account(state, at, meta),
        )

    def unlock_site_account(self, cmd: UnlockSiteAccount, at: datetime, meta: Meta) -> Outcome:
        return self._change_contact(
            cmd.account_id,
            cmd.contact_id,
            cmd.expected_version,
            lambda contact: contact.unlock(at, meta),
        )

    # --- notes, forms, messages (F8, F9) ---------------------------------------------

    def add_note(self, cmd: AddNote, at: datetime, meta: Meta) -> Outcome:
        """Write an internal note on a contact; answers the note's id in `detail`."""
        note_id = uuid4()
        outcome = self._change_contact(
            cmd.account_id,
            cmd.contact_id,
            cmd.expected_version,
            lambda contact: contact.add_note(note_id, cmd.text, at, meta),
        )
        return replace(outcome, detail={"note_id": note_id})

    def submit_form(self, cmd: SubmitForm, at: datetime, meta: Meta) -> Outcome:
        """Take a site form: the contact of its key is created or updated, and keeps it."""
        submission_id = uuid4()

        def decide(work: UnitOfWork) -> tuple[Contact, bool]:
            account = work.account(cmd.account_id)
            values = account.catalogue.validate(cmd.fields)
            sync = ContactSync(work, at, meta)
            contact, created = sync.contact_of(values, account.id)
            sync.contact_edited(contact, values)
            contact.submit_form(submission_id, cmd.form, cmd.page, cmd.message, values, at, meta)
            return contact, created

        (contact, created), position = self.run(decide)
        detail = {"submission_id": submission_id, "created": created}
        return Outcome(contact.id, contact.version, position, detail, contact)

    def request_password_reset(
        self, cmd: RequestPasswordReset, at: datetime, meta: Meta
    ) -> Outcome:
        """Ask the mailer to send the person a password-reset email (an outbox message)."""
        message_id = uuid4()
        outcome = self._change_contact(
            cmd.account_id,
            cmd.contact_id,
            None,
            lambda contact: contact.request_message(message_id, "password_reset", "", at, meta),
        )
        return replace(outcome, detail={"message_id": message_id})

    def apply_to_contacts(self, cmd: ApplyToContacts, at: datetime, meta: Meta) -> Outcome:
        """One batch of a bulk action, in one transaction; `detail` is its BulkStep."""

        def decide(work: UnitOfWork) -> BulkStep:
            account = work.account(cmd.account_id)
            action = parse_action(cmd.action, cmd.params, account)
            work.preload(set(cmd.contact_ids))
            sync = ContactSync(work, at, meta)
            step = BulkStep()
            for contact_id in dict.fromkeys(cmd.contact_ids):
                try:
                    contact = work.contact(account.id, contact_id)
                    contact.check_live()
                    changed = action.apply(sync, contact, cmd.job_id, at, meta)
                except (NotFoundError, ErasedError, ContactDeletedError) as error:
                    step.skipped[contact_id] = SKIP_REASONS[type(error)]
                except ContactMergedError as error:
                    step.skipped[contact_id] = f"merged into {error.survivor_id}"
                except NotReachableError as error:
                    step.skipped[contact_id] = str(error)
                else:
                    step.changed += changed
                    step.unchanged += not changed
            return step

        step, position = self.run(decide)
        if position is None:
            position = self.recorder.max_notification_id()
        return Outcome(cmd.job_id, 0, position, detail=step)

    # --- deletion, restore, erasure (F11, F12) ----------------------------------------

    def delete_contact(self, cmd: DeleteContact, at: datetime, meta: Meta) -> Outcome:
        """Hide a contact and its participants in every event, restorable for a while."""

        def decide(work: UnitOfWork) -> Contact:
            contact = work.contact(cmd.account_id, cmd.contact_id)
            _check_version(contact, cmd.expected_version)
            account = work.account(cmd.account_id)
            deadline = restore_deadline(at, account.restore_window_months)
            if contact.delete(deadline, at, meta):
                self._release_key(work, account, contact)
                for participant in _linked(work, contact, contact.participants):
                    participant.delete(deadline, at, meta, with_contact=contact.id)
            return contact

        return self._write(decide)

    def restore_contact(self, cmd: RestoreContact, at: datetime, meta: Meta) -> Outcome:
        """Bring a deleted contact back as it was, unless another now holds its key."""

        def decide(work: UnitOfWork) -> Contact:
            contact = work.contact(cmd.account_id, cmd.contact_id)
            _check_version(contact, cmd.expected_version)
            if not contact.restore(at, meta):
                return contact
            account = work.account(cmd.account_id)
            for digest in self._key_digests(work, account, contact).values():
                holder = work.contact_for_key(account.id, digest)
                if holder is not None and holder != contact.id:
                    raise KeyTakenError(holder)
                if holder is None:
                    work.claim(account.id, digest, contact.id)
            for participant in _linked(work, contact, contact.participants):
                participant.restore_with(contact.id, at, meta)
            return contact

        return self._write(decide)

    def erase_contact(self, cmd: EraseContact, at: datetime, meta: Meta) -> Outcome:
        """Forget the person: its participants too; their keys are destroyed in the same
        transaction. With `due_at` (the purge) only a contact whose window is over."""

        def decide(work: UnitOfWork) -> tuple[Contact, dict[str, Any]]:
            contact = work.contact(cmd.account_id, cmd.contact_id)
            if contact.erased or (cmd.due_at is not None and not _due(contact, cmd.due_at)):
                return contact, {}
            contact.check_not_merged()  # the person lives on in the survivor: erase that
            if not contact.deleted:
                self._release_key(work, work.account(cmd.account_id), contact)
            tombstones = _tombstones(work, contact)
            erased = _erase_subject(work, contact, cmd.reason, at, meta)
            for tombstone in tombstones:  # same person: its sealed data goes too (F10)
                erased += _erase_subject(work, tombstone, cmd.reason, at, meta)
            return contact, {
                "participants_erased": len(erased),
                "participant_ids": erased,
                "merged_erased": len(tombstones),
                "merged_ids": [t.id for t in tombstones],
            }

        (contact, detail), position = self.run(decide)
        return self._erased(contact, position, detail)

    def erase_participant(self, cmd: EraseParticipant, at: datetime, meta: Meta) -> Outcome:
        """Erase a participant deleted on its own once its window is over (the purge)."""

        def decide(work: UnitOfWork) -> Participant:
            participant = work.participant(cmd.account_id, cmd.participant_id)
            alone = participant.deleted_with is None
            if _due(participant, cmd.due_at) and alone and participant.erase("purge", at, meta):
                work.shred(cmd.account_id, participant.id, at)
            return participant

        participant, position = self.run(decide)
        return self._erased(participant, position, {"participants_erased": 1})

    def _erased(self, target: LedgerAggregate, position: int | None, detail: Any) -> Outcome:
        """`detail` only if this command erased (not if it was done or not due yet)."""
        if position is None:
            return Outcome(target.id, target.version, self.recorder.max_notification_id())
        return Outcome(target.id, target.version, position, detail=detail, state=target)

    def _digest_of(self, account: Account, contact: Contact) -> str | None:
        values = key_values(account.uniqueness_key, contact.fields)
        return None if values is None else self.hasher.digest(account.id, values)

    def _release_key(self, work: UnitOfWork, account: Account, contact: Contact) -> None:
        for digest in self._key_digests(work, account, contact).values():
            if work.contact_for_key(account.id, digest) == contact.id:
                work.release(account.id, digest, contact.id)

    def _key_digests(self, work: UnitOfWork, account: Account, contact: Contact) -> dict[UUID, str]:
        """The digests a live contact holds: its own, and those of the merged contacts
        whose entries it took over (by the contact whose key values give it)."""
        owners = [
            contact,
            *(work.contact(account.id, i) for i in sorted(contact.keys_from, key=str)),
        ]
        found: dict[UUID, str] = {}
        for owner in owners:
            digest = self._digest_of(account, owner)
            if digest is not None and digest not in found.values():
                found[owner.id] = digest
        return found

    # --- merge (F10) ----------------------------------------------------------------

    def merge_contacts(self, cmd: MergeContacts, at: datetime, meta: Meta) -> Outcome:
        """Merge two contacts of one person; the other is kept as a tombstone."""
        if cmd.survivor_id == cmd.merged_id:
            raise InvalidInputError("a contact cannot be merged into itself")

        def decide(work: UnitOfWork) -> Contact:
            survivor = work.contact(cmd.account_id, cmd.survivor_id)
            _check_version(survivor, cmd.expected_version)
            survivor.check_live()
            merged = work.contact(cmd.account_id, cmd.merged_id)
            merged.check_mergeable(at)
            account = work.account(cmd.account_id)
            keys_from = self._take_over_keys(work, account, merged, survivor)
            for participant in _linked(work, merged, merged.participants):
                participant.restore_with(merged.id, at, meta)  # deleted with it: back
                merged.unlink(participant.id, at, meta)
                participant.unlink(at, meta)
                survivor.link(participant.id, participant.organiser_event_id, at, meta)  # type: ignore[arg-type]
                participant.link(survivor.id, at, meta)
            survivor.absorb(merged, keys_from, account.uniqueness_key, at, meta)
            merged.merge_into(survivor.id, at, meta)
            ContactSync(work, at, meta).merged(survivor)
            return survivor

        return self._write(decide)

    def _take_over_keys(
        self, work: UnitOfWork, account: Account, merged: Contact, survivor: Contact
    ) -> list[UUID]:
        """Point the merged contact's key entries at the survivor; a deleted one's released
        entries only if still free (a newcomer keeps the key it registered with)."""
        taken = []
        for owner_id, digest in self._key_digests(work, account, merged).items():
            holder = work.contact_for_key(account.id, digest)
            if holder == merged.id:
                work.release(account.id, digest, merged.id)
            elif holder is not None:
                continue
            work.claim(account.id, digest, survivor.id)
            taken.append(owner_id)
        return taken

    def merged_contacts(self, contact: Contact) -> list[Contact]:
        """The tombstones merged into this contact, directly or through other merges."""
        return _tombstones(UnitOfWork(self), contact)

    # --- groups ---------------------------------------------------------------------

    def create_group(self, cmd: CreateGroup, at: datetime, meta: Meta) -> Outcome:
        """Create a group of contacts; answers the group's id."""

        def decide(work: UnitOfWork) -> tuple[UUID, Account]:
            account = work.account(cmd.account_id, for_update=True)
            return account.create_group(cmd.name, at, meta), account

        (group_id, account), position = self.run(decide)
        return Outcome(group_id, account.version, position, detail={"name": cmd.name.strip()})

    def change_group_members(self, cmd: ChangeGroupMembers, at: datetime, meta: Meta) -> Outcome:
        """Add (or remove) the selected contacts; all of them or, on any error, none."""
        if not 1 <= len(cmd.contact_ids) <= MAX_SELECTION:
            raise InvalidInputError(f"select 1 to {MAX_SELECTION} contacts (more: a bulk job)")

        def decide(work: UnitOfWork) -> int:
            if cmd.group_id not in work.account(cmd.account_id).groups:
                raise NotFoundError("group", cmd.group_id)
            work.preload(set(cmd.contact_ids))
            changed = 0
            for contact_id in dict.fromkeys(cmd.contact_ids):
                contact = work.contact(cmd.account_id, contact_id)
                contact.check_live()
                move = contact.remove_from_group if cmd.remove else contact.add_to_group
                changed += move(cmd.group_id, at, meta)
            return changed

        changed, position = self.run(decide)
        if position is None:
            position = self.recorder.max_notification_id()
        return Outcome(cmd.group_id, 0, position, detail={"changed": changed})

    # --- reads ----------------------------------------------------------------------

    def _read(self, cls: type[T], account_id: UUID, aggregate_id: UUID) -> T:
        return UnitOfWork(self).get(cls, account_id, aggregate_id)

    def account(self, account_id: UUID) -> Account:
        return self._read(Account, account_id, account_id)

    def organiser_event(self, account_id: UUID, organiser_event_id: UUID) -> OrganiserEvent:
        return self._read(OrganiserEvent, account_id, organiser_event_id)

    def participant(
        self, account_id: UUID, organiser_event_id: UUID, participant_id: UUID
    ) -> Participant:
        participant = self._read(Participant, account_id, participant_id)
        _check_event(participant, organiser_event_id)
        return participant

    def contact(self, account_id: UUID, contact_id: UUID) -> Contact:
        return self._read(Contact, account_id, contact_id)


def _added(work: UnitOfWork, aggregate: T) -> T:
    work.add(aggregate)
    return aggregate


def _linked(work: UnitOfWork, contact: Contact, ids: Iterable[UUID]) -> list[Participant]:
    """The participants of a contact (loaded together), in a stable order."""
    wanted = sorted(ids, key=str)
    work.preload(set(wanted))
    return [work.participant(contact.account_id, i) for i in wanted]  # type: ignore[arg-type]


def _due(record: Contact | Participant, as_of: datetime) -> bool:
    """Deleted, not erased, and its restore window is over at `as_of` (a merged tombstone
    never is: it goes with its survivor)."""
    until = record.restore_until
    return record.deleted and not record.erased and until is not None and until <= as_of


def _erase_subject(
    work: UnitOfWork, contact: Contact, reason: str, at: datetime, meta: Meta
) -> list[UUID]:
    """Erase a contact and its participants (not those another contact has now); their
    keys are shredded in the same transaction. Returns the participants erased."""
    erased = []
    for participant in _linked(work, contact, contact.ever_linked):
        mine = participant.contact_id in (None, contact.id)
        if mine and participant.erase(reason, at, meta):
            work.shred(contact.account_id, participant.id, at)  # type: ignore[arg-type]
            erased.append(participant.id)
    if contact.erase(reason, at, meta):
        work.shred(contact.account_id, contact.id, at)  # type: ignore[arg-type]
    return erased


def _tombstones(work: UnitOfWork, contact: Contact) -> list[Contact]:
    """Every contact merged into this one, through chains of merges, in a stable order."""
    found: dict[UUID, Contact] = {}
    waiting = sorted(contact.merged_from, key=str)
    while waiting:
        tombstone = work.contact(contact.account_id, waiting.pop(0))  # type: ignore[arg-type]
        if tombstone.id not in found:
            found[tombstone.id] = tombstone
            waiting.extend(sorted(tombstone.merged_from, key=str))
    return list(found.values())


def _check_event(participant: Participant, organiser_event_id: UUID) -> None:
    if participant.organiser_event_id != organiser_event_id:
        raise NotFoundError("participant", participant.id)


def _check_version(aggregate: LedgerAggregate, expected: int | None) -> None:
    if expected is not None and aggregate.version != expected:
        raise VersionMismatchError(expected, aggregate.version)


def _definition(cmd: DefineField) -> FieldDefinition:
    try:
        kind = FieldType(cmd.type)
    except ValueError:
        kinds = ", ".join(t.value for t in FieldType)
        raise InvalidInputError(f"type must be one of {kinds}") from None
    return FieldDefinition(cmd.name, kind, cmd.label, cmd.options, cmd.group, cmd.help)


def _segment(data: dict[str, Any] | None) -> Segment | None:
    if data is None:
        return None
    try:
        return parse_segment(data)
    except SegmentError as error:
        raise InvalidInputError(f"segment: {error}") from None


def _batches(items: Iterator[UUID], size: int) -> Iterator[list[UUID]]:
    batch: list[UUID] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
