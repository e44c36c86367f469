"""Commands that set an account up: settings, fields, views, organiser events and their sync."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from domain.accounts import Account
from domain.aggregate import LedgerAggregate
from domain.commands import (
    AmendSettings,
    BackfillSync,
    ChangeOrganiserEventDetails,
    ChangeSettings,
    ChangeSync,
    CreateOrganiserEvent,
    DefineField,
)
from domain.fields import FieldDefinition, FieldType
from domain.ledger_core import (
    BACKFILL_BATCH,
    InvalidInputError,
    LedgerCore,
    Outcome,
    SyncDisabledError,
    check_version,
)
from domain.meta import Meta
from domain.organiser_events import OrganiserEvent
from domain.participants import Participant
from domain.saved_views import SavedView
from domain.segments import Segment, SegmentError, parse_segment
from domain.sync import ContactSync
from domain.unit_of_work import UnitOfWork

T = TypeVar("T", bound=LedgerAggregate)


class SetupCommands(LedgerCore):
    """Accounts (settings, fields, saved views) and organiser events (contact sync)."""

    def open_account(self, name: str, at: datetime, meta: Meta) -> Outcome:
        """Open a new account with default settings."""
        return self._write(lambda work: _added(work, Account.open(name, at, meta)))

    def change_settings(self, cmd: ChangeSettings, at: datetime, meta: Meta) -> Outcome:
        """Change the uniqueness key, sync modes and restore window."""
        return self._change_account(
            cmd.account_id,
            cmd.expected_version,
            lambda account: account.change_settings(
                cmd.uniqueness_key, cmd.sync, cmd.restore_window_months, at, meta
            ),
        )

    def amend_settings(self, cmd: AmendSettings, at: datetime, meta: Meta) -> Outcome:
        """Change only the settings given; every field not named keeps its sync mode."""
        return self._change_account(
            cmd.account_id,
            cmd.expected_version,
            lambda account: account.amend_settings(
                cmd.uniqueness_key, cmd.sync, cmd.restore_window_months, at, meta
            ),
        )

    def _change_account(
        self, account_id: UUID, expected_version: int | None, change: Callable[[Account], None]
    ) -> Outcome:
        def decide(work: UnitOfWork) -> Account:
            account = work.account(account_id, for_update=True)
            check_version(account, expected_version)
            change(account)
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
                account.id,
                cmd.name,
                cmd.kind,
                cmd.starts_on,
                at,
                meta,
                cmd.series,
                cmd.several_bookings,
            )
            account.add_organiser_event(event.id, at, meta)
            return _added(work, event)

        return self._write(decide)

    def change_organiser_event_details(
        self, cmd: ChangeOrganiserEventDetails, at: datetime, meta: Meta
    ) -> Outcome:
        """Change an event's name, start date, series or bookings rule: only those given."""

        def decide(work: UnitOfWork) -> OrganiserEvent:
            event = work.organiser_event(cmd.account_id, cmd.organiser_event_id, for_update=True)
            check_version(event, cmd.expected_version)
            event.change_details(
                at,
                meta,
                name=cmd.name,
                starts_on=cmd.starts_on,
                series=cmd.series,
                several_bookings=cmd.several_bookings,
            )
            return event

        return self._write(decide)

    def change_sync(self, cmd: ChangeSync, at: datetime, meta: Meta) -> Outcome:
        """Turn contact sync on or off for an event, for everyone or a segment."""

        def decide(work: UnitOfWork) -> OrganiserEvent:
            event = work.organiser_event(cmd.account_id, cmd.organiser_event_id, for_update=True)
            check_version(event, cmd.expected_version)
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


def _added(work: UnitOfWork, aggregate: T) -> T:
    work.add(aggregate)
    return aggregate


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
