"""The position of each read model in the log, kept in `rm_tracking` (one row per model).

A batch moves its read model's position with compare-and-set in the same transaction as
its rows, so two projectors of one model cannot both apply a batch.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, Table, delete, insert, select, update


class ConcurrentProjectorError(Exception):
    """Raised when another projector advanced the same read model first."""


def position_of(engine: Engine, tracking: Table, name: str) -> int:
    with engine.connect() as connection:
        value = connection.execute(
            select(tracking.c.position).where(tracking.c.name == name)
        ).scalar()
    return int(value or 0)


def move(connection: Connection, tracking: Table, name: str, start: int, end: int) -> None:
    """Compare-and-set the position; on PostgreSQL the row lock makes racers queue."""
    moved = connection.execute(
        update(tracking)
        .where(tracking.c.name == name, tracking.c.position == start)
        .values(position=end)
    ).rowcount
    if moved != 1:
        raise ConcurrentProjectorError(f"{name} moved past {start} meanwhile")


def restart(connection: Connection, tracking: Table, name: str, version: int) -> None:
    """Back to position 0 (a rebuild replays the log from its beginning)."""
    connection.execute(delete(tracking).where(tracking.c.name == name))
    connection.execute(insert(tracking).values(name=name, version=version, position=0))
