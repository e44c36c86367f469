"""Audit routes (F14): one contact's history, the account's audit query, its CSV export."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field
from starlette.responses import StreamingResponse

from adapters import exporting
from adapters.exporting import Column
from adapters.http import presenters, schemas
from adapters.http.endpoint import Context, Reply
from adapters.http.errors import HttpError
from adapters.http.parameters import Parameter
from adapters.sql.audit_store import MAX_LIMIT, AuditQuery, AuditQueryError
from adapters.times import RULE, Instant
from projections.audit import AuditEntry

LIMIT = Parameter(
    "limit", Annotated[int, Field(ge=1, le=MAX_LIMIT)], "Entries per page (default 100)"
)
CURSOR = Parameter("cursor", str, "`next_cursor` of the previous page")
PAGING = (LIMIT, CURSOR)
EXPORT = (
    Parameter("actor", str, "Only what this actor did (a token's actor name)"),
    Parameter("action", str, "Only this event type, e.g. Contact.FieldsChanged"),
    Parameter("contact", UUID, "Only the entries of this contact and its participants"),
    FROM := Parameter("from", Instant, f"From this time on (inclusive; {RULE})"),
    TO := Parameter("to", Instant, f"Before this time (exclusive; {RULE})"),
)
QUERY = (*EXPORT, *PAGING)
CSV_COLUMNS = [
    Column("position", lambda e: e.position),
    Column("at", lambda e: e.at),
    Column("action", lambda e: e.action),
    Column("subject_kind", lambda e: e.subject_kind),
    Column("subject_id", lambda e: str(e.subject_id)),
    Column("contact_id", lambda e: str(e.contact_id) if e.contact_id else ""),
    Column("event_id", lambda e: str(e.organiser_event_id) if e.organiser_event_id else ""),
    Column("changes", lambda e: _json(e.changes)),
    Column("details", lambda e: _json(e.details)),
    Column("actor", lambda e: e.actor),
    Column("role", lambda e: e.role),
    Column("origin", lambda e: e.origin),
    Column("correlation_id", lambda e: e.correlation_id),
    Column("causation_id", lambda e: e.causation_id or ""),
]


def get_history(ctx: Context) -> Reply:
    contact = presenters.readable_contact(ctx.ledger, ctx.account_id, ctx.path["contact_id"])
    merged = tuple(t.id for t in ctx.ledger.merged_contacts(contact))  # the whole person's
    query = _query(ctx, contact_id=contact.id, merged=merged)
    return Reply(_page(ctx, query))


def get_audit(ctx: Context) -> Reply:
    return Reply(_page(ctx, _query(ctx)))


def export_audit(ctx: Context) -> Reply:
    query = _query(ctx)
    rows = ([c.value(e) for c in CSV_COLUMNS] for e in ctx.audit.rows(query))
    stream = exporting.csv_stream(CSV_COLUMNS, rows)
    headers = {"Content-Disposition": 'attachment; filename="audit.csv"'}
    return Reply(StreamingResponse(stream, media_type="text/csv; charset=utf-8", headers=headers))


def _page(ctx: Context, query: AuditQuery) -> schemas.AuditPageOut:
    try:
        page = ctx.audit.page(query)
    except AuditQueryError as error:
        raise HttpError(422, str(error)) from None
    return schemas.AuditPageOut(
        items=[entry_out(e) for e in page.entries], next_cursor=page.next_cursor
    )


def _query(ctx: Context, **fixed: Any) -> AuditQuery:
    params = ctx.query
    limit = ctx.whole_number("limit", 100)
    contact = fixed.pop("contact_id", None) or ctx.uuid_parameter("contact")
    try:
        return AuditQuery(
            ctx.account_id,
            contact_id=contact,
            merged=fixed.pop("merged", ()),
            actor=params.get("actor"),
            action=params.get("action"),
            since=_time(params.get("from"), FROM),
            until=_time(params.get("to"), TO),
            limit=limit,
            cursor=params.get("cursor"),
        )
    except AuditQueryError as error:
        raise HttpError(422, str(error)) from None


def _time(raw: str | None, parameter: Parameter) -> datetime | None:
    return None if raw is None else parameter.parse(raw)


def entry_out(entry: AuditEntry) -> schemas.AuditEntryOut:
    return schemas.AuditEntryOut(
        position=entry.position,
        at=entry.at,
        action=entry.action,
        subject_kind=entry.subject_kind,
        subject_id=entry.subject_id,
        contact_id=entry.contact_id,
        event_id=entry.organiser_event_id,
        changes=entry.changes,
        details=entry.details,
        actor=entry.actor,
        role=entry.role,
        origin=entry.origin,
        correlation_id=entry.correlation_id,
        causation_id=entry.causation_id,
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
