"""Request and response bodies (pydantic): the HTTP contract and the OpenAPI schemas."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from projections.grid_query import COUNT_CAP


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SettingsIn(Body):
    uniqueness_key: list[str] = Field(default=["email"], examples=[["email"]])
    sync: dict[str, Literal["off", "up", "up_and_propagate"]] = Field(
        default_factory=dict, examples=[{"company": "up_and_propagate", "phone_mobile": "up"}]
    )
    restore_window_months: int = 2


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


class SyncIn(Body):
    enabled: bool
    scope: Literal["all", "segment"] = "all"
    segment: dict[str, Any] | None = Field(
        default=None, examples=[{"field": "company", "op": "not_empty"}]
    )


class BackfillIn(Body):
    segment: dict[str, Any] | None = None


class RegisterIn(Body):
    fields: dict[str, Any] = Field(examples=[{"email": "ada@example.org", "first_name": "Ada"}])
    status: str = "registered"
    source: str = "api"


class FieldsIn(Body):
    fields: dict[str, Any]


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
    sync: dict[str, str]
    restore_window_months: int


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


class ProcessingStatusIn(Body):
    status: Literal["new", "in_progress", "processed"]


class ConsentIn(Body):
    given: bool = Field(examples=[True])
    source: str = Field(min_length=1, max_length=200, examples=["newsletter form"])
    given_at: AwareDatetime | None = Field(
        default=None, description="when it was given; default: now (ignored when withdrawn)"
    )


class SiteAccountIn(Body):
    confirmed: bool
    locked_until: AwareDatetime | None = None
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


class Health(BaseModel):
    status: str
    position: int | None
    projections: dict[str, Any]


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = None
    current_status: str | None = None
    errors: list[dict[str, Any]] | None = None


TOTAL = f"Rows the query matches, counted up to {COUNT_CAP:,} (see total_exact)"
TOTAL_EXACT = f"false: more than `total` rows match (counting stops at {COUNT_CAP:,})"


class ContactItem(BaseModel):
    id: UUID
    fields: dict[str, Any]
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
