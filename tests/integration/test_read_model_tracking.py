"""The four tracked read models keep their position alike: made once per version, moved by
compare-and-set with their rows, back to 0 on a reset (on every backend)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from adapters.settings import Settings
from adapters.sql.engine import make_engine
from adapters.sql.tracking import ConcurrentProjectorError
from tests.support.read_models import TRACKED


@pytest.fixture(params=list(TRACKED))
def store(request: pytest.FixtureRequest, store_settings: Settings) -> Iterator[Any]:
    engine = make_engine(store_settings.database)
    store = TRACKED[request.param](engine)
    assert store.ensure_schema() is True  # a new database: made now
    yield store
    engine.dispose()


def test_a_tracked_store_is_made_once_and_again_at_another_version(store: Any) -> None:
    store.batches().apply([], 0, 5)
    assert store.ensure_schema() is False
    assert store.position() == 5
    with store.engine.begin() as connection:  # what an older release left behind
        connection.execute(
            text("UPDATE rm_tracking SET version = version - 1 WHERE name = :name"),
            {"name": store.name},
        )
    assert store.ensure_schema() is True
    assert store.position() == 0


def test_a_tracked_store_refuses_a_batch_from_a_position_it_has_left(store: Any) -> None:
    store.batches().apply([], 0, 3)
    with pytest.raises(ConcurrentProjectorError):
        store.batches().apply([], 0, 1)
    with pytest.raises(ConcurrentProjectorError):
        store.batches().apply([], 4, 6)
    assert store.position() == 3
    store.batches().apply([], 3, 4)
    assert store.position() == 4


def test_a_reset_tracked_store_starts_again_from_the_beginning(store: Any) -> None:
    store.batches().apply([], 0, 7)
    store.reset()
    assert store.position() == 0
    store.batches().apply([], 0, 2)
    assert store.position() == 2


def test_the_stores_keep_their_positions_apart(store_settings: Settings) -> None:
    engine = make_engine(store_settings.database)
    stores = [make(engine) for make in TRACKED.values()]
    for n, each in enumerate(stores, start=1):
        each.ensure_schema()
        each.batches().apply([], 0, n)
    stores[0].reset()
    assert [each.position() for each in stores] == [0, 2, 3, 4]
    engine.dispose()
