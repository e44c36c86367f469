"""`replay --until`: a copy of the whole read side as it was at a past time (F21)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.ledger import build_ledger
from adapters.point_in_time import PointInTime, position_at, read_models, replay
from adapters.projector import Projector
from adapters.settings import Database, Settings
from adapters.sql import audit_store, report_store
from adapters.sql.engine import make_engine
from adapters.sql.grid_queries import SqlGrid
from adapters.sql.report_store import ReportQuery, SqlReports
from projections.grid_query import GridQuery
from tests.support.backends import backend_settings
from tests.support.world import World


@pytest.fixture
def target(db_kind: str, tmp_path: Path) -> Iterator[Database]:
    """Another database of the same kind: a SQLite file, or another PostgreSQL schema."""
    (tmp_path / "copy").mkdir()
    with backend_settings(db_kind, tmp_path / "copy") as settings_:
        yield settings_.database


def history(world: World) -> tuple[Any, list[Any]]:
    """Ada registers, edits and checks in; Bob comes an hour later. Times after each step."""
    account_id = world.account(sync={"company": "up_and_propagate"})
    event_id = world.event(account_id)
    ada = world.register(account_id, event_id, email="ada@example.org", company="Acme")
    times = [world.now]
    world.tick(600)
    world.edit(account_id, event_id, ada, company="Globex")
    world.status(account_id, event_id, ada, "attended")
    times.append(world.now)
    world.tick(3600)
    world.register(account_id, event_id, email="bob@example.org")
    times.append(world.now)
    return account_id, times


def test_the_copy_is_the_read_side_of_then(db_settings: Settings, target: Database) -> None:
    ledger = build_ledger(db_settings)
    live = make_engine(db_settings.database)
    stores = read_models(live)
    for store in stores:
        store.ensure_schema()
    account_id, times = history(World(ledger))
    for store in stores:
        Projector(ledger, store, db_settings.database).catch_up()
    then = times[1]
    position = position_at(ledger, then)
    assert 0 < position < (ledger.recorder.max_notification_id() or 0)
    read = replay(ledger, db_settings.database, target, position)
    assert read == 4 * position
    copy = make_engine(target)
    query = GridQuery(account_id, "contacts", limit=500, now=then)
    past = PointInTime(ledger, stores[1]).grid(account_id, then)  # type: ignore[arg-type]
    assert _rows(SqlGrid(copy).page(query).rows) == _rows(past.page(query).rows)
    assert [r.fields["company"] for r in SqlGrid(copy).page(query).rows] == ["Globex"]
    with copy.connect() as copied, live.connect() as original:
        positions = select(audit_store.entries.c.position).order_by("position")
        audited = list(
            original.execute(positions.where(audit_store.entries.c.position <= position))
        )
        assert list(copied.execute(positions)) == audited
    conversion = SqlReports(copy).report("conversion", ReportQuery(account_id)).rows
    assert [(r["participants"], r["attended"]) for r in conversion] == [(1, 1)]
    with copy.connect() as copied:
        assert copied.execute(select(report_store.participants)).all()
    past.engine.dispose()
    copy.dispose()
    live.dispose()
    ledger.close()


def test_before_the_first_event_the_copy_is_empty(db_settings: Settings, target: Database) -> None:
    ledger = build_ledger(db_settings)
    world = World(ledger)
    start = world.now
    history(world)
    assert position_at(ledger, start - timedelta(seconds=1)) == 0
    assert position_at(ledger, world.now) == ledger.recorder.max_notification_id()
    assert replay(ledger, db_settings.database, target, 0) == 0
    ledger.close()


def test_refuses_to_replay_into_the_live_database(db_settings: Settings) -> None:
    ledger = build_ledger(db_settings)
    with pytest.raises(ValueError, match="another database or schema"):
        replay(ledger, db_settings.database, db_settings.database, 0)
    ledger.close()


def _rows(rows: list[Any]) -> list[tuple[Any, ...]]:
    return [(r.contact_id, r.fields, r.n_events, r.processing_status) for r in rows]
