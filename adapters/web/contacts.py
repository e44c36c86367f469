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

from adapters.web.calls import RefusedError, endpoint, position_of
from adapters.web.forms import edit_fields
from adapters.web.pages import Page
from domain.participants import Status

GRID = ("GET", "/v1/contacts")
CONTACT = "/v1/contacts/{contact_id}"
STATUSES = tuple(s.value for s in Status)
PROCESSING = ("new", "in_progress", "processed")
SORTS = ("name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "-n_events")
GRID_KEYS = ("q", "sort", "cursor", "limit", "view", "after", "as_of")
FILTER_KEYS = ("event_id", "status", "group", "processing", "consent", "locked", "min_events")


def segment(choices: dict[str, Any], participants: bool = False) -> dict[str, Any] | None:
    """The grid filter the form's simple choices make (None: no filter). On an event's
    participant grid (`participants`) the statuses are the participants' own."""
    parts: list[dict[str, Any]] = []
    statuses = [s for s in choices.get("status", []) if s in STATUSES]
    if participants and statuses:
        parts.append({"field": "status", "op": "in", "value": statuses})
    elif choices.get("event_id"):
        wanted: dict[str, Any] = {"event_id": choices["event_id"]}
        if statuses:
            wanted["status"] = statuses
        parts.append({"participated": wanted})
    if choices.get("group"):
        parts.append({"group": choices["group"]})
    if choices.get("processing") in PROCESSING and not participants:
        parts.append({"field": "processing_status", "op": "eq", "value": choices["processing"]})
    for name in ("consent", "locked"):
        if choices.get(name) in ("yes", "no"):
            parts.append({name: choices[name] == "yes"})
    if str(choices.get("min_events", "")).isdigit() and not participants:
        value = {"gte": int(choices["min_events"])}
        parts.append({"field": "n_events", "op": "range", "value": value})
    advanced = str(choices.get("advanced", "")).strip()
    if advanced:
        parts.append(parsed_json(advanced, "advanced filter"))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"all": parts}


def parsed_json(text: str, what: str) -> Any:
    """A form's JSON text, or a 422 page saying where it is not JSON (never a 500)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RefusedError(422, f"{what}: not JSON ({error.msg})") from None


async def contacts(page: Page) -> Response:
    params = page.request.query_params
    choices: dict[str, Any] = {k: params.get(k, "") for k in (*FILTER_KEYS, "advanced")}
    choices["status"] = params.getlist("status")
    query = {k: params[k] for k in GRID_KEYS if params.get(k)}
    try:
        found = segment(choices)
        if found is not None:
            query["filter"] = json.dumps(found)
        grid = await page.read(GRID, query=query)
        error = None
    except RefusedError as refused:
        grid, error = None, refused
    events = await page.read(("GET", "/v1/events"))
    groups = await page.read(("GET", "/v1/groups"))
    fields = await page.read(("GET", "/v1/fields"))
    views = await page.read(("GET", "/v1/views"))
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
        views=[v for v in views.items if v.grid == "contacts"],
        view_filter=query.get("filter", ""),
        exported=urlencode([(k, v) for k, v in kept if k not in ("column", "limit")]),
    )


def _columns(fields: list[Any], chosen: list[str]) -> list[Any]:
    """The grid's field columns: those chosen, else the identity fields and company."""
    known = {f.name: f for f in fields}
    names = [c for c in chosen if c in known] or [
        n for n in ("email", "company", "job_title") if n in known
    ]
    return [known[n] for n in names]


async def contact(
    page: Page, errors: dict[str, str] | None = None, sent: Any = None, status: int = 422
) -> Response:
    contact_id = page.request.path_params["contact_id"]
    path = {"contact_id": contact_id}
    after = {"after": page.request.query_params.get("after", "")}
    card = await page.read(("GET", CONTACT), path, after)
    fields = await page.read(("GET", "/v1/fields"))
    events = await page.read(("GET", "/v1/events"))
    groups = await page.read(("GET", "/v1/groups"))
    history = None
    if page.user.role in endpoint("GET", CONTACT + "/history").roles:
        route = ("GET", CONTACT + "/history")
        history = await page.read(route, path, after)
    return page.render(
        "contact.html",
        status if errors else 200,
        contact=card,
        fields=[f for f in fields.items if f.scope != "event"],
        names={e.id: e.name for e in events.items},
        group_names={g.id: g.name for g in groups.items},
        history=history,
        errors=errors or {},
        sent=sent or {},
        processing=PROCESSING,
    )


async def edit_contact(page: Page) -> Response:
    contact_id = page.request.path_params["contact_id"]
    fields = await page.read(("GET", "/v1/fields"))

    async def again(errors: dict[str, str], sent: dict[str, str], status: int) -> Response:
        return await contact(page, errors, sent, status)

    path = {"contact_id": contact_id}
    return await edit_fields(page, CONTACT, path, fields.items, f"/contacts/{contact_id}", again)


async def add_note(page: Page) -> Response:
    form = await page.form()
    contact_id = page.request.path_params["contact_id"]
    try:
        reply = await page.call(
            ("POST", CONTACT + "/notes"),
            path={"contact_id": contact_id},
            body={"text": form.get("text", "")},
        )
    except RefusedError as refused:
        if refused.status in (403, 404, 410):
            raise
        return await contact(page, {"note": refused.detail}, status=refused.status)
    to = f"/contacts/{contact_id}{position_of(reply)}#notes"
    return page.redirect(to, page._("Note added."))


async def set_processing(page: Page) -> Response:
    form = await page.form()
    contact_id = page.request.path_params["contact_id"]
    reply = await page.call(
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
    reply = await page.call(
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
    found = await page.read(route, query=after)
    return page.render("deleted.html", items=found.items, now=page.now())


async def restore(page: Page) -> Response:
    await page.form()
    contact_id = page.request.path_params["contact_id"]
    try:
        reply = await page.call(
            ("POST", CONTACT + "/restore"),
            path={"contact_id": contact_id},
        )
    except RefusedError as refused:
        if refused.status not in (409, 410):
            raise
        return page.redirect("/contacts/deleted", refused.detail)
    return page.redirect(f"/contacts/{contact_id}{position_of(reply)}", page._("Restored."))


BULK_ACTIONS = (
    "add_to_group",
    "remove_from_group",
    "set_processing_status",
    "edit_fields",
    "marketing_email",
)


async def bulk(page: Page) -> Response:
    """A bulk action on the rows ticked, or on the whole view: a job, then its page."""
    form = await page.request.form(max_files=0, max_fields=10_000)
    checked = form.getlist("contact_id")
    values = await page.form()  # the CSRF check (the form is cached by Starlette)
    action = values.get("action", "")
    if action not in BULK_ACTIONS:
        raise RefusedError(422, page._("Choose an action."))
    by_action: dict[str, dict[str, Any]] = {
        "add_to_group": {"group_id": values.get("group_id", "")},
        "remove_from_group": {"group_id": values.get("group_id", "")},
        "set_processing_status": {"status": values.get("status", "")},
        "edit_fields": {"fields": {values.get("field", ""): values.get("value") or None}},
        "marketing_email": {"campaign": values.get("campaign", "")},
    }
    params = by_action[action]
    if values.get("scope") == "view":
        view: dict[str, Any] = {
            "q": values.get("view_q") or None,
            "view_id": values.get("view_id") or None,
        }
        if values.get("view_filter"):
            view["filter"] = parsed_json(values["view_filter"], "the view's filter")
        selection: dict[str, Any] = {"view": view}
    elif checked:
        selection = {"contact_ids": [str(c) for c in checked]}
    else:
        raise RefusedError(422, page._("Tick some contacts, or choose the whole view."))
    body = {"action": action, "params": params, "selection": selection}
    reply = await page.call(("POST", "/v1/bulk"), body=body)
    return page.redirect(f"/jobs/{reply.body.id}")


async def save_view(page: Page) -> Response:
    values = await page.form()
    body: dict[str, Any] = {
        "name": values.get("name", ""),
        "grid": "contacts",
        "q": values.get("view_q") or None,
        "filter": parsed_json(values["view_filter"], "the view's filter")
        if values.get("view_filter")
        else None,
        "sort": values.get("view_sort") or "name",
        "columns": [c for c in values.get("view_columns", "").split(",") if c],
    }
    reply = await page.call(("POST", "/v1/views"), body=body)
    return page.redirect(f"/contacts?view={reply.body.id}", page._("View saved."))


async def export(page: Page) -> Response:
    """The view as CSV or xlsx: the API's export, its file as the answer."""
    kind = page.request.path_params["kind"]
    if kind not in ("csv", "xlsx"):
        raise RefusedError(404, page._("No such export."))
    params = page.request.query_params
    query = {k: params[k] for k in ("q", "sort", "view") if params.get(k)}
    choices: dict[str, Any] = {k: params.get(k, "") for k in (*FILTER_KEYS, "advanced")}
    choices["status"] = params.getlist("status")
    found = segment(choices)
    if found is not None:
        query["filter"] = json.dumps(found)
    route = ("GET", f"/v1/exports/contacts.{kind}")
    answer = await page.read(route, query=query)
    answer.headers["Cache-Control"] = "no-store"
    return answer  # type: ignore[no-any-return]


# a button on the card: (the endpoint's path under the contact, the word to type, done)
ACTIONS = {
    "unlock": ("/site-account/unlock", "", "The site account is unlocked."),
    "password-reset": ("/site-account/password-reset", "", "A password-reset e-mail is asked for."),
    "erase": ("/erase", "ERASE", "The contact is erased."),
}


async def contact_action(page: Page) -> Response:
    """Unlock, ask for a password reset, or erase (typing ERASE): a button, an endpoint."""
    form = await page.form()
    contact_id = page.request.path_params["contact_id"]
    name = page.request.path_params["action"]
    if name not in ACTIONS:
        raise RefusedError(404, page._("No such action."))
    suffix, word, done = ACTIONS[name]
    if word and form.get("confirm", "").strip() != word:
        return await contact(page, {name: page._("Type %(word)s to confirm.", word=word)})
    route = ("POST", CONTACT + suffix)
    reply = await page.call(route, path={"contact_id": contact_id})
    to = "/contacts" if name == "erase" else f"/contacts/{contact_id}"
    return page.redirect(to + position_of(reply), page._(done))


async def merge(page: Page) -> Response:
    form = await page.form()
    contact_id = page.request.path_params["contact_id"]
    try:
        reply = await page.call(
            ("POST", CONTACT + "/merge"),
            path={"contact_id": contact_id},
            body={"merge_id": form.get("merge_id", "").strip()},
        )
    except RefusedError as refused:
        if refused.status == 403:
            raise
        return await contact(page, {"merge": refused.detail}, status=refused.status)
    to = f"/contacts/{contact_id}{position_of(reply)}"
    return page.redirect(to, page._("The other contact is merged into this one."))


async def access_export(page: Page) -> Response:
    """Everything held about the person (access request), as a JSON file."""
    path = {"contact_id": page.request.path_params["contact_id"]}
    found = await page.read(("GET", CONTACT + "/export"), path)
    name = f"contact-{path['contact_id']}.json"
    return Response(
        found.model_dump_json(indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
