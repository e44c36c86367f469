"""A small language for tests: given facts, when a command, then the new facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from adapters.ledger import SealedContactLedger
from domain import commands
from domain.application import Outcome
from domain.contacts import Contact
from domain.import_rows import ImportedRow
from domain.meta import Meta
from domain.participants import Participant

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


class World:
    def __init__(self, ledger: SealedContactLedger) -> None:
        self.ledger = ledger
        self.now = T0
        self.meta = Meta("tester", "admin", "http", str(uuid4()))

    def tick(self, seconds: float = 1) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    # --- given ----------------------------------------------------------------------

    def account(
        self, key: tuple[str, ...] = ("email",), sync: dict[str, str] | None = None
    ) -> UUID:
        account_id = self.ledger.open_account("Organiser", self.tick(), self.meta).id
        cmd = commands.ChangeSettings(account_id, key, sync or {}, 2)
        self.ledger.change_settings(cmd, self.tick(), self.meta)
        return account_id

    def event(
        self,
        account_id: UUID,
        sync: bool = True,
        scope: str = "all",
        segment: dict[str, Any] | None = None,
        kind: str = "event",
        several_bookings: bool = False,
    ) -> UUID:
        name = f"Event {uuid4().hex[:6]}"
        cmd = commands.CreateOrganiserEvent(
            account_id, name, kind, several_bookings=several_bookings
        )
        event_id = self.ledger.create_organiser_event(cmd, self.tick(), self.meta).id
        if sync:
            self.sync(account_id, event_id, True, scope, segment)
        return event_id

    def sync(
        self,
        account_id: UUID,
        event_id: UUID,
        enabled: bool = True,
        scope: str = "all",
        segment: dict[str, Any] | None = None,
    ) -> Outcome:
        cmd = commands.ChangeSync(account_id, event_id, enabled, scope, segment)
        return self.ledger.change_sync(cmd, self.tick(), self.meta)

    # --- when -----------------------------------------------------------------------

    def register(
        self, account_id: UUID, event_id: UUID, status: str = "registered", **fields: Any
    ) -> UUID:
        cmd = commands.RegisterParticipant(account_id, event_id, fields, status, "api")
        return self.ledger.register_participant(cmd, self.tick(), self.meta).id

    def edit(
        self,
        account_id: UUID,
        event_id: UUID,
        participant_id: UUID,
        at: datetime | None = None,
        **fields: Any,
    ) -> Outcome:
        cmd = commands.ChangeParticipantFields(account_id, event_id, participant_id, fields)
        return self.ledger.change_participant_fields(cmd, at or self.tick(), self.meta)

    def status(
        self, account_id: UUID, event_id: UUID, participant_id: UUID, status: str
    ) -> Outcome:
        cmd = commands.ChangeParticipantStatus(account_id, event_id, participant_id, status)
        return self.ledger.change_participant_status(cmd, self.tick(), self.meta)

    def edit_contact(
        self, account_id: UUID, contact_id: UUID, at: datetime | None = None, **fields: Any
    ) -> Outcome:
        cmd = commands.ChangeContactFields(account_id, contact_id, fields)
        return self.ledger.change_contact_fields(cmd, at or self.tick(), self.meta)

    def backfill(
        self, account_id: UUID, event_id: UUID, segment: dict[str, Any] | None = None
    ) -> Outcome:
        cmd = commands.BackfillSync(account_id, event_id, segment)
        return self.ledger.backfill_sync(cmd, self.tick(), self.meta)

    def import_rows(
        self,
        account_id: UUID,
        event_id: UUID | None,
        *rows: dict[str, Any],
        mode: str = "create_and_update",
        group_id: UUID | None = None,
        first_line: int = 2,
    ) -> list[ImportedRow]:
        """Import `rows` (cells by field name) as one batch; lines count from `first_line`."""
        lines = tuple(enumerate(rows, start=first_line))
        cmd = commands.ImportRows(account_id, event_id, lines, mode, group_id)
        detail: list[ImportedRow] = self.ledger.import_rows(cmd, self.tick(), self.meta).detail
        return detail

    # --- then -----------------------------------------------------------------------

    def group(self, account_id: UUID, name: str) -> UUID:
        cmd = commands.CreateGroup(account_id, name)
        return self.ledger.create_group(cmd, self.tick(), self.meta).id

    def participant(self, account_id: UUID, participant_id: UUID) -> Participant:
        participant = self.ledger.repository.get(participant_id)
        assert isinstance(participant, Participant)
        assert participant.account_id == account_id
        return participant

    def contact_of(self, account_id: UUID, participant_id: UUID) -> Contact | None:
        contact_id = self.participant(account_id, participant_id).contact_id
        return None if contact_id is None else self.ledger.contact(account_id, contact_id)

    def position(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0

    def facts_since(self, position: int) -> list[str]:
        """Names of the events recorded after `position`, e.g. 'Participant.Linked'."""
        names = []
        for notification in self.ledger.recorder.select_notifications(
            start=position + 1, limit=10_000
        ):
            names.append(notification.topic.split(":")[1])
        return names

    def domain_events_since(self, position: int) -> list[Any]:
        return [
            self.ledger.mapper.to_domain_event(n)
            for n in self.ledger.recorder.select_notifications(start=position + 1, limit=10_000)
        ]
