"""The grid read model in SQL: bulk load the rows a batch needs, fold, bulk write back.

Rows and the tracking position commit in one transaction. The position is advanced with
a compare-and-set, so two projectors racing on one database never apply an event twice:
the loser's transaction is rolled back and it re-reads from the new position.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Connection, Engine, Table, delete, insert, select, update

from adapters.sql import grid_tables as t
from adapters.sql.engine import create_tables
from projections import grid
from projections.folding import identity
from projections.grid import ContactRow, EventRow, Needs, ParticipantRow, Rows
from projections.grid_query import MemoryGrid

CHUNK = 500
T = TypeVar("T")


class ConcurrentProjectorError(Exception):
    """Raised when another projector advanced the same read model first."""


class SqlGridStore:
    name = grid.NAME

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ensure_schema(self) -> bool:
        """Create the tables; drop and recreate them if their version changed. True if reset."""
        create_tables(t.metadata, self.engine)
        with self.engine.begin() as connection:
            stored = connection.execute(
                select(t.tracking.c.version).where(t.tracking.c.name == self.name)
            ).scalar()
        if stored == grid.VERSION:
            return False
        self.reset()
        return True

    def reset(self) -> None:
        """Empty the read model and its position (a rebuild starts from the log's beginning)."""
        with self.engine.begin() as connection:
            for table in (t.contacts, t.participants, t.events):
                connection.execute(delete(table))
            connection.execute(delete(t.tracking).where(t.tracking.c.name == self.name))
            connection.execute(
                insert(t.tracking).values(name=self.name, version=grid.VERSION, position=0)
            )

    def position(self) -> int:
        with self.engine.connect() as connection:
            value = connection.execute(
                select(t.tracking.c.position).where(t.tracking.c.name == self.name)
            ).scalar()
        return int(value or 0)

    def apply_batch(self, events: Sequence[Any], start: int, end: int) -> None:
        """Fold `events` (log positions start+1..end) and move the position to `end`."""
        with self.engine.begin() as connection:
            rows = self._load(connection, grid.needs(events))
            for event in events:
                grid.apply(event, rows)
            self._write(connection, rows)
            moved = connection.execute(
                update(t.tracking)
                .where(t.tracking.c.name == self.name, t.tracking.c.position == start)
                .values(position=end)
            ).rowcount
            if moved != 1:
                raise ConcurrentProjectorError(f"{self.name} moved past {start} meanwhile")

    def load_all(self) -> MemoryGrid:
        """Every row, as the in-memory grid the oracle evaluates (tests, small exports)."""
        with self.engine.connect() as connection:
            participants = [
                _row(ParticipantRow, r) for r in connection.execute(select(t.participants))
            ]
            contacts = [_row(ContactRow, r) for r in connection.execute(select(t.contacts))]
        return MemoryGrid(contacts=contacts, participants=participants)

    # --- rows <-> SQL ---------------------------------------------------------------

    def _load(self, connection: Connection, wanted: Needs) -> Rows:
        rows = Rows()
        for record in _select(connection, t.events, t.events.c.event_id, wanted.events):
            rows.events[record.event_id] = _row(EventRow, record)
        for record in _select(
            connection, t.participants, t.participants.c.participant_id, wanted.participants
        ):
            rows.participants[record.participant_id] = _row(ParticipantRow, record)
        for record in _select(connection, t.contacts, t.contacts.c.contact_id, wanted.contacts):
            rows.contacts[record.contact_id] = _row(ContactRow, record)
        return rows

    def _write(self, connection: Connection, rows: Rows) -> None:
        touched = {
            kind: [i for k, i in rows.touched if k == kind]
            for kind in ("event", "participant", "contact")
        }
        _replace(
            connection,
            t.events,
            t.events.c.event_id,
            [_values(rows.events[i]) for i in touched["event"]],
        )
        _replace(
            connection,
            t.participants,
            t.participants.c.participant_id,
            [_values(rows.participants[i]) for i in touched["participant"]],
        )
        _replace(
            connection,
            t.contacts,
            t.contacts.c.contact_id,
            [_values(rows.contacts[i]) for i in touched["contact"]],
        )


def _select(connection: Connection, table: Table, key: Any, ids: Iterable[UUID]) -> list[Any]:
    wanted = list(ids)
    found: list[Any] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        found.extend(connection.execute(select(table).where(key.in_(chunk))).all())
    return found


def _replace(connection: Connection, table: Table, key: Any, values: list[dict[str, Any]]) -> None:
    if not values:
        return
    ids = [v[key.name] for v in values]
    for start in range(0, len(ids), CHUNK):
        connection.execute(delete(table).where(key.in_(ids[start : start + CHUNK])))
    connection.execute(insert(table), values)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _values(row: Any) -> dict[str, Any]:
    """A row as table values: its fields, plus the folded identity columns and counts."""
    values = {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
    if isinstance(row, ParticipantRow | ContactRow):
        values.update(identity(row.fields))
    if isinstance(row, ContactRow):
        values.update(n_events=row.n_events, n_communities=row.n_communities)
    return values


def _row(cls: type[T], record: Any) -> T:
    """A table record as a row (SQLite hands timestamps back without their zone)."""
    values = {f.name: getattr(record, f.name) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for name in ("created_at", "updated_at", "consent_at", "locked_until", "restore_until"):
        if values.get(name) is not None:
            values[name] = _aware(values[name])
    for name in ("fields", "memberships"):
        if name in values:
            values[name] = dict(values[name])
    if "groups" in values:
        values["groups"] = list(values["groups"])
    return cls(**values)
