"""Form fields as text, back into values: what a page sends an endpoint.

A form shows every field as text and posts them all back; the page sends only the fields
whose text changed (so an unchanged field is not re-stamped as a new edit), converted as
an import converts a cell (`domain.imports.from_cell`: "1 250,5" is a number, "oui" is
yes, "a; b" two choices). An emptied field is cleared. Values the API refuses come back
as its errors, beside their fields; each field is also checked here by its own rule, so
that every wrong field is shown at once, not only the first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from starlette.responses import Response

from adapters.web.calls import RefusedError, position_of
from adapters.web.pages import Page
from domain.fields import FieldDefinition, FieldValueError
from domain.imports import from_cell


def shown(value: Any) -> str:
    """A value as its form field shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def changes(
    current: Mapping[str, Any], sent: Mapping[str, str], fields: Iterable[Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """(the values to send, errors by field name) for the fields whose text changed."""
    known = {f.name: f for f in fields}
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, text in sent.items():
        if text.strip() == shown(current.get(name)).strip():
            continue
        if not text.strip():
            values[name] = None
            continue
        field = known.get(name)
        if field is None:
            values[name] = text
            continue
        definition = FieldDefinition.from_dict(
            {
                "name": field.name,
                "type": field.type,
                "label": field.label,
                "options": field.options,
                "group": field.group,
                "help": field.help,
            }
        )
        try:  # every field's error at once (the API stops at the first)
            values[name] = definition.validate(from_cell(definition, text))
        except FieldValueError as error:
            errors[name] = str(error)
    return values, errors


ShowAgain = Callable[[dict[str, str], dict[str, str], int], Awaitable[Response]]


async def edit_fields(
    page: Page,
    route: str,
    path: dict[str, Any],
    fields: Iterable[Any],
    here: str,
    again: ShowAgain,
) -> Response:
    """A posted card's fields sent to `PATCH route` (a contact's or a participant's): the
    changed ones only, each checked; refusals shown again beside their fields by `again`
    (errors, what was typed, status); done, back to `here` showing the write."""
    form = await page.form()
    version = form.pop("version", "")
    sent = {k.removeprefix("field."): v for k, v in form.items() if k.startswith("field.")}
    current = await page.read(("GET", route), path)
    values, errors = changes(current.fields, sent, fields)
    if errors:
        return await again(errors, sent, 422)
    if not values:
        return page.redirect(here, page._("Nothing changed."))
    try:
        reply = await page.call(
            ("PATCH", route),
            path=path,
            body={"fields": values},
            expected_version=int(version) if version.isdigit() else None,
        )
    except RefusedError as refused:
        if refused.status in (403, 404, 410):
            raise
        errors = {k.removeprefix("fields."): v for k, v in refused.errors.items()}
        return await again(errors or {"": refused.detail}, sent, refused.status)
    return page.redirect(f"{here}{position_of(reply)}", page._("Saved."))
