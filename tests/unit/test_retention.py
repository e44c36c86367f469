"""The restore window's calendar (F11): month ends, leap years, exclusive deadline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.retention import add_months, restore_deadline


@pytest.mark.parametrize(
    ("deleted", "months", "deadline"),
    [
        ("2026-12-31T10:00:00+00:00", 2, "2027-03-01T00:00:00+00:00"),  # through 28 Feb
        ("2027-12-31T23:59:59+00:00", 2, "2028-03-01T00:00:00+00:00"),  # through 29 Feb (leap)
        ("2028-02-29T08:00:00+00:00", 12, "2029-03-01T00:00:00+00:00"),  # 29 Feb → 28 Feb
        ("2028-02-29T08:00:00+00:00", 2, "2028-04-30T00:00:00+00:00"),
        ("2026-01-15T12:00:00+00:00", 2, "2026-03-16T00:00:00+00:00"),
        ("2026-08-31T00:00:00+00:00", 1, "2026-10-01T00:00:00+00:00"),  # 30 Sep is last
        ("2026-04-30T09:00:00+00:00", 2, "2026-07-01T00:00:00+00:00"),
        ("2026-11-30T12:00:00+00:00", 2, "2027-01-31T00:00:00+00:00"),  # across the year
        # the UTC date counts: 23:30 in Paris is 22:30 UTC, still 31 Dec
        ("2026-12-31T23:30:00+01:00", 2, "2027-03-01T00:00:00+00:00"),
        ("2027-01-01T00:30:00+01:00", 2, "2027-03-01T00:00:00+00:00"),  # 31 Dec 23:30 UTC
    ],
)
def test_deadlines_on_calendar_edges(deleted: str, months: int, deadline: str) -> None:
    assert restore_deadline(datetime.fromisoformat(deleted), months) == datetime.fromisoformat(
        deadline
    )


@given(st.dates(date(2000, 1, 1), date(2100, 12, 31)), st.integers(1, 24))
def test_the_window_covers_whole_days_and_never_more_than_the_months(
    day: date, months: int
) -> None:
    deleted_at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=13)
    deadline = restore_deadline(deleted_at, months)
    assert deadline.time() == datetime.min.time() and deadline.tzinfo is UTC
    last_day = (deadline - timedelta(days=1)).date()
    assert last_day == add_months(day, months)
    month_end = (deadline - timedelta(days=1)).month != deadline.month
    assert last_day.day == day.day or (month_end and last_day.day < day.day)  # clamped
    assert (last_day.year * 12 + last_day.month) - (day.year * 12 + day.month) == months
