"""The events screens: the list, an event (its details, sync and participants), a participant.

A participant's edit is `PATCH …/participants/{id}`: the synced fields go up to the contact
and, where the account says so, down to the person's other events, as over the API.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from adapters.web.calls import RefusedError, position_of
from adapters.web.contacts import segment
from adapters.web.forms import edit_fields
from adapters.web.pages import Page
from domain.participants import TRANSITIONS, Status

EVENT = "/v1/events/{event_id}"
PARTICIPANT = EVENT + "/participants/{participant_id}"
STATUSES = tuple(s.value for s in Status)


async def events(page: Page, errors: dict[str, str] | None = None) -> Response:
    found = await page.read(("GET", "/v1/events"))
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
        reply = await page.call(("POST", "/v1/events"), body=body)
    except RefusedError as refused:
        if refused.status == 403:
            raise
        return await events(page, {**refused.errors, "": refused.detail})
    return page.redirect(f"/events/{reply.body.id}", page._("Event created."))


async def event(page: Page, errors: dict[str, str] | None = None, status: int = 422) -> Response:
    event_id = page.request.path_params["event_id"]
    params = page.request.query_params
    path = {"event_id": event_id}
    after = params.get("after", "")
    found = await page.read(("GET", EVENT), path, {"after": after})
    choices: dict[str, Any] = {k: params.get(k, "") for k in ("group", "consent", "locked")}
    choices["status"] = params.getlist("status")
    choices["advanced"] = params.get("advanced", "")
    query = {k: params[k] for k in ("q", "sort", "cursor", "after") if params.get(k)}
    grid, error = None, None
    try:
        found_filter = segment(choices, participants=True)
        if found_filter is not None:
            query["filter"] = json.dumps(found_filter)
        grid = await page.read(("GET", EVENT + "/participants"), path, query)
    except RefusedError as refused:
        if refused.status != 422:
            raise
        error = refused
    kept = [(k, v) for k, v in params.multi_items() if k not in ("cursor", "after")]
    return page.render(
        "event.html",
        status if errors else 422 if error else 200,
        event=found,
        grid=grid,
        error=error,
        errors=errors or {},
        statuses=STATUSES,
        choices=choices,
        groups=(await page.read(("GET", "/v1/groups"))).items,
        fields=(await page.read(("GET", "/v1/fields"))).items + found.fields,
        operators=OPERATORS,
        segment=json.dumps(found.sync.segment) if found.sync.segment else "",
        next_link=None
        if grid is None or grid.next_cursor is None
        else "?" + urlencode([*kept, ("cursor", grid.next_cursor)]),
    )


async def edit_event(page: Page) -> Response:
    """`PATCH /v1/events/{id}` with what the form changed (a field left as shown is not
    named, so an unchanged series stays the name's); `If-Match` is the version shown."""
    form = await page.form()
    path = {"event_id": page.request.path_params["event_id"]}
    standing = await page.read(("GET", EVENT), path)
    version = form.get("version", "")
    try:
        reply = await page.call(
            ("PATCH", EVENT),
            path=path,
            body=edited_details(form, standing),
            expected_version=int(version) if version.isdigit() else None,
        )
    except RefusedError as refused:
        if refused.status in (403, 404):
            raise
        return await event(page, {"edit": refused.detail}, refused.status)
    to = f"/events/{path['event_id']}{position_of(reply)}"
    return page.redirect(to, page._("Event saved."))


def edited_details(form: dict[str, str], standing: Any) -> dict[str, Any]:
    """The members of the PATCH body: those whose value differs from the standing one
    (a blank date or series is null: no date, the series from the name)."""
    shown = {
        "name": standing.name,
        "starts_on": standing.starts_on.isoformat() if standing.starts_on else None,
        "series": standing.series,
        "several_bookings": standing.several_bookings,
    }
    sent = {
        "name": form.get("name", ""),
        "starts_on": form.get("starts_on") or None,
        "series": form.get("series", "").strip() or None,
        "several_bookings": form.get("several_bookings") == "on",
    }
    return {name: value for name, value in sent.items() if value != shown[name]}


async def change_sync(page: Page) -> Response:
    form = await page.form()
    event_id = page.request.path_params["event_id"]
    scope = form.get("scope", "all")
    body: dict[str, Any] = {"enabled": form.get("enabled") == "on", "scope": scope}
    if scope == "segment":
        try:
            body["segment"] = edited_segment(form)
        except json.JSONDecodeError as error:
            return await event(page, {"segment": f"not JSON ({error.msg})"})
    try:
        reply = await page.call(
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


OPERATORS = ("eq", "ne", "contains", "in", "not_empty", "empty")
CONDITIONS = 3  # rows of the segment editor


def edited_segment(form: dict[str, str]) -> Any:
    """The segment of the editor's rows (field, operator, value; "in" takes values
    separated by ";"), all of them, and of the JSON box if filled."""
    parts: list[Any] = []
    for row in range(CONDITIONS):
        name, op = form.get(f"cond.{row}.field", ""), form.get(f"cond.{row}.op", "")
        if not name or op not in OPERATORS:
            continue
        value = form.get(f"cond.{row}.value", "").strip()
        condition: dict[str, Any] = {"field": name, "op": op}
        if op == "in":
            condition["value"] = [v.strip() for v in value.split(";") if v.strip()]
        elif op not in ("empty", "not_empty"):
            condition["value"] = value
        parts.append(condition)
    if form.get("segment", "").strip():
        parts.append(json.loads(form["segment"]))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"all": parts}


async def backfill(page: Page) -> Response:
    await page.form()
    event_id = page.request.path_params["event_id"]
    body = {"action": "backfill", "params": {"event_id": event_id}}
    reply = await page.call(("POST", "/v1/bulk"), body=body)
    return page.redirect(f"/jobs/{reply.body.id}")


async def participant(
    page: Page,
    errors: dict[str, str] | None = None,
    sent: dict[str, Any] | None = None,
    status: int = 422,
) -> Response:
    path = dict(page.request.path_params)
    after = {"after": page.request.query_params.get("after", "")}
    found = await page.read(("GET", PARTICIPANT), path, after)
    the_event = await page.read(("GET", EVENT), {"event_id": path["event_id"]})
    fields = await page.read(("GET", "/v1/fields"))
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
    path = dict(page.request.path_params)
    the_event = await page.read(("GET", EVENT), {"event_id": path["event_id"]})
    fields = await page.read(("GET", "/v1/fields"))

    async def again(errors: dict[str, str], sent: dict[str, str], status: int) -> Response:
        return await participant(page, errors, sent, status)

    here = f"/events/{path['event_id']}/participants/{path['participant_id']}"
    catalogue = [*fields.items, *the_event.fields]
    return await edit_fields(page, PARTICIPANT, path, catalogue, here, again)


async def change_status(page: Page) -> Response:
    form = await page.form()
    path = dict(page.request.path_params)
    try:
        reply = await page.call(
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
