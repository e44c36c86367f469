"""The grids as they were at a past time (F21), folded from the event log on demand.

The audit trail indexes every event of an account by log position and time; the events
of the account up to its first one recorded after the asked time are read back from the
log, decoded (an erased person's values read as erased) and folded by the grid
projection into a private in-memory SQLite database, which the usual grid queries then
read. The cost is that of replaying the account's history up to then: linear in its
events, paid on every request (see docs/decisions/0023-history-for-analysts.md).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from adapters.ledger import SealedContactLedger
from adapters.settings import Database
from adapters.sql.audit_store import SqlAuditStore
from adapters.sql.engine import make_engine
from adapters.sql.grid_queries import SqlGrid
from adapters.sql.grid_store import SqlGridStore
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
