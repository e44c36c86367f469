"""The grid projection: rows from events, batches, exactly once, rebuild = incremental."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from adapters.ledger import build_ledger
from adapters.projector import Projector
from adapters.settings import Settings
from adapters.sql import grid_tables as t
from adapters.sql.engine import make_engine
from adapters.sql.grid_queries import SqlGrid
from adapters.sql.grid_store import SqlGridStore
from adapters.sql.tracking import ConcurrentProjectorError, rm_tracking
from projections.grid_query import GridQuery
from tests.support.backends import backend_settings
from tests.support.histories import History, operations
from tests.support.world import T0, World


class Projected:
    def __init__(self, settings_: Settings) -> None:
        self.ledger = build_ledger(settings_)
        self.engine = make_engine(settings_.database)
        self.store = SqlGridStore(self.engine)
        self.store.ensure_schema()
        self.projector = Projector(self.ledger, self.store, settings_.database)
        self.world = World(self.ledger)

    def snapshot(self) -> dict[str, list[Any]]:
        tables = {"events": t.events, "participants": t.participants, "contacts": t.contacts}
        with self.engine.connect() as connection:
            return {
                name: sorted(tuple(r) for r in connection.execute(select(table)))
                for name, table in tables.items()
            }

    def close(self) -> None:
        self.ledger.close()
        self.engine.dispose()


@pytest.fixture
def projected(store_settings: Settings) -> Iterator[Projected]:
    system = Projected(store_settings)
    yield system
    system.close()


def test_a_person_in_two_events_is_one_contact_row(projected: Projected) -> None:
    world = projected.world
    account_id = world.account(sync={"company": "up_and_propagate"})
    salon, club = world.event(account_id), world.event(account_id, kind="community")
    world.register(account_id, salon, email="Expo@Example.org", company="Acme", last_name="Roux")
    member = world.register(account_id, club, email="expo@example.org")
    world.status(account_id, club, member, "attended")
    projected.projector.catch_up()
    with projected.engine.connect() as connection:
        contact = connection.execute(select(t.contacts)).one()
        rows = connection.execute(select(t.participants)).all()
    assert (contact.n_events, contact.n_communities) == (2, 1)
    assert contact.fields["company"] == "Acme"
    assert contact.email == "expo@example.org"
    assert "roux" in {r.sort_name for r in rows}
    assert {r.status for r in rows} == {"registered", "attended"}
    assert {r.contact_id for r in rows} == {contact.contact_id}
    assert projected.store.position() == world.position()


def test_catch_up_is_resumable_and_exactly_once(projected: Projected) -> None:
    world = projected.world
    account_id = world.account()
    event_id = world.event(account_id)
    for n in range(7):
        world.register(account_id, event_id, email=f"p{n}@example.org")
    projected.projector.batch_size = 3
    projected.projector.catch_up()
    first = projected.snapshot()
    assert projected.projector.catch_up() == 0
    assert projected.snapshot() == first
    stale_start = projected.store.position() - 1
    with pytest.raises(ConcurrentProjectorError):
        projected.store.apply_batch([], stale_start, stale_start + 1)


def test_an_unappliable_event_stops_the_projector_and_says_why(projected: Projected) -> None:
    world = projected.world
    account_id = world.account()
    event_id = world.event(account_id)
    visitor = world.register(account_id, event_id, email="v@example.org")
    projected.projector.catch_up()
    with projected.engine.begin() as connection:
        connection.execute(t.participants.delete())
    world.status(account_id, event_id, visitor, "attended")
    before = projected.store.position()
    projected.projector.follow()  # returns: fail-stop
    assert "has no row" in (projected.projector.error or "")
    assert projected.store.position() == before
    assert projected.projector.status().lag > 0


def run_history(kind: str, ops: list[tuple[Any, ...]], batch_sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp, backend_settings(kind, Path(tmp)) as settings_:
        system = Projected(settings_)
        history = History(system.world)
        history.populate(6)
        for index, op in enumerate(ops):
            history.play(op)
            system.projector.batch_size = batch_sizes[index % len(batch_sizes)]
            system.projector.catch_up()
        system.projector.catch_up()
        incremental = system.snapshot()
        system.projector.batch_size = 500
        system.projector.rebuild()
        assert system.snapshot() == incremental
        system.close()


@settings(max_examples=40, deadline=None)
@given(operations, st.lists(st.integers(1, 20), min_size=1, max_size=5))
def test_rebuild_equals_incremental_on_sqlite(ops: list[Any], batch_sizes: list[int]) -> None:
    run_history("sqlite", ops, batch_sizes)


@settings(max_examples=8, deadline=None)
@given(ops=operations, batch_sizes=st.lists(st.integers(1, 20), min_size=1, max_size=5))
def test_rebuild_equals_incremental_on_postgres(
    ops: list[Any], batch_sizes: list[int], require_postgres: None
) -> None:
    run_history("postgres", ops, batch_sizes)


def test_a_crash_mid_batch_then_a_restart_leaves_no_gap_and_no_duplicate(
    projected: Projected, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = History(projected.world)
    history.populate(10)
    projected.projector.batch_size = 7
    projected.projector.catch_up()
    history.populate(10, first=10)
    original = SqlGridStore._write
    writes: list[int] = []

    def write_then_crash(store: SqlGridStore, connection: Any, *args: Any) -> None:
        original(store, connection, *args)  # rows written inside the batch's transaction…
        writes.append(1)
        if len(writes) == 2:  # …of the second batch, which starts from rows kept in memory
            raise KeyboardInterrupt("killed mid-batch")  # …then the process dies

    monkeypatch.setattr(SqlGridStore, "_write", write_then_crash)
    before = projected.store.position()
    with pytest.raises(KeyboardInterrupt):
        projected.projector.catch_up()
    monkeypatch.undo()
    crashed_at = projected.store.position()
    assert before < crashed_at < projected.projector.head()  # the first batch committed
    projected.projector.catch_up()  # the restart
    resumed = projected.snapshot()
    projected.projector.rebuild()
    assert projected.snapshot() == resumed


def test_an_event_the_reader_cannot_decode_stops_the_catch_up_before_it(
    projected: Projected, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = History(projected.world)
    history.populate(12)
    projected.projector.batch_size = 4  # full pages: the reader thread reads ahead
    bad = projected.projector.head() // 2
    assert bad > 2 * projected.projector.batch_size  # past the first page, read ahead
    decode = projected.ledger.mapper.to_domain_event

    def refuse_one(stored: Any) -> Any:
        if getattr(stored, "id", None) == bad:
            raise ValueError("cannot decode")
        return decode(stored)

    monkeypatch.setattr(projected.ledger.mapper, "to_domain_event", refuse_one)
    with pytest.raises(ValueError, match="cannot decode"):
        projected.projector.catch_up()
    assert projected.store.position() < bad  # nothing skipped
    monkeypatch.undo()
    projected.projector.catch_up()
    resumed = projected.snapshot()
    projected.projector.rebuild()
    assert projected.snapshot() == resumed


def test_walking_every_row_counts_nothing(projected: Projected) -> None:
    history = History(projected.world)
    history.populate(12)
    projected.projector.catch_up()
    grid = SqlGrid(projected.engine)
    statements: list[str] = []
    event.listen(
        projected.engine, "before_cursor_execute", lambda *args: statements.append(str(args[2]))
    )
    query = GridQuery(history.account_id, "participants", history.events[0], limit=1, now=T0)
    rows = list(grid.rows(query))
    assert len(rows) == 6
    assert not any("count(" in s.lower() for s in statements)


def test_a_read_model_of_another_version_is_dropped_and_rebuilt(db_settings: Settings) -> None:
    """A VERSION bump may change the tables' shape: existing tables are recreated."""
    system = Projected(db_settings)
    world = system.world
    account_id = world.account()
    world.register(account_id, world.event(account_id), email="ada@example.org")
    system.projector.catch_up()
    with system.engine.begin() as connection:  # what an older release left behind
        connection.exec_driver_sql("ALTER TABLE rm_contacts DROP COLUMN consent_source")
        connection.execute(rm_tracking.update().values(version=rm_tracking.c.version - 1))
    assert system.store.ensure_schema() is True
    assert system.store.position() == 0
    assert system.store.ensure_schema() is False
    system.projector.catch_up()
    with system.engine.connect() as connection:
        rows = connection.execute(select(t.contacts.c.consent_source)).all()
    assert len(rows) == 1
    system.close()
