"""The contacts screens: the grid with its filters, and a contact's card.

Each reads and writes through the API's endpoints (`calls.call`): the grid is
`GET /v1/contacts` with the same parameters, an edit is `PATCH /v1/contacts/{id}`, a note
`POST …/notes`. The filter form builds the grid's segment filter (docs/api.md, "Segments")
from its simple choices; anything it cannot say goes in the advanced filter box, as JSON.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from adapters.web.calls import RefusedError, call, endpoint, position_of, read
from adapters.web.pages import Page
from domain.participants import Status

GRID = ("GET", "/v1/contacts")
CONTACT = "/v1/contacts/{contact_id}"
STATUSES = tuple(s.value for s in Status)
PROCESSING = ("new", "in_progress", "processed")
SORTS = ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "-n_events")
GRID_KEYS = ("q", "sort", "cursor", "limit", "view", "after")
FILTER_KEYS = ("event_id", "status", "group", "processing", "consent", "locked", "min_events")


def segment(choices: dict[str, Any]) -> dict[str, Any] | None:
    """The grid filter the form's simple choices make (None: no filter)."""
    parts: list[dict[str, Any]] = []
    if choices.get("event_id"):
        statuses = [s for s in choices.get("status", []) if s in STATUSES]
        wanted: dict[str, Any] = {"event_id": choices["event_id"]}
        if statuses:
            wanted["status"] = statuses
        parts.append({"participated": wanted})
    if choices.get("group"):
        parts.append({"group": choices["group"]})
    if choices.get("processing") in PROCESSING:
        parts.append({"field": "processing_status", "op": "eq", "value": choices["processing"]})
    for name in ("consent", "locked"):
        if choices.get(name) in ("yes", "no"):
            parts.append({name: choices[name] == "yes"})
    if str(choices.get("min_events", "")).isdigit():
        value = {"gte": int(choices["min_events"])}
        parts.append({"field": "n_events", "op": "range", "value": value})
    advanced = str(choices.get("advanced", "")).strip()
    if advanced:
        try:
            parts.append(json.loads(advanced))
        except json.JSONDecodeError as error:
            raise RefusedError(422, f"advanced filter: not JSON ({error.msg})") from None
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"all": parts}


async def contacts(page: Page) -> Response:
    params = page.request.query_params
    choices: dict[str, Any] = {k: params.get(k, "") for k in (*FILTER_KEYS, "advanced")}
    choices["status"] = params.getlist("status")
    query = {k: params[k] for k in GRID_KEYS if params.get(k)}
    try:
        found = segment(choices)
        if found is not None:
            query["filter"] = json.dumps(found)
        grid = await read(page.runtime, page.request, page.user, GRID, query=query)
        error = None
    except RefusedError as refused:
        grid, error = None, refused
    events = await read(page.runtime, page.request, page.user, ("GET", "/v1/events"))
    groups = await read(page.runtime, page.request, page.user, ("GET", "/v1/groups"))
    fields = await read(page.runtime, page.request, page.user, ("GET", "/v1/fields"))
    columns = _columns(fields.items, params.getlist("column"))
    kept = [(k, v) for k, v in params.multi_items() if k not in ("cursor", "after")]
    return page.render(
        "contacts.html",
        422 if error is not None else 200,
        grid=grid,
        error=error,
        choices=choices,
        events=events.items,
        groups=groups.items,
        fields=fields.items,
        columns=columns,
        sorts=SORTS,
        statuses=STATUSES,
        processing=PROCESSING,
        next_link=None
        if grid is None or grid.next_cursor is None
        else "?" + urlencode([*kept, ("cursor", grid.next_cursor)]),
        first_link="?" + urlencode(kept),
        names={e.id: e.name for e in events.items},
    )


def _columns(fields: list[Any], chosen: list[str]) -> list[Any]:
    """The grid's field columns: those chosen, else the identity fields and company."""
    known = {f.name: f for f in fields}
    names = [c for c in chosen if c in known] or [
        n for n in ("email", "company", "job_title") if n in known
    ]
    return [known[n] for n in names]


async def contact(page: Page, errors: dict[str, str] | None = None, sent: Any = None) -> Response:
    contact_id = page.request.path_params["contact_id"]
    path = {"contact_id": contact_id}
    after = {"after": page.request.query_params.get("after", "")}
    card = await read(page.runtime, page.request, page.user, ("GET", CONTACT), path, after)
    fields = await read(page.runtime, page.request, page.user, ("GET", "/v1/fields"))
    events = await read(page.runtime, page.request, page.user, ("GET", "/v1/events"))
    history = None
    if page.user.role in endpoint("GET", CONTACT + "/history").roles:
        route = ("GET", CONTACT + "/history")
        history = await read(page.runtime, page.request, page.user, route, path, after)
    return page.render(
        "contact.html",
        422 if errors else 200,
        contact=card,
        fields=[f for f in fields.items if f.scope != "event"],
        names={e.id: e.name for e in events.items},
        history=history,
        errors=errors or {},
        sent=sent or {},
        processing=PROCESSING,
    )


async def edit_contact(page: Page) -> Response:
    form = await page.form()
    contact_id = page.request.path_params["contact_id"]
    version = form.pop("version", "")
    changed = {k.removeprefix("field."): v for k, v in form.items() if k.startswith("field.")}
    body = {"fields": {k: (v if v != "" else None) for k, v in changed.items()}}
    try:
        reply = await call(
            page.runtime,
            page.request,
            page.user,
            ("PATCH", CONTACT),
            path={"contact_id": contact_id},
            body=body,
            expected_version=int(version) if version.isdigit() else None,
        )
    except RefusedError as refused:
        if refused.status in (403, 404, 410):
            raise
        errors = {k.removeprefix("fields."): v for k, v in refused.errors.items()}
        return await contact(page, errors or {"": refused.detail}, changed)
    return page.redirect(f"/contacts/{contact_id}{position_of(reply)}", page._("Saved."))


async def add_note(page: Page) -> Response:
    form = await page.form()
    contact_id = page.request.path_params["contact_id"]
    try:
        reply = await call(
            page.runtime,
            page.request,
            page.user,
            ("POST", CONTACT + "/notes"),
            path={"contact_id": contact_id},
            body={"text": form.get("text", "")},
        )
    except RefusedError as refused:
        if refused.status in (403, 404, 410):
            raise
        return await contact(page, {"note": refused.detail})
    to = f"/contacts/{contact_id}{position_of(reply)}#notes"
    return page.redirect(to, page._("Note added."))


async def set_processing(page: Page) -> Response:
    form = await page.form()
    contact_id = page.request.path_params["contact_id"]
    reply = await call(
        page.runtime,
        page.request,
        page.user,
        ("PUT", CONTACT + "/processing-status"),
        path={"contact_id": contact_id},
        body={"status": form.get("status", "")},
    )
    return page.redirect(f"/contacts/{contact_id}{position_of(reply)}", page._("Saved."))


async def delete_contact(page: Page) -> Response:
    """Delete after the person typed DELETE (the endpoint checks the word again)."""
    form = await page.form()
    contact_id = page.request.path_params["contact_id"]
    typed = form.get("confirm", "").strip()
    if typed != "DELETE":
        return await contact(page, {"delete": page._("Type DELETE to confirm.")})
    reply = await call(
        page.runtime,
        page.request,
        page.user,
        ("DELETE", CONTACT),
        path={"contact_id": contact_id},
        query={"confirm": typed},
    )
    to = f"/contacts/deleted{position_of(reply)}"
    return page.redirect(
        to, page._("The contact is deleted; it can be restored until its deadline.")
    )


async def deleted(page: Page) -> Response:
    after = {"after": page.request.query_params.get("after", "")}
    route = ("GET", "/v1/deleted-contacts")
    found = await read(page.runtime, page.request, page.user, route, query=after)
    return page.render("deleted.html", items=found.items, now=page.now())


async def restore(page: Page) -> Response:
    await page.form()
    contact_id = page.request.path_params["contact_id"]
    try:
        reply = await call(
            page.runtime,
            page.request,
            page.user,
            ("POST", CONTACT + "/restore"),
            path={"contact_id": contact_id},
        )
    except RefusedError as refused:
        if refused.status not in (409, 410):
            raise
        return page.redirect("/contacts/deleted", refused.detail)
    return page.redirect(f"/contacts/{contact_id}{position_of(reply)}", page._("Restored."))
