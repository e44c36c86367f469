"""Grid queries (F15, F16): the query, its page, and the in-memory evaluation (the oracle).

The SQL views in the adapters must answer exactly what `evaluate` answers for the same
rows; a property test checks that.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.segments import Segment
from projections.folding import fold, identity
from projections.grid import ContactRow, ParticipantRow

MAX_LIMIT = 500
COUNT_CAP = 10_000  # totals are exact up to this many rows; beyond it, "more than COUNT_CAP"
_IDENTITY_SORTS = ("name", "first_name", "last_name", "email", "company", "job_title")
_TIMES = ("created_at", "updated_at")
NULLABLE_TIMES = ("consent_at", "locked_until")  # sorted with "never" first
NUMBERS = ("n_events", "n_communities", "failed_attempts")
NEVER = datetime(1, 1, 1, tzinfo=UTC)
COLUMNS = {
    "contacts": (
        *_IDENTITY_SORTS,
        "n_events",
        "n_communities",
        "processing_status",
        *NULLABLE_TIMES,
        "failed_attempts",
        *_TIMES,
    ),
    "participants": (*_IDENTITY_SORTS, "status", "source", *_TIMES),
}


class GridQueryError(ValueError):
    """Raised when a grid query is not valid (sort column, cursor, limit)."""


@dataclass(frozen=True)
class GridQuery:
    account_id: UUID
    grid: str = "contacts"  # or "participants"
    event_id: UUID | None = None  # participants: the event; contacts: participated in it
    q: str | None = None
    filter: Segment | None = None
    sort: str = "name"
    limit: int = 50
    cursor: str | None = None
    group_id: UUID | None = None  # members of this group only
    list_fields: frozenset[str] = frozenset()  # multiple-choice fields: match any element
    # What "locked" is judged against: given by the caller, as the read side reads no clock.
    now: datetime = field(kw_only=True)

    def __post_init__(self) -> None:
        if self.q is not None and "\x00" in self.q:
            raise GridQueryError("q must not contain NUL characters")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise GridQueryError(f"limit must be between 1 and {MAX_LIMIT}")
        column = self.sort_column
        if column not in COLUMNS[self.grid] and not column.startswith("fields."):
            choices = ", ".join(COLUMNS[self.grid])
            raise GridQueryError(f"cannot sort on {column!r}; use {choices} or fields.<name>")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def sort_column(self) -> str:
        return self.sort.lstrip("-")

    def after(self) -> tuple[Any, UUID] | None:
        """The (sort value, id) the cursor points after, or None for the first page."""
        if self.cursor is None:
            return None
        try:
            grid, sort, value, row_id = json.loads(base64.urlsafe_b64decode(self.cursor.encode()))
            after = _cursor_value(value), UUID(row_id)
        except (ValueError, TypeError, binascii.Error, RecursionError):
            raise GridQueryError("cursor is not one this grid issued") from None
        if (grid, sort) != (self.grid, self.sort) or not _fits(self.sort_column, after[0]):
            raise GridQueryError("cursor belongs to another grid or sort; start from page one")
        return after


@dataclass(frozen=True)
class GridPage:
    """One page. `total` counts every row of the query when `total_exact`; otherwise more
    than `total` rows match (the count stopped at the cap, see docs/decisions/0011)."""

    rows: Sequence[Any]
    next_cursor: str | None
    total: int
    total_exact: bool = True


def capped_total(matches: int, cap: int) -> tuple[int, bool]:
    """(total, exact) for a query that matches `matches` rows (counted up to cap + 1)."""
    return (matches, True) if matches <= cap else (cap, False)


def make_cursor(query: GridQuery, sort_value: Any, row_id: UUID) -> str:
    """Opaque: the grid and sort it belongs to, and the (sort value, id) to continue after."""
    value = {"t": sort_value.isoformat()} if isinstance(sort_value, datetime) else sort_value
    body = [query.grid, query.sort, value, row_id.hex]
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


def _fits(column: str, value: Any) -> bool:
    if column in NUMBERS:
        return isinstance(value, int) and not isinstance(value, bool)
    if column in (*_TIMES, *NULLABLE_TIMES):
        return isinstance(value, datetime)
    return isinstance(value, str) and "\x00" not in value


def _cursor_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"}:
        return datetime.fromisoformat(value["t"])
    if isinstance(value, dict | list):
        raise ValueError("bad cursor value")
    return value


# --- the oracle ---------------------------------------------------------------------


@dataclass
class MemoryGrid:
    contacts: list[ContactRow] = field(default_factory=list)
    participants: list[ParticipantRow] = field(default_factory=list)


def evaluate(grid: MemoryGrid, query: GridQuery, count_cap: int = COUNT_CAP) -> GridPage:
    rows = [r for r in _candidates(grid, query) if _matches(grid, query, r)]
    total, exact = capped_total(len(rows), count_cap)
    rows.sort(key=lambda r: (sort_key(query.sort_column, r), _id(r)), reverse=query.descending)
    after = query.after()
    if after is not None:
        rows = [r for r in rows if _beyond((sort_key(query.sort_column, r), _id(r)), after, query)]
    page = rows[: query.limit]
    more = len(rows) > query.limit
    cursor = (
        make_cursor(query, sort_key(query.sort_column, page[-1]), _id(page[-1])) if more else None
    )
    return GridPage(page, cursor, total, exact)


def sort_key(column: str, row: Any) -> Any:
    if column.startswith("fields."):
        value = fold(row.fields.get(column[7:]))
        return "" if value is None or isinstance(value, list | dict) else str(value)
    if column in ("name", "first_name", "last_name", "email", "company", "job_title"):
        values = identity(row.fields)
        key = "sort_name" if column == "name" else column
        return values[key] or ""
    if column in NULLABLE_TIMES:
        return getattr(row, column) or NEVER
    return getattr(row, column)


def _beyond(key: tuple[Any, UUID], after: tuple[Any, UUID], query: GridQuery) -> bool:
    return key < after if query.descending else key > after


def _id(row: Any) -> UUID:
    return row.contact_id if isinstance(row, ContactRow) else row.participant_id


def _candidates(grid: MemoryGrid, query: GridQuery) -> Iterable[Any]:
    if query.grid == "participants":
        return (
            p
            for p in grid.participants
            if p.account_id == query.account_id and p.event_id == query.event_id and not p.deleted
        )
    return (c for c in grid.contacts if c.account_id == query.account_id and not c.deleted)


def _matches(grid: MemoryGrid, query: GridQuery, row: Any) -> bool:
    if query.grid == "contacts" and query.event_id is not None:
        linked = _participations(grid, row)
        if not any(event_id == query.event_id for event_id, _ in linked):
            return False
    if query.q and fold(query.q.strip()) not in identity(row.fields)["search"]:
        return False
    seen = record(grid, row, query)
    if query.group_id is not None and query.group_id.hex not in seen["_groups"]:
        return False
    return query.filter is None or query.filter.matches(seen)


def record(grid: MemoryGrid, row: Any, query: GridQuery) -> dict[str, Any]:
    """What a filter sees of a row: its fields, the grid's own columns, its person's facts."""
    values = {**row.fields}
    if isinstance(row, ContactRow):
        values.update(
            n_events=row.n_events,
            n_communities=row.n_communities,
            processing_status=row.processing_status,
            site_confirmed=row.site_confirmed,
            failed_attempts=row.failed_attempts,
        )
    else:
        values.update(status=row.status, source=row.source)
    contact_id = row.contact_id
    contact = next(
        (c for c in grid.contacts if contact_id is not None and c.contact_id == contact_id), None
    )
    values["_groups"] = contact.groups if contact else []
    values["_forms"] = contact.forms if contact else []
    values["_consent"] = contact is not None and contact.consent_at is not None
    values["_locked"] = (
        contact is not None
        and contact.locked_until is not None
        and contact.locked_until > query.now
    )
    values["_participations"] = [
        (str(p.event_id), p.status)
        for p in grid.participants
        if contact_id is not None and p.contact_id == contact_id and not p.deleted
    ]
    return values


def _participations(grid: MemoryGrid, contact: ContactRow) -> list[tuple[UUID, str]]:
    return [
        (p.event_id, p.status)
        for p in grid.participants
        if p.contact_id == contact.contact_id and not p.deleted
    ]
