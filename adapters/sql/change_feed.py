"""The change feed (F22): an account's audit entries after a log position, in log order.

Served from the audit read model: its entries commit in one transaction with the audit's
tracking position, and those transactions commit in log order (the position moves by
compare-and-set from where the previous batch ended). So what any read sees of `rm_audit`
is every entry up to the position and none past it, and an entry never appears below a
position a reader has already seen: following `position > after` skips nothing and
repeats nothing (docs/decisions/0025-change-feed.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select

from adapters.sql.audit_store import SqlAuditStore, entries, entry_from_row
from adapters.sql.tracking import position_in
from projections.audit import AuditEntry

MAX_LIMIT = 1000
MAX_POSITION = 2**63 - 1  # the largest log position a database integer holds


class FeedQueryError(ValueError):
    """Raised when a feed query is out of range (position or limit)."""


@dataclass(frozen=True)
class FeedQuery:
    account_id: UUID
    after: int = 0  # a log position: entries strictly after it
    limit: int = 100

    def __post_init__(self) -> None:
        if not 0 <= self.after <= MAX_POSITION:
            raise FeedQueryError(f"after must be a log position from 0 to {MAX_POSITION}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise FeedQueryError(f"limit must be between 1 and {MAX_LIMIT}")


@dataclass(frozen=True)
class FeedPage:
    entries: list[AuditEntry]
    next_after: int  # `after` for the next page: the last entry's position, else `after`
    head: int  # the audit's position when read; no entry is past it


class SqlFeedView:
    """An account's audit entries after a position, up to the audit's position."""

    def __init__(self, audit: SqlAuditStore) -> None:
        self.audit = audit

    def head(self) -> int:
        """The audit projection's position: one primary-key read, for long-polls to watch."""
        return self.audit.position()

    def page(self, query: FeedQuery) -> FeedPage:
        with self.audit.engine.connect() as connection:
            head = position_in(connection, self.audit.name)
            rows = connection.execute(
                select(entries)
                .where(entries.c.account_id == query.account_id)
                .where(entries.c.position > query.after, entries.c.position <= head)
                .order_by(entries.c.position)
                .limit(query.limit)
            ).all()
        found = [entry_from_row(r) for r in rows]
        return FeedPage(found, found[-1].position if found else query.after, head)
