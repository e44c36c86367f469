"""The grid read model in SQL: bulk load the rows a batch needs, fold, bulk write back.

Rows and the tracking position commit in one transaction. The position is advanced with
a compare-and-set, first thing in the transaction, so two projectors racing on one
database never apply an event twice: the loser finds the position moved, rolls back and
re-reads from the new position (`adapters/sql/tracking.py`). Consecutive batches of one
catch-up (`batches()`) keep the rows they committed in memory instead of selecting them
again (see decision 0010).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from psycopg import sql
from sqlalchemy import Connection, Engine, Table, delete, insert, select, text

from adapters.sql import grid_tables as t
from adapters.sql.engine import insert_rows
from adapters.sql.tracking import TrackedStore
from projections import grid
from projections.folding import identity
from projections.grid import ContactRow, EventRow, Needs, ParticipantRow, Rows
from projections.grid_query import MemoryGrid

CHUNK = 500
KEPT_ROWS = 200_000  # rows of each kind a catch-up keeps in memory between its batches
T = TypeVar("T")
KINDS = ("event", "participant", "contact")
TABLES = {"event": t.events, "participant": t.participants, "contact": t.contacts}
ROWS = {"event": EventRow, "participant": ParticipantRow, "contact": ContactRow}


class SqlGridStore(TrackedStore):
    name = grid.NAME
    version = grid.VERSION
    tables = (t.events, t.participants, t.contacts)
    topics: frozenset[str] | None = frozenset(grid.TOPICS)
    positioned = False
    personal = True

    def __init__(self, engine: Engine, kept_rows: int = KEPT_ROWS) -> None:
        super().__init__(engine)
        self.kept_rows = kept_rows

    def finish_schema(self, connection: Connection) -> None:
        t.create_indexes(connection)

    def empty(self, connection: Connection) -> None:
        if connection.dialect.name == "postgresql":  # no dead rows left for the rebuild
            connection.execute(text("TRUNCATE rm_contacts, rm_participants, rm_events"))
        else:
            super().empty(connection)

    def apply_batch(self, events: Sequence[Any], start: int, end: int) -> None:
        """Fold `events` (log positions start+1..end) and move the position to `end`."""
        self.batches().apply(events, start, end)

    def batches(self) -> GridBatches:
        """Applies consecutive batches, keeping the rows it committed between them."""
        return GridBatches(self)

    def load_all(self) -> MemoryGrid:
        """Every row, as the in-memory grid the oracle evaluates (tests, small exports)."""
        with self.engine.connect() as connection:
            participants = [
                _row(ParticipantRow, r) for r in connection.execute(select(t.participants))
            ]
            contacts = [_row(ContactRow, r) for r in connection.execute(select(t.contacts))]
        return MemoryGrid(contacts=contacts, participants=participants)

    # --- rows <-> SQL ---------------------------------------------------------------

    def _load(self, connection: Connection, kind: str, ids: Iterable[UUID]) -> list[Any]:
        table = TABLES[kind]
        return [_row(ROWS[kind], r) for r in _select(connection, table, table.c[0], ids)]

    def _write(self, connection: Connection, rows: Rows, stored: set[tuple[str, UUID]]) -> None:
        """Write the touched rows back; `stored` names those already in the tables."""
        touched: dict[str, list[Any]] = {kind: [] for kind in KINDS}
        for kind, row_id in rows.touched:
            touched[kind].append(row_id)
        tables: dict[str, Mapping[UUID, object]] = {
            "event": rows.events,
            "participant": rows.participants,
            "contact": rows.contacts,
        }
        for kind in KINDS:
            ids = touched[kind]
            if ids:
                replaced = [i for i in ids if (kind, i) in stored]
                values = [_values(tables[kind][i]) for i in ids]
                _replace(connection, TABLES[kind], replaced, values)


class GridBatches:
    """Consecutive batches of one catch-up. The rows it committed are kept (up to a
    bound) for the next batches; anything that goes wrong forgets them all, since the
    fold changes rows in place before the transaction is known to commit."""

    def __init__(self, store: SqlGridStore) -> None:
        self.store = store
        self._forget()

    def apply(self, events: Sequence[Any], start: int, end: int) -> None:
        try:
            with self.store.advancing(start, end) as connection:
                if start == 0:  # position 0 is an empty read model: `reset` empties both
                    self._forget()
                    self.complete = True
                rows, stored = self._rows(connection, grid.needs(events))
                for event in events:
                    grid.apply(event, rows)
                self.store._write(connection, rows, stored)
        except BaseException:
            self._forget()
            raise
        self._keep(rows)

    def _forget(self) -> None:
        self.kept: dict[str, OrderedDict[UUID, Any]] = {k: OrderedDict() for k in KINDS}
        self.complete = False  # True while `kept` holds every row of the read model

    def _rows(self, connection: Connection, wanted: Needs) -> tuple[Rows, set[Any]]:
        rows = Rows()
        stored: set[tuple[str, UUID]] = set()
        for kind, ids, into in (
            ("event", wanted.events, rows.events),
            ("participant", wanted.participants, rows.participants),
            ("contact", wanted.contacts, rows.contacts),
        ):
            kept = self.kept[kind]
            missing = [i for i in ids if i not in kept]
            into.update((i, kept[i]) for i in ids if i in kept)
            if missing and not self.complete:
                for row in self.store._load(connection, kind, missing):
                    into[_id(row)] = row
            stored.update((kind, i) for i in into)
        return rows, stored

    def _keep(self, rows: Rows) -> None:
        limit = self.store.kept_rows
        for kind, batch in (
            ("event", rows.events),
            ("participant", rows.participants),
            ("contact", rows.contacts),
        ):
            kept = self.kept[kind]
            for row_id, row in batch.items():
                kept[row_id] = row
                kept.move_to_end(row_id)
            while len(kept) > limit:
                kept.popitem(last=False)
                self.complete = False


def _id(row: Any) -> UUID:
    return getattr(row, dataclasses.fields(row)[0].name)  # type: ignore[no-any-return]


def _select(connection: Connection, table: Table, key: Any, ids: Iterable[UUID]) -> list[Any]:
    wanted = list(ids)
    found: list[Any] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        found.extend(connection.execute(select(table).where(key.in_(chunk))).all())
    return found


def _replace(
    connection: Connection, table: Table, replaced: list[UUID], values: list[dict[str, Any]]
) -> None:
    """Delete the stored versions of the rows, then insert them all (COPY on PostgreSQL)."""
    key = table.c[0]
    if connection.dialect.name == "postgresql":
        _copy_replace(connection, table, replaced, values)
        return
    for start in range(0, len(replaced), CHUNK):
        connection.execute(delete(table).where(key.in_(replaced[start : start + CHUNK])))
    connection.execute(insert(table), values)


def _copy_replace(
    connection: Connection, table: Table, replaced: list[UUID], values: list[dict[str, Any]]
) -> None:
    driver = connection.connection.driver_connection  # same transaction as `connection`
    if replaced:
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(
                sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(
                    sql.Identifier(table.name), sql.Identifier(table.c[0].name)
                ),
                (replaced,),
            )
    insert_rows(connection, table, values)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _values(row: Any) -> dict[str, Any]:
    """A row as table values: its fields, plus the folded identity columns and counts."""
    values = dict(vars(row))  # a dataclass's fields, without `dataclasses.fields`
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
    for name in ("groups", "forms"):
        if name in values:
            values[name] = list(values[name])
    return cls(**values)
