"""The restore window (F11): how long a deleted contact or participant can come back.

The window is counted in calendar months on UTC dates. Deleted on date D, a record is
restorable through the end of D + N months (clamped to that month's last day: deleted
31 December, 2 months → through 28 or 29 February), so the deadline is the next
midnight UTC and is exclusive. See docs/decisions/0013-restore-window.md.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day if it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def restore_deadline(deleted_at: datetime, months: int) -> datetime:
    """The first instant at which a record deleted at `deleted_at` can no longer return."""
    last_day = add_months(deleted_at.astimezone(UTC).date(), months)
    return datetime.combine(last_day + timedelta(days=1), time(), UTC)


class RestoreWindowClosedError(Exception):
    """Raised when a restore comes at or after the deadline (HTTP 410)."""

    def __init__(self, deadline: datetime) -> None:
        super().__init__(
            f"the restore window closed at {deadline.isoformat()}; the record is being erased"
        )
        self.deadline = deadline


class ErasedError(Exception):
    """Raised when a command targets a contact or participant that was erased (HTTP 410)."""

    def __init__(self, kind: str, resource_id: object) -> None:
        super().__init__(f"{kind} {resource_id} was erased")
