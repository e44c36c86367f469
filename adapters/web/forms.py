"""Form fields as text, back into values: what a page sends an endpoint.

A form shows every field as text and posts them all back; the page sends only the fields
whose text changed (so an unchanged field is not re-stamped as a new edit), converted as
an import converts a cell (`domain.imports.from_cell`: "1 250,5" is a number, "oui" is
yes, "a; b" two choices). An emptied field is cleared. Values the API refuses come back
as its errors, beside their fields; each field is also checked here by its own rule, so
that every wrong field is shown at once, not only the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

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
