"""The settings screen (Eventmaker's account settings, the CRM wiki's custom fields): the
uniqueness key, each field's sync mode, the restore window, and new account fields."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from adapters.web.calls import RefusedError, call, position_of, read
from adapters.web.pages import Page
from domain.fields import FieldType

KEYS = (("email",), ("email", "first_name", "last_name"), ("first_name", "last_name", "email"))
MODES = ("off", "up", "up_and_propagate")


async def settings(page: Page, errors: dict[str, str] | None = None, status: int = 422) -> Response:
    after = {"after": page.request.query_params.get("after", "")}
    found = await read(page.runtime, page.request, page.user, ("GET", "/v1/settings"), None, after)
    fields = await read(page.runtime, page.request, page.user, ("GET", "/v1/fields"))
    return page.render(
        "settings.html",
        status if errors else 200,
        settings=found,
        fields=fields.items,
        keys=[",".join(key) for key in KEYS],
        modes=MODES,
        types=[t.value for t in FieldType],
        errors=errors or {},
    )


async def save(page: Page) -> Response:
    values = await page.form()
    body: dict[str, Any] = {
        "uniqueness_key": [k for k in values.get("uniqueness_key", "").split(",") if k],
        "sync": {
            key.removeprefix("sync."): mode
            for key, mode in values.items()
            if key.startswith("sync.") and mode in MODES
        },
    }
    months = values.get("restore_window_months", "")
    if months.isdigit():
        body["restore_window_months"] = int(months)
    version = values.get("version", "")
    try:
        reply = await call(
            page.runtime,
            page.request,
            page.user,
            ("PATCH", "/v1/settings"),
            body=body,
            expected_version=int(version) if version.isdigit() else None,
        )
    except RefusedError as refused:
        if refused.status == 403:
            raise
        return await settings(page, {"": refused.detail}, refused.status)
    warnings = " ".join(reply.body.warnings)
    return page.redirect(f"/settings{position_of(reply)}", warnings or page._("Saved."))


async def define_field(page: Page) -> Response:
    values = await page.form()
    body: dict[str, Any] = {
        "name": values.get("name", "").strip(),
        "type": values.get("type", ""),
        "label": values.get("label", "").strip(),
        "group": values.get("group") or None,
        "help": values.get("help") or None,
    }
    options = [o.strip() for o in values.get("options", "").split(";") if o.strip()]
    if options:
        body["options"] = options
    try:
        reply = await call(page.runtime, page.request, page.user, ("POST", "/v1/fields"), body=body)
    except RefusedError as refused:
        if refused.status == 403:
            raise
        return await settings(page, {"field": refused.detail}, refused.status)
    return page.redirect(f"/settings{position_of(reply)}#fields", page._("Field defined."))
