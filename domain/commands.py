"""Commands: what callers ask the ledger to do. Validated shapes, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain.organiser_events import KEEP, Keep


@dataclass(frozen=True)
class ChangeSettings:
    account_id: UUID
    uniqueness_key: tuple[str, ...]
    sync: dict[str, str]
    restore_window_months: int
    expected_version: int | None = None


@dataclass(frozen=True)
class AmendSettings:
    """Change only the settings given (None: kept); `sync` names only the fields it changes."""

    account_id: UUID
    uniqueness_key: tuple[str, ...] | None = None
    sync: dict[str, str] | None = None
    restore_window_months: int | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class DefineField:
    account_id: UUID
    name: str
    type: str
    label: str
    options: tuple[str, ...] = ()
    group: str | None = None
    help: str | None = None
    organiser_event_id: UUID | None = None  # None: an account field


@dataclass(frozen=True)
class CreateOrganiserEvent:
    account_id: UUID
    name: str
    kind: str
    starts_on: date | None = None
    series: str | None = None
    several_bookings: bool = False  # may a person be registered more than once?


@dataclass(frozen=True)
class ChangeOrganiserEventDetails:
    """Change only the attributes given (KEEP: not named); the kind stays."""

    account_id: UUID
    organiser_event_id: UUID
    name: str | Keep = KEEP
    starts_on: date | Keep | None = KEEP
    series: str | Keep | None = KEEP
    several_bookings: bool | Keep = KEEP
    expected_version: int | None = None


@dataclass(frozen=True)
class ChangeSync:
    account_id: UUID
    organiser_event_id: UUID
    enabled: bool
    scope: str = "all"
    segment: dict[str, Any] | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class BackfillSync:
    account_id: UUID
    organiser_event_id: UUID
    segment: dict[str, Any] | None = None


@dataclass(frozen=True)
class RegisterParticipant:
    account_id: UUID
    organiser_event_id: UUID
    fields: dict[str, Any]
    status: str = "registered"
    source: str = "api"


@dataclass(frozen=True)
class ChangeParticipantFields:
    account_id: UUID
    organiser_event_id: UUID
    participant_id: UUID
    fields: dict[str, Any]
    expected_version: int | None = None


@dataclass(frozen=True)
class ChangeParticipantStatus:
    account_id: UUID
    organiser_event_id: UUID
    participant_id: UUID
    status: str
    expected_version: int | None = None


@dataclass(frozen=True)
class DeleteParticipant:
    account_id: UUID
    organiser_event_id: UUID
    participant_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class ChangeContactFields:
    account_id: UUID
    contact_id: UUID
    fields: dict[str, Any] = field(default_factory=dict)
    expected_version: int | None = None


@dataclass(frozen=True)
class SetProcessingStatus:
    account_id: UUID
    contact_id: UUID
    status: str
    expected_version: int | None = None


@dataclass(frozen=True)
class ChangeConsent:
    """Give (with its date and source) or withdraw marketing consent."""

    account_id: UUID
    contact_id: UUID
    given: bool
    source: str
    given_at: datetime | None = None  # None: the command's time
    expected_version: int | None = None


@dataclass(frozen=True)
class ChangeSiteAccount:
    account_id: UUID
    contact_id: UUID
    confirmed: bool
    locked_until: datetime | None = None
    failed_attempts: int = 0
    expected_version: int | None = None


@dataclass(frozen=True)
class UnlockSiteAccount:
    account_id: UUID
    contact_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class CreateGroup:
    account_id: UUID
    name: str


@dataclass(frozen=True)
class ChangeGroupMembers:
    """Add contacts to a group, or remove them: all or nothing."""

    account_id: UUID
    group_id: UUID
    contact_ids: tuple[UUID, ...]
    remove: bool = False


@dataclass(frozen=True)
class DeleteContact:
    account_id: UUID
    contact_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class RestoreContact:
    account_id: UUID
    contact_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class EraseContact:
    """Erase at once (`reason="request"`), or when due (`due_at`: the purge's time)."""

    account_id: UUID
    contact_id: UUID
    reason: str = "request"
    due_at: datetime | None = None


@dataclass(frozen=True)
class EraseParticipant:
    """Erase a participant deleted on its own, once its restore window is over."""

    account_id: UUID
    participant_id: UUID
    due_at: datetime


@dataclass(frozen=True)
class AddNote:
    account_id: UUID
    contact_id: UUID
    text: str
    expected_version: int | None = None


@dataclass(frozen=True)
class SubmitForm:
    """A site form (F9): creates or updates the contact of its key and is kept on it."""

    account_id: UUID
    form: str
    fields: dict[str, Any]
    page: str = ""
    message: str = ""


@dataclass(frozen=True)
class RequestPasswordReset:
    account_id: UUID
    contact_id: UUID


@dataclass(frozen=True)
class ApplyToContacts:
    """One step of a bulk action (F18): the same change on a batch of contacts.

    `action` is one of BULK_ACTIONS; `params` its arguments. Contacts it cannot apply to
    (gone, deleted, no consent for a marketing email, ...) are skipped with a reason.
    `job_id` makes it repeatable: a message asked for again by the same job is not sent twice.
    """

    account_id: UUID
    contact_ids: tuple[UUID, ...]
    action: str
    params: dict[str, Any]
    job_id: UUID


@dataclass(frozen=True)
class MergeContacts:
    """Merge two contacts of one person: `merged_id` into `survivor_id` (F10)."""

    account_id: UUID
    survivor_id: UUID
    merged_id: UUID
    expected_version: int | None = None  # the survivor's (If-Match)


@dataclass(frozen=True)
class ImportRows:
    """One batch of an import (F19): rows of a file, matched by the uniqueness key.

    `rows` holds each row's line in the file and its cells by field name (plain values:
    text, numbers, dates, booleans). Into an organiser event's participants when
    `organiser_event_id` is set, else into the account's contacts. `mode` is an ImportMode;
    `status` is the status of participants it registers.
    """

    account_id: UUID
    organiser_event_id: UUID | None
    rows: tuple[tuple[int, dict[str, Any]], ...]
    mode: str = "create_and_update"
    group_id: UUID | None = None
    status: str = "registered"
