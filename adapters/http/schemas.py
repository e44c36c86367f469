"""Request and response bodies (pydantic): the HTTP contract and the OpenAPI schemas."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from adapters.times import Instant
from domain.fields import IDENTITY_FIELDS, MAX_TEXT, FieldType
from domain.organiser_events import KEEP
from projections.grid_query import COUNT_CAP


def _identity_value(kind: FieldType) -> dict[str, Any]:
    if kind is FieldType.TEXT:
        return {"type": "string", "maxLength": MAX_TEXT}
    return {"type": "string", "description": f"{kind.value}, checked by the field's rules"}


FIELD_VALUES: JsonDict = {
    "description": "field name → value: the identity fields below and the account's (and the "
    "event's) defined fields, each checked by its type (GET /v1/fields)",
    "properties": {name: _identity_value(d.type) for name, d in IDENTITY_FIELDS.items()},
}


class Body(BaseModel):
    # Strict: what the OpenAPI schema says is what is accepted (no 0 for a date, no 1 for true).
    model_config = ConfigDict(extra="forbid", strict=True)


SyncModes = dict[str, Literal["off", "up", "up_and_propagate"]]


class SettingsIn(Body):
    uniqueness_key: list[str] = Field(default=["email"], examples=[["email"]])
    sync: SyncModes = Field(
        default_factory=dict,
        description="Fields not named are off, but for the key's fields and first_name and "
        "last_name, which are up unless turned off",
        examples=[{"company": "up_and_propagate", "phone_mobile": "up"}],
    )
    restore_window_months: int = 2


class SettingsPatch(Body):
    """Only what is given changes; `sync` names only the fields whose mode changes."""

    uniqueness_key: list[str] | None = Field(default=None, examples=[["email"]])
    sync: SyncModes | None = Field(default=None, examples=[{"first_name": "off"}])
    restore_window_months: int | None = None


class FieldIn(Body):
    name: str = Field(examples=["diet"])
    type: str = Field(examples=["single_choice"])
    label: str = Field(examples=["Diet"])
    options: list[str] | None = Field(default=None, examples=[["none", "vegetarian", "vegan"]])
    group: str | None = None
    help: str | None = None


class EventIn(Body):
    name: str = Field(examples=["Salon 2025"])
    kind: Literal["event", "community"] = "event"
    starts_on: date | None = None
    series: str | None = Field(
        default=None,
        max_length=200,
        description="Editions of one event share a series (reports compare them); "
        "by default the name without its years",
        examples=["Salon"],
    )
    several_bookings: bool = Field(
        default=False,
        description="false: registering a person already registered here answers 409 naming "
        "their participant; true: a person may have several bookings (participants) here",
    )


def _no_default(schema: dict[str, Any]) -> None:
    """An attribute a PATCH may leave out, but not send as null: no `default: null`."""
    schema.pop("default", None)


class EventPatch(Body):
    """Only what is named changes; `null` clears `starts_on` or `series`. The kind stays."""

    name: str | SkipJsonSchema[None] = Field(
        default=None, examples=["Salon 2026"], json_schema_extra=_no_default
    )
    starts_on: date | None = Field(default=None, description="null: no start date")
    series: str | None = Field(
        default=None,
        max_length=200,
        description="null: the name without its years again",
        examples=["Salon"],
    )
    several_bookings: bool | SkipJsonSchema[None] = Field(
        default=None,
        description="false applies to registrations from then on: the bookings already made stay",
        json_schema_extra=_no_default,
    )

    kind: SkipJsonSchema[Any] = Field(default=None, exclude=True)  # named only to refuse

    @field_validator("kind")
    @classmethod
    def _kind_stays(cls, _: Any) -> Any:
        raise ValueError(
            "cannot change: the event's participations were counted as an event's or a "
            "community's when they were made (create another event)"
        )

    @model_validator(mode="after")
    def _no_null_name_or_bookings(self) -> EventPatch:
        for name in ("name", "several_bookings"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null: leave it out to keep it")
        return self

    def named(self, name: str) -> Any:
        """The value given for `name`, or KEEP if the body does not name it."""
        return getattr(self, name) if name in self.model_fields_set else KEEP


class SyncIn(Body):
    enabled: bool
    scope: Literal["all", "segment"] = "all"
    segment: dict[str, Any] | None = Field(
        default=None, examples=[{"field": "company", "op": "not_empty"}]
    )


class BackfillIn(Body):
    segment: dict[str, Any] | None = None


class RegisterIn(Body):
    fields: dict[str, Any] = Field(
        examples=[{"email": "ada@example.org", "first_name": "Ada"}],
        json_schema_extra=FIELD_VALUES,
    )
    status: str = "registered"
    source: str = "api"


class FieldsIn(Body):
    fields: dict[str, Any] = Field(json_schema_extra=FIELD_VALUES)


class StatusIn(Body):
    status: str = Field(examples=["attended"])


class Written(BaseModel):
    id: UUID
    version: int


class FieldWritten(Written):
    name: str


class SettingsOut(BaseModel):
    account_id: UUID
    name: str
    version: int
    uniqueness_key: list[str]
    sync: dict[str, str] = Field(
        description="The mode of each field that goes up (and of the names, even when off); "
        "a field not listed is off"
    )
    restore_window_months: int
    warnings: list[str] = Field(
        description="Settings that are allowed but probably not meant, e.g. contacts that "
        "would hold nothing but their key"
    )


class FieldOut(BaseModel):
    name: str
    type: str
    label: str
    options: list[str]
    group: str | None
    help: str | None
    scope: Literal["identity", "account", "event"]


class FieldList(BaseModel):
    items: list[FieldOut]


class SyncOut(BaseModel):
    enabled: bool
    scope: str
    segment: dict[str, Any] | None
    activated_at: datetime | None


class EventOut(BaseModel):
    id: UUID
    version: int
    name: str
    kind: str
    starts_on: date | None
    series: str
    several_bookings: bool = Field(description="whether a person may be registered more than once")
    sync: SyncOut
    fields: list[FieldOut]


class EventList(BaseModel):
    items: list[EventOut]


class ParticipantOut(BaseModel):
    id: UUID
    event_id: UUID
    version: int
    status: str
    source: str
    fields: dict[str, Any]
    contact_id: UUID | None
    deleted: bool
    created_at: datetime
    updated_at: datetime


class Participation(BaseModel):
    event_id: UUID
    status: str


class ContactParticipant(BaseModel):
    id: UUID
    event_id: UUID
    status: str


class ConsentOut(BaseModel):
    given_at: datetime
    source: str


class SiteAccountOut(BaseModel):
    confirmed: bool
    locked_until: datetime | None
    failed_attempts: int
    locked: bool  # locked_until is in the future


class NoteOut(BaseModel):
    id: UUID
    text: str
    author: str
    written_at: datetime


class FormSubmissionOut(BaseModel):
    id: UUID
    form: Literal["contact", "registration", "request"]
    page: str
    message: str
    fields: dict[str, Any]
    submitted_at: datetime


class ContactOut(BaseModel):
    id: UUID
    version: int
    fields: dict[str, Any]
    events: list[Participation]
    n_events: int
    processing_status: str
    groups: list[UUID]
    consent: ConsentOut | None
    site_account: SiteAccountOut
    created_at: datetime
    updated_at: datetime
    participants: list[ContactParticipant]
    forms: list[str] = Field(description="kinds of site forms the person sent")
    form_submissions: list[FormSubmissionOut]
    notes: list[NoteOut]
    deleted: bool
    restore_until: datetime | None = Field(
        description="deleted: restorable before this instant (exclusive)"
    )
    erased: bool
    merged_into: UUID | None = Field(
        default=None, description="a merged tombstone: the contact it was merged into"
    )
    merged_from: list[UUID] = Field(
        default_factory=list, description="the contacts merged into this one"
    )


class SupersededOut(BaseModel):
    field: str
    asked: Any = Field(description="the value this edit asked for")
    standing: Any = Field(description="the value a newer edit set, which stands")


class ContactEditOut(ContactOut):
    superseded: list[SupersededOut] = Field(
        default_factory=list,
        description="values of this edit that a newer edit had already replaced: the edit "
        "is recorded (Contact.EditSuperseded) but these values do not stand",
    )


class ErasedOut(BaseModel):
    id: UUID
    version: int
    erased: bool
    participants_erased: int
    merged_erased: int = Field(
        default=0, description="contacts merged into this one, erased with it"
    )


class ExportedParticipant(BaseModel):
    id: UUID
    event_id: UUID
    event_name: str
    status: str
    source: str
    fields: dict[str, Any]
    deleted: bool
    created_at: datetime
    updated_at: datetime


class NoteIn(Body):
    text: str = Field(min_length=1, max_length=10_000, examples=["Called back, wants a stand"])


class NoteWritten(BaseModel):
    id: UUID = Field(description="the note's id")
    contact_id: UUID
    version: int = Field(description="the contact's version")


class FormIn(Body):
    fields: dict[str, Any] = Field(
        examples=[{"email": "ada@example.org", "first_name": "Ada", "company": "Acme"}]
    )
    message: str = Field(default="", max_length=10_000, examples=["Do you have a stand left?"])
    page: str = Field(default="", max_length=2_000, examples=["https://salon.example.org/contact"])


class FormWritten(BaseModel):
    id: UUID = Field(description="the submission's id")
    contact_id: UUID
    version: int = Field(description="the contact's version")
    form: str
    created_contact: bool = Field(description="true if no contact had this key yet")


class MessageRequested(BaseModel):
    id: UUID = Field(description="the outbox message's id")
    contact_id: UUID
    version: int = Field(description="the contact's version")
    kind: str


class Recipient(BaseModel):
    email: str
    first_name: str | None
    last_name: str | None
    language: str | None


class OutboxMessageOut(BaseModel):
    id: UUID
    kind: Literal["password_reset", "marketing_email"]
    campaign: str
    contact_id: UUID
    to: Recipient
    requested_at: datetime
    position: int = Field(description="log position of the request")


class OutboxPage(BaseModel):
    items: list[OutboxMessageOut]
    next_cursor: str | None


class AckIn(Body):
    outcome: Literal["sent", "failed"] = "sent"


class AckOut(BaseModel):
    id: UUID
    outcome: str
    acknowledged_at: datetime


class ViewSelection(Body):
    """A view of the contact grid, resolved when the job starts (empty: every contact)."""

    view_id: UUID | None = Field(default=None, description="a saved contact view")
    q: str | None = Field(default=None, max_length=200)
    filter: dict[str, Any] | None = Field(default=None, examples=[{"consent": True}])
    event_id: UUID | None = None
    group_id: UUID | None = None


class Selection(Body):
    """Either the contacts named, or a whole view."""

    contact_ids: list[UUID] | None = Field(default=None, min_length=1, max_length=100_000)
    view: ViewSelection | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Selection:
        if (self.contact_ids is None) == (self.view is None):
            raise ValueError("give either contact_ids or view")
        return self


class BulkIn(Body):
    action: Literal[
        "edit_fields",
        "add_to_group",
        "remove_from_group",
        "set_processing_status",
        "marketing_email",
        "backfill",
    ] = Field(examples=["add_to_group"])
    params: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "edit_fields: {fields}; add_to_group, remove_from_group: {group_id}; "
            "set_processing_status: {status}; marketing_email: {campaign}; "
            "backfill: {event_id, segment?}"
        ),
        examples=[{"group_id": "0b7e7c52-8c53-4a37-9d64-3a4c7e1f5a10"}],
    )
    selection: Selection | None = Field(
        default=None, description="contacts to act on (every action but backfill)"
    )


class SkippedRow(BaseModel):
    contact_id: UUID
    reason: str


class JobOut(BaseModel):
    id: UUID
    action: str
    status: Literal["queued", "running", "done", "failed", "refused"]
    total: int | None = Field(description="contacts selected (known once the job started)")
    processed: int
    changed: int
    unchanged: int
    skipped: int
    report: list[SkippedRow] = Field(description="skipped contacts and why (first 1,000)")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ProcessingStatusIn(Body):
    status: Literal["new", "in_progress", "processed"]


class ConsentIn(Body):
    given: bool = Field(examples=[True])
    source: str = Field(min_length=1, max_length=200, examples=["newsletter form"])
    given_at: Instant | None = Field(
        default=None, description="when it was given; default: now (ignored when withdrawn)"
    )


class SiteAccountIn(Body):
    confirmed: bool
    locked_until: Instant | None = None
    failed_attempts: int = Field(default=0, ge=0, le=1_000_000)


class GroupIn(Body):
    name: str = Field(min_length=1, max_length=200, examples=["VIP"])


class GroupOut(BaseModel):
    id: UUID
    name: str


class GroupList(BaseModel):
    items: list[GroupOut]


class MembersIn(Body):
    contact_ids: list[UUID] = Field(min_length=1, max_length=1000)
    remove: bool = Field(default=False, description="remove these contacts instead of adding")


class MembersOut(BaseModel):
    id: UUID
    changed: int


class BackfillOut(BaseModel):
    id: UUID
    version: int
    joined: int


class Deleted(BaseModel):
    id: UUID
    deleted: bool


class Health(BaseModel):
    status: str
    position: int | None
    projections: dict[str, Any]


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = Field(default=None, description="the field whose value is refused")
    current_status: str | None = Field(
        default=None, description="the participant's status, when a transition is refused"
    )
    contact_id: UUID | None = Field(
        default=None, description="the contact that already holds the uniqueness key"
    )
    participant_id: UUID | None = Field(
        default=None, description="the participant of the event the person already is (409)"
    )
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="every invalid part of the body: loc and msg"
    )


TOTAL = f"Rows the query matches, counted up to {COUNT_CAP:,} (see total_exact)"
TOTAL_EXACT = f"false: more than `total` rows match (counting stops at {COUNT_CAP:,})"


class ContactItem(BaseModel):
    id: UUID
    fields: dict[str, Any]
    forms: list[str] = Field(description="kinds of site forms the person sent")
    events: list[Participation]
    n_events: int
    n_communities: int
    processing_status: str
    groups: list[UUID]
    consent: ConsentOut | None
    site_account: SiteAccountOut
    created_at: datetime
    updated_at: datetime


class GridPage(BaseModel):
    """What every grid page carries beside its items."""

    next_cursor: str | None
    total: int = Field(description=TOTAL)
    total_exact: bool = Field(description=TOTAL_EXACT)


class DeletedContact(BaseModel):
    id: UUID
    fields: dict[str, Any]
    restore_until: datetime | None = Field(
        description="restorable until then; after it the purge erases the contact"
    )


class DeletedContactList(BaseModel):
    items: list[DeletedContact]


class ContactGrid(GridPage):
    items: list[ContactItem]


class ParticipantItem(BaseModel):
    id: UUID
    event_id: UUID
    status: str
    source: str
    fields: dict[str, Any]
    contact_id: UUID | None
    created_at: datetime
    updated_at: datetime


class ParticipantGrid(GridPage):
    items: list[ParticipantItem]


class ViewIn(Body):
    name: str = Field(examples=["Exhibitors 2025"])
    grid: Literal["contacts", "participants"] = "contacts"
    event_id: UUID | None = None
    q: str | None = None
    filter: dict[str, Any] | None = Field(
        default=None, examples=[{"field": "company", "op": "not_empty"}]
    )
    sort: str = "name"
    columns: list[str] = Field(default_factory=list, examples=[["last_name", "email"]])


class ViewOut(BaseModel):
    id: UUID
    name: str
    grid: str
    event_id: UUID | None
    q: str | None
    filter: dict[str, Any] | None
    sort: str
    columns: list[str]


class ViewList(BaseModel):
    items: list[ViewOut]


class AuditEntryOut(BaseModel):
    position: int
    at: datetime
    action: str = Field(examples=["Contact.FieldsChanged"])
    subject_kind: Literal["account", "event", "participant", "contact"]
    subject_id: UUID
    contact_id: UUID | None
    event_id: UUID | None
    changes: dict[str, list[Any]] = Field(
        description="field → [old, new]; '[erased]' once the person is erased"
    )
    details: dict[str, Any]
    actor: str
    role: str
    origin: str = Field(examples=["http", "import", "propagation", "purge", "cli"])
    correlation_id: str
    causation_id: str | None


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


class FeedPageOut(BaseModel):
    """A page of the change feed (F22): follow it by passing `next_after` as `after`."""

    items: list[AuditEntryOut] = Field(
        description="the account's audit entries after `after`, in log order (position up)"
    )
    next_after: int = Field(
        description="`after` for the next call: the last item's position, else `after` again"
    )
    head: int = Field(
        description="the audit projection's log position when read: no item is past it"
    )


class ContactExport(BaseModel):
    """Everything held about one person (access request, GDPR art. 15)."""

    exported_at: datetime
    contact: ContactOut
    groups: list[GroupOut]
    participations: list[ExportedParticipant]
    history: list[AuditEntryOut]  # the audit trail of the contact and its participants
    merged: list[ContactOut] = Field(
        default_factory=list, description="contacts of the same person merged into this one"
    )


class ImportIn(Body):
    """The fields of `POST /v1/imports` (multipart/form-data, beside the part `file`)."""

    event_id: UUID | None = Field(
        default=None, description="import into this event's participants; omit it for contacts"
    )
    mapping: str | None = Field(
        default=None,
        description="JSON object: column title -> field name (null ignores a column). "
        "Required: without it the answer is 422 with the file's `columns` and a "
        "`suggested_mapping`",
        examples=['{"E-mail": "email", "Prénom": "first_name", "Nom": "last_name"}'],
    )
    mode: Literal["create_and_update", "update_only", "create_only"] = "create_and_update"
    group_id: UUID | None = Field(default=None, description="add every imported contact to it")
    status: Literal["open", "accessed", "registered", "waiting_list", "unregistered"] = Field(
        default="registered", description="status of the participants it registers"
    )


class ImportedRowOut(BaseModel):
    row: int = Field(description="the row's number in the file (the header is row 1)")
    reason: str


class ImportOut(BaseModel):
    id: UUID
    status: Literal["queued", "running", "done", "failed", "refused"]
    message: str | None = Field(description="why it was refused or failed")
    event_id: UUID | None
    mode: str
    group_id: UUID | None
    mapping: dict[str, str | None]
    total: int | None = Field(description="data rows (an estimate until the import is done)")
    processed: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    rows: list[ImportedRowOut] = Field(description="skipped rows and why (the first 1,000)")
    report: str = Field(description="path of the per-row report (CSV)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ReportOut(BaseModel):
    """A report: its columns, and one object per row with those keys (see docs/api.md)."""

    name: str
    columns: list[str]
    rows: list[dict[str, Any]]
