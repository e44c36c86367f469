"""The grid as of a past time answers what the live grid answered then (F21).

Random histories (registrations, edits, statuses, deletions, merges, erasures) run with
the grid and audit projections caught up after every command; the live contact grid and
each event's participant grid are recorded with the time. Afterwards the grids folded
from the log as of each recorded time must equal them, row for row. An erased person's
rows come back with erased values: the grid of the past never brings their data back.
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ledger import build_ledger
from adapters.point_in_time import PointInTime
from adapters.projector import Projector
from adapters.sql.audit_store import SqlAuditStore
from adapters.sql.engine import make_engine
from adapters.sql.grid_queries import SqlGrid
from adapters.sql.grid_store import SqlGridStore
from adapters.sql.grid_tables import FILTERED
from projections.grid_query import GridQuery
from tests.support.backends import backend_settings
from tests.support.histories import REFUSED, History, operation
from tests.support.world import World

steps = st.lists(st.one_of(operation, st.tuples(st.just("erase"), st.integers(0, 20))), max_size=20)


def grids(grid: SqlGrid, history: History, now: datetime) -> list[Any]:
    queries = [GridQuery(history.account_id, "contacts", limit=500, now=now)] + [
        GridQuery(history.account_id, "participants", event_id, limit=500, now=now)
        for event_id in history.events
    ]
    return [grid.page(query).rows for query in queries]


def run(kind: str, ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, backend_settings(kind, Path(tmp)) as settings_:
        ledger = build_ledger(settings_)
        engine = make_engine(settings_.database)
        grid_store, audit = SqlGridStore(engine), SqlAuditStore(engine)
        grid_store.ensure_schema()
        audit.ensure_schema()
        projectors = [Projector(ledger, s, settings_.database) for s in (grid_store, audit)]
        history = History(World(ledger))
        history.world.edit = on_the_clock(history.world.edit)  # type: ignore[method-assign]
        history.populate(5)
        seen = []
        for op in [("noop",), *ops]:
            if op[0] == "erase":
                history.erase(op[1])
            elif op[0] != "noop":
                with contextlib.suppress(*REFUSED):
                    history.play(op)
            for projector in projectors:
                projector.catch_up()
            now = history.world.now
            seen.append((now, grids(SqlGrid(engine), history, now)))
            history.world.tick()
        ids = {_id(row) for _, pages in seen for page in pages for row in page}
        erased = ledger.recorder.subject_keys(ids)[1]  # type: ignore[attr-defined]
        past = PointInTime(ledger, audit)
        for now, live in seen:
            then = past.grid(history.account_id, now)
            assert by_id(grids(then, history, now), erased) == by_id(live, erased)
            then.engine.dispose()
        ledger.close()
        engine.dispose()


def on_the_clock(edit: Any) -> Any:
    """The histories back-date some edits; a clock never does (`as_of` follows the clock)."""

    def edit_now(*args: Any, at: datetime | None = None, **fields: Any) -> Any:
        return edit(*args, **fields)

    return edit_now


def by_id(pages: list[Any], erased: set[UUID]) -> list[dict[UUID, Any]]:
    """Each grid's rows by id; the values of people erased since read as erased."""
    found = []
    for page in pages:
        rows = [{k: _utc(v) for k, v in row._asdict().items()} for row in page]
        found.append({_id(row): _blank(row) if _id(row) in erased else row for row in rows})
    return found


def _utc(value: Any) -> Any:
    """SQLite gives naive UTC datetimes, PostgreSQL aware ones (the API presents both)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _blank(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in FROM_VALUES} | {"fields": {}}


FROM_VALUES = {"folded", *FILTERED, "sort_name", "search", "sort_value"}


def _id(row: Any) -> UUID:
    values = row if isinstance(row, dict) else row._asdict()
    return values["contact_id"] if "n_events" in values else values["participant_id"]  # type: ignore[no-any-return]


@settings(max_examples=15, deadline=None)
@given(ops=steps)
def test_the_grid_as_of_a_time_is_the_grid_of_then_on_sqlite(ops: list[tuple[Any, ...]]) -> None:
    run("sqlite", ops)


@settings(max_examples=6, deadline=None)
@given(ops=steps)
def test_the_grid_as_of_a_time_is_the_grid_of_then_on_postgres(
    ops: list[tuple[Any, ...]], require_postgres: None
) -> None:
    run("postgres", ops)
