"""Grid routes: query parameters to a GridQuery, the projection's page to JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import Field
from starlette.responses import StreamingResponse

from adapters import exporting
from adapters.http import presenters, schemas
from adapters.http.endpoint import Context, Reply
from adapters.http.errors import HttpError
from adapters.http.json_input import JsonInputError, parse_json
from adapters.http.parameters import Parameter
from adapters.sql.grid_queries import SqlGrid
from adapters.times import RULE, Instant
from domain.fields import FIELD_NAME, FieldType
from domain.saved_views import SavedView, SavedViewNotFoundError
from domain.segments import SegmentError, parse_segment
from projections.grid_query import COLUMNS, MAX_LIMIT, GridPage, GridQuery, GridQueryError

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _sort(grid: str) -> Parameter:
    columns = "|".join(COLUMNS[grid])
    field_name = FIELD_NAME.pattern.strip("^$")
    pattern = rf"^-?(?:{columns}|fields\.{field_name})$"
    return Parameter(
        "sort",
        Annotated[str, Field(pattern=pattern)],
        f"{', '.join(COLUMNS[grid])} or fields.<name>; '-' first for descending (default name)",
    )


Q = Parameter("q", str, "Free text: name, email, company, job title")
GROUP_ID = Parameter(
    "group_id", UUID, "Only the members of this group, or their participants (404 if none)"
)
FILTER = Parameter("filter", str, "Segment filter as JSON (the filter language: docs/api.md)")
VIEW = Parameter("view", UUID, "Apply this saved view; parameters given explicitly win")
LIMIT = Parameter("limit", Annotated[int, Field(ge=1, le=MAX_LIMIT)], "Rows per page (default 50)")
CURSOR = Parameter("cursor", str, "`next_cursor` of the previous page")
PARTICIPATED = Parameter("event_id", UUID, "Only the contacts who participate in this event")
AS_OF = Parameter(
    "as_of",
    Instant,
    f"The grid as it was at this time ({RULE}), replayed from the log: slower, linear in "
    "the account's history",
)
PAGING = (LIMIT, CURSOR)
CONTACT_EXPORT = (Q, PARTICIPATED, GROUP_ID, _sort("contacts"), FILTER, VIEW, AS_OF)
CONTACT_GRID = (*CONTACT_EXPORT, *PAGING)
MEMBER_GRID = tuple(p for p in CONTACT_GRID if p not in (GROUP_ID, AS_OF))
PARTICIPANT_EXPORT = (Q, GROUP_ID, _sort("participants"), FILTER, VIEW, AS_OF)
PARTICIPANT_GRID = (*PARTICIPANT_EXPORT, *PAGING)


def get_contacts(ctx: Context) -> Reply:
    query = _query(ctx, "contacts", ctx.uuid_parameter("event_id"))
    with _grid_then(ctx) as grid:
        page = grid.page(query)
        linked = grid.participations([r.contact_id for r in page.rows])
    items = [
        schemas.ContactItem(
            id=r.contact_id,
            fields=r.fields,
            n_events=r.n_events,
            n_communities=r.n_communities,
            processing_status=r.processing_status,
            groups=[UUID(g) for g in r.groups],
            forms=r.forms,
            consent=presenters.consent_out(r.consent_at, r.consent_source),
            site_account=presenters.site_account_out(
                r.site_confirmed, r.locked_until, r.failed_attempts, query.now
            ),
            created_at=presenters.utc(r.created_at),
            updated_at=presenters.utc(r.updated_at),
            events=[schemas.Participation(event_id=e, status=s) for e, s in linked[r.contact_id]],
        )
        for r in page.rows
    ]
    return Reply(schemas.ContactGrid(items=items, **_paging(page)))


def get_deleted_contacts(ctx: Context) -> Reply:
    """Deleted contacts still restorable or awaiting the purge (the restore list)."""
    with _grid_then(ctx) as grid:
        rows = grid.deleted_contacts(ctx.account_id)
    items = [
        schemas.DeletedContact(
            id=r.contact_id,
            fields=r.fields,
            restore_until=None if r.restore_until is None else presenters.utc(r.restore_until),
        )
        for r in rows
    ]
    return Reply(schemas.DeletedContactList(items=items))


def get_participants(ctx: Context) -> Reply:
    ctx.ledger.organiser_event(ctx.account_id, ctx.path["event_id"])  # 404 if not ours
    query = _query(ctx, "participants", ctx.path["event_id"])
    with _grid_then(ctx) as grid:
        page = grid.page(query)
    items = [
        schemas.ParticipantItem(
            id=r.participant_id,
            event_id=r.event_id,
            status=r.status,
            source=r.source,
            fields=r.fields,
            contact_id=r.contact_id,
            created_at=presenters.utc(r.created_at),
            updated_at=presenters.utc(r.updated_at),
        )
        for r in page.rows
    ]
    return Reply(schemas.ParticipantGrid(items=items, **_paging(page)))


def _paging(page: GridPage) -> dict[str, Any]:
    return {"next_cursor": page.next_cursor, "total": page.total, "total_exact": page.total_exact}


def export_contacts(ctx: Context, kind: str) -> Reply:
    query = _query(ctx, "contacts", ctx.uuid_parameter("event_id"))
    account = ctx.ledger.account(ctx.account_id)
    grid = _grid_at(ctx)
    columns, per_page = exporting.contact_columns(grid, account)
    rows = exporting.records(grid, query, columns, per_page)
    return _download(kind, "contacts", columns, _releasing(ctx, grid, rows))


def export_participants(ctx: Context, kind: str) -> Reply:
    event = ctx.ledger.organiser_event(ctx.account_id, ctx.path["event_id"])
    query = _query(ctx, "participants", event.id)
    columns = exporting.participant_columns(ctx.ledger.account(ctx.account_id), event)
    grid = _grid_at(ctx)
    rows = exporting.records(grid, query, columns)
    return _download(kind, "participants", columns, _releasing(ctx, grid, rows))


def _releasing(ctx: Context, grid: SqlGrid, rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
    """The rows of a download; a past grid is let go once they are sent."""
    try:
        yield from rows
    finally:
        _release(ctx, grid)


def _download(kind: str, name: str, columns: list[Any], rows: Any) -> Reply:
    stream = exporting.csv_stream if kind == "csv" else exporting.xlsx_stream
    headers = {"Content-Disposition": f'attachment; filename="{name}.{kind}"'}
    return Reply(StreamingResponse(stream(columns, rows), media_type=MEDIA[kind], headers=headers))


def _query(ctx: Context, grid: str, event_id: UUID | None) -> GridQuery:
    params = ctx.query
    group_id = ctx.uuid_parameter("group_id")
    if group_id is not None and group_id not in ctx.ledger.account(ctx.account_id).groups:
        raise HttpError(404, f"group {group_id} not found")
    params = {**_saved(ctx, grid, params.get("view")), **params}
    try:
        return GridQuery(
            account_id=ctx.account_id,
            grid=grid,
            event_id=event_id,
            q=params.get("q"),
            filter=_filter(params.get("filter")),
            sort=params.get("sort", "name"),
            limit=ctx.whole_number("limit", 50),
            cursor=params.get("cursor"),
            group_id=group_id,
            now=_as_of(ctx) or ctx.at,
            list_fields=_list_fields(ctx, grid, event_id),
        )
    except GridQueryError as error:
        raise HttpError(422, str(error)) from None


@contextmanager
def _grid_then(ctx: Context) -> Iterator[SqlGrid]:
    grid = _grid_at(ctx)
    try:
        yield grid
    finally:
        _release(ctx, grid)


def _grid_at(ctx: Context) -> SqlGrid:
    """The grid now, or as it was at `as_of`: folded from the log for this request, into a
    database of its own that `_release` lets go."""
    as_of = _as_of(ctx)
    return ctx.grid if as_of is None else ctx.past.grid(ctx.account_id, as_of)


def _release(ctx: Context, grid: SqlGrid) -> None:
    if grid is not ctx.grid:
        grid.engine.dispose()


def _as_of(ctx: Context) -> datetime | None:
    raw = ctx.query.get("as_of")
    return None if raw is None else AS_OF.parse(raw)


def _list_fields(ctx: Context, grid: str, event_id: UUID | None) -> frozenset[str]:
    """Multiple-choice fields: their filters match any element of the list."""
    definitions = list(ctx.ledger.account(ctx.account_id).field_definitions.values())
    if grid == "participants" and event_id is not None:
        event = ctx.ledger.organiser_event(ctx.account_id, event_id)
        definitions += event.local_fields.values()
    return frozenset(d.name for d in definitions if d.type is FieldType.MULTIPLE_CHOICE)


def _saved(ctx: Context, grid: str, raw: str | None) -> dict[str, str]:
    """A saved view's query as parameters (those given explicitly win)."""
    if raw is None:
        return {}
    try:
        view = ctx.ledger.account(ctx.account_id).views.get(UUID(raw))
    except ValueError:
        raise HttpError(422, "view must be a UUID") from None
    if view is None:
        raise HttpError(404, f"view {raw} not found")
    if view.grid != grid:
        raise HttpError(422, f"view {raw} is a {view.grid} view")
    saved = {
        "q": view.q,
        "sort": view.sort,
        "filter": json.dumps(view.filter) if view.filter else None,
    }
    return {k: v for k, v in saved.items() if v is not None}


def _filter(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return parse_segment(parse_json(raw))
    except JsonInputError as error:
        raise HttpError(422, f"filter {error}") from None
    except SegmentError as error:
        raise HttpError(422, f"filter: {error}") from None


def post_view(ctx: Context) -> Reply:
    body: schemas.ViewIn = ctx.body
    view_id = uuid4()
    try:
        view = SavedView(
            view_id,
            body.name,
            body.grid,
            body.event_id,
            body.q,
            body.filter,
            body.sort,
            tuple(body.columns),
        )
        GridQuery(ctx.account_id, body.grid, body.event_id, body.q, None, body.sort, now=ctx.at)
    except GridQueryError as error:
        raise HttpError(422, str(error)) from None
    if body.event_id is not None:
        ctx.ledger.organiser_event(ctx.account_id, body.event_id)  # 404 if not ours
    outcome = ctx.ledger.save_view(ctx.account_id, view, ctx.at, ctx.meta)
    return Reply(_view_out(view), 201, outcome)


def get_views(ctx: Context) -> Reply:
    views = ctx.ledger.account(ctx.account_id).views.values()
    return Reply(schemas.ViewList(items=[_view_out(v) for v in views]))


def get_view(ctx: Context) -> Reply:
    view = ctx.ledger.account(ctx.account_id).views.get(ctx.path["view_id"])
    if view is None:
        raise SavedViewNotFoundError(ctx.path["view_id"])
    return Reply(_view_out(view))


def delete_view(ctx: Context) -> Reply:
    outcome = ctx.ledger.delete_view(ctx.account_id, ctx.path["view_id"], ctx.at, ctx.meta)
    return Reply({"id": str(ctx.path["view_id"]), "deleted": True}, outcome=outcome)


def _view_out(view: SavedView) -> schemas.ViewOut:
    return schemas.ViewOut(
        id=view.view_id,
        name=view.name,
        grid=view.grid,
        event_id=view.event_id,
        q=view.q,
        filter=view.filter,
        sort=view.sort,
        columns=list(view.columns),
    )
