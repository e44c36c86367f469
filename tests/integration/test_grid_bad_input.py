"""Bad grid input is refused before it reaches SQL, on both databases (never a 500)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest

from adapters.settings import Settings
from adapters.sql.engine import make_engine
from adapters.sql.grid_queries import SqlGrid
from adapters.sql.grid_store import SqlGridStore
from domain.fields import IDENTITY_FIELDS, FieldCatalogue, FieldValueError
from domain.segments import SegmentError, parse_segment
from projections.grid_query import GridQuery, GridQueryError, make_cursor
from tests.support.world import T0


@pytest.fixture
def grid(db_settings: Settings) -> Iterator[SqlGrid]:
    engine = make_engine(db_settings.database)
    SqlGridStore(engine).ensure_schema()
    yield SqlGrid(engine)
    engine.dispose()


def forged(*body: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(body)).encode()).decode()


@pytest.mark.parametrize(
    "query",
    [
        {"sort": "n_events", "cursor": forged("contacts", "n_events", "abc", "0" * 32)},
        {"sort": "n_events", "cursor": forged("contacts", "name", 3, "0" * 32)},
        {"sort": "created_at", "cursor": forged("contacts", "created_at", "x", "0" * 32)},
        {"q": "a\x00b"},
        {"filter": {"field": "n_events", "op": "eq", "value": True}},
        {"filter": {"field": "processing_status", "op": "in", "value": [1]}},
    ],
)
def test_refused_before_any_sql(grid: SqlGrid, query: dict[str, Any]) -> None:
    params = dict(query)  # the parameter is shared by both backends' runs
    with pytest.raises(GridQueryError):
        segment = parse_segment(params.pop("filter")) if "filter" in params else None
        grid.page(GridQuery(uuid4(), filter=segment, **params, now=T0))


@pytest.mark.parametrize(
    "segment",
    [
        {"field": "company", "op": "range", "value": {"gte": "a", "lte": 5}},
        {"field": "company", "op": "in", "value": ["a", 5]},
        {"field": "n_events", "op": "eq", "value": 10**30},
        {"field": "company", "op": "eq", "value": "a\x00"},
        {"field": "company", "op": "eq", "value": {"x": 1}},
        {"field": "n_events", "op": "range", "value": {"gte": True}},
    ],
)
def test_malformed_filter_values_are_refused(segment: dict[str, Any]) -> None:
    with pytest.raises(SegmentError):
        parse_segment(segment)


def test_a_cursor_keeps_working_for_its_own_sort(grid: SqlGrid) -> None:
    query = GridQuery(uuid4(), sort="-n_events", now=T0)
    cursor = make_cursor(query, 3, uuid4())
    after = GridQuery(query.account_id, sort="-n_events", cursor=cursor, now=T0)
    assert grid.page(after).rows == []


@pytest.mark.parametrize("value", ["a\x00b", 10**30])
def test_field_values_postgresql_cannot_store_are_refused(value: Any) -> None:
    number = FieldCatalogue({**IDENTITY_FIELDS}).extended({})
    with pytest.raises(FieldValueError):
        number.validate({"company": value} if isinstance(value, str) else {"zip": value})
