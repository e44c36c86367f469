"""Commands on participants: register (one or many), edit, change status, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from domain.batch import Registering
from domain.commands import (
    ChangeParticipantFields,
    ChangeParticipantStatus,
    DeleteParticipant,
    RegisterParticipant,
)
from domain.keys import key_values
from domain.ledger_core import LedgerCore, Outcome, check_event, check_version
from domain.meta import Meta
from domain.organiser_events import OrganiserEvent
from domain.participants import Participant
from domain.retention import restore_deadline
from domain.sync import ContactSync
from domain.unit_of_work import UnitOfWork


class AlreadyBookedError(Exception):
    """Raised when a person is registered again in an event that allows one booking each."""

    def __init__(self, participant_id: UUID) -> None:
        super().__init__(
            f"this person is already registered in this event as participant {participant_id}"
        )
        self.participant_id = participant_id


class ParticipantCommands(LedgerCore):
    """Registering people to organiser events, and changing or deleting a participant."""

    def register_participant(self, cmd: RegisterParticipant, at: datetime, meta: Meta) -> Outcome:
        """Register a person to an event; derive or link their contact if sync is on."""
        return self._write(Registering(cmd, lambda work: register_in(work, cmd, at, meta)))

    def register_participants(
        self, cmds: list[RegisterParticipant], at: datetime, meta: Meta
    ) -> list[Outcome]:
        """Register many people in one transaction (imports, bulk intake)."""

        def decide(work: UnitOfWork) -> list[Participant]:
            self.prefetch_keys(work, cmds)
            return [register_in(work, cmd, at, meta) for cmd in cmds]

        participants, position = self.run(decide)
        return [Outcome(p.id, p.version, position) for p in participants]

    def change_participant_fields(
        self, cmd: ChangeParticipantFields, at: datetime, meta: Meta
    ) -> Outcome:
        """Edit a participant's fields; synced fields go up, propagated ones come down."""

        def decide(work: UnitOfWork) -> Participant:
            participant, event = self._participant(work, cmd)
            account = work.account(cmd.account_id)
            values = event.catalogue(account.catalogue).validate(cmd.fields)
            rebooked = _rebooking(work, event, participant, values)
            admitted_before = event.admits(participant.record_for_filters)
            changed = participant.change_fields(values, at, meta)
            if rebooked is not None:
                work.claim(event.id, rebooked, participant.id)
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
            check_event(participant, cmd.organiser_event_id)
            check_version(participant, cmd.expected_version)
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
        check_event(participant, cmd.organiser_event_id)
        check_version(participant, cmd.expected_version)
        return participant, work.organiser_event(cmd.account_id, cmd.organiser_event_id)


def _rebooking(
    work: UnitOfWork, event: OrganiserEvent, participant: Participant, values: dict[str, Any]
) -> str | None:
    """The key digest an edit moves a participant to in an event with one booking each
    (None: no move, or several bookings). Raises AlreadyBookedError if another live
    participant of the event has that key: the edit would make a second booking."""
    if event.several_bookings or participant.deleted:
        return None
    new = booking_key(work, event, {**participant.fields, **values}, participant.id)
    return None if new == work.event_key(participant) else new


def register_in(
    work: UnitOfWork,
    cmd: RegisterParticipant,
    at: datetime,
    meta: Meta,
    checked: bool = False,
) -> Participant:
    """Register one person in this unit of work (one or many registrations, an import's
    rows). `checked`: the values were validated against the event's fields (an import's)."""
    account = work.account(cmd.account_id)
    event = work.organiser_event(cmd.account_id, cmd.organiser_event_id)
    if checked:
        values = dict(cmd.fields)
    else:
        values = event.catalogue(account.catalogue).validate(cmd.fields)
    booking = None if event.several_bookings else booking_key(work, event, values)
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
    if booking is not None:
        work.claim(event.id, booking, participant.id)
    if contact is not None and found:
        sync.settle(participant, contact)
    return participant


def booking_key(
    work: UnitOfWork, event: OrganiserEvent, values: dict[str, Any], who: UUID | None = None
) -> str | None:
    """The digest a person with `values` takes in the event's key index: None without a
    key. Raises AlreadyBookedError if a live participant of the event other than `who`
    holds it (decision 0050); the caller claims it, so a registration racing in another
    process loses."""
    account = work.account(event.account_id)  # type: ignore[arg-type]
    found = key_values(account.uniqueness_key, values)
    if found is None:
        return None
    digest = work.digest(account.id, found)
    holder = work.contact_for_key(event.id, digest)
    if holder is not None and holder != who:
        raise AlreadyBookedError(holder)
    return digest
