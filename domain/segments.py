"""Segments: participant filters (F4, F16), parsed from JSON, evaluated in memory.

The same tree is compiled to SQL by the read side; this evaluator is its oracle.
JSON form:
  {"field": "company", "op": "eq", "value": "Acme"}
      ops: eq ne contains in range empty not_empty
  {"field": "status", "op": "in", "value": ["registered", "attended"]}
  {"participated": {"event_id": "<uuid>", "status": ["attended"]}}   (status optional)
  {"group": "<uuid>"}, {"form": "request"}, {"consent": true}, {"locked": false}
                                                    (facts of the person's contact)
  {"all": [...]}, {"any": [...]}, {"not": {...}}
Text compares with case and accents folded (`fold_text`, decision 0038).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.contact_work import FORM_KINDS

OPS = ("eq", "ne", "contains", "in", "range", "empty", "not_empty")
MAX_DEPTH = 8


class SegmentError(ValueError):
    """Raised when a filter is not well formed; says where."""


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any = None

    def matches(self, record: Mapping[str, Any]) -> bool:
        actual = record.get(self.field)
        if self.op == "empty":
            return _is_empty(actual)
        if self.op == "not_empty":
            return not _is_empty(actual)
        if self.op == "ne":
            return not _any(actual, lambda v: _fold(v) == _fold(self.value))
        return _any(actual, self._test)

    def _test(self, value: Any) -> bool:
        if self.op == "eq":
            return bool(_fold(value) == _fold(self.value))
        if self.op == "contains":
            return isinstance(value, str) and _fold(self.value) in _fold(value)
        if self.op == "in":
            return _fold(value) in {_fold(v) for v in self.value}
        low, high = _fold(self.value.get("gte")), _fold(self.value.get("lte"))
        folded = _fold(value)
        return bool(
            _comparable(folded, low, high)
            and (low is None or folded >= low)
            and (high is None or folded <= high)
        )

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": self.value}


@dataclass(frozen=True)
class Combination:
    kind: str  # "all", "any" or "not"
    parts: tuple[Segment, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        if self.kind == "all":
            return all(part.matches(record) for part in self.parts)
        if self.kind == "any":
            return any(part.matches(record) for part in self.parts)
        return not self.parts[0].matches(record)

    def as_json(self) -> dict[str, Any]:
        if self.kind == "not":
            return {"not": self.parts[0].as_json()}
        return {self.kind: [part.as_json() for part in self.parts]}


@dataclass(frozen=True)
class Participation:
    """The person participates in an event (with one of these statuses, if given).

    Evaluated against `record["_participations"]`: (event id, status) pairs of the person's
    live participations; a record without them (a lone participant) never matches.
    """

    event_id: str
    statuses: tuple[str, ...] = ()

    def matches(self, record: Mapping[str, Any]) -> bool:
        return any(
            event_id == self.event_id and (not self.statuses or status in self.statuses)
            for event_id, status in record.get("_participations", ())
        )

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"event_id": self.event_id}
        if self.statuses:
            body["status"] = list(self.statuses)
        return {"participated": body}


@dataclass(frozen=True)
class ContactFact:
    """A fact of the row's contact: member of a group, sent a kind of site form, consent
    given, site account locked.

    Evaluated against `record["_groups"]` (group ids), `record["_forms"]` (form kinds),
    `record["_consent"]` and `record["_locked"]` (booleans, as of the query's time); a row
    without a contact is in no group, sent no form, has no consent and is not locked.
    """

    kind: str  # "group", "form", "consent" or "locked"
    value: str | bool

    def matches(self, record: Mapping[str, Any]) -> bool:
        if self.kind in ("group", "form"):
            return self.value in record.get(f"_{self.kind}s", ())
        return bool(record.get(f"_{self.kind}", False)) is self.value

    def as_json(self) -> dict[str, Any]:
        return {self.kind: self.value}


FACTS = ("group", "form", "consent", "locked")
Segment = Condition | Combination | Participation | ContactFact


def about_people(segment: Segment) -> bool:
    """Whether a segment asks about the person beyond the row (participations, facts)."""
    if isinstance(segment, Combination):
        return any(about_people(part) for part in segment.parts)
    return isinstance(segment, Participation | ContactFact)


def parse_segment(data: Any, depth: int = 0) -> Segment:
    """Parse the JSON form, raising SegmentError naming what is wrong."""
    if depth > MAX_DEPTH:
        raise SegmentError(f"filter nests deeper than {MAX_DEPTH} levels")
    if not isinstance(data, dict):
        raise SegmentError("a filter must be an object")
    for kind in ("all", "any"):
        if kind in data:
            return Combination(kind, _parse_parts(data, kind, depth))
    if "not" in data:
        _only_keys(data, {"not"})
        return Combination("not", (parse_segment(data["not"], depth + 1),))
    if "participated" in data:
        _only_keys(data, {"participated"})
        return _parse_participation(data["participated"])
    for kind in FACTS:
        if kind in data:
            _only_keys(data, {kind})
            return _parse_fact(kind, data[kind])
    return _parse_condition(data)


def _parse_fact(kind: str, value: Any) -> ContactFact:
    if kind == "group":
        try:
            return ContactFact(kind, UUID(str(value)).hex)
        except ValueError:
            raise SegmentError("'group' takes a group id (a UUID)") from None
    if kind == "form":
        if value not in FORM_KINDS:
            raise SegmentError(f"'form' takes one of {', '.join(FORM_KINDS)}")
        return ContactFact(kind, value)
    if not isinstance(value, bool):
        raise SegmentError(f"{kind!r} takes true or false")
    return ContactFact(kind, value)


def _parse_participation(data: Any) -> Participation:
    if not isinstance(data, dict):
        raise SegmentError('\'participated\' takes {"event_id": …, "status": [...]}')
    _only_keys(data, {"event_id", "status"})
    try:
        event_id = str(UUID(str(data.get("event_id"))))
    except ValueError:
        raise SegmentError("'participated' needs an event_id (a UUID)") from None
    statuses = data.get("status", [])
    if not isinstance(statuses, list) or not all(isinstance(s, str) for s in statuses):
        raise SegmentError("'participated' status is a list of statuses")
    return Participation(event_id, tuple(statuses))


def _parse_parts(data: dict[str, Any], kind: str, depth: int) -> tuple[Segment, ...]:
    _only_keys(data, {kind})
    parts = data[kind]
    if not isinstance(parts, list) or not parts:
        raise SegmentError(f"{kind!r} takes a non-empty list of filters")
    return tuple(parse_segment(part, depth + 1) for part in parts)


def _parse_condition(data: dict[str, Any]) -> Condition:
    _only_keys(data, {"field", "op", "value"})
    name, op, value = data.get("field"), data.get("op"), data.get("value")
    if not isinstance(name, str) or not name:
        raise SegmentError("a condition needs a 'field' name")
    if op not in OPS:
        raise SegmentError(f"unknown op {op!r}; expected one of {', '.join(OPS)}")
    _check_value(op, value)
    return Condition(name, op, value)


def _check_scalar(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise SegmentError("filter values must not contain NUL characters")
    elif isinstance(value, bool):
        return
    elif isinstance(value, int | float):
        if not (abs(value) <= 2**53 and value == value):  # noqa: PLR0124 (NaN check)
            raise SegmentError("filter numbers must be finite and at most 2**53")
    else:
        raise SegmentError("filter values must be strings, numbers or booleans")


def _kind(value: Any) -> str:
    return "boolean" if isinstance(value, bool) else type(value).__name__.replace("int", "float")


def _check_value(op: str, value: Any) -> None:
    _check_shape(op, value)
    if op in ("empty", "not_empty"):
        return
    scalars = value if op == "in" else list(value.values()) if op == "range" else [value]
    for scalar in scalars:
        _check_scalar(scalar)
    if len({_kind(s) for s in scalars}) > 1:
        raise SegmentError(f"{op!r} values must all be of one kind (text, number or boolean)")
    if op == "range" and any(isinstance(v, bool) for v in scalars):
        raise SegmentError("'range' bounds are numbers or text")


def _check_shape(op: str, value: Any) -> None:
    if op in ("empty", "not_empty"):
        if value is not None:
            raise SegmentError(f"{op!r} takes no value")
    elif op == "in":
        if not isinstance(value, list) or not value:
            raise SegmentError("'in' takes a non-empty list")
    elif op == "range":
        if not isinstance(value, dict) or not set(value) <= {"gte", "lte"} or not value:
            raise SegmentError('\'range\' takes {"gte": …, "lte": …}')
    elif op == "contains":
        if not isinstance(value, str):
            raise SegmentError("'contains' takes a string")
    elif isinstance(value, dict | list) or value is None:
        raise SegmentError(f"{op!r} takes a single value")


def _only_keys(data: Mapping[str, Any], allowed: set[str]) -> None:
    extra = set(data) - allowed
    if extra:
        raise SegmentError(f"unexpected keys in filter: {', '.join(sorted(extra))}")


def _any(actual: Any, test: Any) -> bool:
    values: Sequence[Any] = actual if isinstance(actual, list) else [actual]
    return any(v is not None and test(v) for v in values)


def _fold(value: Any) -> Any:
    return fold_text(value) if isinstance(value, str) else value


def fold_text(text: str) -> str:
    """`text` for finding: case-folded, accents dropped, recomposed ("Élodie" → "elodie").

    For finding people, not telling them apart: key normalisation keeps accents."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare)


def _is_empty(value: Any) -> bool:
    return value is None or value in ("", [])


def _comparable(value: Any, *bounds: Any) -> bool:
    kinds = {(int, float) if isinstance(b, int | float) else type(b) for b in bounds}
    kinds.discard(type(None))
    return all(isinstance(value, kind) and not isinstance(value, bool) for kind in kinds)
