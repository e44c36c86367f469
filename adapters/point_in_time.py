"""The read side as it was at a past time (F21): the grids folded from the event log on
demand, and `replay`, a copy of every read model built from the log up to a time.

The audit trail indexes every event of an account by log position and time; the events
of the account up to its first one recorded after the asked time are read back from the
log, decoded (an erased person's values read as erased) and folded by the grid
projection into a private in-memory SQLite database, which the usual grid queries then
read. The cost is that of replaying the account's history up to then: linear in its
events, paid on every request (see docs/decisions/0023-history-for-analysts.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from uuid import UUID

from sqlalchemy import Engine

from adapters.ledger import SealedContactLedger
from adapters.projector import Projector, ReadModelStore
from adapters.settings import Database
from adapters.sql.audit_store import SqlAuditStore
from adapters.sql.engine import make_engine
from adapters.sql.grid_queries import SqlGrid
from adapters.sql.grid_store import SqlGridStore
from adapters.sql.outbox_store import SqlOutboxStore
from adapters.sql.report_store import SqlReportStore
from projections import grid

PAGE = 5_000  # log entries read, decoded and folded at a time


class PointInTime:
    def __init__(self, ledger: SealedContactLedger, audit: SqlAuditStore) -> None:
        self.ledger, self.audit = ledger, audit

    def grid(self, account_id: UUID, at: datetime) -> SqlGrid:
        """The account's grids as they were at `at` (the caller disposes of its engine)."""
        engine = make_engine(Database("memory"))
        store = SqlGridStore(engine)
        store.ensure_schema()
        positions = self.audit.positions_until(account_id, at)
        batches, start = store.batches(), 0
        for index in range(0, len(positions), PAGE):
            page = positions[index : index + PAGE]
            wanted = [
                n
                for n in self.ledger.recorder.select_notifications_at(page)  # type: ignore[attr-defined]
                if n.topic in TOPICS
            ]
            self.ledger.keyring.prefetch({n.originator_id for n in wanted})
            events = [self.ledger.mapper.to_domain_event(n) for n in wanted]
            batches.apply(events, start, page[-1])
            start = page[-1]
        return SqlGrid(engine)


TOPICS = frozenset(grid.TOPICS)


def position_at(ledger: SealedContactLedger, at: datetime) -> int:
    """The log position of the last event recorded at or before `at` (0: none).

    A binary search over the log, reading one entry per step: the log is in commit order
    and times follow it (commands take the clock's time; writers overlap by milliseconds).
    """
    recorder = ledger.recorder
    low, high = 0, recorder.max_notification_id() or 0  # low: at or before; high+1: after
    while low < high:
        middle = (low + high + 1) // 2
        entry = recorder.select_notifications(start=middle, limit=1)[0]
        if ledger.mapper.to_anonymous_event(entry).timestamp <= at:
            low = entry.id
        else:
            high = middle - 1
    return low


def read_models(engine: Engine) -> list[ReadModelStore]:
    """Every read model, on one database (as `build_system` makes them)."""
    return [
        SqlGridStore(engine),
        SqlAuditStore(engine),
        SqlOutboxStore(engine),
        SqlReportStore(engine),
    ]


def replay(
    ledger: SealedContactLedger,
    source: Database,
    target: Database,
    until: int,
    progress: Callable[[str, int], None] | None = None,
) -> int:
    """Build every read model into `target` from the log up to position `until` (a copy of
    the read side as it was then). Returns the log entries read."""
    if _where(target) == _where(source):
        raise ValueError("the copy must go to another database or schema than the live one")
    engine = make_engine(target)
    read = 0
    try:
        for store in read_models(engine):
            store.ensure_schema()
            projector = Projector(ledger, store, source, stop=until)
            step = None if progress is None else partial(progress, store.name)
            read += projector.rebuild(step)
    finally:
        engine.dispose()
    return read


def _where(database: Database) -> tuple[object, ...]:
    if database.kind == "sqlite":
        return ("sqlite", Path(database.path).resolve())
    return (database.kind, database.host, database.port, database.name, database.schema)
