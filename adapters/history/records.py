"""One record of the history export per stored event: columns and a JSON-safe payload."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

SCHEMA_VERSION = "1"
COLUMNS = (
    "position",
    "at",
    "account_id",
    "aggregate_type",
    "aggregate_id",
    "version",
    "event_type",
    "actor",
    "role",
    "origin",
    "correlation_id",
    "causation_id",
    "erased",
    "payload",
)
# Attributes that are columns of their own, or the library's bookkeeping, not payload.
NOT_PAYLOAD = frozenset(
    {"originator_id", "originator_version", "timestamp", "meta", "originator_topic", "account_id"}
)


class UnexportableValueError(TypeError):
    """Raised when an event attribute has a type the export has no JSON form for."""


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    position: int
    at: datetime  # UTC
    account_id: str | None
    aggregate_type: str
    aggregate_id: str
    version: int
    event_type: str
    actor: str
    role: str
    origin: str
    correlation_id: str
    causation_id: str | None
    erased: bool
    payload: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The NDJSON object: `at` as ISO 8601, the payload as a nested object."""
        return {
            name: self.at.isoformat() if name == "at" else getattr(self, name) for name in COLUMNS
        }


def record_of(position: int, event: Any, account_id: UUID | None, erased: bool) -> HistoryRecord:
    """The record of a decoded event (personal attributes already stand-ins if erased)."""
    event_type = type(event).__qualname__
    meta = event.meta
    return HistoryRecord(
        position=position,
        at=event.timestamp.astimezone(UTC),
        account_id=None if account_id is None else str(account_id),
        aggregate_type=event_type.split(".")[0],
        aggregate_id=str(event.originator_id),
        version=event.originator_version,
        event_type=event_type,
        actor=meta.actor,
        role=meta.role,
        origin=meta.origin,
        correlation_id=meta.correlation_id,
        causation_id=meta.causation_id,
        erased=erased,
        payload=payload_of(event),
    )


def payload_of(event: Any) -> dict[str, Any]:
    return {k: json_safe(v) for k, v in vars(event).items() if k not in NOT_PAYLOAD}


def json_safe(value: Any) -> Any:
    """Ids as strings, times and dates as ISO 8601, containers recursively."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    raise UnexportableValueError(f"no JSON form for a value of type {type(value).__name__}")


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept as is (UTF-8 in the file)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
