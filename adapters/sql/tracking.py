"""The position of each read model in the log, kept in `rm_tracking` (one row per model).

Read models are disposable: the row also holds the schema VERSION its tables were made
for; on start-up a read model whose stored version differs from the code's is dropped,
made again empty at position 0 and rebuilt from the log (docs/decisions/0009).

A batch moves its read model's position with compare-and-set, first thing in the
transaction that writes its rows, so two projectors of one model cannot both apply a
batch: on PostgreSQL the row lock makes the second wait, then find the position moved.
`TrackedStore` is that for the grid, the audit trail, the outbox and the reports.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)

from adapters.sql.engine import lock_schema

rm_tracking = Table(
    "rm_tracking",
    MetaData(),
    Column("name", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
)


class ConcurrentProjectorError(Exception):
    """Raised when another projector advanced the same read model first."""


class TrackedStore:
    """A read model in SQL whose rows commit with its position. A store names itself and
    its VERSION, lists its `tables` and writes a batch inside `advancing(start, end)`."""

    name: str
    version: int
    tables: Sequence[Table]  # made, emptied and dropped together

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ensure_schema(self) -> bool:
        """Create the tables; if their stored version is another, drop and create them again
        empty, at position 0. One process at a time: True if this call (re)made them."""
        with self.engine.begin() as connection:
            lock_schema(connection)
            rm_tracking.create(connection, checkfirst=True)
            made = _version(connection, self.name) != self.version
            if made:
                for table in reversed(self.tables):
                    table.drop(connection, checkfirst=True)
                self._restart(connection)
            for table in self.tables:  # all of them after a drop; else those added since
                table.create(connection, checkfirst=True)
            self.finish_schema(connection)
            return made

    def finish_schema(self, connection: Connection) -> None:
        """What existing tables may lack (indexes added since): nothing by default."""

    def reset(self) -> None:
        """Empty the read model and its position (a rebuild replays the log from 0)."""
        with self.engine.begin() as connection:
            self.empty(connection)
            self._restart(connection)

    def empty(self, connection: Connection) -> None:
        for table in reversed(self.tables):
            connection.execute(delete(table))

    def position(self) -> int:
        with self.engine.connect() as connection:
            return position_in(connection, self.name)

    def batches(self) -> Any:
        """What the projector applies consecutive batches with: the store itself, unless
        it keeps something between them."""
        return self

    @contextmanager
    def advancing(self, start: int, end: int) -> Iterator[Connection]:
        """A transaction for a batch of log positions start+1..end, which moves the
        position to `end` if it still is `start` (else ConcurrentProjectorError)."""
        with self.engine.begin() as connection:
            move(connection, self.name, start, end)
            yield connection

    def _restart(self, connection: Connection) -> None:
        connection.execute(delete(rm_tracking).where(rm_tracking.c.name == self.name))
        connection.execute(
            insert(rm_tracking).values(name=self.name, version=self.version, position=0)
        )


def position_in(connection: Connection, name: str) -> int:
    """A read model's position as `connection` sees it (0 before it has one)."""
    value = connection.execute(
        select(rm_tracking.c.position).where(rm_tracking.c.name == name)
    ).scalar()
    return int(value or 0)


def move(connection: Connection, name: str, start: int, end: int) -> None:
    """Compare-and-set the position; on PostgreSQL the row lock makes racers queue."""
    moved = connection.execute(
        update(rm_tracking)
        .where(rm_tracking.c.name == name, rm_tracking.c.position == start)
        .values(position=end)
    ).rowcount
    if moved != 1:
        raise ConcurrentProjectorError(f"{name} moved past {start} meanwhile")


def _version(connection: Connection, name: str) -> int | None:
    return connection.execute(
        select(rm_tracking.c.version).where(rm_tracking.c.name == name)
    ).scalar()
