"""A report rebuilt by replaying the log equals the one the live projection built (F21).

Random histories of registrations, edits, status changes (check-ins and their undoing),
deletions, merges and erasures, spread over months across two editions of a series and a
community; the live projection catches up after every command, in small batches. Then
the reports projection is rebuilt from the whole log in one go: every report, by day,
month and year, must be the same.
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ledger import build_ledger
from adapters.projector import Projector
from adapters.sql.engine import make_engine
from adapters.sql.report_store import ReportQuery, SqlReports, SqlReportStore
from domain import commands
from tests.support.backends import backend_settings
from tests.support.histories import REFUSED, History, operation
from tests.support.world import World

steps = st.lists(
    st.one_of(
        operation,
        st.tuples(st.just("later"), st.integers(1, 90)),
        st.tuples(st.just("erase"), st.integers(0, 20)),
    ),
    max_size=30,
)
NAMES = ("registrations", "conversion", "returning", "growth")


def reports(store: SqlReports, account_id: Any) -> dict[str, Any]:
    return {
        (name, period): store.report(name, ReportQuery(account_id, period=period)).rows
        for name in NAMES
        for period in ("day", "month", "year")
    }


def run(kind: str, ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, backend_settings(kind, Path(tmp)) as settings_:
        ledger = build_ledger(settings_)
        engine = make_engine(settings_.database)
        store = SqlReportStore(engine)
        store.ensure_schema()
        projector = Projector(ledger, store, settings_.database, batch_size=7)
        history = History(World(ledger))
        world, account_id = history.world, history.account_id
        editions = []
        for year in (2025, 2026):
            cmd = commands.CreateOrganiserEvent(
                account_id, f"Forum {year}", "event", date(year, 5, 1)
            )
            editions.append(ledger.create_organiser_event(cmd, world.tick(), world.meta).id)
            world.sync(account_id, editions[-1])
        history.events = [*editions, history.events[1]]
        history.populate(6)
        projector.catch_up()
        for op in ops:
            if op[0] == "later":
                world.tick(op[1] * 86_400)
            elif op[0] == "erase":
                history.erase(op[1])
            else:
                with contextlib.suppress(*REFUSED):  # commands on an erased person
                    history.play(op)
            projector.catch_up()
        live = reports(SqlReports(engine), account_id)
        Projector(ledger, store, settings_.database).rebuild()  # the whole log in one batch
        assert reports(SqlReports(engine), account_id) == live
        ledger.close()
        engine.dispose()


@settings(max_examples=20, deadline=None)
@given(ops=steps)
def test_rebuilt_reports_equal_live_ones_on_sqlite(ops: list[tuple[Any, ...]]) -> None:
    run("sqlite", ops)


@settings(max_examples=8, deadline=None)
@given(ops=steps)
def test_rebuilt_reports_equal_live_ones_on_postgres(
    ops: list[tuple[Any, ...]], require_postgres: None
) -> None:
    run("postgres", ops)
