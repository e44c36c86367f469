"""The events screens: the list, an event with its sync and its participants, a participant.

A participant's edit is `PATCH …/participants/{id}`: the synced fields go up to the contact
and, where the account says so, down to the person's other events, as over the API.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from adapters.web.calls import RefusedError, call, position_of, read
from adapters.web.forms import changes
from adapters.web.pages import Page
from domain.participants import TRANSITIONS, Status

EVENT = "/v1/events/{event_id}"
PARTICIPANT = EVENT + "/participants/{participant_id}"
STATUSES = tuple(s.value for s in Status)


async def events(page: Page, errors: dict[str, str] | None = None) -> Response:
    found = await read(page.runtime, page.request, page.user, ("GET", "/v1/events"))
    return page.render(
        "events.html", 422 if errors else 200, events=found.items, errors=errors or {}
    )


async def create_event(page: Page) -> Response:
    form = await page.form()
    body = {
        "name": form.get("name", ""),
        "kind": form.get("kind", "event"),
        "starts_on": form.get("starts_on") or None,
        "series": form.get("series") or None,
    }
    try:
        reply = await call(page.runtime, page.request, page.user, ("POST", "/v1/events"), body=body)
    except RefusedError as refused:
        if refused.status == 403:
            raise
        return await events(page, {**refused.errors, "": refused.detail})
    return page.redirect(f"/events/{reply.body.id}", page._("Event created."))


async def event(page: Page, errors: dict[str, str] | None = None) -> Response:
    event_id = page.request.path_params["event_id"]
    params = page.request.query_params
    path = {"event_id": event_id}
    after = params.get("after", "")
    found = await read(
        page.runtime, page.request, page.user, ("GET", EVENT), path, {"after": after}
    )
    chosen = [s for s in params.getlist("status") if s in STATUSES]
    query = {k: params[k] for k in ("q", "sort", "cursor", "after") if params.get(k)}
    if chosen:
        query["filter"] = json.dumps({"field": "status", "op": "in", "value": chosen})
    grid, error = None, None
    try:
        grid = await read(
            page.runtime, page.request, page.user, ("GET", EVENT + "/participants"), path, query
        )
    except RefusedError as refused:
        if refused.status != 422:
            raise
        error = refused
    kept = [(k, v) for k, v in params.multi_items() if k not in ("cursor", "after")]
    return page.render(
        "event.html",
        422 if errors or error else 200,
        event=found,
        grid=grid,
        error=error,
        errors=errors or {},
        statuses=STATUSES,
        chosen=chosen,
        segment=json.dumps(found.sync.segment) if found.sync.segment else "",
        next_link=None
        if grid is None or grid.next_cursor is None
        else "?" + urlencode([*kept, ("cursor", grid.next_cursor)]),
    )


async def change_sync(page: Page) -> Response:
    form = await page.form()
    event_id = page.request.path_params["event_id"]
    scope = form.get("scope", "all")
    body: dict[str, Any] = {"enabled": form.get("enabled") == "on", "scope": scope}
    if scope == "segment":
        try:
            body["segment"] = json.loads(form.get("segment") or "null")
        except json.JSONDecodeError as error:
            return await event(page, {"segment": f"not JSON ({error.msg})"})
    try:
        reply = await call(
            page.runtime,
            page.request,
            page.user,
            ("PUT", EVENT + "/sync"),
            path={"event_id": event_id},
            body=body,
        )
    except RefusedError as refused:
        if refused.status in (403, 404):
            raise
        return await event(page, {"segment": refused.detail})
    to = f"/events/{event_id}{position_of(reply)}"
    return page.redirect(to, page._("Contact sync saved."))


async def backfill(page: Page) -> Response:
    await page.form()
    event_id = page.request.path_params["event_id"]
    body = {"action": "backfill", "params": {"event_id": event_id}}
    reply = await call(page.runtime, page.request, page.user, ("POST", "/v1/bulk"), body=body)
    return page.redirect(f"/jobs/{reply.body.id}")


async def participant(
    page: Page,
    errors: dict[str, str] | None = None,
    sent: dict[str, Any] | None = None,
    status: int = 422,
) -> Response:
    path = dict(page.request.path_params)
    after = {"after": page.request.query_params.get("after", "")}
    found = await read(page.runtime, page.request, page.user, ("GET", PARTICIPANT), path, after)
    the_event = await read(
        page.runtime, page.request, page.user, ("GET", EVENT), {"event_id": path["event_id"]}
    )
    fields = await read(page.runtime, page.request, page.user, ("GET", "/v1/fields"))
    return page.render(
        "participant.html",
        status if errors else 200,
        participant=found,
        event=the_event,
        fields=[*fields.items, *the_event.fields],
        next_statuses=sorted(TRANSITIONS[Status(found.status)]),
        errors=errors or {},
        sent=sent or {},
    )


async def edit_participant(page: Page) -> Response:
    form = await page.form()
    path = dict(page.request.path_params)
    version = form.pop("version", "")
    sent = {k.removeprefix("field."): v for k, v in form.items() if k.startswith("field.")}
    current = await read(page.runtime, page.request, page.user, ("GET", PARTICIPANT), path)
    the_event = await read(
        page.runtime, page.request, page.user, ("GET", EVENT), {"event_id": path["event_id"]}
    )
    fields = await read(page.runtime, page.request, page.user, ("GET", "/v1/fields"))
    values, errors = changes(current.fields, sent, [*fields.items, *the_event.fields])
    here = f"/events/{path['event_id']}/participants/{path['participant_id']}"
    if errors:
        return await participant(page, errors, sent)
    if not values:
        return page.redirect(here, page._("Nothing changed."))
    try:
        reply = await call(
            page.runtime,
            page.request,
            page.user,
            ("PATCH", PARTICIPANT),
            path=path,
            body={"fields": values},
            expected_version=int(version) if version.isdigit() else None,
        )
    except RefusedError as refused:
        if refused.status in (403, 404, 410):
            raise
        errors = {k.removeprefix("fields."): v for k, v in refused.errors.items()}
        return await participant(page, errors or {"": refused.detail}, sent, refused.status)
    return page.redirect(f"{here}{position_of(reply)}", page._("Saved."))


async def change_status(page: Page) -> Response:
    form = await page.form()
    path = dict(page.request.path_params)
    try:
        reply = await call(
            page.runtime,
            page.request,
            page.user,
            ("POST", PARTICIPANT + "/status"),
            path=path,
            body={"status": form.get("status", "")},
        )
    except RefusedError as refused:
        if refused.status in (403, 404, 410):
            raise
        return await participant(page, {"status": refused.detail}, status=refused.status)
    to = f"/events/{path['event_id']}/participants/{path['participant_id']}{position_of(reply)}"
    return page.redirect(to, page._("Status changed."))
