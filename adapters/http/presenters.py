"""Aggregates to response bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypedDict
from uuid import UUID

from adapters.http import schemas
from domain.accounts import Account
from domain.application import ContactLedger
from domain.contacts import Contact
from domain.fields import IDENTITY_FIELDS, FieldDefinition
from domain.ledger_contacts import Superseded
from domain.organiser_events import OrganiserEvent
from domain.participants import Participant
from domain.retention import ErasedError
from domain.sync_modes import IDENTITY_NAMES


def readable_contact(ledger: ContactLedger, account_id: UUID, contact_id: UUID) -> Contact:
    """The contact a read asks for; an erased one is gone (410), however it was erased."""
    contact = ledger.contact(account_id, contact_id)
    if contact.erased:
        raise ErasedError("contact", contact.id)
    return contact


def settings_out(account: Account) -> schemas.SettingsOut:
    return schemas.SettingsOut(
        account_id=account.id,
        name=account.name,
        version=account.version,
        uniqueness_key=list(account.uniqueness_key),
        sync=account.effective_sync,
        restore_window_months=account.restore_window_months,
        warnings=[_only_key_warning(account)] if account.only_key_goes_up else [],
    )


def _only_key_warning(account: Account) -> str:
    key = account.uniqueness_key
    nameless = "" if set(key) >= IDENTITY_NAMES else " (no name to find or sort them by)"
    return (
        f"only the uniqueness key ({', '.join(key)}) goes up to contacts: they will hold no "
        f"other value{nameless}; set the fields they should hold to up in sync"
    )


def field_out(definition: FieldDefinition, scope: str) -> schemas.FieldOut:
    return schemas.FieldOut(scope=scope, **definition.as_dict())  # type: ignore[arg-type]


def account_fields(account: Account) -> schemas.FieldList:
    identity = [field_out(d, "identity") for d in IDENTITY_FIELDS.values()]
    defined = [field_out(d, "account") for d in account.field_definitions.values()]
    return schemas.FieldList(items=identity + defined)


def event_out(event: OrganiserEvent) -> schemas.EventOut:
    return schemas.EventOut(
        id=event.id,
        version=event.version,
        name=event.name,
        kind=event.kind.value,
        starts_on=event.starts_on,
        series=event.series,
        several_bookings=event.several_bookings,
        sync=schemas.SyncOut(
            enabled=event.sync_enabled,
            scope=event.sync_scope.value,
            segment=event.sync_segment.as_json() if event.sync_segment else None,
            activated_at=event.sync_activated_at,
        ),
        fields=[field_out(d, "event") for d in event.local_fields.values()],
    )


def event_of(participant: Participant) -> UUID:
    """The event a participant is registered in: its first event sets it, so never None."""
    if participant.organiser_event_id is None:
        raise ValueError(f"participant {participant.id} has no event")
    return participant.organiser_event_id


def participant_out(participant: Participant) -> schemas.ParticipantOut:
    return schemas.ParticipantOut(
        id=participant.id,
        event_id=event_of(participant),
        version=participant.version,
        status=participant.status.value,
        source=participant.source.value,
        fields=participant.fields,
        contact_id=participant.contact_id,
        deleted=participant.deleted,
        created_at=participant.created_on,
        updated_at=participant.modified_on,
    )


def edit_out(contact: schemas.ContactOut, superseded: list[Superseded]) -> schemas.ContactEditOut:
    """A contact as an edit left it, with the values of the edit a newer one replaced."""
    return schemas.ContactEditOut(
        **dict(contact),
        superseded=[schemas.SupersededOut(**vars(s)) for s in superseded],
    )


def contact_out(ledger: ContactLedger, contact: Contact, now: datetime) -> schemas.ContactOut:
    assert contact.account_id is not None
    members = [
        ledger.participant(contact.account_id, event_id, participant_id)
        for participant_id, event_id in contact.participants.items()
    ]
    members = [p for p in members if not p.deleted or p.deleted_with == contact.id]
    linked = [
        schemas.ContactParticipant(id=p.id, event_id=p.organiser_event_id, status=p.status.value)  # type: ignore[arg-type]
        for p in members
    ]
    events = {p.event_id: p.status for p in linked}
    return schemas.ContactOut(
        id=contact.id,
        version=contact.version,
        fields=contact.fields,
        events=[schemas.Participation(event_id=e, status=s) for e, s in events.items()],
        n_events=len(events),
        processing_status=contact.processing_status,
        groups=sorted(contact.groups, key=lambda g: g.hex),
        consent=consent_out(contact.consent.given_at, contact.consent.source)
        if contact.consent
        else None,
        site_account=site_account_out(
            contact.site_account.confirmed,
            contact.site_account.locked_until,
            contact.site_account.failed_attempts,
            now,
        ),
        created_at=contact.created_on,
        updated_at=contact.modified_on,
        participants=linked,
        forms=sorted({s.form for s in contact.submissions}),
        form_submissions=[
            schemas.FormSubmissionOut(
                id=s.id,
                form=s.form,  # type: ignore[arg-type]
                page=s.page,
                message=s.message,
                fields=s.fields,
                submitted_at=s.submitted_at,
            )
            for s in contact.submissions
        ],
        notes=[
            schemas.NoteOut(id=n.id, text=n.text, author=n.author, written_at=n.written_at)
            for n in contact.notes
        ],
        deleted=contact.deleted,
        restore_until=contact.restore_until,
        erased=contact.erased,
        merged_into=contact.merged_into,
        merged_from=sorted(contact.merged_from, key=str),
    )


def consent_out(given_at: datetime | None, source: str | None) -> schemas.ConsentOut | None:
    if given_at is None or source is None:
        return None
    return schemas.ConsentOut(given_at=utc(given_at), source=source)


def site_account_out(
    confirmed: bool, locked_until: datetime | None, failed_attempts: int, now: datetime
) -> schemas.SiteAccountOut:
    until = utc(locked_until) if locked_until else None
    return schemas.SiteAccountOut(
        confirmed=confirmed,
        locked_until=until,
        failed_attempts=failed_attempts,
        locked=until is not None and until > now,
    )


def utc(value: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they are all UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class JobTimes(TypedDict):
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def job_times(job: Any) -> JobTimes:
    """When a job was asked for, started and finished (UTC), as its answers show them."""
    return {
        "created_at": utc(job.created_at),
        "started_at": utc(job.started_at) if job.started_at else None,
        "finished_at": utc(job.finished_at) if job.finished_at else None,
    }
