"""Saved views of a grid (F15): a name, the query (filter, free text, sort) and columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.segments import SegmentError, parse_segment

GRIDS = ("contacts", "participants")


class SavedViewError(ValueError):
    """Raised when a saved view is not valid; says what is wrong."""


class SavedViewNotFoundError(Exception):
    """Raised when no saved view has this id in the account."""

    def __init__(self, view_id: UUID) -> None:
        super().__init__(f"view {view_id} not found")


@dataclass(frozen=True)
class SavedView:
    view_id: UUID
    name: str
    grid: str = "contacts"
    event_id: UUID | None = None
    q: str | None = None
    filter: dict[str, Any] | None = None
    sort: str = "name"
    columns: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.name.strip() or len(self.name) > 100:
            raise SavedViewError("a view name is 1 to 100 characters")
        if self.grid not in GRIDS:
            raise SavedViewError("grid must be 'contacts' or 'participants'")
        if self.grid == "participants" and self.event_id is None:
            raise SavedViewError("a participants view needs an event_id")
        if self.filter is not None:
            try:
                parse_segment(self.filter)
            except SegmentError as error:
                raise SavedViewError(f"filter: {error}") from None
        if len(self.columns) > 200 or len(set(self.columns)) != len(self.columns):
            raise SavedViewError("columns must be at most 200 distinct names")

    def as_dict(self) -> dict[str, Any]:
        return {
            "view_id": self.view_id.hex,
            "name": self.name,
            "grid": self.grid,
            "event_id": self.event_id.hex if self.event_id else None,
            "q": self.q,
            "filter": self.filter,
            "sort": self.sort,
            "columns": list(self.columns),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SavedView:
        return cls(
            view_id=UUID(data["view_id"]),
            name=data["name"],
            grid=data["grid"],
            event_id=UUID(data["event_id"]) if data["event_id"] else None,
            q=data["q"],
            filter=data["filter"],
            sort=data["sort"],
            columns=tuple(data["columns"]),
        )
