"""A grid query answers as of the time its caller gives: the read side reads no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.segments import parse_segment
from projections.grid import ContactRow
from projections.grid_query import GridQuery, MemoryGrid, evaluate

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_a_query_is_refused_without_its_time() -> None:
    with pytest.raises(TypeError, match="now"):
        GridQuery(uuid4())  # type: ignore[call-arg]


def test_locked_means_locked_at_the_time_the_query_was_given() -> None:
    account_id = uuid4()
    locked = ContactRow(uuid4(), account_id, T0, T0, {"email": "zoe@example.org"})
    locked.locked_until = T0 + timedelta(minutes=15)
    grid = MemoryGrid(contacts=[locked])
    segment = parse_segment({"locked": True})

    def matches(now: datetime) -> int:
        return evaluate(grid, GridQuery(account_id, filter=segment, now=now)).total

    assert matches(T0 + timedelta(minutes=14)) == 1
    assert matches(T0 + timedelta(minutes=15)) == 0
