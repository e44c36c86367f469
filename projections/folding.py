"""Folding for finding, shared by the read models and their in-memory oracle.

Case and accents are folded as the filter language compares text (`fold_text`, decision
0038): "lefevre" finds "Lefèvre" and "Énergie" sorts with the other e's. This is about
finding people, not telling them apart: the key normalisation (`domain/keys.py`) keeps
accents, so spelling variants stay different people.
"""

from __future__ import annotations

from typing import Any

from domain.segments import fold_text

IDENTITY = ("email", "first_name", "last_name", "company", "job_title")


def fold(value: Any) -> Any:
    """Strings case-folded and stripped of accents (lists of strings too); other values as
    they are."""
    if isinstance(value, str):
        return fold_text(value)
    if isinstance(value, list):
        return [fold(v) for v in value]
    return value


def fold_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: fold(value) for name, value in fields.items()}


def identity(fields: dict[str, Any]) -> dict[str, Any]:
    """The denormalised, case-folded columns: identity fields, sort name, search text."""
    folded = fold_fields(fields)
    values: dict[str, Any] = {
        name: None if folded.get(name) is None else str(folded[name]) for name in IDENTITY
    }
    values["sort_name"] = " ".join((values["last_name"] or "", values["first_name"] or "")).strip()
    values["search"] = " ".join(v for v in values.values() if v)
    values["folded"] = folded
    return values
